"""`kft report RUN_DIR ...`: finished and unfinished runs side by side.

It reads only the small JSON files of each run directory (`config.json`,
`env.json`, `metrics.json`, and `history.csv` for unfinished runs), never
a model, so it is fast. A run without `metrics.json` is listed as
unfinished; a folder that is not a run directory is an error. A sweep's
folder (`kft sweep`) stands for its trials' run directories, in trial
order.
"""

import os

from kft import rundir
from kft.errors import KftError
from kft.rundir.tables import markdown_table, text_table
from kft.sweep import folder as sweep_folder
from kft.sweep import record as sweep_record

HEADER = ["run", "recipe", "backend", "status", "epochs", "best", "accuracy",
          "f1", "auc", "loss", "train s", "examples/s", "differences"]
# Config keys that differ between any two runs and say nothing about them.
IGNORED = ("output_dir",)


def compare(run_dirs, out=None):
    """Compares `run_dirs`; returns the terminal table.

    Args:
        run_dirs: list of str. Run directories written by `kft run`, or
            sweep folders (`kft sweep`): each stands for its trials.
        out: str or None. Also write the comparison as Markdown here
            (atomically).

    Returns:
        str: the plain-text table, one row per run (`HEADER`).

    Raises:
        KftError: naming a folder that is not a run directory, or a file
            of a run directory that is not readable JSON.

    Example:

    ```python
    from kft.commands.report import compare
    print(compare(["runs/a", "runs/b"], out="report.md"))
    ```
    """
    runs = [read(d) for d in expand(run_dirs)]
    rows = table_rows(runs)
    if out is not None:
        rundir.write_text(out, markdown(rows))
    return text_table(HEADER, rows)


def expand(paths):
    """`paths` with each sweep folder replaced by its trials' run
    directories, in trial order."""
    found = []
    for path in paths:
        if not sweep_record.is_sweep(path):
            found.append(path)
            continue
        trials = sweep_folder.trial_dirs(path)
        if not trials:
            raise KftError(f"{path} is a sweep without trial run "
                           "directories yet; report it once a trial runs")
        found.extend(trials)
    return found


def read(run_dir):
    """One run's `config.json` record, `env.json` and `metrics.json`
    (None if unfinished), and the epochs in its `history.csv`."""
    record = rundir.read_run(run_dir)
    env = _json(run_dir, rundir.ENV) or {}
    metrics = _json(run_dir, rundir.METRICS)
    epochs = None
    history = os.path.join(run_dir, rundir.HISTORY)
    if os.path.isfile(history):
        with open(history, encoding="utf-8") as f:
            epochs = max(sum(1 for line in f if line.strip()) - 1, 0)
    return {"dir": run_dir, "record": record, "env": env,
            "metrics": metrics, "history_epochs": epochs}


def table_rows(runs):
    """The rows of the comparison, one per run, as strings."""
    differences = config_differences([r["record"].get("config") or {}
                                      for r in runs])
    rows = []
    for run, different in zip(runs, differences, strict=True):
        metrics = run["metrics"] or {}
        timing = metrics.get("timing") or {}
        epochs = metrics.get("epochs_run", run["history_epochs"])
        rows.append([
            run["dir"], run["record"].get("recipe", "?"),
            run["env"].get("backend", "?"),
            "finished" if run["metrics"] is not None else "unfinished",
            _cell(epochs), _cell(metrics.get("best_epoch")),
            *(_cell(metrics.get(k), "{:.4f}")
              for k in ("accuracy", "f1", "auc", "loss")),
            _cell(metrics.get("train_seconds"), "{:.1f}"),
            _cell(timing.get("examples_per_second"), "{:.1f}"),
            different])
    return rows


def config_differences(configs):
    """Per config, `key=value` of each key whose value differs between
    the configs (`-` where a config lacks it), comma-separated."""
    keys = sorted({k for c in configs for k in c} - set(IGNORED))
    missing = object()
    differing = [k for k in keys
                 if len({repr(c.get(k, missing)) for c in configs}) > 1]
    return [", ".join(f"{k}={c[k]}" if k in c else f"{k}=-"
                      for k in differing) for c in configs]


def markdown(rows):
    """The comparison as a Markdown document."""
    return ("# kft report\n\n" + markdown_table(HEADER, rows)
            + "\n\nMetrics are on the validation split, of the best "
            "epoch's model; examples/s is measured over clean training "
            "steps (`metrics.json` `timing`).\n")


def _json(run_dir, name):
    path = os.path.join(run_dir, name)
    if not os.path.isfile(path):
        return None
    return rundir.read_json(path, "delete it or leave that run out of the "
                            "report")


def _cell(value, form="{}"):
    return "-" if value is None else form.format(value)
