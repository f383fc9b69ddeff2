"""kft/data/augment.py: the crop-box sampler's statistics over many draws, the
crops themselves, and the training pipeline that uses them."""

import functools
import math
import random

import numpy as np
import pytest
import tensorflow as tf

from kft import KftError
from kft.data import Split
from kft.data.augment import (
    Augmentation,
    center_crop,
    random_resized_crop,
    sample_crop_box,
)
from kft.data.pipelines import load_pipeline

DRAWS = 2000
LOG_RATIO = math.log(4 / 3)


@functools.cache
def boxes(height, width, draws=DRAWS, seed=0, scale=(0.08, 1.0)):
    """`draws` boxes `(top, left, h, w)`, one per seed, in one tf.data pass."""
    seeds = tf.data.Dataset.random(seed=seed).batch(2).take(draws)
    ds = seeds.map(lambda s: tf.stack(
        sample_crop_box(height, width, scale=scale, seed=s)))
    return next(iter(ds.batch(draws))).numpy()


def torchvision_area_mean(draws=20000):
    """Mean area fraction of torchvision's `RandomResizedCrop.get_params`
    on a large square image, transcribed in plain Python: about 0.48, not
    0.54, as boxes that do not fit (area > 3/4 at an extreme ratio) are
    redrawn."""
    rng, side, total = random.Random(0), 1000, 0.0
    for _ in range(draws):
        for _ in range(10):
            area = side * side * rng.uniform(0.08, 1.0)
            aspect = math.exp(rng.uniform(-LOG_RATIO, LOG_RATIO))
            w = round(math.sqrt(area * aspect))
            h = round(math.sqrt(area / aspect))
            if 0 < w <= side and 0 < h <= side:
                total += w * h / side / side
                break
        else:
            total += 1.0
    return total / draws


def test_area_fraction_is_in_scale_and_matches_torchvision():
    b = boxes(1000, 1000)
    area = b[:, 2] * b[:, 3] / 1e6
    assert area.min() >= 0.079 and area.max() <= 1.0
    assert abs(area.mean() - torchvision_area_mean()) < 0.03
    # Below 3/4 every box fits, so the area is uniform there.
    counts, _ = np.histogram(area, bins=5, range=(0.08, 0.75))
    assert counts.min() > 0.8 * counts.mean(), counts


def test_log_aspect_ratio_is_in_range_and_uniform():
    b = boxes(1000, 1000)
    log_ratio = np.log(b[:, 3] / b[:, 2])
    # Rounding the box's sides to pixels moves its ratio a little.
    assert np.abs(log_ratio).max() <= LOG_RATIO + 0.01
    assert abs(log_ratio.mean()) < 0.02
    counts, _ = np.histogram(log_ratio, bins=4, range=(-LOG_RATIO, LOG_RATIO))
    assert counts.min() > 0.8 * counts.mean(), counts


@pytest.mark.parametrize("height, width", [
    (1000, 1000), (64, 64), (32, 128), (128, 32), (7, 9), (1, 1), (3, 50)])
def test_boxes_are_always_inside_the_image(height, width):
    top, left, h, w = boxes(height, width, draws=500).T
    assert (top >= 0).all() and (left >= 0).all()
    assert (h >= 1).all() and (w >= 1).all()
    assert (top + h <= height).all() and (left + w <= width).all()


def test_fallback_is_the_center_cut_to_the_ratio_range():
    # No box of area >= 0.9 fits 32 x 128 within the ratio range.
    b = boxes(32, 128, draws=50, scale=(0.9, 1.0))
    assert (b == [0, 42, 32, 43]).all()  # width round(32 * 4/3), centered
    b = boxes(128, 32, draws=50, scale=(0.9, 1.0))
    assert (b == [42, 0, 43, 32]).all()  # height round(32 / (3/4))


def test_crop_shape_dtype_and_seed():
    image = tf.constant(
        np.random.default_rng(0).integers(0, 256, (40, 60, 3)), tf.uint8)
    seed = tf.constant([3, 4], tf.int64)
    out = random_resized_crop(image, 16, seed=seed)
    assert out.shape == (16, 16, 3) and out.dtype == tf.float32
    assert 0 <= float(tf.reduce_min(out)) <= float(tf.reduce_max(out)) <= 255
    np.testing.assert_array_equal(out, random_resized_crop(image, 16,
                                                           seed=seed))
    other = random_resized_crop(image, 16, seed=tf.constant([5, 6]))
    assert not np.array_equal(out, other)


