"""Freezing the lower layers of a task's backbone."""

from kft.errors import KftError


def freeze(model, fraction):
    """Freezes the first `fraction` of the backbone's layers with weights.

    Layers count in the backbone's own order (input side first): for BERT
    the embeddings, then each transformer layer; for ResNet each conv and
    batch-norm layer. A frozen batch-norm layer also stops updating its
    moving statistics (Keras runs it in inference mode). `fraction=1`
    trains the head only.

    Args:
        model: keras.Model. A KerasHub task with a `backbone`.
        fraction: float. In [0, 1].

    Returns:
        The names of the frozen layers.
    """
    if not fraction:
        return []
    backbone = getattr(model, "backbone", None)
    if backbone is None:
        raise KftError(f"freeze={fraction} needs a model with a backbone "
                       "(a KerasHub task); set freeze=0")
    layers = [layer for layer in backbone.layers if layer.weights]
    frozen = layers[:round(fraction * len(layers))]
    for layer in frozen:
        layer.trainable = False
    return [layer.name for layer in frozen]
