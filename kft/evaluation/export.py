"""`kft export`: a finished run's model as a `.keras` file, a TensorFlow
SavedModel or an ONNX graph, in a folder with an `export.json` that names
what the artefact takes and returns.

`keras` saves the whole task (preprocessor included) with `model.save` on
any backend. `saved_model` and `onnx` go through Keras's `model.export` on
TensorFlow: KerasHub text tasks take a dict of inputs of any length, which
Keras 3.15 exports from TensorFlow (onnx through `tf2onnx`) but not from
torch (a dict signature fails) or JAX (symbolic sequence length fails).
From another backend, that step runs in a TensorFlow subprocess.

These graphs hold the task's backbone and head only: they take the
preprocessor's output (token ids, segment ids and padding mask; or
resized, normalised images) and return logits.
"""

import os
import subprocess
import sys

from kft import rundir, training
from kft.errors import EXIT_OK, KftError, warn
from kft.rundir import atomic, layout
from kft.runtime import backend, process
from kft.version import __version__

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))  # the folder holding the kft package

# Format -> the artefact's name inside the output folder.
FORMATS = layout.EXPORT_ARTEFACTS
ON_TENSORFLOW = ("saved_model", "onnx")


def export(run_dir, format, out=None, overwrite=False):
    """Exports `run_dir/model.keras` to folder `out`, atomically.

    Args:
        run_dir: str. A finished run directory.
        format: str. `keras`, `saved_model` or `onnx`.
        out: str or None. The folder to write; default
            `RUN_DIR/export-FORMAT`.
        overwrite: bool. Replace an existing `out`.

    Returns:
        The folder written: the artefact (`model.keras`, `saved_model/` or
        `model.onnx`) and `export.json`.

    Example:

    ```python
    export("runs/mrpc1", "onnx", out="serving/mrpc")
    ```
    """
    if format not in FORMATS:
        raise KftError(f"unknown format {format!r}; use one of "
                       + ", ".join(FORMATS))
    record = rundir.read_run(run_dir, need=(rundir.CONFIG, rundir.MODEL))
    note = rundir.unfinished(run_dir, record)
    if note:
        warn(note)
    out = os.path.abspath(
        out or os.path.join(run_dir, layout.export_folder(format)))
    if os.path.exists(out) and not overwrite:
        raise KftError(f"--out {out} already exists; choose another --out "
                       "or pass --overwrite")
    rundir.check_writable(out)
    if format == "onnx":
        _check_onnx_packages()
    if format in ON_TENSORFLOW and backend.current() != "tensorflow":
        return _on_tensorflow(run_dir, format, out, overwrite)
    model = training.load_model(run_dir)
    with atomic.folder(out, overwrite=True) as temporary:
        path = os.path.join(temporary, FORMATS[format])
        if format == "keras":
            model.save(path)
        else:
            fmt = "tf_saved_model" if format == "saved_model" else format
            # The model's own input structure: a loaded model was never
            # called, which Keras's onnx export asks for otherwise.
            model.export(path, format=fmt, verbose=False,
                         input_signature=[model.input])
        rundir.write_json(os.path.join(temporary, layout.EXPORT_MANIFEST),
                          describe(model, format, path, run_dir, record))
    return out


def _check_onnx_packages():
    import importlib.util

    missing = [name for name in ("onnx", "tf2onnx")
               if importlib.util.find_spec(name) is None]
    if missing:
        raise KftError(
            f"--format onnx needs the {' and '.join(missing)} package(s), "
            "a development extra of kft: pip install -e '.[dev]' (or pip "
            "install onnx tf2onnx onnxruntime)")


def _on_tensorflow(run_dir, format, out, overwrite):
    """Runs `kft export` on TensorFlow in a subprocess, with this kft."""
    env = dict(os.environ, KERAS_BACKEND="tensorflow",
               TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join(
                   [ROOT, *filter(None, [os.environ.get("PYTHONPATH")])]))
    command = [sys.executable, "-m", "kft", "export", run_dir, "--format",
               format, "--out", out, "--backend", "tensorflow"]
    done = process.run(command + (["--overwrite"] if overwrite else []),
                       env=env, stdout=subprocess.DEVNULL, tail=None)
    if done.code != EXIT_OK:
        if done.kft_error is not None:
            raise KftError(done.kft_error)
        stderr = "\n".join(done.tail)
        raise RuntimeError(f"kft export on tensorflow failed (exit "
                           f"{done.code}):\n{stderr[-3000:]}")
    return out


def describe(model, format, path, run_dir, record):
    """The `export.json` of an artefact: what it takes and returns."""
    inputs = record.get("inputs") or {}
    manifest = {
        "format": format, "artefact": FORMATS[format],
        "run_dir": os.path.abspath(run_dir), "recipe": record["recipe"],
        "kind": inputs.get("kind"), "class_names": inputs.get("class_names"),
        "exported_on": backend.current(), "kft_version": __version__}
    if format == "keras":
        manifest["takes"] = ("raw inputs, as model.predict on the run's "
                             "model: the task includes its preprocessor")
        manifest["returns"] = "logits, shape (batch, classes)"
        return manifest
    signature = _onnx_signature if format == "onnx" else _tf_signature
    manifest["inputs"], manifest["outputs"] = signature(path)
    manifest["takes"] = _preprocessing(model, inputs)
    manifest["returns"] = ("logits, shape (batch, classes); softmax over "
                           "the last axis gives class_names' probabilities")
    return manifest


def _preprocessing(model, inputs):
    preprocessor = model.preprocessor
    if inputs.get("kind") == "image":
        import numpy as np

        converter = preprocessor.image_converter
        return {
            "what": "images, NHWC float32: RGB pixels in 0..255, resized "
                    "(shorter side to size*256/224) and center-cropped to "
                    "image_size, then pixel * scale + offset per channel",
            "image_size": inputs.get("image_size"),
            "scale": np.asarray(converter.scale, "float64").tolist(),
            "offset": np.asarray(converter.offset, "float64").tolist()}
    return {
        "what": "the run's preprocessor output: token ids, segment ids "
                "and padding mask (1 = token), any length up to "
                "sequence_length; kft.load_model(RUN_DIR).preprocessor("
                "x=X) makes them from X = a numpy array of sentences, or a "
                "tuple (sentence1s, sentence2s) of them for pairs",
        "sequence_length": getattr(preprocessor, "sequence_length", None),
        "tokenizer": type(preprocessor.tokenizer).__name__}


def _tf_signature(path):
    import tensorflow as tf

    serve = tf.saved_model.load(path).signatures["serving_default"]
    return ([_spec(k, v.dtype.name, v.shape.as_list()) for k, v in
             sorted(serve.structured_input_signature[1].items())],
            [_spec(k, v.dtype.name, v.shape.as_list()) for k, v in
             sorted(serve.structured_outputs.items())])


def _onnx_signature(path):
    import onnx

    graph = onnx.load(path).graph

    def specs(values):
        out = []
        for value in values:
            tensor = value.type.tensor_type
            dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
            out.append(_spec(value.name, dtype.name, [
                d.dim_value if d.HasField("dim_value") else None
                for d in tensor.shape.dim]))
        return out

    return specs(graph.input), specs(graph.output)


def _spec(name, dtype, shape):
    return {"name": name, "dtype": dtype, "shape": shape}
