"""Image classification from a folder of class subfolders, and its pipeline.

`DATA/train/<class>/` is required; `validation/` and `test/`, with the same
class folders, are optional. Files ending in .jpg, .jpeg, .png, .bmp, .gif
or .webp (any case) are read, in nested folders too; other files, and names
starting with ".", are ignored.
"""

import os
import re

import numpy as np

from kft.data.carve import carve
from kft.data.splits import Split, Splits
from kft.errors import KftError, warn

HOTDOG_URL = "http://d2l-data.s3-accelerate.amazonaws.com/hotdog.zip"
EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
SPLITS = ("train", "validation", "test")


def image_folder(data_dir, limit=None, validation_split=0.2, seed=0,
                 strict=False, image_size=224):
    """Loads an image folder as `kft.data.Splits` of file paths and labels.

    Class names are the sorted folder names of `train/`. Without a
    `validation/` folder, a stratified validation split is carved out of
    train: in each class, `validation_split` of its files (rounded), drawn
    by a seeded permutation of the files sorted by name, so it never
    depends on the listing order. Each split is then ordered by a seeded
    permutation of its files sorted by (class, name): `limit` keeps a
    class-mixed subset. Files that do not decode (`check_images`) are
    skipped with a warning, or refused if `strict`; with `limit`, only the
    files kept are checked.

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
            `dataset()` yields (training: random resized crop; evaluation:
            resize and center crop).

    Example:

    ```python
    splits = kft.data.image_folder("../shared/data/hotdog")
    splits.class_names          # ('hotdog', 'not-hotdog')
    splits.train.x[0], splits.train.y[0]
    ```
    """
    if not os.path.isdir(data_dir):
        raise KftError(f"data_dir {data_dir!r} is not a folder; point "
                       "data_dir= at a folder holding train/<class>/ images")
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
        rng = np.random.default_rng([seed, 1, SPLITS.index(name)])
        order = rng.permutation(len(paths))
        keep, skipped = _readable(paths[order], limit, strict)
        bad += skipped
        source = os.path.join(data_dir, name)
        if not len(keep) and limit != 0:
            raise KftError(f"{source} has no image that decodes; replace "
                           "its files with JPEG, PNG, BMP, GIF or WebP images")
        splits[name] = Split(paths[order][keep], labels[order][keep], source,
                             image_size=image_size)
    if bad:
        more = ", ..." if len(bad) > 3 else ""
        warn(
            f"skipped {len(bad)} unreadable image(s) under {data_dir}: "
            f"{', '.join(bad[:3])}{more}; remove them, or set strict=true "
            "to stop on them")
    return Splits(class_names=tuple(classes), **splits)


def download_hotdog():
    """Downloads d2l's hot-dog photos (once, to ~/.keras/datasets).

    Returns:
        The folder holding `train/` and `test/`, for `image_folder`.
    """
    import keras

    try:
        folder = keras.utils.get_file("hotdog.zip", HOTDOG_URL, extract=True)
    # Any failure here means "offline" to the user.
    except Exception as error:  # noqa: BLE001
        raise KftError(
            f"could not download {HOTDOG_URL} ({type(error).__name__}); "
            "offline, pass data_dir= a folder with train/<class>/ images, "
            "e.g. data_dir=../shared/data/hotdog") from error
    nested = os.path.join(folder, "hotdog")
    return nested if os.path.isdir(nested) else folder


def check_images(paths, strict=False):
    """Decodes every image cheaply, with the decoder the pipeline uses.

    JPEGs are decoded at 1/8 scale (every byte is still read, so a
    truncated or corrupt file fails); other formats are fully decoded by
    `tf.io.decode_image`. Files TensorFlow cannot decode (e.g. TIFF, or not
    an image at all) count as unreadable.

    Args:
        paths: sequence of str. Image files.
        strict: bool. Raise `KftError` naming the first unreadable file.

    Returns:
        `(good, bad)`: a bool array, True where the file decodes, and the
        list of the unreadable paths.
    """
    good = np.zeros(len(paths), dtype=bool)
    bad = []
    for i, path in enumerate(paths):
        problem = _problem(path)
        if problem is None:
            good[i] = True
        elif strict:
            raise KftError(f"{path} {problem}; remove or replace it, or pass "
                           "strict=False to skip unreadable images")
        else:
            bad.append(str(path))
    return good, bad


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
    found = _subfolders(split_dir)
    if found != classes:
        extra = sorted(set(found) - set(classes)) or "none"
        raise KftError(
            f"{split_dir} has class folders {found}, not train/'s "
            f"{classes} (not in train/: {extra}); use the same class "
            "folders in every split")
    paths, labels = [], []
    for label, name in enumerate(classes):
        images = find_images(os.path.join(split_dir, name))
        if not images:
            raise KftError(
                f"{os.path.join(split_dir, name)} has no images; add "
                f"{', '.join(EXTENSIONS)} files or remove the folder")
        paths += images
        labels += [label] * len(images)
    return np.array(paths, dtype=object), np.array(labels, dtype="int32")


def find_images(folder):
    """The image files under `folder`, nested ones too, sorted."""
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [os.path.join(root, n) for n in names
                  if n.lower().endswith(EXTENSIONS) and not n.startswith(".")]
    return sorted(found)


def _carve(paths, labels, classes, fraction, seed, train_dir):
    return carve(paths, labels, fraction, seed,
                 [os.path.join(train_dir, name) for name in classes],
                 train_dir, "add a validation/ folder", unit="image")


def _readable(paths, limit, strict):
    """Indices of the first `limit` paths that decode, and the bad ones."""
    keep, bad, start = [], [], 0
    while start < len(paths) and (limit is None or len(keep) < limit):
        stop = len(paths) if limit is None else start + limit - len(keep)
        good, skipped = check_images(paths[start:stop], strict)
        keep += list(start + np.flatnonzero(good))
        bad += skipped
        start = stop
    return np.array(keep, dtype=int), bad


def _problem(path):
    import tensorflow as tf

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    try:
        if data[:3] == b"\xff\xd8\xff":
            tf.io.decode_jpeg(data, channels=3, ratio=8)
        else:
            tf.io.decode_image(data, channels=3, expand_animations=False)
    except tf.errors.OpError as e:
        reason = re.sub(r"\{\{.*?\}\}|\[Op:\w+\]", "", e.message).strip()
        return f"does not decode ({reason or 'not an image'})"
    return None
