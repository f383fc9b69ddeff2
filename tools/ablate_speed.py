"""Where a training step's time goes: one variant at a time, every backend.

Times `model.fit` steps of all-MiniLM-L6-v2 on one fixed MRPC batch
(32 pairs cut to 64 tokens, about the bucketed mean) for each backend and
each variant that applies to it, each in its own process, interleaved over
rounds (median per variant), so that a slow phase of this shared machine
hits every variant alike. Steps during which other processes used the CPU
(foreign load >= 0.25 cores) are left out.

    python tools/ablate_speed.py --rounds 3
    python tools/ablate_speed.py --backends torch --variants default,jit

Variants (each changes one thing against `default`, kft's own path):
    default               what `kft run` does
    no_attention_dropout  attention-probability dropout off, so Keras takes
                          the fused `ops.dot_product_attention` path
    no_dropout            every dropout off (`dropout=0`): no RNG at all
    jit                   `jit_compile=True` (torch.compile on torch, XLA on
                          tensorflow; jax is always XLA-compiled)
    numpy_feed            batches from NumPy arrays instead of tf.data
    train_step_only       torch: the trainer's own step function called in a
                          loop, without `fit`'s callbacks and data iterator
    foreach_adamw         torch: Keras's own multi-tensor AdamW update
    jit_foreach_adamw     torch: `jit_compile=True` with Keras's own AdamW
                          (dynamo cannot compile kft's fused Adam step)
    keras_adam            tensorflow: Keras's own AdamW update ops
    xla_onednn            jax: XLA_FLAGS=--xla_cpu_use_onednn=true
    xla_xnnpack           jax: XLA_FLAGS=--xla_cpu_use_xnnpack=true
    xla_vector512         jax: XLA_FLAGS=--xla_cpu_prefer_vector_width=512
    xla_concurrency       jax: the concurrency-optimized XLA scheduler
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mrpc"
BACKENDS = ("torch", "jax", "tensorflow")
VARIANTS = {
    "default": BACKENDS,
    "no_attention_dropout": BACKENDS,
    "no_dropout": BACKENDS,
    "jit": ("torch", "tensorflow"),
    "numpy_feed": BACKENDS,
    "train_step_only": ("torch",),
    "foreach_adamw": ("torch",),
    "jit_foreach_adamw": ("torch",),
    "keras_adam": ("tensorflow",),
    "xla_onednn": ("jax",),
    "xla_xnnpack": ("jax",),
    "xla_vector512": ("jax",),
    "xla_concurrency": ("jax",),
}
ENVIRONMENT = {
    "xla_onednn": {"XLA_FLAGS": "--xla_cpu_use_onednn=true"},
    "xla_xnnpack": {"XLA_FLAGS": "--xla_cpu_use_xnnpack=true"},
    "xla_vector512": {"XLA_FLAGS": "--xla_cpu_prefer_vector_width=512"},
    "xla_concurrency": {"XLA_FLAGS":
                        "--xla_cpu_enable_concurrency_optimized_scheduler"
                        "=true"},
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default=str(ROOT / "presets" / "minilm"))
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=14)
    p.add_argument("--warmup", type=int, default=4)
    p.add_argument("--length", type=int, default=64)
    p.add_argument("--out", default=str(ROOT / "tools" / "results" /
                                        "ablate_speed.json"))
    p.add_argument("--worker", nargs=2, metavar=("BACKEND", "VARIANT"),
                   help=argparse.SUPPRESS)
    return p.parse_args(argv)


def worker(args, backend, variant):
    """Runs in a fresh process: times the steps, prints one JSON line."""
    os.environ["KERAS_BACKEND"] = backend
    sys.path.insert(0, str(ROOT))
    import keras
    import numpy as np

    from kft.data import buckets
    from kft.runtime import compat
    from kft.training.callbacks import StepTimer
    from kft.training.trainer import prepare
    from recipes import mrpc

    overrides = {"preset": args.preset, "data_dir": str(DATA), "limit": 64,
                 "verbose": 0, "length_buckets": 0}
    if variant == "no_dropout":
        overrides["dropout"] = 0.0
    splits, model, _ = prepare(mrpc.recipe().replace(**overrides))
    if variant in ("foreach_adamw", "keras_adam", "jit_foreach_adamw"):
        model.compile(optimizer=_keras_adamw(model.optimizer),
                      loss=model.loss, metrics=model.metrics[1:] or None)
    if variant == "no_attention_dropout":
        for layer in compat.all_layers(model.backbone):
            if isinstance(layer, keras.layers.MultiHeadAttention):
                layer._dropout = 0.0
    if variant in ("jit", "jit_foreach_adamw"):
        model.compile(optimizer=model.optimizer, loss=model.loss,
                      metrics=model.metrics[1:] or None, jit_compile=True)
    features = buckets.tokenize(model.preprocessor, splits.train.x)
    x = {k: v[:32, :args.length] for k, v in features.items()}
    y = splits.train.y[:32]
    # kft's one step clock, as in every kft run, with the foreign load
    timer = StepTimer(foreign=True)
    with compat.tokenized_inputs(model):
        if variant == "train_step_only":
            _torch_steps(model, x, y, args.steps, timer.clock)
        elif variant == "numpy_feed":
            xs = {k: np.repeat(v, args.steps, axis=0) for k, v in x.items()}
            model.fit(xs, np.tile(y, args.steps), batch_size=32, epochs=1,
                      shuffle=False, verbose=0, callbacks=[timer])
        else:
            import tensorflow as tf

            ds = tf.data.Dataset.from_tensors((x, y)).repeat(args.steps)
            model.fit(ds, epochs=1, verbose=0, callbacks=[timer])
    summary = timer.summary(32, skip_steps=args.warmup)
    print("RESULT", json.dumps({
        "backend": backend, "variant": variant,
        "seconds_per_step": summary["median_step_seconds"],
        "clean_steps": summary["clean_steps"],
        "timed_steps": summary["timed_steps"],
        "optimizer": type(model.optimizer).__module__}))


def _keras_adamw(fused):
    """A `keras.optimizers.AdamW` configured as kft's fused one."""
    import keras

    optimizer = keras.optimizers.AdamW.from_config(fused.get_config())
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def _torch_steps(model, x, y, steps, clock):
    """The torch trainer's step, called directly: fit's loop left out."""
    import torch

    model.make_train_function()
    batch = ({k: torch.as_tensor(v) for k, v in x.items()},
             torch.as_tensor(y))
    clock.epoch_begin(0)
    for step in range(steps):
        logs = model.train_function([batch])
        float(logs["loss"])
        clock.step_end(step)


