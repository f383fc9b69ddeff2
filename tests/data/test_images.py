"""kft/data/images.py: image folders, the stratified carve, bad files, and
the evaluation pipeline. Images are tiny, made per test with TF encoders."""

import os

import numpy as np
import pytest
import tensorflow as tf

from kft import KftError
from kft.data import Split
from kft.data.images import check_images, image_folder, image_split
from kft.data.pipelines import load_pipeline

pytestmark = pytest.mark.backend_free  # no backend-dependent code


def write_image(path, height=24, width=32, value=None, seed=0):
    """Writes a random (or constant `value`) RGB JPEG or PNG to `path`."""
    rng = np.random.default_rng(seed)
    if value is None:
        pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    else:
        pixels = np.full((height, width, 3), value, dtype=np.uint8)
    png = str(path).lower().endswith(".png")
    data = tf.io.encode_png(pixels) if png else tf.io.encode_jpeg(pixels)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.numpy())
    return str(path)


def make_split(root, counts, split="train", ext=".jpg"):
    """`root/split/<class>/<class>_<i><ext>` for each class and count."""
    for name, count in counts.items():
        for i in range(count):
            write_image(root / split / name / f"{name}_{i:02d}{ext}", seed=i)
    return str(root)


def class_of(path):
    return os.path.basename(os.path.dirname(path))


def test_class_order_labels_and_ignored_files(tmp_path):
    make_split(tmp_path, {"b_dog": 5, "a_cat": 5})
    make_split(tmp_path, {"b_dog": 2, "a_cat": 2}, split="validation")
    write_image(tmp_path / "train/a_cat/nested/deep.PNG")
    (tmp_path / "train/a_cat/notes.txt").write_text("not an image")
    write_image(tmp_path / "train/a_cat/._resource_fork.jpg")
    write_image(tmp_path / "train/.ipynb_checkpoints/x.jpg")
    splits = image_folder(str(tmp_path))
    assert splits.class_names == ("a_cat", "b_dog")
    assert len(splits.train) == 11 and len(splits.validation) == 4
    assert splits.test is None
    for split in (splits.train, splits.validation):
        names = [class_of(p).replace("nested", "a_cat") for p in split.x]
        assert [splits.class_names[y] for y in split.y] == names
        assert split.x.dtype == object and split.y.dtype == np.int32
    assert any(p.endswith("deep.PNG") for p in splits.train.x)


def test_carve_is_stratified_seeded_and_disjoint(tmp_path):
    make_split(tmp_path, {"cat": 10, "dog": 20})
    splits = image_folder(str(tmp_path), validation_split=0.2, seed=1)
    assert np.bincount(splits.validation.y).tolist() == [2, 4]
    assert np.bincount(splits.train.y).tolist() == [8, 16]
    train, val = set(splits.train.x), set(splits.validation.x)
    assert not train & val and len(train | val) == 30
    again = image_folder(str(tmp_path), validation_split=0.2, seed=1)
    assert list(again.validation.x) == list(splits.validation.x)
    assert list(again.train.x) == list(splits.train.x)
    other = image_folder(str(tmp_path), validation_split=0.2, seed=2)
    assert set(other.validation.x) != val


class ReversedScandir:
    """`os.scandir` listing in reverse, as a file system might; `os.walk`
    uses it too."""

    real = os.scandir

    def __init__(self, path="."):
        self.entries = iter(list(self.real(path))[::-1])

    def __iter__(self):
        return self

    def __next__(self):
        return next(self.entries)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_carve_ignores_listing_order(tmp_path, monkeypatch):
    make_split(tmp_path, {"cat": 6, "dog": 6})
    first = image_folder(str(tmp_path), validation_split=0.5)
    monkeypatch.setattr(os, "scandir", ReversedScandir)
    folder = tmp_path / "train/cat"
    real = [e.name for e in ReversedScandir.real(folder)]
    assert [e.name for e in os.scandir(folder)] == real[::-1]
    second = image_folder(str(tmp_path), validation_split=0.5)
    assert list(second.validation.x) == list(first.validation.x)
    assert list(second.train.x) == list(first.train.x)


