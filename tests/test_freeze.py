"""kft/freeze.py: the backbone's lower layers, frozen."""

import pytest

from kft import KftError
from kft.freeze import freeze


@pytest.fixture
def classifier(tiny_bert):
    import keras_hub

    return keras_hub.models.TextClassifier.from_preset(tiny_bert,
                                                       num_classes=2)


def test_freeze_half_stops_the_lower_layers_only(classifier):
    weighted = [x for x in classifier.backbone.layers if x.weights]
    before = len(classifier.trainable_weights)
    names = freeze(classifier, 0.5)
    assert names == [x.name for x in weighted[:round(len(weighted) / 2)]]
    assert all(not x.trainable for x in weighted[:len(names)])
    assert all(x.trainable for x in weighted[len(names):])
    assert "transformer_layer_1" not in names  # the top layer still learns
    assert 0 < len(classifier.trainable_weights) < before


def test_freeze_all_trains_the_head_only(classifier):
    freeze(classifier, 1.0)
    inside = {id(v) for v in classifier.backbone.weights}
    left = [v.path for v in classifier.trainable_weights]
    assert left and not [v for v in classifier.trainable_weights
                         if id(v) in inside]
    assert freeze(classifier, 0.0) == []


def test_freeze_needs_a_backbone():
    import keras

    with pytest.raises(KftError, match="freeze=0.5 needs a model with a"):
        freeze(keras.Sequential([keras.layers.Dense(2)]), 0.5)


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_freeze_must_be_a_fraction(value):
    from recipes import mrpc

    with pytest.raises(KftError, match="freeze=.* use a fraction in"):
        mrpc.recipe().replace(freeze=value)
