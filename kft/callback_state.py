"""The state of kft's stateful callbacks, saved in a backup and put back.

Keras callbacks keep what they need between epochs in plain attributes,
reset in `on_train_begin`. A resumed `fit` puts them back after that
(`kft.backup` runs last). `FIELDS` names them per callback type; the best
weights that `BestModel` and `EarlyStopping` keep are arrays, stored once
when both keep the same.
"""

import numpy as np

FIELDS = {
    "BestModel": ("best", "best_epoch"),
    "EarlyStopping": ("wait", "stopped_epoch", "best", "best_epoch"),
    "ReduceLROnPlateau": ("wait", "best", "cooldown_counter"),
    "StepTimer": ("steps",),
}


def capture(callbacks):
    """Returns `(states, groups)`: JSON-able attributes per callback type,
    and the kept best weights (`best`, and `early` if they differ)."""
    states = {}
    for callback in callbacks:
        name = type(callback).__name__
        if name in FIELDS:
            states[name] = {k: _plain(getattr(callback, k, None))
                            for k in FIELDS[name]}
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
