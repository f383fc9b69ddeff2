"""kft: one fine-tuning recipe, three Keras backends.

`import kft` stays light: it imports neither keras nor a backend, so the
backend can still be chosen (`kft.backend.select`) after it.
"""

from kft import backend
from kft.errors import KftError
from kft.recipe import Recipe, TrainConfig
from kft.train import Result, train

__version__ = "0.1.0"
__all__ = [
    "KftError",
    "Recipe",
    "Result",
    "TrainConfig",
    "backend",
    "data",
    "evaluate",
    "load_model",
    "main",
    "train",
]


def evaluate(run_dir, **overrides):
    """Evaluates a finished run directory. See `kft.evaluate`."""
    from kft.evaluation import evaluate as _evaluate

    return _evaluate(run_dir, **overrides)


def load_model(run_dir):
    """Loads the best model of a run directory, on the current backend."""
    from kft.rundir import load_model as _load_model

    return _load_model(run_dir)


def main(recipe=None, argv=None):
    """Runs the CLI, or `recipe` with `key=value` arguments from argv."""
    from kft.cli import main as _main

    return _main(recipe, argv)


def __getattr__(name):
    if name == "data":
        import importlib

        return importlib.import_module("kft.data")
    raise AttributeError(f"module 'kft' has no attribute {name!r}")
