"""KerasTuner runs a sweep's search: its oracle (random search, Bayesian
optimisation or grid search) proposes each trial's values, and its
`BaseTuner.search` loop hands them to `run_trial`, which asks kft for the
trial's objective.

A sweep that goes on after a kill does not reload KerasTuner's own state
files: it starts the same oracle afresh, with the same seed, and replays
the search. The oracles are deterministic given their seed and the
scores they are told, so the replay proposes the same values in the same
order; a trial that already finished gives its recorded score without
training (`kft.sweep.search`). This uses KerasTuner's public API only,
and also works for grid search, whose position KerasTuner 1.4.8 does not
save (keras-team/keras-tuner#1055). KerasTuner's files go to a temporary
folder, deleted afterwards.

keras_tuner imports keras, so it is imported inside the functions, after
the CLI has chosen the backend; the tuner class is made there, from a
mixin of this module and KerasTuner's `BaseTuner`.
"""

import tempfile

from kft.errors import KftError

ORACLES = {"random": "RandomSearchOracle",
           "bayesian": "BayesianOptimizationOracle",
           "grid": "GridSearchOracle"}
# KerasTuner stops a search after this many failed trials in a row.
FAILURES_IN_A_ROW = 3


class TrialFailed(Exception):
    """A trial that failed: KerasTuner records it and the search goes
    on."""


class SweepTuner:
    """The part of the tuner that runs a trial, mixed into KerasTuner's
    `BaseTuner`: `run_trial` calls `trial_fn(number, values)`, which
    returns the objective."""

    trial_fn = None

    def run_trial(self, trial, *args, **kwargs):
        import keras_tuner

        values = dict(trial.hyperparameters.values)
        try:
            score = self.trial_fn(int(trial.trial_id), values)
        except TrialFailed as failed:
            raise keras_tuner.errors.FailedTrialError(str(failed)) from None
        except Exception as error:  # leaves `search`: see `search` below
            raise keras_tuner.errors.FatalError(str(error)) from error
        return {self.oracle.objective.name: score}


def hyperparameters(dims):
    """The KerasTuner `HyperParameters` search space of `dims`, a list of
    `kft.sweep.space.Dim`."""
    import keras_tuner

    space = keras_tuner.HyperParameters()
    for dim in dims:
        sampling = "log" if dim.log else "linear"
        if not dim.is_range:
            space.Choice(dim.key, list(dim.values))
        elif isinstance(dim.low, int):
            space.Int(dim.key, dim.low, dim.high, sampling=sampling)
        else:
            space.Float(dim.key, dim.low, dim.high, sampling=sampling)
    return space


def search(algorithm, space, objective, direction, trial_fn,
           max_trials=None, seed=1):
    """Runs KerasTuner's search, a trial at a time, through `trial_fn`.

    Args:
        algorithm: str. `random`, `bayesian` or `grid` (`ORACLES`).
        space: keras_tuner.HyperParameters. The swept keys.
        objective: str. The quantity `trial_fn` returns, e.g.
            `val_accuracy`.
        direction: str. `max` or `min`.
        trial_fn: callable. `trial_fn(number, values)` runs trial `number`
            (0, 1, ...) with `values` (a dict) and returns its objective;
            it raises `TrialFailed` for a failed trial, and anything else
            to stop the search.
        max_trials: int or None. At most this many trials (None: until
            the oracle has nothing left, as a grid).
        seed: int. The oracle's seed, above 0 (KerasTuner takes 0 as
            "draw one").

    Raises:
        Whatever `trial_fn` raised to stop the search; KftError when
        `FAILURES_IN_A_ROW` trials failed in a row.
    """
    import keras_tuner

    oracle = getattr(keras_tuner.oracles, ORACLES[algorithm])(
        objective=keras_tuner.Objective(objective, direction),
        max_trials=max_trials, hyperparameters=space, seed=seed,
        allow_new_entries=False, tune_new_entries=False,
        max_consecutive_failed_trials=FAILURES_IN_A_ROW)
    tuner_class = type("SweepTuner", (SweepTuner,
                                      keras_tuner.engine.base_tuner.BaseTuner),
                       {})
    with tempfile.TemporaryDirectory(prefix="kft-sweep-") as scratch:
        tuner = tuner_class(oracle, directory=scratch, project_name="oracle",
                            overwrite=True)
        tuner.oracle.verbose = 0  # kft says what happens
        tuner.trial_fn = trial_fn
        try:
            tuner.search()
        except keras_tuner.errors.FatalError as error:
            if error.__cause__ is None:
                raise
            raise error.__cause__ from None
        except RuntimeError as error:  # KerasTuner's failures-in-a-row stop
            first = str(error).strip().splitlines()[0]
            raise KftError(f"the sweep stopped: {first} (KerasTuner stops "
                           f"after {FAILURES_IN_A_ROW} failed trials in a "
                           "row); each trial's error is in sweep.md") \
                from None
