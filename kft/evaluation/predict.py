"""`kft predict`: a finished run's model on new inputs, with probabilities.

It reads the task from the run's `config.json` (`inputs`: kind, class
names, image size), never imports the recipe, and loads `model.keras` in
Keras safe mode on the current backend. Images are decoded, resized and
center-cropped as in evaluation; the model's preprocessor does the rest.
"""

import json
import os

import numpy as np

from kft import rundir, training
from kft.data import examples as inputs_from
from kft.data import images
from kft.data.splits import Split
from kft.errors import KftError, warn
from kft.rundir import atomic
from kft.runtime import allocator
from kft.training import inference

OUTPUT_TYPES = (".jsonl", ".tsv")


def run(run_dir, values=(), input_path=None, output=None, batch_size=None):
    """What `kft predict` does: reads the examples, predicts, and writes
    `output` (.jsonl or .tsv) or returns lines to print.

    Args:
        run_dir: str. A finished run directory.
        values: sequence of str. Inputs as arguments: one pair (2 values),
            sentences, or image paths.
        input_path: str or None. A .tsv or .jsonl file, or a folder of
            images, instead of `values`.
        output: str or None. Where to write the predictions.
        batch_size: int or None. None: the run's own batch size.

    Returns:
        list of str: the lines to print.

    Example:

    ```python
    run("runs/mrpc1", ["He left .", "He went away ."])
    ```
    """
    inputs, config = task(run_dir)
    if bool(values) == bool(input_path):
        raise KftError("give the inputs either as arguments or as --input "
                       "FILE (.tsv, .jsonl, or a folder of images)")
    columns = inputs.get("text_columns") if inputs["kind"] != "image" \
        else None
    examples = (inputs_from.from_path(inputs["kind"], input_path, columns)
                if input_path else
                inputs_from.from_arguments(inputs["kind"], list(values),
                                           columns))
    if output:
        check_output(output, examples)
    if inputs["kind"] == "image":
        check_images(examples)
    if batch_size is None:
        batch_size = config.get("batch_size") or 32
    if config.get("keep_freed_memory", True):
        allocator.keep()  # as the run trained (kft.runtime.allocator)
    if batch_size < 1:
        raise KftError(f"--batch-size {batch_size} must be at least 1")
    probabilities = predict(run_dir, examples, inputs, batch_size)
    table = rows(examples, probabilities, inputs["class_names"])
    if not output:
        return lines(table)
    write(output, table)
    return [f"wrote {len(table)} predictions to {output}"]


def task(run_dir):
    """The run's `inputs` record (`kind`, `class_names`, `image_size`)
    and its `config`."""
    record = rundir.read_run(run_dir, need=(rundir.CONFIG, rundir.MODEL))
    note = rundir.unfinished(run_dir, record)
    if note:
        warn(note)
    inputs = record.get("inputs")
    if not isinstance(inputs, dict) or "kind" not in inputs:
        raise KftError(
            f"{os.path.join(run_dir, rundir.CONFIG)} has no `inputs` record "
            "(the task's input kind and class names), so kft cannot tell "
            "what the model takes; train the run again with this kft")
    return inputs, record.get("config") or {}


def predict(run_dir, examples, inputs, batch_size=32):
    """Class probabilities of `examples` under the run's model.

    Args:
        run_dir: str. A finished run directory.
        examples: kft.data.examples.Examples. The task's inputs.
        inputs: dict. The run's `inputs` record (`task(run_dir)[0]`).
        batch_size: int.

    Returns:
        float array `(len(examples), num_classes)`.
    """
    import keras

    model = training.load_model(run_dir)
    split = Split(examples.x(), np.zeros(len(examples), "int32"),
                  image_size=inputs.get("image_size"))
    outputs, _ = inference.predict_split(model, split, batch_size)
    outputs = np.asarray(outputs, dtype="float64")
    activation = keras.activations.get(getattr(model, "activation", None))
    if activation is keras.activations.softmax:
        return outputs
    shifted = np.exp(outputs - outputs.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def check_images(examples):
    """Raises `KftError` naming the first image that does not decode."""
    paths = examples.columns["image"]
    good, _ = images.check_images(paths)
    for path, source, ok in zip(paths, examples.sources, good, strict=True):
        if not ok:
            where = "" if source == path else f"{source}: "
            problem = "does not exist" if not os.path.isfile(path) else \
                "is not a readable image (JPEG, PNG, BMP, GIF or WebP)"
            raise KftError(f"{where}{path} {problem}; fix or remove it")


def rows(examples, probabilities, class_names):
    """One dict per example: its inputs, `label`, and `probabilities`."""
    if probabilities.shape[-1] != len(class_names):
        raise KftError(
            f"the model gives {probabilities.shape[-1]} outputs, but the "
            f"run names {len(class_names)} classes; train the run again")
    out = []
    for i, p in enumerate(probabilities):
        row = {c: v[i] for c, v in examples.columns.items()}
        row["label"] = class_names[int(np.argmax(p))]
        row["probabilities"] = {name: float(q) for name, q in
                                zip(class_names, p, strict=True)}
        out.append(row)
    return out


def check_output(path, examples):
    """Fails early, writing nothing, when `path` cannot take predictions."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in OUTPUT_TYPES:
        raise KftError(f"--output {path}: unknown file type "
                       f"{extension or '(none)'}; use .jsonl or .tsv")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise KftError(f"--output {path}: {folder} is not a writable "
                       "folder; choose another --output")
    if extension == ".tsv":
        for column, values in examples.columns.items():
            for value, source in zip(values, examples.sources, strict=True):
                if "\t" in value or "\n" in value or "\r" in value:
                    raise KftError(
                        f"{source}: {column} holds a tab or line break, "
                        "which a .tsv cannot hold; use --output .jsonl")


def write(path, table):
    """Writes `table` to `path` (.jsonl or .tsv) atomically."""
    if path.lower().endswith(".jsonl"):
        text = [json.dumps(row, ensure_ascii=False) for row in table]
    else:
        text = lines(table, digits=None)
    with atomic.writing(path, "w", encoding="utf-8", newline="") as f:
        f.writelines(line + "\n" for line in text)


def lines(table, digits=4):
    """Tab-separated lines: a header, then one per example. Probabilities
    are rounded to `digits` decimals (None: written in full)."""
    out = ["\t".join(_flat(table[0]))]
    for row in table:
        out.append("\t".join(
            v if isinstance(v, str) else
            (repr(v) if digits is None else f"{v:.{digits}f}")
            for v in _flat(row).values()))
    return out


def _flat(row):
    """`label`, `p_<class>` for each class, then the inputs."""
    inputs = {k: v for k, v in row.items()
              if k not in ("label", "probabilities")}
    probabilities = {f"p_{k}": v for k, v in row["probabilities"].items()}
    return {"label": row["label"], **probabilities, **inputs}
