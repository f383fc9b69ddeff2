"""KerasHub classifier tasks from a preset, sized for the data's classes.

Recipes build their model here, so that every recipe on text (or images)
shares one way of loading a preset: `keras_hub.models.TextClassifier` /
`ImageClassifier.from_preset`, with the class count the data gives. Any
family with a KerasHub classifier works; kft tests BERT, DistilBERT,
RoBERTa, ALBERT and DeBERTaV3 for text, ResNet, EfficientNet and ViT for
images (`kft.model.tiny`). A preset of another kind is a `KftError`
that lists the families KerasHub has.
"""

import contextlib

from kft.errors import KftError


def text_classifier(preset, num_classes, sequence_length=None):
    """A KerasHub `TextClassifier` for `num_classes` classes.

    Args:
        preset: str. A KerasHub preset name or folder.
        num_classes: int. Classes of the task (from the training data).
        sequence_length: int or None. The preprocessor's padded length;
            None keeps the preset's.

    Returns:
        keras_hub.models.TextClassifier, with its preprocessor.

    Raises:
        KftError: when the preset's model has no KerasHub text classifier.

    Example:

    ```python
    model = kft.model.text_classifier("presets/minilm", 2, 128)
    ```
    """
    import keras_hub

    task = keras_hub.models.TextClassifier
    options = {} if sequence_length is None else {
        "sequence_length": sequence_length}
    with _supported(preset, task, "a text"):
        preprocessor = (
            keras_hub.models.TextClassifierPreprocessor.from_preset(
                preset, **options))
        return task.from_preset(preset, num_classes=num_classes,
                                preprocessor=preprocessor)


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

    Raises:
        KftError: when the preset's model has no KerasHub image
            classifier, or takes one fixed image size (ViT) and
            `image_size` is another.
    """
    import keras_hub

    with _supported(preset, keras_hub.models.ImageClassifier,
                    "an image"):
        task = keras_hub.models.ImageClassifier.from_preset(
            preset, num_classes=num_classes, load_weights=pretrained)
    fixed = tuple(task.backbone.input.shape[1:3])
    if None not in fixed and fixed != (image_size, image_size):
        raise KftError(
            f"preset={preset!r} ({type(task.backbone).__name__}) takes "
            f"{fixed[0]}x{fixed[1]} images only; set image_size="
            f"{fixed[0]}")
    # The converter resizes to its preset's size; crops arrive at ours.
    task.preprocessor.image_converter.image_size = (image_size,) * 2
    return task


@contextlib.contextmanager
def _supported(preset, task, kind):
    """Turns KerasHub's "no classifier for this backbone" into a
    `KftError` naming the families that have one."""
    try:
        yield
    except ValueError as error:
        if "subclass" not in str(error):
            raise
        families = sorted({c.__name__.replace(task.__name__, "")
                           for c in _subclasses(task)} - {""})
        raise KftError(
            f"preset={preset!r} cannot be {kind} classifier: KerasHub "
            f"has no {task.__name__} for it ("
            f"{str(error).splitlines()[0][:200]}); use a preset of a "
            f"family that has one: {', '.join(families)}") from None


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
