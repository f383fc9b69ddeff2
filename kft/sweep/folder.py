"""The folder a hyperparameter sweep (`kft sweep`) leaves behind.

    sweep.json    the sweep: its command and settings, one record per
                  trial (values, status, metrics, epochs, time), the best
                  (`kft.sweep.record`, its only reader and writer)
    sweep.md      the same as a Markdown table
    sweep.png     the objective against each swept value (`kft.sweep.plot`)
    best          a relative symbolic link to the best trial's run directory
    trials/NNN/   trial NNN's run directory, as `kft run` writes it

The names are `kft.rundir.layout`'s `SWEEP_*`. `sweep.json` is rewritten
(atomically) whenever a trial starts or ends, so it always says where
the sweep is.
"""

import os

from kft.rundir import atomic, layout


def trial_path(sweep_dir, number):
    """The run directory of trial `number` (0, 1, ...): `trials/NNN`."""
    return os.path.join(sweep_dir, layout.SWEEP_TRIALS, f"{number:03d}")


def trial_dirs(sweep_dir):
    """The trials' run directories that exist, in trial order."""
    folder = os.path.join(sweep_dir, layout.SWEEP_TRIALS)
    if not os.path.isdir(folder):
        return []
    names = sorted(n for n in os.listdir(folder) if n.isdigit())
    return [os.path.join(folder, n) for n in names
            if os.path.isdir(os.path.join(folder, n))]


def link_best(sweep_dir, run_dir):
    """Points `sweep_dir/best` at `run_dir` with a relative link, replaced
    atomically; with `run_dir` None, removes it."""
    link = os.path.join(sweep_dir, layout.SWEEP_BEST)
    if run_dir is None:
        if os.path.islink(link):
            os.remove(link)
        return
    atomic.symlink(os.path.relpath(run_dir, sweep_dir), link)
