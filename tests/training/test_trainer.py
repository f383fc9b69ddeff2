"""kft/training/trainer.py end to end on a tiny BERT and real MRPC rows."""

import dataclasses
import os

import numpy as np
import pytest

import kft
from kft import KftError, rundir


@pytest.fixture
def run(tiny_mrpc_run):
    return tiny_mrpc_run


def test_run_directory_is_complete(run):
    names = set(os.listdir(run.run_dir))
    assert {"config.json", "env.json", "history.csv", "model.keras",
            "metrics.json"} <= names
    assert not [n for n in names if "partial" in n]


def test_metrics_json_holds_validation_metrics_of_the_best_model(run):
    metrics = rundir.read_json(os.path.join(run.run_dir, "metrics.json"))
    for key in ("accuracy", "f1", "auc", "loss"):
        assert np.isfinite(metrics[key]), key
        assert metrics[key] == pytest.approx(run.metrics[key])
    assert metrics["epochs_run"] == 2
    assert metrics["train_examples"] == 32
    best = metrics["best_epoch"] - 1
    assert run.history["val_accuracy"][best] == max(
        run.history["val_accuracy"])
    assert metrics["accuracy"] == pytest.approx(
        run.history["val_accuracy"][best], abs=1e-6)


def test_config_and_env_record_the_run(run, backend):
    config = rundir.read_json(os.path.join(run.run_dir, "config.json"))
    assert config["recipe"] == "mrpc"
    assert config["config"]["epochs"] == 2
    assert config["kft_version"] == kft.__version__
    env = rundir.read_json(os.path.join(run.run_dir, "env.json"))
    assert env["backend"] == backend and env["seed"] == 0


def test_history_csv_has_a_row_per_epoch_with_learning_rate(run):
    lines = open(os.path.join(run.run_dir, "history.csv")).read().split()
    header = lines[0].split(",")
    assert {"loss", "val_loss", "val_f1", "learning_rate"} <= set(header)
    assert len(lines) == 3


def test_saved_model_reloads_and_predicts_the_same_logits(run, mrpc_dir):
    pairs = kft.data.glue("mrpc", data_dir=mrpc_dir, limit=8).validation.x
    reloaded = kft.load_model(run.run_dir)
    np.testing.assert_allclose(reloaded.predict(pairs, verbose=0),
                               run.model.predict(pairs, verbose=0),
                               rtol=1e-5, atol=1e-5)


def tiny_recipe(tiny_bert, mrpc_dir, out, **changes):
    from recipes import mrpc

    recipe = mrpc.recipe().replace(
        preset=tiny_bert, data_dir=mrpc_dir, limit=16, epochs=1,
        batch_size=8, verbose=0, output_dir=str(out))
    return dataclasses.replace(recipe, **changes)


def test_nan_loss_stops_with_the_step_and_leaves_no_finished_run(
        tiny_bert, mrpc_dir, tmp_path):
    def nan_loss(cfg):
        return lambda y, logits: logits[:, 0] * float("nan")

    recipe = tiny_recipe(tiny_bert, mrpc_dir, tmp_path / "out",
                         loss=nan_loss)
    with pytest.raises(KftError, match=r"loss became nan at epoch 1, step 1"):
        kft.train(recipe)
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_bad_preset_fails_before_any_run_directory(mrpc_dir, tmp_path):
    recipe = tiny_recipe(str(tmp_path / "no-such-preset"), mrpc_dir,
                         tmp_path / "out")
    with pytest.raises(KftError, match="no-such-preset.*no such folder"):
        kft.train(recipe)
    assert not (tmp_path / "out").exists()


def test_empty_split_fails_before_any_run_directory(tiny_bert, mrpc_dir,
                                                    tmp_path):
    from kft.data import Split

    def data(cfg):
        splits = kft.data.glue("mrpc", data_dir=mrpc_dir, limit=4)
        empty = Split(x=(np.array([], object),) * 2,
                      y=np.array([], "int32"), source="mine.tsv")
        return dataclasses.replace(splits, validation=empty)

    recipe = tiny_recipe(tiny_bert, mrpc_dir, tmp_path / "out", data=data)
    with pytest.raises(KftError, match=r"validation split \(mine.tsv\)"):
        kft.train(recipe)
    assert not (tmp_path / "out").exists()


