"""Exporting a window's state and rebuilding it: the same window, bit for bit.

A window restored from `SlidingWindow.export_state` must answer every statistic
exactly as the window it was copied from and then go on adding and expiring
samples exactly as that window does (the snapshot a hub restarts from is made of
these states). The reference is the window that was never exported, fed the
same operations; the comparison is on the floats' bits (``-0.0`` and ``0.0``,
and NaN, would compare wrongly with ``==``).
"""

from __future__ import annotations

from array import array
import math
import struct
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iotitan.engine.sorted_floats import SortedFloats
from custom_components.iotitan.engine.window import (
    SlidingWindow,
    Statistic,
    WindowState,
)

SETTINGS = settings(max_examples=200, deadline=None)
PERCENTILES = (1, 5, 25, 50, 75, 95, 99)

# Values of several kinds: everyday readings, 1e9 plus noise (exact sums),
# tiny ones (fine denominators: large scales), duplicates.
VALUES = st.one_of(
    st.integers(-50, 50).map(lambda n: n / 4),
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
    st.floats(0, 1, allow_nan=False).map(lambda x: 1e9 + x),
    st.sampled_from([2.0**-60, -(2.0**-1070), 1e-300, 0.1]),
)
# Steps between samples: zero (equal timestamps), fractions (fine time
# denominators), whole seconds, and negative (clamped to the newest).
STEPS = st.one_of(
    st.just(0.0),
    st.sampled_from([0.001, 0.125, 1 / 3, 1.0, 7.0, 30.0, -2.0]),
    st.floats(0, 50, allow_nan=False),
)
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), STEPS, VALUES),
        st.tuples(st.just("expire"), st.floats(0, 80, allow_nan=False), st.just(0.0)),
        # A late sensor-dated sample, `step` before the clock (`insert`: placed
        # in time, or refused before the horizon the last expiry set).
        st.tuples(st.just("insert"), st.floats(0, 100, allow_nan=False), VALUES),
    ),
    max_size=80,
)


def bits(value: float | None) -> Any:
    """A statistic as something `==` compares exactly."""
    if value is None or isinstance(value, int):
        return value
    return struct.pack("<d", value)


def statistics_of(window: SlidingWindow) -> list[Any]:
    """Every statistic, every percentile looked at, first and last timestamps."""
    out: list[Any] = [
        bits(window.value(statistic))
        for statistic in Statistic
        if statistic is not Statistic.PERCENTILE
    ]
    out += [bits(window.value(Statistic.PERCENTILE, p)) for p in PERCENTILES]
    out += [bits(window.first_timestamp), bits(window.last_timestamp), len(window)]
    out.append([(bits(t), bits(v)) for t, v in window])
    return out


def apply(
    window: SlidingWindow, ops: list[tuple[str, float, float]], now: float
) -> float:
    """Run `ops` on `window` from the clock `now`; return the clock after them."""
    for op, step, value in ops:
        if op == "add":
            now += step
            window.add(now, value)
        elif op == "insert":
            window.insert(now - step, value)
        else:
            now += step
            window.expire(now)
    return now


def same_state(a: WindowState, b: WindowState) -> bool:
    return (
        a.times.tobytes() == b.times.tobytes()
        and a.values.tobytes() == b.values.tobytes()
        and a.sorted_values.tobytes() == b.sorted_values.tobytes()
        and (a.time_scale, a.value_scale, a.sums, a.expired_to)
        == (b.time_scale, b.value_scale, b.sums, b.expired_to)
    )


@SETTINGS
@given(
    before=OPS,
    after=OPS,
    max_age=st.sampled_from([5.0, 60.0, 3600.0, math.inf]),
    max_samples=st.sampled_from([None, 1, 3, 20]),
)
def test_restored_window_continues_as_the_original(
    before: list[tuple[str, float, float]],
    after: list[tuple[str, float, float]],
    max_age: float,
    max_samples: int | None,
) -> None:
    original = SlidingWindow(max_age, max_samples)
    now = apply(original, before, 1_700_000_000.0)
    restored = SlidingWindow.from_state(max_age, max_samples, original.export_state())
    assert statistics_of(restored) == statistics_of(original)
    apply(original, after, now)
    apply(restored, after, now)
    assert statistics_of(restored) == statistics_of(original)
    assert same_state(restored.export_state(), original.export_state())


