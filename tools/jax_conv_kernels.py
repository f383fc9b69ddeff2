"""Can kft rewrite XLA's CPU convolutions faster? Each convolution shape
of the hot-dog models, forward and both gradients, as XLA runs it and as
the rewrites kft could make in `jax.numpy`, against a plain matmul of
the same FLOPs, all in one process.

Variants, each `jax.jit(jax.grad(...))` of the sum of squared outputs
with respect to the inputs and the kernel (3 products: forward, input
gradient, kernel gradient), except `matmul`:

    xla        `lax.conv_general_dilated`, as Keras's JAX backend calls it
    dot        a 1x1 convolution as `einsum` (kft's `pointwise_conv`)
    patches    XLA's forward and input gradient; the kernel gradient as
               one matmul of the stacked shifted slices (im2col) with the
               output gradient, through `jax.custom_vjp`
    taps       the same, one matmul per kernel tap
    matmul     `(m, k) @ (k, n)` with m = batch x output pixels, k = taps
               x input channels, n = filters, forward and both gradients:
               the same FLOPs with no convolution at all

Each variant is timed `--repeats` times, interleaved; a repeat during
which other processes used the CPU (kft's step clock definition,
`kft.training.timing`) is left out, and the median of the clean ones
is reported.

    python tools/jax_conv_kernels.py

Writes tools/results/jax_conv_kernels.{json,md}.
"""

import argparse
import statistics
import sys
from pathlib import Path

from results_file import Record, number

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kft.training import timing  # noqa: E402

# (model, batch, height, width, in channels, filters, kernel, stride): the
# hot-dog recipe at 160 px, batch 64.
SHAPES = [
    ("resnet18 stem", 64, 160, 160, 3, 64, 7, 2),
    ("resnet18 stage 1", 64, 40, 40, 64, 64, 3, 1),
    ("resnet18 stage 2", 64, 20, 20, 128, 128, 3, 1),
    ("resnet18 stage 3", 64, 10, 10, 256, 256, 3, 1),
    ("resnet18 stage 4", 64, 5, 5, 512, 512, 3, 1),
    ("lite0 1x1 expand", 64, 40, 40, 24, 144, 1, 1),
    ("lite0 1x1 project", 64, 20, 20, 240, 40, 1, 1),
    ("lite0 1x1 head", 64, 5, 5, 320, 1280, 1, 1),
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--out", default=str(ROOT / "tools" / "results" /
                                        "jax_conv_kernels.json"))
    return p.parse_args(argv)


def variants(shape):
    """Name -> (jitted gradient function, its arguments) for one shape."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax import lax

    from kft.runtime import kernels

    _, b, h, w, c, f, k, s = shape
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(b, h, w, c)), "float32")
    kernel = jnp.asarray(rng.normal(size=(k, k, c, f)) * 0.01, "float32")

    def xla(x, kernel):
        return lax.conv_general_dilated(
            x, kernel, (s, s), "SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"))

    def by_patches(stack):
        @jax.custom_vjp
        def conv(x, kernel):
            return xla(x, kernel)

        def forward(x, kernel):
            return xla(x, kernel), (x, kernel)

        def backward(saved, grad):
            x, kernel = saved
            dx, = jax.vjp(lambda x: xla(x, kernel), x)[1](grad)
            padded, oh, ow = kernels._windows(x, (k, k), (s, s), "same", 0)
            taps = [kernels._tap(padded, i, j, oh, ow, (s, s))
                    for i in range(k) for j in range(k)]
            if stack:
                cols = jnp.concatenate(taps, axis=-1).reshape(-1, k * k * c)
                dk = cols.T @ grad.reshape(-1, f)
            else:
                dk = jnp.stack([lax.dot_general(
                    t, grad, (((0, 1, 2), (0, 1, 2)), ((), ())))
                    for t in taps])
            return dx, dk.reshape(k, k, c, f)

        conv.defvjp(forward, backward)
        return conv

    def grad(conv):
        return jax.jit(jax.grad(lambda x, w: jnp.sum(conv(x, w) ** 2),
                                (0, 1)))

    out = {"xla": (grad(xla), (x, kernel))}
    if k == 1:
        out["dot"] = (grad(lambda x, w: kernels.pointwise_conv(
            x, w, (s, s))), (x, kernel))
    else:
        out["patches"] = (grad(by_patches(True)), (x, kernel))
        out["taps"] = (grad(by_patches(False)), (x, kernel))
    m = b * -(-h // s) * -(-w // s)
    a = jnp.asarray(rng.normal(size=(m, k * k * c)), "float32")
    bm = jnp.asarray(rng.normal(size=(k * k * c, f)) * 0.01, "float32")
    out["matmul"] = (grad(lambda a, bm: a @ bm), (a, bm))
    reference = out["xla"][0](x, kernel)
    for name in ("dot", "patches", "taps"):
        if name in out:
            mine = out[name][0](*out[name][1])
            for got, want in zip(mine, reference, strict=True):
                scale = float(jnp.abs(want).max())
                np.testing.assert_allclose(got, want, rtol=2e-3,
                                           atol=2e-3 * scale)
    return out


def measure(shape, repeats):
    import jax

    found = variants(shape)
    for fn, arguments in found.values():
        jax.block_until_ready(fn(*arguments))
    seconds = {name: [] for name in found}
    loads = []
    for _ in range(repeats):
        for name, (fn, arguments) in found.items():
            before = timing.cpu_snapshot()
            jax.block_until_ready(fn(*arguments))
            after = timing.cpu_snapshot()
            load = timing.foreign_cores(before, after)
            loads.append(load)
            if load is not None and load < timing.CLEAN_FOREIGN_CORES:
                seconds[name].append(after[0] - before[0])
    _, b, h, w, c, f, k, s = shape
    flops = 3 * 2 * b * -(-h // s) * -(-w // s) * c * f * k * k
    row = {"shape": shape[0], "input": [b, h, w, c], "kernel": [k, k, c, f],
           "stride": s, "gflop": flops / 1e9,
           "max_foreign_cpu": max((v for v in loads if v is not None),
                                  default=None)}
    for name, times in seconds.items():
        best = statistics.median(times) if times else None
        row[name] = {"ms": best and best * 1e3, "clean": len(times),
                     "gflops": best and flops / best / 1e9}
    return row


def table(rows):
    names = ("xla", "dot", "patches", "taps", "matmul")
    lines = ["| shape | GFLOP | " + " | ".join(
        f"{n} ms (GFLOP/s)" for n in names) + " | foreign load |",
        "|---|---|" + "---|" * len(names) + "---|"]
    for r in rows:
        cells = [f"{number(r[n]['ms'], '.1f')} "
                 f"({number(r[n]['gflops'], '.0f')})" if n in r else "-"
                 for n in names]
        lines.append(f"| {r['shape']} | {r['gflop']:.2f} | "
                     + " | ".join(cells)
                     + f" | {number(r['max_foreign_cpu'], '.3f')} |")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    record = Record(argv)
    from kft.runtime import backend

    backend.select("jax")  # one glibc arena before JAX starts, as kft run
    rows = []
    for shape in SHAPES:
        rows.append(measure(shape, args.repeats))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    text = table(rows)
    print(text)
    record.save(args.out, "XLA's CPU convolutions against rewrites", text,
                rows=rows)


if __name__ == "__main__":
    main()
