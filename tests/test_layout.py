"""The package's shape: `import kft` stays light, the public names work,
and the wheel claims no generic top-level name."""

import os
import subprocess
import sys

import pytest
from support import ROOT

from kft.errors import EXIT_OK

pytestmark = pytest.mark.backend_free  # no backend-dependent code

HEAVY = ("keras", "keras_hub", "tensorflow", "torch", "jax", "matplotlib",
         "keras_tuner")
LIGHT = """
import sys
{imports}
print(sorted(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize("imports", [
    "import kft",
    "import kft.commands.cli",
    "import kft; kft.data, kft.model, kft.Recipe, kft.TrainConfig",
    "from kft import config, rundir, runtime, data, model, commands",
    "from kft.sweep import search, trials; from kft.evaluation import export",
    "from kft.runtime import process; import kft.runtime.distribute.launch",
])
def test_import_kft_loads_no_heavy_module(imports):
    done = subprocess.run(
        [sys.executable, "-c", LIGHT.format(imports=imports, heavy=HEAVY)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"})
    assert done.returncode == EXIT_OK, done.stderr
    assert done.stdout.split("\n")[-2] == "[]"


def test_public_names_keep_working():
    import kft

    for name in ("train", "Recipe", "TrainConfig", "Result", "KftError",
                 "evaluate", "load_model", "main", "backend", "data",
                 "model", "__version__"):
        assert hasattr(kft, name), name
    assert callable(kft.backend.select) and callable(kft.data.glue)
    assert callable(kft.model.text_classifier)


def test_the_package_ships_kft_only():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'include = ["kft*"]' in text
    assert '"torch>=2.13,<2.14"' in text and '"jax>=0.10,<0.11"' in text
