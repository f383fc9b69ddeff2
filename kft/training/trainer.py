"""`train(recipe)`: data, model, compile, `fit`, evaluate, run directory."""

import contextlib
import dataclasses
import inspect
import math
import os
import tempfile
import time

from kft import rundir
from kft.data import buckets, eda
from kft.errors import KftError
from kft.model import dropout, freeze, head, lora, presets
from kft.rundir import disk
from kft.runtime import backend, distribute, setup
from kft.training import (
    callbacks,
    checkpoint,
    losses,
    metrics,
    optimizers,
    outputs,
    record,
    resume,
    schedules,
)
from kft.training.backup import Backup
from kft.training.interrupt import Signals
from kft.training.result import Result


def train(recipe, **overrides) -> Result:
    """Fine-tunes `recipe`'s model on its data and writes a run directory.

    Bad input (data, preset, config) fails before the run directory is made.
    An unfinished run of the same recipe and settings in `output_dir` is
    resumed from its last backup (`kft.training.resume`). SIGTERM or
    SIGINT during training stops it after the current step with a backup
    and raises `kft.training.interrupt.Interrupted`. The process settings
    a run changes are put back when it returns (`kft.runtime.setup`).

    Args:
        recipe: kft.Recipe.
        **overrides: config fields to replace, as `recipe.replace` takes.

    Example:

    ```python
    from recipes import mrpc
    result = kft.train(mrpc.recipe(), epochs=1, limit=64)
    result.metrics["accuracy"]
    ```
    """
    recipe = recipe.replace(**overrides) if overrides else recipe
    cfg = recipe.config
    path = cfg.output_dir or rundir.default_path(recipe.name,
                                                 backend.current())
    rundir.check_writable(path)
    saved = resume.find(path, recipe)  # an unfinished run goes on
    restore = setup.configure(cfg)
    try:
        with Signals() as signals:
            return _train(recipe, path, saved, signals)
    finally:
        restore()


def _train(recipe, path, saved, signals):
    cfg = recipe.config
    splits, model, steps = prepare(recipe, configured=True)
    chief = distribute.is_chief()  # rank 0 alone writes the run directory
    if chief:
        disk.check_space(path, model, cfg)
    if chief and saved is None:
        rundir.prepare(path)
        checkpoint.remove(path)
        rundir.write_json(os.path.join(path, rundir.CONFIG),
                          record.config_record(recipe, splits))
        rundir.write_json(os.path.join(path, rundir.ENV),
                          setup.describe(cfg.seed))
    backup = Backup(path, steps, cfg.backup_every_steps, saved, chief,
                    signals, distribute.any_process,
                    distribute.current().processes > 1,
                    distribute.metric_values())
    return _fit(model, cfg, splits, backup, writes=chief)


def prepare(recipe, configured=False):
    """Loads the data, builds and compiles the model: no files.

    Args:
        recipe: kft.Recipe.
        configured: bool. The process is already set up for the run
            (`kft.runtime.setup.configure`); False sets it up, for good.

    Returns:
        `(splits, model, steps_per_epoch)`.
    """
    cfg = recipe.config
    if not configured:
        setup.configure(cfg)
    if isinstance(getattr(cfg, "preset", None), str):
        presets.check(cfg.preset)
    splits = recipe.data(cfg).take(cfg.limit)
    _check_splits(splits)
    if cfg.augment == "eda":
        splits = _with_eda(splits, cfg.seed)
    steps = _steps_per_epoch(cfg, len(splits.train))
    with distribute.scope():  # TensorFlow builds inside its strategy
        model = dropout.set_dropout(build_model(recipe, splits), cfg.dropout)
        head.portable_head(model, cfg.seed)
        lora.enable_lora(model, cfg.lora_rank)  # after: LoRA kernels
        freeze.freeze(model, cfg.freeze)
        distribute.prepare_model(model)
        _compile(model, recipe, len(splits.class_names), cfg.epochs * steps)
    return splits, model, steps


def build_model(recipe, splits):
    """`recipe.model(cfg, class_names)`, or `recipe.model(cfg)` for a
    recipe whose `model` takes the config only."""
    takes = inspect.signature(recipe.model).parameters
    if len(takes) >= 2:
        return recipe.model(recipe.config, tuple(splits.class_names))
    return recipe.model(recipe.config)


