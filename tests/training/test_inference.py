"""`kft.training.inference.predict_split`: bucketed text prediction gives
the model's own outputs in the split's order, and times itself."""

import numpy as np
import pytest

from kft.data.splits import Split
from kft.training import inference


@pytest.fixture(scope="module")
def text_model(tiny_mrpc_run):
    import kft

    return kft.load_model(tiny_mrpc_run.run_dir)


def pairs(count=21):
    """Pairs of very different lengths, in no length order."""
    rng = np.random.default_rng(3)
    words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "far"]
    first = np.array([" ".join(rng.choice(words, rng.integers(1, 40)))
                      for _ in range(count)])
    second = np.array([" ".join(rng.choice(words, rng.integers(1, 9)))
                       for _ in range(count)])
    return (first, second), rng.integers(0, 2, count).astype("int32")


def test_bucketed_outputs_equal_full_padding_in_the_split_order(text_model):
    x, y = pairs()
    split = Split(x, y)
    outputs, timing = inference.predict_split(text_model, split, 4)
    plain = np.asarray(text_model.predict(x, batch_size=4, verbose=0))
    np.testing.assert_allclose(outputs, plain, atol=2e-5)
    assert timing["bucketed"] is True
    assert timing["batches"] == 6  # 21 examples, 4 a batch
    assert timing["first_prediction_seconds"] > 0
    assert timing["examples_per_second"] > 0
    # the split's order, not the sorted one: shuffling the inputs shuffles
    # the outputs the same way
    order = np.random.default_rng(0).permutation(len(y))
    shuffled, _ = inference.predict_split(
        text_model, Split((x[0][order], x[1][order]), y[order]), 4)
    np.testing.assert_allclose(shuffled, outputs[order], atol=2e-5)


def test_each_shape_is_met_once_and_its_first_batch_is_warm_up(
        text_model, monkeypatch):
    from kft.data import buckets

    x, y = pairs()
    size = buckets.lengths(buckets.tokenize(text_model.preprocessor, x))
    planned = buckets.plan(size, 4)
    bounds = buckets.boundaries(size, 4, inference.BUCKETS,
                                text_model.preprocessor.sequence_length,
                                batches=planned)
    widths = [buckets.width(size[b].max(), bounds) for b in planned]
    shapes = []
    original = inference._run

    def recording(model, dataset, clock):
        shapes.extend(tuple(x["token_ids"].shape) for x, _ in dataset)
        return original(model, dataset, clock)

    monkeypatch.setattr(inference, "_run", recording)
    outputs, timing = inference.predict_split(text_model, Split(x, y), 4)
    # 21 examples: the last batch of 1 is filled to 4 with its own row
    assert shapes == [(4, w) for w in widths]
    assert len(set(widths)) > 1
    assert timing["warmup_batches"] == len(set(widths)) - 1
    assert timing["batches"] == 6
    assert timing["warmup_seconds"] >= 0
    np.testing.assert_allclose(
        outputs, np.asarray(text_model.predict(x, batch_size=4, verbose=0)),
        atol=2e-5)


def test_the_model_keeps_its_preprocessor(text_model):
    x, y = pairs(5)
    inference.predict_split(text_model, Split(x, y), 2)
    # raw text still goes through the model's own preprocessor
    assert np.asarray(text_model.predict(x, verbose=0)).shape == (5, 2)


def test_images_take_the_plain_path(tiny_hotdog_run, hotdog_dir):
    import kft
    from kft.data.images import image_folder

    model = kft.load_model(tiny_hotdog_run.run_dir)
    splits = image_folder(hotdog_dir, limit=4, image_size=32)
    outputs, timing = inference.predict_split(model, splits.validation, 2)
    assert timing["bucketed"] is False
    assert timing["batches"] == 2
    plain = np.asarray(model.predict(splits.validation.dataset(2),
                                     verbose=0))
    np.testing.assert_allclose(outputs, plain, atol=1e-6)
