"""The words are true: every `kft.` dotted name and every `kft/...py` path
that a docstring or comment of kft/, recipes/ or tests/ names exists."""

import ast
import importlib
import io
import re
import tokenize

import pytest
from support import ROOT

pytestmark = pytest.mark.backend_free

FOLDERS = ("kft", "recipes", "tests")
DOTTED = re.compile(r"(?<![\w./-])kft(?:\.[A-Za-z_]\w*)+")
PATH = re.compile(r"(?<![\w./-])((?:kft|recipes|tests|tools)/[\w/]+\.py)\b")
PLACEHOLDER = re.compile(r"/[A-Z_]+\.py$")  # recipes/NAME.py


def sources():
    for folder in FOLDERS:
        yield from sorted((ROOT / folder).rglob("*.py"))


def words(path):
    """The docstrings and comments of one file, as (line, text) pairs."""
    text = path.read_text()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                             ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                line = node.body[0].lineno
                yield line, doc
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string


def resolves(name):
    """True when a dotted name is a kft module or an attribute of one."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def named():
    for path in sources():
        for line, text in words(path):
            for match in DOTTED.finditer(text):
                yield path, line, match.group(0).rstrip("."), "name"
            for match in PATH.finditer(text):
                if PLACEHOLDER.search(match.group(1)):
                    continue
                yield path, line, match.group(1), "path"


def test_every_kft_name_and_path_in_the_words_exists():
    wrong = []
    for path, line, name, kind in named():
        ok = (ROOT / name).is_file() if kind == "path" else resolves(name)
        if not ok:
            wrong.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert not wrong, "names nothing that exists:\n" + "\n".join(wrong)


def test_the_check_finds_a_stale_name(tmp_path):
    # The old flat module name of kft.training.resume no longer exists.
    assert not resolves("kft.resume")
    assert not resolves("kft.training.resume.no_such_function")
    assert resolves("kft.training.resume.recipe_of")
    assert resolves("kft.Recipe.replace")
