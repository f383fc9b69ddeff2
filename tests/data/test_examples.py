"""kft/data/examples.py: the inputs `kft predict` reads, without a model."""

import os
from pathlib import Path

import numpy as np
import pytest

from kft import KftError
from kft.data.examples import from_arguments, from_path

pytestmark = pytest.mark.backend_free  # no backend-dependent code


def test_a_glue_file_gives_its_text_columns_and_ignores_the_rest(mrpc_dir):
    path = os.path.join(mrpc_dir, "validation.tsv")
    examples = from_path("text_pair", path)
    with open(path, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f][1:]
    assert len(examples) == len(rows)
    s1, s2 = examples.x()
    assert list(s1) == [r[1] for r in rows] and list(s2) == [r[2] for r in rows]
    assert examples.sources[:2] == [f"{path}:2", f"{path}:3"]
    assert any('"' in s for s in s1)  # quoting is off, as in GLUE


def test_jsonl_skips_blank_lines_and_counts_them(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"sentence": "good"}\n\n{"sentence": "bad", "x": 1}\n',
                    encoding="utf-8")
    examples = from_path("text", str(path))
    assert list(examples.x()) == ["good", "bad"]
    assert examples.sources == [f"{path}:1", f"{path}:3"]


def test_image_paths_in_a_file_are_relative_to_it(tmp_path):
    path = tmp_path / "list.tsv"
    path.write_text("image\tlabel\na.jpg\tx\nsub/b.png\ty\n", encoding="utf-8")
    examples = from_path("image", str(path))
    assert examples.columns["image"] == [str(tmp_path / "a.jpg"),
                                         str(tmp_path / "sub/b.png")]


def test_a_folder_lists_its_images_in_order(hotdog_dir):
    folder = Path(hotdog_dir) / "train" / "not-hotdog"
    examples = from_path("image", str(folder))
    names = sorted(n for n in os.listdir(folder) if n.endswith(".jpg"))
    assert examples.columns["image"] == [str(folder / n) for n in names]
    assert from_arguments("image", [str(folder)]).columns == examples.columns


def test_arguments_are_sentences_or_one_pair():
    assert list(from_arguments("text", ["a", "b"]).x()) == ["a", "b"]
    s1, s2 = from_arguments("text_pair", ["a", "b"]).x()
    assert (list(s1), list(s2)) == (["a"], ["b"])
    assert isinstance(s1, np.ndarray)


@pytest.mark.parametrize("name, text, words", [
    ("empty.tsv", "", "empty.tsv is empty; it needs a header line"),
    ("header.tsv", "sentence\n", "header.tsv has no examples"),
    ("bad.jsonl", "[1]\n", "bad.jsonl:1: not a JSON object"),
    ("bad.jsonl", "{\n", "bad.jsonl:1: not a JSON object ("),
    ("number.jsonl", '{"sentence": 3}\n',
     "number.jsonl:1: 'sentence' is not a string"),
    ("latin.tsv", b"sentence\ncaf\xe9\n", "latin.tsv:2: not UTF-8 text"),
    ("none", None, "none does not exist; give a .tsv, .csv, .jsonl"),
    ("list.txt", "sentence\n", "list.txt: kft reads .tsv, .csv, .jsonl"),
])
def test_bad_files_name_file_and_line(tmp_path, name, text, words):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(KftError, match="^.*" + words.replace("(", r"\(")):
        from_path("text", str(path))
