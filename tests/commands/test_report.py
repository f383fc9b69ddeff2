"""kft/commands/report.py and `kft report`: runs side by side, from their
JSON files.

One real tiny run, and run directories made from its files with a few
values changed: another seed and backend, an unfinished run."""

import os
import shutil

import pytest

from kft import KftError, rundir
from kft.commands.cli import main
from kft.commands.report import HEADER, compare, config_differences
from kft.errors import EXIT_BAD_INPUT, EXIT_OK


def variant(run, folder, seed, backend, finished=True, **metrics):
    """A copy of `run`'s JSON files and history with changed values."""
    os.makedirs(folder)
    record = rundir.read_json(os.path.join(run, "config.json"))
    record["config"]["seed"] = seed
    record["config"]["output_dir"] = str(folder)
    rundir.write_json(os.path.join(folder, "config.json"), record)
    env = rundir.read_json(os.path.join(run, "env.json"))
    rundir.write_json(os.path.join(folder, "env.json"),
                      dict(env, backend=backend, seed=seed))
    shutil.copy(os.path.join(run, "history.csv"), folder)
    if finished:
        values = rundir.read_json(os.path.join(run, "metrics.json"))
        rundir.write_json(os.path.join(folder, "metrics.json"),
                          dict(values, **metrics))
    return str(folder)


@pytest.fixture
def runs(tiny_mrpc_run, tmp_path):
    real = tiny_mrpc_run.run_dir
    other = variant(real, tmp_path / "seed1", 1, "other-backend",
                    accuracy=0.8125, timing={"examples_per_second": 123.4})
    unfinished = variant(real, tmp_path / "crashed", 2, "jax",
                         finished=False)
    return real, other, unfinished


def rows_of(table):
    """The table's rows as dicts of the header's columns."""
    lines = table.splitlines()
    starts = [lines[0].index(h) for h in HEADER]
    ends = starts[1:] + [None]
    return [{h: line[s:e].strip() for h, s, e in
             zip(HEADER, starts, ends, strict=True)} for line in lines[1:]]


def test_the_table_has_a_row_per_run(runs, backend):
    real, other, unfinished = runs
    metrics = rundir.read_json(os.path.join(real, "metrics.json"))
    rows = rows_of(compare(runs))
    assert [r["run"] for r in rows] == list(runs)
    first, second, third = rows
    assert (first["recipe"], first["backend"], first["status"]) == (
        "mrpc", backend, "finished")
    assert first["epochs"] == "2"
    assert first["best"] == str(metrics["best_epoch"])
    for key in ("accuracy", "f1", "auc", "loss"):
        assert first[key] == f"{metrics[key]:.4f}"
    assert first["train s"] == f"{metrics['train_seconds']:.1f}"
    speed = metrics["timing"]["examples_per_second"]
    assert first["examples/s"] == ("-" if speed is None else f"{speed:.1f}")
    assert (second["backend"], second["accuracy"]) == ("other-backend",
                                                       "0.8125")
    assert second["examples/s"] == "123.4"
    assert (third["status"], third["epochs"], third["accuracy"]) == (
        "unfinished", "2", "-")
    # The seed is the one config difference; output_dir never counts.
    assert [r["differences"] for r in rows] == ["seed=0", "seed=1",
                                                "seed=2"]


def test_config_differences_name_only_the_keys_that_differ():
    configs = [{"seed": 0, "epochs": 3, "lora_rank": None},
               {"seed": 0, "epochs": 5},
               {"seed": 0, "epochs": 3, "lora_rank": 4}]
    assert config_differences(configs) == [
        "epochs=3, lora_rank=None", "epochs=5, lora_rank=-",
        "epochs=3, lora_rank=4"]
    assert config_differences([{"seed": 0}]) == [""]


def test_cli_prints_the_table_and_writes_markdown(runs, tmp_path, capsys):
    out = tmp_path / "report.md"
    assert main(argv=["report", *runs, "--out", str(out)]) == EXIT_OK
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split()[:3] == ["run", "recipe", "backend"]
    assert printed[-1] == f"wrote {out}"
    assert len(printed) == 1 + len(runs) + 1
    text = out.read_text()
    lines = text.splitlines()
    assert lines[0] == "# kft report"
    assert lines[2] == "| " + " | ".join(HEADER) + " |"
    table = [line for line in lines if line.startswith("| /")]
    assert [line.split(" | ")[0][2:] for line in table] == list(runs)
    assert "| unfinished |" in table[2]
    assert not [n for n in os.listdir(tmp_path) if "partial" in n]


def test_a_folder_that_is_not_a_run_is_an_error_naming_it(runs, tmp_path,
                                                          capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "report.md"
    assert main(argv=["report", runs[0], str(empty), "--out",
                      str(out)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0] == (f"kft: error: {empty / 'config.json'} does not exist; "
                      "give a run directory written by `kft run`")
    assert not out.exists()


def test_an_unreadable_metrics_file_is_named(runs):
    broken = os.path.join(runs[1], "metrics.json")
    with open(broken, "w") as f:
        f.write("{not json")
    with pytest.raises(KftError, match="metrics.json is not readable JSON"):
        compare([runs[1]])
