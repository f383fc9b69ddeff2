"""Freezing a task's backbone, or its lower layers."""

from kft.config.recipe import freeze_count
from kft.errors import KftError


def freeze(model, spec):
    """Freezes the backbone (`"backbone"`) or its first N layers (`"N"`).

    Layers count in the backbone's own order, input side first, and only
    layers with weights count: for BERT the embeddings, then each
    transformer layer; for ResNet each conv and batch-norm layer. A frozen
    batch-norm layer also stops updating its moving statistics (Keras runs
    it in inference mode).

    Args:
        model: keras.Model. A KerasHub task with a `backbone`.
        spec: str or int. `"none"` (or 0), `"backbone"`, or a count N.

    Returns:
        The names of the frozen layers.
    """
    spec = str(spec).strip().lower()
    if spec in ("none", "0"):
        return []
    backbone = getattr(model, "backbone", None)
    if backbone is None:
        raise KftError(f"freeze={spec} needs a model with a backbone "
                       "(a KerasHub task); set freeze=none")
    layers = [layer for layer in backbone.layers if layer.weights]
    count = len(layers) if spec == "backbone" else freeze_count(spec)
    if count > len(layers):
        raise KftError(f"freeze={spec}: the backbone has only {len(layers)} "
                       "layers with weights; use a smaller N or "
                       "freeze=backbone")
    for layer in layers[:count]:
        layer.trainable = False
    return [layer.name for layer in layers[:count]]
