"""kft/eval_data.py: the split `kft eval` reads, from config.json alone."""

import os

import numpy as np
import pytest

from kft import KftError
from kft.commands.eval_data import load_split, run_inputs
from kft.data import image_folder

IMAGES = {"kind": "image", "class_names": ["hotdog", "not-hotdog"],
          "image_size": 32}


@pytest.mark.parametrize("recipe, kind", [("mrpc", "text_pair"),
                                          ("sst2", "text")])
def test_runs_without_inputs_are_read_through_their_recipe(recipe, kind):
    inputs = run_inputs("run", {"recipe": recipe, "config": {}})
    assert inputs == {"kind": kind, "class_names": ["0", "1"],
                      "task": recipe, "image_size": None}


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
