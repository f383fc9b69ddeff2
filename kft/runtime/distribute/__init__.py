"""Training on many devices and hosts with each backend's own engine.

`distribute=` picks the strategy; one small module per backend configures
its engine:

- JAX (`kft.runtime.distribute.jax`): `keras.distribution.DataParallel`, or
  `ModelParallel` on a `(batch, model)` mesh; many hosts through
  `keras.distribution.initialize`.
- TensorFlow (`kft.runtime.distribute.tensorflow`): `tf.distribute`'s
  `MirroredStrategy`, `TPUStrategy` or `MultiWorkerMirroredStrategy`.
- PyTorch (`kft.runtime.distribute.torch`): Keras has no torch engine, so kft
  averages gradients over the processes that `torchrun` starts.

`launch` (`kft run --processes N`) starts such processes on one machine,
setting the environment variables (`environment`) that these modules and
the engines read back.

Everywhere, `batch_size` stays the global batch, split evenly over the
replicas; each step is one global batch, so the learning-rate schedule
counts global steps. Each engine says how a process shares the global
batches (`Share`); the data pipeline then pads each batch with zero-weight
rows so that it splits evenly and losses stay exact, and reads only this
process's part of it (`kft.data.shards`, on example indices, before any
image is decoded or row gathered).
"""

import contextlib
import dataclasses

from kft.runtime import compat
from kft.runtime.backend import current as current_backend
from kft.runtime.distribute import jax as jax_engine
from kft.runtime.distribute import tensorflow as tensorflow_engine
from kft.runtime.distribute import torch as torch_engine
from kft.runtime.distribute.topology import (
    STRATEGIES,
    Share,
    Topology,
    check_batch,
    resolve,
)

ENGINES = {"jax": jax_engine, "tensorflow": tensorflow_engine,
           "torch": torch_engine}
__all__ = ["STRATEGIES", "Share", "Topology", "check_batch", "resolve"]


_state = {"topology": Topology(), "engine": None, "module": None}


def configure(config):
    """Sets up the engine that `config.distribute` asks for.

    Call it once per run, before the model is built
    (`kft.runtime.setup.configure` does). It replaces the setting of any
    earlier run in this process.

    Returns:
        The run's `Topology`.

    Raises:
        KftError: for a strategy the backend does not support, or a
            `batch_size` that does not split evenly over the replicas.
    """
    module = ENGINES[current_backend()]
    topology, engine = module.configure(config)
    check_batch(config.batch_size, topology)
    _state.update(topology=topology, engine=engine, module=module)
    return topology


def reset():
    """Forgets the run's topology and clears the Keras distribution (JAX),
    as before any run."""
    if _state["module"] is not None:
        _state["module"].reset(_state["engine"])
    _state.update(topology=Topology(), engine=None, module=None)


def current():
    """The `Topology` of the run being configured (single device if none)."""
    return _state["topology"]


def is_chief():
    """Whether this process writes the run directory (rank 0)."""
    return current().rank == 0


def describe():
    """The topology as a plain dict, for `env.json`."""
    record = dataclasses.asdict(current())
    for key in ("mesh_shape", "mesh_axes", "devices"):
        if record[key] is not None:
            record[key] = list(record[key])
    if _state["module"] is not None:
        record.update(_state["module"].describe(_state["engine"]))
    return record


def scope():
    """The context to build and compile the model in (TensorFlow's
    strategy scope; nothing elsewhere)."""
    engine = _state["engine"]
    if _state["module"] is None or engine is None:
        return contextlib.nullcontext()
    return _state["module"].scope(engine)


def prepare_model(model):
    """Engine work on a built model: torch broadcasts rank 0's weights,
    JAX's model parallelism checks that kernels were sharded."""
    if _state["module"] is not None:
        _state["module"].prepare_model(model, _state["engine"])


def optimizer_class(kind):
    """`kind`, or a subclass that averages gradients over processes."""
    if _state["module"] is None:
        return kind
    return _state["module"].optimizer_class(kind, _state["engine"])


