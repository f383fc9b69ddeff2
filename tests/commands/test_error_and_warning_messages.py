"""What kft says to a hostile but fair user (issue 19): bad files and
values get one `kft: error:` line naming them (exit 2), warnings read as
`kft: warning:` lines, and the commands say what they are really doing."""

import codecs
import json
import os
import shutil
import stat
import subprocess
import sys

import pytest
from support import ROOT, run_kft

import kft
from kft import KftError, rundir
from kft.commands.cli import main
from kft.errors import EXIT_BAD_INPUT, EXIT_OK, KftWarning
from kft.model.presets import check
from kft.training import resume

MRPC = str(ROOT / "recipes" / "mrpc.py")
HOTDOG = str(ROOT / "recipes" / "hotdog.py")


def _one_error_line(done, *words):
    assert done.returncode == EXIT_BAD_INPUT, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("kft: error: "), errors
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


@pytest.fixture
def utf16_pairs(mrpc_dir, tmp_path):
    """MRPC-format data whose train.tsv is UTF-16 with a BOM, as a
    spreadsheet's "Unicode text" export writes it."""
    folder = tmp_path / "utf16"
    folder.mkdir()
    text = open(os.path.join(mrpc_dir, "train.tsv"), encoding="utf-8").read()
    (folder / "train.tsv").write_bytes(codecs.BOM_UTF16_LE
                                       + text.encode("utf-16-le"))
    shutil.copy(os.path.join(mrpc_dir, "validation.tsv"), folder)
    return folder


def test_a_utf16_tsv_reads_as_its_utf8_original(utf16_pairs, mrpc_dir):
    mine = kft.data.glue("mrpc", data_dir=str(utf16_pairs)).train
    theirs = kft.data.glue("mrpc", data_dir=mrpc_dir).train
    assert [list(a) for a in mine.x] == [list(a) for a in theirs.x]
    assert list(mine.y) == list(theirs.y)


@pytest.mark.integration
@pytest.mark.backend_free  # read before any model: a data error
def test_binary_data_is_one_line_naming_the_file(utf16_pairs, tiny_bert,
                                                 tmp_path):
    (utf16_pairs / "train.tsv").write_bytes(bytes(range(256)) * 8)
    done = run_kft("run", MRPC, "--smoke", f"preset={tiny_bert}",
                   f"data_dir={utf16_pairs}",
                   f"output_dir={tmp_path / 'run'}")
    _one_error_line(done, f"{utf16_pairs / 'train.tsv'}:2: not UTF-8 text",
                    "save the file as UTF-8")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", ["config.json", "metadata.json"])
def test_a_truncated_preset_json_is_named(tiny_bert, tmp_path, name):
    broken = tmp_path / "preset"
    shutil.copytree(tiny_bert, broken)
    text = (broken / name).read_text()
    (broken / name).write_text(text[:200 if len(text) > 200 else 10])
    with pytest.raises(KftError, match=f"{broken / name} is not valid JSON"):
        check(str(broken))


@pytest.mark.integration
@pytest.mark.backend_free  # checked before keras loads the preset
def test_a_truncated_preset_fails_the_run_in_one_line(tiny_bert, mrpc_dir,
                                                      tmp_path):
    broken = tmp_path / "preset"
    shutil.copytree(tiny_bert, broken)
    (broken / "config.json").write_text(
        (broken / "config.json").read_text()[:200])
    done = run_kft("run", MRPC, "--smoke", f"preset={broken}",
                   f"data_dir={mrpc_dir}", f"output_dir={tmp_path / 'run'}")
    _one_error_line(done, f"{broken / 'config.json'} is not valid JSON")


def test_a_damaged_run_json_is_named(tiny_mrpc_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_mrpc_run.run_dir, run)
    (run / "config.json").write_text('{"recipe": "mrpc", "con')
    assert main(argv=["eval", str(run)]) == EXIT_BAD_INPUT
    assert f"{run / 'config.json'} is not readable JSON" in (
        capsys.readouterr().err)
    (run / "config.json").write_text(
        open(os.path.join(tiny_mrpc_run.run_dir, "config.json")).read())
    (run / "metrics.json").unlink()
    (run / "env.json").write_text("{")
    with pytest.raises(KftError, match=f"{run / 'env.json'} is not "
                       "readable JSON .*give --backend"):
        resume.run_backend(str(run))


@pytest.fixture
def unfinished(tiny_mrpc_run, tmp_path):
    """The tiny MRPC run as if killed after its 2 epochs: no
    metrics.json."""
    run = tmp_path / "unfinished"
    shutil.copytree(tiny_mrpc_run.run_dir, run)
    (run / "metrics.json").unlink()
    return run


