"""kft/evaluation/evaluate.py and `kft eval`, on one tiny trained MRPC run."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from support import ROOT

import kft
from kft import rundir
from kft.commands.cli import main
from kft.errors import EXIT_BAD_INPUT, EXIT_OK

KEYS = {"accuracy", "f1", "auc", "loss", "split", "data_dir", "examples",
        "per_class", "backend", "kind", "class_names", "confusion_matrix",
        "worst", "timing"}


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
    assert result["timing"]["bucketed"] is True
    assert result["timing"]["batches"] == -(-result["examples"] // 8)
    assert result["timing"]["first_prediction_seconds"] > 0
    for key in ("accuracy", "f1", "auc", "loss"):
        assert result[key] == pytest.approx(before[key], abs=1e-5), key
    assert (result["split"], result["data_dir"]) == ("validation", seen)
    assert (result["examples"], result["backend"]) == (32, backend)
    assert read(run, "eval-validation.json") == result
    assert len(result["worst"]) == 10  # the default
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
        if key in ("recipe", "inputs"):
            record[key] = value
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
            "batch_size=16", "worst=3"]
    assert main(argv=argv) == EXIT_OK
    blocks = capsys.readouterr().out.strip().split("\n\n")
    written = os.path.join(run, "eval-validation")
    assert blocks[-1].splitlines() == [f"wrote {written}.json",
                                       f"wrote {written}.md",
                                       f"wrote {written}-confusion.png"]
    lines = blocks[0].splitlines()
    assert lines[0].split() == ["metric", "value"]
    table = dict(line.split() for line in lines[1:])
    saved = read(run, "eval-validation.json")
    for key in ("accuracy", "f1", "auc", "loss"):
        assert float(table[key]) == pytest.approx(saved[key], abs=1e-4)
    assert table["examples"] == "32" and table["backend"] == backend
    starts = {len(line) - len(line.split()[-1]) for line in lines}
    assert len(starts) == 1  # the value column is aligned
    assert blocks[1] == "per class"
    rows = [line.split() for line in blocks[2].splitlines()]
    assert rows[0] == ["class", "precision", "recall", "f1", "support"]
    assert [r[0] for r in rows[1:]] == ["0", "1"]
    assert [int(r[-1]) for r in rows[1:]] == [
        sum(row) for row in saved["confusion_matrix"]]
    assert float(rows[2][3]) == pytest.approx(saved["f1"], abs=1e-4)
    assert blocks[3].startswith("confusion matrix (rows: true")
    matrix = [line.split()[1:] for line in blocks[4].splitlines()[1:]]
    assert matrix == [[str(n) for n in row]
                      for row in saved["confusion_matrix"]]
    assert blocks[5].startswith("worst 3 examples")
    ranks = [line.split()[:2] for line in blocks[6].splitlines()[1:]]
    assert ranks == [[str(i), str(w["index"])]
                     for i, w in enumerate(saved["worst"], start=1)]
    # a rate only when some batch met no new shape (this split is tiny)
    timing = saved["timing"]
    rate = (r", then \d+\.\d examples/s"
            if timing["examples_per_second"] else "")
    assert bool(rate) == (timing["warmup_batches"] < timing["batches"] - 1)
    assert re.fullmatch(r"first prediction after \d+\.\d s \(loading, "
                        r"tokenizing, compiling\)(, \d+ more batch shapes? "
                        r"\d+\.\d s)?" + rate, blocks[7])


def folder_for(case, run, tmp_path):
    if case == "run":
        return run
    if case == "empty":
        return str(tmp_path)
    if case == "foreign":  # a run from before config.json had `inputs`
        return copy_of(run, tmp_path / "foreign", recipe="cola",
                       inputs=None)
    if case == "bad-inputs":
        return copy_of(run, tmp_path / "bad-inputs",
                       inputs={"kind": "audio", "class_names": ["a", "b"]})
    folder = copy_of(run, tmp_path / "no-model")
    os.remove(os.path.join(folder, "model.keras"))
    return folder


@pytest.mark.parametrize("case, args, words", [
    ("run", ["lr=1e-3"],
     "unknown key 'lr'; valid keys: batch_size, data_dir, limit, split, "
     "worst"),
    ("run", ["run_dir=x"], "unknown key 'run_dir'"),
    ("run", ["split=test"], "test.* is missing"),
    ("run", ["split=dev"], "split='dev' is not a split"),
    ("run", ["batch_size=0"], "batch_size='0' must be at least 1"),
    ("run", ["limit=0"], "limit='0' must be at least 1"),
    ("run", ["worst=-1"], "worst='-1' must be at least 0"),
    ("run", ["worst=all"], "worst='all' is not a valid int"),
    ("empty", [], "config.json does not exist; give a run directory "
                  "written by `kft run`"),
    ("no-model", [], "model.keras does not exist; give a run directory"),
    ("foreign", [], "names recipe 'cola'; `kft eval` can read runs of the "
                    "recipes mrpc, sst2, and runs whose config.json records "
                    "`inputs`"),
    ("bad-inputs", [], "'kind': 'audio'} is not a kft inputs record (kind "
                       "one of text, text_pair, image"),
])
def test_bad_input_exits_2_with_one_line(capsys, run, tmp_path, seen,
                                         case, args, words):
    folder = folder_for(case, run, tmp_path)
    before = set(os.listdir(folder))
    argv = ["eval", folder, f"data_dir={seen}", *args]
    assert main(argv=argv) == EXIT_BAD_INPUT
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
    assert done.returncode == EXIT_OK, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert read(run, "eval-validation.json")["examples"] == 32


def softmax(logits):
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def test_confusion_and_worst_agree_with_model_predict(run, seen):
    result = kft.evaluate(run, data_dir=seen, worst=32)
    split = kft.data.glue("mrpc", data_dir=seen).validation
    probs = softmax(kft.load_model(run).predict(split.x, verbose=0))
    predicted = probs.argmax(axis=1)
    matrix = [[0, 0], [0, 0]]
    for true, guess in zip(split.y, predicted, strict=True):
        matrix[true][guess] += 1
    assert result["confusion_matrix"] == matrix
    assert result["class_names"] == ["0", "1"]
    worst = result["worst"]
    assert sorted(w["index"] for w in worst) == list(range(32))
    p_true = [w["p_true"] for w in worst]
    assert p_true == sorted(p_true)
    for w in worst:
        i = w["index"]
        assert w["input"] == [split.x[0][i], split.x[1][i]]
        assert w["true"] == str(split.y[i])
        assert w["predicted"] == str(predicted[i])
        assert w["p_true"] == pytest.approx(probs[i, split.y[i]], abs=1e-5)
        assert w["p_predicted"] == pytest.approx(probs[i].max(), abs=1e-5)


def test_the_runs_own_limit_gives_its_validation_examples_back(run):
    # The run trained with limit=32 on the full MRPC folder.
    result = kft.evaluate(run, limit=32, worst=0)
    metrics = read(run, "metrics.json")
    assert result["examples"] == metrics["validation_examples"] == 32
    assert result["loss"] == pytest.approx(metrics["loss"], abs=1e-5)
    assert result["worst"] == []


def test_the_markdown_report_holds_the_same_numbers(run, seen):
    result = kft.evaluate(run, data_dir=seen, worst=2)
    text = open(os.path.join(run, "eval-validation.md")).read()
    assert text.startswith(f"# kft eval: {run}, split validation\n")
    assert f"| accuracy | {result['accuracy']:.4f} |" in text
    for name, row in zip("01", result["confusion_matrix"], strict=True):
        assert f"| {name} | {row[0]} | {row[1]} |" in text
    assert "| # | index | text 1 | text 2 | true | predicted | p(true) |" \
        in text
    first = result["worst"][0]
    assert (f"| 1 | {first['index']} | {first['input'][0]} | "
            f"{first['input'][1]} | {first['true']} |") in text


@pytest.fixture(scope="module")
def image_run(tiny_resnet, hotdog_photos, tmp_path_factory):
    """A 1-epoch tiny ResNet run on 16 real photos, validation carved."""
    from recipes import hotdog

    out = str(tmp_path_factory.mktemp("image") / "run")
    recipe = hotdog.recipe().replace(
        preset=tiny_resnet, data_dir=hotdog_photos, image_size=32,
        validation_split=0.25, seed=3, epochs=1, batch_size=4, verbose=0,
        output_dir=out)
    kft.train(recipe)
    return out, recipe


def test_an_image_run_evaluates_on_the_same_validation_images(image_run):
    run, recipe = image_run
    # What training used: the recipe's own data on the run's own config.
    trained_on = recipe.data(recipe.config)
    result = kft.evaluate(run, worst=100)
    assert result["kind"] == "image"
    assert result["class_names"] == ["hotdog", "not-hotdog"]
    assert result["examples"] == len(trained_on.validation) == 4
    assert sorted(w["input"] for w in result["worst"]) == sorted(
        trained_on.validation.x)
    assert not set(trained_on.train.x) & {w["input"] for w in
                                           result["worst"]}
    metrics = read(run, "metrics.json")
    for key in ("accuracy", "f1", "auc", "loss"):
        assert result[key] == pytest.approx(metrics[key], abs=1e-5), key
    assert sum(map(sum, result["confusion_matrix"])) == 4
    text = open(os.path.join(run, "eval-validation.md")).read()
    assert "| # | index | image | true | predicted | p(true) |" in text


@pytest.mark.parametrize("keep", [True, False])
def test_evaluation_keeps_freed_memory_as_the_run_did(run, tmp_path, keep,
                                                      monkeypatch):
    from kft.evaluation import evaluate
    from kft.runtime import allocator

    calls = []
    monkeypatch.setattr(allocator, "keep", lambda: calls.append(1) or True)
    copied = copy_of(run, tmp_path / "run", keep_freed_memory=keep,
                     data_dir="/no/such/data")
    with pytest.raises(kft.KftError, match="'/no/such/data' is not a"):
        evaluate.evaluate(copied)
    assert calls == ([1] if keep else [])
