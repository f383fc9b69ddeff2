"""kft/data/tfds.py on TensorFlow Datasets' mock data: TFDS's real builder
code path (features, class names, splits) on generated examples."""

import numpy as np
import pytest

from kft import KftError
from kft.data import tfds_images, tfds_text
from kft.data.tfds import parse_splits

pytestmark = pytest.mark.backend_free  # no backend-dependent code

AG_NEWS = ("World", "Sports", "Business", "Sci/Tech")


@pytest.fixture
def mock_tfds():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=40):
        yield


def test_text_pairs_with_the_class_label_names(mock_tfds):
    splits = tfds_text("ag_news_subset", "title,description", "label",
                       splits="train=train,test=test", validation_split=0.25)
    assert splits.class_names == AG_NEWS
    assert len(splits.train) + len(splits.validation) == 40
    assert len(splits.test) == 40
    title, description = splits.train.x
    assert isinstance(title[0], str) and isinstance(description[0], str)
    assert splits.validation.source.endswith("(validation_split=0.25)")
    assert splits.origin["tfds"] == "ag_news_subset"
    assert splits.origin["text_columns"] == ["title", "description"]


def test_images_stay_encoded_and_decode_in_the_pipeline(mock_tfds):
    splits = tfds_images("mnist", splits="train=train,validation=test",
                         image_size=24)
    assert splits.class_names == tuple(str(d) for d in range(10))
    assert splits.train.encoded and isinstance(splits.train.x[0], bytes)
    assert splits.train.x[0][:4] == b"\x89PNG"
    images, labels = next(iter(splits.train.dataset(8, shuffle=True)))
    assert tuple(images.shape) == (8, 24, 24, 3)  # gray becomes RGB
    images, labels = next(iter(splits.validation.dataset(8)))
    assert tuple(images.shape) == (8, 24, 24, 3)
    np.testing.assert_array_equal(labels, splits.validation.y[:8])


def test_a_missing_feature_lists_the_datasets_features(mock_tfds):
    with pytest.raises(KftError, match=r"tfds:ag_news_subset has no "
                       r"feature 'text'; its features are: .*description"):
        tfds_text("ag_news_subset", "text", "label",
                  splits="train=train,validation=test")


def test_a_feature_that_is_no_image_is_refused(mock_tfds):
    with pytest.raises(KftError, match="'label' is not an image"):
        tfds_images("mnist", image_key="label", label_column="label",
                    splits="train=train,validation=test")


def test_an_unknown_dataset_says_what_to_check():
    with pytest.raises(KftError, match=r"could not download "
                       r"no_such_dataset_kft from TensorFlow Datasets.*"
                       r"check tfds="):
        tfds_text("no_such_dataset_kft", "text",
                  splits="train=train,validation=test")


@pytest.mark.parametrize("text", ["validation=test", "train", "train=a,dev=b",
                                  "train=a,train=b", "train="])
def test_bad_tfds_splits_are_refused(text):
    with pytest.raises(KftError, match="tfds_splits=.*not valid"):
        parse_splits(text)


def test_tfds_splits_map_kfts_splits():
    assert parse_splits("train=train[:90%],validation=train[90%:]") == {
        "train": "train[:90%]", "validation": "train[90%:]"}
