"""Step timing with a record of what else used the CPU meanwhile.

On a shared machine another process's load slows training several times
over. `StepTimer` times every training step and measures the foreign CPU
load during it (machine busy time minus this process's own CPU time), so
throughput can be computed over clean steps only.
"""

import os
import statistics
import time

import keras

CLEAN_FOREIGN_CORES = 0.25


def cpu_snapshot():
    """`(wall, machine_busy_s, own_cpu_s)`; busy is None off Linux."""
    own = os.times()
    busy = None
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        busy = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    return time.perf_counter(), busy, own.user + own.system


def foreign_cores(before, after):
    """Average cores used by other processes between two snapshots."""
    wall = after[0] - before[0]
    if before[1] is None or wall <= 0:
        return None
    foreign = (after[1] - before[1]) - (after[2] - before[2])
    return max(foreign, 0.0) / wall


class StepTimer(keras.callbacks.Callback):
    """Records each training step's seconds and the foreign CPU load.

    A step runs from the end of the previous step (or the start of the
    epoch) to its own end, so input-pipeline stalls count.

    Args:
        offset: callable or None. `offset(epoch)`: steps of `epoch` done
            before this `fit` (a resumed run), so steps count from the
            epoch's start.

    Attributes:
        steps: list of dicts `{"epoch", "step", "seconds", "foreign"}`.
    """

    def __init__(self, offset=None):
        super().__init__()
        self.steps = []
        self.offset = offset or (lambda epoch: 0)
        self._last = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._last = cpu_snapshot()

    def on_train_batch_end(self, batch, logs=None):
        now = cpu_snapshot()
        self.steps.append({
            "epoch": self._epoch, "step": self.offset(self._epoch) + batch,
            "seconds": now[0] - self._last[0],
            "foreign": foreign_cores(self._last, now),
        })
        self._last = now

    def summary(self, batch_size, skip_steps=5):
        """Examples per second over clean, full steps after warm-up.

        Warm-up is the whole first epoch when later epochs ran (it compiles
        each new input shape, e.g. each length bucket), else the first
        `skip_steps` steps.
        """
        last = {}
        for s in self.steps:
            last[s["epoch"]] = max(last.get(s["epoch"], -1), s["step"])
        if len(last) > 1:
            warm = [s for s in self.steps if s["epoch"] != min(last)]
        else:
            warm = self.steps[skip_steps:]
        # Each epoch's last batch may be short: leave it out.
        kept = [s for s in warm if s["step"] != last[s["epoch"]]]
        clean = [s for s in kept if s["foreign"] is not None
                 and s["foreign"] < CLEAN_FOREIGN_CORES]
        seconds = sum(s["seconds"] for s in clean)
        times = sorted(s["seconds"] for s in clean)
        loads = [s["foreign"] for s in kept if s["foreign"] is not None]
        return {
            "examples_per_second": (batch_size * len(clean) / seconds
                                    if seconds else None),
            "clean_steps": len(clean),
            "timed_steps": len(kept),
            "mean_foreign_cpu": sum(loads) / len(loads) if loads else None,
            # a slowest step far above the median is a compile (a length
            # bucket first seen after warm-up) or a stall
            "median_step_seconds": (statistics.median(times) if times
                                    else None),
            "slowest_step_seconds": times[-1] if times else None,
        }
