"""Text and image classification data from TensorFlow Datasets (`tfds=`).

`tfds_splits` maps kft's splits to the dataset's, as
`train=train,validation=validation,test=test` (TFDS slices such as
`train[:90%]` work too). Leave `validation` out to carve it from train
with `validation_split`, and `test` out when there is none. A test split
whose labels are all hidden (-1, as in GLUE) is left out.

Images stay encoded (PNG or JPEG bytes) in memory and are decoded in the
input pipeline, as image files are.
"""

import numpy as np

from kft.data import labels, text_files
from kft.data.assemble import Part, assemble
from kft.data.splits import Splits
from kft.errors import KftError

DEFAULT_SPLITS = "train=train,validation=validation,test=test"
SPLITS = ("train", "validation", "test")


def parse_splits(text):
    """`tfds_splits=` text as a dict of kft split to TFDS split."""
    pairs = [p.partition("=") for p in str(text).split(",") if p.strip()]
    found = {k.strip(): v.strip() for k, _, v in pairs}
    if (any(not sep or not v.strip() for _, sep, v in pairs)
            or "train" not in found or set(found) - set(SPLITS)
            or len(found) != len(pairs)):
        raise KftError(
            f"tfds_splits={text!r} is not valid: map kft's splits (train, "
            "and optionally validation and test) to the dataset's, e.g. "
            f"{DEFAULT_SPLITS} or train=train[:90%],validation=train[90%:]")
    return found


def tfds_text(name, text_columns=("text",), label_column="label",
              splits=DEFAULT_SPLITS, class_names=None, validation_split=0.0,
              seed=0, strict=False):
    """A TensorFlow Datasets text dataset as `kft.data.Splits`.

    Args:
        name: str. The dataset, e.g. `ag_news_subset` or `glue/sst2`.
        text_columns: str or tuple of str. One or two text features.
        label_column: str. The label feature (a `ClassLabel` gives the
            class names).
        splits: str. `tfds_splits=` (see the module docstring).
        class_names: str, tuple of str or None. None: the `ClassLabel`'s
            names, else the training labels'.
        validation_split: float. Carves validation out of train when
            `splits` names none.
        seed: int. Seeds the carve.
        strict: bool. Refuse an empty text instead of counting it.

    Example:

    ```python
    splits = kft.data.tfds_text("ag_news_subset", "description",
                                splits="train=train,test=test",
                                validation_split=0.1)
    ```
    """
    columns = text_files.parse_columns(text_columns)
    parts, names = {}, labels.parse_names(class_names)
    for split, tfds_split in parse_splits(splits).items():
        rows, found = _rows(name, tfds_split, (*columns, label_column))
        names = names or found
        if split == "test" and _hidden(rows[label_column]):
            continue
        where = _where(name, tfds_split)
        texts = tuple(np.array([_text(v) for v in rows[c]], dtype=object)
                      for c in columns)
        text_files.report_empty(texts, where, f"tfds:{name}/{tfds_split}",
                                strict)
        parts[split] = Part(texts if len(texts) > 1 else texts[0],
                            rows[label_column], where,
                            f"tfds:{name}/{tfds_split}")
    found, names = assemble(parts, names, validation_split, seed,
                            fix="map validation in tfds_splits=")
    return Splits(class_names=names, origin={
        "tfds": name, "tfds_splits": splits, "text_columns": list(columns),
        "label_column": label_column}, **found)


def tfds_images(name, image_key="image", label_column="label",
                splits=DEFAULT_SPLITS, class_names=None,
                validation_split=0.0, seed=0, image_size=224,
                augmentation=None):
    """A TensorFlow Datasets image dataset as `kft.data.Splits`.

    Args:
        name: str. The dataset, e.g. `mnist` or `tf_flowers`.
        image_key: str. The image feature.
        label_column: str. The label feature.
        splits: str. `tfds_splits=` (see the module docstring).
        class_names: str, tuple of str or None. None: the `ClassLabel`'s.
        validation_split: float. Carves validation out of train when
            `splits` names none.
        seed: int. Seeds the carve.
        image_size: int. The side of the square images the splits yield.
        augmentation: kft.data.augment.Augmentation or None. Training
            augmentation (None: the default).
    """
    parts, names = {}, labels.parse_names(class_names)
    for split, tfds_split in parse_splits(splits).items():
        rows, found = _rows(name, tfds_split, (image_key, label_column),
                            image_key)
        names = names or found
        if split == "test" and _hidden(rows[label_column]):
            continue
        parts[split] = Part(np.array(rows[image_key], dtype=object),
                            rows[label_column], _where(name, tfds_split),
                            f"tfds:{name}/{tfds_split}")
    found, names = assemble(parts, names, validation_split, seed,
                            fix="map validation in tfds_splits=",
                            image_size=image_size, encoded=True,
                            augmentation=augmentation)
    return Splits(class_names=names, origin={
        "tfds": name, "tfds_splits": splits, "image_key": image_key,
        "label_column": label_column}, **found)


def _rows(name, split, keys, image_key=None):
    """The `keys` of every example of `name`'s `split`, as lists, and the
    label's class names (None unless it is a `ClassLabel`)."""
    try:
        import tensorflow_datasets as tfds

        decoders = ({image_key: tfds.decode.SkipDecoding()} if image_key
                    else None)
        ds, info = tfds.load(name, split=split, with_info=True,
                             decoders=decoders)
    except Exception as error:  # noqa: BLE001  (any failure: say which)
        first = (str(error).strip().splitlines() or [""])[0][:160]
        raise KftError(
            f"could not download {name} from TensorFlow Datasets (split "
            f"{split}; {type(error).__name__}: {first}); check tfds= and "
            "tfds_splits=, or, offline, pass data_dir=PATH, a folder of "
            "local files") from None
    features = info.features
    for key in keys:
        if key not in features:
            raise KftError(
                f"tfds:{name} has no feature {key!r}; its features are: "
                f"{', '.join(features)}; check text_columns=, image_key= "
                "and label_column=")
    if image_key and not isinstance(features[image_key], tfds.features.Image):
        raise KftError(f"tfds:{name} feature {image_key!r} is not an "
                       "image; set image_key= to its image feature")
    rows = {key: [] for key in keys}
    for example in tfds.as_numpy(ds):
        for key in keys:
            rows[key].append(example[key])
    label = keys[-1]
    rows[label] = [_text(v) if isinstance(v, bytes) else int(v)
                   for v in rows[label]]
    names = getattr(features[label], "names", None)
    return rows, (tuple(names) if names else None)


def _hidden(values):
    return all(isinstance(v, int) and v < 0 for v in values)


def _where(name, split):
    return lambda row: f"tfds:{name}/{split}, example {row}"


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
