"""Tests for the sliding window: against a naive reference, and its edge cases.

Expected values come from ``tests/engine/reference.py`` (core's arithmetic
recomputed from scratch, and exact fractions), from the :mod:`statistics` module,
or from hand calculation; never from the window's own output.

Tolerances. Exact equality wherever both sides round an exact value once or do the
same float operations on the same floats:

- mean, variance, standard deviation: :mod:`statistics` sums exact fractions and
  rounds once (``stdev`` with a correctly rounded square root); the window keeps
  exact integer sums and rounds once the same way, so the floats are identical.
- median, min, max, percentiles, change, change_second, last: the same floats go
  through the same float operations.
- sum: identical to ``math.fsum`` (the correctly rounded exact sum).
- average_step/average_linear: identical to the exact fractions reference.

Against core's own float loops (sum, average_step, average_linear) the window is
compared with a bound on core's rounding error; see ``_core_sum_tolerance`` and
``_core_area_tolerance``.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from fractions import Fraction
import math
import random
import statistics
from typing import Any

from homeassistant.components.statistics import sensor as core_statistics
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.iotitan.engine.window import SlidingWindow, Statistic

from .reference import (
    CORE,
    NaiveWindow,
    core_average_linear,
    core_average_step,
    exact_average_linear,
    exact_average_step,
    max_abs,
)

EPS = 2.0**-52  # spacing of floats in [1, 2); the unit roundoff is EPS / 2
TINY = 2.0**-1074  # smallest positive subnormal
PERCENTILES = (1, 2, 5, 10, 25, 33, 50, 67, 75, 90, 95, 98, 99)
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# --- comparison against the reference ---------------------------------------


def _core_sum_tolerance(values: list[float]) -> float:
    """Bound on |builtin sum - exact sum|.

    Python >= 3.12 sums floats with Neumaier's compensated algorithm, whose error
    is at most about one rounding of the result plus n * u**2 * sum(|x|)
    (u = EPS / 2); doubled for slack.
    """
    n = len(values)
    return 2 * EPS * abs(math.fsum(values)) + 2 * n * EPS * EPS * math.fsum(
        abs(v) for v in values
    )


def _core_area_tolerance(states: list[float], ages: list[float]) -> float:
    """Bound on |core's float-loop time average - exact time average|.

    Each of core's n - 1 terms rounds up to three times (t[i] - t[i-1], the value
    sum, the product), the running float sum adds at most (n - 2) roundings of
    partial sums, and the span and the final division one each: first order,
    (n + 4) * u * max|v| since the area is at most max|v| * span. EPS = 2u
    doubles that for slack. Products that underflow into subnormals lose up to
    TINY each in absolute terms, hence the second term.
    """
    n = len(states)
    span = ages[-1] - ages[0]
    return (n + 5) * EPS * max_abs(states) + 2 * n * TINY / span


def _same(actual: float | None, expected: float | None) -> bool:
    """Equal floats (0.0 == -0.0), or both None."""
    if actual is None or expected is None:
        return actual is expected
    return actual == expected


def assert_matches_reference(window: SlidingWindow, naive: NaiveWindow) -> None:
    """Check every statistic of ``window`` against the naive recompute."""
    assert list(window) == list(naive.samples)
    states, ages = naive.states, naive.ages
    n = len(states)
    assert len(window) == n
    assert window.first_timestamp == (ages[0] if n else None)
    assert window.last_timestamp == (ages[-1] if n else None)

    exact = (
        "count",
        "mean",
        "median",
        "value_min",
        "value_max",
        "standard_deviation",
        "variance",
        "change",
        "change_second",
        "last",
    )
    for name in exact:
        actual = window.value(Statistic(name))
        expected = naive.core_value(name)
        assert _same(actual, expected), (name, actual, expected, states)
    for p in PERCENTILES:
        actual = window.value(Statistic.PERCENTILE, p)
        expected = naive.core_value("percentile", p)
        assert _same(actual, expected), ("percentile", p, actual, expected, states)

    total = window.value(Statistic.SUM)
    if n:
        assert total == math.fsum(states), (total, states)
        core_total = naive.core_value("sum")
        assert core_total is not None
        assert total is not None
        assert abs(total - core_total) <= _core_sum_tolerance(states)
    else:
        assert total is None

    step = window.value(Statistic.AVERAGE_STEP)
    linear = window.value(Statistic.AVERAGE_LINEAR)
    if n == 0:
        assert step is None
        assert linear is None
    elif ages[-1] == ages[0]:
        # One sample (core returns it), or several at one timestamp (core divides
        # by zero): the newest value, by our contract.
        assert step == states[-1]
        assert linear == states[-1]
        if n > 1:
            with pytest.raises(ZeroDivisionError):
                core_average_step(states, ages, 50)
    else:
        assert step == exact_average_step(states, ages), (step, states, ages)
        assert linear == exact_average_linear(states, ages), (linear, states, ages)
        tolerance = _core_area_tolerance(states, ages)
        core_step = core_average_step(states, ages, 50)
        core_linear = core_average_linear(states, ages, 50)
        assert core_step is not None
        assert core_linear is not None
        assert step is not None
        assert linear is not None
        assert abs(step - core_step) <= tolerance
        assert abs(linear - core_linear) <= tolerance


# --- strategies ---------------------------------------------------------------


def _scaled(scale: float) -> st.SearchStrategy[float]:
    return st.floats(-1.0, 1.0).map(lambda x: x * scale)


# Value regimes: a stream draws one, so its magnitudes are related (mixed draws all).
VALUE_REGIMES: dict[str, st.SearchStrategy[float]] = {
    # few distinct values: duplicates in the sorted list, ties in the median
    "small_ints": st.integers(-5, 5).map(float),
    "moderate": st.floats(-1000.0, 1000.0),
    # a large offset plus small noise: naive running sums cancel catastrophically
    "offset_1e9": st.one_of(
        st.floats(-1.0, 1.0), st.integers(-1000, 1000).map(lambda i: i / 1000)
    ).map(lambda x: 1e9 + x),
    "offset_neg_1e12": st.floats(-1e-3, 1e-3).map(lambda x: -1e12 + x),
    "tiny": _scaled(1e-300),
    "huge": _scaled(1e150),
    "mixed": st.one_of(
        st.floats(-1e150, 1e150), _scaled(1e-300), st.just(0.0), st.just(-0.0)
    ),
}

# Steps between successive timestamps: duplicates, earlier (clamped), irregular,
# and jumps that empty the window.
TIME_STEPS = st.one_of(
    st.just(0.0),
    st.sampled_from([0.25, 0.5, 1.0, 1.0, 1.0, 2.0]),
    st.floats(0.0, 10.0),
    st.floats(-20.0, 0.0),
    st.floats(50.0, 500.0),
)


@st.composite
def streams(draw: st.DrawFn) -> dict[str, Any]:
    """A window configuration and a stream of ``add``/``expire`` operations."""
    max_age = draw(
        st.one_of(
            st.sampled_from([0.5, 1.0, 10.0, 30.0, 60.0, 3600.0]), st.floats(0.1, 100.0)
        )
    )
    max_samples = draw(st.one_of(st.none(), st.integers(1, 30)))
    start = draw(st.sampled_from([0.0, 1_700_000_000.0, 1e-3, 12345.678]))
    regime = draw(st.sampled_from(sorted(VALUE_REGIMES)))
    values = VALUE_REGIMES[regime]
    ops = draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("add"), TIME_STEPS, values),
                st.tuples(st.just("expire"), st.floats(-10.0, 200.0), st.just(0.0)),
            ),
            min_size=1,
            max_size=60,
        )
    )
    return {
        "max_age": max_age,
        "max_samples": max_samples,
        "start": start,
        "regime": regime,
        "ops": ops,
    }


# --- property tests ------------------------------------------------------------


@SETTINGS
@given(streams())
def test_matches_reference_after_every_operation(stream: dict[str, Any]) -> None:
    """Every statistic equals the naive recompute after each add and expire."""
    window = SlidingWindow(stream["max_age"], stream["max_samples"])
    naive = NaiveWindow(stream["max_age"], stream["max_samples"])
    clock = stream["start"]
    for op, delta, value in stream["ops"]:
        if op == "add":
            clock += delta
            window.add(clock, value)
            naive.add(clock, value)
        else:
            assert window.expire(clock + delta) == naive.expire(clock + delta)
        assert_matches_reference(window, naive)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=200),
    st.sampled_from(list(VALUE_REGIMES)),
    st.data(),
)
def test_large_windows_match_reference(
    seeds: list[float], regime: str, data: st.DataObject
) -> None:
    """Longer windows (hundreds of samples, many expiring at once) match too."""
    values = data.draw(
        st.lists(VALUE_REGIMES[regime], min_size=len(seeds), max_size=len(seeds))
    )
    window = SlidingWindow(60.0)
    naive = NaiveWindow(60.0)
    t = 1_700_000_000.0
    for seed, value in zip(seeds, values, strict=True):
        t += abs(seed) % 1.7  # irregular steps in [0, 1.7), some zero
        window.add(t, value)
        naive.add(t, value)
    assert_matches_reference(window, naive)
    assert window.expire(t + 30.0) == naive.expire(t + 30.0)
    assert_matches_reference(window, naive)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(-1e100, 1e100), min_size=1, max_size=30),
    st.lists(st.floats(0.0, 1e4), min_size=1, max_size=30),
    st.integers(1, 99),
)
def test_reference_mirrors_core(
    states: list[float], steps: list[float], percentile: int
) -> None:
    """The reference's copy of core's arithmetic gives what core's code gives."""
    n = min(len(states), len(steps))
    states = states[:n]
    ages = [1_700_000_000.0 + x for x in _cumulative(steps[:n])]
    for name, function in CORE.items():
        if name == "last":
            continue
        core_function = core_statistics.STATS_NUMERIC_SUPPORT[name]
        try:
            expected = core_function(deque(states), deque(ages), percentile)
        except ZeroDivisionError:
            with pytest.raises(ZeroDivisionError):
                function(states, ages, percentile)
            continue
        assert not isinstance(expected, datetime)  # only numeric ones are compared
        assert _same(function(states, ages, percentile), expected), name


