"""kft/model/dropout.py: a task rebuilt with another dropout rate."""

import numpy as np
import pytest

from kft import KftError
from kft.model.dropout import set_dropout

PAIRS = (np.array(["a cat sat", "the dog ran far"]),
         np.array(["a cat sat down", "dogs run"]))


@pytest.fixture
def classifier(tiny_bert):
    import keras_hub

    return keras_hub.models.TextClassifier.from_preset(tiny_bert,
                                                       num_classes=2)


def _logits(model, training):
    from keras import ops

    features = model.preprocessor(x=PAIRS)
    return ops.convert_to_numpy(model(features, training=training))


def test_dropout_zero_makes_training_mode_deterministic(classifier):
    assert classifier.backbone.get_config()["dropout"] > 0
    first, second = (_logits(classifier, True) for _ in range(2))
    assert not np.allclose(first, second)  # the preset's dropout is on

    rebuilt = set_dropout(classifier, 0.0)
    assert rebuilt.backbone.get_config()["dropout"] == 0.0
    assert rebuilt.get_config()["dropout"] == 0.0
    np.testing.assert_array_equal(_logits(rebuilt, True),
                                  _logits(rebuilt, True))
    np.testing.assert_allclose(_logits(rebuilt, False),
                               _logits(classifier, False), atol=1e-6)


def test_dropout_keeps_weights_and_preprocessor(classifier):
    rebuilt = set_dropout(classifier, 0.3)
    assert rebuilt.preprocessor is classifier.preprocessor
    for old, new in zip(classifier.weights, rebuilt.weights, strict=True):
        np.testing.assert_array_equal(old.numpy(), new.numpy())
    assert set_dropout(classifier, None) is classifier


def test_image_classifier_gets_head_dropout(tiny_resnet):
    import keras_hub

    model = keras_hub.models.ImageClassifier.from_preset(tiny_resnet,
                                                         num_classes=2)
    rebuilt = set_dropout(model, 0.5)
    assert rebuilt.get_config()["dropout"] == 0.5
    assert "dropout" not in rebuilt.backbone.get_config()


def test_model_without_dropout_setting_is_refused():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(KftError, match=r"dropout=0.2: Sequential .*no "
                                       r"dropout setting"):
        set_dropout(model, 0.2)


@pytest.mark.parametrize("value", ["1.0", "-0.1"])
def test_dropout_must_be_a_rate(value):
    from recipes import mrpc

    with pytest.raises(KftError, match=r"dropout=.*in \[0, 1\), or none"):
        mrpc.recipe().replace(dropout=value)
