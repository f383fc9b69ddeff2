"""The benchmark tools start from a plain checkout.

They run as `python tools/NAME.py` from the repository root, where `tools/`
(not the root) is on the path and kft need not be installed; a tool that
cannot import kft fails only when a long benchmark reaches it.
"""

import importlib.util
import os
import subprocess
import sys

import pytest
from support import ROOT

from kft.errors import EXIT_OK

pytestmark = pytest.mark.backend_free  # no backend-dependent code

TOOLS = sorted((ROOT / "tools").glob("*.py"))
COMMANDS = [p.name for p in TOOLS if "__main__" in p.read_text()]
LIBRARIES = [p.stem for p in TOOLS if "__main__" not in p.read_text()]


def run_in_checkout(*args):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", COMMANDS)
def test_a_tool_starts_from_a_checkout(name):
    done = run_in_checkout(f"tools/{name}", "--help")
    assert done.returncode == EXIT_OK, done.stderr
    assert "usage:" in done.stdout


@pytest.mark.parametrize("name", LIBRARIES)
def test_a_tool_library_imports_from_a_checkout(name):
    # as the tools that use it import it: `tools/` first on the path
    done = run_in_checkout(
        "-c", f"import sys; sys.path.insert(0, 'tools'); import {name}")
    assert done.returncode == EXIT_OK, done.stderr


def test_the_peer_summarizes_the_step_clock_it_shares_with_kft():
    from kft.training.timing import StepClock

    spec = importlib.util.spec_from_file_location(
        "peer_hf_mrpc", ROOT / "tools" / "peer_hf_mrpc.py")
    peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer)
    clock = StepClock()
    for epoch in range(2):
        clock.epoch_begin(epoch)
        for step in range(4):
            clock.step_end(step, examples=8)
    row = {"accuracy": 0.5, "f1": 0.5, "auc": None, "loss": 0.7,
           "wall_time_s": 1.0, **clock.summary(8)}
    line = peer.summary_line(row)
    assert f"{row['clean_steps']}/{row['timed_steps']} clean steps" in line
    assert row["timed_steps"] == 3


def test_profile_jax_counts_convolution_and_dot_flops(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    import profile_jax

    # A small train step as XLA dumps it, with a fusion, an unfused
    # convolution and a dot.
    name = "module_0001.jit_train_step.cpu_after_optimizations.txt"
    (tmp_path / name).write_text((ROOT / "tests" / "assets" / "hlo" / name)
                                 .read_text())
    found = profile_jax.step_flops(tmp_path)
    # 2 x outputs x window x input features; a dilated input's zeros are
    # not counted; a dot is 2 x outputs x contracted size.
    assert found["ynn_fusion.3"][0] == 2 * (2 * 5 * 5 * 4) * 9 * 3
    assert found["convolution-base-dilated.1"][0] == (
        2 * (2 * 9 * 9 * 4) * 9 * 3 // 4)
    assert found["convolution-base-dilated.1"][1][-1] == "(Eigen, async)"
    assert found["dot.2"][0] == 2 * (8 * 7) * 6
    assert profile_jax.step_flops(tmp_path / "missing") == {}


@pytest.mark.parametrize("shape,outputs,names", [
    (("tiny 3x3", 2, 7, 6, 3, 4, 3, 2), 2 * 4 * 3, {"patches", "taps"}),
    (("tiny 1x1", 2, 5, 5, 4, 6, 1, 1), 2 * 5 * 5, {"dot"}),
])
def test_jax_conv_kernels_rewrites_agree_with_xla(shape, outputs, names):
    sys.path.insert(0, str(ROOT / "tools"))
    import jax_conv_kernels

    # `variants` checks each rewrite's gradients against XLA's (it raises
    # if they differ), then `measure` times them all.
    row = jax_conv_kernels.measure(shape, repeats=1)
    assert {"xla", "matmul", *names} <= set(row)
    _, _, _, _, channels, filters, k, _ = shape
    assert row["gflop"] * 1e9 == 3 * 2 * outputs * channels * filters * k * k
    assert jax_conv_kernels.table([row]).count("\n") == 2