def test_limit_keeps_a_class_mixed_prefix(tmp_path):
    make_split(tmp_path, {"cat": 10, "dog": 10})
    full = image_folder(str(tmp_path))
    cut = image_folder(str(tmp_path), limit=6)
    assert len(cut.train) == 6 and len(cut.validation) == 4
    assert list(cut.train.x) == list(full.train.x[:6])
    assert set(cut.train.y) == {0, 1}


def test_validation_and_test_folders_are_used_as_is(tmp_path):
    make_split(tmp_path, {"cat": 3, "dog": 4})
    make_split(tmp_path, {"cat": 1, "dog": 2}, split="validation")
    make_split(tmp_path, {"cat": 2, "dog": 1}, split="test", ext=".png")
    splits = image_folder(str(tmp_path), validation_split=0.5)
    assert len(splits.train) == 7
    assert sorted(splits.validation.y.tolist()) == [0, 1, 1]
    assert sorted(splits.test.y.tolist()) == [0, 0, 1]
    assert all("/test/" in p for p in splits.test.x)
    assert splits.test.source == os.path.join(str(tmp_path), "test")


@pytest.mark.parametrize("setup, kwargs, words", [
    (None, {}, r"nowhere.*not a folder.*data_dir="),
    ({}, {}, r"train is missing.*one subfolder"),
    ({"train": {"cat": 2}}, {}, r"train has 1 class folder.*at least 2"),
    ({"train": {"cat": 2, "dog": 0}}, {}, r"train/dog has no images; add"),
    ({"train": {"cat": 5, "dog": 5}, "validation": {"cat": 1, "cow": 1}},
     {}, r"validation has class folders .*not in train/: \['cow'\]"),
    ({"train": {"cat": 2, "dog": 5}}, {},
     r"train/cat has 2 image.*leaves none for validation.*larger"
     r".*validation/ folder"),
    ({"train": {"cat": 10, "dog": 2}}, {"validation_split": 0.9},
     r"train/dog has 2 image.*leaves none for train.*smaller"),
    ({"train": {"cat": 5, "dog": 5}}, {"validation_split": 1.0},
     r"validation_split=1.0 must be between 0 and 1"),
])
def test_bad_folders_fail_in_one_line(tmp_path, setup, kwargs, words):
    root = tmp_path / "nowhere"
    if setup is not None:
        root.mkdir()
        for split, counts in setup.items():
            make_split(root, counts, split=split)
            for name in counts:
                (root / split / name).mkdir(parents=True, exist_ok=True)
    with pytest.raises(KftError, match=words) as info:
        image_folder(str(root), **kwargs)
    assert "\n" not in str(info.value)


def corrupt_folder(tmp_path):
    make_split(tmp_path, {"cat": 5, "dog": 5})
    (tmp_path / "train/cat/bad.jpg").write_bytes(
        np.random.default_rng(0).bytes(500))
    good = write_image(tmp_path / "train/dog/cut.jpg", 64, 64)
    data = open(good, "rb").read()
    (tmp_path / "train/dog/cut.jpg").write_bytes(data[: len(data) - 200])
    return tmp_path


def test_corrupt_and_truncated_images_are_skipped_with_a_warning(tmp_path):
    root = corrupt_folder(tmp_path)
    with pytest.warns(UserWarning,
                      match=r"skipped 2 unreadable image.*(bad|cut)\.jpg"):
        splits = image_folder(str(root))
    kept = list(splits.train.x) + list(splits.validation.x)
    assert len(kept) == 10
    assert not any(p.endswith(("bad.jpg", "cut.jpg")) for p in kept)


def test_strict_refuses_the_first_bad_image(tmp_path):
    root = corrupt_folder(tmp_path)
    with pytest.raises(KftError,
                       match=r"(bad|cut)\.jpg does not decode.*strict=False"):
        image_folder(str(root), strict=True)


