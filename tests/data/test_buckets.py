"""kft/data/buckets.py: length-bucketed text batches, tokenized once."""

import os

import numpy as np
import pytest

import kft
from kft import rundir
from kft.data import buckets
from kft.model.tiny import WORDS


def _pairs(count, seed=0):
    """Sentence pairs of 1-40 vocabulary words: lengths vary, none cut."""
    rng = np.random.default_rng(seed)

    def texts():
        return np.array([" ".join(rng.choice(WORDS, rng.integers(1, 40)))
                         for _ in range(count)])

    return (texts(), texts()), rng.integers(0, 2, count)


def test_plan_sees_every_example_once_per_epoch_in_a_new_order():
    lengths = np.random.default_rng(0).integers(5, 120, size=1000)
    one = buckets.plan(lengths, 32, np.random.default_rng([0, 0]))
    two = buckets.plan(lengths, 32, np.random.default_rng([0, 1]))
    for epoch in (one, two):
        seen = np.concatenate(epoch)
        assert sorted(seen) == list(range(1000))
        assert [len(b) for b in epoch[:-1]] == [32] * 31
        assert len(epoch[-1]) == 1000 - 31 * 32  # the short batch is last
    assert not np.array_equal(np.concatenate(one), np.concatenate(two))
    again = buckets.plan(lengths, 32, np.random.default_rng([0, 0]))
    assert all(np.array_equal(a, b) for a, b in zip(one, again, strict=True))


def test_plan_groups_similar_lengths():
    lengths = np.random.default_rng(1).integers(5, 120, size=3200)
    planned = buckets.plan(lengths, 32, np.random.default_rng(0))
    spread = np.mean([np.ptp(lengths[b]) for b in planned])
    shuffled = np.random.default_rng(0).permutation(3200).reshape(-1, 32)
    assert spread < 0.1 * np.mean([np.ptp(lengths[b]) for b in shuffled])


def test_evaluation_plan_is_sorted_and_complete():
    lengths = np.array([9, 3, 7, 3, 1])
    planned = buckets.plan(lengths, 2, rng=None)
    assert [list(b) for b in planned] == [[4, 1], [3, 2], [0]]


def test_boundaries_are_few_rounded_and_end_at_the_maximum():
    lengths = np.random.default_rng(2).integers(20, 104, size=3000)
    bounds = buckets.boundaries(lengths, 32, 4, maximum=128)
    assert bounds == sorted(bounds) and bounds[-1] == 128
    assert len(bounds) == 5 and len(set(bounds)) == 5
    assert all(b % 8 == 0 for b in bounds)
    assert buckets.width(1, bounds) == bounds[0]
    padded = buckets.mean_width(lengths, 32, bounds)
    assert lengths.mean() < padded < 0.9 * 128
    assert buckets.boundaries(lengths, 32, 0, maximum=128) == [128]


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_boundaries_pad_least_of_every_choice(count):
    """The dynamic programme finds what trying every subset finds."""
    import itertools

    lengths = np.concatenate([  # a long tail, as in MRPC
        np.random.default_rng(3).integers(10, 60, size=600),
        np.random.default_rng(4).integers(60, 120, size=40)])
    batches = buckets.plan(lengths, 16, np.random.default_rng(0))
    needed = sorted({buckets.width(lengths[b].max(), range(8, 129, 8))
                     for b in batches} - {128})

    def tokens(bounds):
        return sum(len(b) * buckets.width(lengths[b].max(), bounds)
                   for b in batches)

    best = min(tokens([*subset, 128])
               for size in range(1, count + 1)
               for subset in itertools.combinations(needed, size))
    bounds = buckets.boundaries(lengths, 16, count, maximum=128)
    assert len(bounds) <= count + 1 and bounds[-1] == 128
    assert tokens(bounds) == best


