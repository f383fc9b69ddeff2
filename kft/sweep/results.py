"""A sweep's results: `sweep.json` (through `kft.sweep.record`),
`sweep.md`, `sweep.png` and `best`.

The record (`sweep.json`) holds the sweep's command and settings, its
objective, and one row per trial: `trial`, `run_dir` (relative to the
sweep folder), `values`, `status` (`running`, `finished`, `failed`,
`stopped`), `score` (the objective), `metrics` (the run's validation
metrics), `best_epoch`, `epochs_run`, `train_seconds` (from the run's
`metrics.json`), `seconds` (wall time of the trial's processes) and
`error` (a failed trial's error).
"""

import os

from kft import rundir
from kft.errors import KftError
from kft.rundir import layout, plots
from kft.rundir.tables import markdown_table, text_table
from kft.sweep import folder as sweep_folder
from kft.sweep import plot as sweep_plot
from kft.sweep import record as sweep_record
from kft.sweep import space as sweep_space

METRICS = ("accuracy", "f1", "auc", "loss")


def best_row(record):
    """The finished trial with the best score (the first of equals), or
    None."""
    rows = [r for r in record["trials"] if r["status"] == "finished"]
    if not rows:
        return None
    sign = -1 if record["objective"]["direction"] == "max" else 1
    return min(rows, key=lambda r: (sign * r["score"], r["trial"]))


def finish_row(row, run_dir, objective):
    """Fills a finished trial's `row` from its run's `metrics.json`.

    Raises:
        KftError: when `metrics.json` lacks the objective's metric.
    """
    metrics = rundir.read_json(os.path.join(run_dir, rundir.METRICS))
    if objective["metric"] not in metrics:
        found = [f"val_{k}" for k in METRICS if k in metrics]
        raise KftError(f"{run_dir}/{rundir.METRICS} has no "
                       f"{objective['metric']!r}, so monitor="
                       f"{objective['name']} cannot be the sweep's "
                       f"objective; use one of: {', '.join(found)}")
    row.update(status="finished", score=float(metrics[objective["metric"]]),
               metrics={k: metrics[k] for k in METRICS if k in metrics},
               best_epoch=metrics.get("best_epoch"),
               epochs_run=metrics.get("epochs_run"),
               train_seconds=metrics.get("train_seconds"),
               resumed=metrics.get("resumed"), error=None)


def write(folder, record, files=True):
    """Writes `sweep.json` (atomically); with `files`, also `sweep.md`,
    `sweep.png` and the `best` link."""
    best = best_row(record)
    record["best"] = None if best is None else {
        k: best[k] for k in ("trial", "run_dir", "values", "score")}
    record["seconds"] = sum(r["seconds"] for r in record["trials"])
    sweep_record.write(folder, record)
    if not files:
        return
    rundir.write_text(os.path.join(folder, layout.SWEEP_TABLE),
                      markdown(record))
    finished = [r for r in record["trials"] if r["status"] == "finished"]
    if finished:
        keys = [d["key"] for d in record["settings"]["space"]]
        logs = {d["key"] for d in record["settings"]["space"]
                if d.get("log")}
        ranges = {d["key"]: (d["low"], d["high"])
                  for d in record["settings"]["space"] if "low" in d}
        figure = sweep_plot.sweep_figure(
            keys, [(r["values"], r["score"]) for r in finished],
            record["objective"]["name"], finished.index(best), logs,
            ranges)
        plots.save(figure, os.path.join(folder, layout.SWEEP_PLOT))
    sweep_folder.link_best(folder, None if best is None
                           else os.path.join(folder, best["run_dir"]))


def header(record):
    """The table's columns: the trial, each swept key, and results."""
    keys = [d["key"] for d in record["settings"]["space"]]
    return ["trial", *keys, "status", record["objective"]["name"],
            "best epoch", "epochs run", "train s", "time s"]


def rows(record):
    """The table's rows, one per trial, as strings."""
    keys = [d["key"] for d in record["settings"]["space"]]
    best = best_row(record)
    table = []
    for row in record["trials"]:
        mark = " *" if best is not None and row is best else ""
        table.append([
            f"{row['trial']}{mark}",
            *(show(row["values"].get(k)) for k in keys), row["status"],
            _cell(row.get("score"), "{:.4f}"), _cell(row.get("best_epoch")),
            _cell(row.get("epochs_run")),
            _cell(row.get("train_seconds"), "{:.1f}"),
            _cell(row.get("seconds"), "{:.1f}")])
    return table


def terminal(record, folder):
    """What `kft sweep` prints at the end: the table and the best trial."""
    return "\n".join([text_table(header(record), rows(record)),
                      "", summary(record, folder)])


def markdown(record):
    """`sweep.md`: the command, the objective, the table, the best."""
    settings = record["settings"]
    objective = record["objective"]
    finished = sum(r["status"] == "finished" for r in record["trials"])
    fixed = ", ".join(f"`{k}={v}`" for k, v in settings["fixed"].items())
    return "\n".join([
        f"# kft sweep: {settings['recipe']}, {settings['algorithm']} search",
        "", f"`{record['command']}`", "",
        f"Objective: `{objective['name']}` ({objective['direction']}), the "
        f"validation `{objective['metric']}` of each trial's best epoch "
        f"(its `metrics.json`). {finished} of {len(record['trials'])} "
        f"trials finished; sweep {record['status']}. Backend "
        f"{settings['backend']}" + (", `--smoke`" if settings["smoke"]
                                    else "") + ".", "",
        markdown_table(header(record), rows(record)), "",
        "`*` marks the best trial. `train s`: training time from the run's "
        "`metrics.json`; `time s`: the whole trial process.", "",
        summary(record), "", f"Fixed: {fixed or 'nothing'}.", ""])


def summary(record, folder=None):
    """One line naming the best trial and its link, or saying there is
    none yet."""
    best = best_row(record)
    if best is None:
        return "best: none yet (no trial has finished)"
    keys = [d["key"] for d in record["settings"]["space"]]
    values = ", ".join(f"{k}={show(best['values'][k])}" for k in keys)
    link = os.path.join(folder or "", layout.SWEEP_BEST)
    return (f"best: trial {best['trial']} ({values}): "
            f"{record['objective']['name']} {best['score']:.4f}; "
            f"{link} -> {best['run_dir']}")


def show(value):
    """A value as the table shows it: floats to 3 significant digits."""
    if isinstance(value, float):
        return f"{value:.3g}"
    return sweep_space.cli_text(value)


def _cell(value, form="{}"):
    return "-" if value is None else form.format(value)
