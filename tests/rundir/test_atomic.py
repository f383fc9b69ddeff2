"""kft/rundir/atomic.py: a file is replaced whole or not at all."""

import os

import pytest

from kft.rundir import atomic

pytestmark = pytest.mark.backend_free  # no backend-dependent code


def test_writing_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = str(tmp_path / "a.txt")
    for text in ("first", "second"):
        with atomic.writing(path, "w") as f:
            f.write(text)
    assert open(path).read() == "second"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_a_failure_while_writing_keeps_the_old_file(tmp_path):
    path = str(tmp_path / "a.txt")
    with atomic.writing(path, "w") as f:
        f.write("good")
    with pytest.raises(RuntimeError), atomic.writing(path, "w") as f:
        f.write("half")
        raise RuntimeError("killed")
    assert open(path).read() == "good"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_the_temporary_file_is_hidden_beside_the_target(tmp_path):
    name = atomic.temporary_name(str(tmp_path / "model.keras"), ".keras")
    assert name == str(tmp_path / ".model.keras.partial.keras")


def test_leftovers_of_a_cut_short_write_are_removed(tmp_path):
    (tmp_path / ".backup.npz.partial").write_bytes(b"half")
    (tmp_path / ".model.keras.partial.keras").write_bytes(b"half")
    (tmp_path / "config.json").write_text("{}")
    atomic.remove_leftovers(str(tmp_path))
    assert os.listdir(tmp_path) == ["config.json"]
