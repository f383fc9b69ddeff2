"""Performance kernels that replace some of Keras's backend ops, globally,
while open: JAX's CPU convolutions and pooling (`jax_cpu_rewrites`) and
torch's float32 CPU matmuls (`onednn_matmul`).

They reach Keras's private backend modules, and torch's oneDNN op, only
through `kft.runtime.compat` (`keras_backend_module`, `onednn_linear`),
so the same version gate applies: on an untested Keras, JAX or torch, or
with `KFT_PUBLIC_API=1` (`compat.force_public`), nothing is replaced.
`KFT_JAX_REWRITES` picks which JAX rewrites open. `kft.runtime.setup`
opens both for a training run, `kft.training.inference` for predict and
eval. Every replacement keeps its original as `__wrapped__`.
"""

import contextlib
import math
import os

from kft.errors import KftError
from kft.runtime import compat

# The rewrites `jax_cpu_rewrites` opens, by the names `KFT_JAX_REWRITES`
# takes (a comma-separated subset; unset: all of them).
JAX_REWRITES = ("depthwise", "pointwise", "max_pool")


@contextlib.contextmanager
def jax_cpu_rewrites():
    """While open, three of Keras's JAX ops on JAX's CPU backend are
    written in the `jax.numpy` that XLA's CPU backend runs fastest:

    - `depthwise`: depthwise convolutions as shifted slices times the
      kernel's taps (`shifted_depthwise`), not XLA's grouped convolution;
    - `pointwise`: 1x1 convolutions as a matmul (`pointwise_conv`);
    - `max_pool`: max pooling as the maximum of shifted slices
      (`shifted_max_pool`), not `lax.reduce_window`.

    Each is measured alone in `tools/results/ablate_jax_images_*.md`, and
    against XLA's kernels in `tools/results/jax_conv_kernels.md`. The
    outputs and gradients are the same up to float rounding (tested),
    except that where a pooling window holds its maximum more than once,
    its gradient is shared between them (the same sum), where XLA gives it
    all to one. Only channels-last, undilated 2D calls with "valid" or
    "same" padding are rewritten; others, other backends, other platforms
    and untested Keras or JAX versions (`kft.runtime.compat`) keep
    Keras's own.
    `KFT_JAX_REWRITES` (names, comma-separated) picks a subset. Opening it
    again while open changes nothing.

    Yields:
        The names of the rewrites it opened.

    Raises:
        KftError: when `KFT_JAX_REWRITES` names an unknown rewrite.
    """
    chosen = _chosen_rewrites()
    module = compat.keras_backend_module("jax", "nn")
    if module is not None:
        import jax

        if jax.default_backend() != "cpu":
            module = None
    makers = {"depthwise": ("depthwise_conv", _depthwise_rewrite),
              "pointwise": ("conv", _pointwise_rewrite),
              "max_pool": ("max_pool", _max_pool_rewrite)}
    with contextlib.ExitStack() as stack:
        opened = tuple(
            name for name in JAX_REWRITES if name in chosen
            and stack.enter_context(_rewrite(module, *makers[name])))
        yield opened


def _chosen_rewrites():
    chosen = os.environ.get("KFT_JAX_REWRITES")
    if chosen is None:
        return JAX_REWRITES
    chosen = [name.strip() for name in chosen.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in JAX_REWRITES]
    if unknown:
        raise KftError(
            f"KFT_JAX_REWRITES: unknown rewrite {unknown[0]!r}; use names "
            f"from {', '.join(JAX_REWRITES)}, comma-separated (empty for "
            "none), or unset it for all")
    return chosen


@contextlib.contextmanager
def _rewrite(module, attribute, make):
    original = getattr(module, attribute, None)
    if original is None or getattr(original, "_kft_rewrite", False):
        yield False
        return
    replacement = make(original)
    replacement._kft_rewrite = True
    replacement.__wrapped__ = original
    setattr(module, attribute, replacement)
    try:
        yield True
    finally:
        setattr(module, attribute, original)


def _pair(value):
    return (tuple(value) if isinstance(value, (tuple, list))
            else (value, value))


def _plain_2d(inputs, data_format, padding, dilation_rate=1):
    import keras

    data_format = data_format or keras.config.image_data_format()
    return (getattr(inputs, "ndim", None) == 4
            and data_format == "channels_last"
            and _pair(dilation_rate) == (1, 1)
            and padding in ("valid", "same"))


def _depthwise_rewrite(original):
    def depthwise_conv(inputs, kernel, strides=1, padding="valid",
                       data_format=None, dilation_rate=1):
        if not _plain_2d(inputs, data_format, padding, dilation_rate):
            return original(inputs, kernel, strides, padding, data_format,
                            dilation_rate)
        return shifted_depthwise(inputs, kernel, _pair(strides), padding)

    return depthwise_conv


