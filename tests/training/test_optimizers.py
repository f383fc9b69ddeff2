"""kft/training/optimizers.py: the run's optimizer and the head's multiplier."""

import keras
import numpy as np
import pytest

from kft.config.recipe import TrainConfig
from kft.training import optimizers


def _model():
    """A two-layer model whose first layer is its `backbone`."""
    backbone = keras.Sequential([keras.Input((3,)),
                                 keras.layers.Dense(4, name="body")])
    model = keras.Sequential([backbone, keras.layers.Dense(2, name="head")])
    model.backbone = backbone
    return model


def _short(variable):
    return "/".join(variable.path.split("/")[-2:])


@pytest.mark.parametrize("kind", ["sgd", "adam", "adamw"])
def test_head_moves_multiplier_times_further_on_the_first_step(kind):
    model = _model()
    cfg = TrainConfig(optimizer=kind, weight_decay=0.0,
                      head_learning_rate_multiplier=10.0)
    head = optimizers.head_variables(model)
    assert [_short(v) for v in head] == ["head/kernel", "head/bias"]
    optimizer = optimizers.build(cfg, 1e-3, head)
    variables = model.trainable_variables
    before = [np.array(v) for v in variables]
    optimizer.apply([keras.ops.ones(v.shape) for v in variables], variables)
    moved = {_short(v): float(np.abs(np.array(v) - b).max())
             for v, b in zip(variables, before, strict=True)}
    assert moved["body/kernel"] == pytest.approx(1e-3, rel=1e-3)
    assert moved["head/kernel"] == pytest.approx(1e-2, rel=1e-3)
    assert moved["head/bias"] == pytest.approx(1e-2, rel=1e-3)


def test_no_multiplier_is_the_plain_keras_optimizer():
    optimizer = optimizers.build(TrainConfig(optimizer="sgd"), 0.1,
                                 optimizers.head_variables(_model()))
    assert type(optimizer) is keras.optimizers.SGD or type(
        optimizer).__name__ == "SGD"  # torch swaps in its fused SGD
    assert optimizer.momentum == 0.9  # TrainConfig default


def test_multiplier_optimizer_round_trips_its_config():
    cfg = TrainConfig(optimizer="adamw", head_learning_rate_multiplier=4.0)
    optimizer = optimizers.build(cfg, 1e-3, optimizers.head_variables(
        _model()))
    again = type(optimizer).from_config(optimizer.get_config())
    assert again.multiplier == 4.0
    assert [p.split("/", 1)[1] for p in again.scaled] == [
        "head/kernel", "head/bias"]
    assert again.weight_decay == pytest.approx(0.01)


def test_clipnorm_bounds_each_update():
    variable = keras.Variable(np.zeros(4, "float32"))
    cfg = TrainConfig(optimizer="sgd", momentum=0.0, weight_decay=0.0,
                      clipnorm=1.0)
    optimizer = optimizers.build(cfg, 0.5)
    optimizer.apply([keras.ops.full((4,), 100.0)], [variable])
    assert np.linalg.norm(np.array(variable)) == pytest.approx(0.5, 1e-5)


@pytest.mark.parametrize("kind", ["sgd", "adamw"])
def test_four_accumulated_batches_of_8_update_as_one_batch_of_32(kind):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = rng.integers(0, 2, 32)
    start = _model().get_weights()

    def fit(batch_size, steps):
        model = _model()
        model.set_weights(start)
        cfg = TrainConfig(optimizer=kind, learning_rate=0.1,
                          gradient_accumulation_steps=steps)
        model.compile(optimizer=optimizers.build(cfg, 0.1),
                      loss=keras.losses.SparseCategoricalCrossentropy(
                          from_logits=True))
        model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False,
                  verbose=0)
        return model.get_weights()

    whole, accumulated = fit(32, None), fit(8, 4)
    for a, b, s in zip(whole, accumulated, start, strict=True):
        assert not np.allclose(a, s)  # the step happened
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
