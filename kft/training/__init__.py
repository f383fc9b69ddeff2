"""Training: compile and `fit` a recipe's model, and keep its state.

- `trainer`: `train(recipe)`, from data to a finished run directory;
- `optimizers`, `fused_adam`, `schedules`, `losses`, `metrics`
  (`multiclass`): what `compile` gets;
- `callbacks`: the best model, NaN check, curves, unfreezing, timing;
- `backup`, `checkpoint`, `callback_state`, `resume`: a run that goes on
  exactly after a kill;
- `outputs`, `scores`: outputs over a split, and what they score;
- `saving`: the model saved atomically and loaded in safe mode;
- `record`, `result`, `timing`: `config.json`, `Result`, step timing.

Several of these modules subclass Keras classes, so importing them
imports keras, which fixes the backend. The names below therefore load
on first use (PEP 562), so that `import kft` and the CLI stay light until
the backend is chosen; this table is the only deferred import of kft's
own code. Light modules (`resume`, `record`, `checkpoint`, `scores`,
`timing`, `result`) import directly.
"""

import importlib

# Name -> the module of this package that defines it.
LAZY = {
    "train": "trainer",
    "prepare": "trainer",
    "load_model": "saving",
    "predictions": "outputs",
    "classification_metrics": "outputs",
}
__all__ = sorted(LAZY)


def __getattr__(name):
    module = LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__():
    return sorted(set(globals()) | set(LAZY))