def _pointwise_rewrite(original):
    def conv(inputs, kernel, strides=1, padding="valid", data_format=None,
             dilation_rate=1):
        import jax.numpy as jnp

        kernel = jnp.asarray(kernel)
        if (not _plain_2d(inputs, data_format, padding, dilation_rate)
                or tuple(kernel.shape[:2]) != (1, 1)
                or kernel.shape[2] != inputs.shape[-1]):
            return original(inputs, kernel, strides, padding, data_format,
                            dilation_rate)
        return pointwise_conv(inputs, kernel, _pair(strides))

    return conv


def _max_pool_rewrite(original):
    def max_pool(inputs, pool_size, strides=None, padding="valid",
                 data_format=None):
        import jax.numpy as jnp

        inputs = jnp.asarray(inputs)
        if (not _plain_2d(inputs, data_format, padding)
                or not jnp.issubdtype(inputs.dtype, jnp.floating)):
            return original(inputs, pool_size, strides, padding,
                            data_format)
        pool_size = _pair(pool_size)
        strides = pool_size if strides is None else _pair(strides)
        return shifted_max_pool(inputs, pool_size, strides, padding)

    return max_pool


def _windows(inputs, window, strides, padding, fill):
    """The inputs (padded with `fill` as XLA pads for "same") and the
    output's height and width, for a window sliding at `strides`."""
    import jax.numpy as jnp

    (rows, columns), (sh, sw) = window, strides
    _, height, width, _ = inputs.shape
    if padding == "same":
        oh, ow = -(-height // sh), -(-width // sw)
        ph = max((oh - 1) * sh + rows - height, 0)
        pw = max((ow - 1) * sw + columns - width, 0)
        inputs = jnp.pad(inputs, ((0, 0), (ph // 2, ph - ph // 2),
                                  (pw // 2, pw - pw // 2), (0, 0)),
                         constant_values=fill)
    else:
        oh, ow = (height - rows) // sh + 1, (width - columns) // sw + 1
    return inputs, oh, ow


def _tap(inputs, i, j, oh, ow, strides):
    from jax import lax

    (sh, sw), (batch, _, _, channels) = strides, inputs.shape
    return lax.slice(inputs, (0, i, j, 0),
                     (batch, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1,
                      channels), (1, sh, sw, 1))


def pointwise_conv(inputs, kernel, strides):
    """A 2D 1x1 convolution, channels last, as a matmul of the (strided)
    inputs with the kernel. "valid" and "same" padding are the same here.

    Args:
        inputs: array `(batch, height, width, channels)`.
        kernel: array `(1, 1, channels, filters)`.
        strides: tuple of 2 ints.

    Returns:
        Array `(batch, out_height, out_width, filters)`.
    """
    import jax.numpy as jnp

    inputs = jnp.asarray(inputs, kernel.dtype)
    sh, sw = strides
    if (sh, sw) != (1, 1):
        inputs = inputs[:, ::sh, ::sw, :]
    return jnp.einsum("bhwc,cd->bhwd", inputs, kernel[0, 0])


def shifted_max_pool(inputs, pool_size, strides, padding):
    """2D max pooling, channels last, in `jax.numpy`: the maximum over the
    window's positions of a strided slice of the (padded) inputs.

    Args:
        inputs: floating array `(batch, height, width, channels)`.
        pool_size: tuple of 2 ints.
        strides: tuple of 2 ints.
        padding: "valid", or "same" (XLA's, padded with -inf).

    Returns:
        Array `(batch, out_height, out_width, channels)`.
    """
    import jax.numpy as jnp

    padded, oh, ow = _windows(inputs, pool_size, strides, padding,
                              -jnp.inf)
    out = None
    for i in range(pool_size[0]):
        for j in range(pool_size[1]):
            tap = _tap(padded, i, j, oh, ow, strides)
            out = tap if out is None else jnp.maximum(out, tap)
    return out


def shifted_depthwise(inputs, kernel, strides, padding):
    """A 2D depthwise convolution, channels last, in `jax.numpy`: the sum
    over the kernel's taps of a strided slice of the (padded) inputs times
    that tap.

    Args:
        inputs: array `(batch, height, width, channels)`.
        kernel: array `(rows, columns, channels, multiplier)`, as Keras's
            `DepthwiseConv2D` holds it.
        strides: tuple of 2 ints.
        padding: "valid", or "same" (XLA's: an odd extra row or column
            goes after).

    Returns:
        Array `(batch, out_height, out_width, channels * multiplier)`,
        output channel `c * multiplier + m` from input channel `c`.
    """
    import jax.numpy as jnp

    rows, columns, channels, multiplier = kernel.shape
    inputs, oh, ow = _windows(inputs, (rows, columns), strides, padding, 0)
    if multiplier > 1:
        inputs = jnp.repeat(inputs, multiplier, axis=-1)
    taps = jnp.reshape(kernel, (rows, columns, channels * multiplier))
    out = None
    for i in range(rows):
        for j in range(columns):
            window = _tap(inputs, i, j, oh, ow, strides)
            term = window * taps[i, j].astype(window.dtype)
            out = term if out is None else out + term
    return out.astype(inputs.dtype)


@contextlib.contextmanager
def onednn_matmul():
    """While open, Keras's float32 matmuls on torch's CPU backend (`Dense`,
    and `EinsumDense` contractions that are a matmul) run through oneDNN
    (`torch.ops.mkldnn._linear_pointwise`), forward and backward, not
    through torch's `matmul`, which calls MKL's sgemm.

    On this project's AMD EPYC CPU, MKL's sgemm reaches 196-212 GFLOP/s
    and oneDNN's 456-464 (a 2048 x 2048 matmul); a layer's forward and
    backward at MiniLM's shapes go from 179-194 to 349-382 GFLOP/s
    (`tools/results/speed_mrpc.md`). The results are the same up to float
    rounding (tested). Other dtypes, devices, other einsum equations,
    other backends and untested Keras or torch versions
    (`kft.runtime.compat`) keep Keras's own.
    Opening it again while open changes nothing.
    """
    module = compat.keras_backend_module("torch", "numpy")
    if module is not None and compat.onednn_linear() is None:
        module = None
    original = getattr(module, "matmul", None)
    if original is None or getattr(original, "_kft_onednn", False):
        yield False
        return
    original_einsum = module.einsum

    def matmul(x1, x2):
        x1, x2 = module.convert_to_tensor(x1), module.convert_to_tensor(x2)
        if _onednn_fits(x1, x2) and x2.ndim == 2:
            return _onednn_product(x1, x2)
        return original(x1, x2)

    def einsum(subscripts, *operands, **kwargs):
        operands = [module.convert_to_tensor(x) for x in operands]
        shapes = None if kwargs else _dense_einsum(subscripts, operands)
        if shapes is None:
            return original_einsum(subscripts, *operands, **kwargs)
        x, kernel = operands
        rows, inner, columns, out = shapes
        product = _onednn_product(x.reshape(rows, inner),
                                  kernel.reshape(inner, columns))
        return product.reshape(out)

    matmul._kft_onednn = einsum._kft_onednn = True
    matmul.__wrapped__, einsum.__wrapped__ = original, original_einsum
    module.matmul, module.einsum = matmul, einsum
    try:
        yield True
    finally:
        module.matmul, module.einsum = original, original_einsum


def _onednn_fits(x1, x2):
    import torch

    return (isinstance(x1, torch.Tensor) and isinstance(x2, torch.Tensor)
            and x1.dtype == x2.dtype == torch.float32
            and x1.device.type == x2.device.type == "cpu"
            and x1.ndim >= 1 and x2.ndim >= 1 and x1.numel() > 0
            and x2.numel() > 0)


def _dense_einsum(subscripts, operands):
    """`(rows, inner, columns, out_shape)` when `subscripts` contracts the
    trailing axes of operand 0 with the leading axes of operand 1 and
    keeps the rest in order (`abc,cde->abde`, as `EinsumDense`), else
    None."""
    if len(operands) != 2 or "->" not in subscripts or "." in subscripts:
        return None
    inputs, out = subscripts.replace(" ", "").split("->")
    if inputs.count(",") != 1:
        return None
    left, right = inputs.split(",")
    x, kernel = operands
    shared = [c for c in left if c in right]
    k = len(shared)
    if (not _onednn_fits(x, kernel)
            or k == 0 or left[len(left) - k:] != right[:k]
            or any(c in out for c in shared)
            or out != left[:len(left) - k] + right[k:]
            or len(set(left + right)) != len(left) + len(right) - k
            or x.ndim != len(left) or kernel.ndim != len(right)
            or list(x.shape[len(left) - k:]) != list(kernel.shape[:k])):
        return None
    kept = x.shape[:len(left) - k]
    return (math.prod(kept), math.prod(kernel.shape[:k]),
            math.prod(kernel.shape[k:]), (*kept, *kernel.shape[k:]))


def _onednn_product(x, kernel):
    """`x @ kernel` (`kernel` 2D) through oneDNN, with its gradients."""
    shape = x.shape
    flat = x.reshape(-1, shape[-1])
    return _OneDnnMatmul.get().apply(flat, kernel).reshape(
        *shape[:-1], kernel.shape[1])


class _OneDnnMatmul:
    """Builds (once) the `torch.autograd.Function` for `_onednn_product`:
    `a @ b.T` is oneDNN's `_linear_pointwise(a, b)`, so the forward is
    `linear(x, kernel.T)`, the input's gradient `linear(g, kernel)` and
    the kernel's `linear(x.T, g.T)`."""

    _function = None

    @classmethod
    def get(cls):
        if cls._function is None:
            import torch

            linear = compat.onednn_linear()

            def product(a, b):  # a @ b.T
                return linear(a, b, None, "none", [], "")

            class Function(torch.autograd.Function):
                @staticmethod
                def forward(ctx, x, kernel):
                    ctx.save_for_backward(x, kernel)
                    return product(x, kernel.t())

                @staticmethod
                def backward(ctx, grad):
                    x, kernel = ctx.saved_tensors
                    grad = grad.contiguous()
                    return (product(grad, kernel)
                            if ctx.needs_input_grad[0] else None,
                            product(x.t(), grad.t())
                            if ctx.needs_input_grad[1] else None)

            cls._function = Function
        return cls._function
