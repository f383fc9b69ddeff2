"""`kft sweep RECIPE`: a hyperparameter search on KerasTuner, every trial
an ordinary run directory under the sweep's folder.

    kft sweep recipes/mrpc.py --backend torch --trials 8 \\
        preset=presets/minilm data_dir=../shared/data/mrpc \\
        learning_rate=1e-5..1e-4:log epochs=3,5 warmup_fraction=0,0.1

KerasTuner's oracle proposes the values (`kft.sweep.tuner`);
each trial is `kft run` into `SWEEP/trials/NNN` in a process of its own
(`kft.sweep.trials`), with the recipe's `monitor` as the
objective and its early stopping. After each trial the results are
written (`kft.sweep.results`).

The same command again goes on where a killed sweep stopped: the search
is replayed; a finished trial (its run has `metrics.json`) gives its
recorded result and is not trained again, a failed one stays failed, and
an unfinished one is run again into its own run directory, where
`kft run` resumes it from its backup. `max_hours=H` bounds the time of
all trials together: no trial starts once it is spent, and a running
trial is stopped (it resumes when the sweep goes on with a larger
budget).
"""

import json
import os
import sys

from kft import config, rundir
from kft.errors import EXIT_BAD_INPUT, EXIT_OK, KftError
from kft.sweep import folder as sweep_folder
from kft.sweep import record as sweep_record
from kft.sweep import results as sweep_results
from kft.sweep import space as sweep_space
from kft.sweep import trials as sweep_trials
from kft.sweep import tuner as sweep_tuner

DEFAULT_TRIALS = 10  # random and bayesian; grid: the whole grid


class BudgetSpent(Exception):
    """`max_hours` is spent: the sweep stops, and goes on when run again
    with a larger budget."""


class BadInput(KftError):
    """The first trial of a new sweep failed on bad input (exit status 2,
    no run directory): the sweep's arguments are at fault."""


def sweep(spec, items, backend, trials=None, algorithm="random",
          smoke=False, runner=None):
    """Runs (or goes on with) the sweep `items` describe.

    Args:
        spec: str. The recipe file or module.
        items: list of str. `key=value`, `key=v1,v2`, `key=low..high[:log]`
            and `max_hours=H` (`kft.sweep.space`).
        backend: str. Every trial's backend.
        trials: int or None. At most this many trials (default: the whole
            grid, or `DEFAULT_TRIALS`).
        algorithm: str. `random`, `bayesian` or `grid`.
        smoke: bool. Every trial runs with `--smoke`.
        runner: callable or None. Runs a trial's command line
            (`sweep_trials.run`, the default; tests pass their own).

    Returns:
        str: the table of trials and the best one, as `kft sweep` prints.

    Raises:
        KftError: bad arguments (before anything is written), or an
            `output_dir` that holds another sweep or something else.
    """
    recipe = config.load(spec)
    plan = sweep_space.parse(items, recipe, smoke, algorithm)
    folder = plan.output_dir or sweep_record.default_folder(recipe.name,
                                                            backend)
    settings = sweep_record.settings(recipe, backend, algorithm, smoke, plan)
    record, new = sweep_record.open_record(folder, settings)
    record.update(command=sweep_record.command_line(
                      spec, backend, algorithm, trials, smoke, items),
                  trials_asked=trials, max_hours=plan.max_hours,
                  status="running")
    if trials is None and algorithm != "grid":
        trials = DEFAULT_TRIALS
    Search(folder, plan, record, new, runner or sweep_trials.run).run(
        algorithm, trials)
    return sweep_results.terminal(record, folder)


