"""Where a classifier goes wrong, in NumPy: the confusion matrix and the
worst-classified examples. No keras: outputs are plain arrays."""

import numpy as np

from kft.errors import KftError


def confusion_matrix(y_true, y_pred, num_classes):
    """Counts of each (true class, predicted class) pair.

    Args:
        y_true: array of int. True labels.
        y_pred: array of int. Predicted labels, as many as `y_true`.
        num_classes: int. Labels run from 0 to `num_classes - 1`.

    Returns:
        A `(num_classes, num_classes)` int64 array: row `i`, column `j`
        counts the examples of class `i` predicted as class `j`.

    Example:

    ```python
    confusion_matrix([0, 1, 1], [0, 0, 1], 2)  # [[1, 0], [1, 1]]
    ```
    """
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.int64).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{len(y_true)} labels but {len(y_pred)} "
                         "predictions")
    for name, labels in (("true", y_true), ("predicted", y_pred)):
        bad = labels[(labels < 0) | (labels >= num_classes)]
        if bad.size:
            raise KftError(f"{name} label {bad[0]} is outside 0.."
                           f"{num_classes - 1} ({num_classes} classes)")
    flat = np.bincount(y_true * num_classes + y_pred,
                       minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def per_class(matrix, class_names):
    """Each class's precision, recall, F1 and support, from a confusion
    matrix (rows true, columns predicted). A ratio with nothing to divide
    by (no example predicted, or none true) is 0, as scikit-learn's
    `zero_division=0`.

    Returns:
        list of dicts, in class order: `class`, `precision`, `recall`,
        `f1`, `support` (true examples).

    Example:

    ```python
    per_class([[1, 0], [1, 1]], ["a", "b"])[1]
    # {'class': 'b', 'precision': 1.0, 'recall': 0.5, 'f1': 0.667, ...}
    ```
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    tp = np.diag(matrix)
    predicted, true = matrix.sum(axis=0), matrix.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(true > 0, tp / true, 0.0)
        f1 = np.where(predicted + true > 0, 2 * tp / (predicted + true), 0.0)
    return [{"class": str(name), "precision": float(p), "recall": float(r),
             "f1": float(f), "support": int(n)}
            for name, p, r, f, n in zip(class_names, precision, recall, f1,
                                        true, strict=True)]


def probabilities(logits):
    """Softmax over the last axis, computed stably in float64."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def worst(y_true, probs, n):
    """Indices of the `n` examples with the lowest probability of their
    true class, lowest first (ties keep the examples' order).

    Args:
        y_true: array of int. True labels.
        probs: array `(examples, classes)`. Class probabilities.
        n: int. How many to return (fewer if there are fewer examples).
    """
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    true_probability = np.asarray(probs)[np.arange(len(y_true)), y_true]
    return np.argsort(true_probability, kind="stable")[:max(n, 0)]