def test_dataset_batches_fit_their_bucket_and_reshuffle(tiny_bert):
    import keras_hub

    x, y = _pairs(96)
    preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(
        tiny_bert, sequence_length=128)
    features = buckets.tokenize(preprocessor, x)
    assert features["token_ids"].shape == (96, 128)
    size = buckets.lengths(features)
    bounds = buckets.boundaries(size, 16, 3, 128)
    assert len(bounds) >= 3 and size.max() < 128
    ds = buckets.dataset(features, y, 16, bounds, shuffle=True)
    assert int(ds.cardinality()) == 6
    epochs = []
    for _ in range(2):
        labels = []
        for batch, label in ds:
            width = batch["token_ids"].shape[1]
            assert width in bounds
            assert width >= int(np.asarray(batch["padding_mask"]).sum(1).max())
            labels.append(np.asarray(label))
        epochs.append(np.concatenate(labels))
    assert sorted(epochs[0]) == sorted(y)
    assert not np.array_equal(epochs[0], epochs[1])


def test_bucketed_logits_equal_fully_padded_logits(tiny_bert):
    import keras_hub

    x, y = _pairs(24, seed=1)
    model = keras_hub.models.TextClassifier.from_preset(
        tiny_bert, num_classes=2)
    full = model.predict(x, batch_size=8, verbose=0)
    features = buckets.tokenize(model.preprocessor, x)
    bounds = buckets.boundaries(buckets.lengths(features), 8, 2, 128)
    ds = buckets.dataset(features, y, 8, bounds)
    with buckets.preprocessed(model):
        cut = model.predict(ds.map(lambda x, y: x), verbose=0)
    order = np.concatenate(buckets.plan(buckets.lengths(features), 8))
    assert max(bounds[:-1]) < 128  # the batches really were shorter
    np.testing.assert_allclose(cut, full[order], rtol=1e-4, atol=1e-5)


def test_preprocessed_restores_the_preprocessor_path(tiny_bert):
    import keras_hub

    model = keras_hub.models.TextClassifier.from_preset(
        tiny_bert, num_classes=2)
    with buckets.preprocessed(model):
        assert model.preprocess_samples({"a": 1}, 2) == ({"a": 1}, 2)
    assert model.preprocess_samples.__func__ is type(
        model).preprocess_samples


def test_applies_only_to_text_through_a_sequence_preprocessor(tiny_bert):
    import keras_hub

    model = keras_hub.models.TextClassifier.from_preset(
        tiny_bert, num_classes=2)
    text = np.array(["a b", "c"])
    assert buckets.applies(model, (text, text))
    assert buckets.applies(model, text)
    assert not buckets.applies(model, np.zeros((2, 4), "int32"))
    assert not buckets.applies(type("NoPre", (), {})(), text)


@pytest.mark.parametrize("length_buckets", [0, 3])
def test_training_with_and_without_buckets(tiny_bert, mrpc_dir, tmp_path,
                                           length_buckets):
    from recipes import mrpc

    recipe = mrpc.recipe().replace(
        preset=tiny_bert, data_dir=mrpc_dir, limit=48, epochs=2,
        batch_size=16, learning_rate=1e-3, verbose=0,
        length_buckets=length_buckets, output_dir=str(tmp_path / "run"))
    result = kft.train(recipe)
    assert len(result.history["loss"]) == 2
    assert all(np.isfinite(result.history["val_loss"]))
    metrics = rundir.read_json(os.path.join(result.run_dir, "metrics.json"))
    assert metrics["timing"]["timed_steps"] == 2  # epoch 2, less its last
    padded = metrics["mean_padded_length"]
    assert padded == 128 if length_buckets == 0 else 0 < padded <= 128
    # The saved model still tokenizes raw text itself.
    pairs = kft.data.glue("mrpc", data_dir=mrpc_dir, limit=4).validation.x
    assert kft.load_model(result.run_dir).predict(
        pairs, verbose=0).shape == (4, 2)
