"""Image classification from a folder of class subfolders, and its pipeline.

`DATA/train/<class>/` is required; `validation/` and `test/`, with some
or all of train's class folders, are optional. Which files are images is
`kft.data.image_files`' rule.
"""

import os

import numpy as np

from kft.data.carve import carve
from kft.data.image_files import (  # noqa: F401  (kft.data.images' API)
    EXTENSIONS,
    check_images,
    find_images,
    readable,
)
from kft.data.splits import Split, Splits
from kft.errors import KftError, warn

HOTDOG_URL = "http://d2l-data.s3-accelerate.amazonaws.com/hotdog.zip"
SPLITS = ("train", "validation", "test")


def image_folder(data_dir, limit=None, validation_split=0.2, seed=0,
                 strict=False, image_size=224, augmentation=None):
    """Loads an image folder as `kft.data.Splits` of file paths and labels.

    Class names are the sorted folder names of `train/`; `validation/`
    and `test/` may hold fewer classes, but none that `train/` lacks.
    Without a `validation/` folder, a stratified validation split is
    carved out of train: in each class, `validation_split` of its files
    (rounded), drawn by a seeded permutation of the files sorted by name,
    so it never depends on the listing order. Each split is then ordered
    by a seeded permutation of its files sorted by (class, name): `limit`
    keeps a class-mixed subset. Files that do not decode (`check_images`)
    are skipped with a warning, or refused if `strict`; with `limit`, only
    the files kept are checked.

    Args:
        data_dir: str. The folder holding `train/` (and optionally
            `validation/`, `test/`), each with one subfolder per class.
        limit: int or None. Keep the first `limit` images of each split.
        validation_split: float. The fraction of each class carved out of
            train when there is no `validation/` folder.
        seed: int. Seeds the carve and the order of the splits.
        strict: bool. Raise `KftError` on the first unreadable image
            instead of skipping it.
        image_size: int. The side of the square images the splits'
            `dataset()` yields (training: augmented, `augmentation`;
            evaluation: resize and center crop).
        augmentation: kft.data.augment.Augmentation or None. How training
            images are augmented; None: random resized crop and flip.

    Example:

    ```python
    splits = kft.data.image_folder("../shared/data/hotdog")
    splits.class_names          # ('hotdog', 'not-hotdog')
    splits.train.x[0], splits.train.y[0]
    ```
    """
    if data_dir is None or not os.path.isdir(data_dir):
        raise KftError(f"data_dir={data_dir!r} is not a folder; point "
                       "data_dir= at a folder holding train/<class>/ images"
                       " (or pass tfds=NAME)")
    classes = _classes(os.path.join(data_dir, "train"))
    files = {name: _files(os.path.join(data_dir, name), classes)
             for name in SPLITS
             if name == "train" or os.path.isdir(os.path.join(data_dir, name))}
    if "validation" not in files:
        files["train"], files["validation"] = _carve(
            *files["train"], classes, validation_split, seed,
            os.path.join(data_dir, "train"))
    splits, bad = {}, []
    for name, (paths, labels) in files.items():
        splits[name], skipped = _ordered(
            name, paths, labels, os.path.join(data_dir, name), seed, limit,
            strict, image_size=image_size, augmentation=augmentation)
        bad += skipped
    _warn(bad, data_dir)
    return Splits(class_names=tuple(classes), **splits)


def image_split(data_dir, split, class_names, seed=0, validation_split=0.2,
                limit=None, image_size=224):
    """One labelled split of an image folder, for a model trained on
    `class_names` (`kft eval`).

    `data_dir/SPLIT/` alone is enough (a held-out `test/` folder need
    not sit beside a `train/`); it may hold fewer classes than the model
    knows, but no other. `split=validation` without `validation/` is
    carved out of `train/` with `seed` and `validation_split`, as
    `image_folder` does, so it is the very validation split of a run.

    Returns:
        kft.data.Split, in `image_folder`'s order, cut to `limit`.
    """
    folder = os.path.join(data_dir, split)
    if os.path.isdir(folder):
        paths, labels = _files(folder, list(class_names))
        found, bad = _ordered(split, paths, labels, folder, seed, limit,
                              False, image_size=image_size)
        _warn(bad, data_dir)
        return found
    if split != "validation" or not os.path.isdir(
            os.path.join(data_dir, "train")):
        raise KftError(f"{folder} is missing; split={split} reads that "
                       "folder of class folders")
    splits = image_folder(data_dir, limit=limit, seed=seed,
                          validation_split=validation_split,
                          image_size=image_size)
    if list(splits.class_names) != list(class_names):
        raise KftError(
            f"{os.path.join(data_dir, 'train')} has class folders "
            f"{list(splits.class_names)}, but the run was trained on "
            f"{list(class_names)}; use a folder with the run's classes")
    return splits.validation