def run_worker(args, backend, variant):
    command = [sys.executable, __file__, "--worker", backend, variant,
               "--preset", args.preset, "--steps", str(args.steps),
               "--warmup", str(args.warmup), "--length", str(args.length)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KFT_FOREIGN_LOAD="1",
               **ENVIRONMENT.get(variant, {}))
    done = subprocess.run(command, capture_output=True, text=True, env=env,
                          cwd=ROOT)
    line = [s for s in done.stdout.splitlines() if s.startswith("RESULT")]
    if done.returncode or not line:
        return {"backend": backend, "variant": variant, "error":
                done.stderr.strip().splitlines()[-1:]}
    return json.loads(line[-1][len("RESULT"):])


def summarize(rows):
    out = []
    for backend in dict.fromkeys(r["backend"] for r in rows):
        mine = [r for r in rows if r["backend"] == backend]
        base = _median(r for r in mine if r["variant"] == "default")
        for variant in dict.fromkeys(r["variant"] for r in mine):
            runs = [r for r in mine if r["variant"] == variant]
            seconds = _median(runs)
            out.append({"backend": backend, "variant": variant,
                        "seconds_per_step": seconds,
                        "vs_default": (seconds / base if seconds and base
                                       else None),
                        "clean_runs": sum(1 for r in runs
                                          if r.get("seconds_per_step")),
                        "errors": [r["error"] for r in runs
                                   if "error" in r]})
    return out


def _median(runs):
    values = [r["seconds_per_step"] for r in runs
              if r.get("seconds_per_step")]
    return statistics.median(values) if values else None


def table(summary):
    lines = ["| backend | variant | s/step | vs default | clean runs |",
             "|---|---|---|---|---|"]
    for s in summary:
        seconds, ratio = s["seconds_per_step"], s["vs_default"]
        lines.append(
            f"| {s['backend']} | {s['variant']} | "
            f"{'n/a' if seconds is None else format(seconds, '.3f')} | "
            f"{'n/a' if ratio is None else format(ratio, '.2f')} | "
            f"{s['clean_runs']} |")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker(args, *args.worker)
    plan = [(b, v) for v in args.variants.split(",")
            for b in args.backends.split(",") if b in VARIANTS[v]]
    rows = []
    for round_ in range(args.rounds):
        for backend, variant in plan:
            rows.append(dict(run_worker(args, backend, variant),
                             round=round_, time=time.time()))
            print(json.dumps(rows[-1]), flush=True)
    summary = summarize(rows)
    text = table(summary)
    print(text)
    from bench_mrpc import write

    args.out = args.out
    write(args, [dict(s, runs=[r for r in rows if r["backend"] ==
                               s["backend"] and r["variant"] == s["variant"]])
                 for s in summary], text, "Training step ablations, MRPC "
          f"MiniLM, batch 32 x {args.length} tokens")


if __name__ == "__main__":
    main()
