"""Where XLA's CPU time goes in one jax training step, by kind of op and
by convolution.

`--model minilm` (the default) traces `model.fit` steps of
all-MiniLM-L6-v2 on one fixed MRPC batch (32 pairs cut to 64 tokens, as
`tools/ablate_speed.py`). `--model lite0` or `resnet18` traces the
hot-dog recipe's steps (160 px, batch 64, SGD with momentum 0.9) on one
fixed batch of random pixels: a step's cost does not depend on the
pixels. Presets: `presets/minilm`, `presets/lite0`,
`presets/resnet18-random` (`tools/bench_images.py` saves the last).

The trace records XLA's CPU thunks only (host tracer level 1, no Python
tracer), so a traced step costs about what an untraced one does; both
times are printed. It sums the thunks' time per step by kind
(`ynn_fusion.12` and `ynn_fusion.40` are both `ynn_fusion`), with how many
threads ran each kind at once on average. It also reads the step's
optimised HLO (dumped by XLA) to count each thunk's convolution and dot
FLOPs, and lists the slowest thunks with their GFLOP/s.

    python tools/profile_jax.py --steps 4
    python tools/profile_jax.py --model resnet18 --steps 3

Writes `tools/results/profile_jax.{json,md}` (MiniLM) or
`tools/results/profile_jax_MODEL.{json,md}`.
"""

import argparse
import collections
import json
import math
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PRESETS = {"minilm": "minilm", "lite0": "lite0",
           "resnet18": "resnet18-random"}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=sorted(PRESETS), default="minilm")
    p.add_argument("--preset", help="default: presets/ for --model")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--warmup", type=int, default=6)
    p.add_argument("--length", type=int, default=64)
    p.add_argument("--batch-size", type=int, help="default: 32 text, 64 "
                   "images")
    p.add_argument("--image-size", type=int, default=160)
    p.add_argument("--out")
    args = p.parse_args(argv)
    args.preset = args.preset or str(ROOT / "presets" / PRESETS[args.model])
    args.batch_size = args.batch_size or (32 if args.model == "minilm"
                                          else 64)
    name = ("profile_jax" if args.model == "minilm"
            else f"profile_jax_{args.model}")
    args.out = args.out or str(ROOT / "tools" / "results" / f"{name}.json")
    return args


def text_model(args):
    """MiniLM compiled by the MRPC recipe, and its fixed batch."""
    from kft.data import buckets
    from kft.runtime import compat
    from kft.training.trainer import prepare
    from recipes import mrpc

    splits, model, _ = prepare(mrpc.recipe().replace(
        preset=args.preset, data_dir=str(DATA / "mrpc"), limit=64,
        verbose=0, length_buckets=0))
    features = buckets.tokenize(model.preprocessor, splits.train.x)
    n = args.batch_size
    batch = ({k: v[:n, :args.length] for k, v in features.items()},
             splits.train.y[:n])
    return model, batch, compat.tokenized_inputs(model)


def image_model(args):
    """The hot-dog recipe's model and a fixed batch of random pixels."""
    import contextlib

    import numpy as np

    from kft.training.trainer import prepare
    from recipes import hotdog

    _, model, _ = prepare(hotdog.recipe().replace(
        preset=args.preset, data_dir=str(DATA / "hotdog"), limit=128,
        image_size=args.image_size, batch_size=args.batch_size,
        momentum=0.9, verbose=0))
    size, n = args.image_size, args.batch_size
    pixels = np.random.default_rng(0).uniform(0, 255, (n, size, size, 3))
    batch = (pixels.astype("float32"), np.arange(n) % 2)
    return model, batch, contextlib.nullcontext()


def trace(args, folder):
    """Runs warm-up steps, untraced steps, then traced ones.

    Returns:
        `(untraced wall, traced wall, traced cpu)`, seconds a step.
    """
    sys.path.insert(0, str(ROOT))
    from kft.runtime import backend

    backend.select("jax")  # as `kft run`: one glibc arena before jax starts
    import jax
    import tensorflow as tf

    from kft.training.callbacks import StepTimer

    build = text_model if args.model == "minilm" else image_model
    model, batch, feeding = build(args)
    # kft's step clock, as in every kft run (it reads each step's logs).
    # Without it, this tool's lite0 run grew past 24 GB and was killed;
    # with it, its peak was 8.3 GB.
    timer = [StepTimer()]

    def steps(n):
        return tf.data.Dataset.from_tensors(batch).repeat(n)

    options = jax.profiler.ProfileOptions()
    options.host_tracer_level = 1  # XLA's thunks; level 2 costs 5x a step
    options.python_tracer_level = 0
    with feeding:
        model.fit(steps(args.warmup), epochs=1, verbose=0, callbacks=timer)
        untraced = time.perf_counter()
        model.fit(steps(args.steps), epochs=1, verbose=0,
                  callbacks=timer)
        untraced = time.perf_counter() - untraced
        jax.profiler.start_trace(folder, profiler_options=options)
        wall, cpu = time.perf_counter(), os.times()
        model.fit(steps(args.steps), epochs=1, verbose=0,
                  callbacks=timer)
        wall, end = time.perf_counter() - wall, os.times()
        jax.profiler.stop_trace()
    used = end.user - cpu.user + end.system - cpu.system
    return untraced / args.steps, wall / args.steps, used / args.steps


