"""Child kft processes: run one and learn how it ended, with the one
`kft: error: ...` line it said; signal a process and all it started.

Three commands start kft in a process of its own and relay its output:
the launcher (`kft run --processes N`), a sweep's trials and `kft export`
on TensorFlow. A child's `kft: error:` line is not passed on: the parent
reports it once, itself (`Child.errors`, `Outcome.kft_error`).
"""

import collections
import ctypes
import dataclasses
import os
import signal
import subprocess
import threading
import time

ERROR = "kft: error: "


def error_message(line):
    """The message of a `kft: error: MESSAGE` line, else None."""
    if line.startswith(ERROR):
        return line[len(ERROR):].rstrip("\n")
    return None


@dataclasses.dataclass
class Outcome:
    """How a child process ended.

    Args:
        code: int or None. Its exit status (negative: killed by that
            signal); None when `run` stopped it.
        stopped: str or None. `deadline` or `interrupt` when `run` stopped
            it.
        error: str. Its `kft: error:` message, else the last line it wrote
            to standard error.
        seconds: float. Wall time.
        kft_error: str or None. Its last `kft: error:` message, if any.
        tail: tuple of str. The last lines of its standard error.
    """

    code: int | None
    stopped: str | None
    error: str
    seconds: float
    kft_error: str | None = None
    tail: tuple = ()


class Child:
    """A started process whose piped output is read line by line, on
    threads. `kft: error:` lines are kept in `errors`; every other line
    goes to its stream's handler (dropped without one).

    Args:
        args: list of str. The command.
        env: dict or None. Its environment.
        on_stdout: callable or None. Called with each line of its standard
            output; None leaves standard output to `stdout`.
        on_stderr: callable or None. Called with each line of its standard
            error, except `kft: error:` lines.
        stdout: None (inherited) or a `subprocess` target, when
            `on_stdout` is None.
        die_with_parent: bool. Linux: the child gets SIGTERM when this
            process dies, even by SIGKILL.
        tail: int or None. How many standard-error lines `tail` keeps
            (None: all).
    """

    def __init__(self, args, env=None, on_stdout=None, on_stderr=None,
                 stdout=None, die_with_parent=False, tail=50):
        self.errors = []
        self.tail = collections.deque(maxlen=tail)
        self.process = subprocess.Popen(
            args, env=env, stderr=subprocess.PIPE, text=True,
            errors="replace", bufsize=1,
            stdout=subprocess.PIPE if on_stdout else stdout,
            preexec_fn=_die_with_parent if die_with_parent else None)
        self.threads = []
        for stream, handler, keep in ((self.process.stdout, on_stdout, False),
                                      (self.process.stderr, on_stderr, True)):
            if stream is None:
                continue
            thread = threading.Thread(target=self._read, daemon=True,
                                      args=(stream, handler, keep))
            thread.start()
            self.threads.append(thread)

    def _read(self, stream, handler, keep):
        for line in stream:
            if keep:
                self.tail.append(line.rstrip("\n"))
            message = error_message(line)
            if message is not None:
                self.errors.append(message)
            elif handler is not None:
                handler(line)

    def join(self, timeout=None):
        """Waits (at most `timeout` seconds a stream) for its output to be
        read to the end."""
        for thread in self.threads:
            thread.join(timeout=timeout)

    def outcome(self, code, stopped, seconds):
        error = self.errors[-1] if self.errors else None
        shown = [line.strip() for line in self.tail if line.strip()]
        return Outcome(code, stopped, error or (shown[-1] if shown else ""),
                       seconds, error, tuple(self.tail))


def run(args, env=None, timeout=None, on_stderr=None, stdout=None,
        tail=50):
    """Runs `args` until it exits, or at most `timeout` seconds.

    At the timeout, or on Ctrl-C, the process is ended (SIGTERM) and
    waited for; a kft run left so resumes from its last backup. Its
    standard error goes to `on_stderr` line by line, except its `kft:
    error:` line (see `Child`).

    Returns:
        `Outcome`.
    """
    start = time.time()
    child = Child(args, env=env, on_stderr=on_stderr, stdout=stdout,
                  tail=tail)
    stopped = None
    try:
        code = child.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stopped = "deadline"
    except KeyboardInterrupt:
        stopped = "interrupt"
    if stopped:
        child.process.terminate()
        child.process.wait()
        code = None
    child.join(timeout=10)
    return child.outcome(code, stopped, time.time() - start)


def signal_pids(pids, number):
    """Sends signal `number` to each of `pids`, skipping those that have
    ended or are not ours."""
    for pid in pids:
        try:
            os.kill(pid, number)
        except (ProcessLookupError, PermissionError):
            pass


def signal_tree(pid, number):
    """Sends `number` to process `pid` and everything it started (e.g. a
    torchrun node's workers, which torch starts in sessions of their
    own)."""
    signal_pids([pid, *descendants(pid)], number)


def descendants(pid):
    """The processes below `pid`, from Linux's /proc (none elsewhere)."""
    children = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, stack = [], list(children.get(pid, []))
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(children.get(child, []))
    return found


def _die_with_parent():
    """In a started process: SIGTERM when the parent dies, even by
    SIGKILL (Linux's PR_SET_PDEATHSIG), so no process outlives it."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
