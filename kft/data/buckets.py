"""Length-aware batching for text: tokenize once, pad to a few lengths.

Padding every batch to `sequence_length` wastes most of the compute on short
texts (MRPC pairs average 53 wordpieces of 128). Here a split is tokenized
once per run by the model's own preprocessor, then each epoch:

1. the examples are shuffled (every example once per epoch, as before);
2. each run of `CHUNK` batches' worth is sorted by length and cut into
   batches, so a batch holds texts of similar length (as Hugging Face's
   `group_by_length` does);
3. the full batches are shuffled, the short one (if any) goes last;
4. each batch is cut to the smallest bucket length that holds its longest
   text. A few fixed lengths keep XLA and `tf.function` from retracing for
   every batch; they are chosen to pad a planned epoch least
   (`boundaries`).

Cutting the padding changes no result: the padding mask hides padded
positions, so the logits equal those at full padding (tested).
"""

import numpy as np

from kft.data import shards, stream
from kft.runtime import compat

CHUNK = 50  # batches sorted together: Hugging Face's "megabatch" size
MULTIPLE = 8  # bucket lengths are multiples of this


def applies(model, x) -> bool:
    """Whether `model` takes raw text through a length-padding preprocessor.

    Args:
        model: keras.Model. A KerasHub task, or any model.
        x: np.ndarray or tuple of np.ndarray. A split's raw inputs.
    """
    preprocessor = getattr(model, "preprocessor", None)
    first = x[0] if isinstance(x, tuple) else x
    return (getattr(preprocessor, "sequence_length", None) is not None
            and isinstance(first, np.ndarray)
            and first.dtype.kind in "USO")


