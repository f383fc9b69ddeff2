"""`kft sweep`'s search space, from `key=...` arguments.

    key=value           fixed for every trial
    key=v1,v2,...       a choice among the values
    key=low..high       a range: every number from low to high (int or
    key=low..high:log   float, as the key's type), log-scaled on request

Each key and value is checked against the recipe's config as `kft run`
checks its overrides, before any trial starts: an unknown key lists the
valid ones, a value of the wrong type fails, a range needs a number field,
and each trial's values must make a valid config. `max_hours=H` is the
sweep's own key (a time budget), not the recipe's. A value is a range
only when both ends are numbers, so paths such as `../data` stay plain;
a comma always makes a choice.
"""

import dataclasses
import itertools
import math
import re
import typing

from kft import config
from kft.config import overrides
from kft.errors import KftError

ALGORITHMS = ("random", "bayesian", "grid")
SWEEP_KEYS = ("max_hours",)
RANGE = re.compile(r"^\s*(\S+?)\.\.(\S+?)(:log)?\s*$")
# Every combination of the candidate values is checked up to this many;
# beyond it, each key's values are checked on their own.
COMBINATIONS = 1000


@dataclasses.dataclass(frozen=True)
class Dim:
    """One swept key: a choice of `values`, or a range `low..high`."""

    key: str
    values: tuple = ()
    low: int | float | None = None
    high: int | float | None = None
    log: bool = False

    @property
    def is_range(self):
        return self.low is not None

    def candidates(self):
        """The values checked against the config: a choice's values, a
        range's two ends."""
        return (self.low, self.high) if self.is_range else self.values

    def record(self):
        """The dimension as `sweep.json` holds it."""
        if self.is_range:
            return {"key": self.key, "low": self.low, "high": self.high,
                    "log": self.log}
        return {"key": self.key, "values": list(self.values)}


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a sweep's arguments ask for.

    Args:
        fixed: dict. Fixed `key: value` strings, as typed (no output_dir).
        dims: tuple of `Dim`. The swept keys, in the order given.
        output_dir: str or None. The sweep's folder.
        max_hours: float or None. The time budget.
        config: TrainConfig. The config every trial starts from (--smoke
            and the fixed values applied).
    """

    fixed: dict
    dims: tuple
    output_dir: str | None
    max_hours: float | None
    config: typing.Any


def parse(items, recipe, smoke=False, algorithm="random"):
    """Splits sweep arguments into fixed values and swept keys, checked.

    Args:
        items: list of str. `key=value`, `key=v1,v2` or `key=low..high`.
        recipe: kft.Recipe. The recipe whose config the keys belong to.
        smoke: bool. Trials run with `--smoke` (`kft.config.SMOKE`).
        algorithm: str. One of `ALGORITHMS`.

    Returns:
        `Plan`.

    Raises:
        KftError: naming the key or value that is not valid.
    """
    given = overrides.parse(items)
    max_hours = _max_hours(given.pop("max_hours", None))
    fields = {f.name for f in dataclasses.fields(recipe.config)}
    hints = typing.get_type_hints(type(recipe.config))
    fixed, dims = {}, []
    for key, text in given.items():
        if key not in fields:
            raise KftError(overrides.unknown_key(
                key, sorted(fields | set(SWEEP_KEYS))))
        dim = dimension(key, text, hints[key])
        if dim is None:
            fixed[key] = text
        else:
            dims.append(dim)
    _check_dims(dims, algorithm)
    start = recipe.replace(**{**(config.SMOKE if smoke else {}), **fixed})
    check_values(start, dims)
    output_dir = fixed.pop("output_dir", None)
    return Plan(fixed, tuple(dims), output_dir, max_hours, start.config)


def dimension(key, text, annotation):
    """The `Dim` that `key=text` sweeps, or None for a fixed value."""
    found = RANGE.match(text)
    if found and _number(found[1]) and _number(found[2]):
        kind = _number_kind(annotation)
        if kind is None:
            raise KftError(f"{key}={text!r}: a range needs a number key, "
                           f"and {key} is not one; give a choice of "
                           f"values: {key}=a,b")
        low, high = (overrides.convert(key, v, kind) for v in found.group(1, 2))
        if not low < high:
            raise KftError(f"{key}={text!r}: the range's low end must be "
                           "below its high end")
        if found[3] and low <= 0:
            raise KftError(f"{key}={text!r}: a :log range needs a low end "
                           "above 0")
        return Dim(key, low=low, high=high, log=bool(found[3]))
    if "," not in text:
        return None
    parts = [p.strip() for p in text.split(",")]
    if not all(parts):
        raise KftError(f"{key}={text!r}: a choice needs a value between "
                       f"each two commas, e.g. {key}=a,b")
    values = [overrides.convert(key, p, annotation) for p in parts]
    if len(set(map(repr, values))) < len(values):
        raise KftError(f"{key}={text!r} gives a value twice")
    if len({type(v) for v in values}) > 1:
        values = parts  # e.g. none and numbers: passed on as typed
    return Dim(key, values=tuple(values))


def check_values(recipe, dims):
    """Fails unless every trial's values make a valid config of `recipe`:
    every combination of the candidates up to `COMBINATIONS`, else each
    key's candidates on their own."""
    keys = [d.key for d in dims]
    options = [d.candidates() for d in dims]
    if math.prod(len(o) for o in options) > COMBINATIONS:
        for key, values in zip(keys, options, strict=True):
            for value in values:
                recipe.replace(**{key: value})
        return
    for combination in itertools.product(*options):
        values = dict(zip(keys, combination, strict=True))
        try:
            recipe.replace(**values)
        except KftError as error:
            shown = ", ".join(f"{k}={cli_text(v)}" for k, v in values.items())
            raise KftError(f"{error} (in the trial {shown})") from None


def cli_text(value):
    """`value` as a `key=value` command line takes it back exactly."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    return repr(value) if isinstance(value, float) else str(value)


def _check_dims(dims, algorithm):
    keys = {d.key for d in dims}
    if not dims:
        raise KftError("kft sweep needs at least one swept key: "
                       "key=v1,v2 or key=low..high[:log]")
    for key in sorted({"output_dir", "monitor"} & keys):
        raise KftError(f"{key} cannot be swept: it names the sweep's "
                       + ("folder" if key == "output_dir" else "objective"))
    for dim in dims:
        if algorithm == "grid" and dim.is_range and (
                isinstance(dim.low, float) or dim.log):
            raise KftError(
                f"--algorithm grid needs a list of values for {dim.key}: "
                f"a float or :log range has no grid; write e.g. "
                f"{dim.key}=a,b,c, or use --algorithm random")


def _max_hours(text):
    if text is None:
        return None
    hours = overrides.convert("max_hours", text, float)
    if not hours > 0:
        raise KftError(f"max_hours={text!r} is not valid: use a number of "
                       "hours above 0")
    return hours


def _number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number_kind(annotation):
    kinds = [k for k in overrides.union_members(annotation)
             if k is not type(None)]
    return kinds[0] if kinds in ([int], [float]) else None
