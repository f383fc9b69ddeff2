"""Class labels as a table gives them, turned into class indices.

Labels may be strings (`cinema`) or integers (`3`, from a CSV or a JSON
number). The class names come from the training split in a stable order
(numeric when every label is a whole number, else sorted as text), or
from the user (`class_names=`). Every check names the file and line.
"""

import numpy as np

from kft.errors import KftError


def label_text(value):
    """A label as text: `3`, `3.0` and `"3"` are all `"3"`; None for a
    missing or empty one."""
    if value is None or isinstance(value, bool):
        return None if value is None else str(value).lower()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def label_texts(values, where):
    """`label_text` of every value; `KftError` naming the first row
    (`where(row)`) whose label is missing or empty."""
    texts = [label_text(v) for v in values]
    for row, text in enumerate(texts):
        if text is None:
            raise KftError(f"{where(row)}: the label is empty; give every "
                           "row a label, or remove the row")
    return texts


def parse_names(text):
    """`class_names=` text (`"neg,neu,pos"`, or a sequence of names) as
    a tuple; None stays None.

    Raises:
        KftError: for fewer than two names, or a name given twice.
    """
    if text is None:
        return None
    if isinstance(text, str):
        text = text.split(",")
    names = tuple(str(n).strip() for n in text)
    doubled = sorted({n for n in names if names.count(n) > 1})
    if len(names) < 2 or "" in names or doubled:
        raise KftError(
            f"class_names={','.join(names)!r} is not valid: give two or "
            "more distinct, non-empty names separated by commas, e.g. "
            "class_names=neg,pos")
    return names


def class_names_of(labels):
    """The class names of training labels (text), in a stable order:
    numeric when every label is a whole number, else sorted as text."""
    found = set(labels)
    if all(_integer(n) for n in found):
        return tuple(sorted(found, key=int))
    return tuple(sorted(found))


def encode(values, names, where, role, positions=False):
    """Class indices of label `values`.

    A label is the class of that name; with `positions`, when no label is
    a name, whole numbers `0..n-1` index `names` instead (integer labels
    with `class_names=` naming them).

    Args:
        values: sequence. Labels as the table gives them.
        names: tuple of str. The class names.
        where: callable. `where(row)` is `FILE:LINE` of a row.
        role: str. What names the classes, for messages, e.g. `the
            training split` or `class_names=`.
        positions: bool. Integer labels may index `names`.

    Returns:
        np.ndarray of int32.

    Raises:
        KftError: naming the first missing label, or the first label that
            is not a class, with its line.
    """
    texts = label_texts(values, where)
    index = {name: i for i, name in enumerate(names)}
    by_position = positions and not any(t in index for t in texts) and all(
        _integer(t) and 0 <= int(t) < len(names) for t in texts)
    if by_position:
        return np.array([int(t) for t in texts], dtype="int32")
    for row, text in enumerate(texts):
        if text not in index:
            shown = ", ".join(names[:20]) + (", ..." if len(names) > 20
                                             else "")
            raise KftError(
                f"{where(row)}: label {text!r} is not a class of {role} "
                f"({shown}); fix the label, or add the class to the "
                "training data (or to class_names=)")
    return np.array([index[t] for t in texts], dtype="int32")


def check_every_class(y, names, source):
    """Raises `KftError` naming the classes without a training example."""
    counts = np.bincount(y, minlength=len(names))
    empty = [names[i] for i in np.flatnonzero(counts == 0)]
    if empty:
        raise KftError(
            f"{source}: class(es) {', '.join(map(repr, empty))} have no "
            "training example; add examples of them, or leave them out of "
            "class_names=")


def _integer(text):
    return text.lstrip("-").isdigit()
