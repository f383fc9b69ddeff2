"""Metrics of tasks with more than two classes: macro F1 and one-vs-rest
macro ROC AUC, from integer labels and logits, in `keras.ops`."""

import keras
from keras import ops

from kft.runtime import compat


def confusion_batch(y_true, y_pred, num_classes, sample_weight=None):
    """One batch's `(num_classes, num_classes)` confusion counts (rows
    true, columns the argmax of `y_pred`), each example counted with its
    sample weight."""
    true = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"),
                       num_classes)
    guess = ops.one_hot(ops.argmax(y_pred, axis=-1), num_classes)
    if sample_weight is not None:
        weight = ops.cast(ops.reshape(sample_weight, (-1, 1)), "float32")
        true = true * weight
    return ops.matmul(ops.transpose(true), guess)


@keras.saving.register_keras_serializable(package="kft")
class MacroF1(keras.metrics.Metric):
    """Macro F1 for integer labels and `num_classes` logits.

    The mean of each class's F1 over the classes that occur in the labels
    or the predictions (scikit-learn's `f1_score(average="macro")`), from
    a weighted confusion matrix.

    Args:
        num_classes: int.
        name: str.

    Example:

    ```python
    f1 = MacroF1(3)
    f1.update_state([0, 1, 2], [[2.0, 0, 0], [0, 2.0, 0], [0, 2.0, 0]])
    f1.result()  # (1 + 2/3 + 0) / 3
    ```
    """

    def __init__(self, num_classes, name="f1", dtype="float32"):
        super().__init__(name=name, dtype=dtype)
        compat.maximized(self)  # `mode="auto"` callbacks maximize it
        self.num_classes = int(num_classes)
        self.confusion = self.add_variable(
            (self.num_classes, self.num_classes),
            keras.initializers.Zeros(), dtype="float32", name="confusion")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.confusion.assign_add(confusion_batch(
            y_true, y_pred, self.num_classes, sample_weight))

    def result(self):
        tp = ops.diagonal(self.confusion)
        counted = ops.sum(self.confusion, axis=0) + ops.sum(
            self.confusion, axis=1)  # (tp + fp) + (tp + fn)
        f1 = ops.divide_no_nan(2.0 * tp, counted)
        present = ops.cast(counted > 0, "float32")
        return ops.divide_no_nan(ops.sum(f1 * present), ops.sum(present))

    def reset_state(self):
        self.confusion.assign(ops.zeros(self.confusion.shape, "float32"))

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name,
                "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="kft")
class MulticlassAUC(keras.metrics.AUC):
    """One-vs-rest macro ROC AUC for integer labels and `num_classes`
    logits.

    Each class's ROC AUC of its softmax probability against the other
    classes (Keras's `AUC` with `multi_label=True`), then the mean over
    the classes with both positive and negative examples, as
    scikit-learn's `roc_auc_score(multi_class="ovr", average="macro")`.
    Probabilities of a few classes crowd together (a 4-class model's are
    often all within 0.25 +- 0.05), so the thresholds are finer than the
    binary AUC's 1000: `200_000 // num_classes`, from 1000 to 20000 (steps
    of 5e-5 up to 10 classes).

    Args:
        num_classes: int.
        name: str.
        num_thresholds: int or None. None: as above.
    """

    def __init__(self, num_classes, name="auc", num_thresholds=None,
                 **kwargs):
        for key in ("multi_label", "num_labels", "from_logits"):
            kwargs.pop(key, None)
        if num_thresholds is None:
            num_thresholds = min(max(200_000 // int(num_classes), 1000),
                                 20_000)
        super().__init__(name=name, num_thresholds=num_thresholds,
                         multi_label=True, num_labels=int(num_classes),
                         **kwargs)
        self.num_classes = int(num_classes)

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"),
                             self.num_classes)
        probabilities = ops.softmax(ops.cast(y_pred, "float32"), axis=-1)
        if sample_weight is not None:
            sample_weight = ops.reshape(sample_weight, (-1, 1))
        return super().update_state(labels, probabilities, sample_weight)

    def result(self):
        tp, fp = self.true_positives, self.false_positives
        recall = ops.divide_no_nan(tp, tp + self.false_negatives)
        fp_rate = ops.divide_no_nan(fp, fp + self.true_negatives)
        heights = (recall[:-1] + recall[1:]) / 2.0
        by_class = ops.sum((fp_rate[:-1] - fp_rate[1:]) * heights, axis=0)
        # threshold 0 counts every example as predicted positive
        present = ops.cast((tp[0] > 0) & (fp[0] > 0), "float32")
        return ops.divide_no_nan(ops.sum(by_class * present),
                                 ops.sum(present))

    def get_config(self):
        config = super().get_config()
        for key in ("multi_label", "num_labels", "from_logits",
                    "label_weights"):
            config.pop(key, None)
        return dict(config, num_classes=self.num_classes)
