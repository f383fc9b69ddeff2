"""Raw labelled parts of a dataset, one per split, made into `Split`s.

Every tabular source (files, TensorFlow Datasets) ends here, so each gets
the same rules: class names from the training split (or `class_names=`),
a label that training never saw is an error naming it and its line, every
class needs a training example, and a missing validation split is carved
out of training when `validation_split` asks for it.
"""

import dataclasses

from kft.data import labels
from kft.data.carve import carve
from kft.data.splits import Split
from kft.errors import KftError


@dataclasses.dataclass(frozen=True)
class Part:
    """One split as read, before its labels are classes.

    Args:
        x: np.ndarray or tuple of np.ndarray. Inputs, one row each.
        labels: sequence. Labels as the source gives them.
        where: callable. `where(row)` is `FILE:LINE` (or the source's
            equivalent) of a row, for messages.
        source: str. The split's file or name, for messages.
    """

    x: object
    labels: object
    where: object
    source: str


def assemble(parts, class_names=None, validation_split=0.0, seed=0,
             fix="add a validation file", **split_options):
    """`Split`s and class names from `parts`.

    Args:
        parts: dict of split name (`train`, `validation`, `test`) to
            `Part`; `train` is required.
        class_names: tuple of str or None. None: the training labels'
            (`kft.data.labels.class_names_of`).
        validation_split: float. Without a `validation` part: the
            fraction of each class carved out of train (seeded); 0 makes
            a missing validation part an error.
        seed: int. Seeds the carve.
        fix: str. What else the user can do when validation is missing.
        **split_options: passed to every `Split` (e.g. `image_size`).

    Returns:
        `(splits, class_names)`: a dict of split name to `Split`, and the
        tuple of class names.
    """
    train = parts["train"]
    if "validation" not in parts and not validation_split:
        raise KftError(f"{train.source} has no validation split beside it; "
                       f"{fix}, or pass validation_split=F to carve one "
                       "out of the training split")
    given = class_names is not None
    if not given:
        class_names = labels.class_names_of(
            labels.label_texts(train.labels, train.where))
        if len(class_names) < 2:
            raise KftError(
                f"{train.source} has {len(class_names)} class(es) in its "
                "labels; a classifier needs at least 2: check "
                "label_column=, or give class_names=")
    role = ("the given class_names" if given
            else f"the training split ({train.source})")
    splits = {}
    for name, part in parts.items():
        y = labels.encode(part.labels, class_names, part.where, role,
                          positions=given)
        splits[name] = Split(part.x, y, part.source, **split_options)
    labels.check_every_class(splits["train"].y, class_names, train.source)
    if "validation" not in splits:
        splits.update(_carve(splits["train"], class_names, validation_split,
                             seed, fix))
    return splits, tuple(class_names)


def _carve(train, class_names, validation_split, seed, fix):
    (x, y), (vx, vy) = carve(
        train.x, train.y, validation_split, seed,
        [f"{train.source}, label {c}" for c in class_names], train.source,
        fix)
    carved = f"{train.source} (validation_split={validation_split})"
    return {"train": dataclasses.replace(train, x=x, y=y),
            "validation": dataclasses.replace(train, x=vx, y=vy,
                                              source=carved)}
