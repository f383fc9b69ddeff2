"""The run directory: what a training run leaves behind, written safely.

    config.json   the resolved config, the recipe and the kft version
    env.json      backend, devices, package versions, seed
    history.csv   one row of train and validation values per epoch
    curves.png    learning curves and learning rate (`kft.rundir.plots`)
    confusion.png the best model's validation confusion matrix
    tensorboard/  TensorBoard event files, with `tensorboard=true`
    model.keras   the best model (whole KerasHub task with preprocessor)
    metrics.json  final validation metrics of the best model; written last,
                  so its presence marks a finished run
    backup.npz    the training state of an unfinished run
                  (`kft.training.checkpoint`)
    eval-SPLIT.json, eval-SPLIT.md, eval-SPLIT-confusion.png
                  `kft eval`'s metrics, report and confusion matrix of a
                  split (`eval_json`, `eval_markdown`, `eval_confusion`)
    export-FORMAT/ `kft export`'s default folder (`export_folder`): the
                  artefact (`EXPORT_ARTEFACTS`) and `export.json`

A sweep's folder (`kft sweep`, `kft.sweep.folder`) holds `sweep.json`,
`sweep.md`, `sweep.png`, the `best` link and `trials/NNN/` run
directories (`SWEEP_*`).
"""

import csv
import json
import math
import os
import time

from kft.errors import KftError
from kft.rundir import atomic
from kft.version import __version__

CONFIG, ENV, HISTORY = "config.json", "env.json", "history.csv"
MODEL, METRICS, BACKUP = "model.keras", "metrics.json", "backup.npz"
CURVES, CONFUSION = "curves.png", "confusion.png"
TENSORBOARD = "tensorboard"  # event files, with `tensorboard=true`
# `kft export`'s folder: the artefact of each format, and its manifest.
EXPORT_ARTEFACTS = {"keras": "model.keras", "saved_model": "saved_model",
                    "onnx": "model.onnx"}
EXPORT_MANIFEST = "export.json"
# A sweep's folder (`kft.sweep.folder`); `kft.sweep.record` alone reads
# and writes SWEEP_RECORD.
SWEEP_RECORD, SWEEP_TABLE, SWEEP_PLOT = "sweep.json", "sweep.md", "sweep.png"
SWEEP_BEST, SWEEP_TRIALS = "best", "trials"
# The layout version of run directories. Raise it when a change makes older
# run directories unreadable; `read_run` refuses any other.
RUN_FORMAT = 1


def eval_json(split):
    """`kft eval`'s metrics of `split`: `eval-SPLIT.json`."""
    return f"eval-{split}.json"


def eval_markdown(split):
    """`kft eval`'s readable report of `split`: `eval-SPLIT.md`."""
    return f"eval-{split}.md"


def eval_confusion(split):
    """`kft eval`'s confusion matrix of `split`:
    `eval-SPLIT-confusion.png`."""
    return f"eval-{split}-confusion.png"


def eval_files(split):
    """The files `kft eval` of `split` writes, in that order."""
    return eval_json(split), eval_markdown(split), eval_confusion(split)


def export_folder(format):
    """`kft export`'s default folder in a run directory:
    `export-FORMAT`."""
    return f"export-{format}"


def default_path(name, backend):
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return os.path.join("runs", f"{name}-{backend}-{stamp}")


