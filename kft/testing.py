"""Tiny, randomly initialised presets for tests and `--smoke` runs.

They run the real recipe code in seconds: a 2-layer BERT with hidden size
16, saved as a KerasHub preset folder that `from_preset(path)` loads.
"""

import string

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (
    "the a an of to and in is was for on that with as by at from it he she "
    "they said says say not no but or be has have had are were will would "
    "its his her their this these those million billion percent company "
    "shares stock year years new after before up down more than one two "
    "good bad film movie story great best worst fun funny dull boring "
    "like love hate well very too much little"
).split()


def tiny_vocabulary():
    """Special tokens, common words, and every character as a wordpiece."""
    characters = string.ascii_lowercase + string.digits + string.punctuation
    pieces = list(characters) + ["##" + c for c in characters]
    words = sorted(set(WORDS) - set(pieces))
    return SPECIAL + words + pieces


def tiny_text_preset(path, num_layers=2, hidden_dim=16, seed=0):
    """Saves a tiny random BERT text-classifier preset in folder `path`.

    Args:
        path: str. The folder to write (created).
        num_layers: int. Transformer layers.
        hidden_dim: int. Hidden size; 2 attention heads.
        seed: int. Seeds the random initial weights.

    Returns:
        The folder, for `preset=`.
    """
    import keras
    import keras_hub

    keras.utils.set_random_seed(seed)
    tokenizer = keras_hub.models.BertTokenizer(
        vocabulary=tiny_vocabulary(), lowercase=True, strip_accents=True
    )
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=tokenizer.vocabulary_size(),
        num_layers=num_layers,
        num_heads=2,
        hidden_dim=hidden_dim,
        intermediate_dim=2 * hidden_dim,
        max_sequence_length=128,
    )
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        tokenizer, sequence_length=128
    )
    classifier = keras_hub.models.BertTextClassifier(
        backbone, num_classes=2, preprocessor=preprocessor
    )
    classifier.save_to_preset(path)
    return path
