"""kft/evaluation.py and `kft eval`, on one tiny trained MRPC run."""

import os
import subprocess
import sys

import pytest
from conftest import ROOT

import kft
from kft import rundir
from kft.cli import main

KEYS = {"accuracy", "f1", "auc", "loss", "split", "data_dir", "examples",
        "backend"}


@pytest.fixture
def run(tiny_mrpc_run):
    return tiny_mrpc_run.run_dir


def first_rows(mrpc_dir, folder, names, rows=32):
    """Writes the header and first `rows` validation rows into `names`."""
    with open(os.path.join(mrpc_dir, "validation.tsv"), encoding="utf-8") as f:
        lines = f.readlines()[:rows + 1]
    os.makedirs(folder, exist_ok=True)
    for name in names:
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.writelines(lines)
    return str(folder)


@pytest.fixture(scope="module")
def seen(mrpc_dir, tmp_path_factory):
    """The 32 validation rows the run itself evaluated on (limit=32)."""
    return first_rows(mrpc_dir, tmp_path_factory.mktemp("seen"),
                      ["train.tsv", "validation.tsv"])


def read(run, name):
    return rundir.read_json(os.path.join(run, name))


def test_evaluate_reproduces_the_runs_own_metrics(run, seen, backend):
    before = read(run, "metrics.json")
    result = kft.evaluate(run, data_dir=seen)
    assert set(result) == KEYS
    for key in ("accuracy", "f1", "auc", "loss"):
        assert result[key] == pytest.approx(before[key], abs=1e-5), key
    assert (result["split"], result["data_dir"]) == ("validation", seen)
    assert (result["examples"], result["backend"]) == (32, backend)
    assert read(run, "eval-validation.json") == result
    assert read(run, "metrics.json") == before
    assert not [n for n in os.listdir(run) if "partial" in n]


def test_a_held_out_folder_needs_only_the_split_file(run, mrpc_dir,
                                                     tmp_path):
    heldout = first_rows(mrpc_dir, tmp_path, ["test.tsv"])
    result = kft.evaluate(run, data_dir=heldout, split="test",
                          batch_size="5")
    expected = read(run, "metrics.json")
    assert result["accuracy"] == pytest.approx(expected["accuracy"],
                                               abs=1e-5)
    assert result["loss"] == pytest.approx(expected["loss"], abs=1e-5)
    assert read(run, "eval-test.json")["split"] == "test"


def copy_of(run, folder, **changes):
    """A run directory with `run`'s config.json, changed, and an empty
    model.keras: enough for every check made before the model loads."""
    record = read(run, "config.json")
    for key, value in changes.items():
        if key == "recipe":
            record["recipe"] = value
        else:
            record["config"][key] = value
    folder.mkdir()
    rundir.write_json(str(folder / "config.json"), record)
    (folder / "model.keras").write_bytes(b"")
    return str(folder)


def test_data_dir_defaults_to_the_runs_own(run, tmp_path):
    moved = copy_of(run, tmp_path / "run", data_dir="/no/such/data")
    with pytest.raises(kft.KftError, match="'/no/such/data' is not a"):
        kft.evaluate(moved)


def test_cli_prints_a_table_and_writes_the_json(run, seen, backend,
                                                capsys):
    argv = ["eval", run, "--backend", backend, f"data_dir={seen}",
            "batch_size=16"]
    assert main(argv=argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    written = os.path.join(run, "eval-validation.json")
    assert lines[0].split() == ["metric", "value"]
    assert lines[-1] == f"wrote {written}"
    table = dict(line.split() for line in lines[1:-1])
    saved = read(run, "eval-validation.json")
    for key in ("accuracy", "f1", "auc", "loss"):
        assert float(table[key]) == pytest.approx(saved[key], abs=1e-4)
    assert table["examples"] == "32" and table["backend"] == backend
    starts = {len(line) - len(line.split()[-1]) for line in lines[:-1]}
    assert len(starts) == 1  # the value column is aligned


def folder_for(case, run, tmp_path):
    if case == "run":
        return run
    if case == "empty":
        return str(tmp_path)
    if case == "foreign":
        return copy_of(run, tmp_path / "foreign", recipe="cola")
    folder = copy_of(run, tmp_path / "no-model")
    os.remove(os.path.join(folder, "model.keras"))
    return folder


@pytest.mark.parametrize("case, args, words", [
    ("run", ["lr=1e-3"],
     "unknown key 'lr'; valid keys: batch_size, data_dir, split"),
    ("run", ["run_dir=x"], "unknown key 'run_dir'"),
    ("run", ["split=test"], "test.tsv is missing"),
    ("run", ["split=dev"], "split='dev' is not a split"),
    ("run", ["batch_size=0"], "batch_size='0' must be at least 1"),
    ("empty", [], "config.json does not exist; give a run directory "
                  "written by `kft run`"),
    ("no-model", [], "model.keras does not exist; give a run directory"),
    ("foreign", [], "names recipe 'cola'; `kft eval` can read runs of the "
                    "recipes mrpc, sst2"),
])
def test_bad_input_exits_2_with_one_line(capsys, run, tmp_path, seen,
                                         case, args, words):
    folder = folder_for(case, run, tmp_path)
    before = set(os.listdir(folder))
    assert main(argv=["eval", folder, f"data_dir={seen}", *args]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kft: error: "), err
    assert words in err[0]
    assert captured.out == ""
    assert set(os.listdir(folder)) == before


IMPORTS = """
import sys, kft
kft.evaluate(sys.argv[1], data_dir=sys.argv[2])
print(sorted(m for m in sys.modules if m.split(".")[0] == "recipes"))
"""


def test_evaluate_never_imports_the_recipe(run, seen, backend):
    # In-process, other tests import recipes.mrpc; a fresh process does
    # not, and `recipes` is importable from its working directory.
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", IMPORTS, run, seen],
                          capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert read(run, "eval-validation.json")["examples"] == 32
