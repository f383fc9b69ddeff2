"""Every KerasHub family kft tests, through the general recipes on tiny
random presets (`kft.model.tiny`): BERT, DistilBERT, RoBERTa, ALBERT and
DeBERTaV3 for text; ResNet, EfficientNet and ViT for images. Each trains
an epoch, saves, and loads back in safe mode with the same outputs. A
preset without a KerasHub classifier is a one-line error."""

import numpy as np
import pytest
from assets.images import write_image_folder

import kft
from kft.commands.cli import main
from kft.errors import EXIT_BAD_INPUT
from kft.model.tiny import (
    IMAGE_FAMILIES,
    TEXT_FAMILIES,
    tiny_image_preset,
    tiny_text_preset,
)
from recipes import image_classifier, text_classifier

pytestmark = pytest.mark.integration
TOPICS = ("cinema", "money", "people", "time")


@pytest.fixture(scope="module")
def three_classes(tmp_path_factory):
    """Drawn images of three classes: train/ and validation/."""
    return write_image_folder(tmp_path_factory.mktemp("three"),
                              classes=("circle", "square", "star"),
                              splits=(("train", 6), ("validation", 3)))


def check_saved_model_predicts_the_same(result, x):
    loaded = kft.load_model(result.run_dir)
    assert type(loaded) is type(result.model)
    np.testing.assert_allclose(loaded.predict(x, verbose=0),
                               result.model.predict(x, verbose=0),
                               atol=1e-5)


@pytest.mark.parametrize("family", list(TEXT_FAMILIES))
def test_the_text_recipe_trains_each_family(family, topics_dir, tmp_path):
    preset = tiny_text_preset(str(tmp_path / "preset"), family=family)
    recipe = text_classifier.recipe().replace(
        preset=preset, data_dir=topics_dir, label_column="topic", limit=16,
        epochs=1, batch_size=8, sequence_length=32, verbose=0,
        output_dir=str(tmp_path / "run"))
    result = kft.train(recipe)
    prefix = TEXT_FAMILIES[family][2]
    assert type(result.model).__name__ == f"{prefix}TextClassifier"
    assert {"accuracy", "f1", "auc", "loss"} <= set(result.metrics)
    assert all(np.isfinite(v) for v in result.metrics.values())
    texts = np.array(["the film was fun .", "shares rose two percent ."],
                     dtype=object)
    assert result.model.predict(texts, verbose=0).shape == (2, 4)
    check_saved_model_predicts_the_same(result, texts)


@pytest.mark.parametrize("family", IMAGE_FAMILIES)
def test_the_image_recipe_trains_each_family(family, three_classes,
                                             tmp_path):
    preset = tiny_image_preset(str(tmp_path / "preset"), family=family)
    recipe = image_classifier.recipe().replace(
        preset=preset, data_dir=three_classes, image_size=32, epochs=1,
        batch_size=6, verbose=0, output_dir=str(tmp_path / "run"))
    result = kft.train(recipe)
    assert type(result.model).__name__.lower().startswith(family)
    assert all(np.isfinite(v) for v in result.metrics.values())
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3))
    images = images.astype("float32")
    assert result.model.predict(images, verbose=0).shape == (2, 3)
    check_saved_model_predicts_the_same(result, images)


@pytest.mark.parametrize("recipe, preset, words", [
    ("text_classifier", "tiny_resnet",
     "cannot be a text classifier: KerasHub has no TextClassifier for it"),
    ("image_classifier", "tiny_bert",
     "cannot be an image classifier: KerasHub has no ImageClassifier"),
])
def test_a_preset_without_a_classifier_is_one_clear_line(
        recipe, preset, words, request, topics_dir, three_classes, tmp_path,
        capsys):
    data = topics_dir if recipe == "text_classifier" else three_classes
    out = tmp_path / "run"
    argv = ["run", f"recipes/{recipe}.py", f"data_dir={data}",
            f"preset={request.getfixturevalue(preset)}",
            "label_column=topic" if recipe == "text_classifier" else
            "image_size=32", f"output_dir={out}"]
    assert main(argv=argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kft: error: preset=")
    assert words in err[0]
    assert "Bert" in err[0] or "ResNet" in err[0]  # the families it lists
    assert not out.exists()


def test_vit_takes_its_own_image_size_only(tmp_path):
    preset = tiny_image_preset(str(tmp_path / "vit"), family="vit")
    with pytest.raises(kft.KftError, match=r"ViTBackbone\) takes 32x32 "
                                           r"images only; set image_size=32"):
        kft.model.image_classifier(preset, 3, image_size=48)
