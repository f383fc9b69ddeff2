"""kft/training/outputs.py: a model's outputs over a split, and the
end-of-run metrics and confusion matrix from one evaluation pass."""

import numpy as np
import pytest

from kft.runtime import distribute
from kft.training.outputs import final_evaluation, predictions


def test_final_evaluation_counts_what_the_model_predicts(tiny_mrpc_run,
                                                         mrpc_dir):
    """The matrix comes from the `evaluate` pass itself (a counting
    metric), not from a second prediction pass; it must still equal the
    counts of `model.predict`'s classes, and the metrics `evaluate`'s."""
    import kft

    split = kft.data.glue("mrpc", data_dir=mrpc_dir, limit=24).validation
    model = tiny_mrpc_run.model
    before = model.evaluate(split.dataset(5), verbose=0, return_dict=True)
    values, matrix = final_evaluation(model, split.dataset(5), 2,
                                      distribute.compile_metrics)
    guesses = model.predict(split.x, verbose=0).argmax(axis=1)
    expected = np.zeros((2, 2), int)
    for true, guess in zip(split.y, guesses, strict=True):
        expected[true, guess] += 1
    np.testing.assert_array_equal(matrix, expected)
    assert sorted(values) == sorted(before)
    for key, value in before.items():
        assert values[key] == pytest.approx(float(value), rel=1e-6), key
    y, outputs = predictions(model, split.dataset(5))
    np.testing.assert_array_equal(y, split.y)
    np.testing.assert_array_equal(outputs.argmax(axis=1), guesses)
