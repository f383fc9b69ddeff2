"""kft/runtime/kernels.py: the faster ops it puts into Keras, their
results against XLA's and torch's own, and their gate (`kft.runtime.compat`).

The kernels' maths is tested on plain `jax.numpy` arrays (any pass); their
patching of Keras in the pass of the backend they patch, in-process, with
the version gate forced by `compat.force_public` or a monkeypatched
tested version.
"""

import gc
import importlib

import numpy as np
import pytest

from kft.runtime import compat, kernels

# The Keras backend ops each backend's kernels replace.
KERAS_OPS = {"jax": ("nn", ("depthwise_conv", "conv", "max_pool")),
             "torch": ("numpy", ("matmul", "einsum"))}


@pytest.fixture
def pristine(monkeypatch):
    """Keras's own ops and compat's tested paths during the test, even
    where an earlier test left kft's kernels in (`setup.configure` without
    its restore); what was there is put back after."""
    import keras

    monkeypatch.delenv("KFT_PUBLIC_API", raising=False)
    monkeypatch.delenv("KFT_JAX_REWRITES", raising=False)
    monkeypatch.setitem(compat._forced, "public", False)
    backend = keras.backend.backend()
    if backend in KERAS_OPS:
        name, attributes = KERAS_OPS[backend]
        module = importlib.import_module(f"keras.src.backend.{backend}.{name}")
        for attribute in attributes:
            op = getattr(module, attribute)
            while (getattr(op, "_kft_rewrite", False)
                   or getattr(op, "_kft_onednn", False)):
                op = op.__wrapped__
            monkeypatch.setattr(module, attribute, op)


@pytest.mark.backend_free
@pytest.mark.parametrize("shape,kernel,strides,padding", [
    ((2, 9, 7, 3), (3, 3, 3, 1), (1, 1), "same"),
    ((2, 9, 7, 3), (5, 5, 3, 1), (2, 2), "same"),
    ((1, 8, 8, 4), (3, 3, 4, 2), (2, 1), "valid"),
    ((1, 10, 6, 2), (5, 3, 2, 1), (1, 2), "valid"),
])
def test_shifted_depthwise_equals_xla_grouped_convolution(
        shape, kernel, strides, padding):
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=shape), "float32")
    w = jnp.asarray(rng.normal(size=kernel), "float32")

    def grouped(x, w):  # as Keras's JAX backend calls XLA
        rows, columns, channels, multiplier = w.shape
        return jax.lax.conv_general_dilated(
            x, jnp.reshape(w, (rows, columns, 1, channels * multiplier)),
            strides, padding.upper(), feature_group_count=channels,
            dimension_numbers=("NHWC", "HWIO", "NHWC"))

    def sliced(x, w):
        return kernels.shifted_depthwise(x, w, strides, padding)

    _assert_same(sliced, grouped, x, w)


@pytest.mark.backend_free
@pytest.mark.parametrize("shape,filters,strides", [
    ((2, 9, 7, 3), 5, (1, 1)),
    ((2, 9, 7, 3), 4, (2, 2)),
    ((1, 8, 5, 6), 2, (2, 1)),
])
def test_pointwise_conv_equals_xla_convolution(shape, filters, strides):
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=shape), "float32")
    w = jnp.asarray(rng.normal(size=(1, 1, shape[-1], filters)), "float32")

    for padding in ("SAME", "VALID"):
        def xla(x, w, padding=padding):
            return jax.lax.conv_general_dilated(
                x, w, strides, padding,
                dimension_numbers=("NHWC", "HWIO", "NHWC"))

        def mine(x, w):
            return kernels.pointwise_conv(x, w, strides)

        _assert_same(mine, xla, x, w)


