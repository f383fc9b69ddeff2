"""Tiny, randomly initialised presets for tests and `--smoke` runs.

They run the real recipe code in seconds: 2-layer text models with hidden
size 16, and small image models (`kft.model.tiny_images`), saved as
KerasHub preset folders that `from_preset(path)` loads. Each KerasHub
family has its own tokenizer: WordPiece (BERT, DistilBERT), byte-level
BPE (RoBERTa) or SentencePiece (ALBERT, DeBERTaV3), all built here from
one small word list.
"""

import io
import string

from kft.model.tiny_images import IMAGE_FAMILIES, tiny_image_preset

__all__ = ["IMAGE_FAMILIES", "TEXT_FAMILIES", "tiny_image_preset",
           "tiny_text_preset", "tiny_vocabulary"]

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (
    "the a an of to and in is was for on that with as by at from it he she "
    "they said says say not no but or be has have had are were will would "
    "its his her their this these those million billion percent company "
    "shares stock year years new after before up down more than one two "
    "good bad film movie story great best worst fun funny dull boring "
    "like love hate well very too much little"
).split()
# KerasHub family -> (tokenizer, backbone, preprocessor, classifier) names.
TEXT_FAMILIES = {
    "bert": ("BertTokenizer", "BertBackbone", "Bert"),
    "distil_bert": ("DistilBertTokenizer", "DistilBertBackbone",
                    "DistilBert"),
    "roberta": ("RobertaTokenizer", "RobertaBackbone", "Roberta"),
    "albert": ("AlbertTokenizer", "AlbertBackbone", "Albert"),
    "deberta_v3": ("DebertaV3Tokenizer", "DebertaV3Backbone", "DebertaV3"),
}


def tiny_vocabulary():
    """Special tokens, common words, and every character as a wordpiece."""
    characters = string.ascii_lowercase + string.digits + string.punctuation
    pieces = list(characters) + ["##" + c for c in characters]
    words = sorted(set(WORDS) - set(pieces))
    return SPECIAL + words + pieces


def tiny_text_preset(path, num_layers=2, hidden_dim=16, seed=0,
                     family="bert"):
    """Saves a tiny random text-classifier preset in folder `path`.

    Args:
        path: str. The folder to write (created).
        num_layers: int. Transformer layers.
        hidden_dim: int. Hidden size; 2 attention heads.
        seed: int. Seeds the random initial weights.
        family: str. A key of `TEXT_FAMILIES`: `bert`, `distil_bert`,
            `roberta`, `albert` or `deberta_v3`.

    Returns:
        The folder, for `preset=`.

    Example:

    ```python
    preset = tiny_text_preset("/tmp/tiny_roberta", family="roberta")
    kft.model.text_classifier(preset, num_classes=4)
    ```
    """
    import keras
    import keras_hub

    tokenizer_name, backbone_name, prefix = TEXT_FAMILIES[family]
    keras.utils.set_random_seed(seed)
    models = keras_hub.models
    tokenizer = getattr(models, tokenizer_name)(**_tokenizer_args(family))
    extra = {"embedding_dim": hidden_dim} if family == "albert" else {}
    backbone = getattr(models, backbone_name)(
        vocabulary_size=tokenizer.vocabulary_size(), num_layers=num_layers,
        num_heads=2, hidden_dim=hidden_dim, intermediate_dim=2 * hidden_dim,
        max_sequence_length=128, **extra)
    preprocessor = getattr(models, f"{prefix}TextClassifierPreprocessor")(
        tokenizer, sequence_length=128)
    classifier = getattr(models, f"{prefix}TextClassifier")(
        backbone, num_classes=2, preprocessor=preprocessor)
    classifier.save_to_preset(path)
    return path


def _tokenizer_args(family):
    if family in ("bert", "distil_bert"):
        return {"vocabulary": tiny_vocabulary(), "lowercase": True,
                **({"strip_accents": True} if family == "bert" else {})}
    if family == "roberta":
        return dict(zip(("vocabulary", "merges"), _byte_pairs(),
                        strict=True))
    return {"proto": _sentencepiece(family)}


def _byte_pairs():
    """A byte-level BPE vocabulary and merges: every byte, and `WORDS`
    (with and without their leading space, `Ġ`) merged letter by letter."""
    printable = [chr(c) for c in range(ord("!"), ord("~") + 1)]
    tokens = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tokens += printable + ["Ġ", "Ċ"]
    merges = []
    for word in WORDS:
        for piece, rest in ((word[0], word[1:]), ("Ġ", word)):
            for letter in rest:
                merges.append(f"{piece} {letter}")
                piece += letter
                tokens.append(piece)
    unique = list(dict.fromkeys(tokens))
    return {t: i for i, t in enumerate(unique)}, list(dict.fromkeys(merges))


def _sentencepiece(family):
    """A SentencePiece model trained on sentences of `WORDS`, with the
    special pieces the family's KerasHub tokenizer looks up."""
    import random

    import sentencepiece

    rng = random.Random(0)
    sentences = [" ".join(rng.choices(WORDS, k=8)) for _ in range(400)]
    if family == "albert":
        ids = dict(pad_id=0, unk_id=1, bos_id=2, eos_id=3, pad_piece="<pad>",
                   unk_piece="<unk>", bos_piece="[CLS]", eos_piece="[SEP]")
    else:
        ids = dict(pad_id=0, bos_id=1, eos_id=2, unk_id=3, pad_piece="[PAD]",
                   bos_piece="[CLS]", eos_piece="[SEP]", unk_piece="[UNK]")
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=model,
        vocab_size=96, model_type="unigram", num_threads=1,
        user_defined_symbols="[MASK]", character_coverage=1.0,
        minloglevel=2, **ids)
    return model.getvalue()
