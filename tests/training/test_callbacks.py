"""kft/training/callbacks.py: a NaN loss stops the run and keeps the best
model."""

import os

from support import ROOT

import kft
from kft import rundir
from kft.commands.cli import main
from kft.errors import EXIT_BAD_INPUT


def test_a_blown_up_loss_stops_through_the_cli_and_keeps_the_best_model(
        tiny_bert, mrpc_dir, tmp_path, capsys):
    """SGD at 1e30: epoch 1's one step starts from the preset's weights (a
    finite loss) and wrecks them; epoch 2's first loss is not finite."""
    out = tmp_path / "run"
    code = main(argv=[
        "run", str(ROOT / "recipes" / "mrpc.py"), f"preset={tiny_bert}",
        f"data_dir={mrpc_dir}", "limit=16", "batch_size=8",
        "sequence_length=32", "epochs=3", "steps_per_epoch=1",
        "optimizer=sgd", "momentum=0", "schedule=constant",
        "learning_rate=1e30", "verbose=0", f"output_dir={out}"])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith("kft: error: the loss became ")
    assert "at epoch 2, step 1; the best model so far is kept in " \
           f"{out / rundir.MODEL}" in last
    assert not (out / rundir.METRICS).exists()
    rows = (out / rundir.HISTORY).read_text().strip().splitlines()
    assert len(rows) == 2 and rows[1].startswith("0,")  # epoch 1 only
    assert kft.load_model(str(out)).count_params() > 0
    assert os.path.getmtime(out / rundir.MODEL) <= os.path.getmtime(
        out / rundir.HISTORY)  # saved at epoch 1's end, not later


def test_a_model_saves_after_unfreezing_with_a_constant_rate(tmp_path):
    """`carry_state` copies the old optimizer's values: on JAX, sharing their
    buffers left a deleted array behind once training donated them, and
    saving the model failed ("Array has been deleted")."""
    import keras
    import numpy as np

    from kft.training.callbacks import Unfreeze

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
                              keras.layers.Dense(2)])
    model.layers[0].trainable = False
    model.compile(keras.optimizers.Adam(1e-3), "mse")
    x = np.random.default_rng(0).random((32, 4), "float32")
    y = np.random.default_rng(1).random((32, 2), "float32")
    thaw = Unfreeze(1, [model.layers[0]],
                    lambda: keras.optimizers.Adam(1e-3))
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[thaw])
    model.save(str(tmp_path / "thawed.keras"))
    assert (tmp_path / "thawed.keras").stat().st_size > 0
