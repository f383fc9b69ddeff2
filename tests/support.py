"""Helpers the tests import: paths, and running `kft` in a subprocess.

The backend is fixed per process (`KERAS_BACKEND`), so tests of the CLI,
or of another backend, run `python -m kft` in a subprocess.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "tests" / "assets"
SHARED_DATA = ROOT.parent / "shared" / "data"


def next_backend(backend):
    """The backend a cross-backend test compares with. Each CI run checks
    the next one, so the three runs together cover every pair."""
    from kft.runtime.backend import BACKENDS

    return BACKENDS[(BACKENDS.index(backend) + 1) % len(BACKENDS)]


def run_kft(*args, backend=None, env=None, timeout=600, cwd=ROOT):
    """Runs `python -m kft ARGS` in a subprocess; returns CompletedProcess."""
    environ = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    if backend:
        environ["KERAS_BACKEND"] = backend
    return subprocess.run(
        [sys.executable, "-m", "kft", *args], capture_output=True,
        text=True, env=environ, timeout=timeout, cwd=cwd,
    )


def kill_when(process, ready, number=None, group=False, timeout=600,
              poll=0.005, log=None):
    """Waits while `process` (a `subprocess.Popen`) runs until `ready()` is
    true, then sends it signal `number` (default SIGKILL; to its whole
    process group with `group=True`). Fails the test when the process ends
    first or `timeout` seconds pass; its standard error (piped, or the file
    `log` it writes to) is in the message."""
    import signal
    import time

    import pytest

    number = signal.SIGKILL if number is None else number
    deadline = time.time() + timeout
    while not ready():
        if process.poll() is not None or time.time() > deadline:
            if process.poll() is None and group:
                os.killpg(process.pid, signal.SIGKILL)
            elif process.poll() is None:
                process.kill()
            if log is not None:
                log.seek(0)
            stream = log if log is not None else process.stderr
            err = stream.read()[-3000:] if stream else ""
            pytest.fail(f"never ready (exit {process.poll()}): {err}")
        time.sleep(poll)
    if group:
        os.killpg(process.pid, number)
    else:
        os.kill(process.pid, number)


def file_exists(path):
    """A `kill_when` condition: `path` exists (e.g. a run's backup)."""
    return lambda: os.path.exists(path)


def largest_difference(mine, theirs):
    """The largest absolute difference between two lists of weights, and
    the largest absolute weight of `theirs`: `(difference, scale)`."""
    import numpy as np

    difference = max(float(np.abs(np.asarray(a) - np.asarray(b)).max())
                     for a, b in zip(mine, theirs, strict=True))
    scale = max(float(np.abs(np.asarray(w)).max()) for w in theirs)
    return difference, scale
