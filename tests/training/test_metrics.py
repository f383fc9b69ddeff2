import keras
import numpy as np
import pytest

from kft.training.metrics import BinaryAUC, BinaryF1, binary_metrics


def result(metric):
    return float(keras.ops.convert_to_numpy(metric.result()))


def logits_for(probabilities):
    p = np.asarray(probabilities, dtype="float32")
    return np.stack([np.zeros_like(p), np.log(p / (1 - p))], axis=-1)


def test_f1_counts_true_and_false_positives():
    y = np.array([1, 1, 1, 0, 0, 1])
    p = np.array([0.9, 0.8, 0.2, 0.7, 0.1, 0.6])  # tp=3 fp=1 fn=1
    f1 = BinaryF1()
    f1.update_state(y, logits_for(p))
    assert result(f1) == pytest.approx(2 * 3 / (2 * 3 + 1 + 1), rel=1e-6)


def test_f1_accumulates_over_batches_and_resets():
    f1 = BinaryF1()
    f1.update_state(np.array([1, 0]), logits_for([0.9, 0.9]))
    f1.update_state(np.array([1]), logits_for([0.1]))
    assert result(f1) == pytest.approx(2 / (2 + 1 + 1))
    f1.reset_state()
    assert result(f1) == 0.0


def test_auc_matches_the_pairwise_definition():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, 200), 0.001, 0.999)
    pos, neg = p[y == 1], p[y == 0]
    exact = np.mean(pos[:, None] > neg[None, :])
    auc = BinaryAUC()
    auc.update_state(y, logits_for(p))
    assert result(auc) == pytest.approx(exact, abs=5e-3)


def test_metrics_serialize_for_saved_models():
    for metric in binary_metrics():
        config = keras.saving.serialize_keras_object(metric)
        copy = keras.saving.deserialize_keras_object(config)
        assert copy.name == metric.name
    assert [m.name for m in binary_metrics()] == ["accuracy", "f1", "auc"]
