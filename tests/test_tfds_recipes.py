"""`kft run` of the general recipes with `tfds=`, through `kft.main` in
this process, on TensorFlow Datasets' mock data (`tfds.testing.mock_data`:
TFDS's real builder code path, its features and class names, on generated
examples; no download). Then `kft eval` of that run reads the same TFDS
source."""

import json

import pytest

from kft.commands.cli import main
from kft.errors import EXIT_OK

pytestmark = pytest.mark.integration


def mocked_kft(examples, *args):
    """`kft ARGS` as a user runs it, inside TFDS's mock."""
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=examples):
        assert main(argv=list(args)) == EXIT_OK


def read(path):
    return json.loads(path.read_text())


def test_text_recipe_on_a_tfds_text_dataset(tiny_bert, tmp_path, backend):
    out = tmp_path / "run"
    mocked_kft(40, "run", "recipes/text_classifier.py", "--backend",
               backend, "tfds=ag_news_subset",
               "text_columns=title,description",
               "tfds_splits=train=train,test=test", "validation_split=0.25",
               f"preset={tiny_bert}", "epochs=1", "batch_size=8",
               "sequence_length=32", "verbose=0", f"output_dir={out}")
    inputs = read(out / "config.json")["inputs"]
    assert inputs["class_names"] == ["World", "Sports", "Business",
                                     "Sci/Tech"]
    assert (inputs["kind"], inputs["tfds"]) == ("text_pair",
                                                "ag_news_subset")
    metrics = read(out / "metrics.json")
    assert metrics["train_examples"] + metrics["validation_examples"] == 40
    assert {"accuracy", "f1", "auc"} <= set(metrics)
    mocked_kft(40, "eval", str(out), "--backend", backend, "split=test")
    result = read(out / "eval-test.json")
    assert result["examples"] == 40 and len(result["per_class"]) == 4


def test_image_recipe_on_a_tfds_image_dataset(tiny_resnet, tmp_path,
                                              backend):
    out = tmp_path / "run"
    mocked_kft(50, "run", "recipes/image_classifier.py", "--backend",
               backend, "tfds=mnist", "tfds_splits=train=train,"
               "validation=test", "flip=false", "crop_scale=0.5,1",
               f"preset={tiny_resnet}", "image_size=32", "epochs=1",
               "batch_size=10", "verbose=0", f"output_dir={out}")
    inputs = read(out / "config.json")["inputs"]
    assert inputs["class_names"] == [str(d) for d in range(10)]
    assert (inputs["kind"], inputs["tfds"]) == ("image", "mnist")
    metrics = read(out / "metrics.json")
    assert metrics["train_examples"] == 50
    assert "top5_accuracy" in metrics  # 10 classes
