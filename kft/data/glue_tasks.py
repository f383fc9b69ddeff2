"""GLUE tasks from local TSV files or from TensorFlow Datasets: the text
readers of `kft.data.text_files` and `kft.data.tfds` with GLUE's columns
and classes."""

import dataclasses

from kft.data import labels, tfds
from kft.data.text_files import read_part, text_folder
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
            `validation.tsv` (and optionally `test.tsv`; other formats of
            `kft.data.text_files` too), each with a header naming `label`
            and the task's text columns. None downloads the task from
            TensorFlow Datasets (`glue/<task>`).
        limit: int or None. Keep the first `limit` examples of each split.
        validation_split: float. When `data_dir` has no validation file,
            carve this fraction of each class out of train (seeded,
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
        splits = tfds.tfds_text(f"glue/{task}", columns, "label",
                                class_names=classes)
    else:
        splits = text_folder(data_dir, columns, "label", classes,
                             validation_split, seed)
    return dataclasses.replace(splits.take(limit), class_names=classes)


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
    part = read_part(path, tuple(columns), "label")
    y = labels.encode(part.labels, tuple(classes), part.where,
                      "the given class_names")
    return part.x, y, path
