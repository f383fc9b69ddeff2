"""kft/evaluation/export.py and `kft export`: keras, saved_model and onnx
artefacts of tiny finished runs reproduce the run model's outputs.

saved_model and onnx are traced on TensorFlow: in this process in the
tensorflow pass, and in a TensorFlow child in the torch pass (the jax pass
would start the same child again, so it leaves these tests out); the
artefacts are read back here. Tolerance: 1e-5 on logits.
"""

import os

import numpy as np
import pytest

from kft import KftError, rundir
from kft.commands.cli import main
from kft.errors import EXIT_BAD_INPUT, EXIT_OK
from kft.evaluation.export import export
from kft.training.saving import load_model

# saved_model and onnx: in-process on tensorflow, through the child on torch.
TRACED = pytest.mark.one_backend("tensorflow", "torch")

SENTENCES = (["He left the house .", "Shares rose 5 percent on Monday ."],
             ["He went away .", "The stock was up 5 percent ."])


class _Exports(dict):
    """format -> folder, each format exported on first use."""

    def __init__(self, run, root):
        super().__init__()
        self.run, self.root = run, root

    def __missing__(self, format):
        self[format] = export(self.run, format, out=str(self.root / format))
        return self[format]


@pytest.fixture(scope="module")
def exported(tiny_mrpc_run, tmp_path_factory):
    """The tiny MRPC run exported once in each format a test asks for."""
    return _Exports(tiny_mrpc_run.run_dir, tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="module")
def reference(tiny_mrpc_run):
    """The run model, its preprocessed inputs (numpy) and logits."""
    import keras

    model = load_model(tiny_mrpc_run.run_dir)
    x = model.preprocessor(x=tuple(np.array(s) for s in SENTENCES))
    logits = keras.ops.convert_to_numpy(model(x))
    x = {k: keras.ops.convert_to_numpy(v) for k, v in x.items()}
    return model, x, logits


def manifest(folder):
    return rundir.read_json(os.path.join(folder, "export.json"))


def test_keras_reloads_in_safe_mode_with_the_same_predictions(
        exported, tiny_mrpc_run):
    import keras
    import keras_hub  # noqa: F401

    path = os.path.join(exported["keras"], "model.keras")
    reloaded = keras.saving.load_model(path, safe_mode=True, compile=False)
    run_model = load_model(tiny_mrpc_run.run_dir)
    x = tuple(np.array(s) for s in SENTENCES)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0),
                               run_model.predict(x, verbose=0), atol=1e-6)
    assert sorted(os.listdir(exported["keras"])) == ["export.json",
                                                      "model.keras"]
    assert manifest(exported["keras"])["kind"] == "text_pair"


@TRACED
def test_saved_model_reproduces_the_run_model(exported, reference):
    import tensorflow as tf

    _, x, logits = reference
    loaded = tf.saved_model.load(os.path.join(exported["saved_model"],
                                              "saved_model"))
    serve = loaded.signatures["serving_default"]
    spec = manifest(exported["saved_model"])
    names = [i["name"] for i in spec["inputs"]]
    assert names == ["padding_mask", "segment_ids", "token_ids"]
    feed = {i["name"]: tf.constant(x[i["name"]], dtype=i["dtype"])
            for i in spec["inputs"]}
    (out,) = serve(**feed).values()
    np.testing.assert_allclose(out.numpy(), logits, atol=1e-5)
    assert spec["exported_on"] == "tensorflow"


@TRACED
def test_onnx_reproduces_the_run_model_at_any_length(exported, reference):
    import keras
    import onnxruntime

    model, x, logits = reference
    folder = exported["onnx"]
    session = onnxruntime.InferenceSession(os.path.join(folder, "model.onnx"))
    spec = manifest(folder)
    assert [i["name"] for i in spec["inputs"]] == [
        i.name for i in session.get_inputs()]
    assert spec["takes"]["sequence_length"] == 128
    assert spec["class_names"] == ["0", "1"]

    def run(inputs):
        feed = {i["name"]: inputs[i["name"]].astype(i["dtype"])
                for i in spec["inputs"]}
        return session.run(None, feed)[0]

    np.testing.assert_allclose(run(x), logits, atol=1e-5)
    length = int(x["padding_mask"].sum(axis=1).max()) + 3
    assert length < 128
    short = {k: v[:, :length] for k, v in x.items()}  # still all tokens
    short_logits = keras.ops.convert_to_numpy(model(short))
    np.testing.assert_allclose(run(short), short_logits, atol=1e-5)


@TRACED
def test_onnx_of_an_image_run_takes_normalised_crops(tiny_hotdog_run,
                                                     hotdog_dir, tmp_path):
    import onnxruntime

    from kft.data import Split
    from kft.data.images import find_images as _images

    run = tiny_hotdog_run.run_dir
    folder = export(run, "onnx", out=str(tmp_path / "onnx"))
    spec = manifest(folder)
    takes = spec["takes"]
    paths = _images(os.path.join(hotdog_dir, "train", "hotdog"))[:3]
    crops = Split(np.array(paths, dtype=object), np.zeros(3, "int32"),
                  image_size=takes["image_size"]).dataset(3)
    images = next(iter(crops))[0].numpy()
    expected = load_model(run).predict(images, verbose=0)
    normalised = images * np.array(takes["scale"], "float32") + np.array(
        takes["offset"], "float32")
    session = onnxruntime.InferenceSession(os.path.join(folder, "model.onnx"))
    (name,) = [i["name"] for i in spec["inputs"]]
    got = session.run(None, {name: normalised.astype("float32")})[0]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert spec["class_names"] == ["hotdog", "not-hotdog"]


def test_cli_writes_the_default_folder_and_refuses_to_overwrite(
        tiny_mrpc_run, tmp_path, capsys):
    import shutil

    run = str(tmp_path / "run")
    shutil.copytree(tiny_mrpc_run.run_dir, run)
    assert main(argv=["export", run, "--format", "keras"]) == EXIT_OK
    out = os.path.join(run, "export-keras")
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    stamp = os.path.getmtime(os.path.join(out, "model.keras"))
    assert main(argv=["export", run, "--format", "keras"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "export-keras already exists; choose another --out or pass " \
           "--overwrite" in err
    assert main(argv=["export", run, "--format", "keras",
                      "--overwrite"]) == EXIT_OK
    assert os.path.getmtime(os.path.join(out, "model.keras")) >= stamp
    assert not [n for n in os.listdir(run) if "partial" in n]


def test_onnx_without_its_packages_says_what_to_install(
        tiny_mrpc_run, tmp_path, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: (
        None if name == "tf2onnx" else find_spec(name, *a)))
    with pytest.raises(KftError, match=r"needs the tf2onnx package\(s\), a "
                       r"development extra of kft: pip install -e '\.\[dev"):
        export(tiny_mrpc_run.run_dir, "onnx", out=str(tmp_path / "x"))
    assert os.listdir(tmp_path) == []


def test_a_run_of_another_run_format_is_refused(tiny_mrpc_run, tmp_path,
                                                capsys):
    import shutil

    run = tmp_path / "old"
    shutil.copytree(tiny_mrpc_run.run_dir, run)
    record = rundir.read_json(str(run / "config.json"))
    rundir.write_json(str(run / "config.json"), dict(record, run_format=2))
    argv = ["export", str(run), "--format", "keras"]
    assert main(argv=argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip()
    assert err.startswith("kft: error: ") and "\n" not in err
    assert "(run format 2); this kft 0.1.0 reads run format 1" in err
    assert sorted(os.listdir(run)) == sorted(
        os.listdir(tiny_mrpc_run.run_dir))
