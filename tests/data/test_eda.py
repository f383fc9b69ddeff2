"""kft/data/eda.py: swap, delete and insert the sentence's own words."""

import collections

import numpy as np
import pytest

from kft.data import Split
from kft.data.eda import augment_split, eda

SENTENCE = "the quick brown fox jumps over the lazy dog today"


def test_each_operation_uses_only_the_sentence_words():
    rng = np.random.default_rng(0)
    original = collections.Counter(SENTENCE.split())
    kinds = set()
    for _ in range(60):
        words = eda(SENTENCE, rng, alpha=0.2).split()
        changed = collections.Counter(words)
        assert set(changed) <= set(original)
        if changed == original:
            kinds.add("swap")
            assert words != SENTENCE.split() or len(set(words)) < len(words)
        elif len(words) < len(SENTENCE.split()):
            kinds.add("delete")
            assert not changed - original
        else:
            kinds.add("insert")
            assert len(words) == len(SENTENCE.split()) + 2  # 0.2 x 10 words
            assert not original - changed
    assert kinds == {"swap", "delete", "insert"}


def test_short_texts_are_left_alone():
    rng = np.random.default_rng(0)
    assert eda("fine", rng) == "fine" and eda("", rng) == ""


def test_augment_split_adds_seeded_copies_of_pairs():
    split = Split((np.array(["a b c d", "e f g h"], dtype=object),
                   np.array(["w x y z", "p q r s"], dtype=object)),
                  np.array([0, 1]), "train.tsv")
    grown = augment_split(split, seed=5)
    assert len(grown) == 4 and list(grown.y) == [0, 1, 0, 1]
    assert list(grown.x[0][:2]) == ["a b c d", "e f g h"]
    for column, original in zip(grown.x, split.x, strict=True):
        for new, old in zip(column[2:], original, strict=True):
            assert set(new.split()) <= set(old.split())
    again = augment_split(split, seed=5)
    assert [list(c) for c in again.x] == [list(c) for c in grown.x]
    assert "EDA" in grown.source


def test_eda_run_doubles_training_data_only(tiny_bert, mrpc_dir, tmp_path):
    import kft
    from recipes import mrpc

    recipe = mrpc.recipe().replace(
        preset=tiny_bert, data_dir=mrpc_dir, limit=16, epochs=1,
        batch_size=8, verbose=0, augment="eda",
        output_dir=str(tmp_path / "run"))
    result = kft.train(recipe)
    metrics = kft.rundir.read_json(f"{result.run_dir}/metrics.json")
    assert metrics["train_examples"] == 32
    assert metrics["validation_examples"] == 16


def test_eda_on_images_is_refused(tiny_resnet, hotdog_dir, tmp_path):
    import kft
    from recipes import hotdog

    recipe = hotdog.recipe().replace(
        preset=tiny_resnet, data_dir=hotdog_dir, limit=8, image_size=32,
        augment="eda", output_dir=str(tmp_path / "run"))
    with pytest.raises(kft.KftError, match="augment=eda is text"):
        kft.train(recipe)
    assert not (tmp_path / "run").exists()
