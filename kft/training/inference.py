"""A saved model over a whole split, fast and timed (`kft eval`,
`kft predict`).

Text goes the way training's does (`kft.data.buckets`): the model's own
preprocessor tokenizes the split once, the examples are sorted by length
and batched, and each batch is cut to one of a few bucket lengths, so a
short pair is not padded to `sequence_length` and the engine compiles a
handful of shapes, not one per batch. The outputs are put back in the
split's order. Anything else (images, a model without a length-padding
preprocessor) goes through `Split.dataset` as before.

Cutting the padding changes no output: the padding mask hides padded
positions (the same guarantee as training's, tested in
`tests/data/test_buckets.py` and `tests/training/test_inference.py`).

The last, short batch is filled up to `batch_size` by repeating its own
rows (their outputs are dropped), so the engine sees exactly one shape per
bucket length, not one more for the remainder. Each shape's first batch
compiles on jax and tensorflow; those batches are timed apart
(`warmup_seconds`), as training's first epoch is, so `examples_per_second`
is the steady rate a larger split converges to.
"""

import time

import numpy as np

from kft.data import buckets
from kft.runtime import kernels
from kft.training import timing

BUCKETS = 4  # bucket lengths below `sequence_length`, as training's default


def predict_split(model, split, batch_size, start=None, bucketed=True):
    """The model's outputs on every example of `split`, in its order.

    Args:
        model: keras.Model. A loaded run's model.
        split: kft.data.Split.
        batch_size: int.
        start: float or None. `time.perf_counter()` when the command
            began (before loading the model); None: when this call began.
        bucketed: bool. False pads text to `sequence_length` inside the
            model, as `model.predict` on raw text does (for comparison).

    Returns:
        `(outputs, timing)`: float32 array `(len(split), classes)`, and a
        dict: `first_prediction_seconds` (from `start` to the first
        batch's outputs: loading, tokenizing, compiling);
        `warmup_seconds`, the later batches that met a new shape (a
        compile on jax and tensorflow); `examples_per_second` and
        `seconds` over the other batches; `batches`, `warmup_batches`,
        `bucketed` (bool) and `mean_foreign_cpu` (other processes' load
        meanwhile, `kft.training.timing`; None unless
        `KFT_FOREIGN_LOAD=1`).
    """
    start = time.perf_counter() if start is None else start
    if bucketed and buckets.applies(model, split.x):
        features = buckets.tokenize(model.preprocessor, split.x)
        size = buckets.lengths(features)
        planned = buckets.plan(size, batch_size)  # sorted by length
        bounds = buckets.boundaries(size, batch_size, BUCKETS,
                                    model.preprocessor.sequence_length,
                                    batches=planned)
        real = [len(b) for b in planned]
        # fill the short last batch with its own rows: one shape less
        planned[-1] = np.resize(planned[-1], min(batch_size, len(size)))
        order = np.concatenate(planned)
        shapes = [buckets.width(size[b].max(), bounds) for b in planned]
        clock = _Clock(start, shapes, real)
        dataset = buckets.dataset({k: v[order] for k, v in features.items()},
                                  split.y[order], batch_size, bounds)
        with buckets.preprocessed(model):
            ordered = _run(model, dataset, clock)
        outputs = np.empty((len(size),) + ordered.shape[1:], ordered.dtype)
        outputs[order] = ordered  # a repeated row writes its own output
        bucketed = True
    else:
        real = [min(batch_size, len(split) - i)
                for i in range(0, len(split), batch_size)]
        clock = _Clock(start, real, real)
        outputs = _run(model, split.dataset(batch_size), clock)
        bucketed = False
    timed = clock.summary()
    return outputs, dict(timed, bucketed=bucketed)


def _run(model, dataset, clock):
    with kernels.jax_cpu_rewrites(), kernels.onednn_matmul():
        return _predict(model, dataset, clock)


def _predict(model, dataset, clock):
    import keras

    class Batches(keras.callbacks.Callback):
        def on_predict_begin(self, logs=None):
            clock.begin()

        def on_predict_batch_end(self, batch, logs=None):
            clock.batch_end(batch)

    outputs = model.predict(dataset, verbose=0, callbacks=[Batches()])
    return np.asarray(outputs, dtype="float32")


class _Clock:
    """Batch ends of one `predict`, with `timing`'s foreign-load record
    (when `KFT_FOREIGN_LOAD=1`).

    Args:
        start: float. `time.perf_counter()` when the command began.
        shapes: list. Each batch's shape key (its bucket length, or its
            size), to time each shape's first batch as warm-up.
        sizes: list of int. Each batch's real examples.
    """

    def __init__(self, start, shapes, sizes):
        self.start = start
        self.shapes, self.sizes = shapes, sizes
        self.clock = timing.StepClock()
        self.first = None

    def begin(self):
        self.clock.epoch_begin(0)

    def batch_end(self, batch):
        self.clock.step_end(batch)
        if self.first is None:
            self.first = time.perf_counter()

    def summary(self):
        steps = self.clock.steps
        if not steps:
            return {"first_prediction_seconds": None,
                    "examples_per_second": None, "seconds": 0.0,
                    "warmup_seconds": 0.0, "batches": 0,
                    "warmup_batches": 0, "mean_foreign_cpu": None}
        seen, warm = set(), []
        for step in steps:  # the first batch meets a new shape too
            key = self.shapes[step["step"]]
            warm.append(key not in seen)
            seen.add(key)
        sizes = [self.sizes[s["step"]] for s in steps]
        steady = [(s, n) for s, n, w in zip(steps, sizes, warm, strict=True)
                  if not w]
        seconds = sum(s["seconds"] for s, _ in steady)
        loads = [s["foreign"] for s in steps if s["foreign"] is not None]
        return {
            "first_prediction_seconds": self.first - self.start,
            "examples_per_second": (sum(n for _, n in steady) / seconds
                                    if seconds else None),
            "seconds": seconds,
            "warmup_seconds": sum(s["seconds"] for s, w in zip(
                steps[1:], warm[1:], strict=True) if w),
            "batches": len(steps),
            "warmup_batches": sum(warm) - 1,
            "mean_foreign_cpu": sum(loads) / len(loads) if loads else None,
        }
