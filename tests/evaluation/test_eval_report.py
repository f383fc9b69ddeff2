"""kft/evaluation/report.py: worst examples, terminal tables and Markdown."""

import numpy as np
import pytest

from kft.data import Split
from kft.evaluation.report import markdown, terminal, worst_examples

pytestmark = pytest.mark.backend_free  # no backend-dependent code


def test_worst_examples_name_inputs_classes_and_probabilities():
    pairs = Split((np.array(["a1", "b1", "c1"], dtype=object),
                   np.array(["a2", "b2", "c2"], dtype=object)),
                  np.array([0, 1, 1]))
    probs = np.array([[0.7, 0.3], [0.9, 0.1], [0.45, 0.55]])
    rows = worst_examples(pairs, "text_pair", probs, ["no", "yes"], 2)
    assert rows == [
        {"index": 1, "input": ["b1", "b2"], "true": "yes",
         "predicted": "no", "p_true": 0.1, "p_predicted": 0.9},
        {"index": 2, "input": ["c1", "c2"], "true": "yes",
         "predicted": "yes", "p_true": 0.55, "p_predicted": 0.55},
    ]
    images = Split(np.array(["x.jpg", "y.jpg"], dtype=object),
                   np.array([0, 0]), image_size=8)
    (row,) = worst_examples(images, "image", np.array([[0.6, 0.4],
                                                       [0.2, 0.8]]),
                            ["cat", "dog"], 1)
    assert (row["input"], row["predicted"]) == ("y.jpg", "dog")


RESULT = {
    "accuracy": 0.5, "loss": 0.75, "split": "test", "data_dir": "/d",
    "examples": 4, "backend": "jax", "kind": "image",
    "class_names": ["cat", "dog"], "confusion_matrix": [[1, 1], [1, 1]],
    "per_class": [{"class": "cat", "precision": 0.5, "recall": 0.5,
                   "f1": 0.5, "support": 2},
                  {"class": "dog", "precision": 0.5, "recall": 0.5,
                   "f1": 0.5, "support": 2}],
    "worst": [{"index": 3, "input": "/d/test/cat/a|b.jpg", "true": "cat",
               "predicted": "dog", "p_true": 0.125, "p_predicted": 0.875}],
}


def test_terminal_shows_metrics_matrix_and_worst_examples():
    blocks = terminal(RESULT).split("\n\n")
    assert blocks[0].splitlines() == [
        "metric    value", "accuracy  0.5000", "loss      0.7500",
        "examples  4", "split     test", "backend   jax"]
    assert blocks[1] == "per class"
    assert blocks[2].splitlines()[1].split() == ["cat", "0.5000", "0.5000",
                                                 "0.5000", "2"]
    assert blocks[4].splitlines() == ["true \\ predicted  cat  dog",
                                      "cat               1    1",
                                      "dog               1    1"]
    assert blocks[5] == ("worst 1 examples (lowest probability of the true "
                         "class)")
    assert blocks[6].splitlines()[1].split() == [
        "1", "3", "/d/test/cat/a|b.jpg", "cat", "dog", "0.125"]


def test_markdown_has_the_same_tables():
    text = markdown("runs/a", RESULT)
    assert text.startswith("# kft eval: runs/a, split test\n\n"
                           "4 examples from `/d`, backend jax.\n")
    assert "| accuracy | 0.5000 |\n| loss | 0.7500 |\n\n" in text
    assert "| cat | 1 | 1 |\n| dog | 1 | 1 |" in text
    assert "| dog | 0.5000 | 0.5000 | 0.5000 | 2 |" in text
    assert ("| 1 | 3 | /d/test/cat/a\\|b.jpg | cat | dog | 0.125 |"
            in text)
    none = markdown("runs/a", dict(RESULT, worst=[]))
    assert none.endswith("(none asked for)\n")
