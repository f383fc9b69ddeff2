"""kft/runtime/compat.py: every private API use, and its public fallback.

Each test runs the tested (private) path and the fallback, forced by
`compat.force_public` or by a monkeypatched tested version, in-process,
and checks that they agree. The kernels that patch Keras's ops through
compat are tested in test_kernels.py.
"""

import importlib

import numpy as np
import pytest

from kft.runtime import compat


@pytest.fixture
def public():
    """Every compat use takes its public fallback for the test."""
    compat.force_public(True)
    yield
    compat.force_public(False)


@pytest.mark.backend_free
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


@pytest.mark.one_backend("jax")
@pytest.mark.parametrize("public", [False, True])
def test_threefry_flag_is_set_or_left_to_jax(monkeypatch, public):
    import jax

    monkeypatch.delenv("KFT_PUBLIC_API", raising=False)
    monkeypatch.setitem(compat._forced, "public", public)
    default = bool(jax.config.jax_threefry_partitionable)
    try:
        assert compat.set_threefry_partitionable(not default) is not public
        changed = bool(jax.config.jax_threefry_partitionable) != default
        assert changed is not public
    finally:
        jax.config.update("jax_threefry_partitionable", default)


@pytest.mark.backend_free
@pytest.mark.parametrize("public", [False, True])
def test_kfts_metrics_are_maximized_by_auto_mode_callbacks(monkeypatch,
                                                           public):
    """Tested Keras: an `EarlyStopping(mode="auto")` on kft's F1 maximizes
    it, as on Keras's own metrics. The fallback leaves the metric
    unmarked, and Keras asks for `mode="max"`."""
    import keras

    from kft.training.metrics import BinaryF1
    from kft.training.multiclass import MacroF1

    monkeypatch.setitem(compat._forced, "public", public)
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    y = np.arange(8) % 2
    for metric in (BinaryF1(), MacroF1(2)):
        assert (getattr(metric, "_direction", None) == "up") is not public
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile(optimizer="sgd", metrics=[metric],
                      loss=keras.losses.SparseCategoricalCrossentropy(
                          from_logits=True))
        stop = keras.callbacks.EarlyStopping(monitor="f1", mode="auto")
        if public:
            with pytest.raises(ValueError, match="mode='max'"):
                model.fit(x, y, epochs=1, verbose=0, callbacks=[stop])
        else:
            model.fit(x, y, epochs=1, verbose=0, callbacks=[stop])
            assert stop.monitor_op is keras.ops.greater


def test_keras_backend_module_is_the_backends_private_module():
    import keras

    backend = keras.backend.backend()
    module = compat.keras_backend_module(backend, "numpy")
    if backend in compat.TESTED:
        assert module is importlib.import_module(
            f"keras.src.backend.{backend}.numpy")
    else:  # tensorflow: no kernel patches it, so no tested version
        assert module is None
    other = "jax" if backend != "jax" else "torch"
    assert compat.keras_backend_module(other, "numpy") is None
    compat.force_public(True)
    try:
        assert compat.keras_backend_module(backend, "numpy") is None
    finally:
        compat.force_public(False)


@pytest.mark.backend_free
def test_onednn_linear_is_torchs_op_or_none(monkeypatch):
    import torch

    linear = compat.onednn_linear()
    if torch.backends.mkldnn.is_available():
        a, b = torch.randn(3, 4), torch.randn(5, 4)
        torch.testing.assert_close(linear(a, b, None, "none", [], ""),
                                   a @ b.T, rtol=1e-5, atol=1e-5)
    monkeypatch.setitem(compat.TESTED, "torch", ("0.0.",))
    assert compat.onednn_linear() is None
