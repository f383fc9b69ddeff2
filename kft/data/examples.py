"""Examples to predict on: from arguments, a TSV or JSONL file, or a folder.

The columns are the run's text columns (`config.json` `inputs`
`text_columns`), or for runs without them as in GLUE: `sentence` for one
sentence, `sentence1` and `sentence2` for a pair; and `image` for an image
file path. Other columns (e.g. `label`) are ignored.
"""

import dataclasses
import os

import numpy as np

from kft.data import images, tables
from kft.errors import KftError

COLUMNS = {"text": ("sentence",), "text_pair": ("sentence1", "sentence2"),
           "image": ("image",)}


@dataclasses.dataclass(frozen=True)
class Examples:
    """Inputs of one task, as strings, with where each came from.

    Args:
        columns: dict of str to list of str. The task's columns, in order.
        sources: list of str. Each example's origin, for messages:
            `FILE:LINE`, `argument N` or the image path.
    """

    columns: dict
    sources: list

    def __len__(self):
        return len(self.sources)

    def x(self):
        """The model's raw input: an array, or a tuple of arrays for pairs."""
        arrays = tuple(np.array(v, dtype=object)
                       for v in self.columns.values())
        return arrays if len(arrays) > 1 else arrays[0]


def columns_of(kind):
    if kind not in COLUMNS:
        raise KftError(f"input kind {kind!r} is not one of "
                       f"{', '.join(COLUMNS)}; train the run again")
    return COLUMNS[kind]


def from_arguments(kind, values, columns=None):
    """Examples from command-line arguments: one pair (exactly 2 values),
    one sentence per value, or one image path (or folder) per value.

    Args:
        kind: str. The run's input kind.
        values: list of str.
        columns: tuple of str or None. The run's text columns, which name
            the examples' columns; None: the GLUE names of `COLUMNS`.
    """
    columns = tuple(columns or columns_of(kind))
    if kind == "text_pair":
        if len(values) != 2:
            raise KftError(
                f"this run is a sentence-pair task: give exactly 2 "
                f"arguments (sentence1 sentence2), not {len(values)}; for "
                "more pairs use --input FILE.tsv or FILE.jsonl")
        return Examples({c: [v] for c, v in zip(columns, values, strict=True)},
                        ["arguments 1-2"])
    if kind == "image":
        paths, sources = [], []
        for value in values:
            found = _folder(value).columns["image"] if os.path.isdir(
                value) else [value]
            paths += found
            sources += found
        return Examples({"image": paths}, sources)
    return Examples({columns[0]: list(values)},
                    [f"argument {i}" for i in range(1, len(values) + 1)])


def from_path(kind, path, columns=None):
    """Examples from a table file (`.tsv`, `.csv`, `.jsonl`, `.parquet`;
    `kft.data.tables`), or (images) a folder.

    Args:
        kind: str. The run's input kind.
        path: str. The file or folder.
        columns: tuple of str or None. The file's columns for the task's
            inputs, in order; None: the GLUE names of `COLUMNS`.
    """
    columns = tuple(columns or columns_of(kind))
    if kind == "image" and os.path.isdir(path):
        return _folder(path)
    if not os.path.isfile(path):
        raise KftError(f"--input {path} does not exist; give a "
                       f"{', '.join(tables.FORMATS)} file"
                       + (" or a folder of images" if kind == "image"
                          else ""))
    table = tables.read_table(path)
    if not len(table):
        raise KftError(f"{path} has no examples; add rows after the header")
    values = {}
    for column in columns:
        found = table.column(column, "an input column")
        for row, value in enumerate(found):
            if not isinstance(value, str):
                raise KftError(f"{table.where(row)}: {column!r} is not a "
                               f"string; each row needs {', '.join(columns)}"
                               " as text")
        values[column] = list(found)
    if kind == "image":  # relative paths are relative to the file
        folder = os.path.dirname(path)
        values[columns[0]] = [os.path.join(folder, p)
                              for p in values[columns[0]]]
    return Examples(values, [table.where(i) for i in range(len(table))])


def _folder(path):
    paths = images.find_images(path)
    if not paths:
        raise KftError(f"{path} holds no images; add "
                       f"{', '.join(images.EXTENSIONS)} files")
    return Examples({"image": paths}, list(paths))
