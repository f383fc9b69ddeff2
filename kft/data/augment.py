"""Image transforms for `tf.data` pipelines: random resized crop, center crop.

Keras has no `RandomResizedCrop` layer, so kft implements torchvision's
algorithm in TensorFlow ops. The transforms work on one `(H, W, C)` image
inside `Dataset.map`, whatever the Keras backend is: the input pipeline is
always `tf.data`. Random draws are stateless: a shape-`[2]` seed per image
gives the same crop on every run.
"""

import dataclasses
import math

from kft.errors import KftError

ATTEMPTS = 10  # torchvision's number of tries before the center-crop fallback
EVAL_RESIZE = 256 / 224  # "resize 256, center crop 224"


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """How training images are augmented (`flip=`, `crop_scale=`).

    Args:
        flip: bool. A random horizontal flip (off for digits, text, or
            anything where left and right differ).
        crop_scale: (float, float) or None. The area range of
            `random_resized_crop`, as a fraction of the image; None: no
            random crop, the evaluation resize and center crop instead.

    `Augmentation(flip=False, crop_scale=None)` is no augmentation at all.

    Example:

    ```python
    kft.data.image_folder("digits", augmentation=Augmentation.parse(
        flip=False, crop_scale="0.5,1"))
    ```
    """

    flip: bool = True
    crop_scale: tuple | None = (0.08, 1.0)

    @classmethod
    def parse(cls, flip=True, crop_scale="0.08,1"):
        """From config values: `crop_scale` is `"LOW,HIGH"` or `"none"`."""
        text = str(crop_scale).strip().lower()
        if text in ("none", ""):
            return cls(bool(flip), None)
        try:
            low, high = (float(v) for v in text.split(","))
        except ValueError:
            low = high = -1.0
        if not 0 < low <= high <= 1:
            raise KftError(
                f"crop_scale={crop_scale!r} is not valid: use LOW,HIGH with "
                "0 < LOW <= HIGH <= 1 (e.g. 0.08,1), or none for no "
                "random crop")
        return cls(bool(flip), (low, high))


def random_resized_crop(image, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                        seed=None):
    """Crops a random area and aspect ratio of `image`, resized to `size`.

    The crop box comes from `sample_crop_box` (torchvision's algorithm); the
    crop is resized to `size x size` bilinearly, with antialiasing when it
    shrinks.

    Args:
        image: tf.Tensor. One `(H, W, C)` image, any numeric dtype.
        size: int. Output height and width.
        scale: (float, float). Range of the crop's area, as a fraction of
            the image's.
        ratio: (float, float). Range of the crop's width / height, sampled
            log-uniformly.
        seed: None, int, or an int tensor of shape `[2]`. A stateless seed;
            None draws a fresh one (not reproducible).

    Returns:
        A float32 `(size, size, C)` tensor, in the input's value range.

    Example:

    ```python
    seeds = tf.data.Dataset.random(seed=0).batch(2)
    ds = tf.data.Dataset.zip((images, seeds)).map(
        lambda image, seed: kft.data.augment.random_resized_crop(image, 224,
                                                            seed=seed))
    ```
    """
    import tensorflow as tf

    shape = tf.shape(image)
    top, left, height, width = sample_crop_box(shape[0], shape[1], scale,
                                               ratio, seed)
    crop = tf.slice(image, tf.stack([top, left, 0]),
                    tf.stack([height, width, -1]))
    return _resize(crop, size, size, image.shape[-1])


