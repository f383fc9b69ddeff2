"""kft/evaluation/data.py: the split `kft eval` reads, from config.json."""

import os

import numpy as np
import pytest

from kft import KftError
from kft.data import image_folder, text_folder
from kft.evaluation.data import load_split, run_inputs

pytestmark = pytest.mark.backend_free  # no backend-dependent code

IMAGES = {"kind": "image", "class_names": ["hotdog", "not-hotdog"],
          "image_size": 32}


@pytest.mark.parametrize("recipe, kind", [("mrpc", "text_pair"),
                                          ("sst2", "text")])
def test_runs_without_inputs_are_read_through_their_recipe(recipe, kind):
    inputs = run_inputs("run", {"recipe": recipe, "config": {}})
    columns = ["sentence1", "sentence2"] if recipe == "mrpc" else [
        "sentence"]
    assert inputs == {"kind": kind, "class_names": ["0", "1"],
                      "task": recipe, "image_size": None,
                      "text_columns": columns, "label_column": "label",
                      "tfds": f"glue/{recipe}",
                      "tfds_splits": "train=train,validation=validation,"
                                     "test=test"}


def test_recorded_inputs_take_any_recipe(sst2_dir):
    record = {"recipe": "my_sentiment",
              "inputs": {"kind": "text", "class_names": ["0", "1"]}}
    inputs = run_inputs("run", record)
    assert (inputs["kind"], inputs["task"]) == ("text", None)
    split = load_split(inputs, sst2_dir, "validation", {}, limit=5)
    with open(os.path.join(sst2_dir, "validation.tsv")) as f:
        rows = [line.rstrip("\n").split("\t") for line in f][1:6]
    header = open(os.path.join(sst2_dir, "validation.tsv")).readline()
    text = header.rstrip("\n").split("\t").index("sentence")
    label = header.rstrip("\n").split("\t").index("label")
    assert list(split.x) == [r[text] for r in rows]
    assert split.y.tolist() == [int(r[label]) for r in rows]
    with pytest.raises(KftError, match="pass data_dir=PATH"):
        load_split(inputs, None, "validation", {})


def test_the_validation_images_are_the_runs_own_carve(hotdog_photos):
    config = {"seed": 3, "validation_split": 0.25}
    split = load_split(IMAGES, hotdog_photos, "validation", config)
    expected = image_folder(hotdog_photos, seed=3, validation_split=0.25,
                            image_size=32).validation
    assert list(split.x) == list(expected.x) and len(split) == 4
    assert split.image_size == 32
    assert np.bincount(split.y).tolist() == [2, 2]
    other = load_split(IMAGES, hotdog_photos, "validation",
                       {"seed": 4, "validation_split": 0.25})
    assert set(other.x) != set(split.x)
    assert len(load_split(IMAGES, hotdog_photos, "validation", config,
                          limit=3)) == 3


@pytest.mark.parametrize("data_dir, split, inputs, words", [
    ("photos", "test", IMAGES, "test is missing; split=test reads that "
                               "folder"),

    (None, "validation", IMAGES, "pass data_dir=PATH, a folder with "
                                 "train/<class>/ images"),
    ("photos", "validation", dict(IMAGES, class_names=["cat", "dog"]),
     "has class folders ['hotdog', 'not-hotdog'], but the run was trained "
     "on ['cat', 'dog']"),
])
def test_image_folders_that_do_not_fit_the_run(hotdog_photos, data_dir,
                                               split, inputs, words):
    folder = hotdog_photos if data_dir else None
    with pytest.raises(KftError) as error:
        load_split(inputs, folder, split, {"validation_split": 0.25})
    assert words in str(error.value)


@pytest.mark.parametrize("inputs", [
    {"kind": "text", "class_names": ["only"]},
    {"kind": "image", "class_names": ["a", "b"]},
    {"kind": "text", "class_names": "ab"},
])
def test_malformed_inputs_are_refused_naming_the_file(inputs):
    with pytest.raises(KftError) as error:
        run_inputs("runs/x", {"recipe": "r", "inputs": inputs})
    assert str(error.value).startswith(
        f"{os.path.join('runs/x', 'config.json')}: `inputs` ")


def test_a_held_out_image_folder_needs_only_its_split(hotdog_photos,
                                                      tmp_path):
    os.symlink(os.path.join(hotdog_photos, "train"), tmp_path / "test")
    split = load_split(IMAGES, str(tmp_path), "test", {}, limit=5)
    assert len(split) == 5 and split.image_size == 32
    with pytest.raises(KftError, match=r"not in train/: \['not-hotdog'\]"):
        load_split(dict(IMAGES, class_names=["hotdog", "x"]),
                   str(tmp_path), "test", {})


TOPICS = {"kind": "text", "class_names": ["cinema", "money", "people",
                                          "time"],
          "text_columns": ["text"], "label_column": "topic"}


def test_a_general_text_run_reads_its_own_columns(topics_dir, tmp_path):
    inputs = run_inputs("run", {"recipe": "text_classifier",
                                "inputs": TOPICS})
    split = load_split(inputs, topics_dir, "test", {}, limit=6)
    expected = text_folder(topics_dir, "text", "topic").test
    assert list(split.x) == list(expected.x[:6])
    assert split.y.tolist() == expected.y[:6].tolist()
    held_out = tmp_path / "held_out"
    held_out.mkdir()
    (held_out / "test.jsonl").write_text(
        '{"text": "a film", "topic": "cinema"}\n'
        '{"text": "shares", "topic": "weather"}\n', encoding="utf-8")
    with pytest.raises(KftError, match=r"test\.jsonl:2: label 'weather' "
                                       r"is not a class of the run's"):
        load_split(inputs, str(held_out), "test", {})
    with pytest.raises(KftError, match=r"validation\.\* is missing.*"
                                       r"columns text and topic"):
        load_split(inputs, str(held_out), "validation", {})


def test_a_carved_text_validation_split_is_carved_again(topics_dir,
                                                         tmp_path):
    import shutil

    shutil.copy(os.path.join(topics_dir, "train.csv"), tmp_path)
    inputs = run_inputs("run", {"recipe": "text_classifier",
                                "inputs": TOPICS})
    config = {"seed": 2, "validation_split": 0.25}
    split = load_split(inputs, str(tmp_path), "validation", config)
    expected = text_folder(str(tmp_path), "text", "topic",
                           validation_split=0.25, seed=2).validation
    assert list(split.x) == list(expected.x) and len(split) == 16
