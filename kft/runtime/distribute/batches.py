"""What a process fed: `note` counts and fingerprints its rows.

Padding each global batch to split evenly over the replicas, the sample
weights that keep losses exact, and the choice of each process's part all
happen in the data pipeline, on example indices, before any row is read
(`kft.data.shards`); the engines only say how to share
(`kft.runtime.distribute.Share`).
"""


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
