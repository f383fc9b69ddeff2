"""Whether a run directory is resumed, and `kft resume RUN_DIR`.

A run killed before it finished (no `metrics.json`) goes on from its last
backup (`kft.training.backup`) when the same recipe is run into the same
`output_dir` again, or with `kft resume RUN_DIR`. It is refused when the
directory belongs to another recipe or kft run format
(`kft.rundir.read_run`), was trained on another backend, or when the
settings differ in anything that changes the training. This module
imports no keras: the CLI uses it before choosing the backend.
"""

import json
import os
import sys

from kft import rundir
from kft.config import loader
from kft.errors import KftError, warn
from kft.rundir import atomic
from kft.runtime import backend
from kft.runtime.backend import BACKENDS
from kft.runtime.distribute import environment
from kft.training import checkpoint
from kft.training.record import config_record

# Settings that may differ between a run and its resumption.
FREE = ("verbose", "output_dir", "backup_every_steps", "keep_freed_memory")


def find(run_dir, recipe):
    """The backup to resume `run_dir` from, or None to start afresh.

    A new, empty, finished or foreign folder gives None (`rundir.prepare`
    then decides). An unfinished kft run gives its backup, after checking
    the recipe, the run format, the backend and the settings; without a
    usable backup (none yet, or a damaged one: a warning) it gives None and
    the run starts again.

    Args:
        run_dir: str. The output directory.
        recipe: kft.Recipe. The recipe about to run, with its config.

    Returns:
        `(meta, groups)` from `kft.training.checkpoint.load`, or None.

    Raises:
        KftError: when the run must not be continued with this recipe.
    """
    config = os.path.join(run_dir, rundir.CONFIG)
    if not os.path.isfile(config) or os.path.exists(
            os.path.join(run_dir, rundir.METRICS)):
        return None
    record = rundir.read_run(run_dir, recipe=recipe.name)
    check_settings(run_dir, record["config"],
                   config_record(recipe)["config"])
    check_backend(run_dir)
    try:
        saved = checkpoint.load(run_dir)
    except checkpoint.Unreadable as error:
        warn(f"ignoring the damaged backup {checkpoint.path_in(run_dir)} "
             f"({error}); the run starts again from its first epoch")
        saved = None
    if saved is None:
        _say(f"{run_dir} holds an unfinished run without a backup; "
             "starting it again")
        return None
    atomic.remove_leftovers(run_dir)  # of a write the kill cut short
    _say(position_message(run_dir, saved[0], recipe.config.epochs))
    return saved


def position_message(run_dir, meta, epochs):
    """What resuming from a backup with `meta` does, in words."""
    epoch, step = meta["position"]
    if epoch >= epochs or meta.get("stopped"):
        why = ("early stopping ended it" if meta.get("stopped")
               else f"all {epochs} epochs are done")
        return (f"resuming {run_dir}: its training is complete ({why}); "
                "finishing it: evaluating the best model and writing "
                f"{rundir.METRICS}")
    return (f"resuming {run_dir} from its backup: epoch {epoch + 1}, "
            f"after step {step}")


def check_settings(run_dir, saved, given):
    """Refuses settings that differ from the run's in what they train."""
    given = json.loads(json.dumps(given))  # as config.json holds them
    keys = sorted((set(saved) | set(given)) - set(FREE))
    missing = "(unset)"
    differ = [f"{k}={saved.get(k, missing)!r} in the run, "
              f"{given.get(k, missing)!r} now" for k in keys
              if saved.get(k, missing) != given.get(k, missing)]
    if differ:
        raise KftError(
            f"{run_dir} holds an unfinished run with other settings: "
            f"{'; '.join(differ)}. Resume it with its own settings "
            f"(`kft resume {run_dir}`), or train into another output_dir")


def check_backend(run_dir):
    """Refuses to resume a run on another backend than it started on."""
    trained = run_backend(run_dir)
    if trained is not None and trained != backend.current():
        raise KftError(
            f"{run_dir} was trained on {trained}, not {backend.current()}: "
            f"resume it with --backend {trained}")