def thunks(folder):
    """Per XLA thread: (start, end, name) of every thunk in the trace."""
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
                events.append((start, start + event.duration_ps, name))
    return events


def kind(name):
    return re.sub(r"\.\d+$", "", name)


INSTRUCTION = re.compile(r"\s*(?:ROOT )?%([\w.\-]+) = (\w+\[[\d,]*\])")


def _dims(shape):
    inside = shape[shape.index("[") + 1:-1]
    return [int(d) for d in inside.split(",")] if inside else []


def step_flops(folder):
    """`{thunk name: (FLOPs, what)}` for the train step's top-level
    instructions, from XLA's optimised HLO dumped in `folder`: a
    convolution is 2 x outputs x window x input features / groups, a dot
    2 x outputs x contracted size, summed through fused computations."""
    dumps = sorted(Path(folder).glob("*train_step*after_optimizations.txt"))
    if not dumps:
        return {}
    computations, current = {}, None
    for line in dumps[-1].read_text().splitlines():
        header = re.match(r"^(?:ENTRY )?%([\w.\-]+) .*\{$", line)
        if header:
            current = computations.setdefault(header.group(1), [])
        elif current is not None:
            current.append(line)

    def flops(name, only=None):
        lines = computations.get(name, [])
        shapes = {m.group(1): m.group(2) for m in map(INSTRUCTION.match, lines)
                  if m}
        total, what = 0, []
        for line in lines if only is None else [only]:
            conv = re.search(r"= (\w+\[[\d,]*\])\S* convolution\(%([\w.\-]+), "
                             r"%([\w.\-]+)\), window=\{size=([\dx]+)[^}]*\}, "
                             r"dim_labels=\w+_(\w+)->", line)
            dot = re.search(r"= (\w+\[[\d,]*\])\S* dot\(%([\w.\-]+), "
                            r"%([\w.\-]+)\).*lhs_contracting_dims=\{([\d,]*)\}",
                            line)
            if conv:
                out, lhs, rhs, window, labels = conv.groups()
                groups = re.search(r"feature_group_count=(\d+)", line)
                inputs = _dims(shapes[rhs])[labels.index("i")]
                dilated = re.search(r"lhs_dilate=([\dx]+)", line)
                total += (2 * math.prod(_dims(out)) * inputs
                          * math.prod(int(w) for w in window.split("x"))
                          // (int(groups.group(1)) if groups else 1)
                          // math.prod(int(d) for d in (
                              dilated.group(1).split("x") if dilated
                              else ())))  # the inserted zeros cost nothing
                what.append(f"conv {shapes[lhs]} x {shapes[rhs]} -> {out}")
            elif dot:
                out, lhs, rhs, contracted = dot.groups()
                sizes = _dims(shapes[lhs])
                total += 2 * math.prod(_dims(out)) * math.prod(
                    sizes[int(d)] for d in contracted.split(","))
                what.append(f"dot {shapes[lhs]} x {shapes[rhs]}")
            called = re.search(r"calls=%([\w.\-]+)", line)
            if called and " fusion(" in line:
                more, also = flops(called.group(1))
                total, what = total + more, what + also
        return total, what

    entry = [name for name in computations if name.startswith("main")][-1]
    found = {}
    for line in computations[entry]:
        instruction = INSTRUCTION.match(line)
        if not instruction:
            continue
        called = re.search(r"calls=%([\w.\-]+)", line)
        if called:
            found[instruction.group(1)] = flops(called.group(1))
        elif " convolution(" in line or " dot(" in line:
            # Not fused: Eigen runs it on its own pool, and the thunk's
            # trace event covers only the launch, so no rate is given.
            count, what = flops(entry, only=line)
            found[instruction.group(1)] = (count, [*what, "(Eigen, async)"])
    return found


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
        dump = Path(folder) / "hlo"
        os.environ["XLA_FLAGS"] = " ".join(filter(None, [
            os.environ.get("XLA_FLAGS"), f"--xla_dump_to={dump}",
            "--xla_dump_hlo_as_text",
            "--xla_dump_hlo_module_re=.*train_step.*"]))
        untraced, wall, cpu = trace(args, folder)
        events = thunks(folder)
        counted = step_flops(dump)
    steps = args.steps
    kinds, names = collections.defaultdict(list), collections.Counter()
    for start, end, name in events:
        kinds[kind(name)].append((start, end))
        names[name] += (end - start) / 1e12 / steps
    total = sum(end - start for start, end, _ in events)
    rows = []
    for k, spans in sorted(kinds.items(),
                           key=lambda kv: -sum(e - s for s, e in kv[1])):
        busy = sum(end - start for start, end in spans)
        union = covered(spans)  # 0 for instantaneous events
        rows.append({"kind": k, "ms_per_step": busy / 1e9 / steps,
                     "share": busy / total, "count_per_step":
                     len(spans) / steps,
                     "threads_at_once": busy / union if union else None})
    slowest = [{"thunk": name, "ms_per_step": seconds * 1e3,
                "gflop": counted.get(name, (0, []))[0] / 1e9,
                "what": "; ".join(counted.get(name, (0, []))[1])}
               for name, seconds in names.most_common(20)]
    with_flops = [(names[n], f) for n, (f, what) in counted.items()
                  if f and "(Eigen, async)" not in what]
    flop_s = sum(s for s, _ in with_flops)
    flop = sum(f for _, f in with_flops)
    summary = {"model": args.model, "batch_size": args.batch_size,
               "untraced_wall_s_per_step": untraced,
               "wall_s_per_step": wall, "cpu_s_per_step": cpu,
               "thunk_s_per_step": total / 1e12 / steps,
               "conv_dot_s_per_step": flop_s,
               "conv_dot_gflop_per_step": flop / 1e9,
               "conv_dot_gflop_per_s": flop / 1e9 / flop_s if flop_s else None}
    lines = [f"untraced {untraced:.3f} s a step, traced {wall:.3f}; "
             f"process CPU time {cpu:.3f} s ({cpu / wall:.2f} cores busy); "
             f"XLA thunks {summary['thunk_s_per_step']:.3f} s (summed over "
             "threads)", "",
             f"CPU time outside the thunks' events: "
             f"{cpu - summary['thunk_s_per_step']:.3f} s a step (Eigen's "
             "pool running unfused convolutions, tf.data, Python).", "",
             f"Fused thunks with convolutions or dots: {flop_s:.3f} s a step "
             f"for {flop / 1e9:.1f} GFLOP "
             f"({_num(summary['conv_dot_gflop_per_s'], '.0f')} GFLOP/s).",
             "", "| kind | ms/step | share | per step | threads at once |",
             "|---|---|---|---|---|"]
    for r in rows[:16]:
        lines.append(f"| {r['kind']} | {r['ms_per_step']:.1f} | "
                     f"{r['share']:.1%} | {r['count_per_step']:.0f} | "
                     f"{_num(r['threads_at_once'])} |")
    lines += ["", "The slowest thunks:", "",
              "| thunk | ms/step | GFLOP | GFLOP/s | what (optimised HLO) |",
              "|---|---|---|---|---|"]
    for r in slowest:
        rate = (r["gflop"] / r["ms_per_step"] * 1e3 if r["gflop"]
                and "(Eigen, async)" not in r["what"] else None)
        lines.append(f"| {r['thunk']} | {r['ms_per_step']:.1f} | "
                     f"{r['gflop']:.2f} | {_num(rate, '.0f')} | "
                     f"{r['what'][:90]} |")
    text = "\n".join(lines)
    print(text)
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_mrpc import write

    title = (f"MRPC MiniLM, batch {args.batch_size} x {args.length} tokens"
             if args.model == "minilm" else
             f"hot-dog recipe, {args.model}, batch {args.batch_size} x "
             f"{args.image_size} px")
    write(args, [dict(summary, kinds=rows, slowest=slowest)], text,
          f"One jax training step by XLA op kind, {title}")
    return json.dumps(summary)


def _num(value, spec=".2f"):
    return "n/a" if value is None else format(value, spec)


if __name__ == "__main__":
    main()
