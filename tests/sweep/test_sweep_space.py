"""kft/sweep/space.py: `kft sweep`'s arguments, checked against
the recipe's config before any trial starts."""

import pytest
from support import ROOT

from kft import config
from kft.commands.cli import main
from kft.errors import EXIT_BAD_INPUT, KftError
from kft.sweep import space as sweep_space
from kft.sweep import tuner as sweep_tuner
from kft.sweep.space import Dim

pytestmark = pytest.mark.backend_free  # no backend-dependent code

MRPC = str(ROOT / "recipes" / "mrpc.py")


@pytest.fixture(scope="module")
def recipe():
    return config.load(MRPC)


def test_plain_values_are_fixed_lists_are_choices_ranges_are_ranges(
        recipe):
    plan = sweep_space.parse(
        ["preset=presets/minilm", "data_dir=../shared/data/mrpc",
         "learning_rate=1e-5..1e-4:log", "epochs=3,5",
         "warmup_fraction=0,0.1", "seed=0..3", "tensorboard=false,true",
         "output_dir=runs/s", "max_hours=1.5"], recipe)
    assert plan.fixed == {"preset": "presets/minilm",
                          "data_dir": "../shared/data/mrpc"}
    assert plan.dims == (
        Dim("learning_rate", low=1e-5, high=1e-4, log=True),
        Dim("epochs", values=(3, 5)),
        Dim("warmup_fraction", values=(0.0, 0.1)),
        Dim("seed", low=0, high=3),
        Dim("tensorboard", values=(False, True)))
    assert (plan.output_dir, plan.max_hours) == ("runs/s", 1.5)
    assert plan.config.data_dir == "../shared/data/mrpc"
    assert isinstance(plan.dims[3].low, int)


def test_smoke_settings_apply_and_a_fixed_value_beats_them(recipe):
    plan = sweep_space.parse(["epochs=2", "learning_rate=1e-3,1e-2"],
                             recipe, smoke=True)
    assert (plan.config.limit, plan.config.steps_per_epoch) == (16, 2)
    assert plan.config.epochs == 2


def test_a_choice_with_none_keeps_the_typed_words(recipe):
    plan = sweep_space.parse(["clipnorm=none,1.0"], recipe)
    assert plan.dims == (Dim("clipnorm", values=("none", "1.0")),)


@pytest.mark.parametrize("items, words", [
    (["lr=1e-3,1e-2"], "unknown key 'lr'; valid keys: augment, "),
    (["epochs=3,5", "max_hour=2"], "(did you mean 'max_hours'?)"),
    (["optimizer=1..2"], "optimizer='1..2': a range needs a number key"),
    (["learning_rate=0..1e-3:log"], "a :log range needs a low end above 0"),
    (["learning_rate=1e-3..1e-4"], "the range's low end must be below"),
    (["epochs=1.5..3"], "epochs='1.5' is not a valid int"),
    (["epochs=3,,5"], "a choice needs a value between each two commas"),
    (["epochs=3,3"], "epochs='3,3' gives a value twice"),
    (["epochs=three,5"], "epochs='three' is not a valid int"),
    (["warmup_fraction=0,1.5"], "warmup_fraction=1.5 is not valid"),
    (["epochs=2"], "needs at least one swept key"),
    (["monitor=val_loss,val_accuracy"], "monitor cannot be swept"),
    (["output_dir=a,b"], "output_dir cannot be swept"),
    (["epochs=3,5", "max_hours=0"], "max_hours='0' is not valid"),
    (["epochs=2,3", "freeze=backbone", "unfreeze_at=1,2"],
     "unfreeze_at=2 is not valid: use from 1 to epochs - 1 (1), or none "
     "(in the trial epochs=2, unfreeze_at=2)"),
])
def test_bad_arguments_name_the_key(recipe, items, words):
    with pytest.raises(KftError) as caught:
        sweep_space.parse(items, recipe)
    assert words in str(caught.value)


def test_max_hours_is_listed_among_the_valid_keys(recipe):
    with pytest.raises(KftError, match="max_hours, model_axis"):
        sweep_space.parse(["lr=1,2"], recipe)


def test_paths_with_dots_stay_plain_values(recipe):
    plan = sweep_space.parse(["data_dir=../data/x..y", "epochs=3,5"],
                             recipe)
    assert plan.fixed == {"data_dir": "../data/x..y"}


def test_grid_refuses_a_float_or_log_range_but_takes_an_int_range(recipe):
    with pytest.raises(KftError, match="--algorithm grid needs a list of "
                       "values for learning_rate"):
        sweep_space.parse(["learning_rate=1e-5..1e-4"], recipe,
                          algorithm="grid")
    plan = sweep_space.parse(["epochs=2..4"], recipe, algorithm="grid")
    assert plan.dims == (Dim("epochs", low=2, high=4),)


def test_cli_text_gives_each_value_back_exactly():
    for value in (1.2345678901234567e-05, 0.1, 3, True, False, None, "x"):
        text = sweep_space.cli_text(value)
        kind = type(value) if value is not None else int | None
        assert config.overrides.convert("k", text, kind) == value


def test_the_keras_tuner_space_matches_the_dims():
    space = sweep_tuner.hyperparameters([
        Dim("learning_rate", low=1e-5, high=1e-4, log=True),
        Dim("epochs", low=2, high=4), Dim("warmup_fraction",
                                          values=(0.0, 0.1))])
    by_name = {hp.name: hp.get_config() for hp in space.space}
    assert by_name["learning_rate"]["sampling"] == "log"
    assert (by_name["learning_rate"]["min_value"],
            by_name["learning_rate"]["max_value"]) == (1e-5, 1e-4)
    assert (by_name["epochs"]["min_value"], by_name["epochs"]["max_value"],
            by_name["epochs"]["step"]) == (2, 4, 1)
    assert by_name["warmup_fraction"]["values"] == [0.0, 0.1]


def test_cli_bad_input_exits_2_with_one_line_and_writes_nothing(
        tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", MRPC, "learning_rate=1e-3..1e-2", "epochs=x,2",
            f"output_dir={out}"]
    assert main(argv=argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["kft: error: epochs='x' is not a valid int"]
    assert not out.exists()
