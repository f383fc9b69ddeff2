"""A model's outputs over a dataset, and kft's metrics computed from them;
the end-of-run `confusion.png`."""

import numpy as np

from kft.rundir import plots
from kft.training import losses, metrics


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


def final_evaluation(model, dataset, num_classes, compile_metrics):
    """The best model's validation metrics and confusion matrix, from one
    `evaluate` pass (no second prediction pass).

    The model is compiled again, with its optimizer and loss, adding a
    `metrics.ConfusionCounts` to its metrics (call it inside the engine's
    scope), and compiled as before once evaluated.

    Args:
        model: keras.Model. Compiled, trained.
        dataset: tf.data.Dataset. The validation batches, as `fit` took
            them.
        num_classes: int.
        compile_metrics: callable. `compile_metrics(metrics)` gives
            `compile`'s metric arguments (`kft.runtime.distribute`).

    Returns:
        `(values, matrix)`: the metrics as floats (`loss`, `accuracy`,
        ...), and the `(n, n)` int confusion matrix.
    """
    counts = metrics.ConfusionCounts(num_classes)
    model.compile(optimizer=model.optimizer, loss=model.loss,
                  **compile_metrics([*metrics.metrics_for(num_classes),
                                     counts]))
    values = model.evaluate(dataset, verbose=0, return_dict=True)
    values.pop(counts.name, None)
    matrix = np.rint(np.asarray(counts.counts.numpy())).astype("int64")
    model.compile(optimizer=model.optimizer, loss=model.loss,
                  **compile_metrics(metrics.metrics_for(num_classes)))
    return {k: float(v) for k, v in values.items()}, matrix


def write_plots(run_dir, matrix, class_names):
    """Writes `curves.png` (from `history.csv`) and `confusion.png` of
    `matrix` (rows true, columns predicted)."""
    plots.write_curves(run_dir)
    plots.write_confusion(run_dir, matrix, class_names)
