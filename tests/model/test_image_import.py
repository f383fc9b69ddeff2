"""kft/model/efficientnet_import.py: ImageNet EfficientNet-Lite0 from its
torch weights."""

import os
from pathlib import Path

import numpy as np
import pytest

from kft import KftError
from kft.model.efficientnet_import import (
    PACKAGE,
    find_state_dict,
    hotdog_top1,
    timm_weights,
)
from kft.model.importer import import_preset


@pytest.fixture(scope="session")
def lite0(tmp_path_factory):
    """The real ImageNet weights, imported once (a dev dependency)."""
    out = tmp_path_factory.mktemp("lite0") / "preset"
    return import_preset(PACKAGE, str(out))


def test_the_package_ships_one_state_dict():
    path = find_state_dict(PACKAGE)
    assert path.endswith(".pth") and os.path.isfile(path)
    assert find_state_dict(path) == path
    assert find_state_dict("no-such-package-kft") is None


@pytest.mark.real_data
def test_real_weights_see_hot_dogs_as_imagenet_hotdogs(lite0,
                                                       real_hotdog_dir):
    """ImageNet class 934 at top-1: most hot dogs, no other photos.

    With TensorFlow "SAME" padding the weights give 0.72 on all 600 hot
    dogs (a plain-torch reference); KerasHub's symmetric padding gives
    0.63 on all 600, 0.0 on not-hotdog either way.
    """
    folder = Path(real_hotdog_dir) / "train"
    assert hotdog_top1(lite0, str(folder / "hotdog"), limit=96) >= 0.5
    assert hotdog_top1(lite0, str(folder / "not-hotdog"), limit=96) <= 0.02


def test_preset_fine_tunes_with_a_new_head(lite0):
    import keras_hub

    model = keras_hub.models.ImageClassifier.from_preset(lite0,
                                                         num_classes=2)
    converter = model.preprocessor.image_converter
    assert converter.scale[0] == pytest.approx(1 / 128)
    assert converter.offset[0] == pytest.approx(-127 / 128)
    logits = model.predict(np.full((1, 224, 224, 3), 127.0), verbose=0)
    assert logits.shape == (1, 2)


def test_running_variance_absorbs_the_trained_epsilon():
    import torch

    state = {"_bn0.running_var": torch.ones(4),
             "_blocks.1._project_conv.weight": torch.zeros(2, 3, 1, 1),
             "_bn0.num_batches_tracked": torch.tensor(1)}
    out = timm_weights(state)
    np.testing.assert_allclose(out["bn1.running_var"], 1 + 1e-3 - 1e-5)
    assert out["blocks.1.0.conv_pwl.weight"].shape == (2, 3, 1, 1)
    assert "bn1.num_batches_tracked" not in out


def test_channels_last_tensors_keep_their_values():
    import torch

    weight = torch.arange(24.0).reshape(2, 3, 2, 2)
    stored = weight.to(memory_format=torch.channels_last)
    out = timm_weights({"_conv_stem.weight": stored})["conv_stem.weight"]
    np.testing.assert_array_equal(out, weight.numpy())
    assert out.flags["C_CONTIGUOUS"]


def test_a_foreign_state_dict_is_refused():
    import torch

    with pytest.raises(KftError, match="'layer1.0.conv1.weight'.*not an "):
        timm_weights({"layer1.0.conv1.weight": torch.zeros(1)})


def test_a_corrupt_file_names_itself(tmp_path):
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(KftError, match="broken.pth is not a readable"):
        import_preset(str(bad), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


class _RunsCode:
    """Unpickling this calls `open(path, "w")`: code in a state dict."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_state_dict_with_code_is_refused_unrun(tmp_path):
    import torch

    marker = str(tmp_path / "code-ran")
    hostile = tmp_path / "hostile.pth"
    torch.save({"_bn0.running_var": torch.ones(4), "x": _RunsCode(marker)},
               hostile)
    # The file really is dangerous: a plain unpickling runs its code.
    torch.load(hostile, weights_only=False)
    assert os.path.exists(marker)
    os.remove(marker)
    with pytest.raises(KftError, match=r"^refused to load .*hostile.pth: it "
                       r"holds Python objects \(io.open\) besides tensors, "
                       "and kft reads torch files with weights_only=True"):
        import_preset(str(hostile), str(tmp_path / "out"))
    assert not os.path.exists(marker)
    assert not (tmp_path / "out").exists()