def _fit(model, cfg, splits, backup, writes=True):
    path, steps = backup.run_dir, backup.steps
    best = _best_model(path, cfg.monitor, writes)
    timer = callbacks.StepTimer(backup.offset)
    train_ds, validation_ds, feeding, padded = _datasets(
        model, cfg, splits, backup.start_batch())
    # The model's own preprocessing, for engines that must run it in the
    # pipeline; bucketed text (padded, length_buckets) is tokenized already.
    preprocess = (None if padded is not None and cfg.length_buckets
                  else getattr(model, "preprocess_samples", None))
    train_ds, validation_ds, weights = distribute.datasets(
        train_ds, validation_ds, losses.class_weights(
            splits.train.y, len(splits.class_names), cfg.class_weight),
        preprocess)
    with feeding, distribute.loop(model):
        start = time.time()
        model.fit(
            train_ds,  # endless: epoch e is batches [e * steps, ...)
            validation_data=validation_ds,
            epochs=cfg.epochs,
            initial_epoch=backup.initial_epoch(cfg.epochs),
            steps_per_epoch=steps,
            callbacks=backup.callbacks([
                *callbacks.engine(distribute.metric_totals(), backup.offset),
                timer,
                *_unfreeze(model, cfg, steps),
                *callbacks.standard(cfg, best, path if writes else None,
                                    backup.offset)]),
            verbose=cfg.verbose if writes else 0,
            class_weight=weights,
            shuffle=False,  # the datasets reshuffle every epoch themselves
        )
        seconds = time.time() - start + backup.seconds
        with distribute.scope():
            scores, matrix = outputs.final_evaluation(
                model, validation_ds, len(splits.class_names),
                distribute.compile_metrics)
    if writes:
        outputs.write_plots(path, matrix, splits.class_names)
    best_epoch = None if best.best_epoch is None else best.best_epoch + 1
    history = backup.history
    summary = dict(scores, best_epoch=best_epoch,
                   epochs_run=len(history.get("loss", [])),
                   train_seconds=seconds, resumed=backup.resumes,
                   train_examples=len(splits.train),
                   validation_examples=len(splits.validation),
                   timing=timer.summary(cfg.batch_size),
                   mean_padded_length=padded, shards=distribute.shards())
    if not writes:
        return Result(None, scores, history, model)
    rundir.write_json(os.path.join(path, rundir.METRICS), summary)
    backup.finish()
    return Result(path, scores, history, model)


def _best_model(path, monitor, writes):
    """The `BestModel` of this process: it saves `model.keras` in the
    process that writes the run directory; where the engine saves
    collectively (JAX, TensorFlow multi-worker), the other processes save
    a scratch copy alongside."""
    if writes:
        return callbacks.BestModel(os.path.join(path, rundir.MODEL), monitor)
    if not distribute.saves_together():
        return callbacks.BestModel(None, monitor)
    scratch = os.path.join(tempfile.mkdtemp(prefix="kft-scratch-"),
                           rundir.MODEL)
    return callbacks.BestModel(scratch, monitor, scratch=True)


def _datasets(model, cfg, splits, start=0):
    """Builders of the training and validation datasets, the context to
    feed them in, and the mean padded length of a training example (None
    if not text).

    The builders take how this process shares each global batch
    (`kft.runtime.distribute.datasets` calls them): `train(share,
    class_weight)` and `validation(share)`. Training batches are an
    endless stream from global batch `start` (`kft.data.stream`). Text
    goes through `kft.data.buckets` (tokenized once, length-bucketed)
    unless `length_buckets=0`; anything else through `Split.dataset`.
    """
    train, validation = splits.train, splits.validation
    text = buckets.applies(model, train.x)
    if not cfg.length_buckets or not text:
        padded = model.preprocessor.sequence_length if text else None
        return (
            lambda share, weights: train.dataset(
                cfg.batch_size, shuffle=True, seed=cfg.seed, start=start,
                share=share, class_weight=weights),
            lambda share: validation.dataset(cfg.batch_size, share=share),
            contextlib.nullcontext(), padded)
    preprocessor = model.preprocessor
    train_features = buckets.tokenize(preprocessor, train.x)
    validation_features = buckets.tokenize(preprocessor, validation.x)
    lengths = buckets.lengths(train_features)
    bounds = buckets.boundaries(lengths, cfg.batch_size, cfg.length_buckets,
                                preprocessor.sequence_length, seed=cfg.seed)
    return (
        lambda share, weights: buckets.dataset(
            train_features, train.y, cfg.batch_size, bounds, shuffle=True,
            seed=cfg.seed, start=start, share=share, class_weight=weights),
        lambda share: buckets.dataset(
            validation_features, validation.y, cfg.batch_size, bounds,
            share=share),
        buckets.preprocessed(model),
        buckets.mean_width(lengths, cfg.batch_size, bounds, seed=cfg.seed),
    )


def _unfreeze(model, cfg, steps):
    """The `Unfreeze` callback `unfreeze_at` asks for, as a list."""
    if cfg.unfreeze_at is None:
        return []
    frozen = [layer for layer in model.backbone.layers
              if layer.weights and not layer.trainable]
    return [callbacks.Unfreeze(cfg.unfreeze_at, frozen, lambda: (
        optimizers.build(cfg, schedules.build(cfg, cfg.epochs * steps),
                         optimizers.head_variables(model))))]


def _compile(model, recipe, num_classes, total_steps):
    cfg = recipe.config
    model.compile(
        optimizer=optimizers.build(cfg, schedules.build(cfg, total_steps),
                                   optimizers.head_variables(model)),
        loss=(recipe.loss(cfg) if recipe.loss
              else losses.default_loss(cfg.label_smoothing)),
        **distribute.compile_metrics(metrics.metrics_for(num_classes)),
    )


def _steps_per_epoch(cfg, examples):
    steps = math.ceil(examples / cfg.batch_size)
    if cfg.steps_per_epoch is not None:
        steps = min(steps, cfg.steps_per_epoch)
    return steps


def _with_eda(splits, seed):
    if splits.train.image_size is not None:
        raise KftError("augment=eda is text augmentation; image recipes "
                       "already augment training images: set augment=none")
    return dataclasses.replace(splits, train=eda.augment_split(splits.train,
                                                               seed))


def _check_splits(splits):
    for name in ("train", "validation"):
        split = getattr(splits, name)
        if len(split) == 0:
            raise KftError(
                f"the {name} split ({split.source or 'no source'}) is "
                "empty; check data_dir= and limit="
            )
