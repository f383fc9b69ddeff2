"""BERT on GLUE MRPC: is sentence2 a paraphrase of sentence1? (2 classes)

A config of recipes/text_classifier.py: GLUE's columns, TFDS glue/mrpc
without data_dir, and the BERT paper's settings.

    kft run recipes/mrpc.py --backend torch
    kft run recipes/mrpc.py --backend jax epochs=2 learning_rate=3e-5
    kft run recipes/mrpc.py data_dir=../shared/data/mrpc preset=PRESET_DIR
    kft run recipes/mrpc.py --smoke preset=PRESET_DIR data_dir=...

Expected (bert_base_en_uncased, 3 epochs, the reference setup): about
0.84-0.87 validation accuracy and 0.88-0.90 F1, as in the BERT paper and the
Hugging Face course; not measured here (no download of that preset offline).
Measured (tools/results/mrpc_minilm_*.md): all-MiniLM-L6-v2 (`kft preset
import`), seed 0, best-epoch validation accuracy / F1 (optimistic) of
`kft run recipes/mrpc.py preset=presets/minilm data_dir=../shared/data/mrpc
learning_rate=5e-5 epochs=5`: torch 0.836 / 0.882 (_torch), jax 0.806 /
0.865 (_jax), tensorflow 0.826 / 0.878 (_buckets); the HF peer with the
same settings 0.787 / 0.853 (mrpc_minilm.md).
"""

import dataclasses

import kft
from recipes import text_classifier


@dataclasses.dataclass(frozen=True)
class Config(text_classifier.Config):
    preset: str = "bert_base_en_uncased"
    text_columns: str = "sentence1,sentence2"
    tfds: str | None = "glue/mrpc"  # without data_dir
    class_names: str | None = "0,1"  # GLUE's labels
    sequence_length: int = 128  # MRPC pairs rarely exceed 100 wordpieces
    batch_size: int = 32
    epochs: int = 3
    learning_rate: float = 2e-5


data = text_classifier.data  # the general recipe's, with this Config
model = text_classifier.model


def recipe() -> kft.Recipe:
    return kft.Recipe(name="mrpc", config=Config(), data=data, model=model)


if __name__ == "__main__":  # `python -m recipes.mrpc k=v`; set KERAS_BACKEND
    raise SystemExit(kft.main(recipe()))
