"""Tiny, randomly initialised image-classifier presets for tests.

One per KerasHub family kft tests (`IMAGE_FAMILIES`): a 2-stage ResNet, a
2-stage EfficientNet (Lite-style: ReLU6, no squeeze-and-excite) and a
2-layer ViT, each with an image converter that normalises as its ImageNet
presets do.
"""

IMAGE_FAMILIES = ("resnet", "efficientnet", "vit")
_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def tiny_image_preset(path, image_size=32, seed=0, family="resnet"):
    """Saves a tiny random image-classifier preset in folder `path`.

    Args:
        path: str. The folder to write (created).
        image_size: int. The converter's output side (and ViT's input,
            which is fixed).
        seed: int. Seeds the random initial weights.
        family: str. One of `IMAGE_FAMILIES`.

    Returns:
        The folder, for `preset=`.

    Example:

    ```python
    preset = tiny_image_preset("/tmp/tiny_vit", family="vit")
    kft.model.image_classifier(preset, num_classes=10, image_size=32)
    ```
    """
    import keras
    import keras_hub

    if family not in IMAGE_FAMILIES:
        raise ValueError(f"family {family!r} is not one of {IMAGE_FAMILIES}")
    keras.utils.set_random_seed(seed)
    models, layers = keras_hub.models, keras_hub.layers
    prefix = {"resnet": "ResNet", "efficientnet": "EfficientNet",
              "vit": "ViT"}[family]
    mean, std = _IMAGENET
    converter = getattr(layers, f"{prefix}ImageConverter")(
        image_size=(image_size, image_size),
        scale=[1 / (255.0 * s) for s in std],
        offset=[-m / s for m, s in zip(mean, std, strict=True)])
    backbone = _BACKBONES[family](models, image_size)
    preprocessor = getattr(models, f"{prefix}ImageClassifierPreprocessor")(
        image_converter=converter)
    classifier = getattr(models, f"{prefix}ImageClassifier")(
        backbone, num_classes=2, preprocessor=preprocessor)
    classifier.save_to_preset(path)
    return path


def _resnet(models, image_size):
    return models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[3],
        stackwise_num_filters=[64, 16],  # KerasHub requires 64 first
        stackwise_num_blocks=[1, 1],
        stackwise_num_strides=[1, 2],
        block_type="basic_block",
    )


def _efficientnet(models, image_size):
    stages = 2
    return models.EfficientNetBackbone(
        stackwise_width_coefficients=[1.0] * stages,
        stackwise_depth_coefficients=[1.0] * stages,
        stackwise_kernel_sizes=[3, 5],
        stackwise_num_repeats=[1, 2],
        stackwise_input_filters=[8, 8],
        stackwise_output_filters=[8, 16],
        stackwise_expansion_ratios=[1, 4],
        stackwise_squeeze_and_excite_ratios=[0.0] * stages,
        stackwise_strides=[1, 2],
        stackwise_block_types=["v1"] * stages,
        stackwise_force_input_filters=[0] * stages,
        stackwise_nores_option=[False] * stages,
        activation="relu6",
        dropout=0.0,
    )


def _vit(models, image_size):
    return models.ViTBackbone(
        image_shape=(image_size, image_size, 3), patch_size=8, num_layers=2,
        num_heads=2, hidden_dim=16, mlp_dim=32)


_BACKBONES = {"resnet": _resnet, "efficientnet": _efficientnet,
              "vit": _vit}
