"""kft/runtime/compat.py: every private API use, and its public fallback.

Each test runs the tested (private) path and the fallback, forced by
`compat.force_public` or by a monkeypatched tested version, and checks
that they agree.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from support import ROOT

from kft.errors import EXIT_OK
from kft.runtime import compat


@pytest.fixture
def public():
    """Every compat use takes its public fallback for the test."""
    compat.force_public(True)
    yield
    compat.force_public(False)


def test_an_untested_version_takes_the_fallback(monkeypatch):
    assert compat.tested("keras")
    monkeypatch.setitem(compat.TESTED, "keras", ("2.",))
    assert not compat.tested("keras")
    monkeypatch.setenv("KFT_PUBLIC_API", "1")
    monkeypatch.setitem(compat.TESTED, "keras", ("3.15.",))
    assert not compat.tested("keras")


def _adam_steps(kind, steps=3):
    import keras

    keras.utils.set_random_seed(0)
    variable = keras.Variable(np.linspace(-1, 1, 12).reshape(3, 4),
                              dtype="float32")
    optimizer = kind(learning_rate=0.01, weight_decay=0.01)
    optimizer.build([variable])
    for step in range(steps):
        gradient = np.full((3, 4), 0.5 * (step + 1), "float32")
        optimizer.apply([keras.ops.convert_to_tensor(gradient)], [variable])
    return np.asarray(keras.ops.convert_to_numpy(variable.value))


def test_fused_adam_and_its_fallback_both_match_keras_adamw():
    import keras

    from kft.training.fused_adam import AdamW

    expected = _adam_steps(keras.optimizers.AdamW)
    fused = _adam_steps(AdamW)
    compat.force_public(True)
    try:
        assert compat.adam_slots(AdamW(), None) is None
        assert compat.torch_fused_adam() is None
        fallback = _adam_steps(AdamW)
    finally:
        compat.force_public(False)
    # The fused kernels round differently (as tests/training/
    # test_fused_adam.py states); Keras's own update, the fallback, is it.
    np.testing.assert_allclose(fused, expected, rtol=2e-6, atol=1e-7)
    np.testing.assert_array_equal(fallback, expected)


def _head_update(multiplier_kind):
    import keras

    from kft.config.recipe import TrainConfig
    from kft.training import optimizers

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(
        2, name="head")])
    before = [np.array(v.numpy()) for v in model.trainable_variables]
    cfg = TrainConfig(optimizer=multiplier_kind, learning_rate=0.1,
                      momentum=0.0, weight_decay=0.0,
                      head_learning_rate_multiplier=10.0)
    optimizer = optimizers.build(cfg, 0.1, model.trainable_variables[:1])
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=1, verbose=0,
              shuffle=False)
    return [np.array(v.numpy()) - b
            for v, b in zip(model.trainable_variables, before, strict=True)]


def test_head_multiplier_finds_its_variables_by_path_in_the_fallback(public):
    """SGD: the kernel (scaled) moves 10x as far as it would unscaled; the
    bias (not scaled) moves by the plain step; the private index and the
    path fallback agree."""
    fallback = _head_update("sgd")
    compat.force_public(False)
    private = _head_update("sgd")
    for a, b in zip(fallback, private, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    kernel, bias = fallback
    assert np.abs(kernel).max() > 0 and np.abs(bias).max() > 0


def test_the_head_is_found_and_drawn_alike_without_the_private_api(
        tiny_bert):
    """The fallback walks `.layers` (nested models too, not the sublayers
    of plain layers): enough for `kft.model.head`, its only user, whose
    new head layers sit at the task's top level."""
    import keras_hub

    from kft.model import head

    model = keras_hub.models.TextClassifier.from_preset(tiny_bert,
                                                        num_classes=3)
    private = head.portable_head(model, seed=3)
    weights = [w.copy() for w in model.get_weights()]
    compat.force_public(True)
    try:
        public = head.portable_head(model, seed=3)
        layers = compat.all_layers(model)
    finally:
        compat.force_public(False)
    assert public == private and private
    for mine, theirs in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert model.backbone in layers


def test_tokenized_inputs_fallback_trains_and_saves_the_preprocessor(
        tiny_bert, tmp_path, public):
    """The fallback sets `preprocessor=None` during `fit`; a model saved
    meanwhile (`kft.training.saving.save`) still has its preprocessor."""
    import keras
    import keras_hub

    from kft.data import buckets
    from kft.training import saving

    model = keras_hub.models.TextClassifier.from_preset(tiny_bert,
                                                        num_classes=2)
    model.compile(optimizer="sgd",
                  loss=keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True))
    texts = np.array(["the film was good", "a dull story"], dtype=object)
    features = buckets.tokenize(model.preprocessor, texts)
    with buckets.preprocessed(model):
        assert model.preprocessor is None
        model.fit(features, np.array([1, 0]), epochs=1, verbose=0)
        saving.save(model, str(tmp_path / "model.keras"))
    assert model.preprocessor is not None
    loaded = keras.saving.load_model(str(tmp_path / "model.keras"),
                                     compile=False)
    assert loaded.preprocessor is not None
    np.testing.assert_allclose(loaded.predict(texts, verbose=0),
                               model.predict(texts, verbose=0), atol=1e-5)