def sample_crop_box(height, width, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                    seed=None):
    """Draws a crop box for an image of `height x width`, as torchvision.

    Makes `ATTEMPTS` draws of an area fraction, uniform in `scale`, and of
    an aspect ratio (width / height), log-uniform in `ratio`, and keeps the
    first whose box fits the image, at a uniform random position. If none
    fits, the box is the whole image, cut to the nearest ratio in `ratio`
    and centered. All draws are made at once, so it is cheap in a graph.

    Args:
        height: int or int scalar tensor. Image height.
        width: int or int scalar tensor. Image width.
        scale: (float, float). Range of the area fraction.
        ratio: (float, float). Range of width / height.
        seed: None, int, or an int tensor of shape `[2]`.

    Returns:
        `(top, left, crop_height, crop_width)`, int32 scalar tensors.
    """
    import tensorflow as tf

    _check_range("scale", scale)
    _check_range("ratio", ratio)
    h = tf.cast(height, tf.float32)
    w = tf.cast(width, tf.float32)
    u = tf.random.stateless_uniform([4, ATTEMPTS], _seed(seed))
    area = h * w * (scale[0] + (scale[1] - scale[0]) * u[0])
    low, high = math.log(ratio[0]), math.log(ratio[1])
    aspect = tf.exp(low + (high - low) * u[1])
    crop_w = tf.round(tf.sqrt(area * aspect))
    crop_h = tf.round(tf.sqrt(area / aspect))
    fits = (crop_w > 0) & (crop_w <= w) & (crop_h > 0) & (crop_h <= h)
    # floor(u * (n + 1)) is uniform on 0..n; the min guards float rounding.
    top = tf.minimum(tf.floor(u[2] * (h - crop_h + 1)), h - crop_h)
    left = tf.minimum(tf.floor(u[3] * (w - crop_w + 1)), w - crop_w)
    boxes = tf.stack([top, left, crop_h, crop_w], axis=1)
    first = tf.argmax(tf.cast(fits, tf.int32))
    box = tf.where(tf.reduce_any(fits), boxes[first],
                   _center_box(h, w, ratio))
    return tuple(tf.unstack(tf.cast(box, tf.int32)))


def center_crop(image, size, resize=EVAL_RESIZE):
    """Resizes the shorter side to `size * resize`, then crops the center.

    The evaluation counterpart of `random_resized_crop`: with the default
    `resize`, a 224 crop of the image resized to 256.

    Args:
        image: tf.Tensor. One `(H, W, C)` image.
        size: int. Output height and width.
        resize: float. Shorter side before the crop, as a multiple of `size`.

    Returns:
        A float32 `(size, size, C)` tensor, in the input's value range.
    """
    import tensorflow as tf

    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    short = max(size, round(size * resize))
    scaled = tf.cast(tf.round(shape * short / tf.reduce_min(shape)), tf.int32)
    scaled = tf.maximum(scaled, size)
    image = _resize(image, scaled[0], scaled[1], image.shape[-1])
    top, left = (scaled[0] - size) // 2, (scaled[1] - size) // 2
    out = tf.slice(image, tf.stack([top, left, 0]), [size, size, -1])
    out.set_shape([size, size, image.shape[-1]])
    return out


def _resize(image, height, width, channels):
    import tensorflow as tf

    out = tf.image.resize(image, tf.stack([height, width]),
                          method="bilinear", antialias=True)
    if isinstance(height, int) and isinstance(width, int):
        out.set_shape([height, width, channels])
    return tf.cast(out, tf.float32)


def _center_box(h, w, ratio):
    import tensorflow as tf

    aspect = w / h
    crop_w = tf.where(aspect > ratio[1], tf.round(h * ratio[1]), w)
    crop_h = tf.where(aspect < ratio[0], tf.round(w / ratio[0]), h)
    return tf.stack([tf.floor((h - crop_h) / 2), tf.floor((w - crop_w) / 2),
                     crop_h, crop_w])


def _seed(seed):
    import tensorflow as tf

    if seed is None:
        return tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32)
    if isinstance(seed, int):
        return tf.constant([seed, 0], tf.int64)
    return seed


def _check_range(name, pair):
    low, high = pair
    if not 0 < low <= high:
        raise KftError(
            f"augment {name}={tuple(pair)} is not a range (low, high) with "
            f"0 < low <= high; fix the {name} setting"
        )
