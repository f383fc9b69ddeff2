"""Any image classification task: a folder of class folders, or TFDS (N classes)

`data_dir` holds train/<class>/ images, and optionally validation/ (else
validation_split of train is carved) and test/. Any KerasHub
image-classifier preset: ResNet, EfficientNet, ViT, MobileNet, ...
Augmentation is a choice: flip=false for digits or text,
crop_scale=LOW,HIGH (the random crop's area) or none; both off: none.
recipes/hotdog.py is a config of this recipe.

    kft run recipes/image_classifier.py data_dir=photos preset=presets/lite0
    kft run recipes/image_classifier.py tfds=mnist flip=false \\
        tfds_splits=train=train,test=test image_size=64 preset=...
    kft run recipes/image_classifier.py --smoke data_dir=... preset=...

Measured (tools/results/digits_torch.md): scikit-learn's 8x8 digits as
a folder, ImageNet EfficientNet-Lite0 (`kft preset import`), seed 0,
image_size=96 epochs=6 batch_size=32 learning_rate=3e-3 flip=false
crop_scale=0.5,1 patience=0, from `python tools/digits.py --backends torch
--out tools/results/digits_torch.json`: torch 0.989 test accuracy on the
held-out fifth (359 images), 0.986 best-epoch validation accuracy
(optimistic: the epoch is picked on it); jax 0.978 / 0.986
(digits_jax.md), tensorflow 0.978 / 0.983 (digits.md).
"""

import dataclasses

import kft


@dataclasses.dataclass(frozen=True)
class Config(kft.TrainConfig):
    preset: str = "resnet_18_imagenet"
    pretrained: bool = True  # false: random initial backbone weights
    strict: bool = False  # true: stop at an unreadable image, not skip it
    image_size: int = 224
    flip: bool = True  # random horizontal flip of training images
    crop_scale: str = "0.08,1"  # random resized crop's area range, or none
    class_names: str | None = None  # TFDS: none takes the dataset's
    tfds: str | None = None  # a TensorFlow Datasets name, used without data_dir
    tfds_splits: str = "train=train,validation=validation,test=test"
    data_url: str | None = None  # an archive of train/<class>/ to download
    validation_split: float = 0.2  # carved from train/ without validation/
    epochs: int = 5
    batch_size: int = 64
    learning_rate: float = 1e-3
    monitor: str = "val_accuracy"


def data(cfg: Config) -> kft.data.Splits:
    options = dict(validation_split=cfg.validation_split, seed=cfg.seed,
                   image_size=cfg.image_size, augmentation=kft.data.
                   Augmentation.parse(cfg.flip, cfg.crop_scale))
    if cfg.data_dir is None and cfg.tfds:
        return kft.data.tfds_images(cfg.tfds, splits=cfg.tfds_splits,
                                    class_names=cfg.class_names, **options)
    return kft.data.image_folder(
        cfg.data_dir or kft.data.download_folder(cfg.data_url),
        limit=cfg.limit, strict=cfg.strict, **options)


def model(cfg: Config, class_names):
    return kft.model.image_classifier(cfg.preset, len(class_names),
                                      cfg.image_size, cfg.pretrained)


def recipe() -> kft.Recipe:
    return kft.Recipe(name="image_classifier", config=Config(), data=data,
                      model=model)


if __name__ == "__main__":  # `python -m recipes.image_classifier k=v`
    raise SystemExit(kft.main(recipe()))
