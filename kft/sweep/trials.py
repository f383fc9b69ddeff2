"""A sweep's trial: one `kft run` in a process of its own.

A process per trial keeps trials apart: each starts from a clean process
(memory, compiled graphs, global generators, the allocator settings a run
keeps), exactly as `kft run` with the same settings would, and a kill
(SIGKILL, Ctrl-C, the `max_hours` budget) stops it the way it stops any
run, which then resumes from its backup. Its standard output (progress)
goes straight to the terminal; its standard error passes through here,
line by line, so that a failed trial's error can be recorded (and
reported once, by the sweep).
"""

import sys

from kft.runtime import process
from kft.sweep import space as sweep_space


def command(recipe, backend, fixed, values, run_dir, smoke=False):
    """The `kft run` command line of one trial.

    Args:
        recipe: str. The recipe file (absolute) or module.
        backend: str.
        fixed: dict. The sweep's fixed `key: value` strings.
        values: dict. The trial's swept values.
        run_dir: str. The trial's run directory (`output_dir`).
        smoke: bool. Add `--smoke`.
    """
    args = [sys.executable, "-m", "kft", "run", recipe, "--backend", backend]
    args += ["--smoke"] if smoke else []
    args += [f"{k}={v}" for k, v in fixed.items()]
    args += [f"{k}={sweep_space.cli_text(v)}" for k, v in values.items()]
    return args + [f"output_dir={run_dir}"]


def run(args, timeout=None):
    """Runs `args` until it exits, or at most `timeout` seconds
    (`kft.runtime.process.run`): its standard error passes on, except its
    `kft: error:` line, which the sweep reports itself.

    At the timeout, or on Ctrl-C, the process is ended (SIGTERM) and
    waited for; a kft run left so resumes from its last backup.

    Returns:
        `kft.runtime.process.Outcome`.
    """
    return process.run(args, timeout=timeout, on_stderr=_relay)


def _relay(line):
    sys.stderr.write(line)
    sys.stderr.flush()
