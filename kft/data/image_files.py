"""Image files: finding them in folders, and checking that they decode.

Files ending in .jpg, .jpeg, .png, .bmp, .gif or .webp (any case) are
images, in nested folders too; names starting with "." are ignored. A
file counts as readable when TensorFlow decodes it, with the decoder the
input pipeline uses.
"""

import os
import re

import numpy as np

from kft.errors import KftError

EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


def find_images(folder):
    """The image files under `folder`, nested ones too, sorted."""
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [os.path.join(root, n) for n in names
                  if n.lower().endswith(EXTENSIONS) and not n.startswith(".")]
    return sorted(found)


def check_images(paths, strict=False):
    """Decodes every image cheaply, with the decoder the pipeline uses.

    JPEGs are decoded at 1/8 scale (every byte is still read, so a
    truncated or corrupt file fails); other formats are fully decoded by
    `tf.io.decode_image`. Files TensorFlow cannot decode (e.g. TIFF, or not
    an image at all) count as unreadable.

    Args:
        paths: sequence of str. Image files.
        strict: bool. Raise `KftError` naming the first unreadable file.

    Returns:
        `(good, bad)`: a bool array, True where the file decodes, and the
        list of the unreadable paths.
    """
    good = np.zeros(len(paths), dtype=bool)
    bad = []
    for i, path in enumerate(paths):
        problem = _problem(path)
        if problem is None:
            good[i] = True
        elif strict:
            raise KftError(f"{path} {problem}; remove or replace it, or pass "
                           "strict=False to skip unreadable images")
        else:
            bad.append(str(path))
    return good, bad


def readable(paths, limit, strict):
    """Indices of the first `limit` paths that decode, and the bad ones."""
    keep, bad, start = [], [], 0
    while start < len(paths) and (limit is None or len(keep) < limit):
        stop = len(paths) if limit is None else start + limit - len(keep)
        good, skipped = check_images(paths[start:stop], strict)
        keep += list(start + np.flatnonzero(good))
        bad += skipped
        start = stop
    return np.array(keep, dtype=int), bad


def _problem(path):
    import tensorflow as tf

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    try:
        if data[:3] == b"\xff\xd8\xff":
            tf.io.decode_jpeg(data, channels=3, ratio=8)
        else:
            tf.io.decode_image(data, channels=3, expand_animations=False)
    except tf.errors.OpError as e:
        reason = re.sub(r"\{\{.*?\}\}|\[Op:\w+\]", "", e.message).strip()
        return f"does not decode ({reason or 'not an image'})"
    return None