class Search:
    """One invocation of a sweep: KerasTuner's search, and `trial`."""

    def __init__(self, folder, plan, record, new, runner):
        self.folder, self.plan, self.record = folder, plan, record
        self.new, self.runner = new, runner
        self.existed = os.path.isdir(folder)
        self.rows = record["trials"]

    def run(self, algorithm, trials):
        objective = self.record["objective"]
        os.makedirs(self.folder, exist_ok=True)
        self.save()
        try:
            sweep_tuner.search(
                algorithm, sweep_tuner.hyperparameters(self.plan.dims),
                objective["name"], objective["direction"], self.trial,
                max_trials=trials, seed=self.record["settings"]["seed"])
            self.record["status"] = "finished"
        except BudgetSpent:
            self.record["status"] = (f"stopped: max_hours="
                                     f"{self.plan.max_hours:g} spent")
            _say(f"{self.record['status']}; the same command with a larger "
                 "max_hours goes on")
        except BadInput as error:
            sweep_record.remove_new(self.folder, self.existed)
            raise KftError(str(error)) from None
        except BaseException:
            self.record["status"] = "stopped"
            self.save()
            raise
        self.save()

    def trial(self, number, values):
        """Runs trial `number` unless it already ran; returns its score."""
        values = json.loads(json.dumps(values))  # as sweep.json holds them
        row = self._row(number, values)
        run_dir = sweep_folder.trial_path(self.folder, number)
        if os.path.isfile(os.path.join(run_dir, rundir.METRICS)):
            if row is not None and row["status"] == "finished":
                _say(f"trial {number} already finished "
                     f"({self._result(row)}): kept")
                return row["score"]
            return self._finished(row or self._new(number, values), run_dir)
        if row is not None and row["status"] == "failed":
            _say(f"trial {number} failed before: {row['error']}")
            raise sweep_tuner.TrialFailed(row["error"])
        left = self._left()
        if left is not None and left <= 0:
            raise BudgetSpent()
        row = row or self._new(number, values)
        return self._run(row, values, run_dir, left)

    def _run(self, row, values, run_dir, left):
        number = row["trial"]
        row["status"] = "running"
        self.save(files=False)
        _say(f"trial {number}: {_values(values)} -> {run_dir}")
        settings = self.record["settings"]
        outcome = self.runner(sweep_trials.command(
            settings["recipe_source"], settings["backend"], self.plan.fixed,
            values, run_dir, settings["smoke"]), timeout=left)
        row["seconds"] += outcome.seconds
        if outcome.code == EXIT_OK and os.path.isfile(
                os.path.join(run_dir, rundir.METRICS)):
            return self._finished(row, run_dir)
        if outcome.stopped or (outcome.code or 0) < 0:
            row["status"] = "stopped"
            self.save()
            if outcome.stopped == "deadline":
                raise BudgetSpent()
            if outcome.stopped == "interrupt":
                raise KeyboardInterrupt
            raise KftError(f"trial {number} ({run_dir}) was killed by signal "
                           f"{-outcome.code}; run the same command again to "
                           "resume it")
        if (outcome.code == EXIT_BAD_INPUT and self.new and number == 0
                and not os.path.exists(run_dir)):
            raise BadInput(outcome.error or "the first trial failed")
        row.update(status="failed", error=outcome.error or
                   f"kft run exited with status {outcome.code}")
        self.save()
        _say(f"trial {number} failed: {row['error']}")
        raise sweep_tuner.TrialFailed(row["error"])

    def _finished(self, row, run_dir):
        sweep_results.finish_row(row, run_dir, self.record["objective"])
        self.save()
        _say(f"trial {row['trial']} finished: {self._result(row)}")
        return row["score"]

    def _row(self, number, values):
        """Trial `number`'s row of the record (checked), or None."""
        for row in self.rows:
            if row["trial"] == number:
                if row["values"] != values:
                    raise KftError(
                        f"{self.folder}: the search proposes "
                        f"{_values(values)} for trial {number}, but the "
                        f"sweep recorded {_values(row['values'])}; the "
                        "sweep cannot go on: use a new output_dir")
                return row
        return None

    def _new(self, number, values):
        row = sweep_record.new_row(self.folder, number, values)
        self.rows.append(row)
        self.rows.sort(key=lambda r: r["trial"])
        return row

    def _left(self):
        if self.plan.max_hours is None:
            return None
        return (self.plan.max_hours * 3600
                - sum(r["seconds"] for r in self.rows))

    def _result(self, row):
        return f"{self.record['objective']['name']} {row['score']:.4f}"

    def save(self, files=True):
        sweep_results.write(self.folder, self.record, files)


def _values(values):
    return ", ".join(f"{k}={sweep_results.show(v)}"
                     for k, v in values.items())


def _say(message):
    print(f"kft: sweep: {message}", file=sys.stderr, flush=True)
