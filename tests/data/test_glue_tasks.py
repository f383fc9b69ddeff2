"""kft/data/glue_tasks.py: the local TSV source, its bad-input errors,
and TFDS."""

import os
import subprocess
import sys

import numpy as np
import pytest

from kft import KftError
from kft.data import glue, read_glue_tsv

pytestmark = pytest.mark.backend_free  # no backend-dependent code

HEADER = "label\tsentence1\tsentence2\tidx\n"


def write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return str(folder / name)


def mrpc_folder(tmp_path, train=None, validation=None):
    rows = HEADER + '1\tHe said " yes " .\tHe said yes .\t0\n'
    rows += "0\tA cat .\tA dog .\t1\n"
    write(tmp_path, "train.tsv", train if train is not None else rows)
    write(tmp_path, "validation.tsv",
          validation if validation is not None else rows)
    return str(tmp_path)


@pytest.mark.real_data
def test_reads_the_real_mrpc_splits_with_quoting_off(real_mrpc_dir):
    splits = glue("mrpc", data_dir=real_mrpc_dir)
    assert (len(splits.train), len(splits.validation)) == (3668, 408)
    assert splits.test is None
    first, second = splits.train.x
    assert first[0].startswith("Amrozi accused his brother")
    assert '" the witness "' in first[0]
    assert int(splits.train.y.sum()) == 2474  # SOURCE.md: 2474 positives
    assert int(splits.validation.y.sum()) == 279


@pytest.mark.real_data
def test_reads_real_sst2_single_sentences(real_sst2_dir):
    splits = glue("sst2", data_dir=real_sst2_dir, limit=10)
    assert len(splits.train) == 10 and len(splits.validation) == 10
    assert splits.train.x[0] == "hide new secretions from the parental units "


def test_tiny_pairs_keep_bare_quotes(mrpc_dir):
    splits = glue("mrpc", data_dir=mrpc_dir)
    assert (len(splits.train), len(splits.validation)) == (64, 32)
    first, _ = splits.train.x
    assert any(s.startswith('he said " ') for s in first)


def test_limit_takes_the_first_examples(mrpc_dir):
    full = glue("mrpc", data_dir=mrpc_dir)
    cut = glue("mrpc", data_dir=mrpc_dir, limit=5)
    assert list(cut.train.x[1]) == list(full.train.x[1][:5])
    assert list(cut.validation.y) == list(full.validation.y[:5])


def test_bare_quotes_do_not_merge_rows(tmp_path):
    path = write(tmp_path, "t.tsv",
                 HEADER + '1\t" a\tb "\t0\n0\tc\td\t1\n')
    x, y, _ = read_glue_tsv(path, ("sentence1", "sentence2"), ("0", "1"))
    assert list(x[0]) == ['" a', "c"] and list(y) == [1, 0]


def test_optional_test_split_is_read(tmp_path):
    folder = mrpc_folder(tmp_path)
    write(tmp_path, "test.tsv", HEADER + "1\ta\tb\t0\n")
    assert len(glue("mrpc", data_dir=folder).test) == 1


def test_missing_folder_names_it_and_data_dir(tmp_path):
    with pytest.raises(KftError, match="nowhere.*not a folder.*data_dir="):
        glue("mrpc", data_dir=str(tmp_path / "nowhere"))


def test_missing_split_file_is_named(tmp_path):
    write(tmp_path, "train.tsv", HEADER + "1\ta\tb\t0\n")
    with pytest.raises(KftError, match=r"train\.tsv has no validation "
                                       r"split beside it; add a validation"):
        glue("mrpc", data_dir=str(tmp_path))


def test_wrong_column_count_names_file_and_line(tmp_path):
    folder = mrpc_folder(tmp_path, train=HEADER + "1\ta\tb\t0\n0\tonly\n")
    with pytest.raises(KftError, match=r"train\.tsv:3: expected 4 .* 2"):
        glue("mrpc", data_dir=folder)


def test_unknown_label_names_file_line_and_classes(tmp_path):
    folder = mrpc_folder(tmp_path,
                         validation=HEADER + "1\ta\tb\t0\n2\ta\tb\t1\n")
    with pytest.raises(KftError,
                       match=r"validation\.tsv:3: label '2' .*\(0, 1\)"):
        glue("mrpc", data_dir=folder)


