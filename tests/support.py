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
