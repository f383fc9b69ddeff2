"""kft/model/head.py: the new head starts from the same weights on every
backend."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from support import ROOT, next_backend

from kft.errors import EXIT_OK
from kft.model.head import portable_head, sample


@pytest.mark.parametrize("initializer, std", [
    # Cut at 2 std, a unit normal keeps a std of 0.8796.
    (keras.initializers.TruncatedNormal(stddev=0.02), 0.02 * 0.8796),
    (keras.initializers.GlorotUniform(), np.sqrt(2 / (400 + 300))),
    (keras.initializers.HeNormal(), np.sqrt(2 / 400)),
    (keras.initializers.RandomNormal(stddev=0.5), 0.5),
])
def test_draws_follow_the_initializers_distribution(initializer, std):
    values = sample(initializer, (400, 300), np.random.default_rng(0))
    assert values.shape == (400, 300)
    assert abs(values.mean()) < 0.05 * std
    assert values.std() == pytest.approx(std, rel=0.03)


def test_truncated_normal_stays_within_two_stddevs():
    values = sample(keras.initializers.TruncatedNormal(stddev=0.02),
                    (10000,), np.random.default_rng(1))
    assert np.abs(values).max() <= 0.04


def test_only_the_head_is_drawn_again(tiny_bert):
    import keras_hub

    model = keras_hub.models.TextClassifier.from_preset(tiny_bert,
                                                        num_classes=2)
    before = [np.array(v) for v in model.backbone.weights]
    drawn = portable_head(model, seed=0)
    assert drawn == ["logits/kernel"]
    for old, new in zip(before, model.backbone.weights, strict=True):
        np.testing.assert_array_equal(old, np.array(new))
    expected = sample(keras.initializers.TruncatedNormal(stddev=0.02),
                      (16, 2), np.random.default_rng(0))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model.get_layer("logits").kernel),
        expected, rtol=1e-6)


def first_batch_loss(settings):
    from kft.training.trainer import prepare
    from recipes import mrpc

    splits, model, _ = prepare(mrpc.recipe().replace(**settings))
    batch = splits.train.take(8).dataset(8)
    return model.evaluate(batch, verbose=0, return_dict=True)["loss"]


def test_first_batch_loss_matches_another_backend(tiny_bert, mrpc_dir,
                                                  backend):
    settings = {"preset": tiny_bert, "data_dir": mrpc_dir, "limit": 8}
    code = ("import json, sys; sys.path[:0] = ['tests', 'tests/model']\n"
            "from test_head import first_batch_loss\n"
            "print('LOSS', first_batch_loss(json.loads(sys.argv[1])))\n")
    other = subprocess.run(
        [sys.executable, "-c", code, json.dumps(settings)], cwd=ROOT,
        env=dict(os.environ, KERAS_BACKEND=next_backend(backend)),
        capture_output=True, text=True, timeout=300)
    assert other.returncode == EXIT_OK, other.stderr[-2000:]
    other_loss = float(other.stdout.split("LOSS")[-1])
    assert first_batch_loss(settings) == pytest.approx(other_loss, abs=1e-3)
