"""kft's fused Adam/AdamW: Keras's update, in one kernel on torch and TF."""

import keras
import numpy as np
import pytest

from kft.training import fused_adam


def _train(optimizer_class, steps=6, **options):
    """Runs `steps` updates on two variables; returns their values."""
    rng = np.random.default_rng(0)
    variables = [keras.Variable(rng.normal(size=(7, 5)).astype("float32"),
                                name="kernel"),
                 keras.Variable(rng.normal(size=(5,)).astype("float32"),
                                name="bias")]
    schedule = keras.optimizers.schedules.PolynomialDecay(1e-2, steps, 1e-3)
    optimizer = optimizer_class(learning_rate=schedule, **options)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    for _ in range(steps):
        grads = [keras.ops.convert_to_tensor(
            rng.normal(size=v.shape).astype("float32")) for v in variables]
        optimizer.apply(grads, variables)
    return [keras.ops.convert_to_numpy(v) for v in variables], optimizer


@pytest.mark.parametrize("name, options", [
    ("AdamW", {"weight_decay": 0.05, "epsilon": 1e-8}),
    ("Adam", {"epsilon": 1e-3}),  # a large epsilon shows where it sits
])
def test_fused_update_equals_keras_update(name, options):
    expected, _ = _train(getattr(keras.optimizers, name), **options)
    found, optimizer = _train(getattr(fused_adam, name), **options)
    for a, b in zip(found, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7)
    assert int(optimizer.iterations) == 6


def test_fused_kernel_replaces_keras_update_on_torch_and_tensorflow(
        backend, monkeypatch):
    calls = []
    keras_update = keras.optimizers.AdamW.update_step

    def counting(self, *args):
        calls.append(1)
        return keras_update(self, *args)

    monkeypatch.setattr(keras.optimizers.AdamW, "update_step", counting)
    _train(fused_adam.AdamW, steps=2, weight_decay=0.01)
    fused = backend in ("torch", "tensorflow")
    assert (len(calls) == 0) == fused, (backend, len(calls))


def test_fused_adamw_round_trips_through_its_config():
    optimizer = fused_adam.AdamW(learning_rate=3e-5, weight_decay=0.02)
    config = keras.saving.serialize_keras_object(optimizer)
    again = keras.saving.deserialize_keras_object(config)
    assert type(again) is fused_adam.AdamW
    assert again.weight_decay == pytest.approx(0.02)
