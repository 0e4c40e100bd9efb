"""A reading's time from the payload, and whether a window takes a reading of that time.

Some sensors say when they measured: Tasmota's `"Time"` (local time without a
zone by default, `"2024-05-01T12:34:56"`; with an offset under SetOption52;
milliseconds after `Time 4`; UTC epoch seconds after `Time 2`), Zigbee2MQTT's
`last_seen` (`advanced.last_seen`: ISO 8601 in UTC with `Z`, ISO 8601 with the
local offset, or epoch milliseconds), Shelly's NotifyStatus `params.ts` (epoch
seconds with a fraction), or any field the user names.

`read_payload_time` reads such a field from a decoded JSON document (the one
`MultiPathParser.parse_with_document` returns, so the payload is parsed once)
and gives POSIX seconds, or a `TimeRejection`:

- a string is ISO 8601 as `datetime.fromisoformat` reads it (`T` or a space
  between date and time, fractions, `Z` or `±hh:mm`); without a zone it is
  local time in `local_tz` (on a daylight-saving change, an ambiguous time is
  read as the first of the two, as `fold=0` does); a string holding a number
  is read as that number;
- a number is epoch time, told apart by magnitude: below 1e11 it is seconds
  (1e11 s is the year 5138), from 1e11 to below 1e14 milliseconds (1e11 ms is
  March 1973, 1e14 ms the year 5138); negative numbers and anything larger are
  `out_of_range`, as is an ISO time before 1970. JSON booleans are not times.

`judge_reading_time` is the acceptance rule: a reading dated beyond `now` plus
a tolerance is `too_far_in_future`; one older than the window is
`older_than_window` (exactly the window's age still fits, as a window keeps a
sample exactly `max_age` old); everything else is accepted, late or not.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from enum import StrEnum
import math
from typing import Any

from .payload import _NUMBER, _follow_path

MAX_TIME_TEXT = 64
"""Longer strings (spaces included) are not times; ISO 8601 with nanoseconds and
a zone is 35 characters."""

EPOCH_MILLISECONDS_FROM = 1e11
"""Epoch numbers from here on are milliseconds; below, seconds."""

EPOCH_LIMIT = 1e14
"""Epoch numbers from here on (milliseconds: the year 5138) are out of range."""

TASMOTA_TIME = ("Time",)
"""Tasmota's telemetry time (`tele/<topic>/SENSOR`, `.../STATE`)."""

ZIGBEE2MQTT_LAST_SEEN = ("last_seen",)
"""Zigbee2MQTT's `last_seen` (with `advanced.last_seen` enabled)."""

SHELLY_NOTIFY_TS = ("params", "ts")
"""Shelly Gen2's NotifyStatus time (`<prefix>/events/rpc`)."""


class TimeRejection(StrEnum):
    """Why a payload gave no time."""

    MISSING = "missing"
    """No such field (or no JSON document, or JSON null)."""
    UNPARSEABLE = "unparseable"
    """Not an ISO 8601 string nor a number (an object, a boolean, text)."""
    NOT_FINITE = "not_finite"
    """NaN or infinite (JSON `NaN`, `1e999`)."""
    OUT_OF_RANGE = "out_of_range"
    """A negative epoch, or one of 1e14 or more."""


class TimeVerdict(StrEnum):
    """Whether a window takes a reading of a given time."""

    ACCEPT = "accept"
    TOO_FAR_IN_FUTURE = "too_far_in_future"
    OLDER_THAN_WINDOW = "older_than_window"


def read_payload_time(
    document: Any, path: tuple[str, ...], *, local_tz: tzinfo
) -> float | TimeRejection:
    """The time at `path` of a decoded JSON document, in POSIX seconds.

    `local_tz` is the zone of times written without one (Tasmota's default);
    pass Home Assistant's configured time zone.
    """
    if not path:
        raise ValueError("a time path needs at least one segment")
    found, value = _follow_path(document, path)
    if not found:
        return TimeRejection.MISSING
    return parse_time_value(value, local_tz=local_tz)


def parse_time_value(value: Any, *, local_tz: tzinfo) -> float | TimeRejection:
    """One JSON value (string, number) as POSIX seconds, or why it is no time."""
    if value is None:
        return TimeRejection.MISSING
    if isinstance(value, bool):
        return TimeRejection.UNPARSEABLE
    if isinstance(value, int | float):
        return _epoch(value)
    if not isinstance(value, str):
        return TimeRejection.UNPARSEABLE
    if len(value) > MAX_TIME_TEXT:
        return TimeRejection.UNPARSEABLE
    text = value.strip()
    if not text:
        return TimeRejection.UNPARSEABLE
    if _NUMBER.fullmatch(text):
        return _epoch(float(text))
    if text.lower().lstrip("+-") in {"nan", "inf", "infinity"}:
        return TimeRejection.NOT_FINITE
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=local_tz)
        seconds = moment.timestamp()
    except (ValueError, OverflowError, OSError):
        return TimeRejection.UNPARSEABLE
    # Before 1970 (a clock not yet set, read in a zone east of UTC) is as out
    # of range as a negative epoch.
    return seconds if seconds >= 0 else TimeRejection.OUT_OF_RANGE


def _epoch(number: float) -> float | TimeRejection:
    """Epoch seconds or milliseconds, told apart by magnitude."""
    try:
        seconds = float(number)
    except OverflowError:  # an int beyond float's range
        return TimeRejection.NOT_FINITE
    if not math.isfinite(seconds):
        return TimeRejection.NOT_FINITE
    if seconds < 0 or seconds >= EPOCH_LIMIT:
        return TimeRejection.OUT_OF_RANGE
    if seconds >= EPOCH_MILLISECONDS_FROM:
        return seconds / 1000.0
    return seconds


def judge_reading_time(
    reading_time: float,
    now: float,
    *,
    future_tolerance: float,
    window_age: float,
) -> TimeVerdict:
    """Whether a reading of `reading_time` goes into a window of `window_age` at `now`.

    Beyond `now + future_tolerance` it is too far in the future; more than
    `window_age` before `now` it is older than the window (a window keeps a
    sample exactly `window_age` old). Raises ValueError for a non-finite
    argument or a negative tolerance or age: those are configuration errors,
    not untrusted input.
    """
    for name, number in (
        ("reading_time", reading_time),
        ("now", now),
        ("future_tolerance", future_tolerance),
        ("window_age", window_age),
    ):
        if not math.isfinite(number):
            raise ValueError(f"{name} must be finite, got {number!r}")
    if future_tolerance < 0 or window_age < 0:
        raise ValueError("future_tolerance and window_age must not be negative")
    if reading_time > now + future_tolerance:
        return TimeVerdict.TOO_FAR_IN_FUTURE
    if now - reading_time > window_age:
        return TimeVerdict.OLDER_THAN_WINDOW
    return TimeVerdict.ACCEPT