def run_backend(run_dir):
    """The backend `run_dir/env.json` records, or None when there is no
    `env.json`; `KftError` when it is damaged."""
    path = os.path.join(run_dir, rundir.ENV)
    if not os.path.exists(path):
        return None
    env = rundir.read_json(path, "it records the run's backend: give "
                           "--backend as the run was trained")
    if not isinstance(env, dict) or env.get("backend") not in BACKENDS:
        raise KftError(f"{path} names no backend; give --backend as the run "
                       "was trained")
    return env["backend"]


def check_processes(run_dir):
    """Refuses `kft resume` of a run that several processes trained (it
    resumes as the command that started it, run again)."""
    env = rundir.read_json(os.path.join(run_dir, rundir.ENV)) \
        if os.path.exists(os.path.join(run_dir, rundir.ENV)) else {}
    processes = (env.get("distribution") or {}).get("processes", 1)
    if processes > 1 and environment.WORLD_SIZE not in os.environ:
        raise KftError(
            f"{run_dir} was trained by {processes} processes; resume it by "
            "running the command that started it again (e.g. kft run "
            f"RECIPE --processes {processes} ... output_dir={run_dir}), "
            "which goes on from its backup")


def recipe_of(run_dir, overrides=None, trust=False):
    """The recipe of an unfinished run, with the run's own settings.

    It imports the recipe that `config.json` names, and says so. A recipe
    file must lie inside the current folder (and not inside the run
    directory, which may come from someone else) unless `trust`; a module
    name is imported from `sys.path` as usual.

    Args:
        run_dir: str. A run directory written by `kft run`.
        overrides: dict or None. `key=value` settings; only `FREE` ones
            may differ from the run's.
        trust: bool. Import a recipe file from anywhere (`--trust-recipe`).

    Returns:
        kft.Recipe, whose `output_dir` is `run_dir`.
    """
    record = rundir.read_run(run_dir)
    if os.path.exists(os.path.join(run_dir, rundir.METRICS)):
        raise KftError(f"{run_dir} holds a finished run (it has "
                       f"{rundir.METRICS}); there is nothing to resume")
    source = record.get("recipe_source")
    if not source:
        raise KftError(
            f"{run_dir}/{rundir.CONFIG} does not name its recipe file; "
            f"resume with `kft run RECIPE output_dir={run_dir}`")
    check_recipe_file(run_dir, source, trust)
    _say(f"importing recipe {source} (named in "
         f"{os.path.join(run_dir, rundir.CONFIG)})")
    recipe = loader.load(source)
    if recipe.name != record["recipe"]:
        raise KftError(
            f"{source} now holds recipe {recipe.name!r}, but {run_dir} is "
            f"a run of {record['recipe']!r}; resume with `kft run RECIPE "
            f"output_dir={run_dir}`")
    values = dict(record["config"], **(overrides or {}))
    values["output_dir"] = run_dir
    return recipe.replace(**values)


def check_recipe_file(run_dir, source, trust=False):
    """Refuses to import a recipe file outside the current folder, or
    inside the run directory, unless `trust`."""
    if trust or not (source.endswith(".py") or os.sep in source):
        return
    path = os.path.realpath(source)
    here = os.path.realpath(os.getcwd())
    inside_run = _within(path, os.path.realpath(run_dir))
    if _within(path, here) and not inside_run:
        return
    where = ("inside the run directory" if inside_run
             else f"outside the current folder {here}")
    raise KftError(
        f"{run_dir}/{rundir.CONFIG} names recipe file {source}, {where}; "
        "kft resume imports (runs) it. Run kft resume from the folder that "
        "holds the recipe, or pass --trust-recipe if you trust this run "
        "directory")


def _within(path, folder):
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _say(message):
    print(f"kft: {message}", file=sys.stderr, flush=True)
