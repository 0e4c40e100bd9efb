"""Samples queued with `SlidingWindow.add_later`: the window `add` gives, bit for bit.

The journal's replay queues every reading and the window adds them in bulk
(clamped, expired and capped at once, the sums computed over the samples kept).
The reference is a window fed the same samples one `add` at a time; the
comparison is on the exported state (arrays, scales and exact sums) and on every
statistic's bits. The thresholds that choose the bulk path are lowered in most
tests so that short generated sequences take it.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import math
from unittest.mock import patch

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iotitan.engine import window as window_module
from custom_components.iotitan.engine.window import SlidingWindow, Statistic

from .test_window_state import OPS, STEPS, same_state, statistics_of

SETTINGS = settings(max_examples=300, deadline=None)
START = 1_700_000_000.0
# Values whose scaled forms fit a float (the bulk path's condition): no value
# below 1e-200 next to one of 1e3.
FITTING_VALUES = st.one_of(
    st.integers(-50, 50).map(lambda n: n / 4),
    st.floats(-1e3, 1e3).filter(lambda v: v == 0 or abs(v) > 1e-200),
    st.floats(0, 1).map(lambda x: 1e9 + x),
)


@contextlib.contextmanager
def bulk_from(queued: int, limit: int = 1024) -> Iterator[None]:
    """Take the bulk path from `queued` samples on, whatever the window holds."""
    with (
        patch.object(window_module, "_BULK_MIN_QUEUED", queued),
        patch.object(window_module, "_BULK_MIN_SHARE", 2**62),
        patch.object(window_module, "_QUEUE_LIMIT", limit),
    ):
        yield


def feed(
    window: SlidingWindow, ops: list[tuple[str, float, float]], later: bool
) -> None:
    """`OPS` with each "add" through `add_later` if `later`, else `add`."""
    now = START
    for op, step, value in ops:
        if op == "add":
            now += step
            (window.add_later if later else window.add)(now, value)
        elif op == "insert":
            window.insert(now - step, value)
        else:
            now += step
            window.expire(now)


@SETTINGS
@given(
    ops=OPS,
    max_age=st.sampled_from([5.0, 60.0, 3600.0, math.inf]),
    max_samples=st.sampled_from([None, 1, 3, 20]),
    queued=st.sampled_from([1, 2, 5]),
    limit=st.sampled_from([3, 1024]),
)
def test_queued_samples_give_the_window_add_gives(
    ops: list[tuple[str, float, float]],
    max_age: float,
    max_samples: int | None,
    queued: int,
    limit: int,
) -> None:
    reference = SlidingWindow(max_age, max_samples)
    feed(reference, ops, later=False)
    window = SlidingWindow(max_age, max_samples)
    with bulk_from(queued, limit=limit):
        feed(window, ops, later=True)
        assert statistics_of(window) == statistics_of(reference)
        assert same_state(window.export_state(), reference.export_state())


@SETTINGS
@given(
    first=st.lists(st.tuples(STEPS, FITTING_VALUES), max_size=30),
    then=st.lists(st.tuples(STEPS, FITTING_VALUES), min_size=1, max_size=60),
    max_age=st.sampled_from([5.0, 60.0, math.inf]),
    max_samples=st.sampled_from([None, 1, 7]),
)
def test_a_bulk_add_continues_a_window_that_holds_samples(
    first: list[tuple[float, float]],
    then: list[tuple[float, float]],
    max_age: float,
    max_samples: int | None,
) -> None:
    """What was in the window is clamped against, expired and capped with the rest."""
    reference = SlidingWindow(max_age, max_samples)
    window = SlidingWindow(max_age, max_samples)
    now = START
    for step, value in first:
        now += step
        reference.add(now, value)
        window.add(now, value)
    for step, value in then:
        now += step
        reference.add(now, value)
        window.add_later(now, value)
    with bulk_from(1), patch.object(SlidingWindow, "add", side_effect=AssertionError):
        # Every queued sample goes in bulk: `add` is not called.
        window._add_queued()
    assert statistics_of(window) == statistics_of(reference)
    assert same_state(window.export_state(), reference.export_state())


def test_a_long_replay_goes_in_bulk_at_the_default_thresholds() -> None:
    """An hour of readings a second, queued: a few bulk adds, no `add` call."""
    reference = SlidingWindow(600.0)
    window = SlidingWindow(600.0)
    samples = [(START + i + (i % 7) / 8, 20 + (i % 13) / 4) for i in range(3600)]
    for timestamp, value in samples:
        reference.add(timestamp, value)
    with patch.object(SlidingWindow, "add", side_effect=AssertionError):
        for timestamp, value in samples:
            window.add_later(timestamp, value)
            # The queue is bounded: never more than the window holds and 1,024.
            assert window._queued is None or len(window._queued[0]) < max(
                1024, len(window._times)
            )
        assert len(window) == 601
    assert statistics_of(window) == statistics_of(reference)
    assert same_state(window.export_state(), reference.export_state())


def test_a_few_queued_samples_are_added_one_by_one() -> None:
    """Below the thresholds the window is not rebuilt: each sample is an `add`."""
    window = SlidingWindow(3600.0)
    for i in range(2000):
        window.add(START + i, float(i))
    for i in range(10):
        window.add_later(START + 2000 + i, 1.0)
    with patch.object(SlidingWindow, "add", autospec=True) as add:
        window._add_queued()
    assert add.call_count == 10


@pytest.mark.parametrize(
    ("samples", "why"),
    [
        ([(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)], "a timestamp of zero"),
        ([(1.0, 1e300), (2.0, 2.0**-900), (3.0, 1.0)], "1e300 * 2**900 overflows"),
    ],
)
def test_where_the_shortcut_does_not_apply_samples_go_one_by_one(
    samples: list[tuple[float, float]], why: str
) -> None:
    reference = SlidingWindow(math.inf)
    window = SlidingWindow(math.inf)
    for timestamp, value in samples:
        reference.add(timestamp, value)
        window.add_later(timestamp, value)
    with (
        bulk_from(1),
        patch.object(
            SlidingWindow, "add", autospec=True, side_effect=SlidingWindow.add
        ) as add,
    ):
        assert statistics_of(window) == statistics_of(reference), why
    assert add.call_count == len(samples), why
    assert same_state(window.export_state(), reference.export_state())


@pytest.mark.parametrize(
    "read",
    [
        lambda w: len(w),
        lambda w: w.value(Statistic.MEAN),
        lambda w: w.first_timestamp,
        lambda w: w.last_timestamp,
        lambda w: list(w),
        lambda w: w.export_state(),
        lambda w: w.expire(START),
        lambda w: w.discard_after(START + 100),
        lambda w: w.add(START + 50, 1.0),
        lambda w: w.insert(START + 1, 1.0),
    ],
)
def test_anything_that_looks_at_the_window_adds_the_queue_first(read) -> None:  # type: ignore[no-untyped-def]
    window = SlidingWindow(3600.0)
    for i in range(5):
        window.add_later(START + i, float(i))
    read(window)
    assert window._queued is None
    assert len(window._times) - window._head >= 5


def test_bad_samples_are_refused_when_queued() -> None:
    window = SlidingWindow(60.0)
    for bad in [(math.nan, 1.0), (START, math.inf), (math.inf, 1.0)]:
        with pytest.raises(ValueError, match="finite"):
            window.add_later(*bad)
    assert window._queued is None
    assert len(window) == 0
