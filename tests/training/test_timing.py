import pytest

from kft.training.callbacks import StepTimer
from kft.training.timing import cpu_snapshot, foreign_cores


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
    clock = timing.StepClock()
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
