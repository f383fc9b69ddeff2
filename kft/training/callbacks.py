"""Small Keras callbacks, one job each, used by `kft.train`."""

import math
import os

import keras
import numpy as np
from keras import ops

from kft import rundir
from kft.errors import KftError
from kft.rundir import plots
from kft.training import saving
from kft.training.timing import StepClock


class BestModel(keras.callbacks.Callback):
    """Saves the model whenever `monitor` improves, atomically.

    It keeps the best weights in memory too, and puts them back at the end
    of training, so the model that `fit` leaves behind is the saved one.

    Args:
        path: str or None. Where to save, a `.keras` file; None keeps
            the best weights in memory only.
        monitor: str. The quantity to watch, e.g. `val_loss`.
        scratch: bool. Save to `path` and delete it again: for a process
            that does not write the run directory but must take part in
            saving (JAX and TensorFlow gather the weights of many
            processes collectively).
    """

    def __init__(self, path, monitor="val_loss", scratch=False):
        super().__init__()
        self.path, self.scratch = path, scratch
        self.monitor = monitor
        self.better = np.less if "loss" in monitor else np.greater
        self.best = None
        self.best_epoch = None
        self.best_weights = None
        self.saved_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise KftError(
                f"monitor={self.monitor!r} is not among the logged values "
                f"({', '.join(sorted(logs or {}))}); pick one of those"
            )
        if math.isnan(value):
            return
        if self.best is None or self.better(value, self.best):
            self.best, self.best_epoch = float(value), epoch
            self.best_weights = self.model.get_weights()
            self._save()
            self.saved_epoch = epoch

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
            if self.saved_epoch != self.best_epoch:  # restored from a backup
                self._save()

    def _save(self):
        if self.path is None:  # another process writes the run
            return
        saving.save(self.model, self.path)
        if self.scratch:
            os.remove(self.path)


class TerminateOnNaN(keras.callbacks.TerminateOnNaN):
    """Stops at the first NaN or infinite loss with an error naming the step.

    The best model saved so far stays where it is.

    Args:
        saved_to: str or None. Where the best model is saved.
        offset: callable or None. `offset(epoch)`: steps of `epoch` done
            before this `fit` (a resumed run), to count steps from the
            epoch's start.
    """

    def __init__(self, saved_to=None, offset=None):
        super().__init__(raise_error=True)
        self.saved_to = saved_to
        self.offset = offset or (lambda epoch: 0)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            kept = (
                f"; the best model so far is kept in {self.saved_to}"
                if self.saved_to and os.path.exists(self.saved_to)
                else "; no model was saved yet"
            )
            raise KftError(
                f"the loss became {float(loss)} at epoch {self.epoch + 1}, "
                f"step {self.offset(self.epoch) + batch + 1}{kept}. Lower "
                "learning_rate, and train into another output_dir"
            )