def test_eval_predict_export_warn_about_an_unfinished_run(unfinished,
                                                          tmp_path):
    from kft.evaluation import evaluate, export, predict

    history = (unfinished / "history.csv").read_text().splitlines()
    words = (f"{unfinished} is an unfinished run (no metrics.json): its "
             "model.keras is from epoch ")
    for call in (lambda: evaluate.evaluate(str(unfinished), limit=4),
                 lambda: predict.run(str(unfinished), ["a", "b"]),
                 lambda: export.export(str(unfinished), "keras",
                                       str(tmp_path / "out"))):
        with pytest.warns(KftWarning, match="unfinished run") as seen:
            call()
        message = str(seen[0].message)
        assert message.startswith(words) and f"of the {len(history) - 1} " \
            "done (val_accuracy" in message, message
        assert f"finish it with `kft resume {unfinished}`" in message


def test_export_folders_get_the_run_directory_s_modes(tiny_mrpc_run,
                                                      tmp_path):
    from kft.evaluation.export import export

    out = export(tiny_mrpc_run.run_dir, "keras", str(tmp_path / "out"))
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o777 & ~umask
    made = tmp_path / "made"
    made.mkdir()
    assert stat.S_IMODE(os.stat(made).st_mode) == stat.S_IMODE(
        os.stat(out).st_mode)


def test_resume_says_which_recipe_it_imports_and_refuses_strangers(
        tiny_mrpc_run, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_mrpc_run.run_dir, run)
    (run / "metrics.json").unlink()
    stranger = tmp_path / "elsewhere" / "mrpc.py"
    stranger.parent.mkdir()
    shutil.copy(MRPC, stranger)
    record = rundir.read_json(str(run / "config.json"))
    monkeypatch.chdir(ROOT)
    resume.recipe_of(str(run))  # recipes/mrpc.py is inside the folder
    assert f"importing recipe {MRPC} (named in {run / 'config.json'})" in (
        capsys.readouterr().err)
    for source, where in ((stranger, "outside the current folder"),
                          (run / "mrpc.py", "inside the run directory")):
        shutil.copy(MRPC, run / "mrpc.py")
        rundir.write_json(str(run / "config.json"),
                          dict(record, recipe_source=str(source)))
        with pytest.raises(KftError, match=f"names recipe file {source}, "
                           f"{where}.*--trust-recipe"):
            resume.recipe_of(str(run))
    assert resume.recipe_of(str(run), trust=True).name == "mrpc"


SHOW_LOADS_NO_BACKEND = """
import contextlib, io, json, sys
from kft.commands.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    assert main(argv=["show", "recipes/mrpc.py"]) == 0
assert json.loads(out.getvalue())["recipe"] == "mrpc"
loaded = sorted(m for m in ("keras", "tensorflow", "torch", "jax")
                if m in sys.modules)
assert not loaded, loaded
"""


@pytest.mark.backend_free
def test_show_loads_no_backend_when_none_is_chosen():
    # KERAS_BACKEND unset: Keras would pick (and import) its default.
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    done = subprocess.run([sys.executable, "-c", SHOW_LOADS_NO_BACKEND],
                          env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == EXIT_OK, done.stderr[-2000:]


@pytest.mark.backend_free
def test_show_needs_no_backend_and_takes_one():
    code = ("import sys\nfrom kft.commands.cli import main\n"
            "assert main(argv=['show', 'recipes/mrpc.py', '--backend', 'jax', "
            "'epochs=2']) == 0\n"
            "print('HEAVY', sorted(m for m in ('keras', 'tensorflow', "
            "'torch', 'jax') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == EXIT_OK, done.stderr
    config = json.loads(done.stdout.split("HEAVY")[0])["config"]
    assert config["epochs"] == 2
    assert done.stdout.split("HEAVY")[1].strip() == "[]"


def test_resuming_a_run_whose_training_is_done_says_so():
    said = resume.position_message("runs/a", {"position": [3, 0]}, 3)
    assert said == ("resuming runs/a: its training is complete (all 3 "
                    "epochs are done); finishing it: evaluating the best "
                    "model and writing metrics.json")
    stopped = resume.position_message(
        "runs/a", {"position": [2, 0], "stopped": True}, 5)
    assert "complete (early stopping ended it)" in stopped
    assert resume.position_message("runs/a", {"position": [1, 2]}, 3) == (
        "resuming runs/a from its backup: epoch 2, after step 2")


@pytest.mark.integration
@pytest.mark.backend_free  # images are decoded by tf.data on every backend
def test_data_warnings_read_as_kft_messages(hotdog_photos, tiny_resnet,
                                            tmp_path):
    photos = tmp_path / "photos"
    shutil.copytree(hotdog_photos, photos)
    broken = photos / "train" / "hotdog" / "broken.jpg"
    broken.write_bytes(b"not a photo")
    done = run_kft("run", HOTDOG, "--smoke", f"preset={tiny_resnet}",
                   f"data_dir={photos}", "image_size=32", "verbose=0",
                   f"output_dir={tmp_path / 'run'}")
    assert done.returncode == EXIT_OK, done.stderr[-3000:]
    assert (f"kft: warning: skipped 1 unreadable image(s) under {photos}: "
            f"{broken}; remove them, or set strict=true") in done.stderr
    assert "hotdog.py:" not in done.stderr and "Warning:" not in done.stderr
