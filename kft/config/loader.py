"""Loads a recipe from a file path or a dotted module name."""

import dataclasses
import importlib
import importlib.util
import os
import sys

from kft.config.recipe import Recipe
from kft.errors import KftError


def load(spec) -> Recipe:
    """Returns the `Recipe` of a recipe file, module name or module.

    Args:
        spec: str or module. A path like `recipes/mrpc.py`, a dotted module
            name like `recipes.mrpc`, or an imported module.

    Raises:
        KftError: when the file or module does not exist, or does not
            define `recipe()` returning a `kft.Recipe`.
    """
    module = spec if hasattr(spec, "__name__") else _import(str(spec))
    where = getattr(module, "__file__", None) or module.__name__
    factory = getattr(module, "recipe", None)
    if not callable(factory):
        raise KftError(
            f"{where} defines no recipe() function; a recipe module must "
            "define `def recipe() -> kft.Recipe`"
        )
    recipe = factory()
    if not isinstance(recipe, Recipe):
        raise KftError(
            f"recipe() in {where} returned {type(recipe).__name__}, "
            "not a kft.Recipe"
        )
    if recipe.source is None:
        recipe = dataclasses.replace(recipe, source=_source(module))
    return recipe


def source_of(recipe):
    """Where `recipe` was loaded from: its `source`, else the file of the
    module that defines its config class (a task recipe may be a config
    of a general one, whose `model` it uses), else of its `model`
    function (None if unknown)."""
    if recipe.source is not None:
        return recipe.source
    for owner in (type(recipe.config), recipe.model):
        module = sys.modules.get(getattr(owner, "__module__", None))
        if module is not None and module.__name__ != "kft.config.recipe":
            return _source(module)
    return None


def _source(module):
    file = getattr(module, "__file__", None)
    return os.path.abspath(file) if file else module.__name__


def _import(spec):
    if spec.endswith(".py") or os.sep in spec or os.path.exists(spec):
        return _import_file(spec)
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as error:
        if error.name and spec.startswith(error.name):
            raise KftError(
                f"no recipe file or module {spec!r}; give a path such as "
                "recipes/mrpc.py or a module such as recipes.mrpc"
            ) from None
        raise


def _import_file(path):
    if not os.path.isfile(path):
        raise KftError(
            f"recipe file {path!r} does not exist; "
            "see recipes/ for the shipped ones"
        )
    path = os.path.abspath(path)
    folder, file = os.path.split(path)
    stem = os.path.splitext(file)[0]
    if os.path.isfile(os.path.join(folder, "__init__.py")):
        return _import_in_package(path, folder, stem)
    name = f"kft_recipe_{stem}"
    if name in sys.modules and _same_file(sys.modules[name], path):
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _import_in_package(path, folder, stem):
    """Imports `recipes/mrpc.py` as module `recipes.mrpc`, so that it can
    import its sibling recipes (`from recipes import text_classifier`).

    The package's parent folder goes first on `sys.path` for the rest of
    the process, as `python -m` does for the current folder.
    """
    name = f"{os.path.basename(folder)}.{stem}"
    found = sys.modules.get(name)
    if found is not None and _same_file(found, path):
        return found
    parent = os.path.dirname(folder)
    if parent not in sys.path:
        sys.path.insert(0, parent)
    module = importlib.import_module(name)
    if not _same_file(module, path):
        raise KftError(
            f"recipe file {path} would be imported as module {name}, but "
            f"that name is already {getattr(module, '__file__', name)}; "
            "rename the recipe's folder or run from another folder")
    return module


def _same_file(module, path):
    file = getattr(module, "__file__", None)
    return file is not None and os.path.abspath(file) == path
