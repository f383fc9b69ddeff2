import os
import subprocess
import sys

import pytest

from kft import KftError, TrainConfig, backend
from kft.errors import EXIT_OK
from kft.runtime import setup


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


@pytest.mark.integration
@pytest.mark.backend_free  # a child per backend, whatever the pass
@pytest.mark.parametrize("name", backend.BACKENDS)
def test_select_before_import_decides_the_backend(name):
    code = ("import kft, sys\n"
            "assert 'keras' not in sys.modules, 'import kft loaded keras'\n"
            f"kft.backend.select({name!r})\n"
            "import keras\nprint(keras.backend.backend())\n")
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    out = subprocess.run([sys.executable, "-c", code], env=env, text=True,
                         capture_output=True, timeout=300)
    assert out.returncode == EXIT_OK, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == name


def test_configure_seeds_and_sets_precision():
    import keras
    import numpy as np

    try:
        setup.configure(TrainConfig(seed=3, precision="mixed_bfloat16"))
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
        first = np.random.rand()
        setup.configure(TrainConfig(seed=3))
        assert np.random.rand() == first
        assert keras.config.dtype_policy().name == "float32"
    finally:
        keras.config.set_dtype_policy("float32")


@pytest.mark.integration
@pytest.mark.one_backend("jax")
def test_one_device_jax_draws_sequential_threefry_bits():
    # A fresh jax process: other tests change jax's flags in this one.
    code = (
        "import kft\n"
        "kft.backend.select('jax')\n"
        "import jax, keras, numpy as np\n"
        "from kft import TrainConfig\nfrom kft.runtime import setup\n"
        "def mask():\n"
        "    x = keras.ops.ones((64, 64))\n"
        "    gen = keras.random.SeedGenerator(5)\n"
        "    f = jax.jit(lambda: keras.random.dropout(x, 0.5, seed=gen))\n"
        "    return np.asarray(f())\n"
        "setup.configure(TrainConfig(seed=1))\n"
        "assert not jax.config.jax_threefry_partitionable\n"
        "assert setup.describe(1)['random'] == {\n"
        "    'prng': 'threefry2x32', 'threefry_partitionable': False}\n"
        "one = mask()\n"
        "assert setup.random_bits(2)['threefry_partitionable']\n"
        "many = mask()\n"
        "assert setup.random_bits(1) == {\n"
        "    'prng': 'threefry2x32', 'threefry_partitionable': False}\n"
        "assert (mask() == one).all(), 'the same setting draws the same'\n"
        "assert (one != many).any(), 'the setting did not reach keras'\n"
        "print('ok')\n")
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    out = subprocess.run([sys.executable, "-c", code], env=env, text=True,
                         capture_output=True, timeout=300)
    assert out.returncode == EXIT_OK, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "ok"


def test_random_bits_changes_only_jax():
    expected = {} if backend.current() != "jax" else {
        "prng": "threefry2x32", "threefry_partitionable": False}
    assert setup.random_bits(1) == expected
    assert setup.describe(seed=1)["random"] == expected


def test_describe_names_backend_versions_and_seed():
    info = setup.describe(seed=7)
    assert info["backend"] == backend.current()
    assert info["seed"] == 7
    assert info["versions"]["keras"] and info["versions"]["keras_hub"]
    assert info["versions"][backend.current()]
    assert info["devices"]


def test_mixed_bfloat16_keeps_variables_in_float32(tiny_bert, mrpc_dir,
                                                   tmp_path):
    import keras
    import numpy as np

    import kft
    from recipes import mrpc

    recipe = mrpc.recipe().replace(
        preset=tiny_bert, data_dir=mrpc_dir, limit=16, epochs=1,
        batch_size=8, verbose=0, precision="mixed_bfloat16",
        output_dir=str(tmp_path / "run"))
    try:
        result = kft.train(recipe)
        layer = result.model.backbone.get_layer("transformer_layer_0")
        assert layer.compute_dtype == "bfloat16"
        assert {v.dtype for v in result.model.weights} == {"float32"}
        assert np.isfinite(result.metrics["loss"])
    finally:
        keras.config.set_dtype_policy("float32")
