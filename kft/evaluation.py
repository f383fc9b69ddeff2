"""`evaluate(run_dir)`: a finished run's saved model on a labelled split.

It reads the run's `config.json` for the data's kind, classes and source,
and the batch size, but never imports or runs the recipe: a run directory
may come from someone else (`kft.eval_data`). The model loads in Keras safe
mode. Besides the metrics, it reports the confusion matrix and the
worst-classified examples (`kft.eval_report`).
"""

import os

import numpy as np

from kft import rundir
from kft.errors import KftError

SPLITS = ("train", "validation", "test")
KEYS = ("batch_size", "data_dir", "limit", "split", "worst")


def evaluate(run_dir, /, data_dir=None, split="validation", batch_size=None,
             limit=None, worst=10, **unknown) -> dict:
    """Evaluates `run_dir/model.keras`; writes `run_dir/eval-SPLIT.json`
    and a readable `run_dir/eval-SPLIT.md`.

    Args:
        run_dir: str. A run directory written by `kft run` / `kft.train`.
        data_dir: str or None. Text: a folder holding `SPLIT.tsv` (GLUE
            format). Images: a folder of `train/<class>/` (and optionally
            `validation/`, `test/`) images; without `validation/`, the
            validation split is carved with the run's `seed` and
            `validation_split`, as in training. None: the run's own.
        split: str. `train`, `validation` or `test`.
        batch_size: int, str or None. None: the run's own batch size.
        limit: int, str or None. Only the split's first `limit` examples
            (the run's own `limit` gives its validation examples back).
        worst: int or str. How many worst-classified examples to list.

    Returns:
        dict with `accuracy`, `loss` (and `f1`, `auc` for two classes),
        `split`, `data_dir`, `examples`, `backend`, `kind` (of inputs:
        `text`, `text_pair` or `image`), `class_names`,
        `confusion_matrix` (rows true, columns predicted) and `worst`
        (examples with the lowest probability of their true class).

    Raises:
        KftError: for an unknown key, a folder that is not a run directory,
            a run kft cannot read, or a missing or bad split.

    Example:

    ```python
    kft.evaluate("runs/try1", data_dir="heldout", split="test", worst=5)
    ```
    """
    from kft import backend, eval_report
    from kft.confusion import confusion_matrix, probabilities
    from kft.eval_data import load_split, run_inputs

    record = _check(run_dir, split, unknown)
    config = record.get("config") or {}
    inputs = run_inputs(run_dir, record)
    if batch_size is None:
        batch_size = config.get("batch_size") or 32
    batch_size = _whole("batch_size", batch_size, 1)
    limit = _whole("limit", limit, 1, optional=True)
    worst = _whole("worst", worst, 0)
    if data_dir is None:
        data_dir = config.get("data_dir")
    examples = load_split(inputs, data_dir, split, config, limit)
    names = inputs["class_names"]

    model = rundir.load_model(run_dir)
    y, outputs = predictions(model, examples.dataset(batch_size))
    result = metrics(y, outputs, len(names))
    probs = probabilities(outputs)
    result.update(
        split=split, data_dir=data_dir, examples=len(examples),
        backend=backend.current(), kind=inputs["kind"], class_names=names,
        confusion_matrix=confusion_matrix(y, probs.argmax(-1),
                                          len(names)).tolist(),
        worst=eval_report.worst_examples(examples, inputs["kind"], probs,
                                         names, worst))
    rundir.write_json(eval_path(run_dir, split), result)
    rundir.write_text(eval_path(run_dir, split, ".md"),
                      eval_report.markdown(run_dir, result))
    return result


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


def metrics(y, outputs, num_classes):
    """kft's metrics (`kft.train.metrics_for`) and the default loss, from
    labels and logits: as `model.evaluate` would compute them."""
    from keras import ops

    from kft.losses import default_loss
    from kft.train import metrics_for

    values = {"loss": default_loss()(y, outputs)}
    for metric in metrics_for(num_classes):
        metric.update_state(y, outputs)
        values[metric.name] = metric.result()
    return {k: float(ops.convert_to_numpy(v)) for k, v in values.items()}


def eval_path(run_dir, split, suffix=".json"):
    """Where `evaluate` writes: `run_dir/eval-SPLIT.json` (or `.md`)."""
    return os.path.join(run_dir, f"eval-{split}{suffix}")


def _check(run_dir, split, unknown):
    """The run's config record, after checking the keys and the split."""
    if unknown:
        from kft.overrides import unknown_key

        raise KftError(unknown_key(sorted(unknown)[0], KEYS))
    record = rundir.read_run(run_dir, need=(rundir.CONFIG, rundir.MODEL))
    if split not in SPLITS:
        raise KftError(
            f"split={split!r} is not a split; use one of {', '.join(SPLITS)}"
        )
    return record


def _whole(key, value, least, optional=False):
    from kft.overrides import convert

    number = convert(key, value, int | None if optional else int)
    if number is not None and number < least:
        raise KftError(f"{key}={value!r} must be at least {least}")
    return number
