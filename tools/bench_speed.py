"""Training speed on MRPC: each kft backend and the HF peer, interleaved.

    python tools/bench_mrpc.py --speed --rounds 3 --steps 36

Each round measures this machine's fp32 matmul peak (the fastest of
torch's, jax's and tensorflow's own 2048^2 matmul), then runs every kft
backend and the peer once, in turn, each in its own process (the machine
has 2 cores: one process at a time). Interleaving spreads slow phases of a
shared machine over all of them; each figure is the median over rounds.

- kft: `kft run recipes/mrpc.py` with `epochs=2 steps_per_epoch=STEPS`;
  the first epoch compiles each length bucket, the second is timed. STEPS
  must be large enough for the first epoch to meet every bucket the second
  uses (MRPC, seed 0, 4 buckets: 36), else a compile lands in the timed
  steps: the `slowest step / median` column shows it.
- peer: `tools/peer_hf_mrpc.py --max-steps STEPS+5`; its first 5 steps
  are left out (warm-up), so both time STEPS steps at most.
- controls for `keep_freed_memory` (`kft.runtime.allocator`): `torch-release`
  is kft on torch with `keep_freed_memory=false` (glibc's default), and
  `hf-torch-keep` is the peer with the same glibc settings given through
  `MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647`. Ratios are to
  the plain peer, `hf-torch`, as its users run it.
- controls for `precision=mixed_bfloat16` (`torch-bf16`, `jax-bf16`,
  `tensorflow-bf16`): the same kft run in bfloat16 compute, float32
  variables; their MFU is still against the fp32 peak.

Only clean steps count (foreign CPU load under 0.25 cores). MFU divides
the model FLOPs of the padded tokens actually computed (6 x the matmul
parameters per token, plus attention) by the in-run matmul peak.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kft.runtime import allocator  # noqa: E402

# The fp32 matmul of each engine, 2048 x 2048, best of 12: the machine's
# peak is the fastest engine's (on an AMD EPYC, torch's MKL sgemm reaches
# about half of what jax's and tensorflow's kernels reach).
PEAK = """
import os, sys, time
engine = sys.argv[1]
n = 2048
if engine == "torch":
    import torch
    a, b = torch.randn(n, n), torch.randn(n, n)
    run = lambda: (a @ b).sum().item()
elif engine == "jax":
    import jax, jax.numpy as jnp
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n))
    b = jax.random.normal(jax.random.PRNGKey(1), (n, n))
    mm = jax.jit(lambda a, b: a @ b)
    run = lambda: mm(a, b).block_until_ready()
else:
    import tensorflow as tf
    a, b = tf.random.normal((n, n)), tf.random.normal((n, n))
    run = lambda: tf.matmul(a, b).numpy()
run()
best = 0.0
for _ in range(12):
    start = time.perf_counter(); run()
    best = max(best, 2 * n ** 3 / (time.perf_counter() - start))
print("PEAK", best / 1e9, os.cpu_count())
"""
ENGINES = ("torch", "jax", "tensorflow")


def matmul_peak():
    """The fastest engine's best-of-12 fp32 GFLOP/s on a 2048^2 matmul,
    each engine's, and the CPU count."""
    each = {}
    for engine in ENGINES:
        out = subprocess.run([sys.executable, "-c", PEAK, engine],
                             capture_output=True, text=True, check=True,
                             env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
                             ).stdout
        gflops, threads = out.split("PEAK")[-1].split()
        each[engine] = float(gflops)
    return max(each.values()), int(threads), each


def flops_per_token(preset, length):
    """Training FLOPs per token of a BERT preset at a padded length."""
    config = json.loads((Path(preset) / "config.json").read_text())["config"]
    d, ff = config["hidden_dim"], config["intermediate_dim"]
    layers = config["num_layers"]
    matmuls = layers * (4 * d * d + 2 * d * ff)  # weights used per token
    attention = layers * 2 * length * d  # QK^T and AV, per token
    return 3 * 2 * (matmuls + attention)  # forward + backward = 3 forward


PEER = "hf-torch"
# name: (kft backend or None for the peer, extra overrides, extra env)
CONTROLS = {
    "torch-release": ("torch", ["keep_freed_memory=false"], {}),
    "hf-torch-keep": (None, [], {  # what kft.runtime.allocator.keep() sets
        "MALLOC_MMAP_MAX_": "0",
        "MALLOC_TRIM_THRESHOLD_": str(allocator.NEVER)}),
    **{f"{b}-bf16": (b, ["precision=mixed_bfloat16"], {})
       for b in ("torch", "jax", "tensorflow")},
}