THREEFRY = """
import os, sys
from kft.runtime import compat
import jax
default = bool(jax.config.jax_threefry_partitionable)
assert compat.set_threefry_partitionable(not default) is (sys.argv[1] == "0")
print(bool(jax.config.jax_threefry_partitionable) != default)
"""


@pytest.mark.integration
@pytest.mark.parametrize("forced", ["0", "1"])
def test_threefry_flag_is_set_or_left_to_jax(forced):
    done = subprocess.run(
        [sys.executable, "-c", THREEFRY, forced], cwd=ROOT,
        env=dict(os.environ, KERAS_BACKEND="jax", KFT_PUBLIC_API=forced),
        capture_output=True, text=True, timeout=300)
    assert done.returncode == EXIT_OK, done.stderr[-2000:]
    assert done.stdout.split()[-1] == ("True" if forced == "0" else "False")


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
        return compat.shifted_depthwise(x, w, strides, padding)

    np.testing.assert_allclose(sliced(x, w), grouped(x, w), rtol=1e-5,
                               atol=1e-5)
    for mine, xla in zip(_gradients(sliced, x, w), _gradients(grouped, x, w),
                         strict=True):
        np.testing.assert_allclose(mine, xla, rtol=1e-4, atol=1e-4)


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
            return compat.pointwise_conv(x, w, strides)

        np.testing.assert_allclose(mine(x, w), xla(x, w), rtol=1e-5,
                                   atol=1e-5)
        for a, b in zip(_gradients(mine, x, w), _gradients(xla, x, w),
                        strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


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
        return compat.shifted_max_pool(x, pool, strides, padding)

    np.testing.assert_array_equal(mine(x), xla(x))
    grad = jax.grad(lambda x, f: jnp.sum(f(x) ** 2))
    np.testing.assert_allclose(grad(x, mine), grad(x, xla), rtol=1e-6)


def test_shifted_max_pool_shares_a_tied_maximums_gradient():
    import jax
    import jax.numpy as jnp

    x = jnp.asarray([1.0, 3.0, 3.0, 0.0]).reshape(1, 2, 2, 1)

    def xla(x):
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max,
                                     (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    def mine(x):
        return compat.shifted_max_pool(x, (2, 2), (2, 2), "valid")

    grad = jax.grad(lambda x, f: jnp.sum(f(x)))
    assert grad(x, xla).ravel().tolist() == [0.0, 1.0, 0.0, 0.0]
    assert grad(x, mine).ravel().tolist() == [0.0, 0.5, 0.5, 0.0]


@pytest.mark.parametrize("value,expected", [
    ("pointwise, max_pool", ("pointwise", "max_pool")),
    ("", ()),
])
def test_kft_jax_rewrites_picks_a_subset(monkeypatch, value, expected):
    monkeypatch.setenv("KFT_JAX_REWRITES", value)
    assert tuple(compat._chosen_rewrites()) == expected


def test_kft_jax_rewrites_rejects_an_unknown_name(monkeypatch):
    from kft.errors import KftError

    monkeypatch.setenv("KFT_JAX_REWRITES", "depthwise,pointwize")
    with pytest.raises(KftError, match="KFT_JAX_REWRITES: unknown rewrite "
                       "'pointwize'; use names from depthwise, pointwise, "
                       "max_pool"):
        with compat.jax_cpu_rewrites():
            pass


def _gradients(conv, x, w):
    import jax
    import jax.numpy as jnp

    return jax.grad(lambda x, w: jnp.sum(conv(x, w) ** 2), (0, 1))(x, w)


REWRITES = """
import keras
import numpy as np
from keras.src.backend import nn
from kft.runtime import compat
layers = [keras.layers.DepthwiseConv2D(3, strides=2, padding="same"),
          keras.layers.Conv2D(6, 1, strides=2),  # pointwise
          keras.layers.Conv2D(6, 3, padding="same"),  # not rewritten
          keras.layers.MaxPooling2D(3, strides=2, padding="same")]
model = keras.Sequential([keras.Input((9, 9, 4)), *layers])
x = np.random.default_rng(0).normal(size=(2, 9, 9, 4)).astype("float32")
names = ("depthwise_conv", "conv", "max_pool")


def taken():
    return "".join(str(int(getattr(getattr(nn, name), "_kft_rewrite",
                                   False))) for name in names)


before = keras.ops.convert_to_numpy(model(x))
with compat.jax_cpu_rewrites() as opened:
    during_taken = taken()
    during = keras.ops.convert_to_numpy(model(x))
    with compat.jax_cpu_rewrites() as again:  # opened again: no change
        pass
    still = taken()
np.testing.assert_allclose(during, before, rtol=1e-5, atol=1e-5)
print(",".join(opened), during_taken, still, taken(), len(again))
"""


@pytest.mark.integration
@pytest.mark.parametrize("backend,forced,chosen,expected", [
    ("jax", "0", None, "depthwise,pointwise,max_pool 111 111 000 0"),
    ("jax", "0", "pointwise", "pointwise 010 010 000 0"),
    ("jax", "1", None, " 000 000 000 0"),
    ("torch", "0", None, " 000 000 000 0"),
])
def test_jax_cpu_rewrites_only_on_jax_and_undone(backend, forced, chosen,
                                                 expected):
    env = dict(os.environ, KERAS_BACKEND=backend, KFT_PUBLIC_API=forced)
    env.pop("KFT_JAX_REWRITES", None)
    if chosen is not None:
        env["KFT_JAX_REWRITES"] = chosen
    done = subprocess.run(
        [sys.executable, "-c", REWRITES], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=300)
    assert done.returncode == EXIT_OK, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == expected


KEPT = """
import gc
from keras.src.backend.jax import nn
from kft.config import TrainConfig
from kft.runtime import setup
restore = setup.configure(TrainConfig(seed=0))
dropped = setup.configure(TrainConfig(seed=0))  # opened again: no change
del dropped
gc.collect()
kept = getattr(nn.depthwise_conv, "_kft_rewrite", False)
restore()
print(kept, getattr(nn.depthwise_conv, "_kft_rewrite", False))
setup.configure(TrainConfig(seed=0))  # `prepare`'s way: "for good"
gc.collect()
print(getattr(nn.depthwise_conv, "_kft_rewrite", False))
"""


@pytest.mark.integration
def test_configure_keeps_jax_rewrites_until_restored():
    # A configure whose restore function is dropped must not undo the
    # patch when the garbage collector closes the context manager.
    done = subprocess.run(
        [sys.executable, "-c", KEPT], cwd=ROOT,
        env=dict(os.environ, KERAS_BACKEND="jax", KFT_PUBLIC_API="0"),
        capture_output=True, text=True, timeout=300)
    assert done.returncode == EXIT_OK, done.stderr[-2000:]
    assert done.stdout.split("\n")[-3:-1] == ["True False", "True"]


ONEDNN = """
import keras
import numpy as np
import torch
from kft.runtime import compat

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
            keras.ops.matmul(x.double(), other[0].T.double())]  # float64
    loss = sum((t.double() ** 2).sum() for t in outs)
    weights = [w.value for layer in (dense, into_heads, from_heads)
               for w in layer.weights]
    grads = torch.autograd.grad(loss, [x, heads, *weights])
    return [t.detach().numpy() for t in [*outs, *grads]]


calls = []
product = compat._onednn_product
compat._onednn_product = lambda a, b: calls.append(1) or product(a, b)
before = run()
with compat.onednn_matmul() as on:
    from keras.src.backend.torch import numpy as module
    taken = getattr(module.matmul, "_kft_onednn", False)
    during = run()
after = getattr(module.matmul, "_kft_onednn", False)
for mine, torchs in zip(during, before, strict=True):
    np.testing.assert_allclose(mine, torchs, rtol=1e-5, atol=1e-5)
print(on, taken, after, len(calls))
"""


@pytest.mark.integration
@pytest.mark.parametrize("forced,expected", [
    ("0", "True True False 3"),  # the three layers; not the others
    ("1", "False False False 0"),
])
def test_onednn_matmul_equals_torch_and_is_undone(forced, expected):
    done = subprocess.run(
        [sys.executable, "-c", ONEDNN], cwd=ROOT,
        env=dict(os.environ, KERAS_BACKEND="torch", KFT_PUBLIC_API=forced),
        capture_output=True, text=True, timeout=300)
    assert done.returncode == EXIT_OK, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == expected


@pytest.mark.integration
def test_onednn_matmul_only_on_torch():
    code = ("from kft.runtime import compat\n"
            "with compat.onednn_matmul() as on:\n    print(on)\n")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT,
        env=dict(os.environ, KERAS_BACKEND="jax", KFT_PUBLIC_API="0"),
        capture_output=True, text=True, timeout=300)
    assert done.returncode == EXIT_OK, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "False"
