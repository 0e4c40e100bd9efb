"""Tests for how the sliding window stores its samples, and how much memory.

The samples live in two time-ordered arrays of doubles whose expired prefix is
cut off in batches, and in a SortedFloats. These tests drive the window through
growth, shrinking, batch cuts and sorted sublists that split and merge (a tiny
sublist load), and compare every statistic with the naive recompute.
"""

from __future__ import annotations

import math
import random
import tracemalloc

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iotitan.engine.sorted_floats import SortedFloats
from custom_components.iotitan.engine.window import SlidingWindow, Statistic

from .reference import NaiveWindow
from .test_window import assert_matches_reference


def small_load_window(max_age: float, max_samples: int | None = None) -> SlidingWindow:
    """A window whose sorted values sit in sublists of 2 to 8 values."""
    window = SlidingWindow(max_age, max_samples)
    window._sorted = SortedFloats(load=4)
    return window


def check_storage(window: SlidingWindow) -> None:
    """The arrays hold the samples after `_head`, with a bounded expired prefix."""
    times, values, head = window._times, window._values, window._head
    assert len(times) == len(values)
    assert len(window) == len(times) - head == len(window._sorted)
    if not times:
        assert head == 0
        return
    assert 0 <= head < len(times)
    kept = len(times) - head
    assert head < 16 or head * 16 < kept, (head, kept)
    assert all(a <= b for a, b in zip(times[head:], times[head + 1 :], strict=False))
    assert sorted(values[head:]) == list(window._sorted)


# Steps between readings: mostly regular, some bursts at one timestamp, some
# gaps that expire most of the window or all of it.
STEPS = st.one_of(
    st.just(1.0),
    st.just(0.0),
    st.floats(0.0, 3.0),
    st.sampled_from([40.0, 90.0, 250.0]),
)
VALUES = st.one_of(
    st.integers(-3, 3).map(float),
    st.sampled_from([0.0, -0.0]),
    st.floats(-1e6, 1e6),
    st.floats(-1.0, 1.0).map(lambda x: 1e9 + x),
)


@settings(max_examples=150, deadline=None)
@given(
    max_age=st.sampled_from([5.0, 30.0, 100.0]),
    max_samples=st.one_of(st.none(), st.integers(1, 60)),
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("add"), STEPS, VALUES),
            st.tuples(st.just("expire"), st.floats(0.0, 150.0), st.just(0.0)),
        ),
        min_size=1,
        max_size=400,
    ),
)
def test_small_sublists_match_reference(
    max_age: float, max_samples: int | None, ops: list[tuple[str, float, float]]
) -> None:
    """Splits, merges and batch cuts on every path: the statistics stay exact."""
    window = small_load_window(max_age, max_samples)
    naive = NaiveWindow(max_age, max_samples)
    clock = 1_700_000_000.0
    for step, (op, delta, value) in enumerate(ops):
        if op == "add":
            clock += delta
            window.add(clock, value)
            naive.add(clock, value)
        else:
            assert window.expire(clock + delta) == naive.expire(clock + delta)
        check_storage(window)
        if step % 7 == 0 or step == len(ops) - 1:
            assert_matches_reference(window, naive)


@pytest.mark.parametrize("small_load", [False, True])
def test_grow_shrink_and_grow_again(small_load: bool) -> None:
    """Thousands of samples, a gap that leaves a few, growth again, then nothing."""
    rng = random.Random(4)
    window = small_load_window(3000.0) if small_load else SlidingWindow(3000.0)
    naive = NaiveWindow(3000.0)
    clock = 0.0
    for _ in range(6000):
        clock += rng.choice((0.0, 0.5, 1.0, 1.0, 2.0))
        value = round(rng.gauss(20.0, 4.0), 1)
        window.add(clock, value)
        naive.add(clock, value)
    check_storage(window)
    assert_matches_reference(window, naive)
    peak = len(window)
    assert window.expire(clock + 2990.0) == naive.expire(clock + 2990.0)
    assert 0 < len(window) < peak // 50
    check_storage(window)
    assert_matches_reference(window, naive)
    for _ in range(4000):
        clock += 1.0
        window.add(clock, 7.0)
        naive.add(clock, 7.0)
    check_storage(window)
    assert_matches_reference(window, naive)
    assert window.expire(clock + 3000.5) == len(naive.states)
    naive.expire(clock + 3000.5)
    check_storage(window)
    assert_matches_reference(window, naive)
    assert len(window._times) == len(window._values) == len(window._sorted) == 0


