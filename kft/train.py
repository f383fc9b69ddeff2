"""`train(recipe)`: data, model, compile, `fit`, evaluate, run directory."""

import dataclasses
import math
import os
import time

from kft import backend, distribute, rundir
from kft.errors import KftError


@dataclasses.dataclass
class Result:
    """What `train` returns.

    Args:
        run_dir: str. The run directory.
        metrics: dict. Validation metrics of the best model (`loss`,
            `accuracy`, and `f1`, `auc` for two-class tasks).
        history: dict. Per-epoch values logged by `fit`.
        model: keras.Model. The best model, in memory.
    """

    run_dir: str
    metrics: dict
    history: dict
    model: object


def train(recipe) -> Result:
    """Fine-tunes `recipe`'s model on its data and writes a run directory.

    Bad input (data, preset, config) fails before the run directory is made.
    An unfinished run of the same recipe and settings in `output_dir` is
    resumed from its last backup (`kft.resume`, `kft.backup`).

    Args:
        recipe: kft.Recipe.

    Example:

    ```python
    from recipes import mrpc
    result = kft.train(mrpc.recipe().replace(epochs=1, limit=64))
    result.metrics["accuracy"]
    ```
    """
    from kft import checkpoint, resume
    from kft.disk import check_space

    cfg = recipe.config
    path = cfg.output_dir or rundir.default_path(recipe.name,
                                                 backend.current())
    rundir.check_writable(path)
    saved = resume.find(path, recipe)  # an unfinished run goes on
    splits, model, steps = prepare(recipe)
    chief = distribute.is_chief()  # rank 0 alone writes the run directory
    if chief:
        check_space(path, model, cfg)
    if chief and saved is None:
        rundir.prepare(path)
        checkpoint.remove(path)
        rundir.write_json(os.path.join(path, rundir.CONFIG),
                          rundir.config_record(recipe, splits))
        rundir.write_json(os.path.join(path, rundir.ENV),
                          backend.describe(cfg.seed))
    return _fit(model, cfg, splits, steps, path, saved, writes=chief)


def prepare(recipe):
    """Seeds, loads the data, builds and compiles the model: no files.

    Returns:
        `(splits, model, steps_per_epoch)`.
    """
    from kft.dropout import set_dropout
    from kft.freeze import freeze
    from kft.init import portable_head
    from kft.lora import enable_lora

    cfg = recipe.config
    backend.configure(cfg)
    if isinstance(getattr(cfg, "preset", None), str):
        from kft.presets import check

        check(cfg.preset)
    splits = recipe.data(cfg).take(cfg.limit)
    _check_splits(splits)
    if cfg.augment == "eda":
        splits = _with_eda(splits, cfg.seed)
    steps = _steps_per_epoch(cfg, len(splits.train))
    with distribute.scope():  # TensorFlow builds inside its strategy
        model = set_dropout(recipe.model(cfg), cfg.dropout)
        portable_head(model, cfg.seed)
        enable_lora(model, cfg.lora_rank)  # after: LoRA kernels are tensors
        freeze(model, cfg.freeze)
        distribute.prepare_model(model)
        _compile(model, recipe, len(splits.class_names), cfg.epochs * steps)
    return splits, model, steps


def _fit(model, cfg, splits, steps, path, saved=None, writes=True):
    from kft.backup import Backup
    from kft.callbacks import BestModel
    from kft.losses import class_weights
    from kft.plots import write_run_plots
    from kft.timing import StepTimer

    backup = Backup(path, steps, cfg.backup_every_steps, saved, writes)
    best = BestModel(os.path.join(path, rundir.MODEL) if writes else None,
                     cfg.monitor)
    timer = StepTimer(backup.offset)
    train_ds, validation_ds, feeding, padded = _datasets(
        model, cfg, splits, backup.start_batch())
    train_ds, validation_ds, weights = distribute.datasets(
        train_ds, validation_ds, class_weights(
            splits.train.y, len(splits.class_names), cfg.class_weight),
        len(splits.validation))
    with feeding:
        start = time.time()
        model.fit(
            train_ds,  # endless: epoch e is batches [e * steps, ...)
            validation_data=validation_ds,
            epochs=cfg.epochs,
            initial_epoch=backup.initial_epoch(cfg.epochs),
            steps_per_epoch=steps,
            callbacks=backup.callbacks([
                *distribute.callbacks(), timer,
                *_unfreeze(model, cfg, steps),
                *_callbacks(cfg, best, path if writes else None,
                            backup.offset)]),
            verbose=cfg.verbose if writes else 0,
            class_weight=weights,
            shuffle=False,  # the datasets reshuffle every epoch themselves
        )
        seconds = time.time() - start + backup.seconds
        values = model.evaluate(validation_ds, verbose=0, return_dict=True)
        if writes:
            write_run_plots(path, model, validation_ds, splits.class_names)
    metrics = {k: float(v) for k, v in values.items()}
    best_epoch = None if best.best_epoch is None else best.best_epoch + 1
    history = backup.history
    record = dict(metrics, best_epoch=best_epoch,
                  epochs_run=len(history.get("loss", [])),
                  train_seconds=seconds, resumed=backup.resumes,
                  train_examples=len(splits.train),
                  validation_examples=len(splits.validation),
                  timing=timer.summary(cfg.batch_size),
                  mean_padded_length=padded, shards=distribute.shards())
    if not writes:
        return Result(None, metrics, history, model)
    rundir.write_json(os.path.join(path, rundir.METRICS), record)
    backup.finish()
    return Result(path, metrics, history, model)


