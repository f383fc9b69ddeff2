"""kft/training/interrupt.py: SIGTERM and SIGINT stop a run after a step,
with a step-exact backup; `kft resume` then gives the uninterrupted
result exactly, on every backend."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from support import ROOT, file_exists, kill_when

import kft
from kft import rundir
from kft.commands.cli import main
from kft.errors import EXIT_INTERRUPTED, EXIT_OK
from kft.training import checkpoint
from kft.training.interrupt import Interrupted, Signals

pytestmark = pytest.mark.integration

MRPC = str(ROOT / "recipes" / "mrpc.py")
# 64 rows, batch 8: 8 steps an epoch; the only backups are the epoch's
# and the one a signal asks for.
SETTINGS = {"limit": 64, "batch_size": 8, "epochs": 2, "learning_rate": 1e-3,
            "sequence_length": 32, "monitor": "val_loss", "verbose": 0}
SAID = re.compile(r"kft: interrupted at epoch (\d+), step (\d+); continue "
                  r"with: kft resume (\S+)")


@pytest.fixture(scope="module")
def reference(tiny_bert, mrpc_dir, tmp_path_factory):
    """The same run, never interrupted."""
    from recipes import mrpc

    out = tmp_path_factory.mktemp("reference") / "run"
    return kft.train(mrpc.recipe().replace(**dict(
        SETTINGS, preset=tiny_bert, data_dir=mrpc_dir, output_dir=str(out))))


def _args(tiny_bert, mrpc_dir, out):
    return ["run", MRPC, *(f"{k}={v}" for k, v in dict(
        SETTINGS, preset=tiny_bert, data_dir=mrpc_dir,
        output_dir=str(out)).items())]


def _signal_in_epoch_2(tiny_bert, mrpc_dir, out, backend, signals):
    """Starts `kft run` in a subprocess; once epoch 1's backup exists,
    sends `signals` (one or more, back to back). Returns (exit status,
    stderr). A second signal ends the process at once (`os._exit`), which
    only a child can show."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kft", *_args(tiny_bert, mrpc_dir, out)],
        cwd=ROOT, env=dict(os.environ, KERAS_BACKEND=backend),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    kill_when(process, file_exists(checkpoint.path_in(str(out))),
              number=signals[0], poll=0.002)
    for number in signals[1:]:
        os.kill(process.pid, number)
    _, err = process.communicate(timeout=600)
    return process.returncode, err


def _run_signalled_in_epoch_2(tiny_bert, mrpc_dir, out, number):
    """`kft run` in this process (`kft.main`); a watcher thread sends this
    process `number` once epoch 1's backup exists, as a scheduler would.
    Returns the exit status."""
    backup = checkpoint.path_in(str(out))
    done = threading.Event()

    def watch():
        while not (done.is_set() or os.path.exists(backup)):
            time.sleep(0.002)
        if not done.is_set():
            os.kill(os.getpid(), number)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        return main(argv=_args(tiny_bert, mrpc_dir, out))
    finally:
        done.set()
        watcher.join()


def _assert_same_run(out, reference):
    mine = rundir.read_json(str(out / rundir.METRICS))
    theirs = rundir.read_json(os.path.join(reference.run_dir,
                                           rundir.METRICS))
    for key in ("accuracy", "f1", "auc", "loss", "best_epoch", "epochs_run"):
        assert mine[key] == theirs[key], key
    assert (out / rundir.HISTORY).read_text() == open(os.path.join(
        reference.run_dir, rundir.HISTORY)).read()
    weights = kft.load_model(str(out)).get_weights()
    for a, b in zip(weights, reference.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_epoch_backs_up_the_step_and_resumes_exactly(
        number, tiny_bert, mrpc_dir, backend, reference, tmp_path, capsys):
    """Tolerance: none. The backup holds the state after the last whole
    step, and a resumed run repeats the remaining float32 operations in
    the same order (as `test_resume` shows for SIGKILL)."""
    out = tmp_path / "run"
    code = _run_signalled_in_epoch_2(tiny_bert, mrpc_dir, out, number)
    err = capsys.readouterr().err
    assert code == EXIT_INTERRUPTED, err[-3000:]
    said = SAID.search(err)
    assert said, err[-3000:]
    epoch, step = int(said[1]), int(said[2])
    assert said[3] == str(out) and epoch == 2 and 0 < step < 8, said[0]
    assert checkpoint.load(str(out))[0]["position"] == [1, step]
    assert not (out / rundir.METRICS).exists()
    assert err.count("Traceback") == 0

    assert main(argv=["resume", str(out)]) == EXIT_OK
    assert (f"resuming {out} from its backup: epoch 2, after step {step}"
            in capsys.readouterr().err)
    _assert_same_run(out, reference)


@pytest.mark.backend_free  # the handler's os._exit; resume: test above
def test_a_second_signal_exits_at_once_and_the_backup_stays_valid(
        tiny_bert, mrpc_dir, backend, reference, tmp_path):
    out = tmp_path / "run"
    code, err = _signal_in_epoch_2(tiny_bert, mrpc_dir, out, backend,
                                   [signal.SIGTERM, signal.SIGTERM])
    assert code == EXIT_INTERRUPTED, err[-3000:]
    assert "second signal" in err or SAID.search(err), err[-3000:]
    meta, _ = checkpoint.load(str(out))  # whole: the old one or the new
    assert meta["position"][0] == 1
    assert main(argv=["resume", str(out)]) == EXIT_OK
    _assert_same_run(out, reference)


def test_signals_are_noted_then_handed_back():
    before = signal.getsignal(signal.SIGTERM)
    with Signals() as caught:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert caught.received == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before


def test_the_message_names_the_step_and_the_command():
    stopped = Interrupted("runs/a", 2, 5, signal.SIGTERM)
    assert str(stopped) == ("interrupted at epoch 2, step 5; continue "
                            "with: kft resume runs/a")
    early = Interrupted("runs/a", None, None, signal.SIGINT)
    assert "SIGINT before training started" in str(early)
