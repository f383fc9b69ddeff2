import pytest

from kft.timing import StepTimer, cpu_snapshot, foreign_cores


def test_foreign_load_is_machine_busy_time_minus_our_own():
    before = (10.0, 100.0, 50.0)
    after = (12.0, 103.0, 51.0)  # 2 s: machine busy 3 s, we used 1 s
    assert foreign_cores(before, after) == pytest.approx(1.0)
    assert foreign_cores((0.0, None, 0.0), (1.0, None, 1.0)) is None


def test_snapshot_reads_this_machine():
    wall, busy, own = cpu_snapshot()
    assert wall > 0 and own > 0
    assert busy is not None and busy > 0  # Linux: /proc/stat


def test_summary_counts_clean_full_steps_after_warm_up():
    timer = StepTimer()
    steps = [(0, i, 2.0, 0.0) for i in range(10)]
    steps[7] = (0, 7, 8.0, 1.0)  # another process took a core
    steps += [(1, i, 1.0, 0.1) for i in range(4)]
    timer.steps = [{"epoch": e, "step": s, "seconds": t, "foreign": f}
                   for e, s, t, f in steps]
    got = timer.summary(batch_size=32, skip_steps=5)
    # Kept: epoch 0 steps 5, 6, 8 (7 is loaded, 9 is the last) and epoch 1
    # steps 0-2 (3 is the last): 3 * 2 s + 3 * 1 s for 6 batches of 32.
    assert got["clean_steps"] == 6
    assert got["examples_per_second"] == pytest.approx(6 * 32 / 9.0)
    assert got["timed_steps"] == 7
