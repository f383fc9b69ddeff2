"""kft/callbacks.py: a NaN loss stops the run and keeps the best model."""

import os

from conftest import ROOT, run_kft

import kft
from kft import rundir


def test_a_blown_up_loss_stops_through_the_cli_and_keeps_the_best_model(
        tiny_bert, mrpc_dir, backend, tmp_path):
    """SGD at 1e30: epoch 1's one step starts from the preset's weights (a
    finite loss) and wrecks them; epoch 2's first loss is not finite."""
    out = tmp_path / "run"
    done = run_kft("run", str(ROOT / "recipes" / "mrpc.py"),
                   f"preset={tiny_bert}", f"data_dir={mrpc_dir}", "limit=16",
                   "batch_size=8", "sequence_length=32", "epochs=3",
                   "steps_per_epoch=1", "optimizer=sgd", "momentum=0",
                   "schedule=constant", "learning_rate=1e30", "verbose=0",
                   f"output_dir={out}", backend=backend)
    assert done.returncode == 2, done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("kft: error: the loss became ")
    assert "at epoch 2, step 1; the best model so far is kept in " \
           f"{out / rundir.MODEL}" in last
    assert not (out / rundir.METRICS).exists()
    rows = (out / rundir.HISTORY).read_text().strip().splitlines()
    assert len(rows) == 2 and rows[1].startswith("0,")  # epoch 1 only
    assert kft.load_model(str(out)).count_params() > 0
    assert os.path.getmtime(out / rundir.MODEL) <= os.path.getmtime(
        out / rundir.HISTORY)  # saved at epoch 1's end, not later
