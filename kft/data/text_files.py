"""Text classification data from a folder of table files.

`DATA/train.EXT` is required, `validation.EXT` and `test.EXT` are
optional, where EXT is any format `kft.data.tables` reads (`.tsv`, `.csv`,
`.jsonl`, `.parquet`). Each file has the text column(s) and the label
column, by name; other columns are ignored.
"""

import os

import numpy as np

from kft.data import labels, tables
from kft.data.assemble import Part, assemble
from kft.data.splits import Splits
from kft.errors import KftError, warn

SPLITS = ("train", "validation", "test")


def text_folder(data_dir, text_columns=("text",), label_column="label",
                class_names=None, validation_split=0.0, seed=0,
                strict=False):
    """Loads a folder of table files as `kft.data.Splits` of texts.

    Args:
        data_dir: str. The folder holding `train.EXT` (and optionally
            `validation.EXT`, `test.EXT`).
        text_columns: str or tuple of str. One column (a sentence), or two
            (a sentence pair); a string is split at commas.
        label_column: str. The label column: strings or integers.
        class_names: str, tuple of str or None. The classes in order; None
            takes the training labels' (numeric order when they are whole
            numbers, else sorted as text). With class names, integer
            labels may also index them (`0` is the first).
        validation_split: float. Without `validation.EXT`: the fraction
            of each class carved out of train (seeded, stratified).
        seed: int. Seeds the carve.
        strict: bool. Refuse an empty text instead of counting it.

    Example:

    ```python
    splits = kft.data.text_folder("tickets", text_columns="body",
                                  label_column="topic")
    splits.class_names      # ('billing', 'login', 'other')
    ```
    """
    if data_dir is None or not os.path.isdir(data_dir):
        raise KftError(f"data_dir={data_dir!r} is not a folder; point "
                       "data_dir= at a folder holding train.csv (or .tsv, "
                       ".jsonl, .parquet), or pass tfds=NAME")
    columns = parse_columns(text_columns)
    parts = {}
    for split in SPLITS:
        path = split_file(data_dir, split, required=split == "train")
        if path is not None:
            parts[split] = read_part(path, columns, label_column, strict)
    found, names = assemble(parts, labels.parse_names(class_names),
                            validation_split, seed,
                            fix="add a validation file")
    return Splits(class_names=names, origin={
        "text_columns": list(columns), "label_column": label_column},
        **found)


def parse_columns(text_columns):
    """`text_columns=` as a tuple of one or two column names."""
    if isinstance(text_columns, str):
        text_columns = [c.strip() for c in text_columns.split(",")]
    columns = tuple(text_columns)
    if len(columns) not in (1, 2) or not all(columns):
        raise KftError(
            f"text_columns={','.join(columns)!r} is not valid: name one "
            "column (a sentence) or two separated by a comma (a pair)")
    return columns


def split_file(data_dir, split, required=False):
    """The file of `split` in `data_dir` (`split.EXT`), or None.

    Raises:
        KftError: when it is missing and `required`, when there are two
            (in different formats), or when its format is not one kft
            reads (naming the formats).
    """
    found = sorted(n for n in os.listdir(data_dir)
                   if os.path.splitext(n)[0] == split
                   and os.path.isfile(os.path.join(data_dir, n)))
    if len(found) > 1:
        raise KftError(f"{data_dir} holds {', '.join(found)}; keep one "
                       f"{split} file")
    if not found:
        if required:
            raise KftError(
                f"{os.path.join(data_dir, split)}.* is missing; data_dir= "
                f"needs {split}.tsv, .csv, .jsonl or .parquet")
        return None
    path = os.path.join(data_dir, found[0])
    tables.format_of(path)
    return path


def read_part(path, columns, label_column, strict=False):
    """Reads one split file into a `kft.data.assemble.Part`.

    Empty texts are counted and reported with a warning naming their
    lines, or refused with `strict`.
    """
    table = tables.read_table(path)
    values = [table.column(c, "text_columns=") for c in columns]
    raw = table.column(label_column, "label_column=")
    if not len(table):
        raise KftError(f"{path} has a header but no examples; the split "
                       "is empty")
    texts = tuple(np.array(["" if v is None else str(v) for v in column],
                           dtype=object) for column in values)
    report_empty(texts, table.where, path, strict)
    return Part(texts if len(texts) > 1 else texts[0], raw, table.where,
                path)


def report_empty(texts, where, source, strict):
    """Warns of (or with `strict`, refuses) examples with an empty text."""
    empty = np.flatnonzero(np.any(
        [[not t.strip() for t in column] for column in texts], axis=0))
    if not len(empty):
        return
    if strict:
        raise KftError(f"{where(empty[0])}: the text is empty; fill it or "
                       "remove the row, or pass strict=false to keep empty "
                       "texts")
    shown = ", ".join(where(int(i)) for i in empty[:3])
    more = ", ..." if len(empty) > 3 else ""
    warn(f"{source}: {len(empty)} example(s) with an empty text "
         f"({shown}{more}); they are kept; strict=true refuses them")
