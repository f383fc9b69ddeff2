"""A model's outputs over a dataset, and kft's metrics computed from them;
the end-of-run `confusion.png`."""

import numpy as np

from kft.rundir import plots
from kft.training import losses, metrics, scores


def predictions(model, dataset):
    """Runs `model` over a dataset of `(x, y)` batches, in its order.

    Batches of `(x, y, sample_weight)` (a distributed run's, padded to
    split evenly over replicas) drop their rows of weight 0.

    Returns:
        `(y, outputs)`: the labels, and the model's outputs (float32).
    """
    labels, keep = [], []
    for _, y, *weight in dataset.as_numpy_iterator():
        labels.append(y)
        keep.append(weight[0] > 0 if weight else np.ones(len(y), bool))
    # `predict`, not a loop of `predict_on_batch`: under a tf.distribute
    # strategy only `predict` hands back exactly one row per example.
    outputs = np.asarray(model.predict(dataset, verbose=0), "float32")
    keep = np.concatenate(keep)
    return np.concatenate(labels)[keep], outputs[keep]


def classification_metrics(y, outputs, num_classes):
    """kft's metrics (`metrics.metrics_for`) and the default loss, from
    labels and logits: as `model.evaluate` would compute them."""
    from keras import ops

    values = {"loss": losses.default_loss()(y, outputs)}
    for metric in metrics.metrics_for(num_classes):
        metric.update_state(y, outputs)
        values[metric.name] = metric.result()
    return {k: float(ops.convert_to_numpy(v)) for k, v in values.items()}


def write_plots(run_dir, model, dataset, class_names):
    """Writes `curves.png` (from `history.csv`) and `confusion.png` of the
    best model on `dataset`, the validation batches.

    Returns:
        The confusion matrix, an `(n, n)` array (rows true, columns
        predicted).
    """
    plots.write_curves(run_dir)
    y, outputs = predictions(model, dataset)
    matrix = scores.confusion_matrix(y, outputs.argmax(axis=-1),
                                     len(class_names))
    plots.write_confusion(run_dir, matrix, class_names)
    return matrix
