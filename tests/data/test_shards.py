"""kft/data/shards.py: each process reads only its part of every global
batch, chosen on example indices, and the parts of all processes together
are the padded global batch, element for element: rows, labels, sample
weights and (shuffled, augmented) pixels."""

import numpy as np
import pytest
import tensorflow as tf

import kft
from kft.data import Split, buckets, pipelines, shards
from kft.runtime.distribute import Share

CLASS_WEIGHT = {0: 1.0, 1: 3.0, 2: 0.5}


def _batches(ds, count=None):
    if count is not None:
        ds = ds.take(count)
    return [tf.nest.map_structure(np.asarray, b) for b in ds]


def _padded(batches, replicas, class_weight=None, examples=None):
    """The global batches padded as one process would pad them: the first
    row repeated, weight 0 on it, and the scale that keeps losses exact
    (written out here, apart from `kft.data.shards`)."""
    out = []
    for x, y in batches:
        real = len(y)
        extra = -real % replicas
        grow = lambda a, e=extra: np.concatenate(  # noqa: E731
            [a, np.repeat(a[:1], e, axis=0)])
        weight = np.array([(class_weight or {}).get(int(v), 1.0) for v in y],
                          "float32")
        if examples is None:
            scale = np.float32(real + extra) / np.float32(real)
        else:
            scale = np.float32((examples + -examples % replicas) / examples)
        weight = np.concatenate([weight * scale, np.zeros(extra, "float32")])
        out.append((tf.nest.map_structure(grow, x), grow(y), weight))
    return out


def _joined(parts):
    """Each step's parts of every process, put back together."""
    return [tf.nest.map_structure(lambda *t: np.concatenate(t), *step)
            for step in zip(*parts, strict=True)]


def _equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        flat_x, flat_y = tf.nest.flatten(x), tf.nest.flatten(y)
        assert len(flat_x) == len(flat_y)
        for u, v in zip(flat_x, flat_y, strict=True):
            np.testing.assert_array_equal(u, v)


def _text_split(n=21):
    words = np.array([f"sentence {i}" for i in range(n)], dtype=object)
    return Split((words, words[::-1].copy()),
                 (np.arange(n) % 3).astype("int32"))


def test_rows_keep_each_training_batch_mean_exact():
    labels = np.arange(13) % 2
    table = shards.weight_table({0: 1.0, 1: 3.0})
    whole = Share(4, 1, 0)
    rows, weight = shards.rows(np.arange(8), labels, whole, table)
    assert list(rows) == list(range(8))
    assert list(weight) == list(np.where(np.arange(8) % 2, 3.0, 1.0))
    rows, weight = shards.rows(np.arange(8, 13), labels, whole, table)
    assert list(rows) == [8, 9, 10, 11, 12, 8, 8, 8]
    assert list(weight[5:]) == [0, 0, 0]
    losses = np.arange(13, dtype="float32")  # any per-row loss
    real = losses[8:]
    weights = np.where(real % 2, 3.0, 1.0)
    # Keras divides the weighted sum by the (padded) batch size.
    assert (losses[rows] * weight).sum() / 8 == pytest.approx(
        (real * weights).sum() / 5)


def test_rows_keep_the_evaluation_mean_exact():
    labels = np.zeros(13, "int64")
    padded = [shards.rows(np.arange(i, min(i + 8, 13)), labels, Share(4),
                          examples=13) for i in (0, 8)]
    rows = np.concatenate([r for r, _ in padded])
    weights = np.concatenate([w for _, w in padded])
    losses = rows.astype("float32") ** 2
    # Keras's loss tracker: each batch's mean, weighed by its size.
    tracked = sum((losses[i:i + 8] * weights[i:i + 8]).sum()
                  for i in (0, 8)) / 16
    assert tracked == pytest.approx((np.arange(13) ** 2).mean())


def test_parts_of_a_batch_are_disjoint_and_cover_it():
    labels = np.zeros(13, "int64")
    for index in (np.arange(8), np.arange(8, 13)):
        whole = shards.rows(index, labels, Share(2))
        parts = [shards.rows(index, labels, Share(2, 2, r)) for r in (0, 1)]
        for k in (0, 1):
            np.testing.assert_array_equal(
                np.concatenate([p[k] for p in parts]), whole[k])
    # The short batch of 5 is padded to 6: part 1 holds rows 11, 12 and
    # the added row (a copy of row 8).
    rows, weight = shards.rows(np.arange(8, 13), labels, Share(2, 2, 1))
    assert list(rows) == [11, 12, 8]
    np.testing.assert_allclose(weight, [1.2, 1.2, 0.0])


def test_a_share_that_cannot_cut_the_batches_is_refused():
    split = _text_split()
    for share, size in ((Share(4, 3, 0), 8), (Share(2, 2, 2), 8),
                        (Share(4, 2, 0), 6)):
        with pytest.raises(kft.KftError, match="cannot share batches"):
            split.dataset(size, shuffle=True, share=share)


