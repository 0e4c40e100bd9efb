"""Alert rules as small state machines.

The semantics follow alarm-management practice (ISA-18.2) rather than Home
Assistant's core ``threshold`` integration (which uses a symmetric hysteresis
around the limit):

* **high**: the alert turns on when the value rises *above* the limit (strictly
  greater) and clears only when it falls to ``high - deadband`` (``value <=
  high - deadband``). A value between the two keeps the current state.
* **low**: mirrored; on when ``value < low``, clears when ``value >= low +
  deadband``.
* **range**: high and low together. The machine remembers which side was crossed;
  :attr:`AlertMachine.limit` (and :attr:`Transition.limit`) is the limit that was
  crossed. While the alert is on, a value beyond the *other* limit moves the alert
  to that side without clearing it (no transition is emitted; ``limit`` changes).
  Clearing needs ``value <= high - deadband`` after a high crossing, ``value >=
  low + deadband`` after a low crossing.
* **rate**: the caller passes the current rate of change in units per minute; on
  when ``abs(rate) > rate_limit``, clears when ``abs(rate) <= rate_limit -
  deadband``. The reported limit is ``rate_limit``.
* **stale**: on when no message arrived for ``stale_after`` seconds (an age of
  exactly ``stale_after`` is stale). Time-driven: call :meth:`AlertMachine.tick`
  from a timer scheduled at :meth:`AlertMachine.next_deadline`. Any message
  (whatever its payload) clears it. The value reported for a stale rule is the age
  of the newest message in seconds; the limit is ``stale_after``.

Delays: the raw condition for a change (the "on" condition while the alert is
off, the "clear" condition while it is on) must hold *continuously* for
``on_delay`` / ``off_delay`` seconds before the state changes. If it stops
holding earlier the pending change is cancelled (and a later occurrence starts a
full new delay). For a range alert, being out of range on either side counts as
one continuous "on" condition. A pending change is resolved by the first
:meth:`~AlertMachine.update` or :meth:`~AlertMachine.tick` at or after its
deadline, and the transition is dated at the deadline itself (the moment the
condition had held long enough), not at the (possibly late) call. A value
arriving exactly at the deadline that would reverse the change does not stop it
(the condition held for the whole delay); the reversal is then evaluated as
usual. Likewise a message arriving exactly when the newest message's age reaches
``stale_after`` is in time (without an on-delay the data never was stale).

Exact history, one transition per call: the machine always works out every
change up to the call's time, in order and with exact times, however late the
call. Each call returns at most one :class:`Transition`; when one call causes
more (a late ``update`` that resolves an expired delay and changes state again,
or a stale alert's message arriving after missed timer events), the others are
queued: :meth:`~AlertMachine.next_deadline` then returns the (already passed)
time of the next one and each :meth:`~AlertMachine.tick` returns the next. While
transitions are queued, :attr:`~AlertMachine.state`, ``since``, ``limit`` and
``value`` describe the state as of the last transition returned, so a caller
that writes them after every transition shows every change. The Home Assistant
layer reschedules its timer from ``next_deadline`` after every call (at once
when the time has passed), so queued transitions come out immediately.

Time is always passed in (POSIX seconds) and never read from a clock here. Times
must not go backwards; a time earlier than one already seen is treated as that
later time.

Nothing here imports Home Assistant.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum
import math
from typing import Any, Final

__all__ = [
    "ERROR_DEADBAND_TOO_WIDE",
    "ERROR_INVALID_RULE",
    "ERROR_INVALID_SEVERITY",
    "ERROR_LIMIT_REQUIRED",
    "ERROR_LOW_ABOVE_HIGH",
    "ERROR_MUST_BE_POSITIVE",
    "ERROR_NEGATIVE_DEADBAND",
    "ERROR_NEGATIVE_DELAY",
    "ERROR_NOT_FINITE",
    "AlertConfig",
    "AlertMachine",
    "AlertRule",
    "Severity",
    "Transition",
    "validate_alert_config",
]


class AlertRule(StrEnum):
    """What an alert checks."""

    HIGH = "high"
    LOW = "low"
    RANGE = "range"
    STALE = "stale"
    RATE = "rate"


class Severity(StrEnum):
    """How serious an alert is (passed through to entities and MQTT payloads)."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


