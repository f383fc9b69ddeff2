"""`kft run RECIPE --processes N`: N local processes, each set up as its
engine's own multi-process protocol expects, so the multi-host code paths
run for real on one machine.

- JAX: `jax.distributed` (through `keras.distribution.initialize`): every
  process gets `KERAS_DISTRIBUTION_JOB_ADDRESSES` (the coordinator,
  process 0's `127.0.0.1:PORT`), `..._NUM_PROCESSES` and `..._PROCESS_ID`,
  and `--devices-per-process D` host devices (`XLA_FLAGS`);
- TensorFlow: `MultiWorkerMirroredStrategy`: every process gets a
  `TF_CONFIG` naming N workers on localhost ports and its own index;
- torch: the engine's own launcher: N `torchrun` "nodes" (`--nnodes=N
  --nproc-per-node=D`) meeting at a c10d rendezvous on localhost.

The launcher imports no engine. It prefixes each process's output with
`[pI]`, prints the run's result line (process 0's) as `kft run` does, and
returns 0 when every process succeeded. When one fails or dies, it names
it (`kft: error: process 1 (pid P) was killed by SIGKILL`), sends the
others SIGTERM, and SIGKILL after `STOP_SECONDS` if they are stuck in a
collective with the lost one; the command returns within about
`STOP_SECONDS` of the loss. SIGTERM or SIGINT to the launcher goes to
every process, which stop together after a step with a backup
(`EXIT_INTERRUPTED`, 75).
"""

import json
import os
import signal
import socket
import sys
import threading
import time
import uuid

from kft.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, KftError
from kft.runtime import process
from kft.runtime.distribute import environment

STOP_SECONDS = 10.0  # after a loss, how long the others get to stop
POLL_SECONDS = 0.1
ENGINES = ("torch", "jax", "tensorflow")
_RUN_ID = f"kft-{uuid.uuid4().hex[:12]}"  # torchrun's rendezvous id


def launch(recipe_args, backend, processes, devices_per_process=1,
           port=None):
    """Runs `kft run RECIPE_ARGS` as `processes` cooperating processes.

    Args:
        recipe_args: list of str. What follows `kft run`: the recipe,
            `--smoke`, and `key=value` overrides.
        backend: str. `torch`, `jax` or `tensorflow`.
        processes: int. Processes to start (2 or more).
        devices_per_process: int. Devices (CPU: host devices or torch
            processes) each one trains on.
        port: int or None. The first local port to use; None picks free
            ones.

    Returns:
        The exit status: `EXIT_OK`, or the first failing process's.
    """
    check(backend, processes, devices_per_process)
    ports = _ports(port, processes if backend == "tensorflow" else 1)
    commands = [_command(backend, recipe_args, i, processes,
                         devices_per_process, ports) for i in range(processes)]
    return Group(commands, agents=backend == "torch").run()


def check(backend, processes, devices_per_process):
    """Refuses, before anything starts, a topology that cannot work."""
    if backend not in ENGINES:
        raise KftError(f"--processes needs --backend (or KERAS_BACKEND): one "
                       f"of {', '.join(ENGINES)}")
    if processes < 2:
        raise KftError(f"--processes {processes}: give 2 or more, or leave "
                       "--processes out for one process")
    if devices_per_process < 1:
        raise KftError(f"--devices-per-process {devices_per_process}: give "
                       "1 or more")
    if backend == "tensorflow" and devices_per_process != 1:
        raise KftError(
            f"--devices-per-process {devices_per_process} with tensorflow: "
            "MultiWorkerMirroredStrategy trains on one CPU device a worker "
            "(its GPUs on a GPU host); use --devices-per-process 1")


def _ports(first, count):
    """`count` local ports: from `first` on, each checked free; else
    ones the OS picks."""
    if first is None:
        held = [socket.socket() for _ in range(count)]
        for s in held:
            s.bind(("127.0.0.1", 0))
        found = [s.getsockname()[1] for s in held]
        for s in held:
            s.close()
        return found
    found = list(range(first, first + count))
    for number in found:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", number))
            except OSError:
                raise KftError(
                    f"--port {number}: port {number} on 127.0.0.1 is in use; "
                    "pass another --port, or leave it out for a free one"
                ) from None
    return found


def _command(backend, recipe_args, index, processes, devices, ports):
    """`(argv, environment)` of process `index`."""
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONUNBUFFERED="1")
    env[environment.PROCESS_INDEX] = str(index)
    run = ["-m", "kft", "run", *recipe_args]
    if backend == "torch":
        rendezvous = f"127.0.0.1:{ports[0]}"
        return ([sys.executable, "-m", "torch.distributed.run",
                 f"--nnodes={processes}", f"--nproc-per-node={devices}",
                 "--rdzv-backend=c10d", f"--rdzv-endpoint={rendezvous}",
                 f"--rdzv-id={_RUN_ID}", "--max-restarts=0", *run], env)
    if backend == "jax":
        env.update({environment.JOB_ADDRESSES: f"127.0.0.1:{ports[0]}",
                    environment.NUM_PROCESSES: str(processes),
                    environment.PROCESS_ID: str(index)})
        flags = os.environ.get("XLA_FLAGS", "")
        env["XLA_FLAGS"] = (f"{flags} --xla_force_host_platform_device_count="
                            f"{devices}").strip()
    else:
        workers = [f"127.0.0.1:{p}" for p in ports]
        env[environment.TF_CONFIG] = json.dumps(
            {"cluster": {"worker": workers},
             "task": {"type": "worker", "index": index}})
    return [sys.executable, *run], env


