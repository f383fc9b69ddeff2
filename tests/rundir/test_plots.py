"""kft/rundir/plots.py: learning curves and the confusion matrix, as figures
with the history's data, as PNGs in every run directory."""

import os

import numpy as np
import pytest
from PIL import Image

from kft.rundir import plots

HISTORY = {
    "epoch": [1, 2, 3],
    "accuracy": [0.5, 0.7, 0.8],
    "f1": [0.4, 0.6, 0.75],
    "learning_rate": [2e-5, 1e-5, 0.0],
    "loss": [0.69, 0.55, 0.41],
    "val_accuracy": [0.55, 0.65, 0.7],
    "val_f1": [0.5, 0.6, 0.65],
    "val_loss": [0.66, 0.6, 0.58],
}
BLUE, ORANGE = (31, 119, 180), (255, 127, 14)  # matplotlib's C0, C1


def pixels(figure):
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba())[..., :3]


def share_of(image, colour, tolerance=30):
    near = np.abs(image.astype(int) - colour).max(axis=-1) <= tolerance
    return near.mean()


def test_curves_figure_has_a_panel_per_quantity_with_the_history():
    figure = plots.curves_figure(HISTORY)
    titles = [ax.get_title() for ax in figure.axes]
    assert titles == ["loss", "accuracy", "f1", "learning rate"]
    for ax, name in zip(figure.axes, ["loss", "accuracy", "f1"],
                        strict=False):
        train, validation = ax.get_lines()
        assert train.get_label() == "train"
        assert validation.get_label() == "validation"
        assert list(train.get_xdata()) == [1, 2, 3]
        assert list(train.get_ydata()) == HISTORY[name]
        assert list(validation.get_ydata()) == HISTORY[f"val_{name}"]
    (rate,) = figure.axes[-1].get_lines()
    assert list(rate.get_ydata()) == HISTORY["learning_rate"]
    # 4 panels: 3 in the first row, 1 in the second, 4 x 3 inches each.
    assert tuple(figure.get_size_inches()) == (12.0, 6.0)


def test_curves_are_really_drawn():
    image = pixels(plots.curves_figure(HISTORY))
    assert image.shape == (600, 1200, 3)
    assert share_of(image, BLUE) > 0.001
    assert share_of(image, ORANGE) > 0.001
    # Same size, nothing plotted: white but for nothing.
    blank = pixels(plots.curves_figure({}))
    assert share_of(blank, BLUE) == 0.0


def test_without_epochs_the_x_axis_counts_from_one():
    figure = plots.curves_figure({"loss": [3.0, 2.0], "val_loss": [4, 5]})
    (ax,) = figure.axes
    assert [list(line.get_xdata()) for line in ax.get_lines()] == [[1, 2],
                                                                    [1, 2]]


def test_confusion_figure_shows_the_counts_and_class_names():
    matrix = np.array([[5, 1, 0], [2, 7, 0], [0, 3, 4]])
    figure = plots.confusion_figure(matrix, ["cat", "dog", "eel"])
    (ax,) = figure.axes
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), matrix)
    cells = {(t.get_position(), t.get_text()) for t in ax.texts}
    assert cells == {((j, i), str(matrix[i, j]))
                     for i in range(3) for j in range(3)}
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog",
                                                           "eel"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog",
                                                           "eel"]
    assert "22 examples" in ax.get_title()
    assert tuple(figure.get_size_inches()) == (4.5, 4.5)


def test_read_history_reads_csv_loggers_file(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,learning_rate,loss,val_loss\n"
                    "0,0.001,0.7,0.72\n1,0.0005,0.6,nan\n")
    history = plots.read_history(str(path))
    assert history["epoch"] == [1, 2]
    assert history["loss"] == [0.7, 0.6]
    assert history["val_loss"][0] == 0.72 and np.isnan(
        history["val_loss"][1])


def test_save_replaces_the_file_whole_or_not_at_all(tmp_path):
    path = str(tmp_path / "curves.png")
    plots.save(plots.curves_figure(HISTORY), path)
    before = open(path, "rb").read()
    figure = plots.curves_figure({"loss": [1.0]})

    def broken(target, **kwargs):
        with open(target, "wb") as f:
            f.write(b"\x89PNG half")
        raise OSError("disk full")

    figure.savefig = broken
    with pytest.raises(OSError):
        plots.save(figure, path)
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["curves.png"]


def test_every_run_directory_has_both_plots(tiny_mrpc_run):
    run = tiny_mrpc_run.run_dir
    names = os.listdir(run)
    assert not [n for n in names if "partial" in n]
    with Image.open(os.path.join(run, "curves.png")) as image:
        # loss, accuracy, f1, auc and the learning rate: 3 + 2 panels.
        assert image.format == "PNG" and image.size == (1200, 600)
        curves = np.asarray(image.convert("RGB"))
    assert share_of(curves, BLUE) > 0.001
    assert share_of(curves, ORANGE) > 0.001
    with Image.open(os.path.join(run, "confusion.png")) as image:
        assert image.format == "PNG" and image.size == (400, 400)
        confusion = np.asarray(image.convert("RGB"))
    # The heat map's cells are shades of blue, not white.
    assert (confusion[..., 2].astype(int) - confusion[..., 0] > 40).mean() \
        > 0.1
    modified = {n: os.path.getmtime(os.path.join(run, n))
                for n in ("curves.png", "confusion.png", "metrics.json")}
    assert modified["metrics.json"] >= max(modified["curves.png"],
                                           modified["confusion.png"])


def test_plot_curves_redraws_after_each_epoch(tmp_path):
    from kft.training.callbacks import PlotCurves

    (tmp_path / "history.csv").write_text("epoch,loss,val_loss\n0,1.0,1.1\n")
    PlotCurves(str(tmp_path)).on_epoch_end(0, {})
    with Image.open(tmp_path / "curves.png") as image:
        assert image.size == (400, 300)
