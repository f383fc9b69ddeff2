"""kft/commands/cli.py. Runs that pick a backend go through a subprocess."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from support import ROOT, next_backend, run_kft

from kft.commands.cli import main
from kft.errors import EXIT_BAD_INPUT, EXIT_OK

MRPC = str(ROOT / "recipes" / "mrpc.py")


def test_help_describes_every_command(capsys):
    assert main(argv=["--help"]) == EXIT_OK
    text = capsys.readouterr().out
    for command in ("run", "show", "preset"):
        assert command in text
    assert main(argv=["run", "--help"]) == EXIT_OK
    text = capsys.readouterr().out
    assert "--backend" in text and "--smoke" in text and "key=value" in text


def test_show_prints_the_resolved_config(capsys):
    argv = ["show", MRPC, "epochs=2", "learning_rate=3e-5"]
    assert main(argv=argv) == EXIT_OK
    shown = json.loads(capsys.readouterr().out)
    assert shown["recipe"] == "mrpc"
    assert shown["config"]["epochs"] == 2
    assert shown["config"]["learning_rate"] == 3e-5
    assert shown["config"]["preset"] == "bert_base_en_uncased"


def test_show_smoke_uses_the_override_path(capsys):
    assert main(argv=["show", MRPC, "--smoke", "epochs=2"]) == EXIT_OK
    config = json.loads(capsys.readouterr().out)["config"]
    assert (config["limit"], config["steps_per_epoch"]) == (16, 2)
    assert config["epochs"] == 2  # an explicit override beats --smoke


@pytest.mark.parametrize("args, words", [
    (["lr=1e-3"], "unknown key 'lr'; valid keys: augment, "
                  "backup_every_steps, batch_size"),
    (["epochs=two"], "epochs='two' is not a valid int"),
    (["preset=/no/such/preset", "limit=2"], "no such folder"),
    (["data_dir=/no/such/data"], "'/no/such/data' is not a folder"),
    (["learning_rate=nan"], "learning_rate='nan' is not a finite number"),
    (["learning_rate=inf"], "learning_rate='inf' is not a finite number"),
])
def test_bad_input_exits_2_with_one_line_and_no_run_dir(
        capsys, tmp_path, args, words, tiny_bert, mrpc_dir):
    out = tmp_path / "run"
    argv = ["run", MRPC, f"output_dir={out}", *args]
    for key, value in (("preset", tiny_bert), ("data_dir", mrpc_dir)):
        if not any(a.startswith(key + "=") for a in args):
            argv.append(f"{key}={value}")
    assert main(argv=argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kft: error: ")
    assert words in err[0]
    assert not out.exists()


def test_missing_recipe_file_exits_2(capsys):
    assert main(argv=["run", "recipes/nope.py"]) == EXIT_BAD_INPUT
    assert "recipes/nope.py' does not exist" in capsys.readouterr().err


def test_unknown_backend_exits_2(capsys):
    assert main(argv=["run", MRPC, "--backend", "pytorch"]) == EXIT_BAD_INPUT
    assert "'pytorch' is not one of 'torch', 'jax', 'tensorflow'" in (
        capsys.readouterr().err)


@pytest.fixture(scope="module")
def smoke_run(tiny_bert, mrpc_dir, backend, tmp_path_factory):
    """`kft run recipes/mrpc.py --backend B --smoke ...` as a user types it."""
    out = tmp_path_factory.mktemp("cli") / "smoke"
    done = run_kft("run", MRPC, "--backend", backend, "--smoke",
                   f"preset={tiny_bert}", f"data_dir={mrpc_dir}",
                   f"output_dir={out}", "verbose=0")
    assert done.returncode == EXIT_OK, done.stderr[-3000:]
    return out, json.loads(done.stdout.strip().splitlines()[-1])


def test_smoke_run_writes_a_complete_run_directory(smoke_run, backend):
    out, printed = smoke_run
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("accuracy", "f1", "auc", "loss"):
        assert np.isfinite(metrics[key]) and metrics[key] == printed[key]
    assert metrics["train_examples"] == 16
    env = json.loads((out / "env.json").read_text())
    assert env["backend"] == backend
    assert (out / "model.keras").stat().st_size > 0


PREDICT = """
import sys, numpy as np, kft
run, mrpc, out = sys.argv[1:]
pairs = kft.data.glue("mrpc", data_dir=mrpc, limit=8).validation.x
np.save(out, kft.load_model(run).predict(pairs, verbose=0))
"""


def test_saved_model_predicts_the_same_on_another_backend(
        smoke_run, mrpc_dir, backend, tmp_path):

    import kft

    out, _ = smoke_run
    path = str(tmp_path / "other.npy")
    env = dict(os.environ, KERAS_BACKEND=next_backend(backend),
               TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, "-c", PREDICT, str(out), mrpc_dir, path],
        env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == EXIT_OK, done.stderr[-3000:]
    pairs = kft.data.glue("mrpc", data_dir=mrpc_dir, limit=8).validation.x
    here = kft.load_model(str(out)).predict(pairs, verbose=0)
    np.testing.assert_allclose(np.load(path), here, atol=1e-4)
