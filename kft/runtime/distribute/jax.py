"""JAX: `keras.distribution` data and model parallelism (GPUs, TPUs).

Keras's JAX trainer does the work: with a distribution set, it places each
batch sharded over the mesh's `batch` axis and each variable with its
layout, and XLA inserts the collectives. Many hosts join first through
`keras.distribution.initialize`, driven by the `KERAS_DISTRIBUTION_*`
environment variables (on a TPU VM pod slice JAX finds its peers itself).
"""

import os

from kft.errors import KftError
from kft.runtime.distribute import environment
from kft.runtime.distribute.topology import Share, Topology, resolve

# Megatron-style sharding of BERT-family (KerasHub TransformerEncoder)
# kernels over the `model` axis: attention heads, the feed-forward inner
# dimension, and the hidden dimension of the token embedding. A variable
# whose dimension does not divide by the axis size stays replicated.
LAYOUT = {
    r".*token_embedding/embeddings": (None, "model"),
    r".*(query|key|value)/kernel": (None, "model", None),
    r".*(query|key|value)/bias": ("model", None),
    r".*attention_output/kernel": ("model", None, None),
    r".*feedforward_intermediate_dense/kernel": (None, "model"),
    r".*feedforward_intermediate_dense/bias": ("model",),
    r".*feedforward_output_dense/kernel": ("model", None),
}
ENVIRONMENT = (environment.JOB_ADDRESSES, environment.NUM_PROCESSES)


def configure(config):
    """Sets (or clears) the global Keras distribution for this run."""
    import jax
    import keras

    if any(os.environ.get(k) for k in ENVIRONMENT) and \
            not jax.distributed.is_initialized():
        keras.distribution.initialize()
    devices = keras.distribution.list_devices()
    strategy = resolve(config.distribute, len(devices))
    if strategy == "none":
        keras.distribution.set_distribution(None)
        return Topology(devices=tuple(devices[:1])), None
    if strategy == "data_parallel":
        name = "DataParallel"
        mesh = keras.distribution.DeviceMesh(
            (len(devices),), ["batch"], devices)
        engine = keras.distribution.DataParallel(
            device_mesh=mesh, auto_shard_dataset=False)
    else:
        name = "ModelParallel"
        engine = _model_parallel(devices, config.model_axis)
    keras.distribution.set_distribution(engine)
    mesh = engine.device_mesh
    return Topology(
        strategy=strategy, engine=f"keras.distribution.{name}",
        replicas=engine.num_model_replicas,
        processes=jax.process_count(), rank=jax.process_index(),
        mesh_shape=tuple(mesh.shape), mesh_axes=tuple(mesh.axis_names),
        devices=tuple(devices)), engine


def _model_parallel(devices, model_axis):
    import keras

    size = model_axis or 2
    if len(devices) % size:
        raise KftError(
            f"model_axis={size} does not divide the {len(devices)} visible "
            "devices: choose a divisor of the device count")
    mesh = keras.distribution.DeviceMesh(
        (len(devices) // size, size), ["batch", "model"], devices)
    layout_map = keras.distribution.LayoutMap(mesh)
    for pattern, axes in LAYOUT.items():
        layout_map[pattern] = axes

    class ModelParallel(keras.distribution.ModelParallel):
        """Replicates a variable whose sharded dimension does not divide
        by its mesh axis (e.g. an odd vocabulary), instead of failing."""

        def get_variable_layout(self, variable):
            layout = super().get_variable_layout(variable)
            if _divides(tuple(variable.shape), layout.axes, mesh):
                return layout
            return keras.distribution.TensorLayout(
                [None] * len(variable.shape), mesh)

    return ModelParallel(layout_map=layout_map, batch_dim_name="batch",
                         auto_shard_dataset=False)


def _divides(shape, axes, mesh):
    sizes = dict(zip(mesh.axis_names, mesh.shape, strict=True))
    return len(shape) == len(axes) and all(
        axis is None or dim % sizes[axis] == 0
        for dim, axis in zip(shape, axes, strict=True))


def sharded(model):
    """Paths of `model`'s variables split over the `model` axis."""
    names = []
    for variable in model.variables:
        spec = getattr(variable.value.sharding, "spec", ())
        if any(axis == "model" for axis in spec):
            names.append(variable.path)
    return names


def prepare_model(model, engine):
    import keras

    if not isinstance(engine, keras.distribution.ModelParallel):
        return
    engine.sharded = sharded(model)
    if not engine.sharded:
        patterns = ", ".join(p.replace(".*", "") for p in LAYOUT)
        raise KftError(
            f"distribute=model_parallel found no variable of "
            f"{type(model).__name__} to shard (kft shards BERT-family "
            f"kernels: {patterns}); use distribute=data_parallel")


def describe(engine):
    if engine is None:
        return {}
    import keras

    if not isinstance(engine, keras.distribution.ModelParallel):
        return {}
    return {"layout": {p: list(a) for p, a in LAYOUT.items()},
            "sharded": getattr(engine, "sharded", [])}


def scope(engine):
    import contextlib

    return contextlib.nullcontext()


def optimizer_class(kind, engine):
    return kind


def datasets(train, validation, class_weight, topology, engine,
             preprocess=None):
    """Every batch padded to split over the replicas; with many processes,
    each builds only its own part (Keras assembles the global batch)."""
    parts, index = 1, 0
    if topology.processes > 1:
        # As Keras's own `distribute_dataset`: each process feeds its data
        # shard; processes that share a model replica feed the same one.
        parts = min(topology.replicas, topology.processes)
        index = engine.data_shard_id
    share = Share(topology.replicas, parts, index)
    return train(share, class_weight), validation(share)


def metric_totals(engine):
    return None


def metric_values(engine):
    return None


def reset(engine):
    """Clears the Keras distribution this run set."""
    if engine is not None:
        import keras

        keras.distribution.set_distribution(None)


def any_process(flag, engine):
    """A flag gathered from every JAX process."""
    import numpy as np
    from jax.experimental import multihost_utils

    gathered = multihost_utils.process_allgather(np.array([int(flag)]))
    return bool(np.max(gathered))


def shards(engine):
    return None

