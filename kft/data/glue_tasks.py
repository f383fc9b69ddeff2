"""GLUE tasks from local TSV files or from TensorFlow Datasets."""

import os

import numpy as np

from kft.data import tfds
from kft.data.carve import carve
from kft.data.splits import Split, Splits
from kft.data.tables import read_table
from kft.errors import KftError

# Task name -> (text columns, class names).
TASKS = {
    "mrpc": (("sentence1", "sentence2"), ("0", "1")),
    "sst2": (("sentence",), ("0", "1")),
}
SPLIT_FILES = {"train": "train.tsv", "validation": "validation.tsv",
               "test": "test.tsv"}


def glue(task, data_dir=None, limit=None, validation_split=0.0, seed=0):
    """Loads a GLUE task as `kft.data.Splits`.

    Args:
        task: str. A key of `TASKS`, e.g. `"mrpc"`.
        data_dir: str or None. A folder with `train.tsv` and
            `validation.tsv` (and optionally `test.tsv`), each with a header
            naming `label` and the task's text columns. None downloads the
            task from TensorFlow Datasets (`glue/<task>`).
        limit: int or None. Keep the first `limit` examples of each split.
        validation_split: float. When `data_dir` has no `validation.tsv`,
            carve this fraction of each class out of `train.tsv` (seeded,
            stratified: `kft.data.carve`); 0 requires the file.
        seed: int. Seeds the carve.

    Example:

    ```python
    splits = kft.data.glue("mrpc", data_dir="../shared/data/mrpc", limit=64)
    s1, s2 = splits.train.x
    ```
    """
    if task not in TASKS:
        raise KftError(f"unknown GLUE task {task!r}; use one of "
                       + ", ".join(TASKS))
    columns, classes = TASKS[task]
    if data_dir is None:
        splits = tfds.load_glue(task, columns)
    else:
        splits = _local(data_dir, columns, classes, validation_split, seed)
    splits = {k: Split(*v).take(limit) for k, v in splits.items()}
    return Splits(class_names=classes, **splits)


def _local(data_dir, columns, classes, validation_split, seed):
    if not os.path.isdir(data_dir):
        raise KftError(
            f"data_dir {data_dir!r} is not a folder; point data_dir= at a "
            "folder holding train.tsv and validation.tsv"
        )
    splits = {}
    for split, file in SPLIT_FILES.items():
        path = os.path.join(data_dir, file)
        if os.path.exists(path):
            splits[split] = read_glue_tsv(path, columns, classes)
        elif split == "train" or (split == "validation"
                                  and not validation_split):
            raise KftError(
                f"{path} is missing; data_dir= needs train.tsv and "
                "validation.tsv (test.tsv is optional), or train.tsv and "
                "validation_split=F to carve validation out of train"
            )
    if "validation" not in splits:
        x, y, path = splits["train"]
        (x, y), validation = carve(
            x, y, validation_split, seed,
            [f"{path}, label {c}" for c in classes], path,
            "add a validation.tsv")
        splits["train"] = (x, y, path)
        splits["validation"] = (*validation,
                                f"{path} (validation_split={validation_split})")
    return splits


def read_glue_tsv(path, columns, classes):
    """Reads a GLUE TSV file into `(x, y, path)`, checking every row.

    Quoting is off: sentences may contain bare `"` characters.

    Args:
        path: str. The file; its header names `label` and `columns`.
        columns: tuple of str. The text columns, in input order.
        classes: tuple of str. The valid label values; label `classes[i]`
            becomes class `i`.

    Returns:
        `(x, y, path)`: `x` a string array, or a tuple of them for pairs,
        and `y` an int32 array.
    """
    table = read_table(path)
    wanted = ("label", *columns)
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        raise KftError(
            f"{path}:1: header lacks column(s) {', '.join(missing)}; "
            f"expected tab-separated columns {', '.join(wanted)}"
        )
    if not len(table):
        raise KftError(f"{path} has a header but no examples; the split "
                       "is empty")
    index = {c: i for i, c in enumerate(classes)}
    labels = []
    for row, label in enumerate(table.column("label")):
        if label not in index:
            raise KftError(
                f"{table.where(row)}: label {label!r} is not one of the "
                f"task's classes ({', '.join(classes)})"
            )
        labels.append(index[label])
    x = tuple(np.array(table.column(c), dtype=object) for c in columns)
    y = np.array(labels, dtype="int32")
    return (x if len(x) > 1 else x[0]), y, path
