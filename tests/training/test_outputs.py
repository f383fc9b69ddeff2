"""kft/training/outputs.py: a model's outputs over a split, and the
end-of-run confusion matrix."""

import os

import numpy as np

from kft.training.outputs import write_plots


def test_write_plots_counts_the_models_own_predictions(tiny_mrpc_run,
                                                          mrpc_dir,
                                                          tmp_path):
    import kft

    split = kft.data.glue("mrpc", data_dir=mrpc_dir, limit=24).validation
    (tmp_path / "history.csv").write_text("epoch,loss\n0,0.7\n")
    model = tiny_mrpc_run.model
    matrix = write_plots(str(tmp_path), model, split.dataset(5), ["0", "1"])
    guesses = model.predict(split.x, verbose=0).argmax(axis=1)
    expected = np.zeros((2, 2), int)
    for true, guess in zip(split.y, guesses, strict=True):
        expected[true, guess] += 1
    np.testing.assert_array_equal(matrix, expected)
    assert sorted(os.listdir(tmp_path)) == ["confusion.png", "curves.png",
                                            "history.csv"]