class LearningRateLogger(keras.callbacks.Callback):
    """Adds the optimizer's current learning rate to the epoch logs."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and "learning_rate" not in logs:
            rate = self.model.optimizer.learning_rate
            logs["learning_rate"] = float(ops.convert_to_numpy(rate))


class PlotCurves(keras.callbacks.Callback):
    """Redraws `run_dir/curves.png` from `history.csv` after every epoch,
    so a long run can be watched. Put it after the `CSVLogger`.

    Args:
        run_dir: str. The run directory.
    """

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir = run_dir

    def on_epoch_end(self, epoch, logs=None):
        plots.write_curves(self.run_dir)


class Unfreeze(keras.callbacks.Callback):
    """Gradual unfreezing: frozen layers train again from epoch `epoch`.

    Keras optimizers serve only the variables they were built with (the JAX
    trainer passes exactly those), so at that epoch this makes the layers
    trainable, builds a fresh optimizer for the new set of variables with
    `make_optimizer`, moves every piece of state over from the old one
    (`carry_state`: the step count, so the schedule goes on where it was,
    and each variable's moments), and has Keras rebuild its train function.

    Args:
        epoch: int. The 0-based epoch at whose start the layers thaw
            (`unfreeze_at`).
        layers: list of keras.Layer. The frozen layers.
        make_optimizer: callable. Returns an unbuilt optimizer configured
            like the run's.
    """

    def __init__(self, epoch, layers, make_optimizer):
        super().__init__()
        self.epoch = epoch
        self.layers = list(layers)
        self.make_optimizer = make_optimizer
        self.done = False

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch and not self.done:
            self.thaw(self.model)

    def thaw(self, model):
        """Makes the layers trainable, with a new optimizer carrying the
        old one's state (also used by `kft.training.backup` to resume
        after E)."""
        old = model.optimizer
        for layer in self.layers:
            layer.trainable = True
        new = self.make_optimizer()
        if isinstance(old, keras.optimizers.LossScaleOptimizer):
            new = keras.optimizers.LossScaleOptimizer(new)
        new.build(model.trainable_variables)
        carry_state(old, new)
        model.optimizer = new
        model.make_train_function(force=True)
        self.done = True


def carry_state(old, new):
    """Copies `old` optimizer's variables into `new`'s of the same role.

    Optimizer variables are named after the optimizer and the model
    variable they serve (`adamw/dense_kernel_momentum`); the part after the
    optimizer's own name identifies them. Variables of `new` that `old`
    lacks (the moments of newly trainable weights) keep their zero start.

    Returns:
        The number of variables copied.
    """
    def role(variable):
        return variable.path.split("/", 1)[-1]

    known = {role(v): v for v in old.variables}
    copied = 0
    for variable in new.variables:
        source = known.get(role(variable))
        if source is not None and tuple(source.shape) == tuple(
                variable.shape):
            variable.assign(ops.copy(source.value))  # no shared buffer
            copied += 1
    return copied


class StepTimer(keras.callbacks.Callback):
    """Times every training step of `fit` with a
    `kft.training.timing.StepClock`.

    Args:
        offset: callable or None. `offset(epoch)`: steps of `epoch` done
            before this `fit` (a resumed run), so steps count from the
            epoch's start.
        foreign: bool or None. Measure other processes' CPU load each step
            (reads `/proc`); None: only with `KFT_FOREIGN_LOAD=1`, as the
            benchmark tools set it.

    Attributes:
        steps: list of dicts, the clock's record.
    """

    def __init__(self, offset=None, foreign=None):
        super().__init__()
        self.clock = StepClock(foreign)
        self.offset = offset or (lambda epoch: 0)

    @property
    def steps(self):
        return self.clock.steps

    @steps.setter
    def steps(self, value):  # a backup puts them back
        self.clock.steps = list(value)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self.clock.epoch_begin(epoch)

    def on_train_batch_end(self, batch, logs=None):
        self.clock.step_end(self.offset(self._epoch) + batch)

    def summary(self, batch_size, skip_steps=5):
        return self.clock.summary(batch_size, skip_steps)


class GlobalMetrics(keras.callbacks.Callback):
    """Sums the metric states over the processes after each epoch's last
    training step, before Keras reads the epoch's training metrics
    (torch under `torchrun`: `kft.runtime.distribute.torch`).

    Args:
        total: callable. `total(variables)` sums metric variables over
            the processes, in place.
        offset: callable or None. `offset(epoch)`: steps of `epoch` done
            before this `fit` (a resumed run), so its last step is known.
    """

    def __init__(self, total, offset=None):
        super().__init__()
        self.total = total
        self.offset = offset or (lambda epoch: 0)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        steps = self.params.get("steps")
        if steps is None or self.offset(self._epoch) + batch != steps - 1:
            return
        self.total(self.model.metrics_variables)


def engine(total, offset=None):
    """The callbacks the distribution engine needs: `GlobalMetrics` when
    `total` (from `kft.runtime.distribute.metric_totals`) is given."""
    return [] if total is None else [GlobalMetrics(total, offset)]


def standard(cfg, best, path, offset):
    """Every run's callbacks, in order: NaN check, learning-rate log, the
    best model, early stopping, `ReduceLROnPlateau`, and in the process
    that writes `path`: TensorBoard, `history.csv` and `curves.png`.

    Args:
        cfg: TrainConfig.
        best: BestModel.
        path: str or None. The run directory; None in a process that does
            not write it.
        offset: callable. `offset(epoch)`, as `TerminateOnNaN` takes.
    """
    mode = "min" if "loss" in cfg.monitor else "max"
    found = [TerminateOnNaN(best.path, offset), LearningRateLogger(), best]
    if cfg.patience:
        found.append(keras.callbacks.EarlyStopping(
            monitor=cfg.monitor, mode=mode, patience=cfg.patience,
            restore_best_weights=True))
    if cfg.schedule == "plateau":
        found.append(keras.callbacks.ReduceLROnPlateau(
            monitor=cfg.monitor, mode=mode, factor=0.1,
            patience=max(cfg.patience - 1, 0)))
    if not path:  # another process writes the run directory
        return found
    if cfg.tensorboard:
        found.append(keras.callbacks.TensorBoard(
            log_dir=os.path.join(path, rundir.TENSORBOARD)))
    found.append(keras.callbacks.CSVLogger(
        os.path.join(path, rundir.HISTORY), append=True))  # resumable
    return found + [PlotCurves(path)]  # after CSVLogger: reads its file
