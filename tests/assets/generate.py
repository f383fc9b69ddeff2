"""Writes the tiny text data sets under tests/assets/ (run it to remake
them; the files are committed). Every sentence is invented from the tiny
preset's word list, so no row comes from ../shared/data.

    python tests/assets/generate.py

- `pairs/`: GLUE MRPC format (`label sentence1 sentence2 idx`), label 1
  (two thirds) when sentence2 rewords sentence1, 0 when it says
  something else;
- `sentences/`: GLUE SST-2 format (`label sentence idx`), label 1 for a
  sentence with a good word, 0 for one with a bad word;
- `topics/`: a CSV of four topics (`text,topic`), with string labels.
"""

import csv
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
NOUNS = ("company", "film", "movie", "story", "stock", "shares")
GOOD = ("good", "great", "best", "fun", "funny", "love")
BAD = ("bad", "worst", "dull", "boring", "hate")
FILLER = ("the", "a", "it", "was", "very", "too", "much", "little", "this")
TOPICS = {
    "money": ("shares", "stock", "million", "billion", "percent"),
    "cinema": ("film", "movie", "story", "funny", "dull"),
    "time": ("year", "years", "before", "after", "new"),
    "people": ("he", "she", "they", "his", "her"),
}
SIZES = {"train": 64, "validation": 32, "test": 32}


def sentence(rng, words, length):
    picked = [rng.choice(words)] + rng.choices(FILLER + NOUNS, k=length - 1)
    rng.shuffle(picked)
    return " ".join(picked) + " ."


def pairs(rng, count):
    rows = []
    for i in range(count):
        first = sentence(rng, NOUNS, rng.randint(4, 12))
        label = int(i % 3 != 0)  # two thirds positive, as MRPC
        if label:
            words = first[:-2].split()
            rng.shuffle(words)
            second = " ".join(words) + " ."
        else:
            second = sentence(rng, NOUNS, rng.randint(4, 12))
        if i % 5 == 2:
            first = 'he said " ' + first + ' "'  # bare quotes, as in MRPC
        rows.append((str(label), first, second, str(i)))
    return [("label", "sentence1", "sentence2", "idx"), *rows]


def sentences(rng, count):
    rows = []
    for i in range(count):
        label = i % 2
        words = GOOD if label else BAD
        text = sentence(rng, words, rng.randint(3, 14))
        if i % 7 == 3:
            text = 'he said " ' + text + ' "'  # bare quotes, as in SST-2
        rows.append((str(label), text, str(i)))
    return [("label", "sentence", "idx"), *rows]


def topics(rng, count):
    names = sorted(TOPICS)
    rows = [("text", "topic")]
    for i in range(count):
        name = names[i % len(names)]
        words = [rng.choice(TOPICS[name]) for _ in range(2)]
        rows.append((", ".join(words) + " " + sentence(rng, FILLER, 5),
                     name))
    return rows


def write(folder, name, rows, delimiter):
    os.makedirs(os.path.join(HERE, folder), exist_ok=True)
    path = os.path.join(HERE, folder, name)
    with open(path, "w", encoding="utf-8", newline="") as f:
        if delimiter == "\t":
            f.writelines("\t".join(row) + "\n" for row in rows)
        else:
            csv.writer(f, lineterminator="\n").writerows(rows)


def main():
    for split, count in SIZES.items():
        rng = random.Random(f"{split}-0")
        write("pairs", f"{split}.tsv", pairs(rng, count), "\t")
        write("sentences", f"{split}.tsv", sentences(rng, count), "\t")
        write("topics", f"{split}.csv", topics(rng, count), ",")


if __name__ == "__main__":
    main()
