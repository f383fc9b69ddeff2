"""`kft sweep` end to end, on the current backend: every trial a tiny-BERT
`kft run` in its own process, `--smoke` size (16 rows, 2 steps an epoch).

- a 3-trial random search: a run directory per trial, the table, the
  plot, the `best` link, `kft report` on the sweep folder;
- the same command again trains nothing;
- a grid search covers its grid exactly once;
- SIGKILL in the middle of a trial, then the same command again: the
  same table as the uninterrupted sweep, the killed trial resumed from
  its backup, the finished one untouched.
"""

import os
import signal
import subprocess
import sys
import tempfile

import pytest
from support import ROOT, file_exists, kill_when, run_kft

from kft import rundir
from kft.commands.report import compare
from kft.errors import EXIT_OK
from kft.rundir import layout
from kft.sweep import folder as sweep_folder
from kft.training import checkpoint

pytestmark = pytest.mark.integration

MRPC = str(ROOT / "recipes" / "mrpc.py")
RUN_FILES = (rundir.CONFIG, rundir.ENV, rundir.HISTORY, rundir.CURVES,
             rundir.CONFUSION, rundir.MODEL, rundir.METRICS)
# What must be equal between two sweeps; times may differ.
SAME = ("trial", "values", "status", "score", "metrics", "best_epoch",
        "epochs_run", "run_dir")


def random_args(tiny_bert, mrpc_dir, out):
    """3 random trials of 2 epochs (4 steps), a backup after every step."""
    return ["sweep", MRPC, "--trials", "3", "--smoke",
            f"preset={tiny_bert}", f"data_dir={mrpc_dir}",
            "learning_rate=1e-4..1e-2:log", "warmup_fraction=0,0.1",
            "epochs=2", "backup_every_steps=1", "verbose=0",
            f"output_dir={out}"]


def table(out):
    record = rundir.read_json(os.path.join(out, layout.SWEEP_RECORD))
    return [{k: r.get(k) for k in SAME} for r in record["trials"]]


@pytest.fixture(scope="module")
def random_sweep(tiny_bert, mrpc_dir, backend, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("sweep") / "random")
    done = run_kft(*random_args(tiny_bert, mrpc_dir, out), backend=backend)
    assert done.returncode == EXIT_OK, done.stderr[-3000:]
    return out, done


