"""kft/runtime/distribute: each backend's own engine against single-device
training.

The suite runs once per backend; each engine test dispatches on the
current backend and checks that backend's engine, in a subprocess with
several devices (JAX: 4 forced host devices; TensorFlow: 2 logical CPUs;
torch: 2 `torchrun` processes on gloo). Runs use the tiny BERT, tiny
invented MRPC-format rows, `dropout=0` and a high learning rate, so the
weights move far more than any difference between the engines.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from support import ROOT, largest_difference

import kft
from kft import rundir
from kft.errors import EXIT_OK
from kft.runtime import distribute
from kft.runtime.distribute import Topology, batches

# The largest weight difference allowed, relative to the largest weight;
# and how much smaller than the weights' movement in training it must be.
RELATIVE, BELOW_MOVEMENT = 1e-5, 1e3


def _base(tiny_bert, mrpc_dir, **overrides):
    return {"preset": tiny_bert, "data_dir": mrpc_dir, "epochs": 1,
            "sequence_length": 32, "batch_size": 8, "learning_rate": 1e-3,
            "dropout": 0.0, "patience": 0, "verbose": 0, **overrides}


def _runs(spec, env):
    environ = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT),
                   **env)
    done = subprocess.run(
        [sys.executable, "tests/runtime/distributed_runs.py", json.dumps(spec)],
        capture_output=True, text=True, env=environ, timeout=900, cwd=ROOT)
    assert done.returncode == EXIT_OK, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def engine_runs(backend, tiny_bert, mrpc_dir, tmp_path_factory):
    """One subprocess per backend: single-device and distributed runs, and
    a batch size that does not split."""
    out = str(tmp_path_factory.mktemp("distributed"))
    if backend == "jax":
        # 29 rows: the last batches (5 of 8) are padded to split over 4.
        spec = {"base": _base(tiny_bert, mrpc_dir, limit=29), "out": out,
                "runs": {"single": {"distribute": "none"},
                         "replicated": {"distribute": "data_parallel"},
                         "sharded": {"distribute": "model_parallel"}},
                "errors": {"uneven": {"distribute": "data_parallel",
                                      "batch_size": 6}}}
        env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    elif backend == "tensorflow":
        # One batch of all 7 training rows per epoch: Keras's TensorFlow
        # trainer draws one batch before training under a strategy, which
        # starts the shuffled order one pass later (see kft.runtime.distribute).
        spec = {"base": _base(tiny_bert, mrpc_dir, limit=7, epochs=3),
                "out": out, "cpus": 2,
                "runs": {"single": {"distribute": "none"},
                         "replicated": {"distribute": "data_parallel"}},
                "errors": {"uneven": {"distribute": "data_parallel",
                                      "batch_size": 7}}}
        env = {}
    else:
        return _torchrun(tiny_bert, mrpc_dir, out)
    return _runs(spec, env)


def _torchrun(tiny_bert, mrpc_dir, out):
    """`torchrun` MRPC smoke run on 2 processes, and the same steps in
    this process on one."""
    overrides = ["preset=" + tiny_bert, "data_dir=" + mrpc_dir,
                 "dropout=0", "learning_rate=1e-3", "limit=15",
                 "sequence_length=32"]
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone",
         "--nproc_per_node=2", "-m", "kft", "run", "recipes/mrpc.py",
         "--backend", "torch", "--smoke", *overrides,
         "distribute=data_parallel", f"output_dir={out}/two"],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert done.returncode == EXIT_OK, done.stderr[-3000:]
    from kft.config.overrides import SMOKE, parse
    from kft.training.trainer import prepare
    from recipes import mrpc

    recipe = mrpc.recipe().replace(**{**SMOKE, **parse(overrides)},
                                   distribute="none", verbose=0,
                                   output_dir=f"{out}/one")
    start = prepare(recipe)[1].get_weights()
    one = kft.train(recipe)
    return {"out": out, "stdout": done.stdout, "start": start, "one": one}


@pytest.mark.multiprocess
def test_data_parallel_matches_single_device(backend, engine_runs):
    if backend == "torch":
        return _check_torchrun(engine_runs)
    single, replicated = engine_runs["single"], engine_runs["replicated"]
    topology = replicated["distribution"]
    assert topology["strategy"] == "data_parallel"
    assert topology["replicas"] == (4 if backend == "jax" else 2)
    assert topology["engine"] == {
        "jax": "keras.distribution.DataParallel",
        "tensorflow": "tf.distribute.MirroredStrategy"}[backend]
    assert single["distribution"]["replicas"] == 1
    _assert_same_weights(replicated)
    for key, value in single["metrics"].items():
        assert replicated["metrics"][key] == pytest.approx(value, rel=1e-5)


def _assert_same_weights(run):
    assert run["difference"] <= RELATIVE * run["scale"], run
    assert run["moved"] >= BELOW_MOVEMENT * run["difference"], run


def _check_torchrun(runs):
    two = os.path.join(runs["out"], "two")
    assert sorted(os.listdir(runs["out"])) == ["one", "two"]
    assert {"config.json", "env.json", "metrics.json",
            "model.keras"} <= set(os.listdir(two))
    assert runs["stdout"].count('"run_dir": "') == 1  # rank 0 only
    env = rundir.read_json(os.path.join(two, "env.json"))["distribution"]
    assert (env["strategy"], env["processes"], env["replicas"],
            env["process_group"]) == ("data_parallel", 2, 2, "gloo")
    shards = rundir.read_json(os.path.join(two, "metrics.json"))["shards"]
    assert [s["rank"] for s in shards] == [0, 1]
    assert shards[0]["fingerprint"] != shards[1]["fingerprint"]
    weights = kft.load_model(two).get_weights()
    one = [np.asarray(w) for w in runs["one"].model.get_weights()]
    _assert_same_weights({
        "difference": largest_difference(weights, one)[0],
        "moved": largest_difference(one, runs["start"])[0],
        "scale": largest_difference(weights, one)[1]})
    metrics = rundir.read_json(os.path.join(two, "metrics.json"))
    for key, value in runs["one"].metrics.items():
        assert metrics[key] == pytest.approx(value, rel=1e-5)


@pytest.mark.multiprocess
def test_model_parallel_shards_kernels_or_is_refused(backend, request,
                                                     tiny_bert, mrpc_dir):
    if backend != "jax":
        recipe = _recipe(tiny_bert, mrpc_dir, distribute="model_parallel")
        with pytest.raises(kft.KftError, match="model_parallel is not "
                           f"supported on {backend}.*data_parallel"):
            kft.train(recipe)
        return
    engine_runs = request.getfixturevalue("engine_runs")
    run = engine_runs["sharded"]
    topology = run["distribution"]
    assert topology["mesh_shape"] == [2, 2]
    assert topology["mesh_axes"] == ["batch", "model"]
    assert topology["replicas"] == 2
    for name in ("token_embedding/embeddings",
                 "transformer_layer_0/self_attention_layer/query/kernel",
                 "transformer_layer_1/feedforward_output_dense/kernel"):
        assert name in run["sharded"], run["sharded"]
    assert "logits/kernel" not in run["sharded"]
    assert topology["sharded"] == run["sharded"]
    single = engine_runs["single"]["metrics"]
    assert run["metrics"]["loss"] == pytest.approx(single["loss"], rel=1e-5)
    _assert_same_weights(run)


@pytest.mark.multiprocess
def test_batch_that_does_not_split_is_a_clear_error(backend, request,
                                                    tiny_bert, mrpc_dir,
                                                    monkeypatch):
    if backend == "torch":
        monkeypatch.setenv("WORLD_SIZE", "2")
        recipe = _recipe(tiny_bert, mrpc_dir, distribute="data_parallel",
                         batch_size=7)
        with pytest.raises(kft.KftError) as error:
            kft.train(recipe)
        message, replicas = str(error.value), 2
    else:
        message = request.getfixturevalue("engine_runs")["uneven"]["error"]
        replicas = 4 if backend == "jax" else 2
    assert f"does not split evenly over {replicas} replicas" in message
    assert f"use a multiple of {replicas}" in message


def _recipe(tiny_bert, mrpc_dir, **overrides):
    from recipes import mrpc

    return mrpc.recipe().replace(**{**_base(tiny_bert, mrpc_dir, limit=8),
                                    **overrides})


def test_auto_is_data_parallel_with_several_devices():
    assert distribute.resolve("auto", 1) == "none"
    assert distribute.resolve("auto", 8) == "data_parallel"
    assert distribute.resolve("model_parallel", 1) == "model_parallel"
    with pytest.raises(kft.KftError, match="distribute='ddp'.*auto"):
        distribute.resolve("ddp", 2)
    with pytest.raises(kft.KftError, match="distribute='ddp'"):
        kft.TrainConfig(distribute="ddp")


def test_check_batch_names_the_fix():
    topology = Topology(strategy="data_parallel", engine="x", replicas=4)
    distribute.check_batch(32, topology)
    with pytest.raises(kft.KftError, match=r"batch_size=30 .* 4 replicas.*"
                       r"multiple of 4, e.g. 28, 32"):
        distribute.check_batch(30, topology)


def test_note_counts_and_fingerprints_the_real_rows():
    import types

    import tensorflow as tf

    from kft.data import shards

    labels = np.arange(13) % 2
    tallies = []
    for rank in (0, 1):
        share = distribute.Share(2, 2, rank)
        parts = [shards.rows(index, labels, share)
                 for index in (np.arange(8), np.arange(8, 13))]
        dataset = tf.data.Dataset.from_generator(
            lambda parts=parts: (({"ids": r[:, None] * [1, 1]}, labels[r], w)
                                 for r, w in parts),
            output_signature=({"ids": tf.TensorSpec((None, 2), tf.int64)},
                              tf.TensorSpec((None,), tf.int64),
                              tf.TensorSpec((None,), tf.float32)))
        tally = types.SimpleNamespace(examples=0, fingerprint=0)
        list(batches.note(dataset, tally))
        tallies.append(tally)
    assert [t.examples for t in tallies] == [7, 6]  # the added row is not
    assert tallies[0].fingerprint != tallies[1].fingerprint
