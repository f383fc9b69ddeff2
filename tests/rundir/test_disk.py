"""kft/rundir/disk.py: a run refuses to start on a disk without room for its
files."""

import shutil
from collections import namedtuple

import pytest
from support import ROOT

from kft import KftError
from kft.commands.cli import main
from kft.errors import EXIT_BAD_INPUT
from kft.rundir import disk

Usage = namedtuple("Usage", "total used free")


def test_needed_bytes_counts_model_backup_and_a_temporary_copy():
    import keras

    from kft.config.recipe import TrainConfig

    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(4),
                              keras.layers.Dense(2)])
    model.layers[0].trainable = False
    weights = 4 * (10 * 4 + 4 + 4 * 2 + 2)  # float32 bytes
    trainable = 4 * (4 * 2 + 2)
    adamw = TrainConfig(optimizer="adamw")
    assert disk.needed_bytes(model, adamw) == (
        weights + 2 * (2 * weights + 2 * trainable))
    sgd = TrainConfig(optimizer="sgd", momentum=0.0)
    assert disk.needed_bytes(model, sgd) == weights + 2 * (2 * weights)


def test_a_full_disk_fails_at_start_up_with_a_clear_message(
        tiny_bert, mrpc_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "disk_usage",
                        lambda path: Usage(10 << 30, 10 << 30, 10 << 10))
    out = tmp_path / "run"
    argv = ["run", str(ROOT / "recipes" / "mrpc.py"), f"preset={tiny_bert}",
            f"data_dir={mrpc_dir}", "limit=8", f"output_dir={out}"]
    assert main(argv=argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        f"kft: error: output_dir='{out}': its disk has 10 KB free, and this "
        "run needs about ")
    assert "free some space or choose another output_dir" in err[0]
    assert not out.exists()


def test_enough_space_passes(tmp_path, monkeypatch):
    import keras

    from kft.config.recipe import TrainConfig

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    cfg = TrainConfig()
    need = disk.needed_bytes(model, cfg)
    monkeypatch.setattr(shutil, "disk_usage",
                        lambda path: Usage(need, 0, need))
    disk.check_space(str(tmp_path / "new" / "run"), model, cfg)
    monkeypatch.setattr(shutil, "disk_usage",
                        lambda path: Usage(need, 0, need - 1))
    with pytest.raises(KftError, match="its disk has"):
        disk.check_space(str(tmp_path / "new" / "run"), model, cfg)