def _cumulative(steps: list[float]) -> list[float]:
    out, total = [], 0.0
    for step in steps:
        total += step
        out.append(total)
    return out


@SETTINGS
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1))
def test_any_finite_values(values: list[float]) -> None:
    """Full float range: results equal the exact ones, ``inf`` beyond float range."""
    window = SlidingWindow(1e6)
    for i, value in enumerate(values):
        window.add(float(i), value)
    values = [v + 0.0 for v in values]
    assert window.value(Statistic.MEAN) == statistics.mean(values)
    for statistic, function in (
        (Statistic.VARIANCE, statistics.variance),
        (Statistic.STANDARD_DEVIATION, statistics.stdev),
    ):
        if len(values) < 2:
            assert window.value(statistic) == 0.0
            continue
        try:
            expected = function(values)
        except OverflowError:  # core raises here; we give inf
            expected = math.inf
        assert window.value(statistic) == expected
    exact_sum = sum(map(Fraction, values))
    try:
        expected_sum = float(exact_sum)
    except OverflowError:
        expected_sum = math.inf if exact_sum > 0 else -math.inf
    assert window.value(Statistic.SUM) == expected_sum


# --- a long stream --------------------------------------------------------------


def test_no_drift_over_200k_cycles() -> None:
    """200,000 add/expire cycles of 1e9 + noise: exact to the last bit at the end.

    A float running sum (or a Welford update with removal) would by now be off in
    the mean's last digits and give a variance of the wrong magnitude.
    """
    rng = random.Random(20240611)
    window = SlidingWindow(120.0)
    naive = NaiveWindow(120.0)
    t = 1_700_000_000.0
    for i in range(200_000):
        t += rng.choice((0.0, 0.5, 1.0, 1.0, 1.0, 1.5, 3.0))
        value = 1e9 + rng.gauss(0.0, 0.01)
        window.add(t, value)
        naive.add(t, value)
        if i % 997 == 0:
            now = t + rng.uniform(0.0, 60.0)
            assert window.expire(now) == naive.expire(now)
    assert len(naive.samples) > 50
    assert_matches_reference(window, naive)
    variance = window.value(Statistic.VARIANCE)
    assert variance is not None
    assert 0.5e-4 < variance < 2e-4  # gauss sigma 0.01, so about 1e-4


