"""kft/optimizers.py: the run's optimizer and the head's multiplier."""

import keras
import numpy as np
import pytest

from kft import optimizers
from kft.recipe import TrainConfig


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
