"""TensorFlow: `tf.distribute` strategies (GPUs, TPUs, many workers).

The model is built and compiled inside the strategy's scope; Keras's
TensorFlow trainer then distributes each global batch over the replicas
(`experimental_distribute_dataset`), sums the gradients and aggregates the
metrics. With several workers, each builds only its own part of every
global batch instead (`distribute_datasets_from_function`, see
`datasets`). The strategy is, in this order:

- `MultiWorkerMirroredStrategy` when `TF_CONFIG` names a cluster (each
  worker runs the same command with its own `TF_CONFIG`);
- `TPUStrategy` on a TPU (`TPU_NAME` set, or a TPU VM's `/dev/accel*`);
- `MirroredStrategy` over this host's GPUs, or over its logical CPUs when
  there are several (tests).
"""

import glob
import json
import os

from kft.errors import KftError
from kft.runtime import compat
from kft.runtime.distribute import environment
from kft.runtime.distribute.topology import Share, Topology, resolve


def configure(config):
    """Creates the strategy for this run (None for a single device)."""
    import tensorflow as tf

    cluster = json.loads(os.environ.get(environment.TF_CONFIG) or "{}")
    workers = sum(len(v) for k, v in cluster.get("cluster", {}).items()
                  if k in ("chief", "worker"))
    tpu = bool(os.environ.get("TPU_NAME") or glob.glob("/dev/accel*"))
    # Decided before TensorFlow starts its runtime (listing devices does):
    # multi-worker collectives must be configured before that.
    devices = [] if workers > 1 or tpu else _local_devices(tf)
    strategy = resolve(config.distribute,
                       max(workers, len(devices), 2 if tpu else 1))
    if strategy == "model_parallel":
        raise KftError(
            "distribute=model_parallel is not supported on tensorflow: kft "
            "shards models with keras.distribution, which runs on JAX. Use "
            "distribute=data_parallel, or --backend jax")
    if strategy == "none":
        if workers > 1:
            raise KftError(
                f"TF_CONFIG names {workers} workers but distribute=none: "
                "every worker would train alone and write the same run; "
                "use distribute=data_parallel (or auto)")
        return Topology(devices=tuple(devices[:1])), None
    if workers > 1:
        engine = compat.multi_worker_strategy()
        name = "MultiWorkerMirroredStrategy"
    elif tpu:
        engine = _tpu_strategy(tf)
        name = "TPUStrategy"
    else:
        engine = tf.distribute.MirroredStrategy(devices)
        name = "MirroredStrategy"
    return Topology(
        strategy=strategy, engine=f"tf.distribute.{name}",
        replicas=engine.num_replicas_in_sync, processes=max(workers, 1),
        rank=_rank(cluster), mesh_shape=(engine.num_replicas_in_sync,),
        mesh_axes=("replica",),
        devices=_every_device(engine, workers, _rank(cluster))), engine


def _every_device(engine, workers, rank):
    """Every worker's devices (the local ones, named for each task): the
    whole topology, for `env.json`."""
    local = list(engine.extended.worker_devices)
    if workers <= 1:
        return tuple(local)
    return tuple(d.replace(f"/task:{rank}/", f"/task:{task}/")
                 for task in range(workers) for d in local)


def _local_devices(tf):
    """This host's GPUs, else its logical CPUs."""
    found = (tf.config.list_logical_devices("GPU")
             or tf.config.list_logical_devices("CPU"))
    return [d.name for d in found]


def _tpu_strategy(tf):
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
        tpu=os.environ.get("TPU_NAME", "local"))
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def _rank(cluster):
    """0 for the process that writes: the chief, else worker 0."""
    task = cluster.get("task", {})
    if not task:
        return 0
    if "chief" in cluster.get("cluster", {}):
        return 0 if task.get("type") == "chief" else 1 + task.get("index", 0)
    return task.get("index", 0)


def describe(engine):
    return {}


def scope(engine):
    return engine.scope()


def prepare_model(model, engine):
    pass


def optimizer_class(kind, engine):
    return kind


def datasets(train, validation, class_weight, topology, engine,
             preprocess=None):
    """Every global batch padded to split evenly over the replicas. One
    worker feeds whole batches and the strategy splits them inside `fit`.
    With several workers, each builds only its own part of every batch,
    validation included, through `distribute_datasets_from_function`:
    `preprocess` runs there, as KerasHub's `fit` cannot map such a
    dataset (`kft.runtime.distribute.loop` feeds it)."""
    if topology.processes == 1:
        share = Share(topology.replicas)
        return (train(share, class_weight).map(_no_bool),
                validation(share).map(_no_bool))
    return (_per_worker(engine, topology, lambda s: train(s, class_weight),
                        preprocess),
            _per_worker(engine, topology, validation, preprocess))


def _per_worker(engine, topology, build, preprocess):
    """A distributed dataset whose workers each build their part of every
    global batch, preprocessed, cut into one batch per local replica."""
    import tensorflow as tf

    def worker_dataset(context):
        share = Share(topology.replicas, context.num_input_pipelines,
                      context.input_pipeline_id)
        ds = build(share)
        if preprocess is not None:
            ds = ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.map(_no_bool).prefetch(tf.data.AUTOTUNE)
        local = context.num_replicas_in_sync // context.num_input_pipelines
        if local == 1:
            return ds
        # Each element goes to the next local replica: cut every part into
        # `local` contiguous batches, in order.
        return ds.flat_map(lambda *batch: tf.data.Dataset.from_tensor_slices(
            tf.nest.map_structure(lambda t: tf.reshape(
                t, tf.concat([[local, -1], tf.shape(t)[1:]], 0)), batch)))

    return engine.distribute_datasets_from_function(worker_dataset)


def _no_bool(*batch):
    """Boolean inputs (KerasHub's `padding_mask`) as int32: Keras 3.15's
    TensorFlow trainer averages a first distributed batch over the
    replicas to build the model (`_maybe_symbolic_build`), and
    TensorFlow cannot add booleans. The models take either."""
    import tensorflow as tf

    return tf.nest.map_structure(
        lambda t: tf.cast(t, "int32") if t.dtype == tf.bool else t, batch)


def metric_totals(engine):
    return None


def metric_values(engine):
    return None


def reset(engine):
    pass


def any_process(flag, engine):
    """A flag summed over every replica of every worker."""
    import tensorflow as tf

    per_replica = engine.run(lambda: tf.constant(int(flag)))
    total = engine.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
    return bool(int(total) > 0)


def shards(engine):
    return None