def test_missing_header_column_is_named(tmp_path):
    folder = mrpc_folder(tmp_path, train="label\tsentence\n1\ta\n")
    with pytest.raises(KftError, match=r"train\.tsv has no column "
                       r"'sentence1' \(text_columns=\); its columns are: "
                       r"label, sentence$"):
        glue("mrpc", data_dir=folder)


@pytest.mark.parametrize("text, words", [
    ("", "is empty"), (HEADER, "no examples; the split is empty")])
def test_empty_split_is_refused(tmp_path, text, words):
    folder = mrpc_folder(tmp_path, train=text)
    with pytest.raises(KftError, match=words):
        glue("mrpc", data_dir=folder)


def test_unknown_task_lists_the_known_ones():
    with pytest.raises(KftError, match="unknown GLUE task 'cola'.*mrpc"):
        glue("cola", data_dir=".")


def test_failed_tfds_download_says_so_in_one_line(tmp_path):
    # An invalid proxy makes the download fail at once, as offline does
    # after TFDS's retries (about 3.5 minutes here).
    code = ("from kft.data import glue\n"
            "from kft import KftError\n"
            "try:\n glue('mrpc')\n"
            "except KftError as e:\n print('ERROR', e)\n")
    bad = "bogus://127.0.0.1:9"
    env = {"HTTPS_PROXY": bad, "HTTP_PROXY": bad,
           "TFDS_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, env=env, timeout=300).stdout
    lines = [line for line in out.splitlines() if line.startswith("ERROR")]
    assert len(lines) == 1, out
    assert "could not download glue/mrpc from TensorFlow Datasets" in lines[0]
    assert "data_dir=PATH" in lines[0]


def _train_only(tmp_path, mrpc_dir, rows=40):
    """A folder with only the first `rows` examples of MRPC's train.tsv."""
    lines = open(os.path.join(mrpc_dir, "train.tsv"),
                 encoding="utf-8").read().splitlines()[:rows + 1]
    write(tmp_path, "train.tsv", "\n".join(lines) + "\n")
    return str(tmp_path)


def test_validation_split_carves_a_seeded_stratified_split(tmp_path,
                                                           mrpc_dir):
    folder = _train_only(tmp_path, mrpc_dir)
    whole = read_glue_tsv(os.path.join(folder, "train.tsv"),
                          ("sentence1", "sentence2"), ("0", "1"))
    splits = glue("mrpc", data_dir=folder, validation_split=0.25, seed=3)
    counts = np.bincount(whole[1], minlength=2)
    assert list(np.bincount(splits.validation.y, minlength=2)) == [
        int(np.floor(0.25 * n + 0.5)) for n in counts]
    assert len(splits.train) + len(splits.validation) == 40
    seen = (sorted(zip(*splits.train.x, strict=True))
            + sorted(zip(*splits.validation.x, strict=True)))
    assert sorted(seen) == sorted(zip(*whole[0], strict=True))  # complete
    again = glue("mrpc", data_dir=folder, validation_split=0.25, seed=3)
    other = glue("mrpc", data_dir=folder, validation_split=0.25, seed=4)
    assert list(again.validation.x[0]) == list(splits.validation.x[0])
    assert list(other.validation.x[0]) != list(splits.validation.x[0])
    assert "validation_split=0.25" in splits.validation.source


def test_validation_split_is_unused_when_the_file_exists(tmp_path):
    folder = mrpc_folder(tmp_path)
    splits = glue("mrpc", data_dir=folder, validation_split=0.5)
    assert len(splits.train) == 2 and len(splits.validation) == 2


def test_missing_validation_file_suggests_validation_split(tmp_path):
    write(tmp_path, "train.tsv", HEADER + "1\ta\tb\t0\n")
    with pytest.raises(KftError, match=r"validation_split=F"):
        glue("mrpc", data_dir=str(tmp_path))


def test_a_class_too_small_to_carve_is_named(tmp_path):
    rows = "".join(f"0\tx{i}\ty{i}\t{i}\n" for i in range(5))
    write(tmp_path, "train.tsv", HEADER + rows + "1\ta\tb\t5\n")
    with pytest.raises(KftError, match=r"train\.tsv, label 1 has 1 "
                                       r"example.*leaves none for"):
        glue("mrpc", data_dir=str(tmp_path), validation_split=0.2)
