"""KerasHub classifier tasks from a preset, sized for the data's classes.

Recipes build their model here, so that every recipe on text (or images)
shares one way of loading a preset: `keras_hub.models.TextClassifier` /
`ImageClassifier.from_preset`, with the class count the data gives.
"""


def text_classifier(preset, num_classes, sequence_length=None):
    """A KerasHub `TextClassifier` for `num_classes` classes.

    Args:
        preset: str. A KerasHub preset name or folder.
        num_classes: int. Classes of the task (from the training data).
        sequence_length: int or None. The preprocessor's padded length;
            None keeps the preset's.

    Returns:
        keras_hub.models.TextClassifier, with its preprocessor.

    Example:

    ```python
    model = kft.model.text_classifier("presets/minilm", 2, 128)
    ```
    """
    import keras_hub

    options = {} if sequence_length is None else {
        "sequence_length": sequence_length}
    preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(
        preset, **options)
    return keras_hub.models.TextClassifier.from_preset(
        preset, num_classes=num_classes, preprocessor=preprocessor)


def image_classifier(preset, num_classes, image_size, pretrained=True):
    """A KerasHub `ImageClassifier` for `num_classes` classes, taking
    `image_size` square crops.

    Args:
        preset: str. A KerasHub preset name or folder.
        num_classes: int. Classes of the task (from the training data).
        image_size: int. The side of the crops the input pipeline makes;
            the preset's image converter is set to it.
        pretrained: bool. False: random initial backbone weights.

    Returns:
        keras_hub.models.ImageClassifier, with its preprocessor.
    """
    import keras_hub

    task = keras_hub.models.ImageClassifier.from_preset(
        preset, num_classes=num_classes, load_weights=pretrained)
    # The converter resizes to its preset's size; crops arrive at ours.
    task.preprocessor.image_converter.image_size = (image_size,) * 2
    return task
