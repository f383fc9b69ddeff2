"""Every private or version-specific API kft uses, in one place.

Each use below names the package versions it was tested with (`TESTED`),
checks that the API is there, and falls back to the public API when it is
not, or when the installed version is not a tested one. The fallbacks give
the same results, more slowly, except where a docstring says otherwise.
`KFT_PUBLIC_API=1` in the environment (or `force_public(True)`) takes
every fallback, which the tests use to run both paths.

| use | private API | fallback |
|---|---|---|
| `adam_slots` | Keras `Adam._momentums`, `_velocities` | Keras's own update |
| `variable_index` | Keras `Optimizer._get_variable_index` | match by path |
| `torch_fused_adam` | `torch._fused_adam_` | Keras's own update |
| `all_layers` | Keras `Layer._flatten_layers` | walk `.layers` |
| `callback_fields` | `EarlyStopping`, `ReduceLROnPlateau` state | none |
| `set_threefry_partitionable` | `jax_threefry_partitionable` | JAX default |
| `tokenized_inputs` | KerasHub `preprocess_samples` | `preprocessor=None` |
| `multi_worker_strategy` | a Keras 3.15 need, met by a subclass | plain |
| `keras_loop` | none: `keras.Model.fit` under a KerasHub task | none |
| `maximized` | Keras `Metric._direction` | callbacks' `mode="max"` |
| `keras_backend_module` | `keras.src.backend` (for `kernels`) | kernels off |
| `onednn_linear` | `torch.ops.mkldnn._linear_pointwise` | kernels off |
"""

import contextlib
import functools
import importlib
import os
from importlib import metadata

# Package -> version prefixes the private uses were tested with.
TESTED = {
    "keras": ("3.15.",),
    "keras-hub": ("0.32.",),
    "torch": ("2.13.",),
    "jax": ("0.10.",),
}
_forced = {"public": False}

# The attributes of Keras callbacks that hold their state between epochs
# (undocumented; set in `on_train_begin`).
CALLBACK_FIELDS = {
    "EarlyStopping": ("wait", "stopped_epoch", "best", "best_epoch"),
    "ReduceLROnPlateau": ("wait", "best", "cooldown_counter"),
}


def force_public(on=True):
    """Takes (or stops taking) every public fallback, in this process."""
    _forced["public"] = bool(on)


def tested(package):
    """Whether `package`'s installed version is one kft was tested with
    (and no fallback is forced)."""
    if _forced["public"] or os.environ.get("KFT_PUBLIC_API") == "1":
        return False
    return _tested_version(package, TESTED.get(package, ()))


@functools.cache
def _tested_version(package, prefixes):
    try:
        version = metadata.version(package)
    except metadata.PackageNotFoundError:
        return False
    return version.startswith(prefixes)


def adam_slots(optimizer, variable):
    """`(m, v)`: the first and second moments a Keras Adam keeps for
    `variable`, or None (then use Keras's own `update_step`)."""
    if not tested("keras"):
        return None
    index = variable_index(optimizer, variable)
    momentums = getattr(optimizer, "_momentums", None)
    velocities = getattr(optimizer, "_velocities", None)
    if index is None or momentums is None or velocities is None:
        return None
    return momentums[index], velocities[index]


def variable_index(optimizer, variable):
    """The position of `variable` among the variables `optimizer` was
    built with. TensorFlow's trainer passes the raw `tf.Variable` to
    `update_step`; the fallback matches it by its path (its name up to
    `:`), which holds outside `tf.distribute` replicas."""
    if tested("keras") and hasattr(optimizer, "_get_variable_index"):
        return optimizer._get_variable_index(variable)
    paths = getattr(optimizer, "_kft_paths", None)
    if paths is None:
        return None
    return paths.get(variable_path(variable))


def remember_paths(optimizer, variables):
    """Records the paths of the variables `optimizer` is built with, for
    `variable_index`'s fallback."""
    optimizer._kft_paths = {variable_path(v): i
                            for i, v in enumerate(variables)}


def variable_path(variable):
    """A Keras variable's `path`, or a raw backend variable's name
    without its `:0`."""
    path = getattr(variable, "path", None)
    return path if path is not None else str(
        getattr(variable, "name", "")).rsplit(":", 1)[0]


def torch_fused_adam():
    """`torch._fused_adam_` (one kernel per Adam update), or None."""
    if not tested("torch"):
        return None
    import torch

    return getattr(torch, "_fused_adam_", None)


def all_layers(model):
    """Every layer inside `model`, nested ones included, once each.

    The fallback walks the public `.layers` of the model and of the models
    inside it; layers nested inside a plain layer (a transformer block's
    attention) are not listed, which is enough for `kft.model.head`, whose
    new head layers sit at the task's top level."""
    if tested("keras") and hasattr(model, "_flatten_layers"):
        return list(model._flatten_layers(include_self=False))
    found, seen = [], {id(model)}
    stack = list(reversed(getattr(model, "layers", [])))
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        found.append(layer)
        stack.extend(reversed(getattr(layer, "layers", [])))
    return found


def callback_fields(callback):
    """The attributes that hold `callback`'s state between epochs, for a
    backup, or None: without them a resumed run restarts the callback's
    counting (patience, cooldown) at the backup's epoch."""
    fields = CALLBACK_FIELDS.get(type(callback).__name__)
    if fields is None or not tested("keras"):
        return None
    if not all(hasattr(callback, f) for f in fields):
        return None
    return fields


