"""Late samples: ``SlidingWindow.insert`` against a window fed in time order.

The contract (see ``SlidingWindow.insert``): after any interleaving of samples in
time order, late samples and expiries, the window holds exactly what a window fed
the same samples in time order would hold (samples of one timestamp in the order
they arrived), and every statistic is bit for bit the same; a sample is refused
exactly when that in-order window would not hold it.

Expected values come from ``InOrderModel`` (which samples an in-order window
holds, recomputed from all samples offered so far), from a second window fed the
accepted samples in time order through ``add``, from the naive reference
(``tests/engine/reference.py``, exact fractions and core's arithmetic), or from
hand calculation; never from the inserting window's own output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.iotitan.engine.window import SlidingWindow, Statistic

from .reference import NaiveWindow
from .test_window import PERCENTILES, VALUE_REGIMES, assert_matches_reference

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# --- the in-order model --------------------------------------------------------


@dataclass
class InOrderModel:
    """Which samples a window fed in time order holds; recomputed from scratch.

    Every offered sample is remembered, refused or not, with its arrival number.
    The in-order window's "now" is the latest timestamp or expiry time; it holds
    the samples at most ``max_age`` before it (core's purge rule), in time order
    with ties in arrival order (a stable sort), the newest ``max_samples`` of them.
    """

    max_age: float
    max_samples: int | None
    offered: list[tuple[float, float, int]] = field(default_factory=list)
    now: float = -math.inf

    def offer(self, timestamp: float, value: float) -> bool:
        """Offer a sample; return whether the in-order window holds it."""
        arrival = len(self.offered)
        self.offered.append((timestamp, value, arrival))
        self.now = max(self.now, timestamp)
        return any(sample[2] == arrival for sample in self.held())

    def expire(self, now: float) -> int:
        """Move "now" on; return how many held samples that drops."""
        before = len(self.held())
        self.now = max(self.now, now)
        return before - len(self.held())

    def held(self) -> list[tuple[float, float, int]]:
        """The samples held, oldest first."""
        ordered = sorted(self.offered, key=lambda sample: sample[0])  # stable
        kept = [s for s in ordered if not self.now - s[0] > self.max_age]
        if self.max_samples is not None:
            kept = kept[-self.max_samples :]
        return kept

    def pairs(self) -> list[tuple[float, float]]:
        """The samples held as ``(timestamp, value)``, oldest first."""
        return [(t, v + 0.0) for t, v, _ in self.held()]


# --- comparisons -----------------------------------------------------------------


def bits(window: SlidingWindow) -> list[Any]:
    """Every statistic (every percentile of the tests), floats as their bits."""
    out: list[Any] = [window.value(statistic) for statistic in Statistic]
    out += [window.value(Statistic.PERCENTILE, p) for p in PERCENTILES]
    return [x.hex() if isinstance(x, float) else x for x in out]


def in_order_window(
    max_age: float,
    max_samples: int | None,
    accepted: list[tuple[float, float]],
    expired_to: float,
) -> SlidingWindow:
    """A window fed ``accepted`` in time order through ``add``, then expired."""
    window = SlidingWindow(max_age, max_samples)
    for timestamp, value in sorted(accepted, key=lambda sample: sample[0]):
        window.add(timestamp, value)
    if math.isfinite(expired_to):
        window.expire(expired_to)
    return window


def assert_in_order(
    window: SlidingWindow,
    model: InOrderModel,
    accepted: list[tuple[float, float]],
    expired_to: float,
) -> None:
    """The window equals the in-order one, the model's samples and the reference."""
    expected = model.pairs()
    assert list(window) == expected
    ordered = in_order_window(window.max_age, window.max_samples, accepted, expired_to)
    assert list(ordered) == expected
    assert bits(window) == bits(ordered)
    naive = NaiveWindow(window.max_age, window.max_samples)
    for timestamp, value in expected:  # in time order and within the age: kept
        naive.add(timestamp, value)
    assert_matches_reference(window, naive)


# --- strategies --------------------------------------------------------------------


FORWARD_STEPS = st.one_of(
    st.just(0.0),
    st.sampled_from([0.25, 0.5, 1.0, 1.0, 2.0]),
    st.floats(0.0, 10.0),
    st.floats(50.0, 500.0),
)


@st.composite
def late_streams(draw: st.DrawFn) -> dict[str, Any]:
    """A window configuration and a stream of samples (in order or late) and expiries.

    Timestamps are drawn relative to the state when the operation runs:
    ``next`` after the newest offered timestamp; ``late`` a fraction of
    ``max_age`` before "now" (up to 1.5, so beyond the window too); ``tie`` the
    timestamp of a sample held but the newest (of one offered if none is); ``horizon`` exactly ``now - max_age``
    or the float either side; ``before_oldest`` at or before the oldest held
    sample (the ``max_samples`` edge).
    """
    max_age = draw(
        st.one_of(st.sampled_from([0.5, 1.0, 10.0, 30.0, 60.0]), st.floats(0.1, 100.0))
    )
    # Small caps often, so that full windows meet late samples.
    max_samples = draw(st.one_of(st.none(), st.integers(1, 4), st.integers(1, 12)))
    start = draw(st.sampled_from([0.0, 1_700_000_000.0, 1e-3, 12345.678]))
    regime = draw(st.sampled_from(sorted(VALUE_REGIMES)))
    values = VALUE_REGIMES[regime]
    ops = draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("next"), FORWARD_STEPS, values),
                st.tuples(
                    st.just("late"),
                    st.one_of(st.floats(0.0, 0.5), st.floats(0.0, 1.5)),
                    values,
                ),
                st.tuples(st.just("tie"), st.integers(0, 1000).map(float), values),
                st.tuples(
                    st.just("horizon"), st.sampled_from([-1.0, 0.0, 1.0]), values
                ),
                st.tuples(
                    st.just("before_oldest"),
                    st.one_of(st.just(0.0), st.floats(0.0, 5.0)),
                    values,
                ),
                st.tuples(
                    st.just("expire"),
                    st.one_of(st.floats(-10.0, 10.0), st.floats(-10.0, 200.0)),
                    st.just(0.0),
                ),
            ),
            min_size=8,
            max_size=60,
        )
    )
    return {
        "max_age": max_age,
        "max_samples": max_samples,
        "start": start,
        "ops": ops,
    }


