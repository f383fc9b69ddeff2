"""What kft's step clock costs a training step, before and after
foreign-load sampling became opt-in (`KFT_FOREIGN_LOAD=1`).

    python tools/bench_step_overhead.py [--processes 1500] [--steps 200]

Times `StepClock.step_end` (one snapshot a step; `epoch_begin` takes one
more per epoch) for three clocks: `before`, the code of commit c0b2e4a
(every step read /proc/stat and every /proc/N/stat), and `after` by
default (the clock only) and opted in (`StepClock(foreign=True)`, what
the benchmark tools use). Each runs on a simulated node, a temporary
directory of `--processes` fake /proc/N/stat files (the old code's
`/proc` paths pointed there), and on this machine's real /proc. Prints a
table and writes tools/results/step_overhead.{json,md}.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

from results_file import ROOT, Record

BEFORE = "c0b2e4a"  # the last commit whose clock sampled in every step


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--processes", type=int, default=1500,
                   help="fake /proc entries of the simulated node")
    p.add_argument("--steps", type=int, default=200,
                   help="steps timed per clock and round")
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds (the median is reported)")
    p.add_argument("--out", default="tools/results/step_overhead.json")
    return p.parse_args(argv)


def fake_proc(root, processes):
    """A /proc of `processes` entries, 3 of them this process's children."""
    (root / "stat").write_text("cpu  100 0 50 1000 0 0 0 0 0 0\n")
    for pid in range(1, processes + 1):
        parent = os.getpid() if pid <= 3 else 1
        (root / str(pid)).mkdir()
        (root / str(pid) / "stat").write_text(
            f"{pid} (worker) S {parent} 1 1 0 -1 0 0 0 0 0 "
            "10 20 0 0 20 0 1 0\n")


def old_timing(proc):
    """kft.training.timing as of `BEFORE`, reading `proc` for /proc."""
    source = subprocess.run(
        ["git", "show", f"{BEFORE}:kft/training/timing.py"], cwd=ROOT,
        check=True, capture_output=True, text=True).stdout
    source = (source.replace('"/proc/stat"', f'"{proc}/stat"')
              .replace('os.listdir("/proc")', f'os.listdir("{proc}")')
              .replace('f"/proc/{name}/stat"', f'f"{proc}/{{name}}/stat"'))
    module = types.ModuleType("timing_before")
    exec(compile(source, "timing_before", "exec"), module.__dict__)
    return module


def per_step(clock, steps):
    clock.epoch_begin(0)
    start = time.perf_counter()
    for step in range(steps):
        clock.step_end(step)
    return (time.perf_counter() - start) / steps


def measure(args):
    from kft.training import timing

    real = sum(1 for name in os.listdir("/proc") if name.isdigit())
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        fake_proc(Path(folder), args.processes)
        for node, proc in ((f"simulated, {args.processes} processes",
                            folder), (f"real /proc, {real} processes",
                                      "/proc")):
            before = old_timing(proc)
            clocks = {"before (c0b2e4a)": before.StepClock,
                      "after, default":  # as with KFT_FOREIGN_LOAD unset
                          lambda: timing.StepClock(foreign=False),
                      "after, KFT_FOREIGN_LOAD=1":
                          lambda: timing.StepClock(foreign=True)}
            saved = timing.PROC
            timing.PROC = proc
            try:
                for name, make in clocks.items():
                    seconds = [per_step(make(), args.steps)
                               for _ in range(args.rounds)]
                    rows.append({"node": node, "clock": name,
                                 "ms_per_step": statistics.median(seconds)
                                 * 1e3,
                                 "rounds_ms": [s * 1e3 for s in seconds]})
                    print(f"{node:32} {name:28} "
                          f"{rows[-1]['ms_per_step']:9.4f} ms/step",
                          flush=True)
            finally:
                timing.PROC = saved
    return rows, real


def table(rows):
    lines = ["| node | clock | ms per step (median) |", "|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['node']} | {r['clock']} | "
                     f"{r['ms_per_step']:.4f} |")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    record = Record(argv)
    rows, real = measure(args)
    text = table(rows)
    print(text)
    load = os.getloadavg()
    notes = (f"\n\nOne `step_end` call (one snapshot), the median of "
             f"{args.rounds} rounds of {args.steps} steps; a step of "
             "`fit` takes one snapshot, and `epoch_begin` one per epoch. "
             "The simulated node's files are ordinary files in a "
             "temporary directory, which read faster than the kernel's "
             "/proc entries. Machine: "
             f"{os.cpu_count()} cores, load average {load[0]:.2f} while "
             "it ran (another job was running).")
    record.save(args.out, "Step clock overhead per step", text + notes,
                rows=rows, real_processes=real, processes=args.processes,
                steps=args.steps, rounds=args.rounds,
                load_average=list(load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
