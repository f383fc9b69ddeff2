"""Saving a trained model atomically, and loading a run's model safely."""

import os
import warnings

from kft import rundir
from kft.errors import KftError
from kft.rundir import atomic
from kft.runtime import compat

# Imported for their registered Keras classes, which a saved model names.
from kft.training import fused_adam, losses, metrics, optimizers, schedules

REGISTERED = (fused_adam, losses, metrics, optimizers, schedules)


def save(model, path):
    """Saves `model` to `path` (`.keras`) through a temporary file and a
    rename: a kill leaves the old file or the new one."""
    with atomic.written(path, ".keras") as temporary:  # Keras wants .keras
        with compat.preprocessor_in_place(model):
            model.save(temporary)


def load_model(run_dir):
    """Loads `run_dir/model.keras` on the current backend, in safe mode.

    Raises:
        KftError: when the file is missing or is not a Keras model, and
            when it holds Python code (a `Lambda` layer's function): Keras
            safe mode refuses that, and so does kft.
    """
    path = os.path.join(run_dir, rundir.MODEL)
    if not os.path.exists(path):
        raise KftError(
            f"{path} does not exist; give a run directory written by "
            "`kft run`"
        )
    import keras
    import keras_hub  # noqa: F401  (registers KerasHub classes)

    try:
        with warnings.catch_warnings():
            # compile=False: the saved optimizer state is not wanted.
            warnings.filterwarnings("ignore", "Skipping variable loading "
                                    "for optimizer")
            return keras.saving.load_model(path, compile=False,
                                           safe_mode=True)
    except Exception as error:  # noqa: BLE001  (any failure: bad input)
        raise KftError(_load_problem(path, error)) from None


def _load_problem(path, error):
    """Why `path` did not load, in one line."""
    text = " ".join(str(error).split())
    if "safe_mode" in text:
        # Keras refuses to deserialize Python code (e.g. a Lambda layer).
        return (f"refused to load {path}: it holds Python code, which Keras "
                f"safe mode does not run ({text.split('. ')[0]}); kft loads "
                "only models without code: use a run directory you trust, "
                "written by `kft run`")
    return (f"{path} is not a Keras model kft can load "
            f"({type(error).__name__}: {text[:300]}); give a run directory "
            "written by `kft run`")
