"""The state of a run's stateful callbacks, saved in a backup and put back.

Keras callbacks keep what they need between epochs in plain attributes,
reset in `on_train_begin`. A resumed `fit` puts them back after that
(`kft.training.backup` runs last). kft's own callbacks name theirs in
`FIELDS`; Keras's `EarlyStopping` and `ReduceLROnPlateau` keep theirs in
undocumented attributes, which `kft.runtime.compat.callback_fields`
names. The best weights that `BestModel` and `EarlyStopping` keep are
arrays, stored once when both keep the same.
"""

import numpy as np

from kft.runtime import compat

FIELDS = {
    "BestModel": ("best", "best_epoch"),
    "StepTimer": ("steps",),
}


def fields(callback):
    """The attributes that hold `callback`'s state, or None."""
    name = type(callback).__name__
    return FIELDS.get(name) or compat.callback_fields(callback)


def capture(callbacks):
    """Returns `(states, groups)`: JSON-able attributes per callback type,
    and the kept best weights (`best`, and `early` if they differ)."""
    states = {}
    for callback in callbacks:
        keys = fields(callback)
        if keys:
            states[type(callback).__name__] = {
                k: _plain(getattr(callback, k, None)) for k in keys}
    kept = {type(c).__name__: c.best_weights for c in callbacks
            if getattr(c, "best_weights", None) is not None}
    groups = {}
    if "BestModel" in kept:
        groups["best"] = kept["BestModel"]
    early = kept.get("EarlyStopping")
    if early is not None and not _same(early, groups.get("best")):
        groups["early"] = early
    return states, groups


def restore(callbacks, states, groups):
    """Puts `capture`'s `states` and `groups` back into `callbacks`."""
    for callback in callbacks:
        name = type(callback).__name__
        for key, value in states.get(name, {}).items():
            setattr(callback, key, value)
        if name == "BestModel":
            callback.best_weights = groups.get("best")
        elif hasattr(callback, "best_weights"):
            callback.best_weights = groups.get("early", groups.get("best"))


def _same(a, b):
    return b is not None and len(a) == len(b) and all(
        np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
