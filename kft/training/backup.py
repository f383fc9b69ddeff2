"""Backups during `fit`, and a `fit` that goes on from one.

`Backup.callbacks(inner)` wraps a run's callbacks between two of its own:

- the last one writes `backup.npz` (`kft.training.checkpoint`) at the end
  of every epoch, after every other callback has updated its state, and every
  `backup_every_steps` steps; with the variables it records the position
  (epoch, step), the per-epoch history, `history.csv`'s rows, the best
  weights, and the state of early stopping, `ReduceLROnPlateau`, the step
  timer and the best-model keeper;
- the first one, in a resumed run, puts `history.csv` back as it was at
  the backup (before `CSVLogger` opens it), puts torch's generator back
  right before the first step, and ends the resumed epoch after its
  remaining steps (`model.stop_training`, cleared again at the epoch's end
  before early stopping looks), so later epochs line up with the data
  stream (`kft.data.stream`).

A signal (`kft.training.interrupt`) stops training the same way: the last
callback writes a backup after the step under way and raises
`Interrupted` (at the epoch's end, when the signal came in its last step).

Keras's own `BackupAndRestore` saves the weights and optimizer only, in
two files written one after the other, and restarts an interrupted epoch
from its first step with the weights of a later one; so kft has its own.
"""

import os
import time

import keras

from kft import rundir
from kft.errors import KftError
from kft.rundir import atomic
from kft.training import callback_state, checkpoint
from kft.training.interrupt import Interrupted


class Backup:
    """Backs up a run during `fit` and restores a saved backup into it.

    Args:
        run_dir: str. The run directory.
        steps: int. Training steps per epoch.
        every: int or None. Also back up every `every` steps.
        saved: `(meta, groups)` from `kft.training.checkpoint.load`, or None.
        writes: bool. Whether this process writes the run directory (in a
            distributed run only rank 0 does; the others restore from the
            same backup and write nothing).
        signals: kft.training.interrupt.Signals or None. The signals that
            stop training after a step.
        agree: callable or None. `agree(flag)`: whether `flag` holds in
            any process (`kft.runtime.distribute.any_process`), so every
            process stops at the same step.
        together: bool. Reading the state takes every process (several
            processes read variables, or sum metric totals, collectively):
            the others read it too, and only the writer saves it.
        metric_totals: callable or None. Sums metric totals over the
            processes (`kft.runtime.distribute.metric_values`): the
            backup then holds the global totals, which only the writer
            adds back when an epoch resumes.

    Attributes:
        epoch: int. The epoch training starts in (0-based).
        step: int. Steps of `epoch` done before the start.
        stopped: bool. Early stopping had ended training at the backup.
        history: dict. Each logged quantity's per-epoch values, from the
            backup and this process.
        seconds: float. Training seconds of earlier processes.
    """

    def __init__(self, run_dir, steps, every=None, saved=None, writes=True,
                 signals=None, agree=None, together=False,
                 metric_totals=None):
        meta, self.groups = saved or ({}, {})
        self.together, self.metric_totals = together, metric_totals
        self.signals, self.agree = signals, agree or bool
        self.writes = writes
        self.run_dir, self.steps, self.every = run_dir, steps, every
        self.saved = saved is not None
        if self.saved and meta["steps"] != steps:
            raise KftError(
                f"{checkpoint.path_in(run_dir)} was written with "
                f"{meta['steps']} steps per epoch, this run has {steps}: "
                "the data changed; train into a new output_dir")
        self.epoch, self.step = meta.get("position", (0, 0))
        self.stopped = meta.get("stopped", False)
        self.history = meta.get("history", {})
        self.seconds = meta.get("seconds", 0.0)
        self.resumes = meta.get("resumes", [])
        if self.saved:
            self.resumes = [*self.resumes, {"epoch": self.epoch + 1,
                                            "step": self.step}]
        self.meta, self.inner = meta, []

    def start_batch(self):
        """The global batch the training data starts at."""
        return self.epoch * self.steps + self.step

    def initial_epoch(self, epochs):
        """`fit`'s `initial_epoch`: `epochs` (nothing left) if stopped."""
        return epochs if self.stopped else self.epoch

    def offset(self, epoch):
        """Steps done before this process in `epoch`."""
        return self.step if epoch == self.epoch else 0

    def callbacks(self, inner):
        """`inner` between this backup's first and last callback."""
        self.inner = list(inner)
        return [_First(self), *self.inner, _Last(self)]

    def stop_requested(self):
        """Whether a signal asks to stop, in any process. Every process
        calls it after every step, so they agree on the step."""
        received = self.signals is not None and (
            self.signals.received is not None)
        return self.agree(received)

    def interrupted(self, epoch, step):
        """The `Interrupted` to raise after stopping at `(epoch, step)`
        (0-based epoch, steps done)."""
        signum = getattr(self.signals, "received", None) or 15
        return Interrupted(self.run_dir, None if epoch is None else epoch + 1,
                           step, signum)

    def finish(self):
        """Removes the backup of a finished run."""
        if self.writes:
            checkpoint.remove(self.run_dir)

    def write(self, model, position, elapsed, stopped=False):
        if not (self.writes or self.together):
            return
        # collective: every process
        groups = checkpoint.capture(model, self.metric_totals)
        if not self.writes:
            return
        states, kept = callback_state.capture(self.inner)
        groups.update(kept)
        meta = {"position": position, "steps": self.steps,
                "stopped": stopped, "history": self.history,
                "seconds": self.seconds + elapsed, "resumes": self.resumes,
                "callbacks": states, "csv": _read(self._csv())}
        checkpoint.save(self.run_dir, meta, groups)

    def restore(self, model):
        """Puts the callbacks', model's and optimizer's state back."""
        callback_state.restore(self.inner, self.meta["callbacks"],
                               self.groups)
        for callback in self.inner:
            if hasattr(callback, "thaw") and (
                    callback.epoch < self.epoch
                    or callback.epoch == self.epoch and self.step):
                callback.thaw(model)  # the backup's optimizer is the new one
        checkpoint.restore(model, self.groups)

    def restore_csv(self):
        if not self.writes:
            return
        text = self.meta["csv"]
        if not text:
            if os.path.exists(self._csv()):
                os.remove(self._csv())
            return
        with atomic.writing(self._csv(), "w", encoding="utf-8") as f:
            f.write(text)

    def _csv(self):
        return os.path.join(self.run_dir, rundir.HISTORY)


