"""kft/model/lora.py: KerasHub's LoRA through `lora_rank=`."""

import numpy as np
import pytest

from kft import KftError
from kft.model.lora import enable_lora


def test_only_lora_factors_query_value_biases_and_head_train(tiny_bert):
    import keras_hub

    model = keras_hub.models.TextClassifier.from_preset(tiny_bert,
                                                        num_classes=2)
    enable_lora(model, 4)
    # tiny BERT: 2 layers, hidden 16, 2 heads of 8. Keras's EinsumDense
    # LoRA factors the (16, 2, 8) kernel as A (16, 2, 4) x B (4, 8); per
    # layer, query and value each train A, B and their bias (2, 8), and the
    # head trains its dense layer (16 x 2 + 2).
    per_projection = 16 * 2 * 4 + 4 * 8 + 2 * 8
    expected = 2 * 2 * per_projection + (16 * 2 + 2)
    trainable = model.trainable_weights
    assert sum(int(np.prod(v.shape)) for v in trainable) == expected
    inside = {id(v) for v in model.backbone.weights}
    names = sorted({v.path.split("/")[-2:][0] + "/" + v.name
                    for v in trainable if id(v) in inside})
    assert names == ["query/bias", "query/lora_kernel_a",
                     "query/lora_kernel_b", "value/bias",
                     "value/lora_kernel_a", "value/lora_kernel_b"]


def test_lora_run_freezes_the_backbone_and_reloads(tiny_bert, mrpc_dir,
                                                   tmp_path):
    import keras_hub

    import kft
    from recipes import mrpc

    start = keras_hub.models.TextClassifier.from_preset(tiny_bert,
                                                        num_classes=2)
    recipe = mrpc.recipe().replace(
        preset=tiny_bert, data_dir=mrpc_dir, limit=16, epochs=1,
        batch_size=8, learning_rate=1e-2, verbose=0, lora_rank=2,
        output_dir=str(tmp_path / "run"))
    result = kft.train(recipe)
    embedding = "token_embedding"
    np.testing.assert_array_equal(
        start.backbone.get_layer(embedding).get_weights()[0],
        result.model.backbone.get_layer(embedding).get_weights()[0])
    pairs = kft.data.glue("mrpc", data_dir=mrpc_dir, limit=4).validation.x
    reloaded = kft.load_model(result.run_dir)
    np.testing.assert_allclose(reloaded.predict(pairs, verbose=0),
                               result.model.predict(pairs, verbose=0),
                               rtol=1e-5, atol=1e-5)


def test_backbone_without_attention_is_refused(tiny_resnet):
    import keras_hub

    model = keras_hub.models.ImageClassifier.from_preset(tiny_resnet,
                                                         num_classes=2)
    with pytest.raises(KftError, match=r"lora_rank=4: ResNetBackbone has "
                                       r"no LoRA target layers"):
        enable_lora(model, 4)


def test_lora_and_freeze_together_are_refused():
    from recipes import mrpc

    with pytest.raises(KftError, match=r"freeze=.*none with lora_rank"):
        mrpc.recipe().replace(lora_rank=4, freeze="backbone")
