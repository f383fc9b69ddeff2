"""kft/training/backup.py: resuming from any backup gives the run that never
stopped, with every stateful callback put back (in-process: no kill needed)."""

import dataclasses
import os
import shutil

import numpy as np
import pytest

import kft
from kft import rundir
from kft.training import checkpoint


@pytest.fixture(scope="module")
def reference(tiny_bert, mrpc_dir, tmp_path_factory):
    """A run with gradual unfreezing, ReduceLROnPlateau and early stopping,
    backed up after every step; every backup is kept as a copy."""
    from recipes import mrpc

    def flipped(cfg):  # validation = train, labels flipped: val_loss rises
        splits = mrpc.data(cfg).take(cfg.limit)
        reverse = dataclasses.replace(splits.train, y=1 - splits.train.y)
        return dataclasses.replace(splits, validation=reverse)

    folder = tmp_path_factory.mktemp("backups")
    recipe = dataclasses.replace(mrpc.recipe(), data=flipped).replace(
        preset=tiny_bert, data_dir=mrpc_dir, limit=16, batch_size=8,
        sequence_length=32, epochs=5, learning_rate=1e-2, freeze="backbone",
        unfreeze_at=1, schedule="plateau", patience=2, monitor="val_loss",
        backup_every_steps=1, verbose=0, output_dir=str(folder / "run"))
    copies = {}
    save = checkpoint.save

    def keep(run_dir, meta, groups):
        save(run_dir, meta, groups)
        copy = str(folder / f"backup-{len(copies)}.npz")
        shutil.copy(checkpoint.path_in(run_dir), copy)
        copies[tuple(meta["position"])] = copy

    mp = pytest.MonkeyPatch()
    mp.setattr(checkpoint, "save", keep)
    try:
        result = kft.train(recipe)
    finally:
        mp.undo()
    return recipe, result, copies


def test_the_reference_run_exercises_every_stateful_callback(reference):
    _, result, copies = reference
    losses = result.history["val_loss"]
    assert len(losses) < 5  # early stopping ended it
    rates = result.history["learning_rate"]
    assert rates[-1] < rates[0]  # ReduceLROnPlateau lowered the rate
    assert (1, 0) in copies and (1, 1) in copies  # around unfreeze_at=1
    assert (len(losses), 0) in copies  # the backup after the last epoch


@pytest.mark.parametrize("position", [
    (0, 1),  # mid-epoch, backbone frozen
    (1, 0),  # the epoch where the backbone thaws, from its start
    (1, 1),  # mid-epoch, after thawing: the backup's optimizer is the new one
    "last",  # early stopping had ended training: only the end is left
])
def test_resuming_from_any_backup_gives_the_same_run(reference, position,
                                                     tmp_path):
    recipe, result, copies = reference
    if position == "last":
        position = (len(result.history["val_loss"]), 0)
    run = tmp_path / "run"
    os.makedirs(run)
    for name in (rundir.CONFIG, rundir.ENV):
        shutil.copy(os.path.join(result.run_dir, name), run / name)
    shutil.copy(copies[position], checkpoint.path_in(str(run)))
    resumed = kft.train(recipe.replace(output_dir=str(run)))
    assert resumed.metrics == result.metrics
    assert resumed.history == result.history
    assert (run / rundir.HISTORY).read_text() == open(
        os.path.join(result.run_dir, rundir.HISTORY)).read()
    metrics = rundir.read_json(str(run / rundir.METRICS))
    assert metrics["best_epoch"] == rundir.read_json(os.path.join(
        result.run_dir, rundir.METRICS))["best_epoch"]
    saved = kft.load_model(str(run)).get_weights()
    for mine, theirs in zip(saved, result.model.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