def _timestamp(kind: str, param: float, model: InOrderModel, start: float) -> float:
    """Resolve a drawn operation to a timestamp, given what was offered so far."""
    if not model.offered:
        return start
    newest = max(t for t, _, _ in model.offered)
    if kind == "next":
        return newest + param
    if kind == "late":
        return model.now - param * model.max_age
    held = model.held()
    if kind == "tie":
        pool = held[:-1] or model.offered  # a tie with the newest is "next", 0
        return pool[int(param) % len(pool)][0]
    if kind == "horizon":
        edge = model.now - model.max_age
        return edge if not param else math.nextafter(edge, param * math.inf)
    oldest = held[0][0] if held else newest
    return oldest - param


# --- exact edges, by hand ---------------------------------------------------------------


def test_a_sample_exactly_max_age_old_is_kept() -> None:
    """As add keeps it: exactly max_age before the newest goes in; older is refused."""
    window = SlidingWindow(10.0)
    window.add(105.0, 1.0)
    window.add(110.0, 2.0)
    assert window.insert(100.0, 3.0) is True  # exactly 10 s old
    assert window.insert(99.75, 4.0) is False  # 10.25 s old
    assert list(window) == [(100.0, 3.0), (105.0, 1.0), (110.0, 2.0)]
    # It expires as it would have: kept at 110 (10 s), dropped after.
    assert window.expire(110.0) == 0
    assert window.expire(110.25) == 1
    assert list(window) == [(105.0, 1.0), (110.0, 2.0)]


def test_the_expiry_time_is_the_window_now() -> None:
    """After expire(now) beyond the newest sample, the horizon is now - max_age."""
    window = SlidingWindow(10.0)
    window.add(110.0, 1.0)
    assert window.expire(115.0) == 0
    assert window.insert(105.0, 2.0) is True  # exactly 10 s before 115
    assert window.insert(104.5, 3.0) is False
    # An earlier expiry time changes nothing: the window's now stays 115.
    assert window.expire(112.0) == 0
    assert window.insert(104.5, 3.0) is False
    # Emptied by expiry, the window still refuses what it has expired.
    assert window.expire(200.0) == 2
    assert len(window) == 0
    assert window.insert(189.5, 4.0) is False
    assert window.insert(190.0, 5.0) is True
    assert list(window) == [(190.0, 5.0)]


