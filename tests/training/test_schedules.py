import keras
import numpy as np
import pytest

from kft import TrainConfig
from kft.training.schedules import WarmupLinearDecay, build


def values(schedule, steps):
    return [float(keras.ops.convert_to_numpy(schedule(s))) for s in steps]


def test_warmup_then_linear_decay_at_chosen_steps():
    schedule = WarmupLinearDecay(1e-3, warmup_steps=10, total_steps=110)
    got = values(schedule, [0, 5, 10, 60, 109, 110, 200])
    want = [0.0, 5e-4, 1e-3, 5e-4, 1e-5, 0.0, 0.0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-12)


def test_no_warmup_starts_at_the_peak():
    schedule = WarmupLinearDecay(2e-5, warmup_steps=0, total_steps=4)
    np.testing.assert_allclose(values(schedule, [0, 2, 4]),
                               [2e-5, 1e-5, 0.0], rtol=1e-5)


def test_matches_hugging_face_linear_schedule_formula():
    warmup, total = 7, 50
    schedule = WarmupLinearDecay(1.0, warmup, total)
    for step in range(total):
        hf = (step / max(1, warmup) if step < warmup
              else max(0.0, (total - step) / max(1, total - warmup)))
        assert values(schedule, [step])[0] == pytest.approx(hf, rel=1e-6)


def test_round_trips_through_keras_serialization():
    schedule = WarmupLinearDecay(3e-5, 5, 100)
    copy = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(schedule))
    assert copy.get_config() == schedule.get_config()


def test_build_picks_the_configured_schedule():
    cfg = TrainConfig(learning_rate=1e-3, warmup_fraction=0.1)
    linear = build(cfg, total_steps=100)
    assert isinstance(linear, WarmupLinearDecay)
    assert linear.warmup_steps == 10
    cosine = build(TrainConfig(learning_rate=1e-3, schedule="cosine",
                               warmup_fraction=0.1), 100)
    got = values(cosine, [0, 5, 10, 55, 100])
    np.testing.assert_allclose(got, [0.0, 5e-4, 1e-3, 5e-4, 0.0],
                               atol=1e-9)
    assert build(TrainConfig(schedule="constant"), 100) == 2e-5
    assert build(TrainConfig(schedule="plateau"), 100) == 2e-5
