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
"""

import time

import numpy as np

from kft.data import buckets
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
        batch's outputs: loading, tokenizing, compiling), then
        `examples_per_second` and `seconds` over the batches after the
        first, `batches`, `bucketed` (bool) and `mean_foreign_cpu` (other
        processes' load meanwhile, `kft.training.timing`).
    """
    start = time.perf_counter() if start is None else start
    clock = _Clock(start)
    if bucketed and buckets.applies(model, split.x):
        features = buckets.tokenize(model.preprocessor, split.x)
        size = buckets.lengths(features)
        planned = buckets.plan(size, batch_size)  # sorted by length
        bounds = buckets.boundaries(size, batch_size, BUCKETS,
                                    model.preprocessor.sequence_length,
                                    batches=planned)
        dataset = buckets.dataset(features, split.y, batch_size, bounds)
        with buckets.preprocessed(model):
            sorted_outputs = _run(model, dataset, clock)
        outputs = np.empty_like(sorted_outputs)
        outputs[np.concatenate(planned)] = sorted_outputs
        bucketed = True
    else:
        outputs = _run(model, split.dataset(batch_size), clock)
        bucketed = False
    timed = clock.summary(len(split), batch_size)
    return outputs, dict(timed, bucketed=bucketed)


def _run(model, dataset, clock):
    import keras

    class Batches(keras.callbacks.Callback):
        def on_predict_begin(self, logs=None):
            clock.begin()

        def on_predict_batch_end(self, batch, logs=None):
            clock.batch_end(batch)

    outputs = model.predict(dataset, verbose=0, callbacks=[Batches()])
    return np.asarray(outputs, dtype="float32")


class _Clock:
    """Batch ends of one `predict`, with `timing`'s foreign-load record."""

    def __init__(self, start):
        self.start = start
        self.clock = timing.StepClock()
        self.first = None

    def begin(self):
        self.clock.epoch_begin(0)

    def batch_end(self, batch):
        self.clock.step_end(batch)
        if self.first is None:
            self.first = time.perf_counter()

    def summary(self, examples, batch_size):
        steps = self.clock.steps
        if not steps:
            return {"first_prediction_seconds": None,
                    "examples_per_second": None, "seconds": 0.0,
                    "batches": 0, "mean_foreign_cpu": None}
        later = steps[1:]
        seconds = sum(s["seconds"] for s in later)
        loads = [s["foreign"] for s in steps if s["foreign"] is not None]
        return {
            "first_prediction_seconds": self.first - self.start,
            # the first batch (and the examples it held) is start-up
            "examples_per_second": ((examples - min(batch_size, examples))
                                    / seconds if seconds else None),
            "seconds": seconds,
            "batches": len(steps),
            "mean_foreign_cpu": sum(loads) / len(loads) if loads else None,
        }

