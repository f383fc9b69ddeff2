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

import collections
import dataclasses
import subprocess
import sys
import threading
import time

from kft.sweep import space as sweep_space

ERROR = "kft: error: "


@dataclasses.dataclass
class Outcome:
    """How a trial's process ended.

    Args:
        code: int or None. Its exit status (negative: killed by that
            signal); None when `run` stopped it.
        stopped: str or None. `deadline` or `interrupt` when `run` stopped
            it.
        error: str. Its `kft: error:` line (without the prefix), else the
            last line it wrote to standard error.
        seconds: float. Wall time.
    """

    code: int | None
    stopped: str | None
    error: str
    seconds: float


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
    """Runs `args` until it exits, or at most `timeout` seconds.

    At the timeout, or on Ctrl-C, the process is ended (SIGTERM) and
    waited for; a kft run left so resumes from its last backup.

    Returns:
        `Outcome`.
    """
    start = time.time()
    process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True,
                               errors="replace")
    tail = collections.deque(maxlen=50)
    relay = threading.Thread(target=_relay, args=(process.stderr, tail),
                             daemon=True)
    relay.start()
    stopped = None
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stopped = "deadline"
    except KeyboardInterrupt:
        stopped = "interrupt"
    if stopped:
        process.terminate()
        process.wait()
        code = None
    relay.join(timeout=10)
    return Outcome(code, stopped, _error(tail), time.time() - start)


def _relay(stream, tail):
    """Passes the trial's standard error on, except its `kft: error:`
    line, which the sweep reports itself."""
    for line in stream:
        tail.append(line.rstrip("\n"))
        if not line.startswith(ERROR):
            sys.stderr.write(line)
            sys.stderr.flush()


def _error(lines):
    found = [line for line in lines if line.startswith(ERROR)]
    if found:
        return found[-1][len(ERROR):]
    shown = [line.strip() for line in lines if line.strip()]
    return shown[-1] if shown else ""
