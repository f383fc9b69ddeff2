"""DistilBERT on GLUE SST-2: is a movie-review sentence positive? (2 classes)

    kft run recipes/sst2.py --backend torch
    kft run recipes/sst2.py data_dir=../shared/data/sst2 preset=PRESET_DIR
    kft run recipes/sst2.py --smoke preset=PRESET_DIR data_dir=...

Expected (distil_bert_base_en_uncased, AdamW 2e-5, batch 32, 3 epochs):
about 0.91 validation accuracy, the Hugging Face reference for DistilBERT;
not measured here (that preset needs a download). Measured
(tools/results/sst2_minilm.md), all-MiniLM-L6-v2, 3 epochs of 200 steps
(19,200 sentences drawn), learning_rate=5e-5, seed 0: 0.866 (torch), 0.865
(jax), 0.872 (tensorflow) validation accuracy, from
`kft run recipes/sst2.py preset=presets/minilm data_dir=../shared/data/sst2
learning_rate=5e-5 steps_per_epoch=200`.
"""

import dataclasses

import kft


@dataclasses.dataclass(frozen=True)
class Config(kft.TrainConfig):
    preset: str = "distil_bert_base_en_uncased"
    sequence_length: int = 66  # the longest SST-2 sentence: 66 wordpieces
    batch_size: int = 32
    epochs: int = 3
    learning_rate: float = 2e-5
    monitor: str = "val_accuracy"


def data(cfg: Config) -> kft.data.Splits:
    return kft.data.glue("sst2", data_dir=cfg.data_dir, limit=cfg.limit,
                validation_split=cfg.validation_split, seed=cfg.seed)


def model(cfg: Config, class_names):
    return kft.model.text_classifier(cfg.preset, len(class_names),
                                     cfg.sequence_length)


def recipe() -> kft.Recipe:
    return kft.Recipe(name="sst2", config=Config(), data=data, model=model)


if __name__ == "__main__":  # `python recipes/sst2.py k=v`; set KERAS_BACKEND
    raise SystemExit(kft.main(recipe()))
