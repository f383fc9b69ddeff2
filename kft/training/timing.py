"""Step timing with a record of what else used the CPU meanwhile: the one
definition of a timed, clean step, for kft and for the benchmark peers.

On a shared machine another process's load slows training several times
over. `StepClock` times every training step and, when asked, measures the
foreign CPU load during it (machine busy time minus this process's own
CPU time, its live children's included), so throughput is computed over
clean steps only.

Measuring the foreign load is opt-in: `KFT_FOREIGN_LOAD=1` in the
environment (or `StepClock(foreign=True)`). It reads `/proc/stat` and
every process's `/proc/N/stat` (for this process's children) once a
step, which costs about 1.7 ms with 78 processes and 22-27 ms on a
simulated node of 1,500; without it a step's clock costs under a
microsecond (`tools/results/step_overhead.md`). The benchmark tools in
`tools/` set it for the runs they launch. Without it a step reads the
clock only: step times and throughput are recorded as before, each
step's `foreign` and the summary's `mean_foreign_cpu` are None, and every
step counts as clean. The definitions:

- a step runs from the end of the previous step (or its epoch's start) to
  its own end, so input-pipeline stalls count;
- warm-up is the whole first epoch when later epochs ran (it compiles
  each new input shape, e.g. each length bucket), else the first
  `skip_steps` steps;
- each epoch's last step may be a short batch, and is left out;
- a step is clean when the foreign load during it is under
  `CLEAN_FOREIGN_CORES`, or was not measured (sampling off). With
  sampling on, a step whose load is unknown (off Linux) is not clean.

`kft.training.callbacks.StepTimer` drives a clock from `fit`; the peers in
`tools/` call `epoch_begin` and `step_end` from their own loops.
"""

import os
import statistics
import time

CLEAN_FOREIGN_CORES = 0.25
# Where the kernel's process table is (a test points it elsewhere).
PROC = "/proc"


def sampling():
    """Whether clocks measure the foreign load by default:
    `KFT_FOREIGN_LOAD=1`."""
    return os.environ.get("KFT_FOREIGN_LOAD") == "1"


def wall_snapshot():
    """`(wall, None, None)`: the clock only, for a clock not sampling the
    foreign load."""
    return (time.perf_counter(), None, None)


def cpu_snapshot():
    """`(wall, machine_busy_s, own_cpu_s)`; busy is None off Linux.

    Own CPU time includes this process's live children (a data loader's
    worker processes are part of the work), read from `/proc`.
    """
    own = os.times()
    busy = None
    try:
        with open(f"{PROC}/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        busy = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    return (time.perf_counter(), busy,
            own.user + own.system + _children_cpu())


def _children_cpu():
    """CPU seconds of this process's live child processes (0 off Linux)."""
    me, total = os.getpid(), 0
    try:
        names = os.listdir(PROC)
    except OSError:
        return 0.0
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"{PROC}/{name}/stat") as f:
                # fields after the command's closing parenthesis: state,
                # ppid, ..., utime (12th), stime, cutime, cstime
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == me:
            total += sum(int(v) for v in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def foreign_cores(before, after):
    """Average cores used by other processes between two snapshots (None
    when either did not measure the machine)."""
    wall = after[0] - before[0]
    if before[1] is None or after[1] is None or wall <= 0:
        return None
    foreign = (after[1] - before[1]) - (after[2] - before[2])
    return max(foreign, 0.0) / wall


class StepClock:
    """Records each training step's seconds and, when sampling, the
    foreign CPU load.

    Args:
        foreign: bool or None. Measure the foreign load (reads `/proc`
            twice a step); None: as `KFT_FOREIGN_LOAD=1` says.

    Attributes:
        foreign: bool. Whether it measures the foreign load.
        steps: list of dicts `{"epoch", "step", "seconds", "foreign",
            "examples", "tokens"}` (`foreign` None when not measured;
            `examples` and `tokens` None when the caller did not give
            them).

    Example:

    ```python
    clock = StepClock()
    for epoch in range(epochs):
        clock.epoch_begin(epoch)
        for step, batch in enumerate(batches):
            train_step(batch)
            clock.step_end(step, examples=len(batch))
    clock.summary(batch_size)["examples_per_second"]
    ```
    """

    def __init__(self, foreign=None):
        self.foreign = sampling() if foreign is None else bool(foreign)
        self.steps = []
        self._epoch, self._last = 0, None

    def _snapshot(self):
        return cpu_snapshot() if self.foreign else wall_snapshot()

    def epoch_begin(self, epoch):
        self._epoch = epoch
        self._last = self._snapshot()

    def step_end(self, step, examples=None, tokens=None):
        now = self._snapshot()
        self.steps.append({
            "epoch": self._epoch, "step": step,
            "seconds": now[0] - self._last[0],
            "foreign": foreign_cores(self._last, now),
            "examples": examples, "tokens": tokens,
        })
        self._last = now

    def summary(self, batch_size, skip_steps=5):
        """Examples per second over clean, full steps after warm-up (see
        the module docstring), and what else the steps show.

        Args:
            batch_size: int. Examples in a step that recorded none.
            skip_steps: int. Warm-up steps when only one epoch ran.
        """
        timed = timed_steps(self.steps, skip_steps)
        clean = [s for s in timed if clean_step(s, self.foreign)]
        seconds = sum(s["seconds"] for s in clean)
        examples = sum(batch_size if s["examples"] is None else s["examples"]
                       for s in clean)
        tokens = [s["tokens"] for s in clean if s["tokens"] is not None]
        times = sorted(s["seconds"] for s in clean)
        loads = [s["foreign"] for s in timed if s["foreign"] is not None]
        return {
            "examples_per_second": examples / seconds if seconds else None,
            "clean_steps": len(clean),
            "timed_steps": len(timed),
            "mean_foreign_cpu": sum(loads) / len(loads) if loads else None,
            # a slowest step far above the median is a compile (a length
            # bucket first seen after warm-up) or a stall
            "median_step_seconds": (statistics.median(times) if times
                                    else None),
            "slowest_step_seconds": times[-1] if times else None,
            "mean_padded_length": (sum(tokens) / examples
                                   if tokens and len(tokens) == len(clean)
                                   and examples else None),
        }


def clean_step(step, sampled):
    """Whether `step` counts: its foreign load is under
    `CLEAN_FOREIGN_CORES`, or it was not measured and `sampled` is False
    (a clock that does not sample)."""
    if step["foreign"] is None:
        return not sampled
    return step["foreign"] < CLEAN_FOREIGN_CORES


def timed_steps(steps, skip_steps=5):
    """The steps that count: after warm-up, without each epoch's last."""
    last = {}
    for s in steps:
        last[s["epoch"]] = max(last.get(s["epoch"], -1), s["step"])
    if len(last) > 1:
        warm = [s for s in steps if s["epoch"] != min(last)]
    else:
        warm = steps[skip_steps:]
    return [s for s in warm if s["step"] != last[s["epoch"]]]