def test_the_expired_prefix_is_cut_in_batches() -> None:
    """At 1 Hz the arrays hold at most a sixteenth more than the window (or 15)."""
    for size in (3, 40, 1000):
        window = SlidingWindow(float(size - 1))
        heads = set()
        for i in range(20 * size + 100):
            window.add(float(i), float(i % 7))
            heads.add(window._head)
            if size < 100 or i % 97 == 0:
                check_storage(window)
        assert len(window) == size
        assert max(heads) == max(15, size // 16)
        assert 0 in heads


def test_many_equal_values() -> None:
    """Thousands of one value (and a few others) expire one by one."""
    window = SlidingWindow(2499.0)
    naive = NaiveWindow(2499.0)
    for i in range(10_000):
        value = 5.0 if i % 100 else float(i % 3)
        window.add(float(i), value)
        naive.add(float(i), value)
        if i % 997 == 0:
            check_storage(window)
            assert_matches_reference(window, naive)
    assert window.value(Statistic.MEDIAN) == 5.0
    assert_matches_reference(window, naive)


def test_negative_zero_is_stored_as_zero_everywhere() -> None:
    """-0.0 goes in as 0.0: in the time-ordered arrays and in the sorted values."""
    window = SlidingWindow(60.0)
    window.add(0.0, -0.0)
    window.add(1.0, 2.0)
    window.add(2.0, -0.0)
    assert [math.copysign(1.0, v) for _, v in window] == [1.0, 1.0, 1.0]
    for statistic in (Statistic.LAST, Statistic.VALUE_MIN, Statistic.MEDIAN):
        value = window.value(statistic)
        assert value == 0.0
        assert math.copysign(1.0, value) == 1.0
    assert window.value(Statistic.CHANGE) == 0.0


def test_discard_after_a_batch_cut() -> None:
    """Dropping future samples works with an expired prefix still in the arrays."""
    window = SlidingWindow(99.0)
    for i in range(130):
        window.add(float(i), float(i))
    assert window._head > 0
    assert window.discard_after(120.5) == 9
    assert list(window) == [(float(i), float(i)) for i in range(30, 121)]
    check_storage(window)
    assert window.discard_after(200.0) == 0
    assert window.discard_after(-1.0) == 91
    assert len(window) == 0
    check_storage(window)


def test_iterating_works_on_a_copy() -> None:
    """Adding while iterating neither fails nor changes what the loop sees."""
    window = SlidingWindow(10.0)
    for i in range(30):
        window.add(float(i), float(i))
    seen = []
    for t, v in window:
        seen.append((t, v))
        window.add(t + 100.0, v)
    assert seen == [(float(i), float(i)) for i in range(19, 30)]


def test_memory_per_sample_is_bounded() -> None:
    """A window of 100,000 samples with order statistics: at most 48 bytes each.

    tracemalloc counts what the window holds after being fed a quarter more
    than its length (benchmarks/bench_memory.py measures a million samples,
    fed twice over). It was about 120 bytes with a deque of tuples and a
    SortedList of float objects; about 26 now.
    """
    size = 100_000
    rng = random.Random(9)
    tracemalloc.start()
    try:
        window = SlidingWindow(float(size - 1))
        for i in range(size + size // 4):
            window.add(1_700_000_000.0 + i, round(20.0 + rng.gauss(0.0, 3.0), 2))
            if i % 2000 == 0:
                window.value(Statistic.MEDIAN)
                window.value(Statistic.PERCENTILE, 95)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(window) == size
    assert held / size <= 48, held / size
