"""Tiny image folders for tests, drawn with NumPy and saved by Pillow.

Each class has its own colour and stripe direction, so a model can learn
them; sizes vary, so crops and resizes are exercised. Nothing here comes
from ../shared/data.
"""

import os

import numpy as np
from PIL import Image

COLOURS = ((200, 60, 40), (40, 90, 200), (60, 170, 60), (210, 190, 40),
           (150, 60, 170), (40, 170, 170), (120, 120, 120), (230, 120, 30),
           (90, 50, 20), (250, 250, 250))
SIZES = ((40, 30), (30, 40), (36, 36), (48, 32))


def draw(label, index, rng):
    """One RGB image of class `label`: a coloured field with stripes."""
    width, height = SIZES[index % len(SIZES)]
    colour = np.array(COLOURS[label % len(COLOURS)], dtype=float)
    image = colour + rng.normal(0, 20, (height, width, 3))
    stripes = np.arange(width if label % 2 else height) % 8 < 3
    if label % 2:
        image[:, stripes] *= 0.5
    else:
        image[stripes, :] *= 0.5
    return Image.fromarray(np.clip(image, 0, 255).astype("uint8"), "RGB")


def write_image_folder(root, classes=("hotdog", "not-hotdog"),
                       splits=(("train", 12),), seed=0, fmt="jpg"):
    """Writes `root/SPLIT/CLASS/NAME.jpg` images and returns `root`.

    Args:
        root: str or Path. The folder to fill.
        classes: sequence of str. Class folder names.
        splits: sequence of `(split, images per class)`.
        seed: int. Seeds the noise.
        fmt: str. `jpg` or `png`.
    """
    rng = np.random.default_rng(seed)
    for split, count in splits:
        for label, name in enumerate(classes):
            folder = os.path.join(root, split, name)
            os.makedirs(folder, exist_ok=True)
            for i in range(count):
                draw(label, i, rng).save(
                    os.path.join(folder, f"{name}_{i:03d}.{fmt}"))
    return str(root)
