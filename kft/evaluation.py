"""`evaluate(run_dir)`: a finished run's saved model on a labelled split.

It reads the run's `config.json` for the data source and batch size, but
never imports or runs the recipe: a run directory may come from someone
else. The recipe name maps to a GLUE task (`RECIPE_TASKS`); the model loads
in Keras safe mode.
"""

import os

from kft import rundir
from kft.errors import KftError

# Recipe name (config.json "recipe") -> GLUE task of kft.data.glue.
RECIPE_TASKS = {"mrpc": "mrpc", "sst2": "sst2"}
SPLITS = ("train", "validation", "test")
KEYS = ("batch_size", "data_dir", "split")


def evaluate(run_dir, /, data_dir=None, split="validation", batch_size=None,
             **unknown) -> dict:
    """Evaluates `run_dir/model.keras` and writes `run_dir/eval-SPLIT.json`.

    Args:
        run_dir: str. A run directory written by `kft run` / `kft.train`.
        data_dir: str or None. A folder holding `SPLIT.tsv` (GLUE format).
            None: the run's own `data_dir` (None there means TFDS).
        split: str. `train`, `validation` or `test`.
        batch_size: int, str or None. None: the run's own batch size.

    Returns:
        dict with `accuracy`, `f1`, `auc`, `loss` (floats), `split`,
        `data_dir`, `examples` and `backend`.

    Raises:
        KftError: for an unknown key, a folder that is not a run directory,
            a run of a recipe kft cannot read, or a missing or bad split.

    Example:

    ```python
    kft.evaluate("runs/try1", data_dir="heldout", split="test")
    ```
    """
    if unknown:
        from kft.overrides import unknown_key

        raise KftError(unknown_key(sorted(unknown)[0], KEYS))
    record = rundir.read_run(run_dir, need=(rundir.CONFIG, rundir.MODEL))
    config = record.get("config") or {}
    task = _task(run_dir, record.get("recipe"))
    if split not in SPLITS:
        raise KftError(
            f"split={split!r} is not a split; use one of {', '.join(SPLITS)}"
        )
    if batch_size is None:
        batch_size = config.get("batch_size") or 32
    batch_size = _positive_int(batch_size)
    if data_dir is None:
        data_dir = config.get("data_dir")
    examples, num_classes = _split(task, data_dir, split)

    from kft import backend
    from kft.losses import default_loss
    from kft.train import metrics_for

    model = rundir.load_model(run_dir)
    model.compile(loss=default_loss(), metrics=metrics_for(num_classes))
    values = model.evaluate(examples.dataset(batch_size), verbose=0,
                            return_dict=True)
    result = {k: float(v) for k, v in values.items()}
    result.update(split=split, data_dir=data_dir, examples=len(examples),
                  backend=backend.current())
    rundir.write_json(eval_path(run_dir, split), result)
    return result


def eval_path(run_dir, split):
    """Where `evaluate` writes its metrics: `run_dir/eval-SPLIT.json`."""
    return os.path.join(run_dir, f"eval-{split}.json")


def _task(run_dir, recipe):
    if recipe not in RECIPE_TASKS:
        raise KftError(
            f"{os.path.join(run_dir, rundir.CONFIG)} names recipe "
            f"{recipe!r}; `kft eval` can read runs of the recipes "
            + ", ".join(sorted(RECIPE_TASKS))
        )
    return RECIPE_TASKS[recipe]


def _positive_int(value):
    from kft.overrides import convert

    number = convert("batch_size", value, int)
    if number < 1:
        raise KftError(f"batch_size={value!r} must be at least 1")
    return number


def _split(task, data_dir, split):
    """`(Split, number of classes)` of a GLUE task.

    A local folder needs only the split's own file, so a held-out folder
    with just `test.tsv` works.
    """
    from kft.data import Split, glue
    from kft.data.glue import SPLIT_FILES, TASKS, read_glue_tsv

    columns, classes = TASKS[task]
    if data_dir is None:
        found = getattr(glue(task), split)
        if found is None:
            raise KftError(
                f"TensorFlow Datasets glue/{task} has no labelled {split} "
                "split; pass data_dir=PATH with a labelled "
                f"{SPLIT_FILES[split]}"
            )
        return found, len(classes)
    if not os.path.isdir(data_dir):
        raise KftError(f"data_dir {data_dir!r} is not a folder")
    path = os.path.join(data_dir, SPLIT_FILES[split])
    if not os.path.isfile(path):
        raise KftError(
            f"{path} is missing; split={split} reads that file "
            f"(GLUE format: a header naming label and "
            f"{', '.join(columns)})"
        )
    return Split(*read_glue_tsv(path, columns, classes)), len(classes)
