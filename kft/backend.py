"""The one place that chooses and configures the Keras backend.

Only this module reads or writes `KERAS_BACKEND`. `select` must run before
the first `import keras`: Keras reads the variable once, and for jax,
`select` also sets up the memory allocator before jax starts its threads.
"""

import os
import platform
import random
import sys

from kft.errors import KftError

BACKENDS = ("torch", "jax", "tensorflow")


def select(name: str | None) -> str:
    """Chooses the Keras backend for this process.

    Args:
        name: str or None. `torch`, `jax` or `tensorflow`. None keeps
            `KERAS_BACKEND` (or Keras's own default).

    Returns:
        The backend that Keras will use.

    Raises:
        KftError: for an unknown name, or when keras is already imported
            with a different backend.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if name is None:
        if os.environ.get("KERAS_BACKEND") == "jax":
            _before_jax()
        return current()
    if name not in BACKENDS:
        raise KftError(
            f"unknown backend {name!r}; use one of {', '.join(BACKENDS)}"
        )
    if "keras" in sys.modules:
        loaded = sys.modules["keras"].backend.backend()
        if loaded != name:
            raise KftError(
                f"keras is already imported with backend {loaded!r}; "
                f"select {name!r} before the first `import keras`, or "
                f"set KERAS_BACKEND={name} before starting Python"
            )
    os.environ["KERAS_BACKEND"] = name
    if name == "jax":
        _before_jax()
    return name


def _before_jax():
    """What must happen before jax starts its threads: one glibc arena
    (`kft.allocator.one_arena`). A jax MRPC run goes from 28.8 to 37.9
    examples/s with it; torch (38.8 and 38.8) and tensorflow (40.3 and
    39.7) gain nothing, so they keep glibc's default."""
    from kft import allocator

    allocator.one_arena()


def current() -> str:
    """The backend Keras uses (or will use) in this process."""
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    name = os.environ.get("KERAS_BACKEND")
    if name:
        return name
    import keras

    return keras.backend.backend()


def configure(config) -> None:
    """Sets up the devices (`kft.distribute`), the memory allocator
    (`kft.allocator`), the random-number generator (`random_bits`), seeds
    every generator and sets precision for a training run.

    Args:
        config: TrainConfig. Reads `distribute`, `keep_freed_memory`, `seed`
            and `precision`.
    """
    import keras
    import numpy as np

    from kft import allocator, distribute

    topology = distribute.configure(config)  # first: hosts join first
    random_bits(len(topology.devices) or 1)
    if config.keep_freed_memory:
        allocator.keep()

    random.seed(config.seed)
    np.random.seed(config.seed)
    keras.utils.set_random_seed(config.seed)
    keras.config.set_dtype_policy(config.precision)


def random_bits(devices: int) -> dict:
    """Chooses how JAX draws random bits (dropout masks) for `devices`.

    JAX's default threefry generator is "partitionable": each value is
    computed from its own index, so an array sharded over many devices
    draws its part on each device. On one device it takes about twice as
    long as the sequential form: drawing one MRPC step's dropout masks (MiniLM,
    32 x 64 tokens) takes 135 ms partitionable and 71 ms not, and the whole
    `fit` step goes from 1.13 s to 1.02 s on this project's 2-core CPU
    (`tools/results/speed_mrpc.md`). So a run on one device uses the
    sequential form, and a run over several devices keeps JAX's default.
    Both are threefry2x32 with the same seeds; only the stream differs.
    Other backends are left alone.

    Args:
        devices: int. Devices the run uses.

    Returns:
        The setting, for `env.json`: `{}` off JAX, else
        `{"prng": ..., "threefry_partitionable": bool}`.
    """
    if current() == "jax":
        import jax

        jax.config.update("jax_threefry_partitionable", devices > 1)
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

    from kft import distribute

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
    from importlib import metadata

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
