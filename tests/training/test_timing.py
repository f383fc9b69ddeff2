import pytest

from kft.training.callbacks import StepTimer
from kft.training.timing import cpu_snapshot, foreign_cores

pytestmark = pytest.mark.backend_free  # no backend-dependent code


def test_foreign_load_is_machine_busy_time_minus_our_own():
    before = (10.0, 100.0, 50.0)
    after = (12.0, 103.0, 51.0)  # 2 s: machine busy 3 s, we used 1 s
    assert foreign_cores(before, after) == pytest.approx(1.0)
    assert foreign_cores((0.0, None, 0.0), (1.0, None, 1.0)) is None


def test_snapshot_reads_this_machine():
    wall, busy, own = cpu_snapshot()
    assert wall > 0 and own > 0
    assert busy is not None and busy > 0  # Linux: /proc/stat


def _timer(steps):
    timer = StepTimer()
    timer.steps = [{"epoch": e, "step": s, "seconds": t, "foreign": f,
                    "examples": None, "tokens": None}
                   for e, s, t, f in steps]
    return timer


def test_summary_of_one_epoch_skips_its_first_steps():
    steps = [(0, i, 2.0, 0.0) for i in range(10)]
    steps[7] = (0, 7, 8.0, 1.0)  # another process took a core
    got = _timer(steps).summary(batch_size=32, skip_steps=5)
    # Kept: steps 5, 6, 8 (7 is loaded, 9 is the last, maybe short batch).
    assert got["clean_steps"] == 3
    assert got["timed_steps"] == 4
    assert got["examples_per_second"] == pytest.approx(3 * 32 / 6.0)
    assert got["median_step_seconds"] == got["slowest_step_seconds"] == 2.0


def test_summary_of_several_epochs_times_from_the_second():
    steps = [(0, i, 9.0, 0.0) for i in range(10)]  # compiling
    steps += [(1, i, 1.0, 0.1) for i in range(4)]
    steps += [(2, i, 3.0, 0.0) for i in range(3)]
    steps[11] = (1, 1, 5.0, 2.0)
    got = _timer(steps).summary(batch_size=32, skip_steps=5)
    # Epoch 1 steps 0, 2 (1 is loaded, 3 is last); epoch 2 steps 0, 1.
    assert got["clean_steps"] == 4
    assert got["timed_steps"] == 5
    assert got["examples_per_second"] == pytest.approx(4 * 32 / 8.0)
    assert got["mean_foreign_cpu"] == pytest.approx((0.1 * 2 + 2.0) / 5)
    assert got["median_step_seconds"] == pytest.approx(2.0)  # 1, 1, 3, 3
    assert got["slowest_step_seconds"] == 3.0


def test_a_peer_loop_counts_its_own_examples_and_tokens(monkeypatch):
    """The same clock in a hand-written loop (the benchmark peers): each
    step's examples and padded tokens, clean steps only, warm-up and each
    epoch's last step left out as for kft."""
    import kft.training.timing as timing

    ticks = iter(range(100))
    monkeypatch.setattr(timing, "cpu_snapshot",
                        lambda: (float(next(ticks)), 0.0, 0.0))
    clock = timing.StepClock(foreign=True)  # as the peers' clocks
    for epoch in range(2):
        clock.epoch_begin(epoch)
        for step in range(4):
            clock.step_end(step, examples=8 if step < 3 else 3,
                           tokens=8 * 40 if step < 3 else 3 * 40)
    got = clock.summary(batch_size=32)
    assert got["timed_steps"] == got["clean_steps"] == 3  # epoch 1, 0..2
    assert got["examples_per_second"] == pytest.approx(3 * 8 / 3.0)
    assert got["mean_padded_length"] == pytest.approx(40.0)


def test_a_busy_child_process_counts_as_our_own_load():
    import subprocess
    import sys
    import time

    child = subprocess.Popen([sys.executable, "-c",
                              "import time\nend = time.time() + 1.5\n"
                              "while time.time() < end: pass"])
    try:
        time.sleep(0.2)
        before = cpu_snapshot()
        time.sleep(1.0)
        after = cpu_snapshot()
    finally:
        child.wait()
    # the child spun about a core for the second; none of it is foreign
    assert after[2] - before[2] > 0.5
    load = foreign_cores(before, after)
    assert load is None or load < 0.5


