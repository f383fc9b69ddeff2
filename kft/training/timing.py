"""Step timing with a record of what else used the CPU meanwhile: the one
definition of a timed, clean step, for kft and for the benchmark peers.

On a shared machine another process's load slows training several times
over. `StepClock` times every training step and measures the foreign CPU
load during it (machine busy time minus this process's own CPU time), so
throughput is computed over clean steps only. The definitions:

- a step runs from the end of the previous step (or its epoch's start) to
  its own end, so input-pipeline stalls count;
- warm-up is the whole first epoch when later epochs ran (it compiles
  each new input shape, e.g. each length bucket), else the first
  `skip_steps` steps;
- each epoch's last step may be a short batch, and is left out;
- a step is clean when the foreign load during it is known and under
  `CLEAN_FOREIGN_CORES`.

`kft.training.callbacks.StepTimer` drives a clock from `fit`; the peers in
`tools/` call `epoch_begin` and `step_end` from their own loops.
"""

import os
import statistics
import time

CLEAN_FOREIGN_CORES = 0.25


def cpu_snapshot():
    """`(wall, machine_busy_s, own_cpu_s)`; busy is None off Linux.

    Own CPU time includes this process's live children (a data loader's
    worker processes are part of the work), read from `/proc`.
    """
    own = os.times()
    busy = None
    try:
        with open("/proc/stat") as f:
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
        names = os.listdir("/proc")
    except OSError:
        return 0.0
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                # fields after the command's closing parenthesis: state,
                # ppid, ..., utime (12th), stime, cutime, cstime
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == me:
            total += sum(int(v) for v in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def foreign_cores(before, after):
    """Average cores used by other processes between two snapshots."""
    wall = after[0] - before[0]
    if before[1] is None or wall <= 0:
        return None
    foreign = (after[1] - before[1]) - (after[2] - before[2])
    return max(foreign, 0.0) / wall


class StepClock:
    """Records each training step's seconds and the foreign CPU load.

    Attributes:
        steps: list of dicts `{"epoch", "step", "seconds", "foreign",
            "examples", "tokens"}` (`examples` and `tokens` None when the
            caller did not give them).

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

    def __init__(self):
        self.steps = []
        self._epoch, self._last = 0, None

    def epoch_begin(self, epoch):
        self._epoch = epoch
        self._last = cpu_snapshot()

    def step_end(self, step, examples=None, tokens=None):
        now = cpu_snapshot()
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
        clean = [s for s in timed if s["foreign"] is not None
                 and s["foreign"] < CLEAN_FOREIGN_CORES]
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
