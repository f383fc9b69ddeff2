"""A sweep's record (`sweep.json`): made new, or read back and checked,
and written. The only module that reads or writes `sweep.json`.

A sweep goes on only with the settings it started with (`settings`): the
recipe, backend, algorithm, `--smoke`, the fixed values (except those
that change no result, `kft.training.resume.FREE`), the search space and
the oracle's seed. `--trials` and `max_hours` may change.
"""

import json
import os
import shlex
import shutil

from kft import rundir
from kft.config import loader
from kft.errors import KftError
from kft.rundir import layout
from kft.sweep import folder as sweep_folder
from kft.training import resume
from kft.version import __version__


def default_folder(name, backend):
    """`runs/NAME-sweep-BACKEND`: fixed, so the same command resumes."""
    return os.path.join("runs", f"{name}-sweep-{backend}")


def command_line(spec, backend, algorithm, trials, smoke, items):
    """The `kft sweep` command, as `sweep.json` and `sweep.md` show it."""
    args = [spec, "--backend", backend, "--algorithm", algorithm]
    args += ["--trials", str(trials)] if trials else []
    args += ["--smoke"] if smoke else []
    return "kft sweep " + shlex.join(args + list(items))


def settings(recipe, backend, algorithm, smoke, plan):
    """What must stay the same for a sweep to go on (`sweep.json`)."""
    monitor = plan.config.monitor
    return {"recipe": recipe.name,
            "recipe_source": loader.source_of(recipe), "backend": backend,
            "algorithm": algorithm, "smoke": smoke,
            "fixed": {k: v for k, v in plan.fixed.items()
                      if k not in resume.FREE},
            "space": [d.record() for d in plan.dims],
            "seed": plan.config.seed + 1,  # KerasTuner takes 0 as "any"
            "monitor": monitor}


def is_sweep(path):
    """Whether `path` is a sweep folder (it holds `sweep.json`)."""
    return os.path.isfile(os.path.join(path, layout.SWEEP_RECORD))


def read(folder, fix="give a sweep folder written by `kft sweep`"):
    """The `sweep.json` record of the sweep in `folder`; `KftError` when it
    is missing or not readable JSON (`fix` says what to do)."""
    return rundir.read_json(os.path.join(folder, layout.SWEEP_RECORD), fix)


def write(folder, record):
    """Writes `folder/sweep.json` (atomically)."""
    rundir.write_json(os.path.join(folder, layout.SWEEP_RECORD), record)


def open_record(folder, settings):
    """The record of the sweep in `folder` (checked against `settings`)
    and False, or a new record and True."""
    rundir.check_writable(folder)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise KftError(f"output_dir={folder!r} is a file, not a folder")
    if is_sweep(folder):
        path = os.path.join(folder, layout.SWEEP_RECORD)
        try:
            record = read(folder, "give a run directory written by `kft run`")
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise KftError(f"{path} is not readable JSON ({error}); choose "
                           "another output_dir") from None
        check_same(folder, record.get("settings") or {}, settings)
        return record, False
    if os.path.isdir(folder) and os.listdir(folder):
        raise KftError(f"output_dir={folder!r} is not empty and holds no "
                       f"sweep (no {layout.SWEEP_RECORD}); choose a new folder")
    monitor = settings["monitor"]
    return {"kft_version": __version__, "settings": settings,
            "objective": {"name": monitor, "metric": monitor[4:],
                          "direction": "min" if "loss" in monitor
                          else "max"},
            "trials": []}, True


def check_same(folder, saved, given):
    given = json.loads(json.dumps(given))
    differ = [f"{k}: {saved.get(k)!r} in the sweep, {given.get(k)!r} now"
              for k in sorted(set(saved) | set(given))
              if saved.get(k) != given.get(k)]
    if differ:
        raise KftError(
            f"output_dir={folder!r} holds a sweep with other settings "
            f"({'; '.join(differ)}); give its own command to go on with "
            "it, or another output_dir")


def new_row(folder, number, values):
    """The record of trial `number`, before it runs."""
    run_dir = sweep_folder.trial_path(folder, number)
    return {"trial": number, "values": values, "status": "new",
            "run_dir": os.path.relpath(run_dir, folder), "score": None,
            "metrics": None, "best_epoch": None, "epochs_run": None,
            "train_seconds": None, "seconds": 0.0, "error": None}


def remove_new(folder, existed):
    """Removes a new sweep's folder, or empties it if it `existed` (then
    empty) before the sweep."""
    if not existed:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.remove(path)
