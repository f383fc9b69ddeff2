"""The labelled split `kft eval` reads, known from `config.json` alone.

A run's `config.json` records its `inputs` (`kind`: `text`, `text_pair` or
`image`; `class_names`; `image_size`). Runs from before that record are
read through their recipe's name (`RECIPE_TASKS`). The recipe itself is
never imported.
"""

import os

from kft import rundir
from kft.data import glue_tasks, images
from kft.data.splits import Split
from kft.errors import KftError

# Recipe name (config.json "recipe") -> GLUE task of kft.data.glue, for
# runs without `inputs` and for TensorFlow Datasets downloads.
RECIPE_TASKS = {"mrpc": "mrpc", "sst2": "sst2"}
KINDS = ("text", "text_pair", "image")
# GLUE's column names, which local TSV files of text runs use.
COLUMNS = {"text": ("sentence",), "text_pair": ("sentence1", "sentence2")}


def run_inputs(run_dir, record):
    """What the run's model takes: `kind`, `class_names`, `image_size` and
    `task` (a GLUE task name, or None).

    Raises:
        KftError: for a run without `inputs` of a recipe kft does not know,
            or a malformed `inputs` record.
    """
    path = os.path.join(run_dir, rundir.CONFIG)
    recipe = record.get("recipe")
    task = RECIPE_TASKS.get(recipe)
    inputs = record.get("inputs")
    if inputs is None:
        if task is None:
            raise KftError(
                f"{path} names recipe {recipe!r}; `kft eval` can read runs "
                f"of the recipes {', '.join(sorted(RECIPE_TASKS))}, and "
                "runs whose config.json records `inputs` (train again with "
                "this kft)")
        columns, classes = glue_tasks.TASKS[task]
        kind = "text_pair" if len(columns) == 2 else "text"
        return {"kind": kind, "class_names": list(classes), "task": task,
                "image_size": None}
    kind, names = inputs.get("kind"), inputs.get("class_names")
    size = inputs.get("image_size")
    if (kind not in KINDS or not isinstance(names, list) or len(names) < 2
            or (kind == "image" and not isinstance(size, int))):
        raise KftError(
            f"{path}: `inputs` {inputs!r} is not a kft inputs record (kind "
            f"one of {', '.join(KINDS)}, two or more class_names, and an "
            "image_size for images); train again with this kft")
    return {"kind": kind, "class_names": [str(n) for n in names],
            "task": task, "image_size": size}


def load_split(inputs, data_dir, split, config, limit=None):
    """The labelled `split` of `data_dir` (None: the recipe's download).

    Text: `data_dir/SPLIT.tsv` in GLUE format (only that file is needed).
    Images: `kft.data.image_folder(data_dir)`, with the run's own `seed`
    and `validation_split`, so `split=validation` of a folder without
    `validation/` is the very carve the run trained without.

    Returns:
        kft.data.Split, cut to its first `limit` examples.
    """
    if inputs["kind"] == "image":
        return _image_split(inputs, data_dir, split, config, limit)
    if data_dir is None:
        return _download(inputs["task"], split).take(limit)
    return _tsv_split(inputs, data_dir, split).take(limit)


def _download(task, split):
    if task is None:
        raise KftError("the run read its data from its recipe's own source; "
                       "pass data_dir=PATH, a folder with a labelled "
                       f"{glue_tasks.SPLIT_FILES[split]}")
    found = getattr(glue_tasks.glue(task), split)
    if found is None:
        raise KftError(
            f"TensorFlow Datasets glue/{task} has no labelled {split} "
            f"split; pass data_dir=PATH with a labelled "
            f"{glue_tasks.SPLIT_FILES[split]}")
    return found


def _tsv_split(inputs, data_dir, split):
    columns = COLUMNS[inputs["kind"]]
    if not os.path.isdir(data_dir):
        raise KftError(f"data_dir {data_dir!r} is not a folder")
    path = os.path.join(data_dir, glue_tasks.SPLIT_FILES[split])
    if not os.path.isfile(path):
        raise KftError(
            f"{path} is missing; split={split} reads that file (GLUE "
            f"format: a header naming label and {', '.join(columns)})")
    return Split(*glue_tasks.read_glue_tsv(path, columns,
                                     tuple(inputs["class_names"])))


def _image_split(inputs, data_dir, split, config, limit):
    if data_dir is None:
        raise KftError("the run read its images from its recipe's download; "
                       "pass data_dir=PATH, a folder with train/<class>/ "
                       "images")
    splits = images.image_folder(
        data_dir, limit=limit, seed=config.get("seed", 0),
        validation_split=config.get("validation_split", 0.2),
        image_size=inputs["image_size"])
    if list(splits.class_names) != inputs["class_names"]:
        raise KftError(
            f"{os.path.join(data_dir, 'train')} has class folders "
            f"{list(splits.class_names)}, but the run was trained on "
            f"{inputs['class_names']}; use a folder with the run's classes")
    found = getattr(splits, split)
    if found is None:
        raise KftError(f"{os.path.join(data_dir, split)} is missing; "
                       f"split={split} reads that folder of class folders")
    return found
