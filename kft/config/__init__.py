"""What the user asks for: a recipe, its typed config and its overrides.

- `recipe`: `TrainConfig`, the settings every recipe shares, and `Recipe`;
- `overrides`: typed `key=value` overrides of a config, and `--smoke`;
- `loader`: a recipe from a file path or a module name.

The lowest layer but one: it imports only `kft.errors`, never keras.
"""

from kft.config.loader import load
from kft.config.overrides import SMOKE, apply, parse
from kft.config.recipe import Recipe, TrainConfig

__all__ = ["SMOKE", "Recipe", "TrainConfig", "apply", "load", "parse"]