# --- unit tests ------------------------------------------------------------------

ALL = list(Statistic)


def test_statistic_names_are_core_characteristics() -> None:
    """Every statistic but ``last`` is a numeric characteristic of core's sensor."""
    from homeassistant.components.statistics import sensor as core

    for statistic in Statistic:
        if statistic is not Statistic.LAST:
            assert statistic.value in core.STATS_NUMERIC_SUPPORT


def test_empty_window() -> None:
    """Count is 0; everything else is None."""
    window = SlidingWindow(60.0)
    assert len(window) == 0
    assert list(window) == []
    assert window.first_timestamp is None
    assert window.last_timestamp is None
    assert window.expire(1e9) == 0
    for statistic in ALL:
        expected = 0 if statistic is Statistic.COUNT else None
        assert window.value(statistic) == expected, statistic
    assert window.value(Statistic.PERCENTILE, 1) is None
    assert window.value(Statistic.COUNT) == 0


def test_one_sample() -> None:
    """One sample: core's special cases for n == 1."""
    window = SlidingWindow(60.0)
    window.add(100.0, 21.5)
    expected = {
        Statistic.COUNT: 1,
        Statistic.MEAN: 21.5,
        Statistic.MEDIAN: 21.5,
        Statistic.VALUE_MIN: 21.5,
        Statistic.VALUE_MAX: 21.5,
        Statistic.STANDARD_DEVIATION: 0.0,
        Statistic.VARIANCE: 0.0,
        Statistic.SUM: 21.5,
        Statistic.PERCENTILE: 21.5,
        Statistic.AVERAGE_STEP: 21.5,
        Statistic.AVERAGE_LINEAR: 21.5,
        Statistic.CHANGE: 0.0,
        Statistic.CHANGE_SECOND: None,
        Statistic.LAST: 21.5,
    }
    for statistic, value in expected.items():
        assert window.value(statistic) == value, statistic
    assert window.value(Statistic.PERCENTILE, 1) == 21.5
    assert window.value(Statistic.PERCENTILE, 99) == 21.5
    assert window.first_timestamp == window.last_timestamp == 100.0


