"""Trains the MRPC recipe under several `distribute=` values in one process
and prints what `tests/runtime/test_distribute.py` checks, as JSON on the
last line.

    KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=4 \\
        python tests/runtime/distributed_runs.py SPEC_JSON

SPEC_JSON: `{"cpus": N (TensorFlow logical CPUs, or 0), "out": DIR,
"base": {overrides}, "runs": {name: {overrides}}, "errors": {name:
{overrides}}}`. Each run reports its validation metrics, env.json's
`distribution`, the largest weight difference to the first run, how far
training moved the weights from their start, and (JAX) the variables whose
`value.sharding` splits them over the `model` axis.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from support import largest_difference  # noqa: E402  (tests/ on the path)


def main(spec):
    if spec.get("cpus"):
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * spec["cpus"])
    import numpy as np

    import kft
    from kft.training.trainer import prepare
    from recipes import mrpc

    base = mrpc.recipe().replace(**spec["base"])
    start = prepare(base.replace(distribute="none"))[1].get_weights()
    report, first = {}, None
    for name, overrides in spec["runs"].items():
        out = os.path.join(spec["out"], name)
        result = kft.train(base.replace(output_dir=out, **overrides))
        weights = [np.asarray(w) for w in result.model.get_weights()]
        first = first or weights
        report[name] = {
            "metrics": result.metrics,
            "distribution": json.load(open(os.path.join(
                out, "env.json")))["distribution"],
            "difference": largest_difference(weights, first)[0],
            "moved": largest_difference(weights, start)[0],
            "scale": largest_difference(first, weights)[1],
            "sharded": _sharded(result.model),
        }
    for name, overrides in spec.get("errors", {}).items():
        try:
            kft.train(base.replace(output_dir=os.path.join(spec["out"], name),
                                   **overrides))
            report[name] = {"error": None}
        except kft.KftError as error:
            report[name] = {"error": str(error)}
    print(json.dumps(report))


def _sharded(model):
    from kft.runtime.backend import current

    if current() != "jax":
        return []
    from kft.runtime.distribute.jax import sharded

    return sharded(model)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
