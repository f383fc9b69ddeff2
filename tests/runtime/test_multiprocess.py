"""`kft run --processes N`: the engines' own multi-process protocols on one
machine (JAX's `jax.distributed`, TensorFlow's `TF_CONFIG` workers, torch's
`torchrun` nodes), against single-process training of the same global
batch; one group's life: preempted, resumed, a process lost, resumed
again, and equal to the run that never stopped.

Each backend's CI run tests its own engine. The runs use the tiny BERT,
`dropout=0` (so no random draw depends on the device count) and a high
learning rate, so the weights move far more than the engines differ.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from support import ROOT, kill_when, largest_difference

import kft
from kft import rundir
from kft.commands.cli import main
from kft.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK
from kft.runtime import process
from kft.runtime.distribute import launch
from kft.training import checkpoint

pytestmark = pytest.mark.multiprocess

MRPC = str(ROOT / "recipes" / "mrpc.py")
HOTDOG = str(ROOT / "recipes" / "hotdog.py")
# 32 rows, global batch 8: 4 steps an epoch, 2 epochs.
SETTINGS = {"limit": 32, "batch_size": 8, "epochs": 2, "learning_rate": 1e-3,
            "sequence_length": 32, "dropout": 0.0, "patience": 0,
            "monitor": "val_loss", "verbose": 0}
# Largest weight difference to single-process training, relative to the
# largest weight: float32 sums in another order (gradients all-reduced
# over processes) differ by round-off, ~1e-7 a step; training moves the
# weights by ~1e-2 (measured in tests/runtime/test_distribute.py).
RELATIVE = 1e-5
STOP_BOUND = launch.STOP_SECONDS + 30  # + the engines' own detection


def _devices(backend):
    return ["--devices-per-process", "2"] if backend == "jax" else []


def _args(tiny_bert, mrpc_dir, out, **changes):
    values = dict(SETTINGS, preset=tiny_bert, data_dir=mrpc_dir,
                  output_dir=str(out), **changes)
    return [f"{k}={v}" for k, v in values.items()]


def _launch(backend, args, processes=2, recipe=MRPC):
    return subprocess.Popen(
        [sys.executable, "-m", "kft", "run", recipe, "--backend", backend,
         "--processes", str(processes), *_devices(backend), *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)


@pytest.fixture(scope="module")
def runs(backend, tiny_bert, mrpc_dir, tmp_path_factory):
    """A 2-process run and a single-process run of the same global batch."""
    from recipes import mrpc

    folder = tmp_path_factory.mktemp("multiprocess")
    process = _launch(backend, _args(tiny_bert, mrpc_dir, folder / "two"))
    out, err = process.communicate(timeout=1200)
    assert process.returncode == EXIT_OK, err[-4000:]
    one = kft.train(mrpc.recipe().replace(**dict(
        SETTINGS, preset=tiny_bert, data_dir=mrpc_dir,
        output_dir=str(folder / "one"))))
    return {"two": folder / "two", "printed": json.loads(
        out.strip().splitlines()[-1]), "one": one}


def test_two_processes_train_as_one(runs, backend):
    two = runs["two"]
    assert runs["printed"]["run_dir"] == str(two)
    env = rundir.read_json(str(two / "env.json"))
    topology = env["distribution"]
    assert topology["processes"] == 2 and topology["rank"] == 0
    assert topology["replicas"] == (4 if backend == "jax" else 2)
    assert len(topology["devices"]) == topology["replicas"]
    mine = rundir.read_json(str(two / "metrics.json"))
    for key, value in runs["one"].metrics.items():
        assert mine[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    largest, scale = largest_difference(
        kft.load_model(str(two)).get_weights(),
        runs["one"].model.get_weights())
    assert largest <= RELATIVE * scale, (largest, scale)
    if backend == "torch":  # kft shards the data itself: show the shards
        shards = mine["shards"]
        assert [s["rank"] for s in shards] == [0, 1]
        # 2 epochs of 32 rows, and what tf.data read ahead past the end
        assert sum(s["examples"] for s in shards) >= 2 * 32
        assert shards[0]["fingerprint"] != shards[1]["fingerprint"]


def test_two_processes_train_on_images_as_one(backend, tiny_resnet,
                                              hotdog_dir, tmp_path):
    """Shuffled, augmented images (random resized crop and flip), class
    weights, and short batches padded to split (10 training images, batch
    4): each process decodes only its part of every batch, and the run
    equals one process's. The backbone is frozen, so its batch
    normalization uses its moving statistics, not those of a part."""
    from recipes import hotdog

    settings = {"limit": 10, "image_size": 32, "batch_size": 4,
                "epochs": 2, "learning_rate": 0.01, "freeze": "backbone",
                "dropout": 0.0, "class_weight": "balanced", "patience": 0,
                "monitor": "val_loss", "verbose": 0,
                "preset": tiny_resnet, "data_dir": hotdog_dir}
    two = tmp_path / "two"
    process = _launch(backend, [f"{k}={v}" for k, v in dict(
        settings, output_dir=str(two)).items()], recipe=HOTDOG)
    _, err = process.communicate(timeout=1200)
    assert process.returncode == EXIT_OK, err[-4000:]
    one = kft.train(hotdog.recipe().replace(**dict(
        settings, output_dir=str(tmp_path / "one"))))
    mine = rundir.read_json(str(two / "metrics.json"))
    assert mine["train_examples"] == 10
    for key, value in one.metrics.items():
        assert mine[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    largest, scale = largest_difference(
        kft.load_model(str(two)).get_weights(), one.model.get_weights())
    assert largest <= RELATIVE * scale, (largest, scale)
    if backend == "torch":
        shards = mine["shards"]
        assert sum(s["examples"] for s in shards) >= 2 * 10
        assert shards[0]["fingerprint"] != shards[1]["fingerprint"]


def _worker(launcher, index):
    """The pid of training process `index` under the launcher (for torch,
    the worker that its torchrun node started)."""
    for pid in process.descendants(launcher.pid):
        try:
            command = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            environ = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        if (b"kft" in command and b"torch.distributed.run" not in command
                and f"KFT_PROCESS_INDEX={index}".encode() in environ
                and b"--processes" not in command):
            return pid
    return None


def _position(out):
    """The (epoch, step) of the run's newest backup, or None."""
    backup = checkpoint.load(str(out))  # written whole (atomic rename)
    return None if backup is None else tuple(backup[0]["position"])


