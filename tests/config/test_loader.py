import pytest
from support import ROOT

from kft import KftError, Recipe
from kft.config.loader import load

pytestmark = pytest.mark.backend_free  # no backend-dependent code


def test_loads_a_recipe_file_by_path():
    recipe = load(str(ROOT / "recipes" / "mrpc.py"))
    assert isinstance(recipe, Recipe) and recipe.name == "mrpc"


def test_loads_a_recipe_by_module_name_and_module():
    from recipes import mrpc

    assert load("recipes.mrpc").name == "mrpc"
    assert load(mrpc).config == mrpc.recipe().config


def test_missing_file_is_named(tmp_path):
    with pytest.raises(KftError, match="nope.py' does not exist"):
        load(str(tmp_path / "nope.py"))


def test_missing_module_is_named():
    with pytest.raises(KftError, match="no recipe file or module 'nope.x'"):
        load("nope.x")


def test_file_without_recipe_function_is_refused(tmp_path):
    path = tmp_path / "empty.py"
    path.write_text("X = 1\n")
    with pytest.raises(KftError, match="empty.py defines no recipe()"):
        load(str(path))


def test_recipe_must_return_a_kft_recipe(tmp_path):
    path = tmp_path / "wrong.py"
    path.write_text("def recipe():\n    return {'name': 'x'}\n")
    with pytest.raises(KftError, match="returned dict, not a kft.Recipe"):
        load(str(path))


def test_recipe_replace_is_typed_and_keeps_the_original():
    recipe = load("recipes.mrpc")
    changed = recipe.replace(epochs="1", limit=8)
    assert changed.config.epochs == 1 and changed.config.limit == 8
    assert recipe.config.epochs == 3
    with pytest.raises(KftError, match="unknown key 'lr'"):
        recipe.replace(lr=1e-3)
