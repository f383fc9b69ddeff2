"""kft/sweep/search.py with KerasTuner's real oracles and a stand-in for
`kft run`: which trials run, in what order, how often, and what a sweep
that goes on after a stop does. No model is trained here (the
subprocess tests are tests/sweep/test_sweep.py)."""

import itertools
import math
import os

import pytest
from support import ROOT

from kft import rundir
from kft.commands.cli import main
from kft.commands.report import compare
from kft.errors import EXIT_OK, KftError
from kft.rundir import layout
from kft.runtime.process import Outcome
from kft.sweep import search as sweep

pytestmark = pytest.mark.backend_free  # no backend-dependent code

MRPC = str(ROOT / "recipes" / "mrpc.py")


class FakeRun:
    """Stands in for a trial's `kft run` process: writes a finished run
    directory whose accuracy is a function of the values, or ends as
    `plan` says for a trial number (`interrupt`, `deadline`, an exit
    status)."""

    def __init__(self, plan=None, seconds=1.0):
        self.plan, self.seconds, self.calls = dict(plan or {}), seconds, []

    def __call__(self, args, timeout=None):
        given = dict(a.split("=", 1) for a in args if "=" in a)
        out = given["output_dir"]
        number = int(os.path.basename(out))
        self.calls.append(number)
        how = self.plan.pop(number, 0)
        if how in ("interrupt", "deadline"):
            os.makedirs(out, exist_ok=True)
            return Outcome(None, how, "", self.seconds)
        if how:
            return Outcome(how, None, "something broke", self.seconds)
        os.makedirs(out, exist_ok=True)
        rate = float(given["learning_rate"])
        score = 1 / (1 + abs(math.log10(rate) + 3))  # best at 1e-3
        rundir.write_json(os.path.join(out, "config.json"), {
            "recipe": "mrpc", "config": {"learning_rate": rate}})
        rundir.write_json(os.path.join(out, rundir.METRICS), {
            "accuracy": score, "loss": 1 - score, "f1": score, "auc": score,
            "best_epoch": 1, "epochs_run": 1, "train_seconds": 0.5})
        return Outcome(0, None, "", self.seconds)


def run(tmp_path, items, fake, **options):
    out = tmp_path / "sweep"
    table = sweep.sweep(MRPC, [*items, f"output_dir={out}"], "torch",
                        runner=fake, **options)
    return table, rundir.read_json(str(out / layout.SWEEP_RECORD)), out


def values(record):
    return [r["values"] for r in record["trials"]]


def test_grid_runs_every_combination_once(tmp_path):
    fake = FakeRun()
    table, record, out = run(
        tmp_path, ["learning_rate=1e-4,1e-3,1e-2", "epochs=1,2"], fake,
        algorithm="grid", trials=20)
    expected = [{"learning_rate": r, "epochs": e} for r, e in
                itertools.product([1e-4, 1e-3, 1e-2], [1, 2])]
    assert values(record) == expected
    assert fake.calls == list(range(6))
    assert record["status"] == "finished"
    assert record["best"]["values"] == {"learning_rate": 1e-3, "epochs": 1}
    assert os.readlink(out / layout.SWEEP_BEST) == os.path.join("trials", "002")
    assert [line.split()[0] for line in table.splitlines()[1:7]] == [
        "0", "1", "2", "3", "4", "5"]
    assert "2 *" in table and "best: trial 2 (learning_rate=0.001" in table
    for name in (layout.SWEEP_TABLE, layout.SWEEP_PLOT):
        assert (out / name).is_file()


def test_random_search_draws_distinct_values_in_the_range(tmp_path):
    fake = FakeRun()
    _, record, _ = run(tmp_path, ["learning_rate=1e-5..1e-1:log",
                                  "warmup_fraction=0,0.1"], fake, trials=4)
    rates = [v["learning_rate"] for v in values(record)]
    assert len(set(rates)) == 4 and all(1e-5 <= r <= 1e-1 for r in rates)
    assert [r["status"] for r in record["trials"]] == ["finished"] * 4


@pytest.mark.parametrize("algorithm", ["random", "bayesian", "grid"])
def test_a_stopped_sweep_goes_on_and_trains_nothing_twice(tmp_path,
                                                          algorithm):
    """Ctrl-C in trial 1, then the same command: trial 0 is kept, trial 1
    runs again into its own run directory (where `kft run` resumes it),
    and the table ends as an uninterrupted sweep's."""
    items = ["learning_rate=1e-4,1e-3,1e-2", "epochs=1,2"]
    if algorithm != "grid":
        items[0] = "learning_rate=1e-5..1e-1:log"
    _, reference, _ = run(tmp_path / "ref", items, FakeRun(),
                          algorithm=algorithm, trials=4)
    first = FakeRun({1: "interrupt"})
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, items, first, algorithm=algorithm, trials=4)
    stopped = rundir.read_json(str(tmp_path / "sweep" / layout.SWEEP_RECORD))
    assert [r["status"] for r in stopped["trials"]] == ["finished",
                                                        "stopped"]
    assert stopped["status"] == "stopped"
    again = FakeRun()
    _, record, _ = run(tmp_path, items, again, algorithm=algorithm,
                       trials=4)
    assert first.calls == [0, 1] and again.calls == [1, 2, 3]
    keys = ("trial", "values", "status", "score", "metrics")
    assert [{k: r[k] for k in keys} for r in record["trials"]] == [
        {k: r[k] for k in keys} for r in reference["trials"]]
    assert record["best"] == reference["best"]


