"""kft/training/losses.py: label smoothing and balanced class weights."""

import numpy as np
import pytest

from kft import KftError
from kft.training.losses import (
    SmoothedSparseCrossentropy,
    class_weights,
    default_loss,
)


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def test_smoothed_loss_is_cross_entropy_against_smoothed_targets():
    logits = np.array([[0.5, 2.0, -1.0], [1.0, 0.0, 0.3]], "float32")
    labels = np.array([1, 2])
    e = 0.1
    targets = np.full((2, 3), e / 3)
    targets[np.arange(2), labels] += 1 - e
    expected = -(targets * _log_softmax(logits)).sum(axis=-1).mean()
    loss = SmoothedSparseCrossentropy(e)(labels, logits)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    restored = SmoothedSparseCrossentropy.from_config(
        SmoothedSparseCrossentropy(e).get_config())
    assert restored.label_smoothing == e


def test_no_smoothing_is_keras_sparse_cross_entropy():
    import keras

    assert isinstance(default_loss(0.0),
                      keras.losses.SparseCategoricalCrossentropy)
    assert isinstance(default_loss(0.2), SmoothedSparseCrossentropy)


def test_balanced_weights_equalise_the_classes():
    weights = class_weights(np.array([0, 0, 0, 1]), 2)
    assert weights == pytest.approx({0: 4 / 6, 1: 2.0})
    assert class_weights(np.array([0, 1]), 2, "none") is None
    with pytest.raises(KftError, match=r"class\(es\) 2 have no training"):
        class_weights(np.array([0, 1, 1]), 3)


def test_balanced_class_weight_weighs_the_training_loss(tiny_bert, mrpc_dir,
                                                        tmp_path):
    """One step at a negligible learning rate, without dropout: `fit`'s
    loss is the class-weighted mean of the examples' cross-entropies."""
    import kft
    from recipes import mrpc

    recipe = mrpc.recipe().replace(
        preset=tiny_bert, data_dir=mrpc_dir, limit=16, epochs=1,
        batch_size=16, learning_rate=1e-9, dropout=0.0, verbose=0,
        class_weight="balanced", output_dir=str(tmp_path / "run"))
    result = kft.train(recipe)
    train = kft.data.glue("mrpc", data_dir=mrpc_dir, limit=16).train
    logits = result.model.predict(train.x, verbose=0)
    losses = -_log_softmax(logits.astype("float64"))[np.arange(16), train.y]
    weights = class_weights(train.y, 2)
    assert weights[0] != pytest.approx(weights[1])  # MRPC is imbalanced
    weighted = np.mean([weights[y] for y in train.y] * losses)
    # The tiny model's logits are near 0, so the two means differ by only
    # 1e-5 to 1e-4 (it depends on the random init); float32 reproduces the
    # loss to about 1e-7. The check below tells them apart when they differ
    # by ten times its tolerance.
    tolerance = 2e-6
    assert abs(weighted - losses.mean()) > 10 * tolerance
    assert result.history["loss"][0] == pytest.approx(weighted,
                                                      abs=tolerance)
