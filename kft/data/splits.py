"""`Split` and `Splits`: a dataset's splits as in-memory arrays.

A loader returns `Splits`: the train, validation and (optional) test
`Split`s, each holding raw inputs `x` (an array, or a tuple of arrays for
sentence pairs) and integer labels `y`. Tokenizing and decoding happen later,
in the model's preprocessor, inside the input pipeline.
"""

import dataclasses

import numpy as np

from kft.data import pipelines, shards, stream


@dataclasses.dataclass(frozen=True)
class Split:
    """One split of a dataset.

    Args:
        x: np.ndarray or tuple of np.ndarray. Raw inputs, one row each.
        y: np.ndarray. Integer class labels.
        source: str. Where it came from, for messages.
        image_size: int or None. Set when `x` holds images: the side of
            the square images that `dataset` decodes them to.
        encoded: bool. Images: `x` holds encoded images (PNG or JPEG
            bytes, e.g. from TensorFlow Datasets), not file paths.
        augmentation: kft.data.augment.Augmentation or None. Images: how
            `dataset(shuffle=True)` augments training images; None is the
            default (random resized crop and flip).
    """

    x: object
    y: np.ndarray
    source: str = ""
    image_size: int | None = None
    encoded: bool = False
    augmentation: object = None

    def __len__(self):
        return len(self.y)

    def take(self, n):
        """The first `n` examples (all of them if `n` is None)."""
        if n is None or n >= len(self):
            return self
        cut = _map(self.x, lambda a: a[:n])
        return dataclasses.replace(self, x=cut, y=self.y[:n])

    def dataset(self, batch_size, shuffle=False, seed=0, start=None,
                share=None, class_weight=None):
        """A batched `tf.data.Dataset` of `(x, y)`.

        With `shuffle` (training), its k-th iteration (epoch k) is in an
        order drawn from `(seed, k)` alone (`kft.data.stream`), and image
        splits are augmented too (`kft.data.pipelines.load_pipeline`).

        With `share` (several processes or replicas), it yields
        `(x, y, sample_weight)`: this process's part of every global
        batch, padded to split evenly (`kft.data.shards`). The global
        batches are planned on indices alike in every process; only this
        process's rows are then read (and images decoded and augmented).
        Evaluation pads the whole pass with one scale (`examples` is this
        split's length), so the weighted metrics equal the unpadded ones.

        Args:
            batch_size: int.
            shuffle: bool. Shuffle (and augment) for training.
            seed: int.
            start: int or None. With `shuffle`: an endless stream of
                batches from global batch `start` (epoch `start // n`,
                batch `start % n`, for `n` batches an epoch), to resume a
                run; None gives one epoch per iteration.
            share: kft.runtime.distribute.Share or None. This process's
                part of each global batch; None: whole batches.
            class_weight: dict or None. With `share` and `shuffle`:
                `{class: weight}`, folded into the sample weights.
        """
        import tensorflow as tf

        if self.image_size is not None:
            return pipelines.load_pipeline(
                self, batch_size, self.image_size, training=shuffle,
                seed=seed, start=start, share=share,
                class_weight=class_weight)
        if share is not None:
            shards.check(share, batch_size)
        if not shuffle and share is None:
            ds = tf.data.Dataset.from_tensor_slices((self.x, self.y))
            return ds.batch(batch_size)
        if not shuffle:
            index = tf.data.Dataset.range(len(self)).batch(batch_size)
            chosen = shards.select(index, self.y, share, examples=len(self))
            return chosen.map(stream.gather(self.x, self.y))
        one_pass = stream.array_pass(self.x, self.y, batch_size, seed,
                                     share, class_weight)
        return stream.feed(one_pass, stream.batches(len(self), batch_size),
                           start)


@dataclasses.dataclass(frozen=True)
class Splits:
    """The splits of a dataset, with its class names.

    Args:
        train: Split.
        validation: Split.
        test: Split or None.
        class_names: tuple of str. Label `i` is `class_names[i]`.
        origin: dict. How to read this data again without the recipe,
            recorded in the run's `config.json` `inputs` for `kft eval`
            and `kft predict`: e.g. `text_columns` and `label_column`, or
            `tfds` and `tfds_splits`.
    """

    train: Split
    validation: Split
    test: Split | None = None
    class_names: tuple = ("0", "1")
    origin: dict = dataclasses.field(default_factory=dict)

    def take(self, n):
        """Each split cut to its first `n` examples."""
        return dataclasses.replace(
            self,
            train=self.train.take(n),
            validation=self.validation.take(n),
            test=None if self.test is None else self.test.take(n),
        )


def _map(x, fn):
    return tuple(fn(a) for a in x) if isinstance(x, tuple) else fn(x)
