"""The TensorFlow Datasets source of GLUE, used when no `data_dir` is given."""

import numpy as np

from kft.errors import KftError


def load_glue(task, columns):
    """Downloads (or reads from the TFDS cache) `glue/<task>`.

    Returns:
        dict of split name -> `(x, y, source)`. The test split is left out
        when its labels are hidden (-1), as in GLUE.
    """
    name = f"glue/{task}"
    try:
        import tensorflow_datasets as tfds

        loaded = tfds.load(name, split=None)
    except Exception as error:  # noqa: BLE001: any failure means "offline"
        first = (str(error).strip().splitlines() or [""])[0][:160]
        raise KftError(
            f"could not download {name} from TensorFlow Datasets "
            f"({type(error).__name__}: {first}); offline? pass "
            "data_dir=PATH, a folder with train.tsv and validation.tsv"
        ) from None
    splits = {}
    for split in ("train", "validation", "test"):
        if split not in loaded:
            continue
        rows = list(tfds.as_numpy(loaded[split]))
        y = np.array([r["label"] for r in rows], dtype="int32")
        if split == "test" and (y < 0).all():
            continue
        texts = tuple(
            np.array([r[c].decode("utf-8") for r in rows], dtype=object)
            for c in columns
        )
        x = texts if len(texts) > 1 else texts[0]
        splits[split] = (x, y, f"tfds:{name}/{split}")
    return splits
