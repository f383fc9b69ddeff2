"""kft/evaluation/predict.py and `kft predict`, on tiny finished MRPC, SST-2 and
hot-dog runs."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support import ROOT, next_backend, run_kft

import kft
from kft import rundir
from kft.commands.cli import main
from kft.errors import EXIT_BAD_INPUT, EXIT_OK


def softmax(logits):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def model_probabilities(run_dir, x):
    """What Python gives: `model.predict` on the run's saved model."""
    return softmax(np.asarray(
        kft.load_model(run_dir).predict(x, verbose=0), "float64"))


@pytest.fixture(scope="module")
def pairs_tsv(mrpc_dir, tmp_path_factory):
    """The header and first 12 MRPC validation rows (label, sentence1,
    sentence2, idx), as a user's file would have them."""
    with open(os.path.join(mrpc_dir, "validation.tsv"), encoding="utf-8") as f:
        lines = f.readlines()[:13]
    path = tmp_path_factory.mktemp("inputs") / "pairs.tsv"
    path.write_text("".join(lines), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def pairs(pairs_tsv):
    from kft.data import read_glue_tsv

    return read_glue_tsv(pairs_tsv, ("sentence1", "sentence2"), ("0", "1"))[0]


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def probabilities_of(rows):
    return np.array([[r["probabilities"]["0"], r["probabilities"]["1"]]
                     for r in rows])


def test_cli_gives_model_predict_probabilities(
        tiny_mrpc_run, pairs_tsv, pairs, tmp_path, capsys):
    run = tiny_mrpc_run.run_dir
    out = str(tmp_path / "predictions.jsonl")
    assert main(argv=["predict", run, "--input", pairs_tsv, "--output",
                      out]) == EXIT_OK
    assert capsys.readouterr().out.strip() == f"wrote 12 predictions to {out}"
    rows = read_jsonl(out)
    expected = model_probabilities(run, pairs)
    np.testing.assert_allclose(probabilities_of(rows), expected, atol=1e-5)
    assert [r["sentence1"] for r in rows] == list(pairs[0])
    assert [r["sentence2"] for r in rows] == list(pairs[1])
    assert [r["label"] for r in rows] == [str(i) for i in
                                          expected.argmax(axis=1)]
    assert set(rows[0]) == {"sentence1", "sentence2", "label",
                            "probabilities"}
    assert os.listdir(tmp_path) == ["predictions.jsonl"]


def test_the_next_backend_predicts_the_same(tiny_mrpc_run, pairs_tsv, pairs,
                                            backend, tmp_path):
    run = tiny_mrpc_run.run_dir
    out = str(tmp_path / "other.jsonl")
    other = next_backend(backend)
    done = run_kft("predict", run, "--input", pairs_tsv, "--output", out,
                   "--backend", other)
    assert done.returncode == EXIT_OK, done.stderr[-3000:]
    np.testing.assert_allclose(probabilities_of(read_jsonl(out)),
                               model_probabilities(run, pairs), atol=1e-4)


def test_a_pair_as_two_arguments_prints_a_line(tiny_mrpc_run, capsys):
    run = tiny_mrpc_run.run_dir
    first, second = "He left the house .", "He went away ."
    assert main(argv=["predict", run, first, second]) == EXIT_OK
    header, line = capsys.readouterr().out.strip().split("\n")
    assert header.split("\t") == ["label", "p_0", "p_1", "sentence1",
                                  "sentence2"]
    label, p0, p1, s1, s2 = line.split("\t")
    expected = model_probabilities(run, (np.array([first]),
                                         np.array([second])))[0]
    np.testing.assert_allclose([float(p0), float(p1)], expected, atol=1e-4)
    assert (label, s1, s2) == (str(expected.argmax()), first, second)


def test_jsonl_input_and_tsv_output(tiny_mrpc_run, pairs_tsv, pairs,
                                    tmp_path):
    run = tiny_mrpc_run.run_dir
    source = tmp_path / "pairs.jsonl"
    source.write_text("".join(
        json.dumps({"sentence1": a, "sentence2": b, "id": i}) + "\n\n"
        for i, (a, b) in enumerate(zip(*pairs, strict=True))),
        encoding="utf-8")
    out = tmp_path / "predictions.tsv"
    assert main(argv=["predict", run, "--input", str(source), "--output",
                      str(out), "--batch-size", "5"]) == EXIT_OK
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == ["label", "p_0", "p_1", "sentence1",
                                    "sentence2"]
    table = [line.split("\t") for line in lines[1:]]
    assert [row[3:] for row in table] == [list(p) for p in
                                          zip(*pairs, strict=True)]
    np.testing.assert_allclose([[float(row[1]), float(row[2])]
                                for row in table],
                               model_probabilities(run, pairs), atol=1e-5)


def test_single_sentences_as_arguments(tiny_sst2_run, capsys):
    run = tiny_sst2_run.run_dir
    sentences = ["a charming and often affecting journey .", "dull , bad"]
    assert main(argv=["predict", run, *sentences]) == EXIT_OK
    lines = capsys.readouterr().out.strip().split("\n")
    assert lines[0] == "label\tp_0\tp_1\tsentence"
    table = [line.split("\t") for line in lines[1:]]
    assert [row[3] for row in table] == sentences
    np.testing.assert_allclose(
        [[float(row[1]), float(row[2])] for row in table],
        model_probabilities(run, np.array(sentences)), atol=1e-4)


@pytest.fixture(scope="module")
def photos(hotdog_dir, tmp_path_factory):
    """Three images in a folder of their own (links, not copies)."""
    folder = tmp_path_factory.mktemp("photos")
    train = Path(hotdog_dir) / "train"
    for name in ("hotdog/hotdog_000.jpg", "hotdog/hotdog_001.jpg",
                 "not-hotdog/not-hotdog_000.jpg"):
        os.symlink(train / name, folder / name.replace("/", "-"))
    return folder


def test_images_by_path_and_by_folder(tiny_hotdog_run, photos, tmp_path):
    from kft.data import Split

    run = tiny_hotdog_run.run_dir
    paths = sorted(str(p) for p in photos.iterdir())
    by_path, by_folder = tmp_path / "paths.jsonl", tmp_path / "folder.jsonl"
    assert main(argv=["predict", run, *paths, "--output",
                      str(by_path)]) == EXIT_OK
    assert main(argv=["predict", run, "--input", str(photos), "--output",
                      str(by_folder)]) == EXIT_OK
    rows = read_jsonl(by_path)
    assert [r["image"] for r in rows] == paths
    assert read_jsonl(by_folder) == rows
    # Evaluation's own pipeline: resize and center crop at image_size.
    evaluation = Split(np.array(paths, dtype=object), np.zeros(3, "int32"),
                       image_size=32).dataset(2)
    expected = model_probabilities(run, evaluation)
    got = np.array([[r["probabilities"]["hotdog"],
                     r["probabilities"]["not-hotdog"]] for r in rows])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert [r["label"] for r in rows] == [("hotdog", "not-hotdog")[i]
                                          for i in expected.argmax(axis=1)]


def write(folder, name, text):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def old_run(run, folder, **record_changes):
    """A copy of `run` with config.json changed."""
    shutil.copytree(run, folder)
    record = rundir.read_json(str(folder / "config.json"))
    record.update(record_changes)
    for key in [k for k, v in record_changes.items() if v is None]:
        del record[key]
    rundir.write_json(str(folder / "config.json"), record)
    return str(folder)


@pytest.mark.parametrize("case, words", [
    ("txt", "pairs.txt: kft reads .tsv, .csv, .jsonl, .parquet files, "
            "not .txt"),
    ("three", "give exactly 2 arguments (sentence1 sentence2), not 3"),
    ("one", "give exactly 2 arguments (sentence1 sentence2), not 1"),
    ("columns", "bad.tsv has no column 'sentence2' (an input column); its "
                "columns are: sentence1"),
    ("width", "short.tsv:3: expected 2 tab-separated columns, found 1"),
    ("jsonl", "bad.jsonl:2: 'sentence2' is not a string"),
    ("both", "give the inputs either as arguments or as --input"),
    ("nothing", "give the inputs either as arguments or as --input"),
    ("output", "out.txt: unknown file type .txt; use .jsonl or .tsv"),
    ("tab", "argument"),
    ("format", "(run format 7); this kft 0.1.0 reads run format 1"),
    ("no-inputs", "has no `inputs` record"),
])
def test_bad_input_exits_2_and_writes_nothing(tiny_mrpc_run, tmp_path,
                                              capsys, case, words):
    run = tiny_mrpc_run.run_dir
    pair = ["a", "b"]
    args = {
        "txt": ["--input", write(tmp_path, "pairs.txt", "a,b\n")],
        "three": ["a", "b", "c"],
        "one": ["a"],
        "columns": ["--input", write(tmp_path, "bad.tsv", "sentence1\nx\n")],
        "width": ["--input", write(tmp_path, "short.tsv",
                                   "sentence1\tsentence2\na\tb\nc\n")],
        "jsonl": ["--input", write(tmp_path, "bad.jsonl",
                                   '{"sentence1": "a", "sentence2": "b"}\n'
                                   '{"sentence1": "a"}\n')],
        "both": ["a", "b", "--input", "x.tsv"],
        "nothing": [],
        "output": [*pair, "--output", str(tmp_path / "out.txt")],
        "tab": ["a\tb", "c", "--output", str(tmp_path / "out.tsv")],
    }.get(case, pair)
    if case == "format":
        run = old_run(run, tmp_path / "old", run_format=7)
    if case == "no-inputs":
        run = old_run(run, tmp_path / "old", inputs=None)
    before = sorted(os.listdir(tmp_path))
    assert main(argv=["predict", run, *args]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kft: error: "), err
    assert words in err[0]
    assert captured.out == ""
    assert sorted(os.listdir(tmp_path)) == before


def test_an_unreadable_image_is_named(tiny_hotdog_run, photos, tmp_path,
                                      capsys):
    broken = write(tmp_path, "broken.jpg", "not a photo")
    listing = write(tmp_path, "images.tsv",
                    f"image\n{photos}/hotdog-hotdog_000.jpg\nbroken.jpg\n")
    run = tiny_hotdog_run.run_dir
    assert main(argv=["predict", run, broken]) == EXIT_BAD_INPUT
    assert f"{broken} is not a readable image" in capsys.readouterr().err
    assert main(argv=["predict", run, "--input", listing]) == EXIT_BAD_INPUT
    assert (f"images.tsv:3: {broken} is not a readable image"
            in capsys.readouterr().err)


IMPORTS = """
import sys, kft
from kft.evaluation.export import export
from kft.evaluation.predict import run
run_dir, out = sys.argv[1:]
print(run(run_dir, ["He left .", "He went away ."])[1].split("\\t")[0])
export(run_dir, "keras", out=out + "/keras")
export(run_dir, "saved_model", out=out + "/saved_model")
print(sorted(m for m in sys.modules
             if m.split(".")[0] == "recipes" or m.startswith("kft_recipe")))
"""


@pytest.mark.one_backend("tensorflow")
def test_predict_and_export_never_import_the_recipe(tiny_mrpc_run, backend,
                                                    tmp_path):
    # In-process, other tests import recipes.mrpc; a fresh process does
    # not, and `recipes` is importable from its working directory. On
    # tensorflow every step runs in that one process (elsewhere saved_model
    # would trace in a child whose imports this cannot see); what is
    # imported does not depend on the backend.
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS, tiny_mrpc_run.run_dir,
         str(tmp_path)], capture_output=True, text=True, env=env, cwd=ROOT,
        timeout=600)
    assert done.returncode == EXIT_OK, done.stderr[-3000:]
    label, modules = done.stdout.strip().splitlines()[-2:]
    assert label in ("0", "1") and modules == "[]"
    assert sorted(os.listdir(tmp_path)) == ["keras", "saved_model"]
