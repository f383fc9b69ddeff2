"""Preemption: SIGTERM or SIGINT stops a run after its current step, with
a step-exact backup, so `kft resume RUN_DIR` goes on where it stopped.

Preemptible machines (spot VMs, Kubernetes evictions, SLURM time limits)
send SIGTERM, then kill the process a short time later. While a run
trains, `Signals` catches SIGTERM and SIGINT (Ctrl-C):

- the first signal is noted; the training step under way finishes, every
  process agrees to stop at the same step (`kft.runtime.distribute`), the
  run's backup is written (atomically, as after every epoch), and `fit`
  ends with `Interrupted`; the CLI prints `kft: interrupted at epoch E,
  step S; continue with: kft resume RUN_DIR` and exits with
  `EXIT_INTERRUPTED` (75, sysexits' EX_TEMPFAIL: "try again later");
- a signal during the epoch's last step lets the epoch finish
  (validation, the epoch's own backup) and stops there;
- a second signal exits at once with the same status; the backup being
  written is a temporary file that nobody trusts, so the previous backup
  stays valid.
"""

import os
import signal
import sys
import threading

from kft.errors import EXIT_INTERRUPTED
from kft.runtime import quiet

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interrupted(Exception):
    """Training stopped at a signal, after writing a backup.

    Args:
        run_dir: str or None. The run directory (None in a process that
            does not write it).
        epoch: int. The epoch it stopped in, from 1.
        step: int. The steps of that epoch done, from 1.
        signum: int. The signal.
    """

    def __init__(self, run_dir, epoch, step, signum):
        self.run_dir, self.epoch, self.step = run_dir, epoch, step
        self.signum = signum
        name = signal.Signals(signum).name
        if epoch is None:
            text = (f"interrupted by {name} before training started; run "
                    "the same command again")
        else:
            text = (f"interrupted at epoch {epoch}, step {step}; continue "
                    f"with: kft resume {run_dir}")
        super().__init__(text)


class Signals:
    """While open, SIGTERM and SIGINT are noted instead of ending the
    process (in the main thread; elsewhere nothing changes).

    Attributes:
        received: int or None. The first signal caught.
    """

    def __init__(self):
        self.received = None
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for number in SIGNALS:
                self._previous[number] = signal.signal(number, self._catch)
        return self

    def __exit__(self, *exc):
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}
        return False

    def _catch(self, number, frame):
        name = signal.Signals(number).name
        if self.received is None:
            self.received = number
            print(f"kft: {name} received: stopping after this step and "
                  "backing up (a second signal exits at once)",
                  file=sys.stderr, flush=True)
            return
        print(f"kft: second signal ({name}): exiting now; the previous "
              "backup stays valid", file=sys.stderr, flush=True)
        quiet.stop(timeout=0.5)
        os._exit(EXIT_INTERRUPTED)
