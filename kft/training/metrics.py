"""Classification metrics computed from logits, in `keras.ops`.

Every task reports `accuracy`, `f1` and `auc`. Two classes: F1 and ROC AUC
of class 1 (`BinaryF1`, `BinaryAUC`). More classes: macro F1 (the mean of
the classes' F1, over the classes that occur in the labels or the
predictions, as scikit-learn's `f1_score(average="macro")`) and
one-vs-rest macro ROC AUC (the mean of each class's AUC against the rest,
over the classes with both positives and negatives, from up to 20000
thresholds), plus `top5_accuracy` from 10 classes on.
"""

import keras
from keras import ops

from kft.runtime import compat
from kft.training import multiclass
from kft.training.multiclass import MacroF1, MulticlassAUC


def positive_probability(logits):
    """Probability of class 1 from `(batch, 2)` logits (or `(batch, 1)`)."""
    logits = ops.cast(logits, "float32")
    if logits.shape[-1] == 1:
        return ops.sigmoid(logits[:, 0])
    return ops.softmax(logits, axis=-1)[:, 1]


@keras.saving.register_keras_serializable(package="kft")
class BinaryF1(keras.metrics.Metric):
    """F1 of class 1 for integer labels and two-class logits.

    Example:

    ```python
    f1 = kft.training.metrics.BinaryF1()
    f1.update_state([1, 0, 1], [[0.0, 2.0], [1.0, 0.0], [3.0, 0.0]])
    f1.result()  # 2 * 1 / (2 * 1 + 0 + 1) = 0.667
    ```
    """

    def __init__(self, name="f1", dtype="float32"):
        super().__init__(name=name, dtype=dtype)
        compat.maximized(self)  # `mode="auto"` callbacks maximize it
        zeros = keras.initializers.Zeros()
        self.tp = self.add_variable((), zeros, dtype="float32", name="tp")
        self.fp = self.add_variable((), zeros, dtype="float32", name="fp")
        self.fn = self.add_variable((), zeros, dtype="float32", name="fn")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(ops.reshape(y_true, (-1,)), "float32")
        y_pred = ops.cast(positive_probability(y_pred) > 0.5, "float32")
        weight = 1.0 if sample_weight is None else ops.cast(
            ops.reshape(sample_weight, (-1,)), "float32"
        )
        self.tp.assign_add(ops.sum(weight * y_true * y_pred))
        self.fp.assign_add(ops.sum(weight * (1.0 - y_true) * y_pred))
        self.fn.assign_add(ops.sum(weight * y_true * (1.0 - y_pred)))

    def result(self):
        denominator = 2.0 * self.tp + self.fp + self.fn
        return ops.divide_no_nan(2.0 * self.tp, denominator)

    def reset_state(self):
        for variable in (self.tp, self.fp, self.fn):
            variable.assign(0.0)


@keras.saving.register_keras_serializable(package="kft")
class BinaryAUC(keras.metrics.AUC):
    """ROC AUC of class 1 for integer labels and two-class logits."""

    def __init__(self, name="auc", num_thresholds=1000, **kwargs):
        kwargs.pop("from_logits", None)
        super().__init__(name=name, num_thresholds=num_thresholds, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.reshape(y_true, (-1,))
        return super().update_state(
            y_true, positive_probability(y_pred), sample_weight
        )


@keras.saving.register_keras_serializable(package="kft")
class ConfusionCounts(keras.metrics.Metric):
    """Counts of each (true class, predicted class) pair, from logits.

    `counts` (rows true, columns predicted) accumulates inside the
    engine's own evaluation step, so under any distribution (JAX over
    many processes included) the matrix is read from one variable instead
    of from a second prediction pass. `result()` is the number of
    examples counted.

    Args:
        num_classes: int.

    Example:

    ```python
    metric = kft.training.metrics.ConfusionCounts(2)
    metric.update_state([1, 0], [[0.0, 2.0], [0.0, 1.0]])
    metric.counts.numpy()  # [[0, 1], [0, 1]]
    ```
    """

    def __init__(self, num_classes, name="confusion_counts",
                 dtype="float32"):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = int(num_classes)
        self.counts = self.add_variable(
            (self.num_classes, self.num_classes),
            keras.initializers.Zeros(), dtype="float32", name="counts")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.counts.assign_add(multiclass.confusion_batch(
            y_true, y_pred, self.num_classes, sample_weight))

    def result(self):
        return ops.sum(self.counts)

    def reset_state(self):
        self.counts.assign(ops.zeros_like(self.counts.value))

    def get_config(self):
        return dict(super().get_config(), num_classes=self.num_classes)


TOP_K, TOP_K_FROM = 5, 10  # top-5 accuracy from 10 classes on


def metrics_for(num_classes):
    """The metrics `train` reports: `accuracy`, `f1` and `auc` (binary, or
    macro for more classes), and `top5_accuracy` from 10 classes on."""
    if num_classes == 2:
        return binary_metrics()
    found = [keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
             MacroF1(num_classes), MulticlassAUC(num_classes)]
    if num_classes >= TOP_K_FROM:
        found.append(keras.metrics.SparseTopKCategoricalAccuracy(
            k=TOP_K, name=f"top{TOP_K}_accuracy"))
    return found


def binary_metrics():
    """The default metrics of a two-class task: accuracy, F1 and AUC."""
    return [
        keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
        BinaryF1(),
        BinaryAUC(),
    ]
