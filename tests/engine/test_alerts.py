"""Tests for the alert state machines (engine/alerts.py).

Expected values come from the rules (ISA-18.2 style): a high alert turns on when
the value is strictly above the limit and clears at ``value <= high - deadband``;
delays require the condition to hold continuously; transitions are dated at the
moment the delay expired.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
import math

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iotitan.engine.alerts import (
    AlertConfig,
    AlertMachine,
    AlertRule,
    Severity,
    Transition,
    validate_alert_config,
)

HIGH, LOW, RANGE, STALE, RATE = (
    AlertRule.HIGH,
    AlertRule.LOW,
    AlertRule.RANGE,
    AlertRule.STALE,
    AlertRule.RATE,
)


def above(x: float) -> float:
    """The next float above ``x``."""
    return math.nextafter(x, math.inf)


def below(x: float) -> float:
    """The next float below ``x``."""
    return math.nextafter(x, -math.inf)


def machine(rule: AlertRule, **kwargs: float | Severity) -> AlertMachine:
    return AlertMachine(AlertConfig(rule, **kwargs))  # type: ignore[arg-type]


def tr(
    state: bool,
    at: float,
    value: float | None,
    limit: float | None,
    rule: AlertRule = HIGH,
    severity: Severity = Severity.WARNING,
) -> Transition:
    return Transition(state, at, value, limit, rule, severity)


# -- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "errors"),
    [
        (AlertConfig(HIGH, high=30), {}),
        (AlertConfig(HIGH, high=30, deadband=5, on_delay=1, off_delay=2), {}),
        (AlertConfig(HIGH, high=30, low=math.nan), {}),  # low unused by "high"
        (AlertConfig(LOW, low=-5), {}),
        (AlertConfig(RANGE, low=0, high=10, deadband=9.5), {}),
        (AlertConfig(STALE, stale_after=60), {}),
        (AlertConfig(RATE, rate_limit=2, deadband=1.5), {}),
        (AlertConfig(HIGH), {"high": "limit_required"}),
        (AlertConfig(HIGH, low=3), {"high": "limit_required"}),
        (AlertConfig(LOW, high=3), {"low": "limit_required"}),
        (AlertConfig(RANGE), {"high": "limit_required", "low": "limit_required"}),
        (AlertConfig(RANGE, high=1), {"low": "limit_required"}),
        (AlertConfig(RANGE, low=10, high=10), {"low": "low_above_high"}),
        (AlertConfig(RANGE, low=11, high=10), {"low": "low_above_high"}),
        (
            AlertConfig(RANGE, low=0, high=10, deadband=10),
            {"deadband": "deadband_too_wide"},
        ),
        (
            AlertConfig(RANGE, low=0, high=10, deadband=11),
            {"deadband": "deadband_too_wide"},
        ),
        (AlertConfig(HIGH, high=1, deadband=-0.1), {"deadband": "negative_deadband"}),
        (
            AlertConfig(RANGE, low=0, high=1, deadband=-1),
            {"deadband": "negative_deadband"},
        ),
        (AlertConfig(STALE), {"stale_after": "limit_required"}),
        (AlertConfig(STALE, stale_after=0), {"stale_after": "must_be_positive"}),
        (AlertConfig(STALE, stale_after=-1), {"stale_after": "must_be_positive"}),
        (
            AlertConfig(STALE, stale_after=1, deadband=-1),
            {"deadband": "negative_deadband"},
        ),
        (AlertConfig(RATE), {"rate_limit": "limit_required"}),
        (AlertConfig(RATE, rate_limit=0), {"rate_limit": "must_be_positive"}),
        (
            AlertConfig(RATE, rate_limit=1, deadband=1),
            {"deadband": "deadband_too_wide"},
        ),
        (AlertConfig(HIGH, high=1, on_delay=-1), {"on_delay": "negative_delay"}),
        (AlertConfig(HIGH, high=1, off_delay=-0.5), {"off_delay": "negative_delay"}),
        (AlertConfig(HIGH, high=math.nan), {"high": "not_finite"}),
        (AlertConfig(LOW, low=-math.inf), {"low": "not_finite"}),
        (AlertConfig(HIGH, high=1, deadband=math.inf), {"deadband": "not_finite"}),
        (AlertConfig(STALE, stale_after=math.inf), {"stale_after": "not_finite"}),
        (AlertConfig(RATE, rate_limit=math.nan), {"rate_limit": "not_finite"}),
        (AlertConfig(HIGH, high=1, on_delay=math.inf), {"on_delay": "not_finite"}),
        (
            AlertConfig(RANGE, low=0, high=math.inf),
            {"high": "not_finite"},
        ),
        (AlertConfig("bogus", high=1), {"rule": "invalid_rule"}),  # type: ignore[arg-type]
        (
            AlertConfig(HIGH, high=1, severity="bogus"),  # type: ignore[arg-type]
            {"severity": "invalid_severity"},
        ),
        (AlertConfig("high", high=1, severity="critical"), {}),  # type: ignore[arg-type]
    ],
)
def test_validate_alert_config(config: AlertConfig, errors: dict[str, str]) -> None:
    assert validate_alert_config(config) == errors


def test_machine_refuses_invalid_config() -> None:
    with pytest.raises(ValueError, match="limit_required"):
        AlertMachine(AlertConfig(HIGH))


def test_transition_is_frozen() -> None:
    transition = tr(True, 1.0, 2.0, 3.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        transition.state = False  # type: ignore[misc]


# -- high / low / range / rate boundaries ----------------------------------------------


def test_high_boundaries_with_deadband() -> None:
    m = machine(HIGH, high=30, deadband=2)
    assert (m.state, m.since, m.value, m.limit) == (None, None, None, 30)
    assert m.update(0, 30) == tr(False, 0, 30, 30)  # equal to the limit: not above
    assert m.update(1, 30) is None
    assert m.update(2, above(30)) == tr(True, 2, above(30), 30)
    assert (m.state, m.since, m.value) == (True, 2, above(30))
    assert m.update(3, 100) is None
    assert m.update(4, 29) is None  # inside the deadband: stays on
    assert m.update(5, above(28)) is None  # just above high - deadband
    assert m.state is True
    assert m.update(6, 28) == tr(False, 6, 28, 30)  # exactly high - deadband clears
    assert m.update(7, 30) is None  # back at the limit: still off


def test_high_without_deadband_clears_at_the_limit() -> None:
    m = machine(HIGH, high=30)
    m.update(0, 31)
    assert m.state is True
    assert m.update(1, above(30)) is None
    assert m.update(2, 30) == tr(False, 2, 30, 30)


def test_first_reading_above_limit_turns_on_directly() -> None:
    m = machine(HIGH, high=30, severity=Severity.CRITICAL)
    assert m.update(5, 31) == tr(True, 5, 31, 30, HIGH, Severity.CRITICAL)


def test_low_boundaries_with_deadband() -> None:
    m = machine(LOW, low=5, deadband=1)
    assert m.update(0, 5) == tr(False, 0, 5, 5, LOW)
    assert m.update(1, below(5)) == tr(True, 1, below(5), 5, LOW)
    assert m.update(2, 5.5) is None
    assert m.update(3, below(6)) is None
    assert m.update(4, 6) == tr(False, 4, 6, 5, LOW)
    assert m.update(5, 5) is None


def test_range_remembers_the_side_crossed() -> None:
    m = machine(RANGE, low=0, high=10, deadband=1)
    assert m.limit is None
    assert m.update(0, 5) == tr(False, 0, 5, None, RANGE)
    assert m.update(1, 10) is None
    assert m.update(2, 0) is None
    assert m.update(3, above(10)) == tr(True, 3, above(10), 10, RANGE)
    # Not beyond low, and at or below high - deadband: a high crossing clears.
    assert m.update(4, 0.5) == tr(False, 4, 0.5, 10, RANGE)
    assert m.limit == 10


def test_range_high_side_clearing() -> None:
    m = machine(RANGE, low=0, high=10, deadband=1)
    m.update(0, 5)
    assert m.update(1, 11) == tr(True, 1, 11, 10, RANGE)
    assert m.update(2, above(9)) is None
    assert m.update(3, 10) is None
    assert m.update(4, 9) == tr(False, 4, 9, 10, RANGE)
    assert m.limit == 10


def test_range_low_side_clearing() -> None:
    m = machine(RANGE, low=0, high=10, deadband=1)
    m.update(0, 5)
    assert m.update(1, 0) is None
    assert m.update(2, below(0)) == tr(True, 2, below(0), 0, RANGE)
    assert m.update(3, below(1)) is None
    assert m.update(4, 1) == tr(False, 4, 1, 0, RANGE)
    assert m.limit == 0


def test_range_switches_side_while_on() -> None:
    m = machine(RANGE, low=0, high=10, deadband=1)
    m.update(0, 11)
    assert m.limit == 10
    assert m.update(1, -1) is None  # still out of range, now below low
    assert (m.state, m.limit, m.since) == (True, 0, 0)
    assert m.update(2, 0.5) is None  # low side: needs >= 1 to clear
    assert m.update(3, 9.5) == tr(False, 3, 9.5, 0, RANGE)


def test_rate_boundaries_both_directions() -> None:
    m = machine(RATE, rate_limit=5, deadband=1)
    assert m.update(0, -5) == tr(False, 0, -5, 5, RATE)
    assert m.update(1, 5) is None
    assert m.update(2, below(-5)) == tr(True, 2, below(-5), 5, RATE)
    assert m.update(3, 4.5) is None
    assert m.update(4, below(-4)) is None  # |rate| just above 4
    assert m.update(5, -4) == tr(False, 5, -4, 5, RATE)
    assert m.update(6, above(5)) == tr(True, 6, above(5), 5, RATE)
    assert m.update(7, above(4)) is None
    assert m.update(8, 4) == tr(False, 8, 4, 5, RATE)


def test_missing_or_nan_value_is_ignored() -> None:
    m = machine(HIGH, high=30)
    assert m.update(0, None) is None
    assert m.update(1, math.nan) is None
    assert (m.state, m.value) == (None, None)
    m.update(2, 31)
    assert m.update(3, math.nan) is None
    assert (m.state, m.value) == (True, 31)


# -- delays -------------------------------------------------------------------------


def delayed() -> AlertMachine:
    m = machine(HIGH, high=30, deadband=2, on_delay=10, off_delay=5)
    assert m.update(0, 20) == tr(False, 0, 20, 30)
    assert m.next_deadline() is None
    assert m.update(100, 31) is None
    assert m.next_deadline() == 110
    return m


def test_on_delay_just_before_and_exactly_at_deadline() -> None:
    m = delayed()
    assert m.tick(below(110)) is None
    assert m.state is False
    assert m.tick(110) == tr(True, 110, 31, 30)
    assert (m.state, m.since, m.next_deadline()) == (True, 110, None)


def test_late_tick_dates_transition_at_deadline() -> None:
    m = delayed()
    assert m.tick(125) == tr(True, 110, 31, 30)
    assert m.since == 110


def test_update_at_deadline_resolves_pending() -> None:
    m = delayed()
    assert m.update(110, 32) == tr(True, 110, 31, 30)
    assert m.value == 32


def test_pending_on_cancelled_when_condition_drops() -> None:
    m = delayed()
    assert m.update(105, 30) is None  # no longer above the limit
    assert m.next_deadline() is None
    assert m.tick(110) is None
    assert m.state is False
    assert m.update(107 + 5, 31) is None  # a new full delay starts
    assert m.next_deadline() == 122
    assert m.tick(below(122)) is None
    assert m.tick(122) == tr(True, 122, 31, 30)


def test_pending_keeps_deadline_while_condition_holds() -> None:
    m = delayed()
    assert m.update(105, 40) is None
    assert m.next_deadline() == 110
    assert m.tick(110) == tr(True, 110, 40, 30)


def test_off_delay_and_cancel() -> None:
    m = delayed()
    m.tick(110)
    assert m.update(120, 28) is None  # clear condition holds: pending off
    assert m.next_deadline() == 125
    assert m.update(122, 29) is None  # in the deadband: clear no longer holds
    assert m.next_deadline() is None
    assert m.tick(125) is None
    assert m.update(130, 20) is None
    assert m.tick(below(135)) is None
    assert m.state is True
    assert m.tick(135) == tr(False, 135, 20, 30)


def test_reversal_exactly_at_deadline_still_commits() -> None:
    m = delayed()
    assert m.update(110, 20) == tr(True, 110, 31, 30)
    assert m.next_deadline() == 115  # then the clear starts its off-delay
    assert m.tick(115) == tr(False, 115, 20, 30)


def test_late_update_with_zero_off_delay_leaves_second_change_due() -> None:
    m = machine(HIGH, high=30, on_delay=10)
    m.update(0, 20)
    m.update(100, 31)
    # The timer did not fire; a clearing value arrives long after the deadline.
    assert m.update(150, 20) == tr(True, 110, 31, 30)
    assert m.next_deadline() == 150  # already due: the caller ticks at once
    assert m.tick(150) == tr(False, 150, 20, 30)
    assert m.next_deadline() is None


def test_on_delay_from_first_reading() -> None:
    m = machine(HIGH, high=30, on_delay=10)
    assert m.update(0, 31) == tr(False, 0, 31, 30)
    assert m.next_deadline() == 10
    assert m.tick(10) == tr(True, 10, 31, 30)


def test_range_pending_follows_latest_side() -> None:
    m = machine(RANGE, low=0, high=10, on_delay=10)
    m.update(0, 5)
    assert m.update(1, 11) is None
    assert m.update(5, -1) is None  # out of range all along, other side
    assert m.next_deadline() == 11
    assert m.tick(11) == tr(True, 11, -1, 0, RANGE)


def test_missing_value_resolves_due_pending() -> None:
    m = delayed()
    assert m.update(112, None) == tr(True, 110, 31, 30)


def test_time_going_backwards_is_clamped() -> None:
    m = machine(HIGH, high=30)
    m.update(100, 20)
    assert m.update(50, 31) == tr(True, 100, 31, 30)


# -- stale --------------------------------------------------------------------------


def stale(**kwargs: float) -> AlertMachine:
    return machine(STALE, stale_after=60, **kwargs)


def test_stale_never_reported_stays_unknown() -> None:
    m = stale()
    assert m.tick(10_000) is None
    assert (m.state, m.next_deadline()) == (None, None)


def test_stale_fires_exactly_after_stale_after() -> None:
    m = stale()
    assert m.update(0) == tr(False, 0, 0.0, 60, STALE)
    assert m.next_deadline() == 60
    assert m.tick(below(60)) is None
    assert m.state is False
    assert m.tick(60) == tr(True, 60, 60.0, 60, STALE)
    assert m.next_deadline() is None
    assert m.tick(100) is None
    assert m.value == 100
    assert m.update(130, 12.5) == tr(False, 130, 0.0, 60, STALE)
    assert m.next_deadline() == 190


def test_stale_messages_keep_it_fresh() -> None:
    m = stale()
    m.update(0)
    for t in range(50, 500, 50):
        assert m.tick(t) is None
        assert m.update(t) is None
    assert m.state is False
    assert m.next_deadline() == 510


def test_message_exactly_at_stale_time_is_in_time() -> None:
    m = stale()
    m.update(0)
    assert m.update(60) is None
    assert (m.state, m.next_deadline()) == (False, 120)


def test_stale_on_delay() -> None:
    m = stale(on_delay=10)
    m.update(0)
    assert m.next_deadline() == 70
    assert m.tick(65) is None
    assert m.tick(70) == tr(True, 70, 70.0, 60, STALE)


def test_stale_on_delay_cancelled_by_message() -> None:
    m = stale(on_delay=10)
    m.update(0)
    assert m.update(65) is None
    assert m.tick(70) is None
    assert m.next_deadline() == 135


def test_stale_message_at_on_delay_deadline_still_fires() -> None:
    m = stale(on_delay=10)
    m.update(0)
    assert m.update(70) == tr(True, 70, 70.0, 60, STALE)
    assert m.next_deadline() == 70  # the message's clearing is already due
    assert m.tick(70) == tr(False, 70, 0.0, 60, STALE)


def test_stale_off_delay() -> None:
    m = stale(off_delay=20)
    m.update(0)
    m.tick(60)
    assert m.update(100) is None
    assert m.next_deadline() == 120
    assert m.update(110) is None  # keeps the original deadline
    assert m.tick(below(120)) is None
    assert m.tick(120) == tr(False, 120, 10.0, 60, STALE)


def test_stale_off_delay_longer_than_stale_after_with_steady_reports() -> None:
    m = stale(off_delay=100)
    m.update(0)
    m.tick(60)
    for t in range(100, 200, 30):
        assert m.update(t) is None
    assert m.tick(199) is None
    assert m.tick(200) == tr(False, 200, 10.0, 60, STALE)


def test_stale_off_delay_cancelled_when_stale_again() -> None:
    m = stale(off_delay=100)
    m.update(0)
    m.tick(60)
    m.update(100)
    assert m.tick(below(160)) is None
    assert m.next_deadline() == 200
    assert m.tick(160) is None  # stale again at 160, before the deadline
    assert (m.state, m.next_deadline()) == (True, None)
    assert m.update(170) is None  # a new full off-delay
    assert m.next_deadline() == 270


def test_stale_gap_detected_by_next_message_cancels_off_delay() -> None:
    m = stale(off_delay=100)
    m.update(0)
    m.tick(60)
    m.update(100)
    assert m.update(161) is None  # gap of 61 s: it was stale in between
    assert m.next_deadline() == 261


def test_stale_off_delay_equal_to_stale_after() -> None:
    m = stale(off_delay=60)
    m.update(0)
    m.tick(60)
    m.update(100)
    # Fresh for exactly the off-delay, then stale again at the same instant.
    assert m.tick(160) == tr(False, 160, 60.0, 60, STALE)
    assert m.next_deadline() == 160
    assert m.tick(160) == tr(True, 160, 60.0, 60, STALE)


def test_stale_late_message_returns_both_changes_in_order() -> None:
    m = stale()
    m.update(0)
    assert m.update(100) == tr(True, 60, 60.0, 60, STALE)
    assert m.next_deadline() == 100
    assert m.tick(100) == tr(False, 100, 0.0, 60, STALE)
    assert m.next_deadline() == 160


# -- restore and diagnostics --------------------------------------------------------------


def test_restore_high_keeps_hysteresis() -> None:
    m = machine(HIGH, high=30, deadband=2)
    m.restore(True, 50)
    assert (m.state, m.since) == (True, 50)
    assert m.update(60, 29) is None
    assert m.update(61, 28) == tr(False, 61, 28, 30)


def test_restore_off_then_value_above() -> None:
    m = machine(HIGH, high=30, on_delay=5)
    m.restore(False, 50)
    assert m.update(60, 31) is None
    assert m.tick(65) == tr(True, 65, 31, 30)


def test_restore_unknown_state() -> None:
    m = machine(HIGH, high=30)
    m.update(0, 31)
    m.restore(None, 40)
    assert (m.state, m.since) == (None, None)
    assert m.update(50, 10) == tr(False, 50, 10, 30)


def test_restore_cancels_pending() -> None:
    m = delayed()
    m.restore(False, 0)
    assert m.next_deadline() is None


def test_restore_range_with_known_side() -> None:
    m = machine(RANGE, low=0, high=10, deadband=1)
    m.restore(True, 5, limit=10)
    assert m.limit == 10
    assert m.update(6, 9.5) is None
    assert m.update(7, 9) == tr(False, 7, 9, 10, RANGE)


@pytest.mark.parametrize("limit", [None, 7.0])
def test_restore_range_with_unknown_side(limit: float | None) -> None:
    m = machine(RANGE, low=0, high=10, deadband=1)
    m.restore(True, 5, limit=limit)
    assert m.limit is None
    assert m.update(6, 0.5) is None  # inside the low deadband
    assert m.update(7, 9.5) is None  # inside the high deadband
    assert m.update(8, 1) == tr(False, 8, 1, None, RANGE)


def test_restore_stale_on_clears_on_message() -> None:
    m = stale()
    m.restore(True, 50, last_seen=-10)
    assert (m.state, m.since, m.next_deadline()) == (True, 50, None)
    assert m.tick(1000) is None
    assert m.update(1001) == tr(False, 1001, 0.0, 60, STALE)


def test_restore_stale_off_with_last_seen() -> None:
    m = stale()
    m.restore(False, 10, last_seen=40)
    assert m.next_deadline() == 100
    assert m.tick(100) == tr(True, 100, 60.0, 60, STALE)


def test_restore_stale_off_without_last_seen_starts_timer_at_first_tick() -> None:
    m = stale()
    m.restore(False, 10)
    assert m.next_deadline() is None
    assert m.tick(500) is None
    assert m.next_deadline() == 560
    assert m.tick(560) == tr(True, 560, 60.0, 60, STALE)


def test_restore_stale_on_without_last_seen_clears_on_message() -> None:
    m = stale(off_delay=5)
    m.restore(True, 10)
    assert m.update(500) is None
    assert m.tick(505) == tr(False, 505, 5.0, 60, STALE)


def test_as_dict() -> None:
    m = delayed()
    assert m.as_dict() == {
        "rule": "high",
        "severity": "warning",
        "state": False,
        "since": 0,
        "value": 31,
        "limit": 30,
        "pending": True,
        "next_deadline": 110,
        "last_seen": None,
    }
    s = stale()
    s.update(5)
    assert s.as_dict() == {
        "rule": "stale",
        "severity": "warning",
        "state": False,
        "since": 5,
        "value": 0.0,
        "limit": 60,
        "pending": None,
        "next_deadline": 65,
        "last_seen": 5,
    }


# -- property tests against an independent, time-stepped reference ------------------------
#
# The reference walks time one second at a time (all times and delays are whole
# seconds) and counts how many whole seconds the condition for a change has held;
# a change happens at the instant that count reaches the delay. Values hold on
# [t_i, t_(i+1)). That is a different algorithm from the machine's deadlines.

type Event = tuple[bool, float, float | None, float | None]  # state, at, value, limit


def ref_crossed(cfg: AlertConfig, v: float) -> float | None:
    """The limit a value violates (the "on" condition), or None."""
    if cfg.rule in (HIGH, RANGE) and v > cfg.high:  # type: ignore[operator]
        return cfg.high
    if cfg.rule in (LOW, RANGE) and v < cfg.low:  # type: ignore[operator]
        return cfg.low
    if cfg.rule is RATE and abs(v) > cfg.rate_limit:  # type: ignore[operator]
        return cfg.rate_limit
    return None


def ref_clears(cfg: AlertConfig, v: float, limit: float | None) -> bool:
    """Whether an "on" alert whose crossed limit is ``limit`` may clear at ``v``."""
    if ref_crossed(cfg, v) is not None:
        return False
    db = cfg.deadband
    if cfg.rule is RATE:
        return abs(v) <= cfg.rate_limit - db  # type: ignore[operator]
    if limit == cfg.high:
        return v <= cfg.high - db  # type: ignore[operator]
    return v >= cfg.low + db  # type: ignore[operator]


def reference_values(
    cfg: AlertConfig, events: dict[int, float], end: int
) -> tuple[list[Event], dict[int, tuple[bool | None, float | None]]]:
    """Transitions, and (state, limit) after each second, for a value rule."""
    initial_limit = {HIGH: cfg.high, LOW: cfg.low, RATE: cfg.rate_limit}.get(cfg.rule)
    delay = {True: cfg.on_delay, False: cfg.off_delay}  # by target state
    state: bool | None = None
    limit = initial_limit
    value: float | None = None
    held = 0
    held_limit: float | None = None
    out: list[Event] = []
    seen: dict[int, tuple[bool | None, float | None]] = {}
    for now in range(end + 1):
        if state is not None and held and held >= delay[not state]:
            state, limit, held = not state, held_limit, 0
            out.append((state, now, value, limit))
        if now in events:
            value = events[now]
            if state is None:
                crossed = ref_crossed(cfg, value)
                if crossed is not None and cfg.on_delay == 0:
                    state, limit = True, crossed
                else:
                    state = False
                out.append((state, now, value, limit))
        if state is not None:
            assert value is not None
            if state:
                crossed = ref_crossed(cfg, value)
                if crossed is not None:
                    limit = crossed  # range: moved to the other side
                wants, wanted_limit = ref_clears(cfg, value, limit), limit
            else:
                wanted_limit = ref_crossed(cfg, value)
                wants = wanted_limit is not None
            if not wants:
                held = 0
            elif delay[not state] == 0:
                state, limit, held = not state, wanted_limit, 0
                out.append((state, now, value, limit))
            else:
                held += 1
                held_limit = wanted_limit
        seen[now] = (state, limit)
    return out, seen


def reference_stale(
    cfg: AlertConfig, messages: set[int], end: int
) -> tuple[list[Event], dict[int, bool | None]]:
    """Transitions, and the state after each second, for a stale rule."""
    assert cfg.stale_after is not None
    delay = {True: cfg.on_delay, False: cfg.off_delay}
    state: bool | None = None
    last = 0
    held = 0
    out: list[Event] = []
    seen: dict[int, bool | None] = {}
    for now in range(end + 1):
        if state is not None and held and held >= delay[not state]:
            state, held = not state, 0
            out.append((state, now, now - last, cfg.stale_after))
        if now in messages:
            last = now
            if state is None:
                state = False
                out.append((state, now, 0, cfg.stale_after))
        if state is not None:
            is_stale = now - last >= cfg.stale_after
            if is_stale != state:
                if delay[not state] == 0:
                    state, held = not state, 0
                    out.append((state, now, now - last, cfg.stale_after))
                else:
                    held += 1
            else:
                held = 0
        seen[now] = state
    return out, seen


def drive(
    m: AlertMachine,
    feed: Callable[[int], Transition | None],
    times: list[int],
    end: int,
    on_time: bool,
    check: Callable[[int], None],
) -> list[Event]:
    """Feed ``times`` like the HA layer would; return all transitions."""
    out: list[Event] = []

    def record(transition: Transition | None) -> None:
        if transition is not None:
            out.append(
                (transition.state, transition.at, transition.value, transition.limit)
            )

    def drain(now: int, strict: bool) -> None:
        for _ in range(100):
            deadline = m.next_deadline()
            if deadline is None or deadline > now or (strict and deadline == now):
                return
            record(m.tick(deadline if on_time else now))
        raise AssertionError("ticking made no progress")

    for now in [*times, end]:
        if on_time:
            drain(now, strict=True)
        if now in times:
            record(feed(now))
        else:
            record(m.tick(now))
        drain(now, strict=False)
        check(now)
    return out


HALVES = st.integers(-30, 30).map(lambda k: k / 2)


def edges(cfg: AlertConfig) -> list[float]:
    """Values at and next to every boundary of a config's rule."""
    db = cfg.deadband
    if cfg.rule is RATE:
        assert cfg.rate_limit is not None
        points = [cfg.rate_limit, cfg.rate_limit - db]
        points += [-p for p in points]
    else:
        points = []
        if cfg.high is not None:
            points += [cfg.high, cfg.high - db]
        if cfg.low is not None:
            points += [cfg.low, cfg.low + db]
    return sorted({p + d for p in points for d in (-0.5, 0.0, 0.5)})