class Group:
    """Starts processes, forwards their output, and stops them together.

    Args:
        commands: list of `(argv, environment)`.
        agents: bool. The started processes are launcher agents
            (torchrun nodes) whose children train.
    """

    def __init__(self, commands, agents=False):
        self.commands, self.agents = commands, agents
        self.children, self.processes, self.results = [], [], []
        self.interrupted, self.signalled = None, None
        self.lock = threading.Lock()

    def run(self):
        previous = {s: signal.signal(s, self._forward)
                    for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            for index, (argv, env) in enumerate(self.commands):
                self._start(index, argv, env)
            status = self._wait()
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
        for child in self.children:
            child.join(timeout=5)
        if status == EXIT_OK and self.results:
            print(self._result(), flush=True)
        return status

    def _start(self, index, argv, env):
        child = process.Child(
            argv, env=env, die_with_parent=True,
            on_stdout=lambda line: self._copy(index, line, sys.stdout),
            on_stderr=lambda line: self._copy(index, line, sys.stderr))
        self.children.append(child)
        self.processes.append(child.process)

    def _copy(self, index, line, target):
        """Passes a line on as `[pI] LINE`, except the result line and the
        interrupted notice (every process says it), which the launcher
        says once. (`kft: error:` lines stay in `Child.errors`.)"""
        if target is sys.stdout and line.startswith('{"run_dir"'):
            self.results.append(json.loads(line))
            return
        if line.startswith("kft: interrupted at "):
            self.interrupted = line.rstrip()
            return
        with self.lock:
            target.write(f"[p{index}] {line}")
            target.flush()

    def _wait(self):
        """The first failure's status once every process ended (0 if
        none), stopping the others after a failure."""
        while True:
            codes = [p.poll() for p in self.processes]
            failed = [(i, c) for i, c in enumerate(codes)
                      if c is not None and c != EXIT_OK]
            if failed and self.signalled:  # stopping together, as asked
                return self._stop_after(failed[0][0], EXIT_INTERRUPTED)
            if failed:
                return self._stop_after(*failed[0])
            if all(c == EXIT_OK for c in codes):
                return EXIT_OK
            time.sleep(POLL_SECONDS)

    def _stop_after(self, index, code):
        """Stops the others after process `index` failed with `code`;
        returns the group's status: `EXIT_BAD_INPUT` (a process said
        `kft: error:`), `EXIT_INTERRUPTED` when a signal stopped it, else
        `code`."""
        failed = self.processes[index]
        self.children[index].join(timeout=5)  # its last words
        others = [p for p in self.processes if p.poll() is None]
        error = self._error(index)
        if error is not None:
            print(f"kft: error: {error}", file=sys.stderr, flush=True)
        elif code == EXIT_INTERRUPTED and self.interrupted:
            print(self.interrupted, file=sys.stderr, flush=True)
        elif code != EXIT_INTERRUPTED:  # the others stop by themselves too
            print(f"kft: error: process {index} (pid {failed.pid}) "
                  f"{_how(code)}; stopping the other {len(others)} "
                  "process(es)", file=sys.stderr, flush=True)
        if code != EXIT_INTERRUPTED:
            for other in others:
                process.signal_tree(other.pid, signal.SIGTERM)
        # After a signal every process stops at the same step and process
        # 0 writes the backup: give it time. After a loss, a process stuck
        # in a collective with the lost one never ends by itself.
        deadline = time.time() + (STOP_SECONDS if code != EXIT_INTERRUPTED
                                  else 300)
        while time.time() < deadline and any(p.poll() is None
                                             for p in others):
            time.sleep(POLL_SECONDS)
        for other in others:
            if other.poll() is None:
                process.signal_tree(other.pid, signal.SIGKILL)
                other.wait()
        if error is not None or self._error(index) is not None:
            return EXIT_BAD_INPUT
        return 128 - code if code < 0 else code

    def _error(self, index):
        """The `kft: error:` message a process said: the failed one's,
        else the first other's; None if none did (said once, at the
        end)."""
        first = self.children[index]
        for child in [first, *self.children]:
            if child.errors:
                return child.errors[0]
        return None

    def _forward(self, number, frame):
        """Passes a signal to the training processes: each started one,
        or a torchrun node's workers (its agent would kill them)."""
        self.signalled = number
        for started in self.processes:
            if started.poll() is not None:
                continue
            workers = process.descendants(started.pid) if self.agents else []
            process.signal_pids(workers or [started.pid], number)

    def _result(self):
        """Process 0's result line (the one that names the run
        directory)."""
        found = [r for r in self.results if r.get("run_dir")]
        return json.dumps(found[0] if found else self.results[0])


def _how(code):
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"
