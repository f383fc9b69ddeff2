"""The `kft` command line. It chooses the backend before keras is imported.

    kft run RECIPE [--backend B] [--smoke] [key=value ...]
    kft resume RUN_DIR [--backend B] [key=value ...]
    kft show RECIPE [--backend B] [--smoke] [key=value ...]
    kft sweep RECIPE [--backend B] [--trials N] [--algorithm A] [--smoke]
              [key=value | key=v1,v2 | key=low..high[:log] ...]
    kft eval RUN_DIR [--backend B] [key=value ...]
    kft report RUN_DIR [RUN_DIR ...] [--out report.md]
    kft predict RUN_DIR [INPUT ...] [--input FILE] [--output FILE]
    kft export RUN_DIR --format keras|saved_model|onnx [--out DIR]
    kft preset import SOURCE --out DIR

Every module imported here is light: the heavy work is reached through
`kft.training`'s deferred names after `start` has chosen the backend.
Native libraries' noise on standard error is hidden (`kft.runtime.quiet`)
unless `kft -v` asks for it.
"""

import dataclasses
import json
import os
import sys

import click

from kft import config, errors, training
from kft.commands import report
from kft.errors import (
    EXIT_ABORTED,
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    KftError,
)
from kft.evaluation import evaluate, export, predict
from kft.evaluation.report import terminal
from kft.model import importer
from kft.rundir import layout
from kft.runtime import backend as backends
from kft.runtime import quiet
from kft.runtime.distribute import launch
from kft.sweep import search as sweep
from kft.sweep import space as sweep_space
from kft.training import resume
from kft.training.interrupt import Interrupted

BACKEND = click.option(
    "--backend",
    type=click.Choice(list(backends.BACKENDS)),
    default=None,
    help="Keras backend; default: $KERAS_BACKEND, else Keras's default.",
)
OVERRIDES = click.argument("overrides", nargs=-1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True,
              help="Also show the native libraries' start-up lines "
                   "(CUDA probing, oneDNN notices), hidden by default.")
def cli(verbose):
    """Fine-tune KerasHub models: one recipe, torch, jax or tensorflow."""


def start(name):
    """Selects backend `name` (None: `KERAS_BACKEND`) before keras loads."""
    backends.select(name)


@cli.command()
@click.argument("recipe")
@BACKEND
@click.option("--smoke", is_flag=True,
              help="A few steps on a few examples: checks a recipe runs.")
@click.option("--processes", type=int, default=None, metavar="N",
              help="Train as N local processes, set up with the engine's "
                   "own multi-process protocol (jax.distributed, TF_CONFIG, "
                   "torchrun nodes).")
@click.option("--devices-per-process", type=int, default=1, metavar="D",
              help="With --processes: devices each process trains on "
                   "(JAX host devices, torch processes per node).")
@click.option("--port", type=int, default=None,
              help="With --processes: the first local port to use "
                   "(default: free ones).")
@OVERRIDES
def run(recipe, backend, smoke, processes, devices_per_process, port,
        overrides):
    """Train RECIPE (a file such as recipes/mrpc.py, or a module).

    OVERRIDES are typed key=value settings, e.g. epochs=2 learning_rate=3e-5;
    `kft show RECIPE` lists them all.
    """
    if processes is not None:
        resolve(recipe, overrides, smoke)  # bad keys fail before any start
        args = [recipe, *(["--smoke"] if smoke else []), *overrides]
        raise click.exceptions.Exit(launch.launch(
            args, backend or backends.current_name(), processes,
            devices_per_process, port))
    start(backend)
    result = training.train(resolve(recipe, overrides, smoke))
    click.echo(json.dumps({"run_dir": result.run_dir, **result.metrics}))


@cli.command("resume")
@click.argument("run_dir")
@BACKEND
@click.option("--trust-recipe", is_flag=True,
              help="Import the recipe file RUN_DIR/config.json names even "
                   "when it lies outside the current folder.")