def kft_speed(args, backend, folder, name=None, extra=()):
    out = Path(folder) / (name or backend)
    command = [sys.executable, "-m", "kft", "run", "recipes/mrpc.py",
               "--backend", backend, f"preset={args.preset}",
               f"data_dir={args.data_dir}", "epochs=2",
               f"steps_per_epoch={args.steps}",
               f"batch_size={args.batch_size}", f"output_dir={out}",
               "verbose=0", *extra]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True,
                   env=dict(os.environ, KFT_FOREIGN_LOAD="1"))
    metrics = json.loads((out / "metrics.json").read_text())
    return {"examples_per_second": metrics["timing"]["examples_per_second"],
            "clean_steps": metrics["timing"]["clean_steps"],
            "mean_foreign_cpu": metrics["timing"]["mean_foreign_cpu"],
            "median_step_seconds": metrics["timing"]["median_step_seconds"],
            "slowest_step_seconds": metrics["timing"][
                "slowest_step_seconds"],
            "mean_padded_length": metrics["mean_padded_length"]}


def peer_speed(args, folder, name=PEER, env=None):
    out = Path(folder) / f"{name}.json"
    command = [sys.executable, "tools/peer_hf_mrpc.py", "--data-dir",
               args.data_dir, "--epochs", "1", "--max-steps",
               str(args.steps + 5), "--batch-size", str(args.batch_size),
               "--output", str(out)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True,
                   env=dict(os.environ, KFT_FOREIGN_LOAD="1", **(env or {})))
    row = json.loads(out.read_text())
    return {k: row[k] for k in ("examples_per_second", "clean_steps",
                                "mean_foreign_cpu", "mean_padded_length")}


def measure(args):
    """Rows of the interleaved rounds, one per (round, backend)."""
    controls = (list(CONTROLS) if args.controls is None
                else [c for c in args.controls.split(",") if c])
    unknown = set(controls) - set(CONTROLS)
    if unknown:
        sys.exit(f"unknown controls {sorted(unknown)}; use {list(CONTROLS)}")
    names = [*args.backends.split(","), PEER, *controls]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_speed_") as folder:
        for round_ in range(args.rounds):
            peak, threads, engines = matmul_peak()
            for name in names:
                where = Path(folder) / str(round_)
                backend, extra, env = CONTROLS.get(
                    name, (None if name == PEER else name, [], {}))
                if backend is None:
                    row = peer_speed(args, where, name, env)
                else:
                    row = kft_speed(args, backend, where, name, extra)
                rows.append(dict(row, backend=name, round=round_,
                                 peak_gflops=peak, threads=threads,
                                 engine_peaks_gflops=engines))
                print(json.dumps(rows[-1]), flush=True)
    return rows


def summarize(args, rows):
    """Per backend: medians, ratio to the peer, MFU against the peak."""
    summary = []
    for name in dict.fromkeys(r["backend"] for r in rows):
        runs = [r for r in rows if r["backend"] == name]
        mine = [r for r in runs if r["examples_per_second"]]
        row = {"backend": name, "control": name in CONTROLS,
               "runs": len(mine),
               "clean_steps": [r["clean_steps"] for r in runs],
               "examples_per_second": None, "mfu": None}
        if mine:  # else every run was contaminated: no figure
            speed = statistics.median(r["examples_per_second"] for r in mine)
            length = statistics.median(r["mean_padded_length"] for r in mine)
            slowest = [r["slowest_step_seconds"] / r["median_step_seconds"]
                       for r in mine if r.get("median_step_seconds")]
            peak = statistics.median(r["peak_gflops"] for r in mine)
            achieved = speed * length * flops_per_token(args.preset, length)
            row.update(examples_per_second=speed, mean_padded_length=length,
                       model_gflops=achieved / 1e9, peak_gflops=peak,
                       mfu=achieved / 1e9 / peak,
                       slowest_to_median=max(slowest, default=None))
        summary.append(row)
    peer = next(s["examples_per_second"] for s in summary
                if s["backend"] == PEER)
    for s in summary:
        speed = s["examples_per_second"]
        s["ratio_to_peer"] = speed / peer if speed and peer else None
    return summary


def table(summary):
    lines = ["| backend | examples/s | vs peer | padded length | model "
             "GFLOP/s | MFU | slowest step / median | clean runs |",
             "|---|---|---|---|---|---|---|---|"]
    for s in summary:
        cells = [_num(s.get(k), spec) for k, spec in (
            ("examples_per_second", ".2f"), ("ratio_to_peer", ".2f"),
            ("mean_padded_length", ".1f"), ("model_gflops", ".1f"),
            ("mfu", ".0%"), ("slowest_to_median", ".1f"))]
        lines.append(f"| {s['backend']} | {' | '.join(cells)} | "
                     f"{s['runs']} |")
    return "\n".join(lines)


def _num(value, spec):
    return "n/a" if value is None else format(value, spec)
