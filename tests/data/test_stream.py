"""kft/data/stream.py: each epoch's order is a pure function of (seed, epoch),
so a stream started at any batch continues a run that never stopped."""

import numpy as np
import tensorflow as tf

from kft.data import Split, buckets, stream


def _batches(ds, count=None):
    if count is not None:
        ds = ds.take(count)
    return [tf.nest.map_structure(np.asarray, b) for b in ds]


def _equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        for u, v in zip(tf.nest.flatten(x), tf.nest.flatten(y), strict=True):
            np.testing.assert_array_equal(u, v)


def _text_split(n=20):
    words = np.array([f"sentence {i}" for i in range(n)], dtype=object)
    return Split((words, words[::-1].copy()), np.arange(n, dtype="int32"))


def test_permutation_depends_on_seed_and_pass_only():
    def order(seed, p):
        return stream.permutation(50, seed, tf.constant(p, tf.int64)).numpy()

    assert sorted(order(0, 0)) == list(range(50))
    np.testing.assert_array_equal(order(0, 3), order(0, 3))
    assert not np.array_equal(order(0, 0), order(0, 1))
    assert not np.array_equal(order(0, 0), order(1, 0))


def test_each_iteration_is_the_next_epoch_and_a_stream_continues_it():
    split = _text_split()  # 20 rows, batch 6: 4 batches, the last short
    ds = split.dataset(6, shuffle=True, seed=3)
    assert int(ds.cardinality()) == 4
    epochs = [_batches(ds) for _ in range(3)]
    labels = [np.concatenate([y for _, y in e]) for e in epochs]
    assert sorted(labels[0]) == list(range(20))
    assert not np.array_equal(labels[0], labels[1])
    assert [len(y) for _, y in epochs[0]] == [6, 6, 6, 2]
    flat = [b for e in epochs for b in e]
    for start in (0, 2, 4, 7):  # epoch start // 4, batch start % 4
        resumed = split.dataset(6, shuffle=True, seed=3, start=start)
        _equal(_batches(resumed, 12 - start), flat[start:])
    again = split.dataset(6, shuffle=True, seed=3)  # a fresh object
    _equal(_batches(again), epochs[0])


def test_buckets_stream_continues_the_epochs(tiny_bert):
    import keras_hub

    x = _text_split(40).x
    y = np.arange(40, dtype="int32")
    preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(
        tiny_bert, sequence_length=32)
    features = buckets.tokenize(preprocessor, x)
    bounds = buckets.boundaries(buckets.lengths(features), 8, 2, 32)
    ds = buckets.dataset(features, y, 8, bounds, shuffle=True, seed=1)
    flat = _batches(ds) + _batches(ds)  # epochs 0 and 1: 5 batches each
    resumed = buckets.dataset(features, y, 8, bounds, shuffle=True, seed=1,
                              start=3)
    _equal(_batches(resumed, 7), flat[3:])


def test_image_stream_repeats_order_and_augmentation(tmp_path):
    from kft.data.pipelines import load_pipeline

    paths = []
    for i in range(6):
        path = tmp_path / f"{i}.png"
        pixels = np.random.default_rng(i).integers(0, 255, (20, 20, 3))
        path.write_bytes(tf.io.encode_png(pixels.astype(np.uint8)).numpy())
        paths.append(str(path))
    split = Split(np.array(paths, dtype=object), np.arange(6, dtype="int32"),
                  image_size=16)
    ds = load_pipeline(split, 4, 16, training=True, seed=2)
    flat = _batches(ds) + _batches(ds)
    resumed = split.dataset(4, shuffle=True, seed=2, start=1)
    _equal(_batches(resumed, 3), flat[1:])
