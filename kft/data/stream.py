"""Training batches whose order is a pure function of (seed, epoch).

A training set is read in passes (epochs). Pass `p` visits every example
once, in an order drawn from `(seed, p)` alone, so a run killed in the
middle of pass `p` can start a new process at pass `p`, batch `b`, and see
the same batches as a run that never stopped (`kft.training.resume`).

A loader describes one pass with a function `one_pass(p, first)`: pass
`p`'s batches from batch `first` on, as a `tf.data.Dataset` (`p` and
`first` are int64 scalar tensors). Two wrappers turn it into datasets:

- `passes`: a finite dataset whose k-th iteration is pass k, as
  `shuffle(..., reshuffle_each_iteration=True)` gives, but reproducible;
- `stream`: an endless stream of batches from global batch `start` (pass
  `start // count`, batch `start % count`), for `fit(steps_per_epoch=...)`.
"""

import itertools

from kft.data import shards

ENDLESS = 1 << 62  # passes of an endless stream


def feed(one_pass, count, start=None):
    """`passes(one_pass, count)` if `start` is None, else `stream(...)`."""
    if start is None:
        return passes(one_pass, count)
    return stream(one_pass, count, start)


def passes(one_pass, count):
    """A finite dataset of `count` batches; its k-th iteration is pass k.

    Args:
        one_pass: callable. `one_pass(p, first)` as in the module docstring.
        count: int. Batches in one pass.
    """
    import tensorflow as tf

    counter = itertools.count()
    number = tf.data.Dataset.from_generator(
        lambda: iter([next(counter)]),
        output_signature=tf.TensorSpec((), tf.int64))
    ds = number.flat_map(lambda p: one_pass(p, tf.constant(0, tf.int64)))
    # A known length lets Keras start a new iteration (pass) each epoch.
    return ds.apply(tf.data.experimental.assert_cardinality(count))


def stream(one_pass, count, start=0):
    """An endless dataset of batches, from global batch `start` on.

    Global batch `g` is batch `g % count` of pass `g // count`: the passes
    follow each other, so with `fit(steps_per_epoch=count)` epoch `e` is
    pass `e`.

    Args:
        one_pass: callable. `one_pass(p, first)` as in the module docstring.
        count: int. Batches in one pass.
        start: int. The first global batch.
    """
    import tensorflow as tf

    first_pass, first = divmod(int(start), count)
    head = one_pass(tf.constant(first_pass, tf.int64),
                    tf.constant(first, tf.int64))
    rest = tf.data.Dataset.range(first_pass + 1, ENDLESS).flat_map(
        lambda p: one_pass(p, tf.constant(0, tf.int64)))
    return head.concatenate(rest)


def permutation(size, seed, p):
    """A permutation of `range(size)` drawn from `(seed, p)` alone (tf ops).

    Args:
        size: int.
        seed: int.
        p: int64 scalar tensor. The pass.
    """
    import tensorflow as tf

    key = tf.stack([tf.constant(seed, tf.int64), tf.cast(p, tf.int64)])
    return tf.argsort(tf.random.stateless_uniform([size], seed=key))


def pass_order(size, batch_size, seed, p, first):
    """Pass `p`'s example indices from batch `first` on (tf ops)."""
    import tensorflow as tf

    skip = tf.cast(first, tf.int32) * batch_size
    return permutation(size, seed, p)[skip:]


def batches(size, batch_size):
    """The number of batches in a pass over `size` examples."""
    return -(-size // batch_size)


def gather(x, y):
    """A `tf.data` map from a vector of example indices to `(x, y)` rows
    of in-memory arrays (and `(x, y, weights)` from `(index, weights)`).

    Args:
        x: np.ndarray or tuple of np.ndarray. One row per example.
        y: np.ndarray. Labels.
    """
    import tensorflow as tf

    xs = tf.nest.map_structure(tf.constant, x)
    ys = tf.constant(y)

    def rows(index, *weight):
        return (tf.nest.map_structure(lambda a: tf.gather(a, index), xs),
                tf.gather(ys, index), *weight)

    return rows


def array_pass(x, y, batch_size, seed, share=None, class_weight=None):
    """`one_pass` for in-memory arrays: shuffled `(x, y)` batches.

    Args:
        x: np.ndarray or tuple of np.ndarray. One row per example.
        y: np.ndarray. Labels.
        batch_size: int.
        seed: int.
        share: kft.runtime.distribute.Share or None. With one, batches of
            `(x, y, sample_weight)`: this process's rows of each global
            batch alone (`kft.data.shards`).
        class_weight: dict or None. With `share`: folded into the weights.
    """
    import tensorflow as tf

    rows = gather(x, y)

    def one_pass(p, first):
        order = pass_order(len(y), batch_size, seed, p, first)
        index = tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
        if share is not None:
            index = shards.select(index, y, share, class_weight)
        return index.map(rows)

    return one_pass