@st.composite
def value_scenarios(draw: st.DrawFn) -> tuple[AlertConfig, dict[int, float], int]:
    rule = draw(st.sampled_from([HIGH, LOW, RANGE, RATE]))
    cfg = AlertConfig(
        rule,
        high=10.0 if rule in (HIGH, RANGE) else None,
        low=0.0 if rule in (LOW, RANGE) else None,
        rate_limit=5.0 if rule is RATE else None,
        deadband=draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 4.5])),
        on_delay=draw(st.integers(0, 3)),
        off_delay=draw(st.integers(0, 3)),
    )
    gaps = draw(st.lists(st.integers(1, 4), min_size=1, max_size=40))
    times = [sum(gaps[:i]) for i in range(len(gaps))]
    value = st.one_of(st.sampled_from(edges(cfg)), HALVES)
    values = draw(st.lists(value, min_size=len(times), max_size=len(times)))
    return cfg, dict(zip(times, values, strict=True)), times[-1] + 5


@settings(max_examples=400, deadline=None)
@given(value_scenarios(), st.booleans())
def test_value_rules_match_reference(
    scenario: tuple[AlertConfig, dict[int, float], int], on_time: bool
) -> None:
    cfg, events, end = scenario
    expected, seen = reference_values(cfg, events, end)
    m = AlertMachine(cfg)

    def check(now: int) -> None:
        assert (m.state, m.limit) == seen[now], f"at t={now}"

    got = drive(
        m, lambda now: m.update(now, events[now]), sorted(events), end, on_time, check
    )
    assert got == expected