# Error keys returned by validate_alert_config (field -> key). The config flow
# shows them as field errors, so they double as translation keys.
ERROR_LIMIT_REQUIRED: Final = "limit_required"
ERROR_LOW_ABOVE_HIGH: Final = "low_above_high"
ERROR_NEGATIVE_DEADBAND: Final = "negative_deadband"
ERROR_DEADBAND_TOO_WIDE: Final = "deadband_too_wide"
ERROR_MUST_BE_POSITIVE: Final = "must_be_positive"
ERROR_NEGATIVE_DELAY: Final = "negative_delay"
ERROR_NOT_FINITE: Final = "not_finite"
ERROR_INVALID_RULE: Final = "invalid_rule"
ERROR_INVALID_SEVERITY: Final = "invalid_severity"


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """One alert rule's settings.

    Only the fields the rule uses are checked and used: ``high`` for high,
    ``low`` for low, both for range, ``stale_after`` for stale, ``rate_limit``
    (absolute change per minute) for rate. ``deadband`` applies to every rule but
    stale. Delays are in seconds.
    """

    rule: AlertRule
    high: float | None = None
    low: float | None = None
    deadband: float = 0.0
    stale_after: float | None = None
    rate_limit: float | None = None
    on_delay: float = 0.0
    off_delay: float = 0.0
    severity: Severity = Severity.WARNING