def test_center_crop_takes_the_middle():
    columns = np.tile(np.arange(32, dtype=np.float32), (16, 1))
    image = tf.constant(np.stack([columns] * 3, axis=-1))
    out = center_crop(image, 16, resize=1.0).numpy()
    assert out.shape == (16, 16, 3)
    np.testing.assert_allclose(out[0, :, 0], np.arange(8, 24), atol=1e-4)


def test_bad_scale_is_refused():
    with pytest.raises(KftError, match=r"scale=\(0.5, 0.1\)"):
        sample_crop_box(10, 10, scale=(0.5, 0.1), seed=0)


def gradient_split(folder, count=16, side=48):
    """PNGs that brighten left to right, so a flip is easy to see."""
    ramp = np.linspace(0, 255, side).astype(np.uint8)
    pixels = np.stack([np.tile(ramp, (side, 1))] * 3, axis=-1)
    paths = []
    for i in range(count):
        path = folder / f"{i}.png"
        path.write_bytes(tf.io.encode_png(pixels).numpy())
        paths.append(str(path))
    return Split(np.array(paths, dtype=object),
                 np.arange(count, dtype="int32") % 2)


def test_training_pipeline_batches_crops_and_flips_half(tmp_path):
    split = gradient_split(tmp_path)
    ds = load_pipeline(split, batch_size=8, image_size=24, training=True,
                       seed=1)
    flips, epochs = [], []
    for _ in range(8):
        batches = [(x.numpy(), y.numpy()) for x, y in ds]
        assert [x.shape for x, _ in batches] == [(8, 24, 24, 3)] * 2
        images = np.concatenate([x for x, _ in batches])
        assert images.min() >= 0 and images.max() <= 255
        epochs.append(images)
        slope = images[:, :, -1].mean(axis=(1, 2)) - images[:, :, 0].mean(
            axis=(1, 2))
        flips += list(slope < 0)
    assert 64 - 25 < sum(flips) < 64 + 25, sum(flips)
    assert not np.array_equal(epochs[0], epochs[1])  # new draws each epoch
    again = load_pipeline(split, 8, 24, training=True, seed=1)
    np.testing.assert_array_equal(next(iter(again))[0], epochs[0][:8])


def training_images(split, passes=4):
    ds = load_pipeline(split, batch_size=8, image_size=24, training=True,
                       seed=1)
    return np.concatenate([x.numpy() for _ in range(passes) for x, _ in ds])


def test_augmentation_is_a_choice_flip_crop_or_none(tmp_path):
    import dataclasses

    split = gradient_split(tmp_path)
    evaluated = next(iter(load_pipeline(split, 1, 24)))[0][0].numpy()
    flipped = evaluated[:, ::-1]
    none = training_images(dataclasses.replace(
        split, augmentation=Augmentation(flip=False, crop_scale=None)))
    for image in none:  # no augmentation: the evaluation crop
        np.testing.assert_array_equal(image, evaluated)
    flips = training_images(dataclasses.replace(
        split, augmentation=Augmentation(flip=True, crop_scale=None)))
    mirrored = [np.array_equal(i, flipped) for i in flips]
    assert all(m or np.array_equal(i, evaluated)
               for m, i in zip(mirrored, flips, strict=True))
    assert 16 < sum(mirrored) < 48
    crops = training_images(dataclasses.replace(
        split, augmentation=Augmentation(flip=False, crop_scale=(0.2, 0.3))))
    slope = crops[:, :, -1].mean(axis=(1, 2)) - crops[:, :, 0].mean(
        axis=(1, 2))
    assert (slope > 0).all()  # never flipped
    # a fifth to a third of the area, about half the width: the crop
    # spans part of the ramp only
    assert slope.max() < 0.75 * (evaluated[:, -1].mean()
                                 - evaluated[:, 0].mean())


def test_augmentation_parses_config_values():
    assert Augmentation.parse(True, "0.08,1") == Augmentation()
    assert Augmentation.parse(False, "none") == Augmentation(False, None)
    assert Augmentation.parse(True, " 0.5, 1 ").crop_scale == (0.5, 1.0)
    for bad in ("1,0.5", "0,1", "half", "0.2,0.4,1"):
        with pytest.raises(KftError, match=f"crop_scale='{bad}' is not"):
            Augmentation.parse(True, bad)


def test_pipeline_feeds_fit_on_the_current_backend(tmp_path):
    import keras

    split = gradient_split(tmp_path, count=8, side=32)
    model = keras.Sequential([
        keras.Input((16, 16, 3)), keras.layers.Rescaling(1 / 255),
        keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(True))
    history = model.fit(load_pipeline(split, 4, 16, training=True),
                        epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])