def test_monitor_must_be_a_logged_value(tiny_bert, mrpc_dir, tmp_path):
    recipe = tiny_recipe(tiny_bert, mrpc_dir, tmp_path / "out")
    recipe = recipe.replace(monitor="val_precision")
    with pytest.raises(KftError, match="val_precision.*not among"):
        kft.train(recipe)
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_early_stopping_restores_the_best_epochs_weights(tiny_bert,
                                                         mrpc_dir, tmp_path):
    """Validation = the training rows with labels flipped: the better the
    model learns, the worse `val_loss` gets, so training stops early and
    must hand back the first epoch's weights, not the last."""
    from recipes import mrpc

    def flipped(cfg):
        splits = mrpc.data(cfg).take(cfg.limit)
        reverse = dataclasses.replace(splits.train, y=1 - splits.train.y)
        return dataclasses.replace(splits, validation=reverse)

    recipe = dataclasses.replace(mrpc.recipe(), data=flipped).replace(
        preset=tiny_bert, data_dir=mrpc_dir, limit=16, epochs=6,
        batch_size=8, learning_rate=1e-2, monitor="val_loss", patience=1,
        verbose=0, output_dir=str(tmp_path / "run"))
    result = kft.train(recipe)
    losses = result.history["val_loss"]
    best = int(np.argmin(losses))
    assert len(losses) < 6 and best < len(losses) - 1  # it stopped early
    assert result.metrics["loss"] == pytest.approx(losses[best], rel=1e-5)
    assert result.metrics["loss"] != pytest.approx(losses[-1], rel=1e-3)
    metrics = rundir.read_json(os.path.join(result.run_dir, "metrics.json"))
    assert metrics["best_epoch"] == best + 1
    assert metrics["epochs_run"] == len(losses)


def test_config_json_records_the_inputs(tiny_mrpc_run):
    record = rundir.read_json(os.path.join(tiny_mrpc_run.run_dir,
                                           rundir.CONFIG))
    assert record["inputs"] == {"kind": "text_pair",
                                "class_names": ["0", "1"],
                                "text_columns": ["sentence1", "sentence2"],
                                "label_column": "label"}
    assert record["recipe"] == "mrpc"


def scalars(folder):
    """`{tag: [(step, value), ...]}` of the event files in `folder`."""
    import glob

    import tensorflow as tf

    found = {}
    for path in sorted(glob.glob(os.path.join(folder, "events.out.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                number = float(tf.make_ndarray(value.tensor))
                found.setdefault(value.tag, []).append((event.step, number))
    return found


def test_tensorboard_logs_the_epoch_scalars(tiny_bert, mrpc_dir, tmp_path):
    recipe = tiny_recipe(tiny_bert, mrpc_dir, tmp_path / "run")
    result = kft.train(recipe.replace(tensorboard="true", limit=8,
                                      epochs=2))
    logs = os.path.join(result.run_dir, "tensorboard")
    assert sorted(os.listdir(logs)) == ["train", "validation"]
    train, validation = (scalars(os.path.join(logs, name))
                         for name in ("train", "validation"))
    for name in ("loss", "accuracy", "f1", "auc", "learning_rate"):
        assert [step for step, _ in train[f"epoch_{name}"]] == [0, 1]
        assert [v for _, v in train[f"epoch_{name}"]] == pytest.approx(
            result.history[name], rel=1e-5), name
    for name in ("loss", "accuracy", "f1", "auc"):
        assert [v for _, v in validation[f"epoch_{name}"]] == pytest.approx(
            result.history[f"val_{name}"], rel=1e-5), name


def test_tensorboard_is_off_by_default(tiny_mrpc_run):
    assert not os.path.exists(os.path.join(tiny_mrpc_run.run_dir,
                                           "tensorboard"))


def test_train_puts_the_process_settings_back(tiny_bert, mrpc_dir, tmp_path):
    """kft.train sets the dtype policy (and on JAX the distribution and
    the random-bits flag) for its run, and puts them back when it
    returns (`kft.runtime.setup`)."""
    import keras

    import kft
    from kft.runtime import setup
    from recipes import mrpc

    before = keras.config.dtype_policy().name
    random_before = setup.describe(0)["random"]
    recipe = mrpc.recipe().replace(
        preset=tiny_bert, data_dir=mrpc_dir, limit=8, epochs=1,
        batch_size=8, verbose=0, precision="mixed_bfloat16",
        output_dir=str(tmp_path / "run"))
    result = kft.train(recipe)
    env = kft.rundir.read_json(os.path.join(result.run_dir, "env.json"))
    assert env["dtype_policy"] == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == before
    assert setup.describe(0)["random"] == random_before
