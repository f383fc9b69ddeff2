import keras
import numpy as np
import pytest

from kft.training.metrics import (
    BinaryAUC,
    BinaryF1,
    MacroF1,
    MulticlassAUC,
    binary_metrics,
    metrics_for,
)


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


def spread_logits(y, num_classes, rng, signal=1.5):
    """Random logits that favour the true class, with distinct values."""
    logits = rng.normal(0, 1, (len(y), num_classes))
    logits[np.arange(len(y)), y] += signal
    return logits.astype("float32")


def test_macro_f1_matches_scikit_learn_with_and_without_weights():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 300)  # class 5 of 6 never occurs
    logits = spread_logits(y, 6, rng)
    logits[:7, 5] += 9.0  # ... but is predicted a few times
    guess = logits.argmax(axis=1)
    weight = rng.uniform(0.2, 3.0, len(y))
    f1 = MacroF1(6)
    f1.update_state(y[:100], logits[:100])
    f1.update_state(y[100:], logits[100:])  # accumulates over batches
    assert result(f1) == pytest.approx(
        f1_score(y, guess, average="macro"), abs=1e-6)
    f1.reset_state()
    f1.update_state(y, logits, sample_weight=weight)
    assert result(f1) == pytest.approx(
        f1_score(y, guess, average="macro", sample_weight=weight), abs=1e-6)


def test_multiclass_auc_is_one_vs_rest_macro_as_scikit_learn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 400)
    logits = spread_logits(y, 4, rng)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    auc = MulticlassAUC(4)
    auc.update_state(y[:150], logits[:150])
    auc.update_state(y[150:], logits[150:])
    expected = roc_auc_score(y, probs, multi_class="ovr", average="macro")
    assert 0.7 < expected < 0.95
    assert result(auc) == pytest.approx(expected, abs=2e-3)


def test_multiclass_auc_leaves_out_a_class_without_positives():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 300)  # class 3 of 4 never occurs
    logits = spread_logits(y, 4, rng)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    auc = MulticlassAUC(4)
    auc.update_state(y, logits)
    each = [roc_auc_score(y == c, probs[:, c]) for c in range(3)]
    assert result(auc) == pytest.approx(np.mean(each), abs=2e-3)


def test_multiclass_metrics_names_and_saved_form():
    names = [m.name for m in metrics_for(4)]
    assert names == ["accuracy", "f1", "auc"]
    assert [m.name for m in metrics_for(10)] == names + ["top5_accuracy"]
    assert [m.name for m in metrics_for(2)] == names
    assert isinstance(metrics_for(2)[1], BinaryF1)
    for metric in metrics_for(12)[1:3]:
        config = keras.saving.serialize_keras_object(metric)
        copy = keras.saving.deserialize_keras_object(config)
        assert (type(copy), copy.name, copy.num_classes) == (
            type(metric), metric.name, 12)