@pytest.mark.backend_free
@pytest.mark.parametrize("shape,pool,strides,padding", [
    ((2, 9, 7, 3), (3, 3), (2, 2), "same"),
    ((2, 9, 7, 3), (2, 2), (2, 2), "valid"),
    ((1, 8, 8, 4), (3, 2), (1, 2), "same"),
    ((1, 10, 6, 2), (3, 3), (2, 1), "valid"),
])
def test_shifted_max_pool_equals_xla_reduce_window(shape, pool, strides,
                                                   padding):
    import jax
    import jax.numpy as jnp

    # Distinct values: no window holds its maximum twice, so the
    # gradients are the same too.
    values = np.random.default_rng(0).permutation(np.prod(shape))
    x = jnp.asarray(values.reshape(shape) / values.size, "float32")

    def xla(x):  # as Keras's JAX backend calls XLA
        return jax.lax.reduce_window(
            x, -jnp.inf, jax.lax.max, (1, *pool, 1), (1, *strides, 1),
            padding.upper())

    def mine(x):
        return kernels.shifted_max_pool(x, pool, strides, padding)

    np.testing.assert_array_equal(mine(x), xla(x))
    grad = jax.grad(lambda x, f: jnp.sum(f(x) ** 2))
    np.testing.assert_allclose(grad(x, mine), grad(x, xla), rtol=1e-6)


