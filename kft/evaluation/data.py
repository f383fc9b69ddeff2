"""The labelled split `kft eval` reads, known from `config.json` alone.

A run's `config.json` records its `inputs`: `kind` (`text`, `text_pair`
or `image`), `class_names`, `image_size`, and where its data came from
(`text_columns` and `label_column`; `tfds` and `tfds_splits`). Runs from
before that record are read through their recipe's name
(`RECIPE_TASKS`). The recipe itself is never imported.
"""

import os

from kft import rundir
from kft.data import glue_tasks, images, labels, text_files, tfds
from kft.data.splits import Split
from kft.errors import KftError

# Recipe name (config.json "recipe") -> GLUE task of kft.data.glue, for
# runs without `inputs`.
RECIPE_TASKS = {"mrpc": "mrpc", "sst2": "sst2"}
KINDS = ("text", "text_pair", "image")
# GLUE's column names, which runs recorded without `text_columns` read.
COLUMNS = {"text": ("sentence",), "text_pair": ("sentence1", "sentence2")}


def run_inputs(run_dir, record):
    """What the run's model takes and where its data came from: `kind`,
    `class_names`, `image_size`, `task` (a GLUE task name, or None),
    `text_columns`, `label_column`, `tfds` and `tfds_splits`.

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
        inputs = {"kind": kind, "class_names": list(classes),
                  "tfds": f"glue/{task}"}
    kind, names = inputs.get("kind"), inputs.get("class_names")
    size = inputs.get("image_size")
    if (kind not in KINDS or not isinstance(names, list) or len(names) < 2
            or (kind == "image" and not isinstance(size, int))):
        raise KftError(
            f"{path}: `inputs` {inputs!r} is not a kft inputs record (kind "
            f"one of {', '.join(KINDS)}, two or more class_names, and an "
            "image_size for images); train again with this kft")
    return {"kind": kind, "class_names": [str(n) for n in names],
            "task": task, "image_size": size,
            "text_columns": list(inputs.get("text_columns")
                                 or COLUMNS.get(kind, ())),
            "label_column": inputs.get("label_column", "label"),
            "tfds": inputs.get("tfds"),
            "tfds_splits": inputs.get("tfds_splits", tfds.DEFAULT_SPLITS)}


def load_split(inputs, data_dir, split, config, limit=None):
    """The labelled `split` of `data_dir` (None: the run's TFDS dataset).

    Text: `data_dir/SPLIT.EXT` (only that file is needed), with the run's
    columns. Images: `data_dir/SPLIT/` (only that folder is needed). A
    `split=validation` without its file or folder is carved out of train
    with the run's own `seed` and `validation_split`, so it is the very
    validation split the run trained without.

    Returns:
        kft.data.Split, cut to its first `limit` examples.
    """
    if data_dir is None:
        return _download(inputs, split, config).take(limit)
    if inputs["kind"] == "image":
        return images.image_split(
            data_dir, split, inputs["class_names"], seed=config.get("seed", 0),
            validation_split=config.get("validation_split", 0.2),
            limit=limit, image_size=inputs["image_size"])
    return _text_split(inputs, data_dir, split, config).take(limit)


def _download(inputs, split, config):
    name = inputs.get("tfds")
    if name is None:
        what = ("train/<class>/ images" if inputs["kind"] == "image" else
                f"a labelled {split}.csv (or .tsv, .jsonl, .parquet)")
        raise KftError("the run read its data from its recipe's own "
                       f"source; pass data_dir=PATH, a folder with {what}")
    options = dict(splits=inputs.get("tfds_splits", tfds.DEFAULT_SPLITS),
                   class_names=inputs["class_names"],
                   label_column=inputs.get("label_column", "label"),
                   validation_split=config.get("validation_split") or 0.0,
                   seed=config.get("seed", 0))
    if inputs["kind"] == "image":
        found = tfds.tfds_images(name, image_size=inputs["image_size"],
                                 **options)
    else:
        found = tfds.tfds_text(name, inputs.get("text_columns")
                               or COLUMNS[inputs["kind"]], **options)
    found = getattr(found, split)
    if found is None:
        raise KftError(
            f"TensorFlow Datasets {name} has no labelled {split} split "
            f"(tfds_splits={options['splits']}); pass data_dir=PATH "
            "with a labelled one")
    return found


def _text_split(inputs, data_dir, split, config):
    if not os.path.isdir(data_dir):
        raise KftError(f"data_dir {data_dir!r} is not a folder")
    names = tuple(inputs["class_names"])
    columns = inputs.get("text_columns") or COLUMNS[inputs["kind"]]
    label = inputs.get("label_column", "label")
    path = text_files.split_file(data_dir, split)
    if path is None and split == "validation" and config.get(
            "validation_split") and text_files.split_file(data_dir, "train"):
        return text_files.text_folder(
            data_dir, columns, label, names,
            config["validation_split"], config.get("seed", 0)).validation
    if path is None:
        raise KftError(
            f"{os.path.join(data_dir, split)}.* is missing; split={split} "
            f"reads that file ({split}.tsv, .csv, .jsonl or .parquet, with "
            f"the columns {', '.join(columns)} and {label})")
    part = text_files.read_part(path, tuple(columns), label)
    y = labels.encode(part.labels, names, part.where,
                      "the run's class_names", positions=True)
    return Split(part.x, y, path)
