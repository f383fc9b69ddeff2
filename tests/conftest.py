"""Shared fixtures: tiny presets built once per session, real data paths.

The backend is fixed per process (`KERAS_BACKEND`); CI runs the whole suite
once per backend. Tests that need another backend use a subprocess.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def pytest_addoption(parser):
    parser.addoption("--run-large", action="store_true",
                     help="also run tests marked large (downloads, long)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-large"):
        return
    skip = pytest.mark.skip(reason="large: needs --run-large")
    for item in items:
        if "large" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def backend():
    from kft.backend import current

    return current()


@pytest.fixture(scope="session")
def mrpc_dir():
    return _shared("mrpc")


@pytest.fixture(scope="session")
def sst2_dir():
    return _shared("sst2")


def _shared(name):
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.fail(f"{path} is missing: tests read real data from "
                    "../shared/data beside the repository")
    return str(path)


@pytest.fixture(scope="session")
def hotdog_dir():
    return _shared("hotdog")


@pytest.fixture(scope="session")
def tiny_resnet(tmp_path_factory):
    """A 2-stage random ResNet image-classifier preset folder (32x32)."""
    from kft.testing import tiny_image_preset

    return tiny_image_preset(str(tmp_path_factory.mktemp("tiny_resnet")))


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """A 2-layer, hidden-size-16 random BERT classifier preset folder."""
    from kft.testing import tiny_text_preset

    return tiny_text_preset(str(tmp_path_factory.mktemp("tiny_bert")))


@pytest.fixture(scope="session")
def tiny_mrpc_run(tiny_bert, mrpc_dir, tmp_path_factory):
    """A finished 2-epoch MRPC run of the tiny BERT: a `kft.Result`."""
    import kft
    from recipes import mrpc

    out = str(tmp_path_factory.mktemp("run") / "mrpc")
    recipe = mrpc.recipe().replace(
        preset=tiny_bert, data_dir=mrpc_dir, limit=32, epochs=2,
        batch_size=8, learning_rate=1e-3, verbose=0, output_dir=out)
    return kft.train(recipe)


@pytest.fixture(scope="session")
def tiny_sst2_run(tiny_bert, sst2_dir, tmp_path_factory):
    """A finished 1-epoch SST-2 run of the tiny BERT: a `kft.Result`."""
    import kft
    from recipes import sst2

    out = str(tmp_path_factory.mktemp("run") / "sst2")
    recipe = sst2.recipe().replace(
        preset=tiny_bert, data_dir=sst2_dir, limit=16, epochs=1,
        batch_size=8, learning_rate=1e-3, verbose=0, output_dir=out)
    return kft.train(recipe)


@pytest.fixture(scope="session")
def tiny_hotdog_run(tiny_resnet, hotdog_dir, tmp_path_factory):
    """A finished 1-epoch hot-dog run of the tiny ResNet on 32x32 crops of
    8 photos per split: a `kft.Result`."""
    import kft
    from recipes import hotdog

    out = str(tmp_path_factory.mktemp("run") / "hotdog")
    recipe = hotdog.recipe().replace(
        preset=tiny_resnet, data_dir=hotdog_dir, limit=8, image_size=32,
        epochs=1, batch_size=4, verbose=0, output_dir=out)
    return kft.train(recipe)


def next_backend(backend):
    """The backend a cross-backend test compares with. Each CI run checks
    the next one, so the three runs together cover every pair."""
    from kft.backend import BACKENDS

    return BACKENDS[(BACKENDS.index(backend) + 1) % len(BACKENDS)]


def run_kft(*args, backend=None, env=None, timeout=600, cwd=ROOT):
    """Runs `python -m kft ARGS` in a subprocess; returns CompletedProcess."""
    environ = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    if backend:
        environ["KERAS_BACKEND"] = backend
    return subprocess.run(
        [sys.executable, "-m", "kft", *args], capture_output=True,
        text=True, env=environ, timeout=timeout, cwd=cwd,
    )


@pytest.fixture(scope="session")
def hotdog_photos(hotdog_dir, tmp_path_factory):
    """A folder `train/<class>/` of 8 real photos per class (symlinks into
    ../shared/data/hotdog), without `validation/`: runs carve it."""
    root = tmp_path_factory.mktemp("hotdog_photos")
    train = os.path.join(hotdog_dir, "train")
    for name in sorted(os.listdir(train)):
        os.makedirs(root / "train" / name)
        for photo in sorted(os.listdir(os.path.join(train, name)))[:8]:
            os.symlink(os.path.join(train, name, photo),
                       root / "train" / name / photo)
    return str(root)
