"""Enough free disk space for a run's files, checked before training.

A run keeps, at most, these copies of its weights on disk:

- `model.keras`: the weights (W);
- `backup.npz` (`kft.training.checkpoint`): the variables (W), the optimizer's
  slots (S: two per trainable weight for Adam and AdamW, one for SGD with
  momentum, one more with gradient accumulation) and the best weights (W);
- while a file is rewritten, its temporary copy (`kft.rundir.atomic`): at most
  one backup more.

So a run needs about `W + 2 * (2 * W + S)` bytes, less the files an
unfinished run already has (they are replaced).
"""

import os
import shutil

import numpy as np

from kft.errors import KftError
from kft.rundir import layout


def needed_bytes(model, cfg):
    """Bytes a run of `model` with `cfg` may keep on disk at once."""
    weights = sum(_bytes(v) for v in model.weights)
    slots = {"adamw": 2, "adam": 2}.get(cfg.optimizer, int(cfg.momentum > 0))
    slots += int(bool(cfg.gradient_accumulation_steps))
    optimizer = slots * sum(_bytes(v) for v in model.trainable_weights)
    return weights + 2 * (2 * weights + optimizer)


def check_space(run_dir, model, cfg):
    """Raises `KftError` if `run_dir`'s disk lacks the space a run needs.

    Args:
        run_dir: str. The output directory (it need not exist yet).
        model: keras.Model. The compiled model to train.
        cfg: TrainConfig.
    """
    need = needed_bytes(model, cfg)
    for name in (layout.MODEL, layout.BACKUP):
        path = os.path.join(run_dir, name)
        if os.path.exists(path):
            need -= os.path.getsize(path)
    free = shutil.disk_usage(_existing(run_dir)).free
    if free < need:
        raise KftError(
            f"output_dir={run_dir!r}: its disk has {_size(free)} free, "
            f"and this run needs about {_size(need)} "
            f"({layout.MODEL}, {layout.BACKUP} and a temporary copy "
            f"while each is written, for {model.count_params():,} "
            "parameters); free some space or choose another output_dir")


def _size(count):
    """`count` bytes for people: `840 KB`, `12.3 MB`, `3.1 GB`."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count / 1024:.0f} KB"


def _bytes(variable):
    dtype = str(variable.dtype)
    size = 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize
    return int(np.prod(variable.shape)) * size


def _existing(path):
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path
