"""How a run is spread over devices and processes: `Topology`, and the
checks every engine shares."""

import dataclasses

from kft.errors import KftError

STRATEGIES = ("auto", "none", "data_parallel", "model_parallel")


@dataclasses.dataclass(frozen=True)
class Topology:
    """How a run is spread over devices and processes.

    Args:
        strategy: str. `none`, `data_parallel` or `model_parallel`.
        engine: str. What does the work, e.g. `tf.distribute.MirroredStrategy`.
        replicas: int. Model replicas; each takes an equal part of a batch.
        processes: int. Processes (hosts, or `torchrun` workers).
        rank: int. This process's index; 0 writes the run directory.
        mesh_shape: tuple or None. The device mesh, e.g. `(2, 2)`.
        mesh_axes: tuple or None. Its axis names, e.g. `("batch", "model")`.
        devices: tuple of str. The devices the run uses.
    """

    strategy: str = "none"
    engine: str = "none"
    replicas: int = 1
    processes: int = 1
    rank: int = 0
    mesh_shape: tuple | None = None
    mesh_axes: tuple | None = None
    devices: tuple = ()


@dataclasses.dataclass(frozen=True)
class Share:
    """One process's share of every global batch, for the data pipeline.

    Each global batch is padded to a multiple of `replicas` rows, cut into
    `parts` equal contiguous parts, and this process feeds part `index`
    (`kft.data.shards` does it on example indices, before any row is read).

    Args:
        replicas: int. Every global batch is padded to a multiple of this.
        parts: int. Processes with their own rows of each batch (a
            divisor of `replicas`).
        index: int. This process's part, `0 <= index < parts`.
    """

    replicas: int = 1
    parts: int = 1
    index: int = 0


def resolve(strategy, visible):
    """The strategy `auto` stands for: `data_parallel` when more than one
    device or process is visible, else `none`; other values stay.

    Args:
        strategy: str. The `distribute=` value.
        visible: int. Devices (or processes) the backend can use.
    """
    if strategy not in STRATEGIES:
        raise KftError(f"distribute={strategy!r} is not valid: use one of "
                       + ", ".join(STRATEGIES))
    if strategy == "auto":
        return "data_parallel" if visible > 1 else "none"
    return strategy


def check_batch(batch_size, topology):
    """Fails unless `batch_size` splits evenly over the replicas."""
    replicas = topology.replicas
    if batch_size % replicas:
        lower = batch_size - batch_size % replicas
        options = ", ".join(str(n) for n in (lower, lower + replicas) if n)
        raise KftError(
            f"batch_size={batch_size} does not split evenly over "
            f"{replicas} replicas (distribute={topology.strategy}, "
            f"{topology.engine}): use a multiple of {replicas}, e.g. "
            f"{options}")