def test_scales_finer_than_the_samples_left_are_kept() -> None:
    """The sums' scale comes from samples that may have expired: it is restored."""
    window = SlidingWindow(10.0)
    window.add(0.0, 2.0**-1000)  # a scale of 2**1000 for the values
    window.add(5.0, 1.0)
    window.add(12.0, 3.0)  # the tiny one expires; the window is never empty
    state = window.export_state()
    assert state.value_scale == 1000
    restored = SlidingWindow.from_state(10.0, None, state)
    restored.add(13.0, 0.5)
    window.add(13.0, 0.5)
    assert same_state(restored.export_state(), window.export_state())
    assert restored.value(Statistic.MEAN) == (1.0 + 3.0 + 0.5) / 3


def test_export_copies_and_restore_takes_the_arrays() -> None:
    window = SlidingWindow(100.0)
    for i in range(40):
        window.add(float(i), float(i % 7))
    state = window.export_state()
    window.add(40.0, 100.0)  # the copy does not change
    assert len(state.times) == len(state.values) == len(state.sorted_values) == 40
    assert list(state.sorted_values) == sorted(float(i % 7) for i in range(40))
    assert list(state.times) == [float(i) for i in range(40)]


def test_export_after_the_prefix_was_cut_and_an_empty_window() -> None:
    window = SlidingWindow(3.0)
    for i in range(100):  # expired samples are cut off in batches (_head > 0)
        window.add(float(i), float(i))
    state = window.export_state()
    assert list(state.times) == [96.0, 97.0, 98.0, 99.0]
    empty = SlidingWindow(3.0)
    restored = SlidingWindow.from_state(3.0, None, empty.export_state())
    assert len(restored) == 0
    assert restored.value(Statistic.MEAN) is None
    restored.add(1.0, 2.0)
    assert restored.value(Statistic.MEAN) == 2.0


def _state(**changes: Any) -> WindowState:
    window = SlidingWindow(10.0, 5)
    for i in range(4):
        window.add(float(i), i / 4)
    fields = {
        name: getattr(window.export_state(), name)
        for name in WindowState.__dataclass_fields__
    }
    fields.update(changes)
    return WindowState(**fields)


@pytest.mark.parametrize(
    ("changes", "max_age", "max_samples"),
    [
        ({"times": array("d", [0.0, 1.0])}, 10.0, 5),
        ({"values": array("f", [0.0, 0.25, 0.5, 0.75])}, 10.0, 5),
        ({"time_scale": -1}, 10.0, 5),
        ({"value_scale": 1075}, 10.0, 5),
        ({"value_scale": 1}, 10.0, 5),  # 0.25 needs 2**2
        ({"sums": (0, 0, 0)}, 10.0, 5),
        ({}, 2.0, 5),  # 3 s of samples in a 2 s window
        ({}, 10.0, 3),  # 4 samples, at most 3
        ({"times": array("d", [3.0, 2.0, 1.0, 0.0])}, 10.0, 5),
        ({"times": array("d", [0.0, 1.0, 2.0, math.nan])}, 10.0, 5),
        (
            {
                "times": array("d"),
                "values": array("d"),
                "sorted_values": array("d"),
            },
            10.0,
            5,
        ),  # no samples but sums
    ],
)
def test_inconsistent_states_are_refused(
    changes: dict[str, Any], max_age: float, max_samples: int
) -> None:
    with pytest.raises(ValueError):
        SlidingWindow.from_state(max_age, max_samples, _state(**changes))


def test_a_consistent_state_is_taken() -> None:
    window = SlidingWindow.from_state(10.0, 5, _state())
    assert window.value(Statistic.MEAN) == (0 + 0.25 + 0.5 + 0.75) / 4


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.integers(-5, 5).map(float), max_size=60),
    more=st.lists(st.integers(-5, 5).map(float), max_size=30),
    load=st.sampled_from([4, 5, 8]),
)
def test_sorted_floats_round_trip(
    values: list[float], more: list[float], load: int
) -> None:
    data = SortedFloats(values, load=load)
    for value in values[::3]:  # splits and merges before the copy
        data.add(value)
    exported = data.to_array()
    assert list(exported) == sorted([*values, *values[::3]])
    restored = SortedFloats.from_sorted(exported, load=load)
    reference = sorted(exported)
    for value in more:
        restored.add(value)
        reference.append(value)
    for value in more[::2]:
        restored.remove(value)
        reference.remove(value)
    reference.sort()
    assert list(restored) == reference
    assert [restored[i] for i in range(len(reference))] == reference
    assert len(restored) == len(reference)


def test_from_sorted_needs_doubles() -> None:
    with pytest.raises(ValueError):
        SortedFloats.from_sorted(array("f", [1.0]))
    assert len(SortedFloats.from_sorted(array("d"))) == 0
    assert list(SortedFloats().to_array()) == []
