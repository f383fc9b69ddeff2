"""The optimizer of a run, with an optional learning-rate multiplier for
the new head (as the d2l fine-tuning tutorial's 10x head learning rate).

Keras optimizers take one learning rate. A head multiplier needs a
per-variable rate, so `build` then returns a subclass whose `update_step`
scales the rate for the head's variables. `update_step` is part of every
Keras optimizer's public API and gets the rate as an argument, on every
backend (torch's fused multi-tensor versions are used only by the exact
built-in classes, so a subclass takes the per-variable path).
"""

import keras

from kft.runtime import compat, distribute
from kft.training import fused_adam

KINDS = {
    "sgd": keras.optimizers.SGD,
    # Keras's Adam update, in one fused kernel on torch and tensorflow.
    "adam": fused_adam.Adam,
    "adamw": fused_adam.AdamW,
}


def build(cfg, learning_rate, head_variables=()):
    """The optimizer `cfg` asks for.

    Args:
        cfg: TrainConfig. Reads `optimizer`, `momentum`, `weight_decay`,
            `clipnorm`, `gradient_accumulation_steps` and
            `head_learning_rate_multiplier`.
        learning_rate: float or `LearningRateSchedule`.
        head_variables: the variables that get
            `head_learning_rate_multiplier` times the rate (the task's new
            layers outside its backbone).

    Returns:
        A `keras.optimizers.Optimizer`.
    """
    options = {"learning_rate": learning_rate, "clipnorm": cfg.clipnorm,
               "gradient_accumulation_steps":
                   cfg.gradient_accumulation_steps}
    if cfg.optimizer == "sgd":
        options.update(momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "adam":
        options.update(epsilon=1e-8)
    else:
        options.update(epsilon=1e-8, weight_decay=cfg.weight_decay)
    kind = distribute.optimizer_class(KINDS[cfg.optimizer])
    multiplier = cfg.head_learning_rate_multiplier
    if multiplier != 1.0 and head_variables:
        optimizer = _with_multiplier(kind)(
            multiplier=multiplier,
            scaled=[v.path for v in head_variables], **options)
    else:
        optimizer = kind(**options)
    if cfg.optimizer != "adam":
        # As in BERT and Hugging Face: no decay of biases and norm scales.
        optimizer.exclude_from_weight_decay(
            var_names=["bias", "gamma", "beta"])
    return optimizer


_CLASSES = {}


def _with_multiplier(kind):
    """`kind` (an optimizer class) whose rate is scaled for some variables."""
    if kind in _CLASSES:
        return _CLASSES[kind]

    class Scaled(kind):
        def __init__(self, multiplier=1.0, scaled=(), **kwargs):
            super().__init__(**kwargs)
            self.multiplier = float(multiplier)
            self.scaled = list(scaled)
            self._scaled = set(self.scaled)

        def build(self, variables):
            super().build(variables)
            compat.remember_paths(self, variables)
            self._scaled_indices = {
                i for i, v in enumerate(variables) if v.path in self._scaled}

        def update_step(self, gradient, variable, learning_rate):
            # By index: TensorFlow passes the raw tf.Variable, without path.
            index = compat.variable_index(self, variable)
            if index in self._scaled_indices:
                learning_rate = learning_rate * self.multiplier
            return super().update_step(gradient, variable, learning_rate)

        def get_config(self):
            return dict(super().get_config(), multiplier=self.multiplier,
                        scaled=self.scaled)

    Scaled.__name__ = Scaled.__qualname__ = f"{kind.__name__}HeadMultiplier"
    _CLASSES[kind] = keras.saving.register_keras_serializable("kft")(Scaled)
    return _CLASSES[kind]


def head_variables(model):
    """Trainable variables of `model` outside `model.backbone`."""
    backbone = getattr(model, "backbone", None)
    if backbone is None:
        return []
    inside = {id(v) for v in backbone.weights}
    return [v for v in model.trainable_variables if id(v) not in inside]
