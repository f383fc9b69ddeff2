"""kft/model/freeze.py: the backbone, or its lower layers, frozen."""

import numpy as np
import pytest

from kft import KftError
from kft.model.freeze import freeze


@pytest.fixture
def classifier(tiny_bert):
    import keras_hub

    return keras_hub.models.TextClassifier.from_preset(tiny_bert,
                                                       num_classes=2)


def test_freeze_n_stops_the_lower_layers_only(classifier):
    weighted = [x for x in classifier.backbone.layers if x.weights]
    before = len(classifier.trainable_weights)
    names = freeze(classifier, "3")
    assert names == [x.name for x in weighted[:3]]
    assert all(not x.trainable for x in weighted[:3])
    assert all(x.trainable for x in weighted[3:])
    assert 0 < len(classifier.trainable_weights) < before


def test_freeze_backbone_trains_the_head_only(classifier):
    freeze(classifier, "backbone")
    inside = {id(v) for v in classifier.backbone.weights}
    left = classifier.trainable_weights
    assert left and not [v for v in left if id(v) in inside]
    assert freeze(classifier, "none") == [] and freeze(classifier, 0) == []


def test_frozen_weights_are_bit_identical_after_fit(tiny_bert, mrpc_dir,
                                                    tmp_path):
    import keras_hub

    import kft
    from recipes import mrpc

    start = keras_hub.models.TextClassifier.from_preset(
        tiny_bert, num_classes=2).backbone
    recipe = mrpc.recipe().replace(
        preset=tiny_bert, data_dir=mrpc_dir, limit=16, epochs=1,
        batch_size=8, learning_rate=1e-2, verbose=0, freeze=2,
        output_dir=str(tmp_path / "run"))
    trained = kft.train(recipe).model.backbone
    weighted = [x.name for x in start.layers if x.weights]
    for index, name in enumerate(weighted):
        old, new = start.get_layer(name), trained.get_layer(name)
        same = all(np.array_equal(a, b) for a, b in zip(
            old.get_weights(), new.get_weights(), strict=True))
        assert same == (index < 2), name


def test_freeze_needs_a_backbone():
    import keras

    with pytest.raises(KftError, match="freeze=2 needs a model with a"):
        freeze(keras.Sequential([keras.layers.Dense(2)]), 2)


def test_freeze_more_layers_than_there_are(classifier):
    with pytest.raises(KftError, match="has only \\d+ layers with weights"):
        freeze(classifier, 999)


@pytest.mark.parametrize("value", ["-1", "half", "0.5"])
def test_freeze_must_be_none_backbone_or_a_count(value):
    from recipes import mrpc

    with pytest.raises(KftError, match="freeze=.* use none, backbone, or"):
        mrpc.recipe().replace(freeze=value)


def test_unfreeze_at_thaws_with_optimizer_state_and_schedule(tiny_bert,
                                                             mrpc_dir):
    """freeze=backbone, unfreeze_at=1: epoch 1 trains the head only, epoch
    2 everything, with the first optimizer's state carried over."""
    import keras

    from kft.training.trainer import _unfreeze, prepare
    from recipes import mrpc

    recipe = mrpc.recipe().replace(
        preset=tiny_bert, data_dir=mrpc_dir, limit=16, epochs=2,
        batch_size=8, learning_rate=1e-2, verbose=0, freeze="backbone",
        unfreeze_at=1, length_buckets=0)
    splits, model, steps = prepare(recipe)
    backbone = model.backbone
    start = [v.numpy().copy() for v in backbone.weights]
    seen = {}

    def values(optimizer):
        return {v.path.split("/", 1)[-1]: np.array(v.numpy())
                for v in optimizer.variables}

    class Watch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen[f"begin{epoch}"] = (self.model.optimizer,
                                     values(self.model.optimizer))

        def on_epoch_end(self, epoch, logs=None):
            seen[f"end{epoch}"] = (
                [v.numpy().copy() for v in backbone.weights],
                self.model.optimizer, values(self.model.optimizer))

    model.fit(splits.train.dataset(8, shuffle=True), epochs=2,
              steps_per_epoch=steps, verbose=0,
              callbacks=[*_unfreeze(model, recipe.config, steps), Watch()])
    after_first, old, old_values = seen["end0"]
    assert all(np.array_equal(a, b) for a, b in zip(start, after_first,
                                                    strict=True))
    after_second = seen["end1"][0]
    assert not all(np.array_equal(a, b) for a, b in zip(
        after_first, after_second, strict=True))
    new, new_values = seen["begin1"]
    assert new is not old and len(new.variables) > len(old.variables)
    for role, value in old_values.items():  # every piece of state moved
        np.testing.assert_array_equal(new_values[role], value, err_msg=role)
    assert int(new_values["iteration"]) == steps
    assert int(seen["end1"][1].iterations.numpy()) == 2 * steps
    assert any(np.any(value) for role, value in old_values.items()
               if "logits_kernel" in role)  # real moments were carried


@pytest.mark.parametrize("overrides, words", [
    ({"unfreeze_at": 1}, "unless freeze="),
    ({"unfreeze_at": 3, "freeze": "backbone"}, "from 1 to epochs - 1"),
])
def test_unfreeze_at_needs_freeze_and_a_later_epoch(overrides, words):
    from recipes import mrpc

    with pytest.raises(KftError, match=words):
        mrpc.recipe().replace(**overrides)