def test_a_group_stops_resumes_and_ends_as_if_never_stopped(
        backend, runs, tiny_bert, mrpc_dir, tmp_path):
    """One group's life, as the uninterrupted 2-process run's twin:

    1. preemption: SIGTERM to the launcher reaches every process; they
       agree on the step (a collective after each step), stop there with
       one backup (exit 75);
    2. the same command resumes; then a lost process (SIGKILL to worker 1)
       stops the whole group within `STOP_BOUND` with a `kft: error:` line
       naming it, leaving no process and no metrics behind;
    3. the same command resumes again, from the last backup, and ends
       exactly as the run that never stopped (no tolerance: the same
       processes repeat the same float32 steps in the same order).
    """
    out = tmp_path / "run"
    args = _args(tiny_bert, mrpc_dir, out, backup_every_steps=1)

    launcher = _launch(backend, args)
    kill_when(launcher, lambda: _position(out) is not None,
              number=signal.SIGTERM)
    _, err = launcher.communicate(timeout=600)
    assert launcher.returncode == EXIT_INTERRUPTED, err[-4000:]
    said = [line for line in err.splitlines()
            if line.startswith("kft: interrupted at epoch ")]
    assert len(said) == 1, err[-4000:]
    epoch = int(said[0].split("epoch ")[1].split(",")[0])
    step = int(said[0].split("step ")[1].split(";")[0])
    stopped = _position(out)
    assert stopped == (epoch - 1, step)
    assert not process.descendants(launcher.pid)

    again = _launch(backend, args)
    worker = []

    def moved_on():  # resumed, and a backup past the stop
        position = _position(out)
        if position is None or position <= stopped:
            return False
        worker.append(_worker(again, 1))
        return worker[-1] is not None

    deadline = time.time() + 600
    while not moved_on():
        assert again.poll() is None, again.stderr.read()[-4000:]
        assert time.time() < deadline
        time.sleep(0.005)
    os.kill(worker[-1], signal.SIGKILL)
    killed = time.time()
    _, err = again.communicate(timeout=STOP_BOUND + 60)
    took = time.time() - killed
    assert "resuming" in err, err[-3000:]
    assert again.returncode not in (EXIT_OK, EXIT_INTERRUPTED), err[-3000:]
    assert took <= STOP_BOUND, took
    said = [line for line in err.splitlines() if line.startswith(
        "kft: error: process ")]
    assert said and ("was killed by SIGKILL" in said[0]
                     or "exited with status" in said[0]), err[-3000:]
    assert not (out / "metrics.json").exists()
    assert not process.descendants(again.pid)

    last = _launch(backend, args)
    _, err = last.communicate(timeout=1200)
    assert last.returncode == EXIT_OK, err[-4000:]
    assert "resuming" in err
    mine = rundir.read_json(str(out / "metrics.json"))
    theirs = rundir.read_json(str(runs["two"] / "metrics.json"))
    for key in ("accuracy", "f1", "auc", "loss", "best_epoch"):
        assert mine[key] == theirs[key], key
    assert len(mine["resumed"]) == 2
    assert (out / "history.csv").read_text() == (
        runs["two"] / "history.csv").read_text()
    for a, b in zip(kft.load_model(str(out)).get_weights(),
                    kft.load_model(str(runs["two"])).get_weights(),
                    strict=True):
        np.testing.assert_array_equal(a, b)


