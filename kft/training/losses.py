"""Training losses and class weights that `TrainConfig` selects."""

import keras
import numpy as np
from keras import ops

from kft.errors import KftError


def default_loss(label_smoothing=0.0):
    """Cross-entropy on logits for integer labels, optionally smoothed.

    Args:
        label_smoothing: float. 0 gives Keras's own
            `SparseCategoricalCrossentropy(from_logits=True)`.
    """
    if label_smoothing:
        return SmoothedSparseCrossentropy(label_smoothing)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


@keras.saving.register_keras_serializable(package="kft")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy on logits against label-smoothed integer labels.

    Keras smooths only one-hot targets (`CategoricalCrossentropy`); this
    one-hot encodes integer labels first, with as many classes as the
    logits have, then smooths: `(1 - e) * onehot + e / num_classes`.

    Args:
        label_smoothing: float. `e`, in [0, 1).

    Example:

    ```python
    loss = kft.training.losses.SmoothedSparseCrossentropy(0.1)
    loss([1, 0], [[0.0, 2.0], [1.0, 0.0]])
    ```
    """

    def __init__(self, label_smoothing=0.1, name="smoothed_crossentropy",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        onehot = ops.one_hot(labels, ops.shape(y_pred)[-1],
                             dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            onehot, y_pred, from_logits=True,
            label_smoothing=self.label_smoothing)

    def get_config(self):
        return dict(super().get_config(),
                    label_smoothing=self.label_smoothing)


def class_weights(labels, num_classes, mode="balanced"):
    """`fit`'s `class_weight` dict for `mode`, or None for `"none"`.

    `balanced` weighs class `c` by `n / (num_classes * n_c)`, so every
    class adds the same total weight (scikit-learn's definition).

    Args:
        labels: array of int. The training labels.
        num_classes: int.
        mode: str. `"none"` or `"balanced"`.
    """
    if mode == "none":
        return None
    counts = np.bincount(np.asarray(labels, dtype="int64"),
                         minlength=num_classes)
    missing = [str(c) for c in np.flatnonzero(counts == 0)]
    if missing:
        raise KftError(f"class_weight={mode}: class(es) {', '.join(missing)}"
                       " have no training example; use class_weight=none")
    total = counts.sum()
    return {c: float(total / (num_classes * n)) for c, n in enumerate(counts)}
