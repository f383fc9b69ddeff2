"""Adam and AdamW with Keras's exact update, run as one fused kernel.

Keras's Adam update is a handful of element-wise ops per variable, each a
full pass over memory with a temporary. On CPU that costs about as much as
the forward pass of a small model (profiled on MiniLM: the optimizer took
the largest share of torch's step). The arithmetic is the same as TensorFlow's
`ResourceApplyAdam` and torch's fused Adam kernel, so these subclasses run it
there:

    alpha = learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    m += (g - m) * (1 - beta_1);  v += (g^2 - v) * (1 - beta_2)
    variable -= alpha * m / (sqrt(v) + epsilon)

- torch: `torch._fused_adam_` (a private torch function, reached through
  `kft.runtime.compat`) with `alpha` as its learning rate and a step count
  so large that its own bias corrections are 1: exactly the formula above,
  with no host synchronisation.
- tensorflow: `tf.raw_ops.ResourceApplyAdam`, whose formula is the above.
- jax: Keras's own update; XLA already fuses it into the compiled step.

The moments are Keras's own slots (`_momentums`, `_velocities`, also
reached through `kft.runtime.compat`). Where compat finds either private
API missing, or an untested version, the update is Keras's own.

Decoupled weight decay stays Keras's own (`Optimizer.apply` applies it
before the update), so results match `keras.optimizers.AdamW` to float32
round-off on every backend (tested).
"""

import keras
from keras import ops

from kft.runtime import compat

_NO_BIAS_CORRECTION = 1e9  # beta ** step == 0: torch's corrections are 1


class FusedUpdate:
    """Mixin: `update_step` of a Keras Adam through the backend's kernel."""

    def update_step(self, gradient, variable, learning_rate):
        kernel = _KERNELS.get(keras.backend.backend())
        slots = None if kernel is None or self.amsgrad else (
            compat.adam_slots(self, variable))
        if slots is None or (kernel is _torch_kernel
                             and compat.torch_fused_adam() is None):
            return super().update_step(gradient, variable, learning_rate)
        step = ops.cast(self.iterations + 1, variable.dtype)
        alpha = ops.cast(learning_rate, variable.dtype) * ops.sqrt(
            1 - ops.power(ops.cast(self.beta_2, variable.dtype), step)
        ) / (1 - ops.power(ops.cast(self.beta_1, variable.dtype), step))
        kernel(self, gradient, variable, *slots, alpha)


def _torch_kernel(optimizer, gradient, variable, m, v, alpha):
    value = variable.value
    compat.torch_fused_adam()(
        [value], [gradient.to(value.dtype)], [m.value], [v.value], [],
        [_torch_steps(optimizer, value.device)], lr=alpha,
        beta1=optimizer.beta_1, beta2=optimizer.beta_2, weight_decay=0.0,
        eps=optimizer.epsilon, amsgrad=False, maximize=False)


def _torch_steps(optimizer, device):
    """The constant step tensor torch's kernel reads, one per device."""
    import torch

    cache = optimizer.__dict__.setdefault("_kft_steps", {})
    if device not in cache:
        cache[device] = torch.tensor(_NO_BIAS_CORRECTION,
                                     dtype=torch.float32, device=device)
    return cache[device]


def _tensorflow_kernel(optimizer, gradient, variable, m, v, alpha):
    import tensorflow as tf

    dtype = variable.dtype
    gradient = tf.cast(tf.convert_to_tensor(gradient), dtype)
    # `alpha` already holds the bias corrections: pass powers of 0.
    tf.raw_ops.ResourceApplyAdam(
        var=variable.handle, m=m.value.handle, v=v.value.handle,
        beta1_power=tf.zeros((), dtype), beta2_power=tf.zeros((), dtype),
        lr=alpha, beta1=tf.cast(optimizer.beta_1, dtype),
        beta2=tf.cast(optimizer.beta_2, dtype),
        epsilon=tf.cast(optimizer.epsilon, dtype), grad=gradient)


_KERNELS = {"torch": _torch_kernel, "tensorflow": _tensorflow_kernel}


@keras.saving.register_keras_serializable("kft")
class Adam(FusedUpdate, keras.optimizers.Adam):
    """`keras.optimizers.Adam` with the update in one fused kernel."""


@keras.saving.register_keras_serializable("kft")
class AdamW(FusedUpdate, keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` with the update in one fused kernel.

    Example:

    ```python
    optimizer = kft.training.fused_adam.AdamW(learning_rate=5e-5,
                                              weight_decay=0.01)
    model.compile(optimizer=optimizer, loss="mse")
    ```
    """
