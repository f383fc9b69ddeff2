"""The `config.json` record of a run: its recipe, settings and inputs."""

import dataclasses
import os

from kft import rundir
from kft.config import loader
from kft.model import presets
from kft.version import __version__


def config_record(recipe, splits=None):
    """The `config.json` content of a recipe (and of its data's `inputs`).

    Paths (`data_dir`, `output_dir`, a preset folder) are made absolute,
    so `kft eval RUN_DIR` works from any folder.
    """
    config = dataclasses.asdict(recipe.config)
    for key in ("data_dir", "output_dir", "preset"):
        value = config.get(key)
        if isinstance(value, str) and (key != "preset"
                                       or presets.looks_like_path(value)):
            config[key] = os.path.abspath(os.path.expanduser(value))
    record = {"kft_version": __version__, "run_format": rundir.RUN_FORMAT,
              "recipe": recipe.name,
              "recipe_source": loader.source_of(recipe), "config": config}
    if splits is not None:
        record["inputs"] = rundir.inputs_record(splits)
    return record