def test_a_clock_stepped_back_lowers_the_window_now() -> None:
    """discard_after(now) forgets an expiry time later than now."""
    window = SlidingWindow(10.0)
    window.add(100.0, 1.0)
    window.expire(200.0)
    assert window.insert(150.0, 2.0) is False
    assert window.discard_after(150.0) == 0
    assert window.insert(140.0, 2.0) is True  # exactly 10 s before 150
    assert window.insert(139.5, 3.0) is False
    # Samples later than now go too, and so does the window's now with them.
    window.add(148.0, 4.0)
    assert window.discard_after(145.0) == 1
    assert list(window) == [(140.0, 2.0)]
    assert window.insert(135.0, 5.0) is True  # 10 s before 145
    assert window.insert(134.5, 6.0) is False


def test_an_empty_window_takes_any_time() -> None:
    """Nothing added or expired yet: no "now", nothing to refuse."""
    window = SlidingWindow(10.0)
    assert window.insert(-1e9, 1.0) is True
    assert window.insert(5.0, 2.0) is True  # expires the first, as add does
    assert list(window) == [(5.0, 2.0)]
    forever = SlidingWindow(math.inf)
    forever.add(1e12, 1.0)
    assert forever.insert(0.0, 2.0) is True
    assert list(forever) == [(0.0, 2.0), (1e12, 1.0)]


def test_a_late_sample_splits_a_span() -> None:
    """(0, 1), (10, 5), then (4, 3) arrives: worked out by hand."""
    window = SlidingWindow(60.0)
    window.add(0.0, 1.0)
    window.add(10.0, 5.0)
    assert window.insert(4.0, 3.0) is True
    assert list(window) == [(0.0, 1.0), (4.0, 3.0), (10.0, 5.0)]
    assert window.value(Statistic.AVERAGE_STEP) == 2.2  # (1*4 + 3*6) / 10
    assert window.value(Statistic.AVERAGE_LINEAR) == 3.2  # (2*4 + 4*6) / 10
    assert window.value(Statistic.LAST) == 5.0  # the newest by time
    assert window.value(Statistic.CHANGE) == 4.0
    assert window.value(Statistic.CHANGE_SECOND) == 0.4
    assert window.value(Statistic.MEAN) == 3.0
    assert window.value(Statistic.MEDIAN) == 3.0
    assert window.value(Statistic.VARIANCE) == 4.0
    assert window.value(Statistic.SUM) == 9.0
    assert window.last_timestamp == 10.0
    # The split spans expire as in-order ones do.
    assert window.expire(64.0) == 1
    assert window.value(Statistic.AVERAGE_STEP) == 3.0
    assert window.value(Statistic.AVERAGE_LINEAR) == 4.0
    assert window.value(Statistic.CHANGE) == 2.0


def test_a_late_sample_becomes_the_oldest() -> None:
    """(10, 5), (20, 1), then (0, 3): a new span in front; change from the new oldest."""
    window = SlidingWindow(60.0)
    window.add(10.0, 5.0)
    window.add(20.0, 1.0)
    assert window.insert(0.0, 3.0) is True
    assert window.first_timestamp == 0.0
    assert window.value(Statistic.AVERAGE_STEP) == 4.0  # (3*10 + 5*10) / 20
    assert window.value(Statistic.AVERAGE_LINEAR) == 3.5  # (4*10 + 3*10) / 20
    assert window.value(Statistic.CHANGE) == -2.0  # 1 - 3
    assert window.value(Statistic.CHANGE_SECOND) == -0.1
    assert window.value(Statistic.LAST) == 1.0
    # Expiring it leaves the window as before it came.
    assert window.expire(60.5) == 1
    assert window.value(Statistic.AVERAGE_STEP) == 5.0
    assert window.value(Statistic.AVERAGE_LINEAR) == 3.0
    assert window.value(Statistic.CHANGE) == -4.0


