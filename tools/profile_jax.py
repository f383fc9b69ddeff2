"""Where XLA's CPU time goes in one jax training step, by kind of op.

Traces `model.fit` steps of all-MiniLM-L6-v2 on one fixed MRPC batch (32
pairs cut to 64 tokens, as `tools/ablate_speed.py`) with `jax.profiler`,
then sums the XLA CPU thunks' time per step by kind (`ynn_fusion.12` and
`ynn_fusion.40` are both `ynn_fusion`), with how many threads ran each
kind at once on average, the process's CPU time and the wall time.

    python tools/profile_jax.py --steps 4

Writes `tools/results/profile_jax.{json,md}`.
"""

import argparse
import collections
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mrpc"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default=str(ROOT / "presets" / "minilm"))
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--warmup", type=int, default=6)
    p.add_argument("--length", type=int, default=64)
    p.add_argument("--out", default=str(ROOT / "tools" / "results" /
                                        "profile_jax.json"))
    return p.parse_args(argv)


def trace(args, folder):
    """Runs warm-up steps, then traced ones; returns (wall, cpu) a step."""
    os.environ["KERAS_BACKEND"] = "jax"
    sys.path.insert(0, str(ROOT))
    import jax
    import tensorflow as tf

    from kft.data import buckets
    from kft.runtime import compat
    from kft.training.trainer import prepare
    from recipes import mrpc

    splits, model, _ = prepare(mrpc.recipe().replace(
        preset=args.preset, data_dir=str(DATA), limit=64, verbose=0,
        length_buckets=0))
    features = buckets.tokenize(model.preprocessor, splits.train.x)
    batch = ({k: v[:32, :args.length] for k, v in features.items()},
             splits.train.y[:32])

    def steps(n):
        return tf.data.Dataset.from_tensors(batch).repeat(n)

    with compat.tokenized_inputs(model):
        model.fit(steps(args.warmup), epochs=1, verbose=0)
        jax.profiler.start_trace(folder)
        wall, cpu = time.perf_counter(), os.times()
        model.fit(steps(args.steps), epochs=1, verbose=0)
        wall, end = time.perf_counter() - wall, os.times()
        jax.profiler.stop_trace()
    used = end.user - cpu.user + end.system - cpu.system
    return wall / args.steps, used / args.steps


def thunks(folder):
    """Per XLA thread: (start, end, kind) of every thunk in the trace."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    path = next(Path(folder).rglob("*.xplane.pb"))
    space = xplane_pb2.XSpace()
    space.ParseFromString(path.read_bytes())
    events = []
    for plane in space.planes:
        names = {k: v.name for k, v in plane.event_metadata.items()}
        for line in plane.lines:
            if "XLAEigen" not in line.name:
                continue
            for event in line.events:
                name = names.get(event.metadata_id, "?")
                if name.startswith(("ThunkExecutor", "end:")):
                    continue
                start = line.timestamp_ns * 1000 + event.offset_ps
                events.append((start, start + event.duration_ps,
                               re.sub(r"\.\d+$", "", name)))
    return events


def covered(spans):
    """Time covered by the union of (start, end) spans."""
    total, begin, last = 0, None, None
    for start, end in sorted(spans):
        if last is None or start > last:
            total += 0 if last is None else last - begin
            begin, last = start, end
        else:
            last = max(last, end)
    return total + (0 if last is None else last - begin)


def main(argv=None):
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="profile_jax_") as folder:
        wall, cpu = trace(args, folder)
        events = thunks(folder)
    kinds = collections.defaultdict(list)
    for start, end, kind in events:
        kinds[kind].append((start, end))
    total = sum(end - start for start, end, _ in events)
    rows = []
    for kind, spans in sorted(kinds.items(),
                              key=lambda kv: -sum(e - s for s, e in kv[1])):
        busy = sum(end - start for start, end in spans)
        union = covered(spans)  # 0 for instantaneous events
        rows.append({"kind": kind, "ms_per_step": busy / 1e9 / args.steps,
                     "share": busy / total, "count_per_step":
                     len(spans) / args.steps,
                     "threads_at_once": busy / union if union else None})
    summary = {"wall_s_per_step": wall, "cpu_s_per_step": cpu,
               "thunk_s_per_step": total / 1e12 / args.steps}
    lines = [f"wall {wall:.3f} s a step; process CPU time {cpu:.3f} s "
             f"({cpu / wall:.2f} cores busy); XLA thunks "
             f"{summary['thunk_s_per_step']:.3f} s (summed over threads)", "",
             "| kind | ms/step | share | per step | threads at once |",
             "|---|---|---|---|---|"]
    for r in rows[:16]:
        lines.append(f"| {r['kind']} | {r['ms_per_step']:.1f} | "
                     f"{r['share']:.1%} | {r['count_per_step']:.0f} | "
                     f"{_num(r['threads_at_once'])} |")
    text = "\n".join(lines)
    print(text)
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_mrpc import write

    write(args, [dict(summary, kinds=rows)], text,
          "One jax training step by XLA op kind, MRPC MiniLM, batch 32 x "
          f"{args.length} tokens")
    return json.dumps(summary)


def _num(value):
    return "n/a" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