def test_a_random_search_makes_a_run_directory_per_trial(random_sweep,
                                                         backend):
    out, done = random_sweep
    record = rundir.read_json(os.path.join(out, layout.SWEEP_RECORD))
    trials = record["trials"]
    assert [t["status"] for t in trials] == ["finished"] * 3
    assert record["status"] == "finished"
    assert record["settings"]["backend"] == backend
    rates = [t["values"]["learning_rate"] for t in trials]
    assert len(set(rates)) == 3 and all(1e-4 <= r <= 1e-2 for r in rates)
    for trial in trials:
        run_dir = os.path.join(out, trial["run_dir"])
        assert trial["run_dir"] == os.path.join("trials",
                                                f"{trial['trial']:03d}")
        for name in RUN_FILES:
            assert os.path.isfile(os.path.join(run_dir, name)), name
        metrics = rundir.read_json(os.path.join(run_dir, rundir.METRICS))
        assert trial["score"] == metrics["accuracy"]  # monitor val_accuracy
        assert trial["epochs_run"] == metrics["epochs_run"] == 2
        config = rundir.read_json(os.path.join(run_dir, rundir.CONFIG))
        assert config["config"]["learning_rate"] == trial["values"][
            "learning_rate"]
        assert config["config"]["limit"] == 16  # --smoke
    best = max(trials, key=lambda t: (t["score"], -t["trial"]))
    assert os.readlink(os.path.join(out, layout.SWEEP_BEST)) == best["run_dir"]
    assert record["best"]["trial"] == best["trial"]
    with open(os.path.join(out, layout.SWEEP_PLOT), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    markdown = open(os.path.join(out, layout.SWEEP_TABLE)).read()
    assert "| trial | learning_rate | warmup_fraction | status | " \
           "val_accuracy |" in markdown
    assert f"best: trial {best['trial']} " in done.stdout
    assert not [n for n in os.listdir(out) if "partial" in n]


def test_kft_report_reads_a_sweep_folder(random_sweep):
    out, _ = random_sweep
    lines = compare([out]).splitlines()
    assert [line.split()[0] for line in lines[1:]] == [
        os.path.join(out, "trials", f"{n:03d}") for n in range(3)]
    assert all(" finished " in line for line in lines[1:])


def test_the_same_command_again_trains_nothing(random_sweep, tiny_bert,
                                               mrpc_dir, backend):
    out, _ = random_sweep
    before = table(out)
    stamps = [os.stat(os.path.join(d, rundir.METRICS)).st_mtime_ns
              for d in sweep_folder.trial_dirs(out)]
    again = run_kft(*random_args(tiny_bert, mrpc_dir, out), backend=backend)
    assert again.returncode == EXIT_OK, again.stderr[-3000:]
    assert again.stderr.count("already finished") == 3
    assert table(out) == before
    assert stamps == [os.stat(os.path.join(d, rundir.METRICS)).st_mtime_ns
                      for d in sweep_folder.trial_dirs(out)]


@pytest.mark.backend_free  # the trials' engine is covered above and below
def test_a_grid_search_covers_its_grid_exactly_once(tiny_bert, mrpc_dir,
                                                    backend, tmp_path):
    out = str(tmp_path / "grid")
    done = run_kft("sweep", MRPC, "--algorithm", "grid", "--trials", "9",
                   "--smoke", f"preset={tiny_bert}", f"data_dir={mrpc_dir}",
                   "learning_rate=1e-3,1e-2", "warmup_fraction=0,0.1",
                   "verbose=0", f"output_dir={out}", backend=backend)
    assert done.returncode == EXIT_OK, done.stderr[-3000:]
    rows = table(out)
    assert [r["values"] for r in rows] == [
        {"learning_rate": r, "warmup_fraction": w}
        for r in (1e-3, 1e-2) for w in (0.0, 0.1)]
    assert [r["status"] for r in rows] == ["finished"] * 4
    assert len(sweep_folder.trial_dirs(out)) == 4


def test_a_killed_sweep_ends_with_the_uninterrupted_table(
        random_sweep, tiny_bert, mrpc_dir, backend, tmp_path):
    out = str(tmp_path / "killed")
    args = random_args(tiny_bert, mrpc_dir, out)
    _kill_in_trial(args, os.path.join(out, "trials", "001"), backend)
    first = os.path.join(out, "trials", "000", rundir.METRICS)
    stamp = os.stat(first).st_mtime_ns
    killed = table(out)
    assert [r["status"] for r in killed] == ["finished", "running"]
    assert not os.path.exists(os.path.join(out, "trials", "001",
                                           rundir.METRICS))

    again = run_kft(*args, backend=backend)
    assert again.returncode == EXIT_OK, again.stderr[-3000:]
    assert "trial 0 already finished" in again.stderr
    assert f"resuming {os.path.join(out, 'trials', '001')} from its backup" \
        in again.stderr
    assert table(out) == table(random_sweep[0])
    assert os.stat(first).st_mtime_ns == stamp  # not trained twice
    resumed = rundir.read_json(os.path.join(out, "trials", "001",
                                            rundir.METRICS))["resumed"]
    assert len(resumed) == 1


def _kill_in_trial(args, run_dir, backend):
    """Starts the sweep, SIGKILLs its process group (the sweep and its
    trial) once trial `run_dir` has a backup and has not finished."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    with tempfile.TemporaryFile("w+") as err:  # a pipe could fill up
        process = subprocess.Popen([sys.executable, "-m", "kft", *args],
                                   env=env, cwd=ROOT, start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=err)
        kill_when(process, file_exists(checkpoint.path_in(run_dir)),
                  group=True, timeout=900, poll=0.002, log=err)
        process.wait()
    assert process.returncode == -signal.SIGKILL
