"""kft/training/checkpoint.py: the backup file, and a model's state in and
out."""

import os

import keras
import numpy as np
import pytest

from kft import KftError
from kft.training import checkpoint


def _model(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
                              keras.layers.Dropout(0.5, seed=seed),
                              keras.layers.Dense(2)])
    model.compile(keras.optimizers.AdamW(1e-2), "mse", metrics=["mae"])
    return model


def _train(model, steps=3):
    x = np.random.default_rng(0).random((8 * steps, 4), "float32")
    y = np.random.default_rng(1).random((8 * steps, 2), "float32")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)


def test_save_and_load_round_trip_every_group(tmp_path):
    groups = {"model": [np.arange(5, dtype="float32"), np.eye(2)],
              "empty": []}
    checkpoint.save(str(tmp_path), {"position": [1, 2]}, groups)
    meta, loaded = checkpoint.load(str(tmp_path))
    assert meta["position"] == [1, 2] and meta["format"] == checkpoint.FORMAT
    assert loaded["empty"] == []
    for a, b in zip(loaded["model"], groups["model"], strict=True):
        np.testing.assert_array_equal(a, b)
    assert os.listdir(tmp_path) == [checkpoint.NAME]
    assert checkpoint.load(str(tmp_path / "none")) is None


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "format"])
def test_a_damaged_backup_is_unreadable_not_trusted(tmp_path, damage):
    checkpoint.save(str(tmp_path), {}, {"model": [np.arange(4000.0)]})
    path = checkpoint.path_in(str(tmp_path))
    data = bytearray(open(path, "rb").read())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF  # inside the array: CRC-32 catches it
    elif damage == "truncate":
        data = data[:len(data) // 2]
    elif damage == "empty":
        data = b""
    else:
        checkpoint.save(str(tmp_path), {}, {})
        checkpoint.FORMAT += 1
    if damage != "format":
        open(path, "wb").write(bytes(data))
    try:
        with pytest.raises(checkpoint.Unreadable):
            checkpoint.load(str(tmp_path))
    finally:
        if damage == "format":
            checkpoint.FORMAT -= 1


def test_capture_and_restore_carry_weights_optimizer_and_dropout_seeds():
    trained = _model(0)
    _train(trained)
    groups = checkpoint.capture(trained)
    fresh = _model(1)
    fresh.optimizer.build(fresh.trainable_variables)
    checkpoint.restore(fresh, groups)
    for mine, theirs in zip(fresh.variables, trained.variables, strict=True):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    seeds = [v for v in fresh.variables if "seed_generator" in v.path]
    assert seeds  # the dropout's generator state is among them
    assert int(fresh.optimizer.iterations.numpy()) == 3
    for mine, theirs in zip(fresh.optimizer.variables,
                            trained.optimizer.variables, strict=True):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    if keras.backend.backend() == "torch":
        assert "rng" in groups


def test_restore_refuses_a_backup_of_another_model():
    trained = _model(0)
    _train(trained)
    groups = checkpoint.capture(trained)
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    other.compile("adamw", "mse")
    with pytest.raises(KftError, match="does not fit this run's"):
        checkpoint.restore(other, groups)


def test_add_metrics_continues_the_running_totals():
    model = _model(0)
    _train(model, steps=1)
    groups = {"metrics": [np.full(np.shape(v.numpy()), 2.0, "float32")
                          for v in model.metrics_variables]}
    before = [np.asarray(v.numpy()) for v in model.metrics_variables]
    checkpoint.add_metrics(model, groups)
    for v, old in zip(model.metrics_variables, before, strict=True):
        np.testing.assert_array_equal(v.numpy(), old + 2.0)
