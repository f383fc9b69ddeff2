"""DistilBERT on GLUE SST-2: is a movie-review sentence positive? (2 classes)

A config of recipes/text_classifier.py: GLUE's column, TFDS glue/sst2
without data_dir.

    kft run recipes/sst2.py --backend torch
    kft run recipes/sst2.py data_dir=../shared/data/sst2 preset=PRESET_DIR
    kft run recipes/sst2.py --smoke preset=PRESET_DIR data_dir=...

Expected (distil_bert_base_en_uncased, AdamW 2e-5, batch 32, 3 epochs):
about 0.91 validation accuracy, the Hugging Face reference for DistilBERT;
not measured here (that preset needs a download). Measured
(tools/results/sst2_minilm*.md), all-MiniLM-L6-v2, 3 epochs of 200 steps
(19,200 sentences drawn), learning_rate=5e-5, seed 0: 0.860 (torch, _torch),
0.865 (jax), 0.872 (tensorflow) validation accuracy, from
`kft run recipes/sst2.py preset=presets/minilm data_dir=../shared/data/sst2
learning_rate=5e-5 steps_per_epoch=200`.
"""

import dataclasses

import kft
from recipes import text_classifier


@dataclasses.dataclass(frozen=True)
class Config(text_classifier.Config):
    preset: str = "distil_bert_base_en_uncased"
    text_columns: str = "sentence"
    tfds: str | None = "glue/sst2"  # without data_dir
    class_names: str | None = "0,1"  # GLUE's labels
    sequence_length: int = 66  # the longest SST-2 sentence: 66 wordpieces
    batch_size: int = 32
    epochs: int = 3
    learning_rate: float = 2e-5


data = text_classifier.data  # the general recipe's, with this Config
model = text_classifier.model


def recipe() -> kft.Recipe:
    return kft.Recipe(name="sst2", config=Config(), data=data, model=model)


if __name__ == "__main__":  # `python -m recipes.sst2 k=v`; set KERAS_BACKEND
    raise SystemExit(kft.main(recipe()))