@st.composite
def stale_scenarios(draw: st.DrawFn) -> tuple[AlertConfig, set[int], int]:
    cfg = AlertConfig(
        STALE,
        stale_after=draw(st.integers(1, 5)),
        on_delay=draw(st.integers(0, 4)),
        off_delay=draw(st.integers(0, 4)),
    )
    gaps = draw(st.lists(st.integers(1, 8), min_size=1, max_size=30))
    times = {sum(gaps[:i]) for i in range(len(gaps))}
    return cfg, times, max(times) + 12


@settings(max_examples=400, deadline=None)
@given(stale_scenarios(), st.booleans())
def test_stale_rule_matches_reference(
    scenario: tuple[AlertConfig, set[int], int], on_time: bool
) -> None:
    cfg, messages, end = scenario
    expected, seen = reference_stale(cfg, messages, end)
    m = AlertMachine(cfg)

    def check(now: int) -> None:
        assert m.state == seen[now], f"at t={now}"

    got = drive(m, lambda now: m.update(now), sorted(messages), end, on_time, check)
    assert got == expected


def test_queued_transitions_keep_the_view_consistent() -> None:
    m = machine(HIGH, high=30, on_delay=10)
    m.update(0, 20)
    m.update(100, 31)
    assert m.update(150, 20) == tr(True, 110, 31, 30)
    # The clearing at 150 is worked out but not returned yet: the caller still
    # sees the alert on, as the transition it just got says.
    assert (m.state, m.since, m.value, m.limit) == (True, 110, 31, 30)
    assert m.as_dict()["state"] is True
    assert m.tick(150) == tr(False, 150, 20, 30)
    assert (m.state, m.since, m.value) == (False, 150, 20)


def test_stale_missed_timers_are_replayed_in_order() -> None:
    m = machine(STALE, stale_after=1, off_delay=1)
    assert m.update(0) == tr(False, 0, 0.0, 1, STALE)
    assert m.update(2) == tr(True, 1, 1.0, 1, STALE)  # nobody ticked at 1
    assert m.next_deadline() == 3
    # Nobody ticks at 3 either: fresh for the off-delay (2..3), stale again at 3.
    assert m.update(4) == tr(False, 3, 1.0, 1, STALE)
    assert (m.state, m.next_deadline()) == (False, 3)
    assert m.tick(4) == tr(True, 3, 1.0, 1, STALE)
    # The message at 4 started a new off-delay.
    assert (m.state, m.next_deadline()) == (True, 5)
    assert m.tick(5) == tr(False, 5, 1.0, 1, STALE)
