"""kft/sweep/folder.py, record.py and plot.py: a sweep folder's layout,
its `best` link, and `sweep.png`."""

import os

import pytest

from kft.rundir import layout
from kft.sweep import folder as sweep_folder
from kft.sweep import plot as sweep_plot
from kft.sweep import record as sweep_record

pytestmark = pytest.mark.backend_free  # no backend-dependent code


def test_trial_dirs_are_the_existing_trials_in_order(tmp_path):
    for number in (10, 2, 0):
        os.makedirs(sweep_folder.trial_path(str(tmp_path), number))
    (tmp_path / "trials" / "notes").mkdir()
    assert sweep_folder.trial_path("s", 7) == os.path.join("s", "trials",
                                                           "007")
    assert sweep_folder.trial_dirs(str(tmp_path)) == [
        str(tmp_path / "trials" / n) for n in ("000", "002", "010")]
    assert sweep_folder.trial_dirs(str(tmp_path / "none")) == []
    assert not sweep_record.is_sweep(str(tmp_path))
    (tmp_path / layout.SWEEP_RECORD).write_text("{}")
    assert sweep_record.is_sweep(str(tmp_path))


def test_the_best_link_is_relative_and_replaced(tmp_path):
    for number in (0, 1):
        os.makedirs(sweep_folder.trial_path(str(tmp_path), number))
    sweep_folder.link_best(str(tmp_path),
                           sweep_folder.trial_path(str(tmp_path), 0))
    link = tmp_path / layout.SWEEP_BEST
    assert os.readlink(link) == os.path.join("trials", "000")
    sweep_folder.link_best(str(tmp_path),
                           sweep_folder.trial_path(str(tmp_path), 1))
    assert os.readlink(link) == os.path.join("trials", "001")
    assert link.resolve() == (tmp_path / "trials" / "001").resolve()
    assert sorted(os.listdir(tmp_path)) == ["best", "trials"]
    sweep_folder.link_best(str(tmp_path), None)
    assert not os.path.lexists(link)


def test_the_sweep_figure_has_a_panel_per_key():
    points = [({"learning_rate": 1e-5, "optimizer": "adam"}, 0.7),
              ({"learning_rate": 1e-4, "optimizer": "sgd"}, 0.8),
              ({"learning_rate": 3e-5, "optimizer": "adam"}, 0.75)]
    figure = sweep_plot.sweep_figure(["learning_rate", "optimizer"],
                                     points, "val_accuracy", best=1,
                                     log_keys={"learning_rate"})
    first, second = figure.axes
    assert first.get_title() == "val_accuracy by learning_rate"
    assert first.get_xscale() == "log" and second.get_xscale() == "linear"
    assert [t.get_text() for t in second.get_xticklabels()] == ["adam",
                                                                "sgd"]
    trials, best = first.collections
    assert best.get_offsets().tolist() == [[1e-4, 0.8]]
    assert len(trials.get_offsets()) == 3
