"""A run's backup: its whole training state in one file, `backup.npz`.

The file is a NumPy archive written atomically (`kft.rundir.atomic`), so a kill
leaves the previous backup or the new one, never a torn one. It holds
groups of arrays and a JSON `meta` record:

- `model`: every variable of the model (`model.variables`): the weights,
  and the state of each dropout `SeedGenerator`, which Keras's own
  `save_weights` does not save on any backend;
- `optimizer`: every optimizer variable (step count, moments, learning
  rate, gradient accumulators);
- `metrics`: the running totals of the training metrics, for a backup
  taken in the middle of an epoch (`add_metrics`);
- `rng`: torch only: torch's global generator, which Keras's unseeded
  torch dropout draws from;
- whatever else the caller adds (`kft.training.backup` adds the best weights).

Reading checks the archive's CRC-32 sums, the record's format and each
group's size; any failure raises `Unreadable`, and the caller ignores the
file with a warning rather than trusting it.
"""

import json
import os
import zipfile

import numpy as np

from kft import rundir
from kft.errors import KftError
from kft.rundir import atomic

NAME = rundir.BACKUP
FORMAT = 1


class Unreadable(Exception):
    """A backup file that is damaged or not a kft backup."""


def path_in(run_dir):
    return os.path.join(run_dir, NAME)


def save(run_dir, meta, groups):
    """Writes `meta` (a JSON-able dict) and `groups` (name -> list of arrays)
    to `run_dir/backup.npz`, atomically."""
    meta = dict(meta, format=FORMAT,
                groups={name: len(values) for name, values in groups.items()})
    payload = {"meta": np.frombuffer(json.dumps(meta).encode(), np.uint8)}
    for name, values in groups.items():
        for i, value in enumerate(values):
            payload[f"{name}/{i}"] = np.asarray(value)
    with atomic.writing(path_in(run_dir)) as f:
        np.savez(f, **payload)


def load(run_dir):
    """Reads `run_dir/backup.npz`.

    Returns:
        `(meta, groups)`, or None when there is no backup.

    Raises:
        Unreadable: the file is damaged, truncated, or of another format.
    """
    path = path_in(run_dir)
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(archive["meta"].tobytes().decode())
            if meta.get("format") != FORMAT:
                raise Unreadable(f"backup format {meta.get('format')}, "
                                 f"not {FORMAT}")
            groups = {name: [archive[f"{name}/{i}"] for i in range(count)]
                      for name, count in meta["groups"].items()}
    except Unreadable:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError,
            zipfile.BadZipFile) as error:
        raise Unreadable(f"{type(error).__name__}: {error}") from None
    return meta, groups


def remove(run_dir):
    if os.path.exists(path_in(run_dir)):
        os.remove(path_in(run_dir))


def capture(model, metric_totals=None):
    """The model's, optimizer's and metrics' variables, and torch's RNG.

    Args:
        model: keras.Model. Compiled.
        metric_totals: callable or None. `metric_totals(variables)` gives
            the metric variables' values summed over the processes, when
            each process keeps its own running totals (torch under
            `torchrun`); None reads them as they are.
    """
    import keras

    metrics = model.metrics_variables
    groups = {
        "model": [v.numpy() for v in model.variables],
        "optimizer": [v.numpy() for v in model.optimizer.variables],
        "metrics": (metric_totals(metrics) if metric_totals
                    else [v.numpy() for v in metrics]),
    }
    if keras.backend.backend() == "torch":
        import torch

        groups["rng"] = [torch.get_rng_state().numpy()]
    return groups


def restore(model, groups):
    """Puts the `model` and `optimizer` groups back (before training)."""
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    assign(model.variables, groups["model"], "model")
    assign(model.optimizer.variables, groups["optimizer"], "optimizer")


def add_metrics(model, groups):
    """Adds the backup's running totals of the training metrics to the
    model's, after the first step of a resumed epoch.

    TensorFlow builds the metrics' variables only in that first step, so
    they cannot be restored before it. kft's training metrics are all sums
    (loss and accuracy totals and counts, F1 and AUC confusion counts), and
    one floating-point addition gives the same bits in either order, so
    the totals equal those of a run that never stopped.
    """
    variables = model.metrics_variables
    totals = [np.asarray(v.numpy()) + saved
              for v, saved in zip(variables, groups["metrics"], strict=False)]
    assign(variables, totals, "metrics")


def restore_rng(groups):
    """Puts torch's global generator back (right before a training step)."""
    if "rng" in groups:
        import torch

        torch.set_rng_state(torch.from_numpy(np.array(groups["rng"][0])))


def assign(variables, values, what):
    """Assigns `values` to `variables` in order, checking every shape."""
    variables = list(variables)
    shapes = [tuple(v.shape) for v in variables]
    saved = [tuple(np.shape(a)) for a in values]
    if shapes != saved:
        raise KftError(
            f"the backup's {what} state ({len(saved)} variables) does not "
            f"fit this run's ({len(shapes)} variables): the recipe's model "
            "changed since the backup; train into a new output_dir")
    for variable, value in zip(variables, values, strict=True):
        variable.assign(value)
