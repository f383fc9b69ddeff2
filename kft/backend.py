"""The one place that chooses and configures the Keras backend.

Only this module reads or writes `KERAS_BACKEND`. `select` must run before
the first `import keras`: Keras reads the variable once.
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
    return name


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
    (`kft.allocator`), seeds every generator and sets precision for a
    training run.

    Args:
        config: TrainConfig. Reads `distribute`, `keep_freed_memory`, `seed`
            and `precision`.
    """
    import keras
    import numpy as np

    from kft import allocator, distribute

    distribute.configure(config)  # first: hosts join before any compute
    if config.keep_freed_memory:
        allocator.keep()

    random.seed(config.seed)
    np.random.seed(config.seed)
    keras.utils.set_random_seed(config.seed)
    keras.config.set_dtype_policy(config.precision)


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