@OVERRIDES
def resume_(run_dir, backend, trust_recipe, overrides):
    """Continue RUN_DIR, an unfinished run, from its last backup.

    The recipe and settings come from RUN_DIR/config.json (so this imports
    that recipe file, which must lie inside the current folder unless
    --trust-recipe), the backend from RUN_DIR/env.json. OVERRIDES may
    change only what does not change the training: verbose,
    backup_every_steps.
    """
    resume.check_processes(run_dir)
    start(backend or resume.run_backend(run_dir))
    recipe = resume.recipe_of(run_dir, config.parse(overrides),
                              trust=trust_recipe)
    result = training.train(recipe)
    click.echo(json.dumps({"run_dir": result.run_dir, **result.metrics}))


@cli.command()
@click.argument("recipe")
@BACKEND
@click.option("--smoke", is_flag=True, help="Show the --smoke settings.")
@OVERRIDES
def show(recipe, backend, smoke, overrides):
    """Print RECIPE's resolved config, with OVERRIDES applied.

    Needs no backend and loads none: --backend is accepted, as `kft run`
    takes it, and only selects it for a recipe that imports keras itself.
    """
    if backend is not None:
        backends.select(backend)  # sets KERAS_BACKEND; imports nothing
    resolved = resolve(recipe, overrides, smoke)
    values = dataclasses.asdict(resolved.config)
    click.echo(json.dumps({"recipe": resolved.name, "config": values},
                          indent=2))


@cli.command("sweep")
@click.argument("recipe")
@BACKEND
@click.option("--trials", type=click.IntRange(min=1), default=None,
              help="At most N trials; default: the whole grid (grid), "
                   f"else {sweep.DEFAULT_TRIALS}.")
@click.option("--algorithm", type=click.Choice(sweep_space.ALGORITHMS),
              default="random", show_default=True,
              help="KerasTuner's oracle: random search, Bayesian "
                   "optimisation, or every combination once (grid).")
@click.option("--smoke", is_flag=True,
              help="Every trial runs a few steps on a few examples.")
@OVERRIDES
def sweep_(recipe, backend, trials, algorithm, smoke, overrides):
    """Search RECIPE's hyperparameters with KerasTuner: every trial is a
    `kft run` into OUTPUT_DIR/trials/NNN.

    OVERRIDES: key=value is fixed, key=v1,v2 a choice, key=low..high
    (int or float, :log for a log scale) a range; max_hours=H bounds the
    time; output_dir= names the sweep's folder (default
    runs/RECIPE-sweep-BACKEND). The objective is the recipe's monitor.
    Writes sweep.json, sweep.md, sweep.png and a `best` link; the same
    command again goes on after a kill, training nothing twice.
    """
    start(backend)
    click.echo(sweep.sweep(recipe, overrides, backends.current(),
                           trials=trials, algorithm=algorithm, smoke=smoke))


@cli.command("eval")
@click.argument("run_dir")
@BACKEND
@OVERRIDES
def eval_(run_dir, backend, overrides):
    """Evaluate RUN_DIR's saved model on a labelled split.

    OVERRIDES are key=value: data_dir (default: the run's own), split
    (train, validation, test; default validation), batch_size, limit (the
    first N examples), worst (how many worst-classified examples to list;
    default 10). Writes RUN_DIR/eval-SPLIT.json, eval-SPLIT.md and
    eval-SPLIT-confusion.png. The
    run's recipe is never imported.
    """
    start(backend)
    result = evaluate.evaluate(run_dir, **config.parse(overrides))
    click.echo(terminal(result))
    click.echo()
    for name in layout.eval_files(result["split"]):
        click.echo(f"wrote {os.path.join(run_dir, name)}")


@cli.command("report")
@click.argument("run_dirs", nargs=-1, required=True)
@click.option("--out", default=None,
              help="Also write the comparison as Markdown to this file.")
def report_(run_dirs, out):
    """Compare run directories side by side (no model is loaded).

    One row per RUN_DIR: recipe, backend, epochs, best epoch, validation
    metrics, training time and speed, and the config keys that differ.
    """
    click.echo(report.compare(run_dirs, out))
    if out:
        click.echo(f"wrote {out}")


@cli.command("predict")
@click.argument("run_dir")
@click.argument("inputs", nargs=-1)
@click.option("--input", "input_path", metavar="FILE",
              help="A .tsv, .csv, .jsonl or .parquet file (a header naming "
                   "the input columns), or a folder of images, instead of "
                   "INPUTS.")