def test_model_parallel_over_two_processes(backend, runs, tiny_bert,
                                           mrpc_dir, tmp_path):
    """JAX shards kernels over a (batch, model) mesh that spans both
    processes; the other engines refuse model parallelism by name."""
    launcher = _launch(backend, _args(tiny_bert, mrpc_dir, tmp_path / "run",
                                      distribute="model_parallel"))
    _, err = launcher.communicate(timeout=1200)
    if backend != "jax":
        assert launcher.returncode == EXIT_BAD_INPUT, err[-3000:]
        assert (f"kft: error: distribute=model_parallel is not supported on "
                f"{backend}") in err
        return
    assert launcher.returncode == EXIT_OK, err[-4000:]
    topology = rundir.read_json(str(tmp_path / "run" / "env.json"))[
        "distribution"]
    assert topology["mesh_shape"] == [2, 2] and topology["processes"] == 2
    assert topology["sharded"], topology
    mine = rundir.read_json(str(tmp_path / "run" / "metrics.json"))
    theirs = rundir.read_json(str(runs["two"] / "metrics.json"))
    assert mine["loss"] == pytest.approx(theirs["loss"], rel=1e-4)


@pytest.mark.backend_free
def test_a_busy_port_is_refused_before_any_process_starts(
        capsys, tiny_bert, mrpc_dir, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        taken.listen()
        assert main(argv=[
            "run", MRPC, "--backend", "jax", "--processes", "2", "--port",
            str(port), *_args(tiny_bert, mrpc_dir, tmp_path / "a")]) == (
            EXIT_BAD_INPUT)
    assert f"kft: error: --port {port}: port {port} on 127.0.0.1 is in " \
           "use" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


def test_a_batch_that_does_not_split_is_refused_before_training(
        backend, tiny_bert, mrpc_dir, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "kft", "run", MRPC, "--backend", backend,
         "--processes", "2", *_devices(backend),
         *_args(tiny_bert, mrpc_dir, tmp_path / "b", batch_size=7)],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == EXIT_BAD_INPUT, done.stderr[-3000:]
    replicas = 4 if backend == "jax" else 2
    assert f"batch_size=7 does not split evenly over {replicas} replicas" in (
        done.stderr)
    assert not (tmp_path / "b" / "model.keras").exists()


@pytest.mark.backend_free
def test_the_launcher_refuses_what_it_cannot_start():
    with pytest.raises(kft.KftError, match="--processes 1: give 2 or more"):
        launch.check("jax", 1, 1)
    with pytest.raises(kft.KftError, match="MultiWorkerMirroredStrategy "
                       "trains on one CPU device a worker"):
        launch.check("tensorflow", 2, 2)
    with pytest.raises(kft.KftError, match="--processes needs --backend"):
        launch.check(None, 2, 1)
