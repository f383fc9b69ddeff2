"""Setting a KerasHub task's dropout rate: `dropout=P`."""

from kft.errors import KftError


def set_dropout(model, rate):
    """Returns `model` rebuilt with dropout `rate` in its backbone and head.

    KerasHub fixes dropout when a layer is built, so the task is rebuilt
    from its own config with `dropout` replaced, through the public
    `get_config`/`from_config`, and given the original weights and
    preprocessor. The backbone's `dropout` covers its embeddings, attention
    and feed-forward dropout (BERT and its relatives); the task's covers the
    head (text and image classifiers). Either one is enough.

    Args:
        model: keras.Model. A KerasHub task.
        rate: float or None. The new rate; None keeps the preset's.

    Returns:
        The rebuilt model (or `model` itself when `rate` is None).

    Raises:
        KftError: when neither the task nor its backbone has a `dropout`
            setting.
    """
    if rate is None:
        return model
    config = model.get_config()
    backbone = getattr(model, "backbone", None)
    changed = []
    if backbone is not None:
        inner = backbone.get_config()
        if "dropout" in inner:
            inner["dropout"] = rate
            backbone = type(backbone).from_config(inner)
            changed.append(type(backbone).__name__)
        config["backbone"] = backbone
    if "dropout" in config:
        config["dropout"] = rate
        changed.append(type(model).__name__)
    if not changed:
        raise KftError(
            f"dropout={rate}: {type(model).__name__} (and its backbone) has "
            "no dropout setting; remove dropout= (or set dropout=none)")
    if "preprocessor" in config:
        config["preprocessor"] = model.preprocessor
    rebuilt = type(model).from_config(config)
    rebuilt.set_weights(model.get_weights())
    return rebuilt
