"""Learning-rate schedules with linear warm-up, written in `keras.ops`."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kft")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to `learning_rate`, then linear decay to 0.

    This is the schedule of BERT fine-tuning and of Hugging Face's
    `get_linear_schedule_with_warmup`: at step `s` (counted from 0, the
    first update uses step 0) the rate is `lr * s / w` during warm-up and
    `lr * (total - s) / (total - w)` after it.

    Args:
        learning_rate: float. The peak rate, reached after warm-up.
        warmup_steps: int. Steps of linear warm-up.
        total_steps: int. Steps until the rate reaches zero.

    Example:

    ```python
    schedule = WarmupLinearDecay(2e-5, warmup_steps=10, total_steps=100)
    float(schedule(5))   # 1e-5
    float(schedule(55))  # 1e-5
    ```
    """

    def __init__(self, learning_rate, warmup_steps, total_steps):
        self.learning_rate = float(learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = float(max(self.warmup_steps, 1))
        decay = float(max(self.total_steps - self.warmup_steps, 1))
        rising = step / warmup
        falling = (self.total_steps - step) / decay
        fraction = ops.where(step < self.warmup_steps, rising, falling)
        return self.learning_rate * ops.clip(fraction, 0.0, 1.0)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
        }


def build(config, total_steps):
    """The learning rate `fit` uses: a schedule, or a float.

    Args:
        config: TrainConfig. Reads `schedule`, `learning_rate` and
            `warmup_fraction`.
        total_steps: int. Optimizer steps in the whole run.
    """
    warmup = int(round(config.warmup_fraction * total_steps))
    if config.schedule == "linear":
        return WarmupLinearDecay(config.learning_rate, warmup, total_steps)
    if config.schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0,
            decay_steps=max(total_steps - warmup, 1),
            warmup_target=config.learning_rate,
            warmup_steps=warmup,
        )
    return config.learning_rate  # constant, or plateau (a callback lowers it)