def set_threefry_partitionable(on):
    """Sets JAX's `jax_threefry_partitionable` flag; returns whether it
    was set (False: JAX keeps its default)."""
    if not tested("jax"):
        return False
    import jax

    try:
        jax.config.update("jax_threefry_partitionable", bool(on))
    except (AttributeError, KeyError, ValueError):
        return False
    return True


@contextlib.contextmanager
def tokenized_inputs(model):
    """While open, a KerasHub task's `fit`/`evaluate` take batches that are
    already preprocessed (tokenized), without running its preprocessor.

    KerasHub runs `Task.preprocess_samples` over every batch. The tested
    path replaces that method on this instance with Keras's
    `pack_x_y_sample_weight`, leaving `model.preprocessor` in place (so a
    model saved meanwhile keeps it). The fallback sets the public
    `preprocessor` property to None, which KerasHub documents as "inputs
    unaltered", and keeps the preprocessor in `held_preprocessor(model)`
    for `kft.training.saving.save` to put back while it saves."""
    import keras

    if tested("keras-hub") and hasattr(model, "preprocess_samples"):
        model.preprocess_samples = keras.utils.pack_x_y_sample_weight
        try:
            yield model
        finally:
            del model.preprocess_samples
        return
    preprocessor = model.preprocessor
    model.preprocessor = None
    object.__setattr__(model, "_kft_held_preprocessor", preprocessor)
    try:
        yield model
    finally:
        object.__delattr__(model, "_kft_held_preprocessor")
        model.preprocessor = preprocessor


@contextlib.contextmanager
def keras_loop(model):
    """While open, `model.fit`, `evaluate` and `predict` are Keras's own
    (`keras.Model`'s), without a KerasHub task's preprocessing: for
    batches that are preprocessed already, in a dataset KerasHub cannot
    map (a `tf.distribute.DistributedDataset`: KerasHub's `fit` takes
    `tf.data` and grain datasets only)."""
    import keras

    names = ("fit", "evaluate", "predict")
    for name in names:
        object.__setattr__(model, name,
                           functools.partial(getattr(keras.Model, name), model))
    try:
        yield model
    finally:
        for name in names:
            object.__delattr__(model, name)


@contextlib.contextmanager
def preprocessor_in_place(model):
    """While open, `model.preprocessor` is the real one, even inside
    `tokenized_inputs`'s fallback (for saving)."""
    held = getattr(model, "_kft_held_preprocessor", None)
    if held is None:
        yield model
        return
    model.preprocessor = held
    try:
        yield model
    finally:
        model.preprocessor = None


def multi_worker_strategy():
    """TensorFlow's `MultiWorkerMirroredStrategy`, able to reduce a nested
    batch.

    Keras 3.15's TensorFlow trainer asks two things of a multi-worker
    strategy's `reduce` that it does not do: it builds a model from its
    first batch reduced with `strategy.reduce("MEAN", batch)`, where the
    batch is nested (a dict of text inputs, labels, weights: "Attempt to
    convert a value ({'token_ids': PerReplica..."), and it averages each
    step's scalar logs with `reduce("MEAN", value, axis=0)` ("Invalid
    reduction dimension 0 for input with 0 dimensions"). On the tested
    Keras, this subclass reduces each tensor of a structure on its own and
    a scalar over the replicas, through the public `reduce`; on another
    Keras, the plain strategy."""
    import tensorflow as tf

    if not tested("keras"):
        return tf.distribute.MultiWorkerMirroredStrategy()

    class NestedReduce(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis):
            parent = super()
            if tf.nest.is_nested(value):
                return tf.nest.map_structure(
                    lambda v: self.reduce(reduce_op, v, axis), value)
            local = self.experimental_local_results(value)
            if axis is not None and local and local[0].shape.rank == 0:
                axis = None  # a per-replica scalar: over the replicas
            return parent.reduce(reduce_op, value, axis)

    return NestedReduce()


def maximized(metric):
    """`metric`, marked as one to maximize for the callbacks that monitor
    it with `mode="auto"` (`EarlyStopping`, `ReduceLROnPlateau`): Keras's
    `MonitorCallback` reads the private `Metric._direction`, which Keras's
    own metrics set. The fallback marks nothing: such a callback then
    raises, asking for `mode="max"`; kft's own callbacks pass `mode`."""
    if tested("keras"):
        metric._direction = "up"
    return metric


def keras_backend_module(backend, name):
    """Keras's private `keras.src.backend.<backend>.<name>` (what `keras.ops`
    calls), for `kft.runtime.kernels` to patch; None off that backend, or
    on an untested Keras or `backend` version."""
    import keras

    if (keras.backend.backend() != backend or not tested("keras")
            or not tested(backend)):
        return None
    return importlib.import_module(f"keras.src.backend.{backend}.{name}")


def onednn_linear():
    """torch's `torch.ops.mkldnn._linear_pointwise(a, b, None, "none", [],
    "")`, `a @ b.T` through oneDNN; None on an untested torch, or without
    oneDNN (mkldnn)."""
    if not tested("torch"):
        return None
    import torch

    ops = torch.ops.mkldnn if torch.backends.mkldnn.is_available() else None
    return getattr(ops, "_linear_pointwise", None)