def datasets(train, validation, class_weight, preprocess=None):
    """The training and validation datasets as this process feeds them,
    and the `class_weight` for `fit` (folded into the sample weights when
    the batches are shared).

    The engine says how this process shares each global batch, and the
    builders make only that (`kft.data.shards`):

    - one device: whole batches of `(x, y)`, `class_weight` for `fit`;
    - JAX: every batch padded to split over the replicas; with several
      processes each feeds its own part (processes that share a model
      replica feed the same one), and Keras assembles the global batch,
      validation included;
    - TensorFlow: padded to split over the replicas; one worker feeds
      whole batches that the strategy splits, several workers each build
      their own part (`distribute_datasets_from_function`), validation
      included, preprocessed there (`preprocess`), and fed inside
      `loop(model)`; the strategy sums the metrics over the replicas;
    - torch: each process trains on its part of every batch, and
      evaluates the whole validation split itself (so every process
      computes the same validation metrics).

    Args:
        train: callable. `train(share, class_weight)` gives the training
            dataset: global batches of `(x, y)` when `share` is None,
            else this process's parts, `(x, y, sample_weight)`.
        validation: callable. `validation(share)`, alike, unweighted.
        class_weight: dict or None. `fit`'s class weights.
        preprocess: callable or None. The model's own preprocessing of a
            batch (a KerasHub task's `preprocess_samples`), for datasets
            that the model's `fit` cannot preprocess itself; None: the
            batches need none.

    Returns:
        `(train, validation, class_weight)`: the datasets for `fit`, and
        its `class_weight`.
    """
    topology = current()
    if topology.replicas == 1 and topology.processes == 1:
        return train(None, None), validation(None), class_weight
    return (*_state["module"].datasets(train, validation, class_weight,
                                       topology, _state["engine"],
                                       preprocess), None)


def loop(model):
    """The context to run `fit` and `evaluate` of `datasets`' datasets in:
    Keras's own loop when they are distributed and preprocessed already
    (TensorFlow with several workers), else nothing."""
    if _state["module"] is None or current().processes == 1 or (
            current_backend() != "tensorflow"):
        return contextlib.nullcontext()
    return compat.keras_loop(model)


def compile_metrics(metrics):
    """`compile`'s metrics argument: `weighted_metrics` when the batches
    are padded (padded rows weigh 0), else `metrics`. KerasHub tasks add
    their own accuracy unless `metrics` is given, so it is given empty."""
    topology = current()
    if topology.replicas == 1 and topology.processes == 1:
        return {"metrics": metrics}
    return {"metrics": [], "weighted_metrics": metrics}


def metric_totals():
    """A function that sums training-metric states over the processes
    (torch, several processes), or None where the engine does it."""
    if _state["module"] is None or current().processes == 1:
        return None
    return _state["module"].metric_totals(_state["engine"])


def metric_values():
    """A function giving metric variables' values summed over the
    processes, where each process keeps its own running totals (torch
    with several processes); else None."""
    if _state["module"] is None or current().processes == 1:
        return None
    return _state["module"].metric_values(_state["engine"])


def saves_together():
    """Whether every process must take part when one saves the model or
    reads its weights (JAX and TensorFlow with several processes gather
    weights collectively; torch processes each hold a full copy)."""
    topology = current()
    return topology.processes > 1 and current_backend() != "torch"


def any_process(flag):
    """Whether `flag` holds in any process of the run. Every process must
    call it at the same point (it is a collective when there are
    several)."""
    if _state["module"] is None or current().processes == 1:
        return bool(flag)
    return _state["module"].any_process(bool(flag), _state["engine"])


def shards():
    """What each process trained on, when kft shards the data itself:
    a list of `{"rank", "examples", "fingerprint"}`, else None."""
    if _state["module"] is None or current().processes == 1:
        return None
    return _state["module"].shards(_state["engine"])
