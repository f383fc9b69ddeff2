"""kft/freeze.py: the backbone, or its lower layers, frozen."""

import numpy as np
import pytest

from kft import KftError
from kft.freeze import freeze


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
