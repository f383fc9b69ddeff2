"""Typed `key=value` overrides of a config dataclass, and `--smoke`."""

import dataclasses
import difflib
import math
import types
import typing

from kft.errors import KftError

SMOKE = {"limit": 16, "epochs": 1, "steps_per_epoch": 2, "batch_size": 8}

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
_NONE = ("none", "null")


def parse(items) -> dict:
    """Splits `["epochs=2", "preset=dir"]` into `{"epochs": "2", ...}`."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise KftError(
                f"override {item!r} is not key=value, e.g. epochs=2"
            )
        if key in overrides:
            raise KftError(f"override key {key!r} is given twice")
        overrides[key] = value
    return overrides


def apply(config, overrides: dict):
    """Returns `config` with `overrides` applied, each converted to its type.

    Args:
        config: a dataclass instance, e.g. a recipe's `Config`.
        overrides: dict. Keys are field names; values are strings (as
            typed on a command line) or values of the field's type.

    Raises:
        KftError: for an unknown key (the error lists the valid keys) or a
            value that does not convert to the field's type.
    """
    fields = {f.name: f for f in dataclasses.fields(config)}
    hints = typing.get_type_hints(type(config))
    converted = {}
    for key, value in overrides.items():
        if key not in fields:
            raise KftError(unknown_key(key, sorted(fields)))
        converted[key] = convert(key, value, hints[key])
    return dataclasses.replace(config, **converted)


def unknown_key(key, valid):
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{hint}; valid keys: {', '.join(valid)}"


def convert(key, value, annotation):
    """Converts `value` to `annotation` (int, float, bool, str, X | None)."""
    options = union_members(annotation)
    if type(None) in options:
        if value is None or (
            isinstance(value, str) and value.lower() in _NONE
        ):
            return None
        options = [o for o in options if o is not type(None)]
    if len(options) != 1:
        raise TypeError(f"kft cannot override {key}: {annotation}")
    kind = options[0]
    try:
        converted = _to(kind, value)
    except (TypeError, ValueError):
        name = getattr(kind, "__name__", str(kind))
        raise KftError(
            f"{key}={value!r} is not a valid {name}"
            + (": use true or false" if kind is bool else "")
        ) from None
    if kind is float and not math.isfinite(converted):
        raise KftError(f"{key}={value!r} is not a finite number; use a "
                       "number such as 0.5 or 3e-5 (not nan or inf)")
    return converted


def union_members(annotation):
    """The types of `annotation`: `[int, NoneType]` for `int | None`."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return list(typing.get_args(annotation))
    return [annotation]


def _to(kind, value):
    if isinstance(value, str):
        text = value.strip()
        if kind is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError(value)
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        if kind is str:
            return value
        raise TypeError(kind)
    if kind is float and isinstance(value, int) and not isinstance(
        value, bool
    ):
        return float(value)
    if kind is int and isinstance(value, bool):
        raise TypeError(kind)
    if kind is str and isinstance(value, int) and not isinstance(
        value, bool
    ):
        return str(value)  # e.g. freeze=2 from Python
    if not isinstance(value, kind):
        raise TypeError(kind)
    return value
