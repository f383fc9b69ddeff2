"""kft: one fine-tuning recipe, three Keras backends.

The public API, re-exported from the subpackages that define it:

- `Recipe`, `TrainConfig` (`kft.config`);
- `train`, `Result`, `load_model` (`kft.training`);
- `evaluate` (`kft.evaluation.evaluate`), `main` (`kft.commands.cli`);
- `backend` (`kft.runtime.backend`: `kft.backend.select("jax")`);
- `data` and `model`, the subpackages recipes use.

`import kft` stays light: it imports neither keras nor a backend, so the
backend can still be chosen (`kft.backend.select`) after it.
"""

from kft import data, model, training
from kft.commands.cli import main
from kft.config import Recipe, TrainConfig
from kft.errors import KftError
from kft.evaluation.evaluate import evaluate
from kft.runtime import backend
from kft.training.interrupt import Interrupted
from kft.training.result import Result
from kft.version import __version__

__all__ = [
    "Interrupted",
    "KftError",
    "Recipe",
    "Result",
    "TrainConfig",
    "__version__",
    "backend",
    "data",
    "evaluate",
    "load_model",
    "main",
    "model",
    "train",
]


def train(recipe, **overrides):
    """Fine-tunes `recipe` (with `overrides`) and writes its run directory.

    See `kft.training.trainer.train`.

    Example:

    ```python
    import kft
    kft.backend.select("jax")
    from recipes import mrpc
    result = kft.train(mrpc.recipe(), epochs=1, limit=64)
    ```
    """
    return training.train(recipe, **overrides)


def load_model(run_dir):
    """Loads the best model of a run directory, on the current backend,
    in Keras safe mode."""
    return training.load_model(run_dir)
