import json
import os
import re

import pytest

from kft import KftError, rundir
from kft.errors import EXIT_BAD_INPUT
from kft.training.record import config_record
from kft.training.saving import load_model


def test_write_json_is_atomic_and_leaves_no_partial(tmp_path):
    path = str(tmp_path / "metrics.json")
    rundir.write_json(path, {"accuracy": 0.5})
    rundir.write_json(path, {"accuracy": 0.75})
    assert json.loads(open(path).read()) == {"accuracy": 0.75}
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_a_finished_run_is_never_overwritten(tmp_path):
    (tmp_path / rundir.CONFIG).write_text("{}")
    (tmp_path / rundir.METRICS).write_text("{}")
    with pytest.raises(KftError, match="already holds a finished run"):
        rundir.prepare(str(tmp_path))


def test_a_foreign_folder_is_refused(tmp_path):
    (tmp_path / "thesis.tex").write_text("x")
    with pytest.raises(KftError, match="not a kft run directory"):
        rundir.prepare(str(tmp_path))


def test_an_unfinished_run_starts_again(tmp_path):
    (tmp_path / rundir.CONFIG).write_text("{}")
    (tmp_path / rundir.HISTORY).write_text("epoch\n0\n")
    rundir.prepare(str(tmp_path))
    assert not (tmp_path / rundir.HISTORY).exists()


def test_unwritable_output_dir_fails_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(KftError, match="is a file"):
        rundir.prepare(str(blocker))
    with pytest.raises(KftError, match="not writable"):
        rundir.prepare(str(blocker / "sub"))


def test_load_model_names_a_missing_model(tmp_path):
    with pytest.raises(KftError, match="model.keras does not exist"):
        load_model(str(tmp_path))


def test_check_writable_creates_nothing_and_names_the_blocker(tmp_path):
    rundir.check_writable(str(tmp_path / "new" / "run"))
    assert not (tmp_path / "new").exists()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(KftError, match="file, not a folder"):
        rundir.check_writable(str(blocker / "run"))


def test_config_record_stores_absolute_paths(tmp_path, monkeypatch):
    from recipes import mrpc

    monkeypatch.chdir(tmp_path)
    recipe = mrpc.recipe().replace(data_dir="data", output_dir="out")
    config = config_record(recipe)["config"]
    assert config["data_dir"] == str(tmp_path / "data")
    assert config["output_dir"] == str(tmp_path / "out")
    assert config["preset"] == "bert_base_en_uncased"  # a name stays a name


def test_inputs_record_says_what_the_model_takes(mrpc_dir, sst2_dir,
                                                 hotdog_dir):
    from kft.data import glue, image_folder

    pair = rundir.inputs_record(glue("mrpc", data_dir=mrpc_dir, limit=4))
    single = rundir.inputs_record(glue("sst2", data_dir=sst2_dir, limit=4))
    images = rundir.inputs_record(image_folder(hotdog_dir, limit=4,
                                               image_size=64))
    # the columns to read the files again with (`kft eval`, `kft predict`)
    assert pair == {"kind": "text_pair", "class_names": ["0", "1"],
                    "text_columns": ["sentence1", "sentence2"],
                    "label_column": "label"}
    assert single == {"kind": "text", "class_names": ["0", "1"],
                      "text_columns": ["sentence"], "label_column": "label"}
    assert images == {"kind": "image", "class_names": ["hotdog",
                                                       "not-hotdog"],
                      "image_size": 64}


def _record(folder, **fields):
    os.makedirs(folder, exist_ok=True)
    record = {"kft_version": "0.1.0", "run_format": rundir.RUN_FORMAT,
              "recipe": "mrpc", "config": {}}
    record.update(fields)
    rundir.write_json(os.path.join(folder, rundir.CONFIG), record)
    return str(folder)


def test_read_run_returns_the_record(tmp_path):
    folder = _record(tmp_path / "run")
    assert rundir.read_run(folder, recipe="mrpc")["recipe"] == "mrpc"


@pytest.mark.parametrize("fields, recipe, words", [
    ({"run_format": 2, "kft_version": "9.0"}, None,
     "written by kft 9.0 (run format 2); this kft 0.1.0 reads run format 1"),
    ({}, "sst2", "is a run of recipe 'mrpc', not 'sst2'"),
    ({}, None, None),
])
def test_read_run_refuses_other_formats_and_recipes(tmp_path, fields,
                                                     recipe, words):
    folder = _record(tmp_path / "run", **fields)
    if words is None:  # a JSON object without a recipe is no kft record
        os.remove(os.path.join(folder, rundir.CONFIG))
        rundir.write_json(os.path.join(folder, rundir.CONFIG), [1, 2])
        words = "is not a kft config record"
    with pytest.raises(KftError, match=re.escape(words)):
        rundir.read_run(folder, recipe=recipe)


def test_read_run_names_a_missing_file(tmp_path):
    folder = _record(tmp_path / "run")
    with pytest.raises(KftError, match="model.keras does not exist"):
        rundir.read_run(folder, need=(rundir.CONFIG, rundir.MODEL))


@pytest.fixture
def lambda_run(tiny_mrpc_run, tmp_path):
    """A copy of a real run whose model.keras holds a Lambda layer, whose
    code would create the file `marker` if it ever ran: `(run, marker)`."""
    import shutil

    import keras

    marker = tmp_path / "code-ran"
    run = tmp_path / "run"
    shutil.copytree(tiny_mrpc_run.run_dir, run)
    inputs = keras.Input((2,))
    code = eval(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]")
    model = keras.Model(inputs, keras.layers.Lambda(code)(inputs))
    os.remove(run / rundir.MODEL)
    model.save(run / rundir.MODEL)
    marker.unlink()  # building the model ran it once
    # The file really is dangerous: loaded unsafely, its code runs.
    keras.saving.load_model(run / rundir.MODEL, safe_mode=False)
    assert marker.exists()
    marker.unlink()
    return str(run), marker


@pytest.mark.parametrize("command", [
    ["predict", "He left .", "He went away ."],
    ["eval"],
    ["export", "--format", "keras"],
    ["export", "--format", "saved_model"],  # on tensorflow
])
def test_a_model_with_python_code_is_refused(lambda_run, capsys, command):
    from kft.commands.cli import main

    run, marker = lambda_run
    before = sorted(os.listdir(run))
    assert main(argv=[command[0], run, *command[1:]]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1, err
    path = os.path.join(run, rundir.MODEL)
    assert err[0].startswith(
        f"kft: error: refused to load {path}: it holds Python code, which "
        "Keras safe mode does not run (Requested the deserialization of a "
        "`Lambda` layer")
    assert "use a run directory you trust" in err[0]
    assert captured.out == ""
    assert not marker.exists()
    assert sorted(os.listdir(run)) == before


def test_a_file_that_is_not_a_model_is_named(tmp_path):
    (tmp_path / rundir.MODEL).write_bytes(b"not a zip")
    with pytest.raises(KftError, match=r"model.keras is not a Keras model "
                                       "kft can load"):
        load_model(str(tmp_path))
