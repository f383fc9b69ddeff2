"""kft/training/scores.py: the confusion matrix and the worst examples, checked
against counts and orders worked out by hand."""

import numpy as np
import pytest

from kft import KftError
from kft.training.scores import (
    confusion_matrix,
    per_class,
    probabilities,
    worst,
)

pytestmark = pytest.mark.backend_free  # no backend-dependent code


def test_confusion_matrix_counts_match_a_hand_count():
    y_true = [0, 0, 0, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 1, 0, 1, 2, 2, 0, 2, 2]
    # true 0: predicted 0, 1, 0   -> [2, 1, 0]
    # true 1: predicted 1, 2      -> [0, 1, 1]
    # true 2: predicted 2, 0, 2, 2 -> [1, 0, 3]
    expected = [[2, 1, 0], [0, 1, 1], [1, 0, 3]]
    assert confusion_matrix(y_true, y_pred, 3).tolist() == expected


def test_a_class_never_seen_still_gets_its_row_and_column():
    matrix = confusion_matrix(np.array([1, 1]), np.array([1, 0]), 3)
    assert matrix.tolist() == [[0, 0, 0], [1, 1, 0], [0, 0, 0]]
    assert matrix.dtype == np.int64


@pytest.mark.parametrize("y_true, y_pred, words", [
    ([0, 2], [0, 1], "true label 2 is outside 0..1 (2 classes)"),
    ([0, 1], [-1, 1], "predicted label -1 is outside 0..1"),
])
def test_labels_outside_the_classes_are_refused(y_true, y_pred, words):
    with pytest.raises(KftError) as error:
        confusion_matrix(y_true, y_pred, 2)
    assert words in str(error.value)


def test_probabilities_are_a_stable_softmax():
    probs = probabilities([[0.0, 0.0], [1000.0, 0.0], [0.0, np.log(3.0)]])
    np.testing.assert_allclose(probs, [[0.5, 0.5], [1.0, 0.0],
                                       [0.25, 0.75]], atol=1e-12)


def test_worst_orders_by_the_probability_of_the_true_class():
    probs = np.array([[0.9, 0.1],   # true 0: 0.9
                      [0.6, 0.4],   # true 1: 0.4
                      [0.2, 0.8],   # true 0: 0.2
                      [0.6, 0.4],   # true 1: 0.4 (tie: keeps order)
                      [0.3, 0.7]])  # true 1: 0.7
    y = [0, 1, 0, 1, 1]
    assert worst(y, probs, 3).tolist() == [2, 1, 3]
    assert worst(y, probs, 10).tolist() == [2, 1, 3, 4, 0]
    assert worst(y, probs, 0).tolist() == []


def test_per_class_scores_match_scikit_learn():
    from sklearn.metrics import precision_recall_fscore_support

    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 200)  # class 4 of 5: never true ...
    y_pred = np.where(rng.uniform(size=200) < 0.6, y_true,
                      rng.integers(0, 5, 200))  # ... sometimes predicted
    y_pred[y_pred == 3] = 2  # class 3: never predicted
    rows = per_class(confusion_matrix(y_true, y_pred, 5), list("abcde"))
    p, r, f, n = precision_recall_fscore_support(
        y_true, y_pred, labels=range(5), zero_division=0)
    assert [row["class"] for row in rows] == list("abcde")
    for key, expected in (("precision", p), ("recall", r), ("f1", f)):
        np.testing.assert_allclose([row[key] for row in rows], expected,
                                   atol=1e-12, err_msg=key)
    assert [row["support"] for row in rows] == n.tolist()
    assert rows[3]["precision"] == 0.0 and rows[4]["recall"] == 0.0
