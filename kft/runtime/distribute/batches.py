"""Global batches that split evenly over replicas, with exact losses.

An epoch's last batch is usually short (examples % batch_size), and it
may not split evenly over the replicas: JAX cannot shard it, TensorFlow
splits it unevenly (each replica's mean then weighs the wrong share), and
torch processes would disagree on the step. `pad` repeats the batch's first
row until it splits, and adds sample weights: 0 on the added rows, and on
the real rows the class weight times a scale that keeps the loss exact:

- training (`examples=None`): each batch's scale is `padded / real`, so the
  batch's mean loss (Keras divides by the padded size) equals the unpadded
  batch's, and so do its gradients;
- evaluation (`examples=N`): one scale `(N + P) / N` for the whole pass
  (P added rows in all), so the mean loss over the pass and the weighted
  accuracy, F1 and AUC equal the unpadded ones.

`part` then keeps one process's contiguous part of every global batch,
and `note` records which rows a process trained on.
Nothing else changes: the order, the buckets and the per-epoch shuffling
are those of the global pipeline, which every process builds alike.
"""


def pad(dataset, replicas, class_weight=None, examples=None):
    """Batches of `(x, y, sample_weight)` whose size divides `replicas`.

    Args:
        dataset: tf.data.Dataset of `(x, y)` batches; `x` may be nested.
        replicas: int. Every batch is padded to a multiple of this.
        class_weight: dict or None. `{class: weight}`, as `fit` takes it.
        examples: int or None. None for training (a scale per batch);
            the number of examples in the split for evaluation.
    """
    import numpy as np
    import tensorflow as tf

    table = None
    if class_weight:
        weights = np.ones(max(class_weight) + 1, dtype="float32")
        for label, weight in class_weight.items():
            weights[label] = weight
        table = tf.constant(weights)
    padding = 0 if examples is None else -examples % replicas
    fixed = None if examples is None else (examples + padding) / examples

    def add_weights(x, y):
        real = tf.shape(y)[0]
        extra = -real % replicas

        def grow(t):
            return tf.concat([t, tf.repeat(t[:1], extra, axis=0)], axis=0)

        weight = (tf.ones([real]) if table is None
                  else tf.gather(table, tf.cast(y, "int32")))
        scale = (tf.cast(real + extra, "float32") / tf.cast(real, "float32")
                 if fixed is None else tf.constant(fixed, "float32"))
        weight = tf.concat([weight * scale, tf.zeros([extra])], axis=0)
        return tf.nest.map_structure(grow, x), grow(y), weight

    return dataset.map(add_weights)


def part(dataset, parts, index):
    """Each batch's `index`-th of `parts` equal contiguous parts.

    Args:
        dataset: tf.data.Dataset of padded batches (from `pad` with a
            multiple of `parts`).
        parts: int. Processes sharing each batch.
        index: int. This process's rank.
    """
    import tensorflow as tf

    def keep(*batch):
        size = tf.shape(tf.nest.flatten(batch)[0])[0] // parts
        return tf.nest.map_structure(
            lambda t: t[index * size:(index + 1) * size], batch)

    return dataset.map(keep)


def note(dataset, tally):
    """Counts and fingerprints the real rows (weight above 0) of the
    batches as the pipeline yields them (tf.data's read-ahead included):
    `tally.examples` grows by one and `tally.fingerprint` by the row's
    CRC-32 (mod 2**32) per row, so processes that trained on different
    rows show different fingerprints.

    Args:
        dataset: tf.data.Dataset of `(x, y, sample_weight)` batches.
        tally: an object with int attributes `examples`, `fingerprint`.
    """
    import zlib

    import numpy as np
    import tensorflow as tf

    def count(weight, *columns):
        rows = zip(*[c.numpy() for c in columns], strict=True)
        for w, row in zip(weight.numpy(), rows, strict=True):
            if w > 0:
                data = b"".join(v if isinstance(v, bytes)
                                else np.asarray(v).tobytes() for v in row)
                tally.examples += 1
                tally.fingerprint = (tally.fingerprint
                                     + zlib.crc32(data)) % 2**32
        return weight

    def noted(x, y, weight):
        seen = tf.py_function(count, [weight, *tf.nest.flatten(x), y],
                              tf.float32)
        seen.set_shape(weight.shape)
        return x, y, seen

    return dataset.map(noted)