def _read(path):
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8") as f:
        return f.read()


class _First(keras.callbacks.Callback):
    def __init__(self, backup):
        super().__init__()
        self.backup, self.ended, self.fresh = backup, False, True

    def on_train_begin(self, logs=None):
        if self.backup.saved:
            self.backup.restore_csv()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.fresh and self.backup.saved:
            checkpoint.restore_rng(self.backup.groups)
        self.fresh = False

    def on_train_batch_end(self, batch, logs=None):
        done = self.backup.offset(self.epoch) + batch + 1
        if self.backup.offset(self.epoch) and done == self.backup.steps:
            self.model.stop_training = self.ended = True

    def on_epoch_end(self, epoch, logs=None):
        if self.ended:  # the resumed epoch is over, not the training
            self.model.stop_training = self.ended = False


class _Last(keras.callbacks.Callback):
    def __init__(self, backup):
        super().__init__()
        self.backup = backup

    def on_train_begin(self, logs=None):
        self.started, self.finishing = time.time(), False
        if self.backup.stop_requested():  # before the first step
            raise self.backup.interrupted(None, None)
        if self.backup.saved:
            self.backup.restore(self.model)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if batch == 0 and self.backup.saved and self.backup.offset(
                self.epoch) and (self.backup.writes  # global totals: once
                                 or self.backup.metric_totals is None):
            checkpoint.add_metrics(self.model, self.backup.groups)
        every, steps = self.backup.every, self.backup.steps
        done = self.backup.offset(self.epoch) + batch + 1
        stop = self.backup.stop_requested()
        if done < steps and (stop or every and (
                self.epoch * steps + done) % every == 0):
            self.backup.write(self.model, (self.epoch, done), self._elapsed())
        if stop and done < steps:
            raise self.backup.interrupted(self.epoch, done)
        self.finishing = self.finishing or stop  # after this epoch

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.backup.history.setdefault(key, []).append(float(value))
        self.backup.write(self.model, (epoch + 1, 0), self._elapsed(),
                          stopped=bool(self.model.stop_training))
        if self.finishing:
            raise self.backup.interrupted(epoch, self.backup.steps)

    def _elapsed(self):
        return time.time() - self.started
