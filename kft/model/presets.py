"""Checks a `preset=` value before KerasHub tries to load it."""

import glob
import json
import os

from kft.errors import KftError

# Files that make a folder a KerasHub or a Hugging Face preset.
_MARKERS = ("config.json", "metadata.json")


def looks_like_path(preset: str) -> bool:
    """Whether `preset` names a local folder rather than a preset name."""
    return (
        os.sep in preset
        or preset.startswith((".", "~"))
        or os.path.exists(preset)
    )


def check(preset: str) -> None:
    """Raises `KftError` when a local preset folder is missing or empty.

    Names such as `bert_base_en_uncased` pass unchecked: KerasHub resolves
    (and downloads) them itself.
    """
    if not looks_like_path(preset):
        return
    path = os.path.expanduser(preset)
    if not os.path.isdir(path):
        raise KftError(
            f"preset={preset!r}: no such folder; give a KerasHub preset name "
            "(e.g. bert_base_en_uncased) or a folder made by save_to_preset "
            "or `kft preset import`"
        )
    if not any(os.path.exists(os.path.join(path, m)) for m in _MARKERS):
        raise KftError(
            f"preset={preset!r} holds no model (no config.json); point it "
            "at a KerasHub preset or Hugging Face model folder"
        )
    for file in sorted(glob.glob(os.path.join(path, "*.json"))):
        check_json(file, f"preset={preset!r}")


def check_json(path, what):
    """Raises `KftError` naming `path` unless it is readable JSON.

    Args:
        path: str. A JSON file.
        what: str. What it belongs to, for the message.
    """
    try:
        with open(path, "rb") as f:
            json.loads(f.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        reason = " ".join(str(error).split())[:200]
        raise KftError(
            f"{path} is not valid JSON ({reason}); {what} is damaged: "
            "restore or re-create that file (e.g. `kft preset import` "
            "again)") from None
