"""Every recipe in recipes/, end to end on tiny presets: one test each."""

import importlib
import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from support import ROOT

import kft
from kft.commands.cli import main
from kft.config.overrides import SMOKE
from kft.errors import EXIT_BAD_INPUT, EXIT_OK

RECIPES = sorted(p.stem for p in (ROOT / "recipes").glob("[!_]*.py"))
CLASSES = ("hotdog", "not-hotdog")
# Words that stand in for a figure not yet measured (case-sensitive:
# "Measured" is the passage this test wants, "MEASURE" a placeholder).
PLACEHOLDER = re.compile(r"TODO|TBD|MEASURE|XXX|FIXME")
RESULTS_FILE = re.compile(r"tools/results/([\w*.-]+\.md)")
BARE_RESULTS_FILE = re.compile(r"(?<![\w/*.-])([\w*-]+\.md)\b")
FIGURE = re.compile(r"\b\d*\.\d+\b")  # e.g. 0.860
COMMAND = re.compile(r"`(?:kft |python tools/)[^`]+`")


@pytest.fixture
def tiny_overrides(request, tiny_bert, mrpc_dir, sst2_dir, tiny_resnet,
                   hotdog_dir, topics_dir):
    """The tiny preset and local data each recipe runs with in tests."""
    return {
        "mrpc": {"preset": tiny_bert, "data_dir": mrpc_dir},
        "sst2": {"preset": tiny_bert, "data_dir": sst2_dir},
        "hotdog": {"preset": tiny_resnet, "data_dir": hotdog_dir,
                   "image_size": 32},
        "text_classifier": {"preset": tiny_bert, "data_dir": topics_dir,
                            "label_column": "topic"},
        "image_classifier": {"preset": tiny_resnet, "data_dir": hotdog_dir,
                             "image_size": 32},
    }


def docstring_problems(name, doc):
    """Why `doc` cannot be recipes/NAME.py's docstring; [] when it can.

    It shows `kft run recipes/NAME.py`, holds no placeholder, and has a
    `Measured` passage with a figure, the command in backticks that
    measured it, and at least one tools/results/*.md file, each of which
    (and each bare *.md name in the passage, a file of tools/results/)
    exists; "not measured" alone is no Measured passage.
    """
    problems = []
    if f"kft run recipes/{name}.py" not in doc:
        problems.append(f"no `kft run recipes/{name}.py` command")
    placeholders = PLACEHOLDER.findall(doc)
    if placeholders:
        problems.append(f"placeholder {', '.join(placeholders)}")
    _, found, passage = doc.partition("Measured")
    if not found:
        return problems + ["no Measured passage"]
    named = RESULTS_FILE.findall(passage)
    if not named:
        problems.append("the Measured passage names no tools/results/*.md")
    results = ROOT / "tools" / "results"
    for file in named + BARE_RESULTS_FILE.findall(passage):
        if not any(results.glob(file)):
            problems.append(f"no tools/results/{file}")
    if not FIGURE.search(passage):
        problems.append("the Measured passage gives no figure")
    if not COMMAND.search(passage):
        problems.append("the Measured passage gives no command in backticks")
    return problems


GOOD = """A recipe.

    kft run recipes/x.py data_dir=DIR

Measured (tools/results/digits_torch.md): 0.989 test accuracy from
`python tools/digits.py --backends torch` (digits.md: 0.978).
"""
BAD = {
    "placeholder": (GOOD.replace("0.989", "TODO-MEASURE"),
                    "placeholder TODO, MEASURE"),
    "expected placeholder": ("kft run recipes/x.py\n\nExpected: "
                             "TODO-MEASURE\n", "no Measured passage"),
    "not measured alone": ("kft run recipes/x.py\n\nExpected: about 0.9; "
                           "not measured here.\n", "no Measured passage"),
    "TBD": (GOOD.replace("0.989 test", "TBD test"), "placeholder TBD"),
    "FIXME": (GOOD + "FIXME\n", "placeholder FIXME"),
    "XXX": (GOOD.replace("0.978", "XXX"), "placeholder XXX"),
    "no figure": (GOOD.replace("0.989", "a").replace("0.978", "b"),
                  "gives no figure"),
    "no results file": (GOOD.replace("(tools/results/digits_torch.md)",
                                     "").replace(" (digits.md: 0.978)", ""),
                        "names no tools/results/*.md"),
    "missing results file": (GOOD.replace("digits_torch.md", "nowhere.md"),
                             "no tools/results/nowhere.md"),
    "missing bare file": (GOOD.replace("(digits.md", "(nowhere.md"),
                          "no tools/results/nowhere.md"),
    "no command": (GOOD.replace("`", ""), "no command in backticks"),
    "no kft run": (GOOD.replace("kft run recipes/x.py", "kft run DIR"),
                   "no `kft run recipes/x.py` command"),
}


