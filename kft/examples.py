"""Examples to predict on: from arguments, a TSV or JSONL file, or a folder.

The columns are the task's (`config.json` `inputs.kind`), named as in GLUE:
`sentence` for one sentence, `sentence1` and `sentence2` for a pair, and
`image` for an image file path. Other columns (e.g. `label`) are ignored.
"""

import csv
import dataclasses
import json
import os

import numpy as np

from kft.errors import KftError

COLUMNS = {"text": ("sentence",), "text_pair": ("sentence1", "sentence2"),
           "image": ("image",)}
FILE_TYPES = (".tsv", ".jsonl")


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


def from_arguments(kind, values):
    """Examples from command-line arguments: one pair (exactly 2 values),
    one sentence per value, or one image path (or folder) per value."""
    columns = columns_of(kind)
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


def from_path(kind, path):
    """Examples from a `.tsv` or `.jsonl` file, or (images) a folder."""
    columns = columns_of(kind)
    if kind == "image" and os.path.isdir(path):
        return _folder(path)
    if not os.path.isfile(path):
        raise KftError(f"--input {path} does not exist; give a .tsv or "
                       ".jsonl file" + (" or a folder of images"
                                        if kind == "image" else ""))
    extension = os.path.splitext(path)[1].lower()
    if extension not in FILE_TYPES:
        raise KftError(f"--input {path}: unknown file type "
                       f"{extension or '(none)'}; use .tsv (a header line "
                       f"naming {', '.join(columns)}) or .jsonl")
    read = _tsv if extension == ".tsv" else _jsonl
    try:
        values, sources = read(path, columns)
    except UnicodeDecodeError:
        raise KftError(f"{path} is not UTF-8 text; save it as UTF-8") \
            from None
    if not sources:
        raise KftError(f"{path} has no examples; add rows after the header"
                       if extension == ".tsv" else f"{path} has no examples")
    if kind == "image":  # relative paths are relative to the file
        folder = os.path.dirname(path)
        values["image"] = [os.path.join(folder, p) for p in values["image"]]
    return Examples(values, sources)


def _tsv(path, columns):
    """Reads a tab-separated file with a header; quoting is off, as GLUE."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(rows, None)
        if header is None:
            raise KftError(f"{path} is empty; it needs a header line naming "
                           f"{', '.join(columns)}, then rows")
        missing = [c for c in columns if c not in header]
        if missing:
            raise KftError(f"{path}:1: header lacks column(s) "
                           f"{', '.join(missing)}; expected tab-separated "
                           f"columns {', '.join(columns)}")
        where = [header.index(c) for c in columns]
        values, sources = {c: [] for c in columns}, []
        for line, row in enumerate(rows, start=2):
            if len(row) != len(header):
                raise KftError(f"{path}:{line}: expected {len(header)} "
                               f"tab-separated columns, found {len(row)}; "
                               "fix or remove that line")
            for column, index in zip(columns, where, strict=True):
                values[column].append(row[index])
            sources.append(f"{path}:{line}")
    return values, sources


def _jsonl(path, columns):
    """Reads one JSON object per line; blank lines are skipped."""
    values, sources = {c: [] for c in columns}, []
    with open(path, encoding="utf-8") as f:
        for line, text in enumerate(f, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except ValueError as error:
                raise KftError(f"{path}:{line}: not a JSON object ({error}); "
                               "write one object per line") from None
            if not isinstance(row, dict):
                raise KftError(f"{path}:{line}: not a JSON object; write "
                               "one object per line")
            for column in columns:
                if not isinstance(row.get(column), str):
                    raise KftError(
                        f"{path}:{line}: key {column!r} is missing or not a "
                        f"string; each line needs {', '.join(columns)}")
                values[column].append(row[column])
            sources.append(f"{path}:{line}")
    return values, sources


def _folder(path):
    from kft.data.images import EXTENSIONS, _images

    paths = _images(path)
    if not paths:
        raise KftError(f"{path} holds no images; add "
                       f"{', '.join(EXTENSIONS)} files")
    return Examples({"image": paths}, list(paths))
