"""Hides the native libraries' noise from the terminal.

TensorFlow's C++ runtime (which KerasHub's input pipelines load on every
backend) writes lines such as `cudart_stub.cc: Could not find cuda
drivers`, `failed call to cuInit`, `oneDNN custom operations are on`,
`oneDNN supports DT_INT64 only on ...` and absl's `All log messages
before absl::InitializeLog()` straight to the process's standard error,
whatever `TF_CPP_MIN_LOG_LEVEL` says. They are not about the user's run.

`hide_native_noise` sends file descriptor 2 through a pipe for the rest of
the process; a thread passes every line on to the real standard error at
once, except those that `is_noise` matches, so real warnings and errors
still show. Python's fault handler writes to the real standard error
directly, so a crash's trace is never held in the pipe.
"""

import atexit
import faulthandler
import os
import re
import select
import sys
import threading

# absl's preamble; INFO lines in absl's `I0000 00:00:... file.cc:N]`
# format; and warnings or errors of that format about CUDA probing or
# oneDNN's notices.
NOISE = re.compile(
    r"^WARNING: All log messages before absl::InitializeLog\(\)"
    r"|^I\d{4} [\d:.]+\s+\d+ \S+\] "
    r"|^[EW]\d{4} [\d:.]+\s+\d+ \S+\] .*(cuInit|cuda|CUDA|TensorRT|cuDNN"
    r"|cuFFT|cuBLAS|computation placer|oneDNN)"
    r"|^To enable the following instructions: .*rebuild TensorFlow")
_state = {"thread": None, "saved": None}


def is_noise(line):
    """Whether `line` is native start-up noise that kft hides."""
    return bool(NOISE.match(line))


def hide_native_noise():
    """Filters this process's standard error (file descriptor 2) from now
    until it exits; calling it again changes nothing.

    Returns:
        True when the filter was started by this call.
    """
    if _state["thread"] is not None:
        return False
    sys.stderr.flush()
    saved = os.dup(2)
    read, write = os.pipe()
    os.dup2(write, 2)
    os.close(write)
    faulthandler.enable(file=os.fdopen(os.dup(saved), "w"))
    thread = threading.Thread(target=_forward, args=(read, saved),
                              name="kft-stderr", daemon=True)
    thread.start()
    _state.update(thread=thread, saved=saved)
    atexit.register(stop)
    return True


def stop(timeout=2.0):
    """Puts the real standard error back and passes on what is left."""
    thread, saved = _state["thread"], _state["saved"]
    if thread is None:
        return
    _state.update(thread=None, saved=None)
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os.dup2(saved, 2)  # closes this process's end of the pipe
    thread.join(timeout)


def _forward(read, saved):
    pending = b""
    while True:
        ready, _, _ = select.select([read], [], [], 0.2)
        if not ready:
            if pending:  # a partial line, e.g. a prompt: pass it on
                _write(saved, pending)
                pending = b""
            continue
        chunk = os.read(read, 65536)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        kept = [line + b"\n" for line in lines
                if not is_noise(line.decode("utf-8", "replace"))]
        if kept:
            _write(saved, b"".join(kept))
    if pending and not is_noise(pending.decode("utf-8", "replace")):
        _write(saved, pending)
    os.close(read)


def _write(fd, data):
    while data:
        try:
            data = data[os.write(fd, data):]
        except OSError:
            return