def _datasets(model, cfg, splits, start=0):
    """Training and validation datasets, the context to feed them in, and
    the mean padded length of a training example (None if not text).

    Training batches are an endless stream from global batch `start`
    (`kft.data.stream`). Text goes through `kft.buckets` (tokenized once,
    length-bucketed) unless `length_buckets=0`; anything else through
    `Split.dataset`.
    """
    import contextlib

    from kft import buckets

    train, validation = splits.train, splits.validation
    text = buckets.applies(model, train.x)
    if not cfg.length_buckets or not text:
        padded = model.preprocessor.sequence_length if text else None
        return (train.dataset(cfg.batch_size, shuffle=True, seed=cfg.seed,
                              start=start),
                validation.dataset(cfg.batch_size), contextlib.nullcontext(),
                padded)
    preprocessor = model.preprocessor
    train_features = buckets.tokenize(preprocessor, train.x)
    validation_features = buckets.tokenize(preprocessor, validation.x)
    lengths = buckets.lengths(train_features)
    bounds = buckets.boundaries(lengths, cfg.batch_size, cfg.length_buckets,
                                preprocessor.sequence_length, seed=cfg.seed)
    return (
        buckets.dataset(train_features, train.y, cfg.batch_size, bounds,
                        shuffle=True, seed=cfg.seed, start=start),
        buckets.dataset(validation_features, validation.y, cfg.batch_size,
                        bounds),
        buckets.preprocessed(model),
        buckets.mean_width(lengths, cfg.batch_size, bounds, seed=cfg.seed),
    )


def _unfreeze(model, cfg, steps):
    """The `Unfreeze` callback `unfreeze_at` asks for, as a list."""
    if cfg.unfreeze_at is None:
        return []
    from kft import optimizers, schedules
    from kft.callbacks import Unfreeze

    frozen = [layer for layer in model.backbone.layers
              if layer.weights and not layer.trainable]
    return [Unfreeze(cfg.unfreeze_at, frozen, lambda: optimizers.build(
        cfg, schedules.build(cfg, cfg.epochs * steps),
        optimizers.head_variables(model)))]


def _callbacks(cfg, best, path, offset):
    import keras

    from kft.callbacks import LearningRateLogger, PlotCurves, TerminateOnNaN

    mode = "min" if "loss" in cfg.monitor else "max"
    callbacks = [TerminateOnNaN(best.path, offset), LearningRateLogger(),
                 best]
    if cfg.patience:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=cfg.monitor, mode=mode, patience=cfg.patience,
            restore_best_weights=True))
    if cfg.schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor=cfg.monitor, mode=mode, factor=0.1,
            patience=max(cfg.patience - 1, 0)))
    if not path:  # another process writes the run directory
        return callbacks
    if cfg.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(
            log_dir=os.path.join(path, rundir.TENSORBOARD)))
    callbacks.append(keras.callbacks.CSVLogger(
        os.path.join(path, rundir.HISTORY), append=True))  # resumable
    return callbacks + [PlotCurves(path)]  # after CSVLogger: reads its file


def _compile(model, recipe, num_classes, total_steps):
    from kft import optimizers, schedules
    from kft.losses import default_loss

    cfg = recipe.config
    model.compile(
        optimizer=optimizers.build(cfg, schedules.build(cfg, total_steps),
                                   optimizers.head_variables(model)),
        loss=(recipe.loss(cfg) if recipe.loss
              else default_loss(cfg.label_smoothing)),
        **distribute.compile_metrics(metrics_for(num_classes)),
    )


def metrics_for(num_classes):
    """The metrics `train` reports: accuracy, plus F1 and AUC for 2 classes."""
    import keras

    from kft.metrics import binary_metrics

    if num_classes == 2:
        return binary_metrics()
    return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]


def _steps_per_epoch(cfg, examples):
    steps = math.ceil(examples / cfg.batch_size)
    if cfg.steps_per_epoch is not None:
        steps = min(steps, cfg.steps_per_epoch)
    return steps


def _with_eda(splits, seed):
    from kft.eda import augment_split

    if splits.train.image_size is not None:
        raise KftError("augment=eda is text augmentation; image recipes "
                       "already augment training images: set augment=none")
    return dataclasses.replace(splits, train=augment_split(splits.train,
                                                           seed))


def _check_splits(splits):
    for name in ("train", "validation"):
        split = getattr(splits, name)
        if len(split) == 0:
            raise KftError(
                f"the {name} split ({split.source or 'no source'}) is "
                "empty; check data_dir= and limit="
            )
