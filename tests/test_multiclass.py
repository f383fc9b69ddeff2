"""A four-class text task end to end (tests/assets/topics: CSV, string
labels) through recipes/text_classifier.py on the suite's backend: its
macro F1 and one-vs-rest AUC against scikit-learn on the model's own
outputs, `kft eval`'s per-class table and confusion matrix, and
`predict`, `export` and `report` with four classes."""

import json
import os

import numpy as np
import pytest
from sklearn.metrics import (
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

import kft
from kft.commands.cli import main
from kft.data import text_folder
from kft.errors import EXIT_OK
from kft.training.losses import class_weights
from recipes import text_classifier

pytestmark = pytest.mark.integration
TOPICS = ["cinema", "money", "people", "time"]


@pytest.fixture(scope="module")
def topics_run(tiny_bert, topics_dir, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("topics") / "run")
    recipe = text_classifier.recipe().replace(
        preset=tiny_bert, data_dir=topics_dir, label_column="topic",
        epochs=10, batch_size=8, learning_rate=1e-2, sequence_length=32,
        dropout=0.0, patience=0, verbose=0, output_dir=out)
    return kft.train(recipe)


def probabilities(model, texts):
    logits = np.asarray(model.predict(texts, verbose=0), "float64")
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def threshold_error_bound(y, probs, num_thresholds):
    """The most a ROC AUC from `num_thresholds` evenly spaced thresholds
    (Keras's) can differ from the exact one, macro-averaged over classes:
    a positive and a negative score between the same two thresholds count
    half a pair, where the exact AUC counts one or none."""
    bounds = []
    for c in range(probs.shape[1]):
        bins = np.ceil(probs[:, c] * (num_thresholds - 1)).astype(int)
        positive, negative = bins[y == c], bins[y != c]
        same = (positive[:, None] == negative[None, :]).sum()
        bounds.append(0.5 * same / (len(positive) * len(negative)))
    return float(np.mean(bounds))


def test_macro_f1_and_auc_match_scikit_learn(topics_run, topics_dir):
    metrics = kft.rundir.read_json(os.path.join(topics_run.run_dir,
                                                "metrics.json"))
    split = text_folder(topics_dir, "text", "topic").validation
    probs = probabilities(topics_run.model, split.x)
    guess = probs.argmax(axis=1)
    assert metrics["accuracy"] == pytest.approx(np.mean(guess == split.y),
                                                abs=1e-6)
    assert metrics["f1"] == pytest.approx(
        f1_score(split.y, guess, average="macro"), abs=1e-6)
    auc = roc_auc_score(split.y, probs, multi_class="ovr", average="macro")
    # The metric's thresholds (200000 // 4 = 50000 capped at 20000) can
    # tell two scores apart only 1/20000 apart: the test bounds that
    # error from the scores themselves, and needs it small to mean much.
    bound = threshold_error_bound(split.y, probs, 20000)
    assert bound < 0.01
    assert metrics["auc"] == pytest.approx(auc, abs=bound + 1e-5)
    # The figures say something: the model learned (chance is 0.25).
    assert metrics["accuracy"] > 0.4 and metrics["auc"] > 0.75
    assert "top5_accuracy" not in metrics  # only from 10 classes


def test_eval_gives_per_class_scores_and_the_confusion_matrix(
        topics_run, topics_dir):
    result = kft.evaluate(topics_run.run_dir, split="test")
    split = text_folder(topics_dir, "text", "topic").test
    guess = probabilities(topics_run.model, split.x).argmax(axis=1)
    assert result["class_names"] == TOPICS
    np.testing.assert_array_equal(result["confusion_matrix"],
                                  confusion_matrix(split.y, guess,
                                                   labels=range(4)))
    p, r, f, n = precision_recall_fscore_support(
        split.y, guess, labels=range(4), zero_division=0)
    for row, *expected in zip(result["per_class"], TOPICS, p, r, f, n,
                              strict=True):
        assert [row["class"], row["precision"], row["recall"], row["f1"],
                row["support"]] == pytest.approx(expected, abs=1e-9)
    assert result["f1"] == pytest.approx(
        f1_score(split.y, guess, average="macro"), abs=1e-6)
    png = os.path.join(topics_run.run_dir, "eval-test-confusion.png")
    assert os.path.getsize(png) > 1000
    markdown = open(os.path.join(topics_run.run_dir, "eval-test.md")).read()
    assert "## Per class" in markdown and "| time |" in markdown


def test_predict_export_and_report_take_four_classes(topics_run, topics_dir,
                                                     tmp_path, capsys):
    run = topics_run.run_dir
    out = tmp_path / "predictions.jsonl"
    test_csv = os.path.join(topics_dir, "test.csv")
    assert main(argv=["predict", run, "--input", test_csv, "--output",
                      str(out)]) == EXIT_OK
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    split = text_folder(topics_dir, "text", "topic").test
    assert len(rows) == len(split) and list(rows[0]) == [
        "text", "label", "probabilities"]
    probs = probabilities(topics_run.model, split.x)
    got = np.array([[r["probabilities"][c] for c in TOPICS] for r in rows])
    np.testing.assert_allclose(got, probs, atol=1e-5)
    assert [r["label"] for r in rows] == [TOPICS[i]
                                          for i in probs.argmax(axis=1)]
    capsys.readouterr()
    assert main(argv=["predict", run, "shares rose ."]) == EXIT_OK
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split("\t") == ["label", *(f"p_{c}" for c in TOPICS),
                                      "text"]
    folder = kft.evaluation.export.export(run, "keras",
                                          out=str(tmp_path / "export"))
    manifest = kft.rundir.read_json(os.path.join(folder, "export.json"))
    assert manifest["class_names"] == TOPICS
    table = kft.commands.report.compare([run])
    assert f"{topics_run.metrics['f1']:.4f}" in table
    assert "text_classifier" in table


def test_balanced_class_weights_for_four_classes(topics_dir, tiny_bert,
                                                 tmp_path):
    from sklearn.utils.class_weight import compute_class_weight

    y = np.array([0] * 12 + [1] * 4 + [2] * 2 + [3] * 6)
    expected = compute_class_weight("balanced", classes=np.arange(4), y=y)
    assert list(class_weights(y, 4, "balanced").values()) == pytest.approx(
        expected)
    recipe = text_classifier.recipe().replace(
        preset=tiny_bert, data_dir=topics_dir, label_column="topic",
        limit=24, epochs=1, batch_size=8, sequence_length=32, verbose=0,
        class_weight="balanced", output_dir=str(tmp_path / "run"))
    assert np.isfinite(kft.train(recipe).metrics["loss"])