def _fake_proc(root, processes, children):
    """A `/proc` of `processes` entries, `children` of them this
    process's, each child with 10 + 20 ticks of CPU (utime, stime)."""
    import os

    (root / "stat").write_text("cpu  100 0 50 1000 0 0 0 0 0 0\n")
    (root / "self").mkdir()
    for pid in range(1, processes + 1):
        parent = os.getpid() if pid <= children else 1
        (root / str(pid)).mkdir()
        (root / str(pid) / "stat").write_text(
            f"{pid} (worker (x)) S {parent} 1 1 0 -1 0 0 0 0 0 "
            "10 20 0 0 20 0 1 0\n")


def _proc_reads(monkeypatch, timing, root):
    """Counts the clock's listings and file opens under `root`."""
    import builtins
    import os

    reads = {"listdir": 0, "open": 0}
    listdir, real_open = os.listdir, builtins.open

    def counted_listdir(path="."):
        reads["listdir"] += str(path).startswith(str(root))
        return listdir(path)

    def counted_open(path, *args, **kwargs):
        reads["open"] += str(path).startswith(str(root))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "listdir", counted_listdir)
    monkeypatch.setattr(timing, "open", counted_open, raising=False)
    monkeypatch.setattr(timing, "PROC", str(root))
    return reads


def test_the_default_clock_reads_no_proc_on_a_node_of_1500(tmp_path,
                                                          monkeypatch):
    """By default a step reads the clock only: no `/proc/stat`, no
    listing of `/proc`; its foreign load is None and it counts as clean."""
    import kft.training.timing as timing

    monkeypatch.delenv("KFT_FOREIGN_LOAD", raising=False)
    _fake_proc(tmp_path, 1500, 3)
    reads = _proc_reads(monkeypatch, timing, tmp_path)
    clock = timing.StepClock()
    assert clock.foreign is False
    clock.epoch_begin(0)
    for step in range(8):
        clock.step_end(step)
    assert reads == {"listdir": 0, "open": 0}
    assert all(s["foreign"] is None for s in clock.steps)
    got = clock.summary(batch_size=4, skip_steps=2)
    assert got["clean_steps"] == got["timed_steps"] == 5
    assert got["mean_foreign_cpu"] is None
    assert got["examples_per_second"] > 0


@pytest.mark.parametrize("how", ["environment", "argument"])
def test_an_opted_in_clock_reads_every_process(tmp_path, monkeypatch, how):
    import os

    import kft.training.timing as timing

    monkeypatch.delenv("KFT_FOREIGN_LOAD", raising=False)
    if how == "environment":
        monkeypatch.setenv("KFT_FOREIGN_LOAD", "1")
    _fake_proc(tmp_path, 1500, 3)
    reads = _proc_reads(monkeypatch, timing, tmp_path)
    clock = timing.StepClock(foreign=True if how == "argument" else None)
    assert clock.foreign is True
    clock.epoch_begin(0)
    clock.step_end(0)
    # two snapshots: each lists the table, reads its stat and 1,500 more
    assert reads == {"listdir": 2, "open": 2 * 1501}
    assert clock.steps[0]["foreign"] is not None
    ticks = os.sysconf("SC_CLK_TCK")
    own = os.times()
    children = timing._children_cpu()
    assert children == pytest.approx(3 * 30 / ticks)
    assert timing.cpu_snapshot()[2] >= own.user + own.system + children


def test_an_opted_in_clock_counts_unknown_loads_as_not_clean():
    from kft.training.timing import StepClock

    clock = StepClock(foreign=True)
    clock.steps = [{"epoch": 0, "step": i, "seconds": 1.0, "foreign": f,
                    "examples": None, "tokens": None}
                   for i, f in enumerate([0.0, None, 0.1, 2.0, 0.0])]
    got = clock.summary(batch_size=2, skip_steps=0)
    assert (got["timed_steps"], got["clean_steps"]) == (4, 2)
