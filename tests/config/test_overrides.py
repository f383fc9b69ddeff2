import dataclasses

import pytest

from kft import KftError, TrainConfig
from kft.config.overrides import SMOKE, apply, parse

pytestmark = pytest.mark.backend_free  # no backend-dependent code


@dataclasses.dataclass(frozen=True)
class Config(TrainConfig):
    preset: str = "bert_base_en_uncased"
    pretrained: bool = True


def test_parse_splits_on_first_equals():
    assert parse(["epochs=2", "preset=a=b"]) == {"epochs": "2",
                                                 "preset": "a=b"}


@pytest.mark.parametrize("item", ["epochs", "=2", "epochs 2"])
def test_parse_rejects_items_without_key_and_value(item):
    with pytest.raises(KftError, match="is not key=value"):
        parse([item])


def test_parse_rejects_a_repeated_key():
    with pytest.raises(KftError, match="given twice"):
        parse(["epochs=2", "epochs=3"])


def test_apply_converts_each_value_to_its_field_type():
    cfg = apply(Config(), parse([
        "epochs=2", "learning_rate=3e-5", "pretrained=false",
        "limit=64", "data_dir=/tmp/x", "preset=tiny",
    ]))
    assert cfg.epochs == 2 and isinstance(cfg.epochs, int)
    assert cfg.learning_rate == 3e-5
    assert cfg.pretrained is False
    assert cfg.limit == 64 and cfg.data_dir == "/tmp/x"
    assert cfg.preset == "tiny"


def test_apply_accepts_none_for_optional_fields():
    cfg = apply(Config(limit=5), {"limit": "none"})
    assert cfg.limit is None


def test_apply_accepts_python_values_and_widens_int_to_float():
    cfg = apply(Config(), {"learning_rate": 1, "epochs": 4})
    assert cfg.learning_rate == 1.0 and isinstance(cfg.learning_rate, float)


def test_unknown_key_lists_valid_keys_and_suggests_the_closest():
    with pytest.raises(KftError) as error:
        apply(Config(), {"learnig_rate": "1e-3"})
    message = str(error.value)
    assert "unknown key 'learnig_rate'" in message
    assert "did you mean 'learning_rate'" in message
    listed = message.split("valid keys: ")[1].split(", ")
    assert listed == sorted(f.name for f in dataclasses.fields(Config))
    assert "preset" in listed


@pytest.mark.parametrize("key, value, words", [
    ("epochs", "two", "not a valid int"),
    ("epochs", "2.5", "not a valid int"),
    ("learning_rate", "fast", "not a valid float"),
    ("pretrained", "maybe", "use true or false"),
    ("epochs", True, "not a valid int"),
    ("limit", "none-ish", "not a valid int"),
])
def test_wrong_types_are_refused(key, value, words):
    with pytest.raises(KftError, match=words):
        apply(Config(), {key: value})


@pytest.mark.parametrize("key, value", [
    ("schedule", "triangle"), ("optimizer", "lion"), ("epochs", "0"),
    ("warmup_fraction", "1.5"), ("monitor", "loss"), ("limit", "0"),
])
def test_out_of_range_values_are_refused_by_the_config(key, value):
    with pytest.raises(KftError, match=key):
        apply(Config(), {key: value})


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e999"])
def test_floats_must_be_finite(value):
    """nan passed "above 0" (nan <= 0 is false) and wrote NaN, which is
    not JSON, into config.json."""
    with pytest.raises(KftError, match=f"learning_rate='{value}' is not a "
                       "finite number"):
        apply(Config(), {"learning_rate": value})
    with pytest.raises(KftError, match="momentum=nan is not valid: use a "
                       "finite number"):
        Config(momentum=float("nan"))


def test_smoke_goes_through_the_same_path():
    cfg = apply(Config(), SMOKE)
    assert (cfg.limit, cfg.epochs, cfg.steps_per_epoch) == (16, 1, 2)
