"""BERT on GLUE MRPC: is sentence2 a paraphrase of sentence1? (2 classes)

    kft run recipes/mrpc.py --backend torch
    kft run recipes/mrpc.py --backend jax epochs=2 learning_rate=3e-5
    kft run recipes/mrpc.py data_dir=../shared/data/mrpc preset=PRESET_DIR
    kft run recipes/mrpc.py --smoke preset=PRESET_DIR data_dir=...

Expected (bert_base_en_uncased, 3 epochs, the reference setup): about
0.84-0.87 validation accuracy and 0.88-0.90 F1, as in the BERT paper and the
Hugging Face course; not measured here (no download of that preset offline).
Measured (tools/results/mrpc_minilm.md): all-MiniLM-L6-v2 (`kft preset
import`), seed 0, validation accuracy / F1 of
`kft run recipes/mrpc.py preset=presets/minilm data_dir=../shared/data/mrpc
learning_rate=5e-5 epochs=5`:
torch 0.819 / 0.873, jax 0.824 / 0.876, tensorflow 0.816 / 0.873; the HF
peer with the same settings 0.787 / 0.853.
"""

import dataclasses

import kft


@dataclasses.dataclass(frozen=True)
class Config(kft.TrainConfig):
    preset: str = "bert_base_en_uncased"
    sequence_length: int = 128  # MRPC pairs rarely exceed 100 wordpieces
    batch_size: int = 32
    epochs: int = 3
    learning_rate: float = 2e-5
    monitor: str = "val_accuracy"


def data(cfg: Config) -> kft.data.Splits:
    return kft.data.glue("mrpc", data_dir=cfg.data_dir, limit=cfg.limit,
                validation_split=cfg.validation_split, seed=cfg.seed)


def model(cfg: Config, class_names):
    return kft.model.text_classifier(cfg.preset, len(class_names),
                                     cfg.sequence_length)


def recipe() -> kft.Recipe:
    return kft.Recipe(name="mrpc", config=Config(), data=data, model=model)


if __name__ == "__main__":  # `python recipes/mrpc.py k=v`; set KERAS_BACKEND
    raise SystemExit(kft.main(recipe()))
