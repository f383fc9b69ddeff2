"""`TrainConfig`, the settings every recipe shares, and `Recipe`."""

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from kft.config import overrides
from kft.errors import KftError

SCHEDULES = ("linear", "cosine", "constant", "plateau")
OPTIMIZERS = ("adamw", "adam", "sgd")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
CLASS_WEIGHTS = ("none", "balanced")
AUGMENTS = ("none", "eda")
DISTRIBUTES = ("auto", "none", "data_parallel", "model_parallel")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Settings shared by every recipe. Recipes subclass it to add their own.

    Args:
        seed: int. Seeds Python, NumPy and the backend, and the data order.
        epochs: int. Maximum number of passes over the training split.
        batch_size: int. Global batch size.
        learning_rate: float. Peak learning rate of the schedule.
        weight_decay: float. Decoupled weight decay (AdamW, SGD).
        optimizer: str. One of `adamw`, `adam`, `sgd`.
        momentum: float. SGD's momentum (0 for plain SGD).
        clipnorm: float or None. Clip each variable's gradient to this
            norm before the update.
        gradient_accumulation_steps: int or None. Average the gradients
            of this many batches per update (Keras's own accumulation): a
            larger effective batch in the same memory.
        schedule: str. `linear` (warm-up, then linear decay to zero),
            `cosine` (warm-up, then cosine decay to zero), `constant`, or
            `plateau` (constant, divided by 10 by `ReduceLROnPlateau`).
        head_learning_rate_multiplier: float. The new head's learning
            rate is this many times `learning_rate` (e.g. 10 when the
            backbone is pretrained and the head is new).
        freeze: str. `none`, `backbone` (train the head only), or N: the
            backbone's first N layers with weights stay frozen
            (`kft.model.freeze`).
        unfreeze_at: int or None. With `freeze=`: the frozen layers train
            too after this many epochs (gradual unfreezing); the optimizer
            state and the schedule carry on (`kft.training.callbacks.Unfreeze`).
        lora_rank: int or None. Train low-rank (LoRA) factors of this rank
            in the backbone's attention, and the head, instead of every
            weight (`kft.model.lora`).
        dropout: float or None. The dropout rate of the backbone and the
            head, where the preset has one (`kft.model.dropout`); None keeps the
            preset's.
        label_smoothing: float. Mixes the one-hot target with the uniform
            distribution: `(1 - e) * onehot + e / num_classes` (kft's
            default loss; a recipe with its own `loss` ignores it).
        class_weight: str. `none`, or `balanced`: each class's examples
            weigh `n / (num_classes * n_class)` in the training loss, as
            scikit-learn's `balanced` (for imbalanced training data).
        warmup_fraction: float. Share of all training steps spent warming
            up linearly from zero to `learning_rate`.
        patience: int. Epochs without improvement of `monitor` before
            early stopping; 0 turns early stopping off.
        monitor: str. The validation quantity that picks the best epoch,
            e.g. `val_loss`, `val_accuracy`, `val_f1`, `val_auc`.
        augment: str. `none`, or `eda` for text: the training split gets
            one copy of each example with words swapped, deleted or
            repeated (`kft.data.eda`). Image recipes augment training
            images as their own `flip` and `crop_scale` say
            (`kft.data.augment.Augmentation`).
        validation_split: float. For data without a validation split: the
            fraction of each class carved out of the training split,
            seeded by `seed` (`kft.data.carve`); 0 requires one.
        limit: int or None. Keep only the first `limit` examples of each
            split, for quick runs.
        steps_per_epoch: int or None. Stop each epoch after this many steps.
        data_dir: str or None. A local folder of data files; None uses the
            recipe's download source (TensorFlow Datasets).
        output_dir: str or None. The run directory; None makes
            `runs/<recipe>-<backend>-<time>`.
        precision: str. `float32`, `mixed_bfloat16` or `mixed_float16`.
        length_buckets: int. Text only: tokenize once and pad each batch
            to the smallest of this many lengths that fits it (batches
            group texts of similar length; the lengths are those that pad
            least, plus `sequence_length` for the longest); 0 pads every
            batch to the preprocessor's `sequence_length`.
        keep_freed_memory: bool. Linux (glibc): memory freed by one step
            stays in the process for the next instead of going back to the
            operating system, which spares re-allocating it page by page
            (on CPU, torch steps run about 1.5x faster); the process keeps
            its peak memory until it exits (`kft.runtime.allocator`). Changes no
            result.
        verbose: int. `fit`'s verbosity: 0 silent, 1 progress bar,
            2 one line per epoch.
        tensorboard: bool. Also log to `RUN_DIR/tensorboard` with Keras's
            `TensorBoard` callback (per-epoch scalars; any backend):
            `tensorboard --logdir RUN_DIR/tensorboard`.
        distribute: str. `auto` (`data_parallel` when several devices or
            processes are visible, else `none`), `none`, `data_parallel`
            (`batch_size` is split over the replicas), or `model_parallel`
            (JAX: large kernels sharded over a `model` mesh axis); see
            `kft.runtime.distribute`.
        model_axis: int or None. `model_parallel`: the devices on the
            mesh's `model` axis (None: 2); the rest form its `batch` axis.
        backup_every_steps: int or None. Back up the training state every
            this many steps, as well as after every epoch, so a killed
            run resumes from there (`kft.training.backup`); None: after every
            epoch only.
    """

    seed: int = 0
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 2e-5
    weight_decay: float = 0.01
    optimizer: str = "adamw"
    momentum: float = 0.9
    clipnorm: float | None = None
    gradient_accumulation_steps: int | None = None
    schedule: str = "linear"
    head_learning_rate_multiplier: float = 1.0
    freeze: str = "none"
    unfreeze_at: int | None = None
    lora_rank: int | None = None
    dropout: float | None = None
    label_smoothing: float = 0.0
    class_weight: str = "none"
    warmup_fraction: float = 0.1
    patience: int = 2
    monitor: str = "val_loss"
    augment: str = "none"
    validation_split: float = 0.0
    limit: int | None = None
    steps_per_epoch: int | None = None
    data_dir: str | None = None
    output_dir: str | None = None
    precision: str = "float32"
    length_buckets: int = 4
    keep_freed_memory: bool = True
    verbose: int = 1
    tensorboard: bool = False
    distribute: str = "auto"
    model_axis: int | None = None
    backup_every_steps: int | None = None

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, float) and not math.isfinite(value):
                _fail(field.name, value, "a finite number (not nan or inf)")
        _check_choice("schedule", self.schedule, SCHEDULES)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("precision", self.precision, PRECISIONS)
        for key in ("epochs", "batch_size"):
            if getattr(self, key) < 1:
                _fail(key, getattr(self, key), "a whole number of at least 1")
        for key in ("limit", "steps_per_epoch", "backup_every_steps"):
            value = getattr(self, key)
            if value is not None and value < 1:
                _fail(key, value, "a whole number of at least 1, or none")
        if not 0.0 <= self.warmup_fraction < 1.0:
            _fail("warmup_fraction", self.warmup_fraction, "in [0, 1)")
        if self.learning_rate <= 0:
            _fail("learning_rate", self.learning_rate, "above 0")
        if self.clipnorm is not None and self.clipnorm <= 0:
            _fail("clipnorm", self.clipnorm, "above 0, or none")
        steps = self.gradient_accumulation_steps
        if steps is not None and steps < 2:
            _fail("gradient_accumulation_steps", steps, "2 or more, or none")
        if not 0.0 <= self.momentum < 1.0:
            _fail("momentum", self.momentum, "in [0, 1)")
        if self.head_learning_rate_multiplier <= 0:
            _fail("head_learning_rate_multiplier",
                  self.head_learning_rate_multiplier, "above 0")
        if self.lora_rank is not None and self.lora_rank < 1:
            _fail("lora_rank", self.lora_rank, "1 or more, or none")
        if self.lora_rank and str(self.freeze) != "none":
            _fail("freeze", self.freeze, "none with lora_rank (LoRA already "
                  "freezes the backbone's own weights)")
        if self.unfreeze_at is not None:
            if str(self.freeze) == "none" or self.lora_rank:
                _fail("unfreeze_at", self.unfreeze_at, "none unless freeze= "
                      "is set (and lora_rank is not)")
            if not 1 <= self.unfreeze_at < self.epochs:
                _fail("unfreeze_at", self.unfreeze_at,
                      f"from 1 to epochs - 1 ({self.epochs - 1}), or none")
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            _fail("dropout", self.dropout, "in [0, 1), or none")
        if not 0.0 <= self.validation_split < 1.0:
            _fail("validation_split", self.validation_split, "in [0, 1)")
        if not 0.0 <= self.label_smoothing < 1.0:
            _fail("label_smoothing", self.label_smoothing, "in [0, 1)")
        _check_choice("class_weight", self.class_weight, CLASS_WEIGHTS)
        _check_choice("augment", self.augment, AUGMENTS)
        _check_choice("distribute", self.distribute, DISTRIBUTES)
        if self.model_axis is not None and self.model_axis < 1:
            _fail("model_axis", self.model_axis, "1 or more, or none")
        freeze_count(self.freeze)
        if self.length_buckets < 0:
            _fail("length_buckets", self.length_buckets, "0 (off) or more")
        if self.patience < 0:
            _fail("patience", self.patience, "0 (off) or more")
        if not self.monitor.startswith("val_"):
            _fail("monitor", self.monitor, "a validation quantity: val_...")


def _check_choice(key, value, choices):
    if value not in choices:
        _fail(key, value, "one of " + ", ".join(choices))


def freeze_count(spec):
    """The layer count of a `freeze=` value (0 for `none` and `backbone`);
    `KftError` when it is not one."""
    spec = str(spec).strip().lower()
    if spec in ("none", "backbone"):
        return 0
    if not spec.isdigit():
        raise KftError(f"freeze={spec!r} is not valid: use none, backbone, "
                       "or a number of layers")
    return int(spec)


def _fail(key, value, expected):
    raise KftError(f"{key}={value!r} is not valid: use {expected}")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A task: its name, its config, and how to build its data and model.

    Args:
        name: str. Short task name, used for run directories.
        config: TrainConfig. The recipe's settings (a subclass instance).
        data: callable. `data(config) -> kft.data.Splits`.
        model: callable. `model(config) -> keras.Model`, uncompiled.
        loss: callable or None. `loss(config)` returns a Keras loss to use
            instead of sparse categorical cross-entropy from logits.
        source: str or None. The recipe's file (or module), which
            `kft.config.loader.load` records, so `kft resume` can load it again.

    Example:

    ```python
    from recipes import mrpc
    recipe = mrpc.recipe().replace(epochs=1, limit=64)
    result = kft.train(recipe)
    ```
    """

    name: str
    config: TrainConfig
    data: Callable[[Any], Any]
    model: Callable[[Any], Any]
    loss: Callable[[Any], Any] | None = None
    source: str | None = None

    def replace(self, **changes) -> "Recipe":
        """Returns a copy with config fields replaced, type-checked."""
        return dataclasses.replace(
            self, config=overrides.apply(self.config, changes)
        )
