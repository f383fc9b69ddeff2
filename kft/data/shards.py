"""Each process's rows of every global batch, chosen before any row is read.

With several processes (or replicas), every process plans the same global
batches: the order, the per-epoch shuffle from `(seed, epoch)` and the
length buckets are index arithmetic (`kft.data.stream`,
`kft.data.buckets`), alike in every process. Here, on the example indices
of each global batch, before an image is decoded or augmented or a row is
gathered:

1. the batch is padded to a multiple of `share.replicas` rows by repeating
   its first index (an epoch's last batch is usually short, and it must
   split evenly over the replicas: JAX cannot shard it, TensorFlow would
   split it unevenly, and torch processes would disagree on the step);
2. each row gets a sample weight: 0 on the added rows, and on the real
   rows the class weight times a scale that keeps the loss exact:

   - training (`examples=None`): each batch's scale is `padded / real`, so
     the batch's mean loss (Keras divides by the padded size) equals the
     unpadded batch's, and so do its gradients;
   - evaluation (`examples=N`): one scale `(N + P) / N` for the whole pass
     (P added rows in all), so the mean loss over the pass and the
     weighted accuracy, F1 and AUC equal the unpadded ones;

3. the padded batch is cut into `share.parts` equal contiguous parts, and
   the process keeps part `share.index`.

The pipelines then load only those rows. Image augmentation draws from
`(seed, pass, example index)` alone (`kft.data.pipelines`), so a process
decoding its part gets the very pixels one process decoding the whole batch
would; an added row is its batch's first example, augmented alike.
"""

import numpy as np

from kft.errors import KftError


def check(share, batch_size):
    """Fails unless `share` can cut every global batch of `batch_size`.

    Args:
        share: kft.runtime.distribute.Share.
        batch_size: int. The global batch.
    """
    replicas, parts, index = share.replicas, share.parts, share.index
    if (replicas < 1 or parts < 1 or replicas % parts
            or not 0 <= index < parts or batch_size % replicas):
        raise KftError(
            f"cannot share batches of {batch_size} as part {index} of "
            f"{parts} over {replicas} replicas: the batch must be a "
            "multiple of the replicas, and the replicas of the parts")


def weight_table(class_weight):
    """`{class: weight}` as a float32 array indexed by class, or None."""
    if not class_weight:
        return None
    table = np.ones(max(class_weight) + 1, dtype="float32")
    for label, weight in class_weight.items():
        table[label] = weight
    return table


def rows(index, labels, share, table=None, examples=None):
    """This process's rows of one global batch, and their sample weights.

    Args:
        index: np.ndarray of int. The global batch's example indices.
        labels: np.ndarray of int. The split's labels (for class weights).
        share: kft.runtime.distribute.Share.
        table: np.ndarray or None. Class weights from `weight_table`.
        examples: int or None. None for training (a scale per batch);
            the number of examples in the split for evaluation.

    Returns:
        `(rows, weights)`: example indices (`index`'s dtype; the padded
        batch's part `share.index`) and float32 sample weights.
    """
    index = np.asarray(index)
    real = len(index)
    extra = -real % share.replicas
    padded = np.concatenate([index, np.repeat(index[:1], extra)])
    weight = (np.ones(real, "float32") if table is None
              else table[np.asarray(labels)[index].astype("int64")])
    if examples is None:
        scale = np.float32(real + extra) / np.float32(real)
    else:
        added = -examples % share.replicas  # in the pass's last batch
        scale = np.float32((examples + added) / examples)
    weight = np.concatenate([weight * scale, np.zeros(extra, "float32")])
    size = len(padded) // share.parts
    keep = slice(share.index * size, (share.index + 1) * size)
    return padded[keep].astype(index.dtype), weight[keep].astype("float32")


def select(index_batches, labels, share, class_weight=None, examples=None):
    """`rows` over a `tf.data.Dataset` of global batches of indices.

    Args:
        index_batches: tf.data.Dataset of int vectors, one global batch
            of example indices each.
        labels: np.ndarray. The split's labels.
        share: kft.runtime.distribute.Share.
        class_weight: dict or None. `{class: weight}`, as `fit` takes it.
        examples: int or None. As in `rows`.

    Returns:
        tf.data.Dataset of `(rows, weights)`.
    """
    import tensorflow as tf

    table, labels = weight_table(class_weight), np.asarray(labels)

    def choose(index):
        return rows(index, labels, share, table, examples)

    def mapped(index):
        chosen, weight = tf.numpy_function(
            choose, [index], (index.dtype, tf.float32), stateful=False)
        chosen.set_shape([None])
        weight.set_shape([None])
        return chosen, weight

    return index_batches.map(mapped)


def load(chosen, prepare, batch_size, share):
    """Loads the chosen rows one by one, in parallel, as part batches.

    Within one pass, every global batch but the last is full, so its part
    has `batch_size // share.parts` rows; the last part is no longer.
    Batching the loaded rows by that size gives back exactly the parts.

    Args:
        chosen: tf.data.Dataset of `(rows, weights)` from `select`, for
            one pass (or one evaluation).
        prepare: callable. `prepare(i)` gives an example's `(x, y)`.
        batch_size: int. The global batch.
        share: kft.runtime.distribute.Share.

    Returns:
        tf.data.Dataset of `(x, y, sample_weight)` batches.
    """
    import tensorflow as tf

    def one(i, weight):
        x, y = prepare(i)
        return x, y, weight

    return chosen.unbatch().map(
        one, num_parallel_calls=tf.data.AUTOTUNE).batch(
            batch_size // share.parts)