def prepare(path):
    """Makes `path` ready for a new run, or explains why it cannot be.

    A finished run is never overwritten. An unfinished kft run (no
    `metrics.json`) that `kft.training.resume` does not resume is started
    again. Any other non-empty folder is refused.
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise KftError(f"output_dir={path!r} is a file, not a folder")
    if os.path.isdir(path) and os.listdir(path):
        if os.path.exists(os.path.join(path, METRICS)):
            raise KftError(
                f"output_dir={path!r} already holds a finished run; "
                "choose another output_dir or delete that folder"
            )
        if not os.path.exists(os.path.join(path, CONFIG)):
            raise KftError(
                f"output_dir={path!r} is not empty and is not a kft run "
                "directory; choose an empty or new folder"
            )
        for name in (MODEL, HISTORY):
            if os.path.exists(os.path.join(path, name)):
                os.remove(os.path.join(path, name))
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, ".write-test")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as error:
        raise KftError(
            f"output_dir={path!r} is not writable ({error.strerror}); "
            "choose another output_dir"
        ) from None
    return path


def write_json(path, data):
    """Writes JSON through a temporary file and a rename: never half-done."""
    with atomic.writing(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True, default=_plain)
        f.write("\n")


def write_text(path, text):
    """Writes text through a temporary file and a rename: never half-done."""
    with atomic.writing(path, "w", encoding="utf-8") as f:
        f.write(text)


def read_json(path, fix="give a run directory written by `kft run`"):
    """The JSON in `path`; `KftError` naming the file when it is missing
    or not readable JSON.

    Args:
        path: str.
        fix: str. What the user can do, for the message.
    """
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        raise KftError(f"{path} does not exist; {fix}") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        reason = " ".join(str(error).split())[:200]
        raise KftError(f"{path} is not readable JSON ({reason}); {fix}") \
            from None


def inputs_record(splits):
    """What the task's model takes and returns, for tools that read a run
    directory without importing its recipe (`kft eval`, `kft predict`).

    Returns:
        dict: `kind` (`text`, `text_pair` or `image`), `class_names`,
        `image_size` for images, and the data's `origin` (e.g.
        `text_columns` and `label_column`, or `tfds` and `tfds_splits`),
        so that its files can be read again.
    """
    train = splits.train
    if train.image_size is not None:
        kind = "image"
    else:
        kind = "text_pair" if isinstance(train.x, tuple) else "text"
    record = {"kind": kind, "class_names": list(splits.class_names)}
    if kind == "image":
        record["image_size"] = train.image_size
    record.update(getattr(splits, "origin", None) or {})
    return record


def read_run(run_dir, recipe=None, need=(CONFIG,)):
    """Reads and checks `run_dir/config.json` of a kft run directory.

    Args:
        run_dir: str. A run directory written by `kft run`.
        recipe: str or None. When given, the run must be of this recipe.
        need: tuple of str. Files the caller needs in the run directory.

    Returns:
        The config record: `kft_version`, `run_format`, `recipe`, `config`
        and (for runs since `inputs` was recorded) `inputs`.

    Raises:
        KftError: for a missing file, unreadable JSON, a run directory of
            another layout version, or of another recipe.
    """
    hint = "give a run directory written by `kft run`"
    if not os.path.isdir(run_dir):
        raise KftError(f"{run_dir} is not a folder; {hint}")
    for name in need:
        path = os.path.join(run_dir, name)
        if not os.path.isfile(path):
            raise KftError(f"{path} does not exist; {hint}")
    path = os.path.join(run_dir, CONFIG)
    record = read_json(path, hint)
    if not isinstance(record, dict) or "recipe" not in record:
        raise KftError(f"{path} is not a kft config record; {hint}")
    found = record.get("run_format", 1)  # 0.1.0 wrote none: format 1
    if found != RUN_FORMAT:
        raise KftError(
            f"{path} was written by kft {record.get('kft_version')} "
            f"(run format {found}); this kft {__version__} reads run "
            f"format {RUN_FORMAT}: use that kft version, or train again")
    if recipe is not None and record["recipe"] != recipe:
        raise KftError(
            f"{run_dir} is a run of recipe {record['recipe']!r}, not "
            f"{recipe!r}; choose another output_dir")
    return record


def unfinished(run_dir, record):
    """None for a finished run (it has `metrics.json`); else a sentence
    saying which epoch's model `model.keras` holds, for a warning.

    Args:
        run_dir: str. A run directory.
        record: dict. Its `config.json` record (`read_run`).
    """
    if os.path.exists(os.path.join(run_dir, METRICS)):
        return None
    monitor = (record.get("config") or {}).get("monitor", "val_loss")
    rows = _history(run_dir)
    scored = [(float(r[monitor]), i) for i, r in enumerate(rows)
              if _number(r.get(monitor))]
    if scored:
        best = (min if "loss" in monitor else max)(scored)
        which = (f"epoch {best[1] + 1} of the {len(rows)} done ({monitor} "
                 f"{best[0]:.4f})")
    else:
        which = "the best epoch so far"
    return (f"{run_dir} is an unfinished run (no {METRICS}): its {MODEL} "
            f"is from {which}; finish it with `kft resume {run_dir}`")


def _history(run_dir):
    path = os.path.join(run_dir, HISTORY)
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _number(text):
    try:
        return math.isfinite(float(text))
    except (TypeError, ValueError):
        return False


def check_writable(path):
    """Fails early, creating nothing, when `path` could not be written."""
    parent = os.path.abspath(path)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise KftError(f"output_dir={path!r}: {parent} is a file, not a "
                       "folder; choose another output_dir")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise KftError(f"output_dir={path!r} is not writable ({parent} is "
                       "read-only); choose another output_dir")


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
