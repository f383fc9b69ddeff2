"""Any text classification task: a folder of table files, or TFDS (N classes)

`data_dir` holds train.csv (or .tsv, .jsonl, .parquet), validation.csv
(or validation_split=F) and optionally test.csv; `text_columns` names one
column (or two, a pair), `label_column` the label (strings or integers).
Any KerasHub text-classifier preset: BERT, DistilBERT, RoBERTa, ALBERT,
DeBERTaV3, ... (recipes/mrpc.py and sst2.py are configs of this one).

    kft run recipes/text_classifier.py data_dir=tickets text_columns=body \\
        label_column=topic preset=presets/minilm
    kft run recipes/text_classifier.py tfds=ag_news_subset \\
        text_columns=description tfds_splits=train=train,test=test \\
        validation_split=0.1 preset=distil_bert_base_en_uncased
    kft run recipes/text_classifier.py --smoke data_dir=... preset=...

Measured (tools/results/text_classifier_sst2.md): SST-2 through this
recipe, all-MiniLM-L6-v2 (`kft preset import`), seed 0, 3 epochs of 200
steps (19,200 sentences drawn), text_columns=sentence label_column=label
learning_rate=5e-5, the defaults otherwise (sequence_length 128): torch
0.857 validation accuracy, 0.859 F1 (best-epoch validation, optimistic;
the best epoch was the last of 3), from `python tools/bench_sst2.py
--backends torch --recipe text_classifier --epochs 3 --steps 200 --out
tools/results/text_classifier_sst2.json`.
"""

import dataclasses

import kft


@dataclasses.dataclass(frozen=True)
class Config(kft.TrainConfig):
    preset: str = "bert_base_en_uncased"
    text_columns: str = "text"  # one column; two for pairs: sentence1,sentence2
    label_column: str = "label"
    class_names: str | None = None  # e.g. neg,neu,pos; none: from training
    tfds: str | None = None  # a TensorFlow Datasets name, used without data_dir
    tfds_splits: str = "train=train,validation=validation,test=test"
    strict: bool = False  # true: refuse empty texts (else counted, kept)
    sequence_length: int = 128
    monitor: str = "val_accuracy"


def data(cfg: Config) -> kft.data.Splits:
    options = dict(text_columns=cfg.text_columns, class_names=cfg.class_names,
                   label_column=cfg.label_column, seed=cfg.seed,
                   validation_split=cfg.validation_split, strict=cfg.strict)
    if cfg.data_dir is None and cfg.tfds:
        return kft.data.tfds_text(cfg.tfds, splits=cfg.tfds_splits, **options)
    return kft.data.text_folder(cfg.data_dir, **options)


def model(cfg: Config, class_names):
    return kft.model.text_classifier(cfg.preset, len(class_names),
                                     cfg.sequence_length)


def recipe() -> kft.Recipe:
    return kft.Recipe(name="text_classifier", config=Config(), data=data,
                      model=model)


if __name__ == "__main__":  # `python -m recipes.text_classifier k=v`
    raise SystemExit(kft.main(recipe()))