def validate_alert_config(config: AlertConfig) -> dict[str, str]:
    """Check a configuration; return ``{field: error key}``, empty when valid.

    Error keys: ``invalid_rule``, ``invalid_severity``, ``not_finite`` (NaN or
    infinite number), ``limit_required`` (the rule's limit is missing),
    ``low_above_high`` (range with ``low >= high``, reported on ``low``),
    ``negative_deadband``, ``deadband_too_wide`` (range: ``deadband >= high -
    low``; rate: ``deadband >= rate_limit``, which would leave at most the single
    point 0 to clear at), ``must_be_positive`` (``stale_after`` or ``rate_limit``
    not above 0), ``negative_delay``. One key per field, the first problem found.
    """
    errors: dict[str, str] = {}
    try:
        rule = AlertRule(config.rule)
    except ValueError:
        errors["rule"] = ERROR_INVALID_RULE
        return errors
    try:
        Severity(config.severity)
    except ValueError:
        errors["severity"] = ERROR_INVALID_SEVERITY

    def finite(name: str, value: float | None) -> float | None:
        if value is None:
            return None
        if not math.isfinite(value):
            errors[name] = ERROR_NOT_FINITE
            return None
        return value

    needs_high = rule in (AlertRule.HIGH, AlertRule.RANGE)
    needs_low = rule in (AlertRule.LOW, AlertRule.RANGE)
    high = finite("high", config.high) if needs_high else None
    low = finite("low", config.low) if needs_low else None
    deadband = finite("deadband", config.deadband)
    on_delay = finite("on_delay", config.on_delay)
    off_delay = finite("off_delay", config.off_delay)

    if needs_high and config.high is None:
        errors["high"] = ERROR_LIMIT_REQUIRED
    if needs_low and config.low is None:
        errors["low"] = ERROR_LIMIT_REQUIRED
    if deadband is not None and deadband < 0:
        errors["deadband"] = ERROR_NEGATIVE_DEADBAND
        deadband = None
    if rule is AlertRule.RANGE and high is not None and low is not None:
        if low >= high:
            errors["low"] = ERROR_LOW_ABOVE_HIGH
        elif deadband is not None and deadband >= high - low:
            errors["deadband"] = ERROR_DEADBAND_TOO_WIDE

    for name, needed in (
        ("stale_after", rule is AlertRule.STALE),
        ("rate_limit", rule is AlertRule.RATE),
    ):
        if not needed:
            continue
        raw = getattr(config, name)
        value = finite(name, raw)
        if raw is None:
            errors[name] = ERROR_LIMIT_REQUIRED
        elif value is not None and value <= 0:
            errors[name] = ERROR_MUST_BE_POSITIVE
        elif (
            value is not None
            and rule is AlertRule.RATE
            and deadband is not None
            and deadband >= value
        ):
            errors["deadband"] = ERROR_DEADBAND_TOO_WIDE

    for name, delay in (("on_delay", on_delay), ("off_delay", off_delay)):
        if delay is not None and delay < 0:
            errors[name] = ERROR_NEGATIVE_DELAY
    return errors


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of an alert's state.

    ``at`` is when the change took effect (for a delayed change: its deadline).
    ``value`` is the quantity compared with ``limit``: the watched value, the
    rate (rate rule) or the newest message's age in seconds (stale rule).
    ``limit`` is the limit involved (for a range alert the side crossed, or
    ``None`` on a range alert's very first "off" when no side is known yet).
    """

    state: bool
    at: float
    value: float | None
    limit: float | None
    rule: AlertRule
    severity: Severity


@dataclass(slots=True)
class _Pending:
    """A change waiting for its delay to pass."""

    target: bool
    deadline: float
    limit: float | None


class AlertMachine:
    """The state of one alert rule.

    ``state`` is ``None`` until the source first reports (Home Assistant shows
    the alert as unavailable), then ``True`` (alerting) or ``False``. The first
    reading always yields a transition (``None`` -> ``False``, or straight to
    ``True`` when the rule is violated and there is no on-delay).

    After every :meth:`update` or :meth:`tick` the caller should (re)schedule a
    timer for :meth:`next_deadline` (immediately if it has passed) and call
    :meth:`tick` then.
    """

    __slots__ = (
        "_clock",
        "_limit",
        "_pending",
        "_queue",
        "_reference",
        "_since",
        "_state",
        "_value",
        "_view",
        "config",
    )

    def __init__(self, config: AlertConfig) -> None:
        """Create the machine; raise ``ValueError`` if the config is invalid."""
        errors = validate_alert_config(config)
        if errors:
            raise ValueError(f"invalid alert configuration: {errors}")
        self.config: Final = config
        # The exact current state (ahead of the caller while transitions queue).
        self._state: bool | None = None
        self._since: float | None = None
        self._value: float | None = None
        self._limit: float | None = self._fixed_limit()
        self._pending: _Pending | None = None
        # Stale rule: time of the newest message (or the stale timer's start).
        self._reference: float | None = None
        self._clock: float = -math.inf
        # Transitions worked out but not yet returned and, while any are queued,
        # the last one returned as (state, since, value, limit): what the
        # public properties show.
        self._queue: deque[Transition] = deque()
        self._view: tuple[bool | None, float | None, float | None, float | None] | None
        self._view = None

    # -- public read-only view ------------------------------------------------

    @property
    def state(self) -> bool | None:
        """``True`` while alerting, ``False`` when not, ``None`` before any data."""
        return self._state if self._view is None else self._view[0]

    @property
    def since(self) -> float | None:
        """When the current state began (POSIX seconds)."""
        return self._since if self._view is None else self._view[1]

    @property
    def value(self) -> float | None:
        """The quantity last compared with the limit.

        The watched value (or rate); for a stale rule the newest message's age
        in seconds as of the last call.
        """
        return self._value if self._view is None else self._view[2]

    @property
    def limit(self) -> float | None:
        """The limit involved in the current or last transition."""
        return self._limit if self._view is None else self._view[3]

    def next_deadline(self) -> float | None:
        """When :meth:`tick` should next be called, ``None`` if no timer is needed.

        The time may already have passed: a queued transition is waiting, or a
        deadline passed without a call.
        """
        if self._queue:
            return self._queue[0].at
        if self.config.rule is AlertRule.STALE and self._state is False:
            if self._reference is None:
                return None
            return self._reference + self._stale_after + self.config.on_delay
        return None if self._pending is None else self._pending.deadline

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly snapshot for diagnostics and entity attributes."""
        return {
            "rule": str(self.config.rule),
            "severity": str(self.config.severity),
            "state": self.state,
            "since": self.since,
            "value": self.value,
            "limit": self.limit,
            "pending": None if self._pending is None else self._pending.target,
            "next_deadline": self.next_deadline(),
            "last_seen": self._reference,
        }

    # -- inputs ------------------------------------------------------------------

    def update(self, now: float, value: float | None = None) -> Transition | None:
        """Feed a new message at ``now``.

        ``value`` is the watched value (rate rule: the rate in units per
        minute). ``None`` or NaN means the message carried no usable reading:
        value rules then only let time pass (as :meth:`tick`); for a stale rule
        every message counts and ``value`` is ignored.
        """
        now = self._advance(now)
        if self.config.rule is AlertRule.STALE:
            self._stale_run(now, arriving=True)
            self._stale_message(now)
        else:
            self._resolve(now)
            if value is not None and not math.isnan(value):
                self._value = float(value)
                self._observe(now, self._value)
        return self._deliver()

    def tick(self, now: float) -> Transition | None:
        """Let time pass to ``now``: resolve due delays and the stale timer."""
        now = self._advance(now)
        if self.config.rule is AlertRule.STALE:
            self._stale_run(now, arriving=False)
        else:
            self._resolve(now)
        return self._deliver()

    def restore(
        self,
        state: bool | None,
        since: float | None,
        *,
        limit: float | None = None,
        last_seen: float | None = None,
    ) -> None:
        """Restore a state saved before a restart.

        The next :meth:`update` re-evaluates it with the deadband in mind (a
        restored "on" high alert stays on until the value falls to ``high -
        deadband``). ``limit`` tells a range alert which side was crossed (any
        other value: unknown, so it clears only when the value is inside both
        deadbands). ``last_seen`` is the newest message's time for a stale rule;
        without it the stale timer starts at the next :meth:`tick` or
        :meth:`update` (call ``tick(now)`` once after restoring). Pending delays
        and queued transitions are dropped.
        """
        self._state = state
        self._since = None if state is None else since
        self._pending = None
        self._queue.clear()
        self._view = None
        if self.config.rule is AlertRule.RANGE:
            self._limit = (
                limit if limit in (self.config.high, self.config.low) else None
            )
        if self.config.rule is AlertRule.STALE:
            self._reference = last_seen
            if last_seen is not None:
                self._clock = max(self._clock, last_seen)

    # -- internals ---------------------------------------------------------------

    def _fixed_limit(self) -> float | None:
        match self.config.rule:
            case AlertRule.HIGH:
                return self.config.high
            case AlertRule.LOW:
                return self.config.low
            case AlertRule.RATE:
                return self.config.rate_limit
            case AlertRule.STALE:
                return self.config.stale_after
            case _:
                return None  # range: depends on the side crossed

    @property
    def _stale_after(self) -> float:
        assert self.config.stale_after is not None  # checked by validation
        return self.config.stale_after

    def _advance(self, now: float) -> float:
        self._clock = max(self._clock, now)
        return self._clock

    def _deliver(self) -> Transition | None:
        """Return the oldest transition not yet returned, updating the view."""
        if not self._queue:
            return None
        transition = self._queue.popleft()
        self._view = (
            (transition.state, transition.at, transition.value, transition.limit)
            if self._queue
            else None
        )
        return transition

    def _commit(
        self, state: bool, at: float, value: float | None, limit: float | None
    ) -> None:
        self._state = state
        self._since = at
        self._limit = limit
        self._pending = None
        self._queue.append(
            Transition(
                state=state,
                at=at,
                value=value,
                limit=limit,
                rule=self.config.rule,
                severity=self.config.severity,
            )
        )

    def _resolve(self, now: float) -> None:
        """Commit the pending change if its deadline has come (value rules)."""
        pending = self._pending
        if pending is not None and pending.deadline <= now:
            self._commit(pending.target, pending.deadline, self._value, pending.limit)

    def _wants_change(self, value: float) -> tuple[bool, float | None]:
        """Whether ``value`` calls for leaving the current state, and the limit."""
        cfg = self.config
        alerting = self._state is True
        deadband = cfg.deadband
        match cfg.rule:
            case AlertRule.HIGH:
                assert cfg.high is not None
                if alerting:
                    return value <= cfg.high - deadband, cfg.high
                return value > cfg.high, cfg.high
            case AlertRule.LOW:
                assert cfg.low is not None
                if alerting:
                    return value >= cfg.low + deadband, cfg.low
                return value < cfg.low, cfg.low
            case AlertRule.RATE:
                assert cfg.rate_limit is not None
                if alerting:
                    return abs(value) <= cfg.rate_limit - deadband, cfg.rate_limit
                return abs(value) > cfg.rate_limit, cfg.rate_limit
            case _:  # range
                high, low = cfg.high, cfg.low
                assert high is not None
                assert low is not None
                if value > high:
                    return not alerting, high
                if value < low:
                    return not alerting, low
                if not alerting:
                    return False, self._limit
                side = self._limit
                if side == high:
                    clear = value <= high - deadband
                elif side == low:
                    clear = value >= low + deadband
                else:  # restored without knowing the side
                    clear = low + deadband <= value <= high - deadband
                return clear, side

    def _observe(self, now: float, value: float) -> None:
        """Evaluate a new value (value rules)."""
        change, limit = self._wants_change(value)
        if self._state is None:
            # First reading: the state becomes known at once.
            if change and self.config.on_delay == 0:
                self._commit(True, now, value, limit)
                return
            self._commit(False, now, value, self._limit)
            if change:
                self._pending = _Pending(True, now + self.config.on_delay, limit)
            return
        if not change:
            self._pending = None  # the condition stopped holding: cancel
            if self._state:
                self._limit = limit  # a range alert may have changed side
            return
        if self._pending is not None:
            # Still holding; keep the original deadline, follow the side.
            self._pending.limit = limit
            return
        target = not self._state
        delay = self.config.on_delay if target else self.config.off_delay
        if delay == 0:
            self._commit(target, now, value, limit)
        else:
            self._pending = _Pending(target, now + delay, limit)

    def _stale_run(self, now: float, *, arriving: bool) -> None:
        """Let time pass for a stale rule, up to ``now``, committing every change.

        ``arriving``: a message arrives at ``now``, so an age reaching
        ``stale_after`` exactly at ``now`` never became stale (the stale
        interval is empty).
        """
        if self._state is None:
            return
        if self._reference is None:
            # Restored without the newest message's time: start the timer now.
            self._reference = now
        reference = self._reference
        self._value = now - reference
        onset = reference + self._stale_after  # when the data becomes stale
        went_stale = onset < now or (onset == now and not arriving)
        pending = self._pending
        if self._state and pending is not None:
            if pending.deadline <= now and pending.deadline <= onset:
                # Fresh for the whole off-delay.
                self._commit(
                    False, pending.deadline, pending.deadline - reference, pending.limit
                )
                self._value = now - reference
            elif went_stale:
                self._pending = None  # stale again before the off-delay ended
        if self._state is False:
            due = onset + self.config.on_delay
            if went_stale and due <= now:
                self._commit(True, due, due - reference, self._stale_after)
                self._value = now - reference

    def _stale_message(self, now: float) -> None:
        """A message arrived (stale rule), after time was let pass to ``now``."""
        self._reference = now
        self._value = 0.0
        if self._state is None:
            self._commit(False, now, 0.0, self._stale_after)
        elif self._state and self._pending is None:
            off_delay = self.config.off_delay
            if off_delay == 0:
                self._commit(False, now, 0.0, self._stale_after)
            else:
                self._pending = _Pending(False, now + off_delay, self._stale_after)
