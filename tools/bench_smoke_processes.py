"""`kft run --smoke` step time on a machine with many processes, before and
after a change: the step clock's /proc scan grows with the process count.

    python tools/bench_smoke_processes.py --before /tmp/base --processes 1500

starts `sleep` processes until the machine has `--processes` of them,
then runs the same tiny-BERT MRPC smoke run (3 epochs of 8 steps, batch 8,
torch) with the kft of `--before` (a checkout of the older commit) and of
this checkout, interleaved for `--rounds` rounds, and reports metrics.json's
median step time. Writes tools/results/smoke_processes.{json,md}.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "tools", "results", "smoke_processes")


def processes():
    return sum(1 for name in os.listdir("/proc") if name.isdigit())


def smoke(root, preset, out):
    env = dict(os.environ, KERAS_BACKEND="torch", PYTHONPATH=root,
               TF_CPP_MIN_LOG_LEVEL="3")
    start = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "kft", "run", "recipes/mrpc.py", "--smoke",
         f"preset={preset}", f"data_dir={root}/tests/assets/pairs",
         "limit=64", "batch_size=8", "steps_per_epoch=8", "epochs=3",
         "verbose=0", f"output_dir={out}"], cwd=root, env=env,
        capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    with open(os.path.join(out, "metrics.json")) as f:
        timing = json.load(f)["timing"]
    return {k: timing.get(k) for k in ("median_step_seconds", "clean_steps",
                                       "timed_steps", "mean_foreign_cpu")} | {
        "wall_s": round(time.time() - start, 1)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", required=True,
                   help="a checkout of the older kft")
    p.add_argument("--processes", type=int, default=1500)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args(argv)
    folder = tempfile.mkdtemp()
    preset = os.path.join(folder, "tiny_bert")
    subprocess.run([sys.executable, "-c", "from kft.model.tiny import "
                    f"tiny_text_preset; tiny_text_preset({preset!r})"],
                   check=True, cwd=ROOT,
                   env=dict(os.environ, KERAS_BACKEND="torch"))
    sleepers, rows = [], []
    try:
        while processes() < args.processes:
            sleepers.append(subprocess.Popen(["sleep", "3600"]))
        for round_ in range(args.rounds):
            for code, root in (("before", args.before), ("after", ROOT)):
                out = os.path.join(folder, f"{code}{round_}")
                rows.append({"code": code, "round": round_,
                             "processes": processes(),
                             **smoke(root, preset, out)})
                print(json.dumps(rows[-1]), flush=True)
    finally:
        for sleeper in sleepers:
            sleeper.kill()
            sleeper.wait()
    command = "python tools/bench_smoke_processes.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    with open(RESULTS + ".json", "w") as f:
        json.dump({"command": command, "rows": rows}, f, indent=1)
    lines = [f"# kft run --smoke step time with {args.processes} processes",
             "", f"`{command}`", "",
             "| code | round | processes | median step ms | clean / timed "
             "steps | foreign load (cores) |", "|---|---|---|---|---|---|"]
    for r in rows:
        load = ("not sampled" if r["mean_foreign_cpu"] is None
                else f"{r['mean_foreign_cpu']:.2f}")
        lines.append(f"| {r['code']} | {r['round']} | {r['processes']} | "
                     f"{1000 * r['median_step_seconds']:.1f} | "
                     f"{r['clean_steps']} / {r['timed_steps']} | {load} |")
    with open(RESULTS + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