def test_hand_computed_values() -> None:
    """Three samples at t = 0, 2, 3 with values 1, 3, 5, worked out by hand."""
    window = SlidingWindow(60.0)
    for t, v in ((0.0, 1.0), (2.0, 3.0), (3.0, 5.0)):
        window.add(t, v)
    assert window.value(Statistic.COUNT) == 3
    assert window.value(Statistic.MEAN) == 3.0
    assert window.value(Statistic.MEDIAN) == 3.0
    assert window.value(Statistic.VARIANCE) == 4.0  # (4 + 0 + 4) / (3 - 1)
    assert window.value(Statistic.STANDARD_DEVIATION) == 2.0
    assert window.value(Statistic.SUM) == 9.0
    assert window.value(Statistic.AVERAGE_STEP) == 5.0 / 3.0  # (1*2 + 3*1) / 3
    assert window.value(Statistic.AVERAGE_LINEAR) == 8.0 / 3.0  # (2*2 + 4*1) / 3
    assert window.value(Statistic.CHANGE) == 4.0
    assert window.value(Statistic.CHANGE_SECOND) == 4.0 / 3.0
    assert window.value(Statistic.LAST) == 5.0
    # Exclusive quantiles, m = n + 1 = 4: p50 -> j = 2, delta 0 -> data[1].
    assert window.value(Statistic.PERCENTILE, 50) == 3.0
    # p10 -> j = 0, clamped to 1, delta = 40 - 100 = -60: (1*160 + 3*-60) / 100,
    # i.e. core extrapolates below the minimum.
    assert window.value(Statistic.PERCENTILE, 10) == -0.2
    # p90 -> j = 3, clamped to 2, delta = 360 - 200 = 160: (3*-60 + 5*160) / 100.
    assert window.value(Statistic.PERCENTILE, 90) == 6.2


def test_even_count_median_and_duplicates() -> None:
    """Median of an even count is the mean of the middle two; ties are kept."""
    window = SlidingWindow(60.0)
    for t, v in enumerate((4.0, 1.0, 4.0, 2.0)):
        window.add(float(t), v)
    assert window.value(Statistic.MEDIAN) == 3.0
    assert window.value(Statistic.VALUE_MIN) == 1.0
    assert window.value(Statistic.VALUE_MAX) == 4.0
    window.add(10.0, 4.0)  # [4, 1, 4, 2, 4]
    assert window.value(Statistic.MEDIAN) == 4.0


