"""Shared fixtures: tiny presets and tiny data, built once per session.

Tiers (markers), so a developer can run part of the suite:

- `unit`: fast, in-process; every test without another tier marker;
- `integration`: trains or loads a tiny model (any test using a fixture
  of `MODEL_FIXTURES`), or runs `kft` or a backend in a subprocess;
- `multiprocess`: several processes train together (distribution);
- `real_data`: reads ../shared/data beside the repository. Without that
  folder these tests are deselected, and the run says so.

Which backend's pass runs a test, when `tools/test.sh` runs the suite once
per backend (it sets `KFT_TEST_PASSES`, e.g. `torch jax tensorflow`):

- `backend_free`: the test does not depend on the backend (pure Python, or
  a subprocess that picks its own backends): only the first pass runs it;
- `one_backend("jax")`: the test needs that backend, or pins it in a
  subprocess: only that backend's pass runs it, and a run on another
  backend deselects it (a plain `pytest` too); `one_backend("tensorflow",
  "torch")`: only those backends' passes;
- every other test runs in every pass.

A plain `pytest` (no `KFT_TEST_PASSES`) runs every other test. Deselected
tests are counted in the summary, never reported as skipped or passed.

    bash tools/test.sh torch -m unit               # the fast tier
    bash tools/test.sh torch -m "not real_data"    # from a clean clone

The backend is fixed per process (`KERAS_BACKEND`); CI runs the whole suite
once per backend. Tests that need another backend use a subprocess.
"""

import os

import pytest
from support import ASSETS, SHARED_DATA

from kft.runtime.backend import current_name

TIERS = ("integration", "multiprocess")
# A test that uses one of these fixtures (directly or through another)
# builds or trains a model: it is `integration` without saying so.
MODEL_FIXTURES = {"tiny_bert", "tiny_resnet", "lite0", "tiny_mrpc_run",
                  "tiny_sst2_run", "tiny_hotdog_run"}
_deselected = []
_elsewhere = []


def pytest_addoption(parser):
    parser.addoption(
        "--passes", default=os.environ.get("KFT_TEST_PASSES", ""),
        help="the backends whose passes run the suite, first one first "
             "(tools/test.sh sets it); backend_free tests run in the first "
             "pass only, one_backend(B) tests in B's pass")


def _passes_of(item, passes):
    """The backends whose passes run `item`, or None for every pass."""
    pinned = item.get_closest_marker("one_backend")
    if pinned is not None:
        return set(pinned.args)
    if item.get_closest_marker("backend_free") is not None and passes:
        return {passes[0]}
    return None


def _other_passes(config, items):
    """Deselects the tests that another backend's pass runs."""
    passes = config.getoption("--passes").split()
    here = current_name() or "tensorflow"  # Keras's default
    elsewhere = [i for i in items
                 if here not in (_passes_of(i, passes) or {here})]
    if elsewhere:
        _elsewhere.extend(elsewhere)
        gone = set(elsewhere)
        items[:] = [i for i in items if i not in gone]
        config.hook.pytest_deselected(items=elsewhere)


def pytest_collection_modifyitems(config, items):
    _other_passes(config, items)
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())) and (
                "multiprocess" not in item.keywords):
            item.add_marker(pytest.mark.integration)
        if not any(t in item.keywords for t in TIERS):
            item.add_marker(pytest.mark.unit)
    if not SHARED_DATA.is_dir():
        real = [i for i in items if "real_data" in i.keywords]
        if real:
            _deselected.extend(real)
            items[:] = [i for i in items if "real_data" not in i.keywords]
            config.hook.pytest_deselected(items=real)


def pytest_report_header(config):
    found = "found" if SHARED_DATA.is_dir() else "missing"
    return f"real data: {SHARED_DATA} ({found})"


def pytest_terminal_summary(terminalreporter):
    if _deselected:
        terminalreporter.write_line(
            f"deselected {len(_deselected)} real_data test(s): "
            f"{SHARED_DATA} is missing (they read the real MRPC, SST-2 "
            "and hot-dog data); CI runs them")
    if _elsewhere:
        terminalreporter.write_line(
            f"deselected {len(_elsewhere)} test(s) that another backend's "
            "pass runs (backend_free, one_backend)")


@pytest.fixture(scope="session")
def backend():
    from kft.runtime.backend import current

    return current()


@pytest.fixture(scope="session")
def mrpc_dir():
    """Tiny invented sentence pairs in GLUE MRPC format (tests/assets)."""
    return str(ASSETS / "pairs")


@pytest.fixture(scope="session")
def sst2_dir():
    """Tiny invented sentences in GLUE SST-2 format (tests/assets)."""
    return str(ASSETS / "sentences")


@pytest.fixture(scope="session")
def topics_dir():
    """Tiny invented 4-topic texts as CSV, string labels (tests/assets)."""
    return str(ASSETS / "topics")


@pytest.fixture(scope="session")
def hotdog_dir(tmp_path_factory):
    """A folder `train/{hotdog,not-hotdog}/` of 12 drawn images each."""
    from assets.images import write_image_folder

    return write_image_folder(tmp_path_factory.mktemp("hotdog"),
                              splits=(("train", 12),))


@pytest.fixture(scope="session")
def hotdog_photos(tmp_path_factory):
    """A folder `train/{hotdog,not-hotdog}/` of 8 drawn images each,
    without `validation/`: runs carve it."""
    from assets.images import write_image_folder

    return write_image_folder(tmp_path_factory.mktemp("photos"),
                              splits=(("train", 8),), seed=1)


def _shared(name):
    return str(SHARED_DATA / name)


@pytest.fixture(scope="session")
def real_mrpc_dir():
    return _shared("mrpc")


@pytest.fixture(scope="session")
def real_sst2_dir():
    return _shared("sst2")


@pytest.fixture(scope="session")
def real_hotdog_dir():
    return _shared("hotdog")


@pytest.fixture(scope="session")
def tiny_resnet(tmp_path_factory):
    """A 2-stage random ResNet image-classifier preset folder (32x32)."""
    from kft.model.tiny import tiny_image_preset

    return tiny_image_preset(str(tmp_path_factory.mktemp("tiny_resnet")))


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """A 2-layer, hidden-size-16 random BERT classifier preset folder."""
    from kft.model.tiny import tiny_text_preset

    return tiny_text_preset(str(tmp_path_factory.mktemp("tiny_bert")))


@pytest.fixture(scope="session")
def tiny_mrpc_run(tiny_bert, mrpc_dir, tmp_path_factory):
    """A finished 2-epoch MRPC-format run of the tiny BERT: a `Result`."""
    import kft
    from recipes import mrpc

    out = str(tmp_path_factory.mktemp("run") / "mrpc")
    recipe = mrpc.recipe().replace(
        preset=tiny_bert, data_dir=mrpc_dir, limit=32, epochs=2,
        batch_size=8, learning_rate=1e-3, verbose=0, output_dir=out)
    return kft.train(recipe)


@pytest.fixture(scope="session")
def tiny_sst2_run(tiny_bert, sst2_dir, tmp_path_factory):
    """A finished 1-epoch SST-2-format run of the tiny BERT: a `Result`."""
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
    8 drawn images per split: a `Result`."""
    import kft
    from recipes import hotdog

    out = str(tmp_path_factory.mktemp("run") / "hotdog")
    recipe = hotdog.recipe().replace(
        preset=tiny_resnet, data_dir=hotdog_dir, limit=8, image_size=32,
        epochs=1, batch_size=4, verbose=0, output_dir=out)
    return kft.train(recipe)


def pytest_configure(config):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
