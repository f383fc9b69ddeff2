"""A training run's process settings: devices, memory, random bits, seeds
and precision; and their record for `env.json`.

The rule for process-wide state: `configure` returns a function that puts
back what it changed and can be undone (Keras's dtype policy, the Keras
distribution, JAX's random-bits flag, JAX's convolutions and pooling
and torch's float32 matmuls on CPU: `kft.runtime.kernels.jax_cpu_rewrites`,
`onednn_matmul`), and `kft.train` calls it when it returns. What cannot
be undone stays, and is listed here and in the README:

- glibc's allocator settings (`kft.runtime.allocator`: `keep_freed_memory`,
  and one arena under JAX), which last until the process exits;
- a `torchrun` process group, or JAX's multi-host client, once joined;
- the global random generators that `keras.utils.set_random_seed` seeds
  (Python's, NumPy's and the backend's), left where training left them.
"""

import contextlib
import os
import platform
import random
from importlib import metadata

from kft.runtime import allocator, compat, distribute, kernels
from kft.runtime.backend import current

# Open patches, held here so that a caller who drops `configure`'s restore
# function (`prepare`: "for good") keeps them: a generator-based context
# manager that is garbage-collected closes, and would undo its patch.
_HELD = []


def configure(config):
    """Sets up the devices (`kft.runtime.distribute`), the memory allocator
    (`kft.runtime.allocator`), the random-number generator
    (`random_bits`), seeds every generator and sets precision for a
    training run.

    Args:
        config: TrainConfig. Reads `distribute`, `keep_freed_memory`, `seed`
            and `precision`.

    Returns:
        A function of no arguments that restores the dtype policy, the
        distribution, JAX's random-bits flag, its convolutions and pooling
        and torch's matmuls as they were.
    """
    import keras
    import numpy as np

    saved = _saved_state()
    topology = distribute.configure(config)  # first: hosts join first
    random_bits(len(topology.devices) or 1)
    if config.keep_freed_memory:
        allocator.keep()
    held = contextlib.ExitStack()
    held.enter_context(kernels.jax_cpu_rewrites())
    held.enter_context(kernels.onednn_matmul())
    _HELD.append(held)
    random.seed(config.seed)
    np.random.seed(config.seed)
    keras.utils.set_random_seed(config.seed)
    keras.config.set_dtype_policy(config.precision)

    def restore():
        held.close()
        if held in _HELD:
            _HELD.remove(held)
        saved()

    return restore


def _saved_state():
    import keras

    policy = keras.config.dtype_policy()
    jax_flag = _random_setting().get("threefry_partitionable")

    def restore():
        keras.config.set_dtype_policy(policy)
        distribute.reset()
        if jax_flag is not None:
            compat.set_threefry_partitionable(jax_flag)

    return restore


def random_bits(devices: int) -> dict:
    """Chooses how JAX draws random bits (dropout masks) for `devices`.

    JAX's default threefry generator is "partitionable": each value is
    computed from its own index, so an array sharded over many devices
    draws its part on each device. On one device it takes about twice as
    long as the sequential form: drawing one MRPC step's dropout masks
    (MiniLM, 32 x 64 tokens) takes 135 ms partitionable and 71 ms not, and
    the whole `fit` step goes from 1.13 s to 1.02 s on this project's
    2-core CPU (`tools/results/speed_mrpc.md`). So a run on one device
    uses the sequential form, and a run over several devices keeps JAX's
    default. Both are threefry2x32 with the same seeds; only the stream
    differs. Other backends are left alone.

    Args:
        devices: int. Devices the run uses.

    Returns:
        The setting, for `env.json`: `{}` off JAX, else
        `{"prng": ..., "threefry_partitionable": bool}`.
    """
    if current() == "jax":
        compat.set_threefry_partitionable(devices > 1)
    return _random_setting()


def _random_setting():
    if current() != "jax":
        return {}
    import jax

    config = jax.config
    return {"prng": config.jax_default_prng_impl,
            "threefry_partitionable": bool(config.jax_threefry_partitionable)}


def describe(seed: int) -> dict:
    """Backend, devices, package versions, seed and distribution (strategy,
    replicas, processes, mesh), for `env.json`."""
    import keras

    versions = {"python": platform.python_version()}
    for package in ("kft", "keras", "keras_hub", "numpy", "tensorflow"):
        versions[package] = _version(package)
    versions[current()] = _version(current())
    return {
        "backend": current(),
        "random": _random_setting(),
        "devices": _devices(),
        "versions": versions,
        "seed": seed,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "dtype_policy": keras.config.dtype_policy().name,
        "distribution": distribute.describe(),
    }


def _version(package):
    name = {"keras_hub": "keras-hub"}.get(package, package)
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _devices():
    name = current()
    if name == "jax":
        import jax

        return [str(d) for d in jax.devices()]
    if name == "torch":
        import torch

        count = torch.cuda.device_count()
        return [f"cuda:{i}" for i in range(count)] or ["cpu"]
    import tensorflow as tf

    return [d.name for d in tf.config.list_logical_devices()]