def test_two_samples_same_timestamp() -> None:
    """Zero time span: no division by zero; averages give the newest value."""
    window = SlidingWindow(60.0)
    window.add(100.0, 10.0)
    window.add(100.0, 20.0)
    assert len(window) == 2
    assert window.value(Statistic.AVERAGE_STEP) == 20.0
    assert window.value(Statistic.AVERAGE_LINEAR) == 20.0
    assert window.value(Statistic.CHANGE_SECOND) is None  # as core: span is 0
    assert window.value(Statistic.CHANGE) == 10.0
    assert window.value(Statistic.MEAN) == 15.0
    assert window.value(Statistic.VARIANCE) == 50.0
    # A later sample: the zero-length span between the first two adds no area.
    window.add(104.0, 0.0)
    assert window.value(Statistic.AVERAGE_STEP) == 20.0  # 20 held for 4 s
    assert window.value(Statistic.AVERAGE_LINEAR) == 10.0  # (20 + 0) / 2
    assert window.value(Statistic.CHANGE_SECOND) == -2.5


def test_duplicate_timestamps_at_the_oldest_end_expire_cleanly() -> None:
    """Expiring samples that share a timestamp keeps the areas right."""
    window = SlidingWindow(10.0)
    window.add(0.0, 1.0)
    window.add(0.0, 2.0)
    window.add(5.0, 3.0)
    window.add(5.0, 4.0)
    window.add(10.0, 5.0)
    assert window.value(Statistic.AVERAGE_STEP) == (2.0 * 5 + 4.0 * 5) / 10
    assert window.expire(10.5) == 2
    assert list(window) == [(5.0, 3.0), (5.0, 4.0), (10.0, 5.0)]
    assert window.value(Statistic.AVERAGE_STEP) == 4.0
    assert window.value(Statistic.AVERAGE_LINEAR) == 4.5
    assert window.expire(15.5) == 2
    assert window.value(Statistic.AVERAGE_STEP) == 5.0
    assert window.value(Statistic.MEAN) == 5.0


def test_expiry_exactly_at_max_age() -> None:
    """A sample exactly max_age old stays (core drops only ``age > max_age``)."""
    window = SlidingWindow(10.0)
    window.add(100.0, 1.0)
    window.add(110.0, 2.0)  # the first is exactly 10 s old
    assert len(window) == 2
    assert window.expire(110.0) == 0
    window.add(110.5, 3.0)  # now 10.5 s old
    assert list(window) == [(110.0, 2.0), (110.5, 3.0)]
    assert window.expire(120.0) == 0  # 10 s old: stays
    assert window.expire(120.25) == 1
    assert window.expire(120.5) == 0  # 10 s old: stays
    assert window.expire(121.0) == 1
    assert len(window) == 0
    assert window.value(Statistic.MEAN) is None
    # An emptied window works as a new one.
    window.add(200.0, 7.0)
    assert window.value(Statistic.MEAN) == 7.0
    assert window.value(Statistic.AVERAGE_LINEAR) == 7.0


def test_expire_with_earlier_now_drops_nothing() -> None:
    """``now`` before the samples: nothing is old, nothing goes."""
    window = SlidingWindow(5.0)
    window.add(100.0, 1.0)
    assert window.expire(50.0) == 0
    assert len(window) == 1


def test_max_samples_evicts_oldest() -> None:
    """Beyond max_samples the oldest sample goes, before any age limit."""
    window = SlidingWindow(3600.0, max_samples=3)
    for t, v in ((0.0, 1.0), (1.0, 2.0), (2.0, 3.0), (4.0, 4.0), (8.0, 5.0)):
        window.add(t, v)
    assert list(window) == [(2.0, 3.0), (4.0, 4.0), (8.0, 5.0)]
    assert window.value(Statistic.SUM) == 12.0
    assert window.value(Statistic.VALUE_MIN) == 3.0
    assert window.value(Statistic.AVERAGE_STEP) == (3.0 * 2 + 4.0 * 4) / 6
    assert window.value(Statistic.AVERAGE_LINEAR) == (3.5 * 2 + 4.5 * 4) / 6
    one = SlidingWindow(60.0, max_samples=1)
    one.add(0.0, 1.0)
    one.add(1.0, 2.0)
    assert list(one) == [(1.0, 2.0)]
    assert one.value(Statistic.AVERAGE_STEP) == 2.0