def test_more_trials_later_extend_the_sweep(tmp_path):
    items = ["learning_rate=1e-5..1e-1:log"]
    _, short, _ = run(tmp_path, items, FakeRun(), trials=2)
    fake = FakeRun()
    _, longer, _ = run(tmp_path, items, fake, trials=3)
    assert fake.calls == [2]
    assert values(longer)[:2] == values(short)


def test_a_failed_trial_is_recorded_and_stays_failed(tmp_path):
    items = ["learning_rate=1e-4,1e-3,1e-2"]
    fake = FakeRun({1: 1})
    table, record, _ = run(tmp_path, items, fake, algorithm="grid")
    assert [r["status"] for r in record["trials"]] == [
        "finished", "failed", "finished"]
    assert record["trials"][1]["error"] == "something broke"
    assert " failed " in table
    again = FakeRun()
    run(tmp_path, items, again, algorithm="grid")
    assert again.calls == []


def test_three_failures_in_a_row_stop_the_sweep(tmp_path):
    fake = FakeRun({0: 1, 1: 1, 2: 1})
    with pytest.raises(KftError, match="failed trials in a row"):
        run(tmp_path, ["learning_rate=1e-5..1e-1:log"], fake, trials=5)
    record = rundir.read_json(str(tmp_path / "sweep" / layout.SWEEP_RECORD))
    assert [r["status"] for r in record["trials"]] == ["failed"] * 3
    assert record["status"] == "stopped"


def test_max_hours_bounds_the_time(tmp_path):
    items = ["learning_rate=1e-5..1e-1:log", "max_hours=1"]
    fake = FakeRun(seconds=1800)
    _, record, _ = run(tmp_path, items, fake, trials=5)
    assert fake.calls == [0, 1] and len(record["trials"]) == 2
    assert record["status"] == "stopped: max_hours=1 spent"
    # A trial still running when the budget runs out is stopped, and goes
    # on (from its backup) when the sweep does, with a larger budget.
    fake = FakeRun({2: "deadline"}, seconds=1800)
    _, record, _ = run(tmp_path, [items[0], "max_hours=1.5"], fake,
                       trials=5)
    assert record["trials"][2]["status"] == "stopped"
    fake = FakeRun(seconds=1)
    _, record, _ = run(tmp_path, [items[0], "max_hours=3"], fake, trials=5)
    assert fake.calls == [2, 3, 4] and record["status"] == "finished"


def test_a_first_trial_with_bad_input_leaves_nothing(tmp_path):
    fake = FakeRun({0: 2})
    with pytest.raises(KftError, match="something broke"):
        run(tmp_path, ["learning_rate=1e-4,1e-3"], fake)
    assert not (tmp_path / "sweep").exists()


def test_another_sweep_into_the_same_folder_is_refused(tmp_path):
    run(tmp_path, ["learning_rate=1e-4,1e-3"], FakeRun(), algorithm="grid")
    with pytest.raises(KftError, match="holds a sweep with other settings "
                       r"\(algorithm: 'grid' in the sweep, 'random' now"):
        run(tmp_path, ["learning_rate=1e-4,1e-3"], FakeRun())
    # Settings that change no result may differ.
    run(tmp_path, ["learning_rate=1e-4,1e-3", "verbose=2"], FakeRun(),
        algorithm="grid")


def test_a_folder_that_holds_something_else_is_refused(tmp_path):
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "notes.txt").write_text("mine")
    with pytest.raises(KftError, match="is not empty and holds no sweep"):
        run(tmp_path, ["learning_rate=1e-4,1e-3"], FakeRun())
    assert os.listdir(tmp_path / "sweep") == ["notes.txt"]


def test_kft_report_lists_a_sweeps_trials(tmp_path):
    _, _, out = run(tmp_path, ["learning_rate=1e-4,1e-3"], FakeRun(),
                    algorithm="grid")
    lines = compare([str(out)]).splitlines()
    assert [line.split()[0] for line in lines[1:]] == [
        str(out / "trials" / "000"), str(out / "trials" / "001")]


def test_sweep_help_names_the_options(capsys):
    assert main(argv=["sweep", "--help"]) == EXIT_OK
    text = capsys.readouterr().out
    for words in ("--trials", "--algorithm", "random|bayesian|grid",
                  "--smoke", "max_hours", "low..high"):
        assert words in text, words
