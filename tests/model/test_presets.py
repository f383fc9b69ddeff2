import pytest

from kft import KftError
from kft.model.presets import check


def test_preset_names_pass_unchecked():
    check("bert_base_en_uncased")


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(KftError, match="no such folder"):
        check(str(tmp_path / "missing"))


def test_folder_without_model_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(KftError, match="holds no model"):
        check(str(tmp_path))


def test_tiny_preset_passes(tiny_bert):
    check(tiny_bert)