def test_earlier_timestamp_is_clamped() -> None:
    """An out-of-order sample takes the newest timestamp in the window."""
    window = SlidingWindow(60.0)
    window.add(100.0, 1.0)
    window.add(110.0, 2.0)
    window.add(90.0, 3.0)
    assert list(window) == [(100.0, 1.0), (110.0, 2.0), (110.0, 3.0)]
    assert window.last_timestamp == 110.0
    assert window.value(Statistic.AVERAGE_STEP) == 1.0  # 1 held 10 s; 2 held 0 s
    assert window.value(Statistic.LAST) == 3.0
    # An empty window has no newest timestamp: any timestamp is taken as is.
    assert window.expire(1000.0) == 3
    window.add(50.0, 4.0)
    assert list(window) == [(50.0, 4.0)]


def test_large_offset_variance_is_exact() -> None:
    """1e9 + small noise: the textbook sum-of-squares formula in floats gives 0 or
    garbage; the exact sums give what statistics.variance gives."""
    values = [1e9 + 0.1, 1e9 + 0.2, 1e9 + 0.3, 1e9 + 0.4]
    window = SlidingWindow(60.0)
    for t, v in enumerate(values):
        window.add(float(t), v)
    n = len(values)
    naive_float = (sum(v * v for v in values) - sum(values) ** 2 / n) / (n - 1)
    variance = window.value(Statistic.VARIANCE)
    assert variance == statistics.variance(values)
    assert variance is not None
    assert abs(variance - 0.0166666) < 1e-6
    assert abs(naive_float - variance) > 0.5 * variance  # what we avoid
    assert window.value(Statistic.STANDARD_DEVIATION) == statistics.stdev(values)
    assert window.value(Statistic.MEAN) == statistics.mean(values)


def test_results_beyond_float_range_are_inf() -> None:
    """Where core raises OverflowError the window gives inf; the rest stays exact."""
    window = SlidingWindow(60.0)
    window.add(0.0, -1e300)
    window.add(1.0, 1e300)
    with pytest.raises(OverflowError):
        statistics.variance([-1e300, 1e300])
    assert window.value(Statistic.VARIANCE) == math.inf
    assert window.value(Statistic.STANDARD_DEVIATION) == statistics.stdev(
        [-1e300, 1e300]
    )
    assert window.value(Statistic.MEAN) == 0.0
    big = SlidingWindow(60.0)
    big.add(0.0, 1.7e308)
    big.add(1.0, 1.7e308)
    assert big.value(Statistic.SUM) == math.inf
    assert big.value(Statistic.MEAN) == 1.7e308
    assert big.value(Statistic.VARIANCE) == 0.0
    negative = SlidingWindow(60.0)
    negative.add(0.0, -1.7e308)
    negative.add(1.0, -1.7e308)
    assert negative.value(Statistic.SUM) == -math.inf


def test_negative_zero_is_stored_as_zero() -> None:
    """-0.0 and 0.0 compare equal in the sorted list; -0.0 is stored as 0.0."""
    window = SlidingWindow(60.0)
    window.add(0.0, -0.0)
    window.add(1.0, 0.0)
    window.add(2.0, -0.0)
    window.expire(2.5)
    value_min = window.value(Statistic.VALUE_MIN)
    assert value_min == 0.0
    assert math.copysign(1.0, value_min) == 1.0


def test_integer_inputs_are_floats() -> None:
    """Ints are accepted and stored as floats."""
    window = SlidingWindow(60)
    window.add(1, 2)
    assert list(window) == [(1.0, 2.0)]
    assert isinstance(window.value(Statistic.LAST), float)
    assert window.max_age == 60.0
    assert isinstance(window.max_age, float)