@pytest.mark.backend_free
def test_shifted_max_pool_shares_a_tied_maximums_gradient():
    import jax
    import jax.numpy as jnp

    x = jnp.asarray([1.0, 3.0, 3.0, 0.0]).reshape(1, 2, 2, 1)

    def xla(x):
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max,
                                     (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    def mine(x):
        return kernels.shifted_max_pool(x, (2, 2), (2, 2), "valid")

    grad = jax.grad(lambda x, f: jnp.sum(f(x)))
    assert grad(x, xla).ravel().tolist() == [0.0, 1.0, 0.0, 0.0]
    assert grad(x, mine).ravel().tolist() == [0.0, 0.5, 0.5, 0.0]


@pytest.mark.backend_free
@pytest.mark.parametrize("value,expected", [
    ("pointwise, max_pool", ("pointwise", "max_pool")),
    ("", ()),
])
def test_kft_jax_rewrites_picks_a_subset(monkeypatch, value, expected):
    monkeypatch.setenv("KFT_JAX_REWRITES", value)
    assert tuple(kernels._chosen_rewrites()) == expected


@pytest.mark.backend_free
def test_kft_jax_rewrites_rejects_an_unknown_name(monkeypatch):
    from kft.errors import KftError

    monkeypatch.setenv("KFT_JAX_REWRITES", "depthwise,pointwize")
    with pytest.raises(KftError, match="KFT_JAX_REWRITES: unknown rewrite "
                       "'pointwize'; use names from depthwise, pointwise, "
                       "max_pool"):
        with kernels.jax_cpu_rewrites():
            pass


def _assert_same(mine, xla, x, w):
    """`mine(x, w)` equals `xla(x, w)`, and so do both gradients."""
    np.testing.assert_allclose(mine(x, w), xla(x, w), rtol=1e-5, atol=1e-5)
    for a, b in zip(_gradients(mine, x, w), _gradients(xla, x, w),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def _gradients(conv, x, w):
    import jax
    import jax.numpy as jnp

    return jax.grad(lambda x, w: jnp.sum(conv(x, w) ** 2), (0, 1))(x, w)


def _taken(module, names):
    return "".join(str(int(getattr(getattr(module, name), "_kft_rewrite",
                                   False))) for name in names)


@pytest.mark.one_backend("jax")
@pytest.mark.parametrize("case,expected", [
    ("tested", ("depthwise,pointwise,max_pool", "111")),
    ("pointwise", ("pointwise", "010")),  # KFT_JAX_REWRITES=pointwise
    ("public", ("", "000")),  # KFT_PUBLIC_API=1
    ("untested jax", ("", "000")),
])
def test_jax_cpu_rewrites_replace_keras_ops_and_are_undone(
        pristine, monkeypatch, case, expected):
    import keras
    from keras.src.backend.jax import nn

    if case == "pointwise":
        monkeypatch.setenv("KFT_JAX_REWRITES", "pointwise")
    elif case == "public":
        monkeypatch.setenv("KFT_PUBLIC_API", "1")
    elif case == "untested jax":
        monkeypatch.setitem(compat.TESTED, "jax", ("0.0.",))
    layers = [keras.layers.DepthwiseConv2D(3, strides=2, padding="same"),
              keras.layers.Conv2D(6, 1, strides=2),  # pointwise
              keras.layers.Conv2D(6, 3, padding="same"),  # not rewritten
              keras.layers.MaxPooling2D(3, strides=2, padding="same")]
    model = keras.Sequential([keras.Input((9, 9, 4)), *layers])
    x = np.random.default_rng(0).normal(size=(2, 9, 9, 4)).astype("float32")
    names = KERAS_OPS["jax"][1]

    before = keras.ops.convert_to_numpy(model(x))
    with kernels.jax_cpu_rewrites() as opened:
        taken = _taken(nn, names)
        during = keras.ops.convert_to_numpy(model(x))
        with kernels.jax_cpu_rewrites() as again:  # opened again: no change
            pass
        still = _taken(nn, names)
    np.testing.assert_allclose(during, before, rtol=1e-5, atol=1e-5)
    assert (",".join(opened), taken) == expected
    assert still == taken and again == ()
    assert _taken(nn, names) == "000"


@pytest.mark.one_backend("torch")
def test_jax_cpu_rewrites_open_nothing_off_jax(pristine):
    with kernels.jax_cpu_rewrites() as opened:
        assert opened == ()


@pytest.mark.one_backend("jax")
def test_configure_keeps_jax_rewrites_until_restored(pristine, monkeypatch):
    """A configure whose restore function is dropped must not undo the
    patch when the garbage collector closes the context manager."""
    from keras.src.backend.jax import nn

    from kft.config import TrainConfig
    from kft.runtime import setup

    monkeypatch.setattr(setup, "_HELD", [])
    undo = setup._saved_state()

    def kept():
        return getattr(nn.depthwise_conv, "_kft_rewrite", False)

    try:
        restore = setup.configure(TrainConfig(seed=0))
        dropped = setup.configure(TrainConfig(seed=0))  # again: no change
        del dropped
        gc.collect()
        assert kept()
        restore()
        assert not kept()
        setup.configure(TrainConfig(seed=0))  # `prepare`'s way: "for good"
        gc.collect()
        assert kept()
    finally:
        for held in reversed(setup._HELD):
            held.close()
        undo()


def _onednn_model():
    """A function that runs three Keras layers (and two other ops) on
    fixed inputs, forward and backward: their outputs and gradients."""
    import keras
    import torch

    torch.manual_seed(0)
    dense = keras.layers.Dense(7)
    into_heads = keras.layers.EinsumDense(
        "abc,cde->abde", output_shape=(None, 3, 5), bias_axes="de")
    from_heads = keras.layers.EinsumDense(
        "abcd,cde->abe", output_shape=(None, 6), bias_axes="e")
    x = torch.randn(2, 4, 6, requires_grad=True)
    heads = torch.randn(2, 4, 3, 5, requires_grad=True)
    other = torch.randn(2, 4, 6)

    def run():
        outs = [dense(x), into_heads(x), from_heads(heads),
                keras.ops.einsum("abc,abd->acd", x, other),  # not a kernel
                keras.ops.matmul(x.double(), other[0].T.double())]  # f64
        loss = sum((t.double() ** 2).sum() for t in outs)
        weights = [w.value for layer in (dense, into_heads, from_heads)
                   for w in layer.weights]
        grads = torch.autograd.grad(loss, [x, heads, *weights])
        return [t.detach().numpy() for t in [*outs, *grads]]

    return run


@pytest.mark.one_backend("torch")
@pytest.mark.parametrize("public,expected", [
    (False, (True, True, False, 3)),  # the three layers; not the others
    (True, (False, False, False, 0)),
])
def test_onednn_matmul_equals_torch_and_is_undone(pristine, monkeypatch,
                                                  public, expected):
    from keras.src.backend.torch import numpy as module

    monkeypatch.setitem(compat._forced, "public", public)
    calls = []
    product = kernels._onednn_product
    monkeypatch.setattr(kernels, "_onednn_product",
                        lambda a, b: calls.append(1) or product(a, b))
    run = _onednn_model()
    before = run()
    with kernels.onednn_matmul() as on:
        taken = getattr(module.matmul, "_kft_onednn", False)
        during = run()
    after = getattr(module.matmul, "_kft_onednn", False)
    for mine, torchs in zip(during, before, strict=True):
        np.testing.assert_allclose(mine, torchs, rtol=1e-5, atol=1e-5)
    assert (on, taken, after, len(calls)) == expected


@pytest.mark.one_backend("jax")
def test_onednn_matmul_only_on_torch(pristine):
    with kernels.onednn_matmul() as on:
        assert on is False
