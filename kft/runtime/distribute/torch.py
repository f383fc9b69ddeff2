"""PyTorch: data parallelism over the processes `torchrun` starts.

Keras 3.15 has no torch distribution engine (`keras.distribution` runs on
JAX; its torch trainer knows nothing of `DistributedDataParallel`), so kft
does what DDP does, in this one module, through public Keras surfaces:

- the process group starts from `torchrun`'s environment (NCCL on GPUs,
  each process on its own `cuda:LOCAL_RANK`; gloo on CPUs);
- every process plans the same global batches (same seed) and reads only
  its own contiguous part of each (`kft.data.shards`);
- the optimizer is a subclass whose `apply` first averages the gradients
  over the processes (one all-reduce per dtype per step), so clipping,
  accumulation and the update see the global batch's gradient;
- the initial weights are broadcast from rank 0;
- at the end of each epoch's training the metric states (sums and counts)
  are summed over the processes (`sum_metric_states`, called by
  `kft.training.callbacks.GlobalMetrics`), so the logged training metrics are
  global; validation runs whole on every process, so it is identical.
"""

import atexit
import os
import socket

from kft.errors import KftError
from kft.runtime.distribute import batches, environment
from kft.runtime.distribute.topology import (
    Share,
    Topology,
    check_batch,
    resolve,
)

LAUNCH = ("torchrun --nproc_per_node=N -m kft run RECIPE --backend torch "
          "distribute=data_parallel")


class Engine:
    """The process group's facts, and what this process trained on."""

    def __init__(self, world, rank, backend):
        self.world, self.rank, self.backend = world, rank, backend
        self.examples, self.fingerprint = 0, 0


def configure(config):
    """Joins the `torchrun` process group for `data_parallel`."""
    world = int(os.environ.get(environment.WORLD_SIZE, "1"))
    strategy = resolve(config.distribute, world)
    if strategy == "model_parallel":
        raise KftError(
            "distribute=model_parallel is not supported on torch: Keras "
            "shards models with keras.distribution on JAX only. Use "
            "distribute=data_parallel, or --backend jax")
    if strategy == "none":
        if world > 1:
            raise KftError(
                f"torchrun started {world} processes but distribute=none: "
                "each would train alone and write the same run; use "
                "distribute=data_parallel (or auto)")
        return Topology(devices=(_device(),)), None
    if environment.WORLD_SIZE not in os.environ:
        raise KftError("distribute=data_parallel on torch needs one process "
                       f"per device, started by torchrun: {LAUNCH}")
    if config.precision == "mixed_float16":
        raise KftError(
            "precision=mixed_float16 with torch data_parallel: loss scaling "
            "would skip steps on some processes only; use "
            "precision=mixed_bfloat16 or float32")
    check_batch(config.batch_size, Topology(
        strategy=strategy, engine="torchrun", replicas=world))  # before
    engine = _join(world)  # joining waits for every process
    return Topology(
        strategy=strategy, engine=f"torch.distributed ({engine.backend}) "
        "gradient all-reduce", replicas=world, processes=world,
        rank=engine.rank, mesh_shape=(world,), mesh_axes=("process",),
        devices=_every_device(world)), engine


def _every_device(world):
    """Each process's device, by rank, as `HOST/DEVICE`: the whole
    topology, for `env.json`."""
    import torch.distributed as dist

    found = [None] * world
    dist.all_gather_object(found, f"{socket.gethostname()}/{_device()}")
    return tuple(found)


def _join(world):
    import torch
    import torch.distributed as dist

    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get(environment.LOCAL_RANK, "0")))
    if not dist.is_initialized():
        dist.init_process_group(
            "nccl" if torch.cuda.is_available() else "gloo")
        atexit.register(dist.destroy_process_group)
    return Engine(world, dist.get_rank(), dist.get_backend())


def _device():
    import torch

    if torch.cuda.is_available():
        return f"cuda:{torch.cuda.current_device()}"
    return "cpu"


def describe(engine):
    if engine is None:
        return {}
    return {"process_group": engine.backend,
            "master": f"{os.environ.get('MASTER_ADDR')}:"
                      f"{os.environ.get('MASTER_PORT')}"}


def scope(engine):
    import contextlib

    return contextlib.nullcontext()


def prepare_model(model, engine):
    """Every process starts from rank 0's weights."""
    import torch.distributed as dist

    if engine is None:
        return
    for variable in model.variables:
        dist.broadcast(variable.value.data, src=0)


def all_reduce(tensors, average=True):
    """Sums (or averages) torch tensors over the processes, one collective
    per dtype; None stays None.

    Args:
        tensors: list of torch.Tensor or None.
        average: bool. Divide the sums by the number of processes.
    """
    import torch
    import torch.distributed as dist

    world = dist.get_world_size()
    out = list(tensors)
    for dtype in {t.dtype for t in tensors if t is not None}:
        index = [i for i, t in enumerate(tensors)
                 if t is not None and t.dtype == dtype]
        flat = torch.cat([tensors[i].reshape(-1) for i in index])
        dist.all_reduce(flat)
        if average:
            flat /= world
        for i, piece in zip(index, flat.split(
                [tensors[i].numel() for i in index]), strict=True):
            out[i] = piece.view_as(tensors[i])
    return out


_CLASSES = {}


def optimizer_class(kind, engine):
    """`kind` whose `apply` averages the gradients over the processes."""
    if engine is None:
        return kind
    if kind not in _CLASSES:

        class AllReduce(kind):
            def apply(self, grads, trainable_variables=None):
                return super().apply(all_reduce(grads),
                                     trainable_variables)

        name = f"{kind.__name__}AllReduce"
        AllReduce.__name__ = AllReduce.__qualname__ = name
        import keras

        _CLASSES[kind] = keras.saving.register_keras_serializable("kft")(
            AllReduce)
    return _CLASSES[kind]


def datasets(train, validation, class_weight, topology, engine,
             preprocess=None):
    """Each process builds and trains on its part of every global batch
    (noted in `engine`), and evaluates the whole validation split."""
    share = Share(topology.processes, topology.processes, topology.rank)
    return batches.note(train(share, class_weight), engine), validation(None)


def sum_metric_states(variables):
    """Sums metric variables (totals and counts) over the processes, in
    place: each process then holds the global training metrics."""
    summed = all_reduce([v.value.detach().clone() for v in variables],
                        average=False)
    for variable, value in zip(variables, summed, strict=True):
        variable.assign(value)


def summed_metric_values(variables):
    """Metric variables' values summed over the processes, as NumPy
    arrays; the variables stay as they are."""
    summed = all_reduce([v.value.detach().clone() for v in variables],
                        average=False)
    return [value.numpy() for value in summed]


def metric_totals(engine):
    return sum_metric_states


def metric_values(engine):
    return summed_metric_values


def reset(engine):
    pass


def any_process(flag, engine):
    """One all-reduce of a flag (MAX) over the process group."""
    import torch
    import torch.distributed as dist

    value = torch.tensor([int(flag)], dtype=torch.int32)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def shards(engine):
    """`{"rank", "examples", "fingerprint"}` of every process."""
    import torch.distributed as dist

    gathered = [None] * engine.world
    dist.all_gather_object(gathered, (engine.rank, engine.examples,
                                      engine.fingerprint))
    return [{"rank": r, "examples": n, "fingerprint": f"{f:08x}"}
            for r, n, f in gathered]