def test_check_images_reports_each_bad_file(tmp_path):
    root = corrupt_folder(tmp_path)
    names = ["cat/cat_00.jpg", "cat/bad.jpg", "dog/cut.jpg", "dog/dog_00.jpg"]
    paths = [str(root / "train" / name) for name in names]
    good, bad = check_images(paths)
    assert good.tolist() == [True, False, False, True]
    assert bad == paths[1:3]


def test_evaluation_pipeline_resizes_and_center_crops(tmp_path):
    paths = [write_image(tmp_path / f"{i}.png", 20 + 10 * i, 50, value=9 * i)
             for i in range(3)]
    split = Split(np.array(paths, dtype=object), np.array([0, 1, 0], "int32"))
    images, labels = next(iter(load_pipeline(split, 3, 16)))
    assert images.shape == (3, 16, 16, 3) and images.dtype == tf.float32
    assert labels.numpy().tolist() == [0, 1, 0]
    for i in range(3):  # a constant image stays constant, in 0..255
        np.testing.assert_allclose(images[i].numpy(), 9 * i, atol=1e-3)


@pytest.mark.real_data
def test_real_hotdog_folder_carves_a_stratified_validation_split(
        real_hotdog_dir):
    root = real_hotdog_dir
    splits = image_folder(root, validation_split=0.2)
    assert splits.class_names == ("hotdog", "not-hotdog")
    assert np.bincount(splits.train.y).tolist() == [480, 480]
    assert np.bincount(splits.validation.y).tolist() == [120, 120]
    assert not set(splits.train.x) & set(splits.validation.x)
    assert all(class_of(p) == splits.class_names[y]
               for p, y in zip(splits.train.x, splits.train.y, strict=True))


@pytest.mark.integration
def test_failed_hotdog_download_names_data_dir(tmp_path):
    import subprocess
    import sys

    code = ("from kft.data.images import download_hotdog\n"
            "from kft import KftError\n"
            "try:\n download_hotdog()\n"
            "except KftError as e:\n print('ERROR', e)\n")
    bad = "http://127.0.0.1:9"  # nothing listens: fails at once
    env = {"HTTPS_PROXY": bad, "HTTP_PROXY": bad, "http_proxy": bad,
           "KERAS_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, env=env, timeout=300)
    lines = [x for x in done.stdout.splitlines() if x.startswith("ERROR")]
    assert len(lines) == 1, done.stdout + done.stderr[-2000:]
    assert "could not download" in lines[0] and "data_dir=" in lines[0]
    assert not list(tmp_path.rglob("*hotdog*"))  # nothing half-written


def test_a_held_out_folder_alone_is_one_split(tmp_path):
    make_split(tmp_path, {"dog": 3, "bird": 2}, split="test")
    split = image_split(str(tmp_path), "test", ["bird", "cat", "dog"],
                        image_size=16)
    assert sorted(split.y.tolist()) == [0, 0, 2, 2, 2]
    assert [class_of(p) for p in split.x] == [
        ["bird", "cat", "dog"][y] for y in split.y]
    assert split.image_size == 16
    with pytest.raises(KftError, match=r"not in train/: \['cow'\]"):
        make_split(tmp_path, {"cow": 1}, split="test")
        image_split(str(tmp_path), "test", ["bird", "cat", "dog"])
    with pytest.raises(KftError, match=r"validation is missing; "
                                       r"split=validation reads"):
        image_split(str(tmp_path), "validation", ["bird", "cat", "dog"])


def test_validation_and_test_may_hold_fewer_classes(tmp_path):
    make_split(tmp_path, {"a": 3, "b": 3, "c": 3})
    make_split(tmp_path, {"c": 2}, split="validation")
    splits = image_folder(str(tmp_path))
    assert splits.class_names == ("a", "b", "c")
    assert splits.validation.y.tolist() == [2, 2]
