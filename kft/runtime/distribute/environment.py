"""The environment variables that configure a multi-process run: written
by the launcher (`kft.runtime.distribute.launch`), read back by the
engines' modules here (and by Keras and torch themselves).
"""

# JAX (`keras.distribution.initialize`): the coordinator, the number of
# processes and this one's id.
JOB_ADDRESSES = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
NUM_PROCESSES = "KERAS_DISTRIBUTION_NUM_PROCESSES"
PROCESS_ID = "KERAS_DISTRIBUTION_PROCESS_ID"
# TensorFlow (`MultiWorkerMirroredStrategy`): the cluster and this task.
TF_CONFIG = "TF_CONFIG"
# torch: set by `torchrun` in each worker.
WORLD_SIZE, LOCAL_RANK = "WORLD_SIZE", "LOCAL_RANK"
# Every launched process: its index in the group (for tools and tests).
PROCESS_INDEX = "KFT_PROCESS_INDEX"