def tokenize(preprocessor, x, batch_size=256) -> dict:
    """Runs `preprocessor` once over all of `x`.

    Args:
        preprocessor: a KerasHub text preprocessor.
        x: np.ndarray of strings, or a tuple of them (sentence pairs).

    Returns:
        dict of NumPy arrays, one row per example, padded to the
        preprocessor's `sequence_length`.
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(x).batch(batch_size)
    if isinstance(x, tuple):
        ds = ds.map(lambda *texts: preprocessor(x=texts))
    else:
        ds = ds.map(lambda text: preprocessor(x=text))
    parts = [{k: v.numpy() for k, v in batch.items()} for batch in ds]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def lengths(features) -> np.ndarray:
    """Unpadded length of each example (from its padding mask)."""
    return np.asarray(features["padding_mask"]).sum(axis=1).astype(int)


def plan(lengths, batch_size, rng=None) -> list:
    """The batches of one epoch, as arrays of example indices.

    Args:
        lengths: np.ndarray of int. Each example's length.
        batch_size: int.
        rng: np.random.Generator or None. None: no shuffling (evaluation):
            examples are sorted by length.
    """
    count = len(lengths)
    order = np.arange(count) if rng is None else rng.permutation(count)
    span = count if rng is None else CHUNK * batch_size
    sorted_order = np.concatenate([
        chunk[np.argsort(lengths[chunk], kind="stable")]
        for chunk in np.split(order, range(span, count, span))
    ])
    batches = [sorted_order[i:i + batch_size]
               for i in range(0, count, batch_size)]
    if rng is None:
        return batches
    full = [b for b in batches if len(b) == batch_size]
    short = [b for b in batches if len(b) < batch_size]
    return [full[i] for i in rng.permutation(len(full))] + short


def boundaries(lengths, batch_size, count, maximum, seed=0,
               batches=None) -> list:
    """The `count` bucket lengths that pad these texts' batches least.

    Over one planned epoch (or over `batches`), each batch needs its
    longest length rounded up
    to a multiple of 8. Of those needed lengths, the `count` that minimise
    the total padded tokens (each batch padded to the smallest chosen
    length that holds it) are found exactly, by dynamic programming over
    the sorted candidates. `maximum` (the preprocessor's `sequence_length`)
    is always last, for the rare longest batches and for longer texts from
    other splits.

    Args:
        lengths: np.ndarray of int. Each example's length.
        batch_size: int.
        count: int. How many lengths to choose below `maximum`.
        maximum: int. The preprocessor's `sequence_length`.
        seed: int. Seeds the planned epoch.
        batches: list of index arrays or None. The batches to pad (e.g.
            an evaluation's `plan(lengths, batch_size)`); None plans a
            training epoch from `seed`.

    Returns:
        Sorted list of at most `count + 1` ints, ending with `maximum`.
    """
    if batches is None:
        batches = plan(lengths, batch_size, np.random.default_rng(seed))
    needed = np.array([min(-(-int(lengths[b].max()) // MULTIPLE) * MULTIPLE,
                           maximum) for b in batches])
    sizes = np.array([len(b) for b in batches])
    widths = np.unique(needed[needed < maximum])
    if count < 1 or not len(widths):
        return [maximum]
    # weight[i]: examples whose batches need widths[i]; below[i]: those
    # needing widths[:i] (prefix sums), so a run widths[i..j] padded to
    # widths[j] costs (below[j + 1] - below[i]) * widths[j].
    weight = np.array([sizes[needed == w].sum() for w in widths])
    below = np.concatenate([[0], np.cumsum(weight)])
    n = len(widths)
    # best[k][j]: least tokens for widths[..j] with k chosen lengths, the
    # largest being widths[j]; back[k][j]: the previous chosen index.
    best = np.full((count + 1, n), np.inf)
    back = np.zeros((count + 1, n), dtype=int)
    best[1] = below[1:] * widths
    for k in range(2, count + 1):
        for j in range(1, n):
            run = below[j + 1] - below[1:j + 1]  # widths[i+1..j], each i
            costs = best[k - 1][:j] + run * widths[j]
            back[k][j] = int(np.argmin(costs))
            best[k][j] = costs[back[k][j]]
    # the widths above the last chosen one pad to `maximum`
    total = best + (below[n] - below[1:]) * maximum
    k, j = np.unravel_index(int(np.argmin(total)), total.shape)
    chosen = []
    while k >= 1:
        chosen.append(int(widths[j]))
        j, k = back[k][j], k - 1
    return sorted(chosen) + [maximum]


def width(longest, bounds) -> int:
    """The smallest bucket length that holds `longest` tokens."""
    return next(b for b in bounds if b >= longest)


def mean_width(lengths, batch_size, bounds, seed=0) -> float:
    """Mean padded length per example over one planned training epoch."""
    batches = plan(lengths, batch_size, np.random.default_rng([seed, 0]))
    padded = sum(len(b) * width(lengths[b].max(), bounds) for b in batches)
    return padded / len(lengths)


def dataset(features, y, batch_size, bounds, shuffle=False, seed=0,
            start=None, share=None, class_weight=None):
    """A `tf.data.Dataset` of `(features, y)` batches, padded per bucket.

    With `shuffle`, its k-th iteration (epoch k) draws its order from
    `(seed, k)` alone (`kft.data.stream`).

    With `share`, it yields `(features, y, sample_weight)`: this process's
    rows of each global batch (`kft.data.shards`), cut to the bucket
    length of the whole global batch, so every process's part has the
    same width. Every process tokenized the whole split (`tokenize`: the
    lengths plan the batches), but only its own rows are sliced and fed.

    Args:
        features: dict of np.ndarray from `tokenize`.
        y: np.ndarray. Labels.
        batch_size: int.
        bounds: list of int. Bucket lengths from `boundaries`.
        shuffle: bool. Shuffle (training) or sort by length (evaluation).
        seed: int.
        start: int or None. With `shuffle`: an endless stream of batches
            from global batch `start` (see `kft.data.Split.dataset`).
        share: kft.runtime.distribute.Share or None. This process's part
            of each global batch; None: whole batches.
        class_weight: dict or None. With `share` and `shuffle`:
            `{class: weight}`, folded into the sample weights.
    """
    import tensorflow as tf

    size = lengths(features)
    if share is not None:
        shards.check(share, batch_size)
    table = shards.weight_table(class_weight) if shuffle else None
    examples = None if shuffle else len(size)

    def batches(p=None, first=0):
        rng = None if p is None else np.random.default_rng([seed, int(p)])
        for index in plan(size, batch_size, rng)[int(first):]:
            cut = width(size[index].max(), bounds)  # the global batch's
            weight = ()
            if share is not None:
                index, weight = shards.rows(index, y, share, table, examples)
                weight = (weight,)
            yield ({k: v[index, :cut] for k, v in features.items()},
                   y[index], *weight)

    signature = (
        {k: tf.TensorSpec((None, None), tf.as_dtype(v.dtype))
         for k, v in features.items()},
        tf.TensorSpec((None,), tf.as_dtype(y.dtype)),
    )
    if share is not None:
        signature += (tf.TensorSpec((None,), tf.float32),)
    count = stream.batches(len(size), batch_size)
    if not shuffle:
        return tf.data.Dataset.from_generator(
            batches, output_signature=signature
        ).apply(tf.data.experimental.assert_cardinality(count)).prefetch(2)

    def one_pass(p, first):
        return tf.data.Dataset.from_generator(
            batches, args=(p, first), output_signature=signature)

    return stream.feed(one_pass, count, start).prefetch(2)


def preprocessed(model):
    """A context in which `model.fit`/`evaluate` take already-tokenized
    features instead of raw text (`kft.runtime.compat.tokenized_inputs`);
    the model keeps its preprocessor, and saves with it."""
    return compat.tokenized_inputs(model)
