"""Tiny, randomly initialised presets for tests and `--smoke` runs.

They run the real recipe code in seconds: a 2-layer BERT with hidden size
16, saved as a KerasHub preset folder that `from_preset(path)` loads.
"""

import string

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (
    "the a an of to and in is was for on that with as by at from it he she "
    "they said says say not no but or be has have had are were will would "
    "its his her their this these those million billion percent company "
    "shares stock year years new after before up down more than one two "
    "good bad film movie story great best worst fun funny dull boring "
    "like love hate well very too much little"
).split()


def tiny_vocabulary():
    """Special tokens, common words, and every character as a wordpiece."""
    characters = string.ascii_lowercase + string.digits + string.punctuation
    pieces = list(characters) + ["##" + c for c in characters]
    words = sorted(set(WORDS) - set(pieces))
    return SPECIAL + words + pieces


def tiny_text_preset(path, num_layers=2, hidden_dim=16, seed=0):
    """Saves a tiny random BERT text-classifier preset in folder `path`.

    Args:
        path: str. The folder to write (created).
        num_layers: int. Transformer layers.
        hidden_dim: int. Hidden size; 2 attention heads.
        seed: int. Seeds the random initial weights.

    Returns:
        The folder, for `preset=`.
    """
    import keras
    import keras_hub

    keras.utils.set_random_seed(seed)
    tokenizer = keras_hub.models.BertTokenizer(
        vocabulary=tiny_vocabulary(), lowercase=True, strip_accents=True
    )
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=tokenizer.vocabulary_size(),
        num_layers=num_layers,
        num_heads=2,
        hidden_dim=hidden_dim,
        intermediate_dim=2 * hidden_dim,
        max_sequence_length=128,
    )
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        tokenizer, sequence_length=128
    )
    classifier = keras_hub.models.BertTextClassifier(
        backbone, num_classes=2, preprocessor=preprocessor
    )
    classifier.save_to_preset(path)
    return path


def tiny_image_preset(path, image_size=32, seed=0):
    """Saves a tiny random ResNet image-classifier preset in folder `path`.

    Two basic-block stages of 64 and 16 filters, with an image converter
    that normalises with ImageNet's mean and std, as `resnet_18_imagenet`.

    Args:
        path: str. The folder to write (created).
        image_size: int. The converter's output side.
        seed: int. Seeds the random initial weights.

    Returns:
        The folder, for `preset=`.
    """
    import keras
    import keras_hub

    keras.utils.set_random_seed(seed)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    converter = keras_hub.layers.ResNetImageConverter(
        image_size=(image_size, image_size),
        scale=[1 / (255.0 * s) for s in std],
        offset=[-m / s for m, s in zip(mean, std, strict=True)],
    )
    backbone = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[3],
        stackwise_num_filters=[64, 16],  # KerasHub requires 64 first
        stackwise_num_blocks=[1, 1],
        stackwise_num_strides=[1, 2],
        block_type="basic_block",
    )
    preprocessor = keras_hub.models.ResNetImageClassifierPreprocessor(
        image_converter=converter)
    classifier = keras_hub.models.ResNetImageClassifier(
        backbone, num_classes=2, preprocessor=preprocessor)
    classifier.save_to_preset(path)
    return path
