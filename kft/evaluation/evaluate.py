"""`evaluate(run_dir)`: a finished run's saved model on a labelled split.

It reads the run's `config.json` for the data's kind, classes and source,
and the batch size, but never imports or runs the recipe: a run directory
may come from someone else (`kft.evaluation.data`). The model loads in
Keras safe mode. Besides the metrics, it reports the confusion matrix and the
worst-classified examples (`kft.evaluation.report`).
"""

import os
import time

from kft import rundir, training
from kft.config import overrides
from kft.errors import KftError, warn
from kft.evaluation import data as eval_data
from kft.evaluation import report as eval_report
from kft.rundir import layout, plots
from kft.runtime import allocator, backend
from kft.training import inference, scores

SPLITS = ("train", "validation", "test")
KEYS = ("batch_size", "data_dir", "limit", "split", "worst")


def evaluate(run_dir, /, data_dir=None, split="validation", batch_size=None,
             limit=None, worst=10, **unknown) -> dict:
    """Evaluates `run_dir/model.keras`; writes `run_dir/eval-SPLIT.json`
    and a readable `run_dir/eval-SPLIT.md`.

    Args:
        run_dir: str. A run directory written by `kft run` / `kft.train`.
        data_dir: str or None. Text: a folder holding `SPLIT.tsv` (or
            `.csv`, `.jsonl`, `.parquet`) with the run's text and label
            columns. Images: a folder holding `SPLIT/<class>/` images
            (e.g. only `test/`). Without its validation file or folder,
            the validation split is carved out of train with the run's
            `seed` and `validation_split`, as in training. None: the
            run's own (or its TensorFlow Datasets dataset).
        split: str. `train`, `validation` or `test`.
        batch_size: int, str or None. None: the run's own batch size.
        limit: int, str or None. Only the split's first `limit` examples
            (the run's own `limit` gives its validation examples back).
        worst: int or str. How many worst-classified examples to list.

    Returns:
        dict with `accuracy`, `f1`, `auc`, `loss` (and `top5_accuracy`
        from 10 classes; `kft.training.metrics`), `split`, `data_dir`,
        `examples`, `backend`, `kind` (of inputs: `text`, `text_pair` or
        `image`), `class_names`, `confusion_matrix` (rows true, columns
        predicted; also drawn in `eval-SPLIT-confusion.png`), `per_class`
        (precision, recall, F1 and support of each class) and `worst`
        (examples with the lowest probability of their true class), and
        `timing` (`first_prediction_seconds` from the call to the first
        outputs, `warmup_seconds` for the other shapes' first batches,
        then `examples_per_second`; `kft.training.inference.predict_split`).

    Raises:
        KftError: for an unknown key, a folder that is not a run directory,
            a run kft cannot read, or a missing or bad split.

    Example:

    ```python
    kft.evaluate("runs/try1", data_dir="heldout", split="test", worst=5)
    ```
    """
    began = time.perf_counter()
    record = _check(run_dir, split, unknown)
    note = rundir.unfinished(run_dir, record)
    if note:
        warn(note)
    config = record.get("config") or {}
    if config.get("keep_freed_memory", True):
        allocator.keep()  # as the run trained: 1.7x on torch (README)
    inputs = eval_data.run_inputs(run_dir, record)
    if batch_size is None:
        batch_size = config.get("batch_size") or 32
    batch_size = _whole("batch_size", batch_size, 1)
    limit = _whole("limit", limit, 1, optional=True)
    worst = _whole("worst", worst, 0)
    if data_dir is None:
        data_dir = config.get("data_dir")
    examples = eval_data.load_split(inputs, data_dir, split, config, limit)
    names = inputs["class_names"]

    model = training.load_model(run_dir)
    outputs, timing = inference.predict_split(model, examples, batch_size,
                                              start=began)
    y = examples.y
    result = training.classification_metrics(y, outputs, len(names))
    probs = scores.probabilities(outputs)
    matrix = scores.confusion_matrix(y, probs.argmax(-1), len(names))
    result.update(
        split=split, data_dir=data_dir, examples=len(examples),
        backend=backend.current(), kind=inputs["kind"], class_names=names,
        confusion_matrix=matrix.tolist(),
        per_class=scores.per_class(matrix, names), timing=timing,
        worst=eval_report.worst_examples(examples, inputs["kind"], probs,
                                         names, worst))
    rundir.write_json(os.path.join(run_dir, layout.eval_json(split)),
                      result)
    rundir.write_text(os.path.join(run_dir, layout.eval_markdown(split)),
                      eval_report.markdown(run_dir, result))
    plots.save(plots.confusion_figure(matrix, names, title=split),
               os.path.join(run_dir, layout.eval_confusion(split)))
    return result


def _check(run_dir, split, unknown):
    """The run's config record, after checking the keys and the split."""
    if unknown:
        raise KftError(overrides.unknown_key(sorted(unknown)[0], KEYS))
    record = rundir.read_run(run_dir, need=(rundir.CONFIG, rundir.MODEL))
    if split not in SPLITS:
        raise KftError(
            f"split={split!r} is not a split; use one of {', '.join(SPLITS)}"
        )
    return record


def _whole(key, value, least, optional=False):
    number = overrides.convert(key, value, int | None if optional else int)
    if number is not None and number < least:
        raise KftError(f"{key}={value!r} must be at least {least}")
    return number
