"""The one place that chooses the Keras backend.

Only this module reads or writes `KERAS_BACKEND`. `select` must run before
the first `import keras`: Keras reads the variable once, and for jax,
`select` also sets up the memory allocator before jax starts its threads.
"""

import os
import sys

from kft.errors import KftError
from kft.runtime import allocator

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
    (`kft.runtime.allocator.one_arena`). A jax MRPC run goes from 28.8 to 37.9
    examples/s with it; torch (38.8 and 38.8) and tensorflow (40.3 and
    39.7) gain nothing, so they keep glibc's default."""
    allocator.one_arena()


def current_name():
    """The backend `KERAS_BACKEND` names, or None: without importing
    keras (a launcher of other processes needs no engine itself)."""
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    return os.environ.get("KERAS_BACKEND")


def current() -> str:
    """The backend Keras uses (or will use) in this process."""
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    name = os.environ.get("KERAS_BACKEND")
    if name:
        return name
    import keras

    return keras.backend.backend()


