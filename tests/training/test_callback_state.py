"""kft/training/callback_state.py: stateful callbacks survive a backup."""

import keras
import numpy as np

from kft.training import callback_state
from kft.training.callbacks import BestModel, StepTimer


def _callbacks():
    return [BestModel("unused.keras", "val_loss"),
            keras.callbacks.EarlyStopping(patience=3,
                                          restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(patience=1), StepTimer()]


def test_states_and_best_weights_come_back_into_fresh_callbacks():
    before = _callbacks()
    best, early, plateau, timer = before
    weights = [np.arange(3, dtype="float32"), np.ones((2, 2), "float32")]
    best.best, best.best_epoch, best.best_weights = 0.5, 1, weights
    early.wait, early.stopped_epoch, early.best = 2, 0, np.float32(0.5)
    early.best_epoch, early.best_weights = 1, [w.copy() for w in weights]
    plateau.wait, plateau.best, plateau.cooldown_counter = 1, 0.5, 0
    timer.steps = [{"epoch": 0, "step": 0, "seconds": 0.1, "foreign": None,
                    "examples": None, "tokens": None}]
    states, groups = callback_state.capture(before)
    assert sorted(groups) == ["best"]  # the same weights are kept once
    assert states["EarlyStopping"]["best"] == 0.5
    assert type(states["EarlyStopping"]["best"]) is float  # JSON-able

    after = _callbacks()
    for callback in after:
        callback.on_train_begin()  # what fit does first: resets them
    callback_state.restore(after, states, groups)
    for old, new in zip(before, after, strict=True):
        for key in callback_state.fields(old):
            assert getattr(new, key) == getattr(old, key), key
    for kept in (after[0].best_weights, after[1].best_weights):
        for mine, theirs in zip(kept, weights, strict=True):
            np.testing.assert_array_equal(mine, theirs)


def test_different_early_stopping_weights_are_kept_apart():
    best, early, *_ = callbacks = _callbacks()
    best.best_weights = None  # e.g. every value so far was NaN
    early.best_weights = [np.zeros(2, "float32")]
    _, groups = callback_state.capture(callbacks)
    assert sorted(groups) == ["early"]
    fresh = _callbacks()
    callback_state.restore(fresh, {}, groups)
    assert fresh[0].best_weights is None
    np.testing.assert_array_equal(fresh[1].best_weights[0], np.zeros(2))


def test_without_keras_s_private_fields_early_stopping_starts_over():
    """compat's public fallback: Keras's callbacks keep their state in
    undocumented attributes; without them (another Keras version, forced
    here) the backup keeps kft's own callbacks' state only."""
    from kft.runtime import compat

    callbacks = _callbacks()
    for callback in callbacks:
        callback.on_train_begin()
    callbacks[1].wait = 2
    compat.force_public(True)
    try:
        states, _ = callback_state.capture(callbacks)
    finally:
        compat.force_public(False)
    assert sorted(states) == ["BestModel", "StepTimer"]
    assert callback_state.capture(callbacks)[0]["EarlyStopping"]["wait"] == 2
