"""Easy data augmentation (EDA) for text: `augment=eda`.

Wei and Zou (2019) grow a small text training set with copies of its
sentences, each changed by one random operation. kft uses the three that
need no thesaurus, on the sentence's own words: swap two words, delete
words, or insert copies of words at random places. Each operation changes
about `alpha` of the words. Copies are made once per run, before
tokenization, and only for the training split.
"""

import dataclasses

import numpy as np

OPERATIONS = ("swap", "delete", "insert")


def eda(text, rng, alpha=0.1):
    """One randomly chosen EDA operation applied to `text`.

    Args:
        text: str. Words separated by spaces.
        rng: np.random.Generator. The draws.
        alpha: float. The share of words an operation changes (at least
            one word; deletion drops each word with probability `alpha`
            and always keeps one).

    Returns:
        str. The changed text (the same text when it has under 2 words).

    Example:

    ```python
    rng = np.random.default_rng(0)
    eda("the film is a delight", rng)
    ```
    """
    words = text.split()
    if len(words) < 2:
        return text
    count = max(1, round(alpha * len(words)))
    operation = OPERATIONS[rng.integers(len(OPERATIONS))]
    if operation == "swap":
        for _ in range(count):
            i, j = rng.choice(len(words), size=2, replace=False)
            words[i], words[j] = words[j], words[i]
    elif operation == "delete":
        keep = rng.random(len(words)) >= alpha
        if not keep.any():
            keep[rng.integers(len(words))] = True
        words = [w for w, k in zip(words, keep, strict=True) if k]
    else:
        for _ in range(count):
            word = words[rng.integers(len(words))]
            words.insert(rng.integers(len(words) + 1), word)
    return " ".join(words)


def augment_split(split, seed, copies=1, alpha=0.1):
    """The split followed by `copies` EDA copies of each of its examples.

    For sentence pairs each sentence is changed on its own. The labels are
    repeated.

    Args:
        split: kft.data.Split. Text inputs.
        seed: int. Seeds the draws: the same seed gives the same copies.
        copies: int. Augmented copies per example.
        alpha: float. See `eda`.

    Returns:
        kft.data.Split with `(copies + 1) * len(split)` examples.
    """
    rng = np.random.default_rng([seed, 3])
    columns = split.x if isinstance(split.x, tuple) else (split.x,)
    grown = []
    for column in columns:
        made = [eda(str(t), rng, alpha) for _ in range(copies)
                for t in column]
        grown.append(np.concatenate([column, np.array(made, dtype=object)]))
    x = tuple(grown) if isinstance(split.x, tuple) else grown[0]
    y = np.concatenate([split.y] * (copies + 1))
    return dataclasses.replace(split, x=x, y=y,
                               source=f"{split.source} (+{copies} EDA)")
