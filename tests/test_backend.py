import os
import subprocess
import sys

import pytest

from kft import KftError, TrainConfig, backend


def test_unknown_backend_lists_the_known_ones():
    with pytest.raises(KftError, match="unknown backend 'pytorch'.*torch"):
        backend.select("pytorch")


def test_selecting_the_loaded_backend_is_fine():
    import keras

    assert backend.select(keras.backend.backend()) == backend.current()


def test_selecting_another_backend_after_import_keras_fails_loudly():
    import keras

    other = next(b for b in backend.BACKENDS if b != keras.backend.backend())
    with pytest.raises(KftError, match="already imported with backend"):
        backend.select(other)


@pytest.mark.parametrize("name", backend.BACKENDS)
def test_select_before_import_decides_the_backend(name):
    code = ("import kft, sys\n"
            "assert 'keras' not in sys.modules, 'import kft loaded keras'\n"
            f"kft.backend.select({name!r})\n"
            "import keras\nprint(keras.backend.backend())\n")
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    out = subprocess.run([sys.executable, "-c", code], env=env, text=True,
                         capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == name


def test_configure_seeds_and_sets_precision():
    import keras
    import numpy as np

    try:
        backend.configure(TrainConfig(seed=3, precision="mixed_bfloat16"))
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
        first = np.random.rand()
        backend.configure(TrainConfig(seed=3))
        assert np.random.rand() == first
        assert keras.config.dtype_policy().name == "float32"
    finally:
        keras.config.set_dtype_policy("float32")


def test_describe_names_backend_versions_and_seed():
    info = backend.describe(seed=7)
    assert info["backend"] == backend.current()
    assert info["seed"] == 7
    assert info["versions"]["keras"] and info["versions"]["keras_hub"]
    assert info["versions"][backend.current()]
    assert info["devices"]
