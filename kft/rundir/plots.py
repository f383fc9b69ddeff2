"""PNG plots of a run: learning curves and the confusion matrix.

Figures are drawn by matplotlib's Agg backend on `Figure` objects of their
own (never pyplot's global state), so plotting needs no display and does
not touch other figures. PNGs are written through a temporary file and a
rename.

    curves.png     one panel per logged quantity (train and validation),
                   and one for the learning rate, against the epoch
    confusion.png  the best model's confusion matrix on validation
"""

import csv
import math
import os

from kft.rundir import atomic, layout

DPI = 100
PANEL = (4.0, 3.0)  # inches per learning-curve panel
COLUMNS = 3  # panels per row


def write_confusion(run_dir, matrix, class_names):
    """Draws `matrix` (rows true, columns predicted) into
    `run_dir/confusion.png`."""
    save(confusion_figure(matrix, class_names),
         os.path.join(run_dir, layout.CONFUSION))


def write_curves(run_dir):
    """Plots `run_dir/history.csv` into `run_dir/curves.png`."""
    history = read_history(os.path.join(run_dir, layout.HISTORY))
    save(curves_figure(history), os.path.join(run_dir, layout.CURVES))


def read_history(path):
    """`history.csv` as `{column: [float, ...]}`; `epoch` counts from 1."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    history = {key: [_number(row[key]) for row in rows]
               for key in (rows[0] if rows else [])}
    if "epoch" in history:
        history["epoch"] = [int(e) + 1 for e in history["epoch"]]
    return history


def panels(history):
    """The quantities `curves_figure` draws, one panel each: `loss` first,
    then the others in `history`'s order, and `learning_rate` last."""
    names = [k for k in history if k not in ("epoch", "learning_rate")]
    base = [k[4:] if k.startswith("val_") else k for k in names]
    found = sorted(dict.fromkeys(base), key=lambda k: k != "loss")
    return found + (["learning_rate"] if "learning_rate" in history else [])


def curves_figure(history):
    """Learning curves: per quantity, train and validation by epoch.

    Args:
        history: dict of lists, e.g. `{"loss": [...], "val_loss": [...],
            "learning_rate": [...]}` (`fit`'s history, or `read_history`).
            `epoch` (counting from 1) is the x axis when present.

    Returns:
        matplotlib.figure.Figure with one axes per `panels(history)`, laid
        out `COLUMNS` to a row, `PANEL` inches each at `DPI`.
    """
    from matplotlib.ticker import MaxNLocator

    names = panels(history)
    columns = max(min(len(names), COLUMNS), 1)
    rows = max(math.ceil(len(names) / columns), 1)
    figure = new_figure(PANEL[0] * columns, PANEL[1] * rows)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    length = max((len(v) for v in history.values()), default=0)
    epochs = history.get("epoch") or list(range(1, length + 1))
    for ax, name in zip(axes, names, strict=False):
        for key, label in ((name, "train"), (f"val_{name}", "validation")):
            if name == "learning_rate" and key == name:
                label = "learning rate"
            if key in history:
                ax.plot(epochs, history[key], marker="o", label=label)
        ax.set_title(name.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    for ax in axes[len(names):]:
        figure.delaxes(ax)
    return figure


def confusion_figure(matrix, class_names, title="best model, validation"):
    """The confusion matrix as a heat map with the count in each cell.

    Args:
        matrix: `(n, n)` array of counts; rows true, columns predicted.
        class_names: sequence of n str.
        title: str. What was classified, for the title.

    Returns:
        matplotlib.figure.Figure, `confusion_side(n)` inches square.
    """
    import numpy as np

    matrix = np.asarray(matrix)
    n = len(class_names)
    side = confusion_side(n)
    figure = new_figure(side, side)
    ax = figure.subplots()
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=max(matrix.max(), 1))
    ticks = range(n)
    ax.set_xticks(ticks, labels=class_names, rotation=45 if n > 4 else 0)
    ax.set_yticks(ticks, labels=class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title}: {int(matrix.sum())} examples")
    dark = matrix.max() / 2
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center",
                color="white" if count > dark else "black")
    return figure


def confusion_side(num_classes):
    """Side in inches of the confusion-matrix figure for `num_classes`."""
    return min(3.0 + 0.5 * num_classes, 20.0)


def save(figure, path):
    """Renders `figure` as PNG into `path` through a temporary file."""
    with atomic.written(path) as temporary:
        figure.savefig(temporary, format="png", dpi=DPI)


def new_figure(width, height):
    """An empty Agg `Figure`, `width` by `height` inches at `DPI`, laid
    out by matplotlib's constrained layout (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _number(text):
    try:
        return float(text)
    except ValueError:
        return math.nan