@pytest.mark.parametrize(
    "max_age", [0, 0.0, -1.0, math.nan, -math.inf, True, "10", None]
)
def test_invalid_max_age(max_age: Any) -> None:
    """max_age must be a positive number of seconds."""
    with pytest.raises(ValueError, match="max_age"):
        SlidingWindow(max_age)


@pytest.mark.parametrize("max_samples", [0, -1, 1.5, True, "3"])
def test_invalid_max_samples(max_samples: Any) -> None:
    """max_samples must be an int >= 1 or None."""
    with pytest.raises(ValueError, match="max_samples"):
        SlidingWindow(60.0, max_samples)


def test_valid_constructor_arguments() -> None:
    """Properties report what was given; inf means no age limit."""
    window = SlidingWindow(90.5, 10)
    assert window.max_age == 90.5
    assert window.max_samples == 10
    assert SlidingWindow(1.0).max_samples is None
    forever = SlidingWindow(math.inf, 2)
    forever.add(0.0, 1.0)
    forever.add(1e12, 2.0)
    assert forever.expire(1e300) == 0
    assert len(forever) == 2
    assert "max_samples=2" in repr(forever)
    assert "len=2" in repr(forever)


@pytest.mark.parametrize(
    ("timestamp", "value"),
    [
        (0.0, math.nan),
        (0.0, math.inf),
        (0.0, -math.inf),
        (math.nan, 1.0),
        (math.inf, 1.0),
    ],
)
def test_non_finite_samples_rejected(timestamp: float, value: float) -> None:
    """NaN and infinities are rejected and leave the window unchanged."""
    window = SlidingWindow(60.0)
    window.add(0.0, 5.0)
    with pytest.raises(ValueError, match="finite"):
        window.add(timestamp, value)
    assert list(window) == [(0.0, 5.0)]
    assert window.value(Statistic.SUM) == 5.0


@pytest.mark.parametrize("now", [math.nan, math.inf])
def test_non_finite_now_rejected(now: float) -> None:
    """expire() needs a finite time."""
    window = SlidingWindow(60.0)
    window.add(0.0, 5.0)
    with pytest.raises(ValueError, match="finite"):
        window.expire(now)
    assert len(window) == 1


@pytest.mark.parametrize("percentile", [0, 100, -5, 1.5, True])
def test_invalid_percentile(percentile: Any) -> None:
    """Percentiles run from 1 to 99, as in core's config validation."""
    window = SlidingWindow(60.0)
    window.add(0.0, 5.0)
    with pytest.raises(ValueError, match="percentile"):
        window.value(Statistic.PERCENTILE, percentile)
    # Other statistics ignore the argument.
    assert window.value(Statistic.MEAN, percentile) == 5.0


def test_unknown_statistic() -> None:
    """A name that is not a Statistic is a ValueError; a valid string works."""
    window = SlidingWindow(60.0)
    window.add(0.0, 5.0)
    with pytest.raises(ValueError, match="unknown statistic"):
        window.value("mean_circular")  # type: ignore[arg-type]
    assert window.value("mean") == 5.0  # type: ignore[arg-type]
    assert window.value("percentile", 10) == 5.0  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.floats(min_value=0, max_value=50), min_size=1, max_size=40),
    values=st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=40, max_size=40),
    cut=st.floats(min_value=-10, max_value=2000),
)
def test_discard_after_equals_a_window_of_the_kept_samples(
    gaps: list[float], values: list[float], cut: float
) -> None:
    """Dropping the samples later than `cut` leaves the window it would have been."""
    window = SlidingWindow(600.0)
    fresh = SlidingWindow(600.0)
    now = 0.0
    for gap, value in zip(gaps, values, strict=False):
        now += gap
        window.add(now, value)
    before = list(window)
    kept = [(t, v) for t, v in before if t <= cut]
    for timestamp, value in kept:
        fresh.add(timestamp, value)
    assert window.discard_after(cut) == len(before) - len(kept)
    assert list(window) == kept
    for statistic in Statistic:
        assert window.value(statistic) == fresh.value(statistic), statistic
    # And it goes on like a fresh window.
    window.add(cut + 1, 7.0)
    fresh.add(cut + 1, 7.0)
    assert list(window) == list(fresh)
    assert window.value(Statistic.AVERAGE_LINEAR) == fresh.value(
        Statistic.AVERAGE_LINEAR
    )