@pytest.mark.parametrize("replicas,parts", [(2, 2), (4, 2), (4, 4)])
def test_text_parts_are_the_padded_global_batches(replicas, parts):
    split = _text_split()  # 21 rows, batch 8: 8, 8, 5 (padded to 6 or 8)
    whole = split.dataset(8, shuffle=True, seed=3)
    expected = _padded(_batches(whole) + _batches(whole), replicas,
                       CLASS_WEIGHT)
    shared = [split.dataset(8, shuffle=True, seed=3,
                            share=Share(replicas, parts, r),
                            class_weight=CLASS_WEIGHT) for r in range(parts)]
    assert [int(ds.cardinality()) for ds in shared] == [3] * parts
    _equal(_joined([_batches(ds) + _batches(ds) for ds in shared]), expected)
    resumed = [split.dataset(8, shuffle=True, seed=3, start=2,
                             share=Share(replicas, parts, r),
                             class_weight=CLASS_WEIGHT)
               for r in range(parts)]
    _equal(_joined([_batches(ds, 4) for ds in resumed]), expected[2:])
    evaluated = _padded(_batches(split.dataset(8)), replicas, examples=21)
    _equal(_joined([_batches(split.dataset(8, share=Share(replicas, parts,
                                                          r)))
                    for r in range(parts)]), evaluated)


def _image_split(tmp_path, n=7, size=16):
    paths = []
    for i in range(n):
        path = tmp_path / f"{i}.png"
        shape = (20 + 3 * i, 28 - 2 * i, 3)  # crops differ with the shape
        pixels = np.random.default_rng(i).integers(0, 255, shape)
        path.write_bytes(tf.io.encode_png(pixels.astype(np.uint8)).numpy())
        paths.append(str(path))
    return Split(np.array(paths, dtype=object),
                 (np.arange(n) % 3).astype("int32"), image_size=size)


@pytest.fixture
def decoded(monkeypatch):
    """The files each pipeline built from now on decodes, in order."""
    seen = []
    original = pipelines.decode_image

    def counting(path, encoded=False):
        noted = tf.py_function(lambda p: seen.append(p.numpy().decode())
                               or 0, [path], tf.int64)
        with tf.control_dependencies([noted]):
            return original(tf.identity(path), encoded)

    monkeypatch.setattr(pipelines, "decode_image", counting)
    return seen


def test_image_parts_decode_only_their_rows_to_the_global_pixels(tmp_path,
                                                                 decoded):
    """Shuffled and augmented (random resized crop and flip from (seed,
    epoch, image)): each process decodes only the images of its part, and
    gets the very pixels of the global batch."""
    split = _image_split(tmp_path)  # batch 4: 4 and 3 (padded to 4)
    whole = split.dataset(4, shuffle=True, seed=2)
    expected = _padded(_batches(whole) + _batches(whole), 2, CLASS_WEIGHT)
    assert sorted(decoded) == sorted(list(split.x) * 2)  # 2 epochs, all
    parts = []
    for rank in (0, 1):
        decoded.clear()
        ds = split.dataset(4, shuffle=True, seed=2, share=Share(2, 2, rank),
                           class_weight=CLASS_WEIGHT)
        parts.append(_batches(ds) + _batches(ds))
        # 2 epochs of 2 steps, 2 images a step: its own and no other
        assert len(decoded) == 8
        mine = [split.x[i] for i in _rows(split, 2, rank)]
        assert sorted(decoded) == sorted(mine)
    _equal(_joined(parts), expected)
    evaluated = _padded(_batches(split.dataset(4)), 2, examples=7)
    _equal(_joined([_batches(split.dataset(4, share=Share(2, 2, r)))
                    for r in (0, 1)]), evaluated)
    resumed = split.dataset(4, shuffle=True, seed=2, start=1,
                            share=Share(2, 2, 1), class_weight=CLASS_WEIGHT)
    _equal(_batches(resumed, 3), parts[1][1:])


def _rows(split, epochs, rank):
    """The example indices part `rank` of 2 holds, over `epochs` epochs of
    batch 4."""
    from kft.data import stream

    found = []
    for p in range(epochs):
        order = stream.permutation(len(split), 2, tf.constant(p, tf.int64))
        for i in range(0, len(split), 4):
            rows, _ = shards.rows(order.numpy()[i:i + 4], split.y,
                                  Share(2, 2, rank))
            found += list(rows)
    return found


def test_bucket_parts_are_the_padded_global_batches(tiny_bert):
    import keras_hub

    split = _text_split(37)
    preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(
        tiny_bert, sequence_length=32)
    features = buckets.tokenize(preprocessor, split.x)
    bounds = buckets.boundaries(buckets.lengths(features), 8, 2, 32)
    assert len(bounds) > 1  # several widths, so the cut matters
    whole = buckets.dataset(features, split.y, 8, bounds, shuffle=True,
                            seed=1)
    expected = _padded(_batches(whole) + _batches(whole), 4, CLASS_WEIGHT)
    parts = []
    for rank in (0, 1):
        ds = buckets.dataset(features, split.y, 8, bounds, shuffle=True,
                             seed=1, share=Share(4, 2, rank),
                             class_weight=CLASS_WEIGHT)
        parts.append(_batches(ds) + _batches(ds))
        assert [len(b[1]) for b in parts[-1]] == [4, 4, 4, 4, 4] * 2
    _equal(_joined(parts), expected)
    evaluated = _padded(_batches(buckets.dataset(
        features, split.y, 8, bounds)), 4, examples=37)
    _equal(_joined([_batches(buckets.dataset(
        features, split.y, 8, bounds, share=Share(4, 2, r)))
        for r in (0, 1)]), evaluated)
