"""kft/training/resume.py: a killed run goes on; a mismatched one is refused."""

import dataclasses
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from support import ROOT, file_exists, kill_when

import kft
from kft import rundir
from kft.commands.cli import main
from kft.errors import EXIT_BAD_INPUT, EXIT_OK
from kft.training import checkpoint, resume
from kft.training.record import config_record

MRPC = str(ROOT / "recipes" / "mrpc.py")
SST2 = str(ROOT / "recipes" / "sst2.py")
# 32 rows, batch 8: 4 steps an epoch, 8 in all; a backup every 2 steps.
SETTINGS = {"limit": 32, "batch_size": 8, "epochs": 2, "learning_rate": 1e-3,
            "sequence_length": 32, "monitor": "val_loss",
            "backup_every_steps": 2, "verbose": 0}


def _args(tiny_bert, mrpc_dir, out, **changes):
    values = dict(SETTINGS, preset=tiny_bert, data_dir=mrpc_dir,
                  output_dir=str(out), **changes)
    return [f"{k}={v}" for k, v in values.items()]


def _kill_after_first_backup(args, backend):
    """Starts `kft run`, SIGKILLs it once its first backup exists."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    out = next(a for a in args if a.startswith("output_dir="))[11:]
    process = subprocess.Popen([sys.executable, "-m", "kft", "run", MRPC,
                                *args], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    kill_when(process, file_exists(checkpoint.path_in(out)))
    process.communicate()
    assert process.returncode == -signal.SIGKILL


@pytest.mark.backend_free  # resuming is exact on every backend: test_backup
def test_a_killed_run_resumes_to_the_same_weights_and_metrics(
        tiny_bert, mrpc_dir, backend, tmp_path, capsys):
    """SIGKILL in the middle of epoch 1, then `kft resume`: the result is
    the uninterrupted run's, bit for bit.

    Tolerance: none (exact equality). On CPU each backend computes the
    same steps in the same order from the same state (weights, optimizer
    moments and step count, dropout generators, data order, metric totals
    all restored), so even float32 round-off repeats. Measured: equal on
    torch, jax and tensorflow. The suite kills a child in its first pass
    only; `test_backup` resumes from every backup, in-process, on every
    backend. The tiny BERT has dropout 0.1, so a dropout generator that
    was not restored would show.
    """
    from recipes import mrpc

    reference = kft.train(mrpc.recipe().replace(**dict(
        SETTINGS, preset=tiny_bert, data_dir=mrpc_dir,
        output_dir=str(tmp_path / "reference"))))
    killed = tmp_path / "killed"
    _kill_after_first_backup(_args(tiny_bert, mrpc_dir, killed), backend)
    assert not (killed / rundir.METRICS).exists()
    epoch, step = checkpoint.load(str(killed))[0]["position"]
    assert epoch < 2 and 0 < step < 4, (epoch, step)  # mid-epoch

    assert main(argv=["resume", str(killed), "verbose=2"]) == EXIT_OK
    said = capsys.readouterr()
    assert f"resuming {killed} from its backup: epoch {epoch + 1}, after " \
           f"step {step}" in said.err
    mine = rundir.read_json(str(killed / rundir.METRICS))
    theirs = rundir.read_json(str(tmp_path / "reference" / rundir.METRICS))
    for key in ("accuracy", "f1", "auc", "loss", "best_epoch", "epochs_run"):
        assert mine[key] == theirs[key], key
    assert mine["resumed"] == [{"epoch": epoch + 1, "step": step}]
    assert (killed / rundir.HISTORY).read_text() == (
        tmp_path / "reference" / rundir.HISTORY).read_text()
    weights = kft.load_model(str(killed)).get_weights()
    for mine, theirs in zip(weights, reference.model.get_weights(),
                            strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert not os.path.exists(checkpoint.path_in(str(killed)))
    assert not [n for n in os.listdir(killed) if "partial" in n]


def _unfinished(folder, recipe, backend=None, **fields):
    """A run directory as a run killed before its first epoch leaves it."""
    os.makedirs(folder, exist_ok=True)
    record = dict(config_record(recipe), **fields)
    rundir.write_json(str(folder / rundir.CONFIG), record)
    if backend:
        rundir.write_json(str(folder / rundir.ENV), {"backend": backend})
    return folder


@pytest.fixture
def mrpc_recipe(tiny_bert, mrpc_dir, tmp_path):
    from recipes import mrpc

    return mrpc.recipe().replace(**dict(
        SETTINGS, preset=tiny_bert, data_dir=mrpc_dir,
        output_dir=str(tmp_path / "run")))


def _fails(argv, capsys, *words):
    assert main(argv=argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kft: error: "), err
    for word in words:
        assert word in err[0]
    return err[0]


def test_a_run_of_another_recipe_is_refused_through_the_cli(
        mrpc_recipe, tiny_bert, sst2_dir, tmp_path, capsys):
    run = _unfinished(tmp_path / "run", mrpc_recipe)
    _fails(["run", SST2, f"preset={tiny_bert}", f"data_dir={sst2_dir}",
            f"output_dir={run}"], capsys,
           f"{run} is a run of recipe 'mrpc', not 'sst2'")
    assert sorted(os.listdir(run)) == [rundir.CONFIG]


def test_a_run_of_another_kft_run_format_is_refused_through_the_cli(
        mrpc_recipe, tmp_path, capsys):
    run = _unfinished(tmp_path / "run", mrpc_recipe, run_format=2,
                      kft_version="9.0")
    for argv in (["resume", str(run)],
                 ["run", MRPC, *_args(mrpc_recipe.config.preset,
                                      mrpc_recipe.config.data_dir, run)]):
        _fails(argv, capsys, "written by kft 9.0 (run format 2); this kft "
               "0.1.0 reads run format 1")


def test_other_settings_or_backend_are_refused_and_verbose_is_free(
        mrpc_recipe, tiny_bert, mrpc_dir, backend, tmp_path, capsys):
    run = _unfinished(tmp_path / "run", mrpc_recipe, backend=backend)
    args = _args(tiny_bert, mrpc_dir, run)
    changed = _args(tiny_bert, mrpc_dir, run, learning_rate=0.5, seed=1)
    _fails(["run", MRPC, *changed], capsys,
           f"{run} holds an unfinished run with other settings: "
           "learning_rate=0.001 in the run, 0.5 now; seed=0 in the run, 1 "
           "now", f"kft resume {run}")
    other = "jax" if backend != "jax" else "torch"
    _unfinished(run, mrpc_recipe, backend=other)
    _fails(["run", MRPC, *args], capsys,
           f"{run} was trained on {other}, not {backend}: resume it with "
           f"--backend {other}")
    _unfinished(run, mrpc_recipe, backend=backend)
    changed = mrpc_recipe.replace(verbose=2, backup_every_steps=3)
    assert resume.find(str(run), changed) is None  # no backup: start again
    assert "without a backup; starting it again" in capsys.readouterr().err


def test_a_damaged_backup_is_ignored_with_a_warning(mrpc_recipe, tmp_path,
                                                    capsys):
    run = _unfinished(tmp_path / "run", mrpc_recipe)
    checkpoint.save(str(run), {"position": [1, 2], "steps": 4},
                    {"model": [np.arange(100, dtype="float32")]})
    assert resume.find(str(run), mrpc_recipe)[0]["position"] == [1, 2]
    data = bytearray(open(checkpoint.path_in(str(run)), "rb").read())
    open(checkpoint.path_in(str(run)), "wb").write(bytes(data[:-200]))
    with pytest.warns(UserWarning, match=r"ignoring the damaged backup .*"
                      r"backup.npz \(BadZipFile"):
        assert resume.find(str(run), mrpc_recipe) is None


def test_kft_resume_explains_what_it_cannot_resume(mrpc_recipe, tmp_path,
                                                   capsys):
    _fails(["resume", str(tmp_path / "nothing")], capsys,
           "is not a folder; give a run directory written by `kft run`")
    run = _unfinished(tmp_path / "old", mrpc_recipe, recipe_source=None)
    _fails(["resume", str(run)], capsys, "does not name its recipe file; "
           f"resume with `kft run RECIPE output_dir={run}`")
    done = _unfinished(tmp_path / "done", mrpc_recipe)
    rundir.write_json(str(done / rundir.METRICS), {"accuracy": 1.0})
    _fails(["resume", str(done)], capsys, "holds a finished run")
    _fails(["run", MRPC, *_args(mrpc_recipe.config.preset,
                                mrpc_recipe.config.data_dir, done)],
           capsys, "already holds a finished run")


def test_config_json_names_the_recipe_file_for_kft_resume(mrpc_recipe,
                                                          tmp_path):
    from kft.config import loader

    recipe = loader.load(MRPC)
    assert recipe.source == MRPC
    assert config_record(recipe)["recipe_source"] == MRPC
    assert config_record(mrpc_recipe)["recipe_source"] == MRPC
    run = _unfinished(tmp_path / "run", recipe.replace(
        **dataclasses.asdict(mrpc_recipe.config)))
    again = resume.recipe_of(str(run), {"verbose": "2"})
    assert again.config.verbose == 2 and again.name == "mrpc"
    assert again.config.output_dir == str(run)
    assert again.config.learning_rate == mrpc_recipe.config.learning_rate