@pytest.mark.backend_free
def test_recipes_are_found():
    assert "mrpc" in RECIPES


@pytest.mark.backend_free
def test_the_docstring_check_accepts_a_measured_figure():
    assert docstring_problems("x", GOOD) == []


@pytest.mark.backend_free
@pytest.mark.parametrize("case", sorted(BAD))
def test_the_docstring_check_rejects_a_placeholder_or_a_missing_part(case):
    doc, problem = BAD[case]
    problems = docstring_problems("x", doc)
    assert any(problem in p for p in problems), problems


@pytest.mark.backend_free
@pytest.mark.parametrize("name", RECIPES)
def test_recipe_docstring_cites_a_measured_run(name):
    doc = importlib.import_module(f"recipes.{name}").__doc__
    assert docstring_problems(name, doc) == []


@pytest.mark.backend_free
@pytest.mark.parametrize("name", RECIPES)
def test_recipe_module_is_plain_and_documented(name):
    module = importlib.import_module(f"recipes.{name}")
    source = Path(module.__file__).read_text()
    assert len(source.splitlines()) <= 80, "a recipe fits on one screen"
    config = module.recipe().config
    assert isinstance(config, kft.TrainConfig)
    assert config.__dataclass_params__.frozen


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_smoke_runs_through_the_command_line(name, tiny_overrides,
                                                    tmp_path, capsys):
    """`kft run recipes/NAME.py --smoke` as a user types it (`kft.main`, in
    this process: test_cli runs the real `python -m kft`), on the suite's
    backend, with the tiny preset and local data."""
    assert name in tiny_overrides, f"add tiny overrides for {name}"
    out = tmp_path / name
    assert main(argv=[
        "run", str(ROOT / "recipes" / f"{name}.py"), "--smoke",
        *(f"{k}={v}" for k, v in tiny_overrides[name].items()),
        "verbose=0", f"output_dir={out}"]) == EXIT_OK
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["run_dir"] == str(out)
    assert np.isfinite(printed["loss"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_examples"] == SMOKE["limit"]
    assert metrics["epochs_run"] == SMOKE["epochs"]
    assert (out / "model.keras").exists()


@pytest.mark.backend_free
def test_recipes_import_without_side_effects(tmp_path):
    import subprocess

    code = ("import os, sys\n"
            + "".join(f"import recipes.{name}\n" for name in RECIPES)
            + "print(sorted(os.listdir('.')))\n"
            + "print(sorted(m for m in ('keras', 'tensorflow', 'torch', "
              "'jax') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == EXIT_OK, done.stderr[-2000:]
    # No files, and no backend: importing a recipe fixes no backend.
    assert done.stdout.split() == ["[]", "[]"]


def test_hotdog_head_learns_10x_faster_and_scratch_is_random(
        tiny_resnet, hotdog_dir):
    """The d2l set-up: SGD, a Glorot head at 10x; pretrained=false."""
    from kft.training.trainer import prepare
    from recipes import hotdog

    recipe = hotdog.recipe().replace(
        preset=tiny_resnet, data_dir=hotdog_dir, image_size=32, limit=8)
    _, model, _ = prepare(recipe)
    optimizer = model.optimizer
    assert type(optimizer).__name__ == "SGDHeadMultiplier"
    assert optimizer.multiplier == 10.0
    assert sorted(optimizer.scaled) == ["predictions/bias",
                                        "predictions/kernel"]
    assert model.output_dense.kernel_initializer.__class__.__name__ == (
        "GlorotUniform")
    stored = hotdog.model(recipe.config, CLASSES).backbone.get_weights()
    scratch = hotdog.model(
        recipe.config.__class__(preset=tiny_resnet, pretrained=False),
        CLASSES)
    assert not np.allclose(scratch.backbone.get_weights()[0], stored[0])


def test_hotdog_converter_resizes_to_the_configured_image_size(
        tiny_resnet, hotdog_dir):
    """Crops of `image_size` reach the backbone at that size: the preset's
    converter (32 here, 224 for ImageNet presets) must not resize them."""
    from recipes import hotdog

    recipe = hotdog.recipe().replace(preset=tiny_resnet, image_size=24)
    model = hotdog.model(recipe.config, CLASSES)
    assert tuple(model.preprocessor.image_converter.image_size) == (24, 24)
    images = np.random.default_rng(0).uniform(0, 255, (2, 24, 24, 3))
    out = model.preprocessor.image_converter(images.astype("float32"))
    assert tuple(out.shape) == (2, 24, 24, 3)


@pytest.fixture
def photos_and_a_corrupt_file(tmp_path, hotdog_dir):
    """Four real photos per class, and one file that is no image."""
    import shutil

    for name in ("hotdog", "not-hotdog"):
        source = Path(hotdog_dir) / "train" / name
        target = tmp_path / "photos" / "train" / name
        target.mkdir(parents=True)
        for photo in sorted(source.glob("*.jpg"))[:4]:
            shutil.copy(photo, target / photo.name)
    broken = tmp_path / "photos" / "train" / "hotdog" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return str(tmp_path / "photos"), str(broken)


def test_hotdog_strict_true_stops_at_a_corrupt_image(
        photos_and_a_corrupt_file, tiny_resnet, tmp_path, capsys):
    photos, broken = photos_and_a_corrupt_file
    argv = ["run", str(ROOT / "recipes" / "hotdog.py"), f"data_dir={photos}",
            f"preset={tiny_resnet}", "image_size=32", "strict=true",
            f"output_dir={tmp_path / 'run'}"]
    assert main(argv=argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"kft: error: {broken} ")
    assert "does not decode" in err[0] and "strict=False" in err[0]
    assert not (tmp_path / "run").exists()


def test_hotdog_skips_a_corrupt_image_with_a_warning_and_a_count(
        photos_and_a_corrupt_file, tiny_resnet, tmp_path):
    from recipes import hotdog

    photos, broken = photos_and_a_corrupt_file
    recipe = hotdog.recipe().replace(
        data_dir=photos, preset=tiny_resnet, image_size=32, epochs=1,
        batch_size=4, verbose=0, output_dir=str(tmp_path / "run"))
    with pytest.warns(UserWarning, match="skipped 1 unreadable image") as seen:
        result = kft.train(recipe)
    assert broken in str(seen[0].message)
    assert np.isfinite(result.metrics["loss"])
    metrics = kft.rundir.read_json(str(tmp_path / "run" / "metrics.json"))
    assert metrics["train_examples"] + metrics["validation_examples"] == 8


@pytest.mark.backend_free  # configs compared; each trains on every backend
@pytest.mark.parametrize("task, general", [("mrpc", "text_classifier"),
                                           ("hotdog", "image_classifier")])
def test_a_task_recipe_is_its_general_recipe_with_its_settings(
        task, general, tiny_overrides, tmp_path):
    """The general recipe, given as overrides every setting in which the
    task's config differs from its own, trains to the same metrics and
    history (to 1e-6) as the task recipe. tools/parity.py compares both
    with the task recipes of kft before they became configs."""
    import dataclasses

    task_recipe = importlib.import_module(f"recipes.{task}").recipe()
    general_recipe = importlib.import_module(f"recipes.{general}").recipe()
    own = dataclasses.asdict(task_recipe.config)
    changed = {k: v for k, v in own.items()
               if dataclasses.asdict(general_recipe.config)[k] != v}
    assert changed  # e.g. text_columns=sentence1,sentence2
    shared = dict(tiny_overrides[task], epochs=2, limit=16, batch_size=8,
                  verbose=0)
    results = []
    for recipe, settings in ((task_recipe, shared),
                             (general_recipe, {**changed, **shared})):
        out = str(tmp_path / recipe.name)
        results.append(kft.train(recipe.replace(**settings, output_dir=out)))
    first, second = results
    assert set(first.metrics) == set(second.metrics)
    for key, value in first.metrics.items():
        assert second.metrics[key] == pytest.approx(value, abs=1e-6), key
    for key, values in first.history.items():
        np.testing.assert_allclose(second.history[key], values, atol=1e-6)