def test_ties_go_after_the_samples_of_their_timestamp() -> None:
    """A late sample as if it had arrived last among those of its timestamp."""
    window = SlidingWindow(60.0)
    window.add(0.0, 1.0)
    window.add(10.0, 5.0)
    assert window.insert(0.0, 3.0) is True  # after (0, 1)
    assert list(window) == [(0.0, 1.0), (0.0, 3.0), (10.0, 5.0)]
    assert window.value(Statistic.AVERAGE_STEP) == 3.0  # 3 held for 10 s
    assert window.value(Statistic.AVERAGE_LINEAR) == 4.0  # (3 + 5) / 2
    assert window.value(Statistic.CHANGE) == 4.0  # 5 - 1: the first of t = 0
    window.add(10.0, 7.0)
    assert window.insert(5.0, 9.0) is True
    assert window.insert(5.0, 2.0) is True  # after (5, 9)
    assert list(window) == [
        (0.0, 1.0),
        (0.0, 3.0),
        (5.0, 9.0),
        (5.0, 2.0),
        (10.0, 5.0),
        (10.0, 7.0),
    ]
    assert window.value(Statistic.AVERAGE_STEP) == 2.5  # (3*5 + 2*5) / 10
    assert (
        window.value(Statistic.AVERAGE_LINEAR) == 4.75
    )  # ((3+9)/2*5 + (2+5)/2*5) / 10
    assert window.value(Statistic.LAST) == 7.0
    # At the newest timestamp it is in time order: it becomes the last.
    assert window.insert(10.0, 8.0) is True
    assert window.value(Statistic.LAST) == 8.0
    assert window.value(Statistic.CHANGE) == 7.0


