"""Backend-independent initial weights for a task's new head.

Each backend draws random numbers its own way, so the same seed gives a
different new head on torch, jax and tensorflow. kft draws the head's
kernels with NumPy instead, from the distribution of the layer's own
initializer, so one recipe starts from the same weights on every backend.
"""

import math

import numpy as np

from kft.runtime import compat

_TRUNCATED_STDDEV = 0.87962566103423978  # std of a unit normal cut at 2


def portable_head(model, seed):
    """Re-draws every kernel outside `model.backbone` with NumPy.

    Args:
        model: keras.Model. A KerasHub task; without a `backbone`
            attribute nothing is changed.
        seed: int. Seeds the draw.

    Returns:
        The names of the kernels that were drawn again.
    """
    backbone = getattr(model, "backbone", None)
    if backbone is None:
        return []
    pretrained = {id(v) for v in backbone.weights}
    rng = np.random.default_rng(seed)
    drawn = []
    for layer in compat.all_layers(model):
        kernel = getattr(layer, "kernel", None)
        initializer = getattr(layer, "kernel_initializer", None)
        if kernel is None or initializer is None or id(kernel) in pretrained:
            continue
        value = sample(initializer, tuple(kernel.shape), rng)
        if value is not None:
            kernel.assign(value.astype(kernel.dtype))
            drawn.append(kernel.path)
    return drawn


def sample(initializer, shape, rng):
    """A NumPy draw from a Keras initializer's distribution, or None."""
    import keras

    config = initializer.get_config()
    if isinstance(initializer, keras.initializers.VarianceScaling):
        return _variance_scaling(initializer, shape, rng)
    if isinstance(initializer, keras.initializers.TruncatedNormal):
        return config["mean"] + config["stddev"] * _truncated(shape, rng)
    if isinstance(initializer, keras.initializers.RandomNormal):
        return rng.normal(config["mean"], config["stddev"], shape)
    if isinstance(initializer, keras.initializers.RandomUniform):
        return rng.uniform(config["minval"], config["maxval"], shape)
    return None


def _variance_scaling(initializer, shape, rng):
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    fan_in = shape[-2] * receptive if len(shape) > 1 else shape[0]
    fan_out = shape[-1] * receptive
    fan = {"fan_in": fan_in, "fan_out": fan_out,
           "fan_avg": (fan_in + fan_out) / 2}[initializer.mode]
    scale = initializer.scale / max(1.0, fan)
    if initializer.distribution == "uniform":
        limit = math.sqrt(3.0 * scale)
        return rng.uniform(-limit, limit, shape)
    if initializer.distribution == "untruncated_normal":
        return rng.normal(0.0, math.sqrt(scale), shape)
    return math.sqrt(scale) / _TRUNCATED_STDDEV * _truncated(shape, rng)


def _truncated(shape, rng):
    """Unit normal draws, each redrawn until it lies within 2 std."""
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2
    return values