@click.option("--output", metavar="FILE",
              help="Write the predictions to FILE.jsonl or FILE.tsv.")
@click.option("--batch-size", type=int, default=None,
              help="Default: the run's own batch size.")
@BACKEND
def predict_(run_dir, inputs, input_path, output, batch_size, backend):
    """Predict classes with RUN_DIR's saved model.

    INPUTS are one pair (sentence1 sentence2) for a pair task, one or more
    sentences, or image paths. Prints the label, the class probabilities
    (p_CLASS) and the input, one line each. A file's columns are the
    run's input columns (GLUE's sentence1, sentence2 or sentence for the
    GLUE recipes), or image (a path, relative to the file). The run's
    recipe is never imported; the model loads in Keras safe mode on any
    backend.
    """
    start(backend)
    for line in predict.run(run_dir, inputs, input_path, output,
                            batch_size):
        click.echo(line)


@cli.command("export")
@click.argument("run_dir")
@click.option("--format", "format_", required=True,
              type=click.Choice(list(export.FORMATS)))
@click.option("--out", metavar="DIR",
              help="The folder to write; default RUN_DIR/export-FORMAT.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out.")
@BACKEND
def export_(run_dir, format_, out, overwrite, backend):
    """Export RUN_DIR's model to a folder, with an export.json naming its
    inputs and outputs.

    keras: model.keras, the whole task (raw inputs), on any backend.
    saved_model and onnx: the backbone and head only, taking the
    preprocessor's output (token ids, segment ids, padding mask; or
    normalised images) and returning logits. These are traced on
    TensorFlow: without --backend, kft export runs on tensorflow; with
    another backend, that step runs in a tensorflow subprocess. onnx needs
    the onnx and tf2onnx packages (pip install -e '.[dev]').
    """
    if backend is None and format_ in export.ON_TENSORFLOW and (
            "keras" not in sys.modules):  # else: a tensorflow subprocess
        backend = "tensorflow"
    start(backend)
    click.echo(f"wrote {export.export(run_dir, format_, out, overwrite)}")


@cli.group()
def preset():
    """Make local KerasHub presets, for offline use."""


@preset.command("import")
@click.argument("source")
@click.option("--out", required=True, help="The preset folder to write.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out.")
def import_(source, out, overwrite):
    """Turn a Hugging Face folder or pip package SOURCE into a preset."""
    start(None)
    click.echo(importer.import_preset(source, out, overwrite=overwrite))


def resolve(spec, overrides, smoke):
    """The recipe `spec` names, with `--smoke` and `key=value` applied."""
    recipe = config.load(spec)
    values = dict(config.SMOKE) if smoke else {}
    values.update(config.parse(overrides))
    return recipe.replace(**values)


def main(recipe=None, argv=None):
    """Entry point of `kft`; with `recipe`, acts as `kft run` on it.

    Args:
        recipe: kft.Recipe or None. Lets a recipe file run itself:
            `python -m recipes.mrpc epochs=2`.
        argv: list of str or None. Arguments; default `sys.argv[1:]`.

    Returns:
        The exit status: 0; 2 for bad input (`kft: error: ...`); 75 when a
        signal stopped training after a backup (`kft: interrupted at ...`).
    """
    if argv is None:  # the `kft` command itself: it owns the process
        errors.show_warnings_as_kft()
        if sys.argv[1:2] not in (["-v"], ["--verbose"]):
            quiet.hide_native_noise()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if recipe is not None:
            result = training.train(recipe.replace(**config.parse(argv)))
            print(json.dumps({"run_dir": result.run_dir, **result.metrics}))
            return EXIT_OK
        status = cli.main(args=argv, prog_name="kft", standalone_mode=False)
        return status if isinstance(status, int) else EXIT_OK
    except KftError as error:
        click.echo(f"kft: error: {error}", err=True)
        return EXIT_BAD_INPUT
    except Interrupted as stopped:
        click.echo(f"kft: {stopped}", err=True)
        return EXIT_INTERRUPTED
    except click.exceptions.Abort:
        return EXIT_ABORTED
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Exit as done:
        return done.exit_code