def _ordered(name, paths, labels, source, seed, limit, strict, **options):
    """A split in its seeded order, cut to `limit` readable images, and
    the unreadable files skipped."""
    rng = np.random.default_rng([seed, 1, SPLITS.index(name)])
    order = rng.permutation(len(paths))
    keep, skipped = readable(paths[order], limit, strict)
    if not len(keep) and limit != 0:
        raise KftError(f"{source} has no image that decodes; replace "
                       "its files with JPEG, PNG, BMP, GIF or WebP images")
    return Split(paths[order][keep], labels[order][keep], source,
                 **options), skipped


def _warn(bad, data_dir):
    if bad:
        more = ", ..." if len(bad) > 3 else ""
        warn(
            f"skipped {len(bad)} unreadable image(s) under {data_dir}: "
            f"{', '.join(bad[:3])}{more}; remove them, or set strict=true "
            "to stop on them")


def download_folder(url):
    """Downloads and unpacks a `.zip` or `.tar.gz` image folder (once, to
    ~/.keras/datasets), e.g. `data_url=` of the image recipe.

    Args:
        url: str or None. None downloads nothing and returns None.

    Returns:
        The unpacked folder (the folder of its name inside it, when the
        archive holds one), for `image_folder`.
    """
    if url is None:
        return None
    import keras

    name = os.path.basename(url.rstrip("/"))
    try:
        folder = keras.utils.get_file(name, url, extract=True)
    # Any failure here means "offline" to the user.
    except Exception as error:  # noqa: BLE001
        raise KftError(
            f"could not download {url} ({type(error).__name__}); offline, "
            "pass data_dir= a folder with train/<class>/ images, e.g. "
            "data_dir=../shared/data/hotdog") from error
    nested = os.path.join(folder, name.split(".")[0])
    return nested if os.path.isdir(nested) else folder


def download_hotdog():
    """`download_folder` of d2l's hot-dog photos (`HOTDOG_URL`)."""
    return download_folder(HOTDOG_URL)


def _classes(train_dir):
    if not os.path.isdir(train_dir):
        raise KftError(f"{train_dir} is missing; data_dir= needs train/ "
                       "with one subfolder of images per class")
    classes = _subfolders(train_dir)
    if len(classes) < 2:
        raise KftError(
            f"{train_dir} has {len(classes)} class folder(s); it needs at "
            "least 2, one subfolder of images per class")
    return classes


def _subfolders(folder):
    return sorted(e.name for e in os.scandir(folder)
                  if e.is_dir() and not e.name.startswith("."))


def _files(split_dir, classes):
    """The images and labels of `split_dir`'s class folders: some or all
    of `classes`, and no other."""
    found = _subfolders(split_dir)
    extra = sorted(set(found) - set(classes))
    if extra:
        raise KftError(
            f"{split_dir} has class folders {found}, not train/'s "
            f"{classes} (not in train/: {extra}); use train/'s class "
            "folders in every split")
    paths, labels = [], []
    for label, name in enumerate(classes):
        if name not in found:
            continue
        images = find_images(os.path.join(split_dir, name))
        if not images:
            raise KftError(
                f"{os.path.join(split_dir, name)} has no images; add "
                f"{', '.join(EXTENSIONS)} files or remove the folder")
        paths += images
        labels += [label] * len(images)
    return np.array(paths, dtype=object), np.array(labels, dtype="int32")


def _carve(paths, labels, classes, fraction, seed, train_dir):
    return carve(paths, labels, fraction, seed,
                 [os.path.join(train_dir, name) for name in classes],
                 train_dir, "add a validation/ folder", unit="image")
