"""A seeded, stratified validation split carved out of a training split."""

import numpy as np

from kft.errors import KftError


def carve(x, y, fraction, seed, classes, where, fix, unit="example"):
    """Splits `(x, y)` into train and validation, class by class.

    In each class, `fraction` of its examples (rounded half up) go to
    validation, drawn by a permutation seeded with `(seed, class)`: the
    carve depends only on the seed and the order of `x`, never on the
    other classes.

    Args:
        x: np.ndarray or tuple of np.ndarray. Inputs, one row each.
        y: np.ndarray. Integer labels.
        fraction: float. In (0, 1).
        seed: int.
        classes: sequence of str. How to name class `i` in messages, e.g.
            its folder (`.../train/cat`) or `train.tsv, label 1`.
        where: str. The data that is split, for messages.
        fix: str. What else the user can do, e.g. "add a validation/
            folder".
        unit: str. What an example is called in messages (`image`).

    Returns:
        `((x_train, y_train), (x_validation, y_validation))`.
    """
    if not 0 < fraction < 1:
        raise KftError(
            f"validation_split={fraction} must be between 0 and 1 (excluded) "
            f"to carve a validation split out of {where}")
    take = np.zeros(len(y), dtype=bool)
    for label, name in enumerate(classes):
        rows = np.flatnonzero(y == label)
        count = int(np.floor(fraction * len(rows) + 0.5))
        if count in (0, len(rows)):
            left = "validation" if count == 0 else "train"
            size = "larger" if count == 0 else "smaller"
            raise KftError(
                f"{name} has {len(rows)} {unit}(s): validation_split="
                f"{fraction} leaves none for {left}; use a {size} "
                f"validation_split or {fix}")
        order = np.random.default_rng([seed, 0, label]).permutation(len(rows))
        take[rows[order[:count]]] = True
    def pick(keep):
        return tuple(a[keep] for a in x) if isinstance(x, tuple) else x[keep]

    return (pick(~take), y[~take]), (pick(take), y[take])
