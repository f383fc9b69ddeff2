"""The README's "Your own data" examples, run as written: each bash block
marked `<!-- tested: tests/test_readme.py NAME -->`, in a fresh folder
where `presets/minilm` and `presets/lite0` are the tiny presets and `kft`
is this checkout's `python -m kft`, on the first pass's backend."""

import json
import os
import re
import shutil
import subprocess

import pytest
from assets.images import write_image_folder
from support import ROOT

from kft.errors import EXIT_OK

# The examples name no backend: run as written once, in the first pass (the
# commands they use are tested on every backend elsewhere).
pytestmark = [pytest.mark.integration, pytest.mark.backend_free]
PRELUDE = 'set -euo pipefail\nkft() { python -m kft "$@"; }\n'


def block(name):
    """The bash block after the README's `tested: ... NAME` marker."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- tested: tests/test_readme\.py " + name
                      + r" -->\n```bash\n(.*?)```", text, re.S)
    assert found, f"README.md has no tested block {name!r}"
    return found.group(1)


def run_block(name, folder, backend):
    (folder / "recipes").symlink_to(ROOT / "recipes")
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join(
                   [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(["bash", "-c", PRELUDE + block(name)], cwd=folder,
                          env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == EXIT_OK, done.stderr[-3000:]
    return done.stdout


def presets(folder, **found):
    (folder / "presets").mkdir()
    for name, path in found.items():
        (folder / "presets" / name).symlink_to(path)


def test_the_csv_example(tmp_path, tiny_bert, backend):
    presets(tmp_path, minilm=tiny_bert)
    out = run_block("csv", tmp_path, backend)
    run = tmp_path / "runs" / "tickets"
    config = json.loads((run / "config.json").read_text())
    assert config["inputs"]["class_names"] == ["billing", "bug", "login"]
    result = json.loads((run / "eval-test.json").read_text())
    assert result["examples"] == 3 and len(result["per_class"]) == 3
    assert (run / "eval-test-confusion.png").exists()
    header, row = out.strip().splitlines()[-2:]
    assert header.split("\t") == ["label", "p_billing", "p_bug", "p_login",
                                  "body"]
    assert row.split("\t")[0] in ("billing", "bug", "login")
    assert row.endswith("My card was billed twice")


def test_the_image_folder_example(tmp_path, tiny_resnet, backend):
    presets(tmp_path, lite0=tiny_resnet)
    classes = ("cat", "dog", "fox")
    write_image_folder(tmp_path / "photos", classes=classes,
                       splits=(("train", 8),))
    write_image_folder(tmp_path / "held_out", classes=classes[:2],
                       splits=(("test", 3),), seed=5)
    shutil.copy(tmp_path / "held_out" / "test" / "dog" / "dog_000.jpg",
                tmp_path / "photo.jpg")
    out = run_block("images", tmp_path, backend)
    run = tmp_path / "runs" / "pets"
    result = json.loads((run / "eval-test.json").read_text())
    assert result["class_names"] == list(classes)
    assert result["examples"] == 6
    assert [r["support"] for r in result["per_class"]] == [3, 3, 0]
    header, row = out.strip().splitlines()[-2:]
    assert header.split("\t") == ["label", "p_cat", "p_dog", "p_fox",
                                  "image"]
    assert row.endswith("photo.jpg")
