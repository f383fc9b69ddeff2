"""`tf.data` pipelines of image splits: decoding, augmentation, batching.

Training images are shuffled each epoch and augmented (`kft.data.augment`)
with draws from `(seed, epoch, image)` alone (`kft.data.stream`);
evaluation images are resized and center-cropped. With a `share`
(several processes or replicas), a process decodes only its rows of each
global batch (`kft.data.shards`).
"""

import math

from kft.data import augment, shards, stream


def decode_image(path, encoded=False):
    """Reads and decodes one image file into a uint8 `(H, W, 3)` tensor.

    The first frame of an animation is used; gray and RGBA become RGB.

    Args:
        path: string tensor. The file, or (`encoded`) the image's bytes.
        encoded: bool. `path` holds the encoded image itself.
    """
    import tensorflow as tf

    data = path if encoded else tf.io.read_file(path)
    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def load_pipeline(split, batch_size, image_size, training=False, seed=0,
                  start=None, share=None, class_weight=None):
    """A batched `tf.data.Dataset` of `(image, label)` for an image split.

    Training reshuffles every epoch and augments as `split.augmentation`
    says (by default `kft.data.augment.random_resized_crop` and a random
    horizontal flip). Epoch
    k's order and each image's crop and flip are drawn from `(seed, k)`
    alone (`kft.data.stream`), so runs repeat exactly, and a resumed run
    sees the same images as one that never stopped. Evaluation resizes the
    shorter side to `image_size * 256 / 224` and crops the center. Images
    are float32 in 0..255, not normalized: the model's preprocessor (its
    image converter) does that.

    With `share`, the batches are this process's part of each padded
    global batch, with sample weights (`kft.data.shards`): only those
    images are read, decoded and augmented, each exactly as the whole
    pipeline would.

    Args:
        split: kft.data.Split. `x` holds image paths, `y` integer labels.
        batch_size: int.
        image_size: int. Output height and width.
        training: bool. Shuffle and augment.
        seed: int. Seeds the shuffle and the augmentation.
        start: int or None. Training only: an endless stream from global
            batch `start` (see `kft.data.Split.dataset`).
        share: kft.runtime.distribute.Share or None. This process's part
            of each global batch; None: whole batches of `(image, label)`.
        class_weight: dict or None. With `share`, training: folded into
            the sample weights.

    Example:

    ```python
    splits = kft.data.image_folder("../shared/data/hotdog", limit=64)
    ds = load_pipeline(splits.train, 32, 224, training=True)
    images, labels = next(iter(ds))      # (32, 224, 224, 3), (32,)
    ```
    """
    import tensorflow as tf

    if share is not None:
        shards.check(share, batch_size)
    if training:
        one_pass = _training_pass(split, batch_size, image_size, seed,
                                  share, class_weight)
        count = stream.batches(len(split), batch_size)
        return stream.feed(one_pass, count, start).prefetch(tf.data.AUTOTUNE)

    def prepare(path, label):
        image = decode_image(path, split.encoded)
        return augment.center_crop(image, image_size), label

    if share is not None:
        paths, labels = tf.constant(split.x), tf.constant(split.y)
        index = tf.data.Dataset.range(len(split)).batch(batch_size)
        chosen = shards.select(index, split.y, share, examples=len(split))
        ds = shards.load(chosen, lambda i: prepare(paths[i], labels[i]),
                         batch_size, share)
        return ds.apply(tf.data.experimental.assert_cardinality(
            math.ceil(len(split) / batch_size))).prefetch(tf.data.AUTOTUNE)
    ds = tf.data.Dataset.from_tensor_slices((split.x, split.y))
    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _training_pass(split, batch_size, image_size, seed, share=None,
                   class_weight=None):
    """`one_pass(p, first)` of augmented training images (`kft.data.stream`).

    Image `i` in pass `p` is cropped and flipped (as `split.augmentation`
    asks) with a stateless seed folded from `(seed, p, i)` alone, so it
    does not matter which process decodes it, or in which batch position.
    With `share`, only this process's rows are decoded (`kft.data.shards`).
    """
    import tensorflow as tf

    paths, labels = tf.constant(split.x), tf.constant(split.y)
    how = split.augmentation or augment.Augmentation()

    def prepare(p, i):
        key = tf.random.experimental.stateless_fold_in(
            tf.stack([tf.constant(seed, tf.int64), p]), i)
        crop_seed, flip_seed = tf.unstack(tf.random.split(key, 2))
        image = decode_image(paths[i], split.encoded)
        if how.crop_scale is None:
            image = augment.center_crop(image, image_size)
        else:
            image = augment.random_resized_crop(
                image, image_size, scale=how.crop_scale, seed=crop_seed)
        if how.flip:
            image = tf.image.stateless_random_flip_left_right(image,
                                                              flip_seed)
        return image, labels[i]

    def one_pass(p, first):
        order = stream.pass_order(len(split), batch_size, seed, p, first)
        if share is not None:
            chosen = shards.select(
                tf.data.Dataset.from_tensor_slices(order).batch(batch_size),
                split.y, share, class_weight)
            return shards.load(chosen, lambda i: prepare(p, i), batch_size,
                               share)
        return tf.data.Dataset.from_tensor_slices(order).map(
            lambda i: prepare(p, i), num_parallel_calls=tf.data.AUTOTUNE
        ).batch(batch_size)

    return one_pass