def test_max_samples_refuses_what_it_would_evict_at_once() -> None:
    """A full window refuses a sample older than all; one as old as the oldest goes
    after it and evicts it; a later one evicts the oldest."""
    window = SlidingWindow(3600.0, max_samples=3)
    for t, v in ((1.0, 1.0), (2.0, 2.0), (3.0, 3.0)):
        window.add(t, v)
    assert window.insert(0.5, 9.0) is False
    assert list(window) == [(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]
    assert window.insert(1.0, 4.0) is True
    assert list(window) == [(1.0, 4.0), (2.0, 2.0), (3.0, 3.0)]
    assert window.value(Statistic.AVERAGE_STEP) == 3.0  # (4*1 + 2*1) / 2
    assert window.value(Statistic.CHANGE) == -1.0  # 3 - 4
    assert window.insert(2.5, 5.0) is True
    assert list(window) == [(2.0, 2.0), (2.5, 5.0), (3.0, 3.0)]
    assert window.value(Statistic.VALUE_MIN) == 2.0
    assert window.value(Statistic.AVERAGE_LINEAR) == 3.75  # (3.5*0.5 + 4*0.5) / 1
    # Not full: an older sample is taken.
    roomy = SlidingWindow(3600.0, max_samples=3)
    roomy.add(2.0, 2.0)
    roomy.add(3.0, 3.0)
    assert roomy.insert(1.0, 1.0) is True
    assert list(roomy) == [(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]
    one = SlidingWindow(60.0, max_samples=1)
    one.add(5.0, 1.0)
    assert one.insert(4.0, 2.0) is False
    assert one.insert(5.0, 3.0) is True
    assert list(one) == [(5.0, 3.0)]


def test_a_refused_sample_leaves_the_window_as_it_was() -> None:
    """Refusals change nothing: samples, statistics, and what comes next."""
    window = SlidingWindow(10.0, max_samples=2)
    twin = SlidingWindow(10.0, max_samples=2)
    for w in (window, twin):
        w.add(100.0, 0.1)
        w.add(105.0, 1e-300)
    before = bits(window)
    assert window.insert(89.0, 7.5) is False  # older than the window
    assert window.insert(99.0, 2.0**-1000) is False  # older than all in a full window
    assert bits(window) == before
    window.add(106.0, 3.0)
    twin.add(106.0, 3.0)
    assert list(window) == list(twin)
    assert bits(window) == bits(twin)


def test_a_finer_late_sample_rescales_exactly() -> None:
    """A late value and time with finer binary fractions than any before."""
    window = SlidingWindow(1e6)
    window.add(0.0, 1.0)
    window.add(1000.0, 3.0)
    assert window.insert(2.0**-30, 2.0**-40) is True
    naive = NaiveWindow(1e6)
    for t, v in ((0.0, 1.0), (2.0**-30, 2.0**-40), (1000.0, 3.0)):
        naive.add(t, v)
    assert_matches_reference(window, naive)


def test_negative_zero_is_stored_as_zero() -> None:
    """-0.0 becomes 0.0, as in add."""
    window = SlidingWindow(60.0)
    window.add(1.0, 1.0)
    window.insert(0.0, -0.0)
    value_min = window.value(Statistic.VALUE_MIN)
    assert value_min == 0.0
    assert value_min is not None
    assert math.copysign(1.0, value_min) == 1.0
    assert math.copysign(1.0, window.value(Statistic.CHANGE) or 0.0) == 1.0


@pytest.mark.parametrize(
    ("timestamp", "value"),
    [(5.0, math.nan), (5.0, math.inf), (math.nan, 1.0), (-math.inf, 1.0)],
)
def test_non_finite_samples_rejected(timestamp: float, value: float) -> None:
    """NaN and infinities are a ValueError, as for add, and change nothing."""
    window = SlidingWindow(60.0)
    window.add(10.0, 5.0)
    with pytest.raises(ValueError, match="finite"):
        window.insert(timestamp, value)
    assert list(window) == [(10.0, 5.0)]


def test_integer_inputs_are_floats() -> None:
    """Ints are accepted and stored as floats."""
    window = SlidingWindow(60)
    window.add(10, 1)
    assert window.insert(5, 2) is True
    assert list(window) == [(5.0, 2.0), (10.0, 1.0)]
    assert all(isinstance(x, float) for sample in window for x in sample)


# --- property tests ------------------------------------------------------------------


@SETTINGS
@given(late_streams())
def test_late_samples_give_the_in_order_window(stream: dict[str, Any]) -> None:
    """After each operation: the in-order window's samples and statistics, bit for
    bit; refused exactly when the in-order window would not hold the sample."""
    max_age, max_samples = stream["max_age"], stream["max_samples"]
    window = SlidingWindow(max_age, max_samples)
    model = InOrderModel(max_age, max_samples)
    accepted: list[tuple[float, float]] = []
    expired_to = -math.inf
    refused = 0
    for kind, param, value in stream["ops"]:
        if kind == "expire":
            now = (model.now if model.offered else stream["start"]) + param
            expired_to = max(expired_to, now)
            assert window.expire(now) == model.expire(now)
        else:
            timestamp = _timestamp(kind, param, model, stream["start"])
            held = model.offer(timestamp, value)
            assert window.insert(timestamp, value) is held, (kind, timestamp)
            if held:
                accepted.append((timestamp, value))
            else:
                refused += 1
        assert_in_order(window, model, accepted, expired_to)
    assert refused + len(accepted) == len(model.offered)


@settings(max_examples=40, deadline=None)
@given(
    delays=st.lists(
        st.one_of(st.floats(0.0, 5.0), st.floats(0.0, 90.0)), min_size=50, max_size=400
    ),
    regime=st.sampled_from(sorted(VALUE_REGIMES)),
    max_samples=st.sampled_from([None, 5, 20, 45]),
    data=st.data(),
)
def test_long_streams_arriving_late(
    delays: list[float],
    regime: str,
    max_samples: int | None,
    data: st.DataObject,
) -> None:
    """Hundreds of samples measured at 1 Hz arriving up to 90 s late, the clock
    expiring the 60 s window as they arrive: samples move, expire and compact
    (the expired prefix is cut off) around late insertions."""
    values = data.draw(
        st.lists(VALUE_REGIMES[regime], min_size=len(delays), max_size=len(delays))
    )
    start = 1_700_000_000.0
    arrivals = sorted(
        (
            (start + i + delay, start + i, value)
            for i, (delay, value) in enumerate(zip(delays, values, strict=True))
        ),
        key=lambda arrival: arrival[0],
    )
    window = SlidingWindow(60.0, max_samples)
    model = InOrderModel(60.0, max_samples)
    accepted: list[tuple[float, float]] = []
    expired_to = -math.inf
    for n, (arrived, measured, value) in enumerate(arrivals):
        if n % 7 == 0:
            expired_to = max(expired_to, arrived)
            assert window.expire(arrived) == model.expire(arrived)
        held = model.offer(measured, value)
        assert window.insert(measured, value) is held
        if held:
            accepted.append((measured, value))
        if n % 50 == 0:
            assert_in_order(window, model, accepted, expired_to)
    assert_in_order(window, model, accepted, expired_to)


@SETTINGS
@given(
    steps=st.lists(FORWARD_STEPS, min_size=1, max_size=40),
    values=st.lists(st.floats(-1e6, 1e6), min_size=40, max_size=40),
    max_samples=st.one_of(st.none(), st.integers(1, 10)),
)
def test_insert_in_time_order_is_add(
    steps: list[float], values: list[float], max_samples: int | None
) -> None:
    """Samples in time order: insert adds them as add does, all kept."""
    window = SlidingWindow(30.0, max_samples)
    added = SlidingWindow(30.0, max_samples)
    t = 0.0
    for step, value in zip(steps, values, strict=False):
        t += step
        assert window.insert(t, value) is True
        added.add(t, value)
        assert list(window) == list(added)
        assert bits(window) == bits(added)
