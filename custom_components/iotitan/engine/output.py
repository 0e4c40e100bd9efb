"""IoTitan's MQTT output: topic names, payloads, the loop guard, topic filters.

Two output shapes (:class:`OutputTopics`):

default
    statistics to ``<prefix>/stats/<source topic>/<window>/<statistic>`` with a
    plain number payload (:func:`format_number`); alerts to
    ``<prefix>/alerts/<source topic>/<alert name>`` with a JSON payload
    ``{"state": "on"|"off", "value": ..., "limit": ..., "rule": ...,
    "severity": ..., "since": ISO-8601 UTC}``. The prefix defaults to
    ``iotitan``; the window is a compact label (:func:`format_duration`); the
    alert name is made safe as one topic level (:func:`sanitize_topic_level`).

legacy
    the original scripts' planned scheme: ``<source topic>_<statistic>`` for a
    sensor's first window, ``<source topic>_<statistic>_<window label>`` for
    further windows; alerts to ``<source topic>_alert_hi`` / ``_alert_lo`` /
    ``_alert_stale`` / ``_alert_rate`` with payload ``on`` / ``off``. Two alerts
    of the same kind on one source topic share a topic in this shape.

Statistic labels are the statistic names, except that a percentile is written
``p<N>`` (``p95``); see :func:`statistic_label`.

Loop guard (:class:`OutputGuard`): IoTitan never ingests what it publishes. Its
own topics are recognised by *shape*, so a retained message left by a previous
run is ignored before this run has published anything.

Nothing here imports Home Assistant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
import json
import math
import re
from typing import Final, Literal

from .alerts import AlertRule, Severity, Transition

__all__ = [
    "DEFAULT_PREFIX",
    "MAX_TOPIC_BYTES",
    "STATISTICS",
    "OutputGuard",
    "OutputTopics",
    "format_duration",
    "format_number",
    "parse_duration",
    "sanitize_topic_level",
    "statistic_label",
    "stats_topic_tail",
    "topic_matches",
    "validate_output_prefix",
    "validate_topic_filter",
]

DEFAULT_PREFIX: Final = "iotitan"
MAX_TOPIC_BYTES: Final = 65535

STATISTICS: Final[tuple[str, ...]] = (
    "count",
    "mean",
    "median",
    "value_min",
    "value_max",
    "standard_deviation",
    "variance",
    "sum",
    "percentile",
    "average_step",
    "average_linear",
    "change",
    "change_second",
    "last",
)

# -- numbers ----------------------------------------------------------------------

# Positional notation is used for 1e-7 <= |x| < 1e21 (the range in which
# ECMAScript's Number#toString avoids exponents); beyond it the exponent form is
# shorter and clearer.
_PLAIN_MIN: Final = 1e-7
_PLAIN_MAX: Final = 1e21


def _plain(value: float) -> str:
    """Shortest round-trip digits of ``value`` in positional notation."""
    return format(Decimal(repr(value)).normalize(), "f")


def format_number(value: float) -> str:
    """Render a number as an MQTT payload.

    Digits: exactly those of Python's shortest round-trip ``repr`` (at most 17
    significant digits), so ``float(format_number(x)) == x`` always; nothing is
    rounded to a display precision (that is the consumer's business, as with
    Home Assistant's sensor display precision). Integral values have no
    trailing ``.0`` (``21``), ``-0.0`` is ``0``, and values with ``1e-7 <= |x|
    < 1e21`` are written without an exponent (``0.00001``, ``1000000000000``);
    outside that range ``repr`` is used (``1e-08``, ``1e+21``). NaN and
    infinities raise ``ValueError``: they have no portable payload.
    """
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"cannot publish a non-finite number: {value!r}")
    if number == 0:
        return "0"
    if _PLAIN_MIN <= abs(number) < _PLAIN_MAX:
        return _plain(number)
    return repr(number)


# -- durations --------------------------------------------------------------------

_UNITS: Final = (("d", 86400.0), ("h", 3600.0), ("m", 60.0))
_NUM: Final = r"(?:\d+(?:\.\d*)?|\.\d+)"
_PLAIN_SECONDS_RE: Final = re.compile(_NUM)
_HMS_RE: Final = re.compile(r"(\d+):(\d{1,2}):(\d{1,2}(?:\.\d*)?)")
_COMPOUND_RE: Final = re.compile(
    rf"(?:({_NUM})\s*d)?\s*(?:({_NUM})\s*h)?\s*(?:({_NUM})\s*m)?\s*(?:({_NUM})\s*s)?"
)
_DURATION_HELP: Final = (
    "expected a positive duration such as 30s, 10m, 1h, 1d, 1h30m, "
    "HH:MM:SS or a number of seconds"
)


def english_ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, ... 21st, 22nd (CLDR's English rules)."""
    if number % 100 in (11, 12, 13):
        return f"{number}th"
    return f"{number}" + {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")


def statistic_name_placeholders(window: float, percentile: int) -> dict[str, str]:
    """What a statistic's translated name is formatted with ("Mean {window}").

    Names are formatted with str.format, which has no plural rules: the English
    percentile name uses `percentile_ordinal`, other languages may use the plain
    number in `percentile`.
    """
    return {
        "window": format_duration(window),
        "percentile": str(percentile),
        "percentile_ordinal": english_ordinal(percentile),
    }


def format_duration(seconds: float) -> str:
    """A compact label for a positive duration: ``1d``, ``1h``, ``10m``, ``90s``.

    The largest of d, h, m whose whole multiple the duration is gives a single
    unit (``5400`` -> ``90m``, ``86400`` -> ``1d``); anything else is in
    seconds (``90`` -> ``90s``, ``0.5`` -> ``0.5s``). One unit keeps labels short
    and unambiguous; :func:`parse_duration` reads every label back exactly.
    """
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"duration must be a positive number of seconds: {seconds!r}")
    for unit, size in _UNITS:
        if seconds % size == 0:
            return f"{_plain(seconds / size)}{unit}"
    return f"{_plain(float(seconds))}s"


class DurationError(ValueError):
    """A text that is not a positive duration, and why (for a precise message)."""

    MALFORMED: Final = "malformed"
    NOT_POSITIVE: Final = "not_positive"
    """Zero or negative, such as ``0s`` or ``-5m``: well formed, but no duration."""

    def __init__(self, message: str, reason: str) -> None:
        """Keep the reason beside the message."""
        super().__init__(message)
        self.reason = reason


def parse_duration(text: str) -> float:
    """Parse a duration into seconds.

    Accepts ``30s``, ``10m``, ``1h``, ``1d``, combinations in descending order
    (``1h30m``, ``1d 12h``, ``1.5h``), ``HH:MM:SS`` (minutes and seconds below
    60; hours unbounded) and a plain number of seconds (``90``, ``0.5``).
    Case and surrounding whitespace do not matter. Raises :class:`DurationError`
    (a ``ValueError``) on anything else, with reason ``not_positive`` for zero
    and negative durations (``0s``, ``-5m``) and ``malformed`` otherwise.
    """
    cleaned = text.strip().lower()
    if not cleaned:
        raise DurationError(
            f"empty duration: {_DURATION_HELP}", DurationError.MALFORMED
        )
    # A sign is read, so that "-5m" is told apart from nonsense: it is no duration.
    negative = cleaned[:1] == "-"
    if cleaned[:1] in "+-":
        cleaned = cleaned[1:].lstrip()
    if _PLAIN_SECONDS_RE.fullmatch(cleaned):
        seconds = float(cleaned)
    elif match := _HMS_RE.fullmatch(cleaned):
        hours, minutes, secs = int(match[1]), int(match[2]), float(match[3])
        if minutes >= 60 or secs >= 60:
            raise DurationError(
                f"invalid duration {text!r}: minutes and seconds must be below 60",
                DurationError.MALFORMED,
            )
        seconds = hours * 3600.0 + minutes * 60.0 + secs
    elif (match := _COMPOUND_RE.fullmatch(cleaned)) and any(match.groups()):
        seconds = 0.0
        for part, size in zip(
            match.groups(), (86400.0, 3600.0, 60.0, 1.0), strict=True
        ):
            if part is not None:
                seconds += float(part) * size
    else:
        raise DurationError(
            f"invalid duration {text!r}: {_DURATION_HELP}", DurationError.MALFORMED
        )
    if not math.isfinite(seconds):
        raise DurationError(
            f"invalid duration {text!r}: it must be a finite number above zero",
            DurationError.MALFORMED,
        )
    if negative or seconds <= 0:
        raise DurationError(
            f"invalid duration {text!r}: it must be above zero",
            DurationError.NOT_POSITIVE,
        )
    return seconds


# -- topic levels -----------------------------------------------------------------

_LEVEL_UNSAFE_RE: Final = re.compile(r"[+#/\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_PERCENTILE_LABEL: Final = r"p\d+(?:\.\d+)?"
_STAT_LABEL_RE: Final = re.compile(
    "|".join([*(s for s in STATISTICS if s != "percentile"), _PERCENTILE_LABEL])
)


_READING_RE = re.compile(r"[a-z0-9_]{1,64}")


def statistic_label(statistic: str, percentile: float | None = None) -> str:
    """The topic label of a statistic: its name, or ``p<N>`` for a percentile.

    ``percentile`` (0 < N < 100) is required for ``"percentile"`` and refused
    otherwise.
    """
    if statistic not in STATISTICS:
        raise ValueError(f"unknown statistic: {statistic!r}")
    if statistic != "percentile":
        if percentile is not None:
            raise ValueError(f"{statistic} takes no percentile")
        return str(statistic)
    if percentile is None or not 0 < percentile < 100:
        raise ValueError(f"percentile must be above 0 and below 100: {percentile!r}")
    return f"p{_plain(float(percentile))}"


def stats_topic_tail(window: float, label: str) -> str:
    """The last two levels of a statistic's default-shape topic: ``1h/p95``.

    ``label`` is from :func:`statistic_label`.
    """
    return f"{format_duration(window)}/{label}"


def sanitize_topic_level(name: str) -> str:
    """Make ``name`` safe as a single topic level.

    ``+``, ``#``, ``/``, NUL and other control characters (and lone
    surrogates, which cannot be UTF-8) become ``_``; runs of whitespace become
    one ``_``; leading and trailing ``_`` are dropped. An empty result becomes
    ``alert``. Case is kept.
    """
    cleaned = _LEVEL_UNSAFE_RE.sub("_", "_".join(name.split()))
    return cleaned.strip("_") or "alert"


def _check_source_topic(topic: str) -> None:
    if not topic or "+" in topic or "#" in topic or "\x00" in topic:
        raise ValueError(
            f"a source topic must be a non-empty topic without wildcards: {topic!r}"
        )


def _check_length(topic: str) -> str:
    if len(topic.encode("utf-8", "surrogatepass")) > MAX_TOPIC_BYTES:
        raise ValueError(f"topic longer than {MAX_TOPIC_BYTES} bytes")
    return topic


def validate_output_prefix(prefix: str) -> str | None:
    """Check an output topic prefix; return an error key or ``None``.

    Keys: ``prefix_empty``; ``prefix_invalid_character`` (``+``, ``#`` or
    NUL); ``prefix_empty_level`` (leading, trailing or doubled ``/``);
    ``prefix_reserved`` (starts with ``$``, reserved for brokers);
    ``prefix_too_long``.
    """
    if not prefix:
        return "prefix_empty"
    if any(char in prefix for char in "+#\x00"):
        return "prefix_invalid_character"
    if "" in prefix.split("/"):
        return "prefix_empty_level"
    if prefix.startswith("$"):
        return "prefix_reserved"
    if len(prefix.encode("utf-8", "surrogatepass")) > 1024:
        return "prefix_too_long"
    return None


_LEGACY_ALERT_SUFFIX: Final = {
    AlertRule.HIGH: "hi",
    AlertRule.LOW: "lo",
    AlertRule.STALE: "stale",
    AlertRule.RATE: "rate",
}


@dataclass(frozen=True, slots=True)
class OutputTopics:
    """Topic names and payloads for one hub's output shape."""

    prefix: str = DEFAULT_PREFIX
    legacy: bool = False

    def __post_init__(self) -> None:
        """Refuse an unusable prefix (see :func:`validate_output_prefix`)."""
        if (error := validate_output_prefix(self.prefix)) is not None:
            raise ValueError(f"invalid output prefix {self.prefix!r}: {error}")

    def stats_topic(
        self,
        source_topic: str,
        statistic: str,
        window: float,
        *,
        first_window: bool = True,
        reading: str = "",
    ) -> str:
        """The topic of one statistic of one window of a source topic.

        ``statistic`` is a label from :func:`statistic_label`; ``window`` is in
        seconds. ``first_window`` matters only in the legacy shape, where the
        sensor's first window has no window suffix. ``reading`` (a reading's
        key: lowercase letters, digits, ``_``) tells apart the readings of one
        payload: ``<prefix>/stats/<topic>/<reading>/1h/mean``, legacy
        ``<topic>_<reading>_mean``.
        """
        _check_source_topic(source_topic)
        if not _STAT_LABEL_RE.fullmatch(statistic):
            raise ValueError(f"unknown statistic label: {statistic!r}")
        if reading and not _READING_RE.fullmatch(reading):
            raise ValueError(f"invalid reading key: {reading!r}")
        tail = stats_topic_tail(window, statistic)  # also refuses a bad window
        if self.legacy:
            suffix = "" if first_window else f"_{format_duration(window)}"
            infix = f"_{reading}" if reading else ""
            return _check_length(f"{source_topic}{infix}_{statistic}{suffix}")
        level = f"/{reading}" if reading else ""
        return _check_length(f"{self.prefix}/stats/{source_topic}{level}/{tail}")

    def alert_topic(
        self,
        source_topic: str,
        name: str,
        rule: AlertRule,
        *,
        side: Literal["high", "low"] = "high",
    ) -> str:
        """The topic of an alert.

        Default shape: ``name`` (sanitised) is the last level. Legacy shape: the
        rule picks the suffix; a range alert uses ``side`` (the limit crossed,
        or for an "off" the side that cleared) to choose ``_alert_hi`` or
        ``_alert_lo``.
        """
        _check_source_topic(source_topic)
        if not self.legacy:
            level = sanitize_topic_level(name)
            return _check_length(f"{self.prefix}/alerts/{source_topic}/{level}")
        rule = AlertRule(rule)
        if rule is AlertRule.RANGE:
            suffix = "lo" if side == "low" else "hi"
        else:
            suffix = _LEGACY_ALERT_SUFFIX[rule]
        return _check_length(f"{source_topic}_alert_{suffix}")

    @staticmethod
    def stats_payload(value: float) -> str:
        """A statistic's payload (both shapes): :func:`format_number`."""
        return format_number(value)

    def alert_payload(
        self,
        state: bool,
        *,
        value: float | None,
        limit: float | None,
        rule: AlertRule,
        severity: Severity,
        since: float | None,
    ) -> str:
        """An alert's payload: JSON (default shape) or ``on``/``off`` (legacy).

        Non-finite numbers and unknown values are JSON ``null``; ``since`` (POSIX
        seconds) is rendered as ISO 8601 in UTC (``2024-05-01T12:00:00+00:00``).
        """
        on_off = "on" if state else "off"
        if self.legacy:
            return on_off
        return json.dumps(
            {
                "state": on_off,
                "value": _json_number(value),
                "limit": _json_number(limit),
                "rule": str(rule),
                "severity": str(severity),
                "since": None
                if since is None
                else datetime.fromtimestamp(since, UTC).isoformat(),
            },
            separators=(",", ":"),
            allow_nan=False,
        )

    def transition_payload(self, transition: Transition) -> str:
        """:meth:`alert_payload` for a :class:`~.alerts.Transition`."""
        return self.alert_payload(
            transition.state,
            value=transition.value,
            limit=transition.limit,
            rule=transition.rule,
            severity=transition.severity,
            since=transition.at,
        )


def _json_number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


# -- loop guard -------------------------------------------------------------------

_WINDOW_LABEL: Final = r"(?:\d+(?:\.\d+)?[dhms])+"
_LEGACY_OWN_RE: Final = re.compile(
    rf"_(?:(?:{_STAT_LABEL_RE.pattern})(?:_{_WINDOW_LABEL})?|alert_(?:hi|lo|stale|rate))\Z"
)


class OutputGuard:
    """Recognises IoTitan's own output topics by their shape.

    Default shape: every topic under ``<prefix>/stats/`` or
    ``<prefix>/alerts/``. Legacy shape: those too (a previous run may have used
    the default shape), plus every topic whose last level ends in
    ``_<statistic>``, ``_<statistic>_<window label>`` or
    ``_alert_hi|lo|stale|rate``, statistic being any label of
    :func:`statistic_label` (``mean``, ``value_max``, ``p95``...).

    Risk, legacy shape only: a real sensor topic that happens to end like an
    output (``.../energy_sum``, ``.../door_count``, ``.../power_last``,
    ``.../temperature_mean``) is treated as IoTitan's own and ignored. Such names
    are uncommon among device topics (ESPEasy publishes ``<unit>/<task>/<value
    name>``), the old scripts had the same blind spot (``grep -v average``), and
    the default shape, which has no such risk, is the recommended one.
    """

    __slots__ = ("_legacy", "_roots")

    def __init__(self, prefix: str = DEFAULT_PREFIX, legacy: bool = False) -> None:
        """Guard the output of a hub publishing with ``prefix`` in that shape."""
        self._roots = (f"{prefix}/stats/", f"{prefix}/alerts/")
        self._legacy = legacy

    def is_own(self, topic: str) -> bool:
        """Whether ``topic`` has the shape of one of IoTitan's own outputs."""
        if topic.startswith(self._roots):
            return True
        if not self._legacy:
            return False
        return _LEGACY_OWN_RE.search(topic.rpartition("/")[2]) is not None


# -- topic filters ----------------------------------------------------------------


def validate_topic_filter(topic_filter: str) -> str | None:
    """Check an MQTT topic filter; return an error key or ``None`` if valid.

    Keys: ``topic_empty``; ``topic_nul`` (NUL character); ``topic_invalid_utf8``
    (a lone surrogate); ``topic_too_long`` (over 65535 bytes of UTF-8);
    ``topic_invalid_hash`` (``#`` not alone in its level or not the last
    level); ``topic_invalid_plus`` (``+`` not alone in its level).
    """
    if not topic_filter:
        return "topic_empty"
    if "\x00" in topic_filter:
        return "topic_nul"
    try:
        encoded = topic_filter.encode("utf-8")
    except UnicodeEncodeError:
        return "topic_invalid_utf8"
    if len(encoded) > MAX_TOPIC_BYTES:
        return "topic_too_long"
    levels = topic_filter.split("/")
    last = len(levels) - 1
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != last):
            return "topic_invalid_hash"
        if "+" in level and level != "+":
            return "topic_invalid_plus"
    return None


def is_wildcard(topic_filter: str) -> bool:
    """Whether an MQTT topic filter has a `+` or `#` level."""
    return any(level in ("+", "#") for level in topic_filter.split("/"))


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether ``topic`` matches ``topic_filter`` under MQTT's rules.

    ``+`` matches exactly one level (which may be empty), ``#`` (last) matches
    the parent level and any number of levels below it, and a filter starting
    with a wildcard does not match a topic starting with ``$``. The filter is
    assumed valid (see :func:`validate_topic_filter`).
    """
    if topic.startswith("$") and topic_filter.startswith(("+", "#")):
        return False
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels):
            return False
        if level != "+" and level != topic_levels[index]:
            return False
    return len(filter_levels) == len(topic_levels)


def filter_covers(general: str, specific: str) -> bool:
    """Whether every topic that matches ``specific`` also matches ``general``.

    Both are valid MQTT topic filters (see :func:`validate_topic_filter`).
    ``a/#`` covers ``a/b/+`` and ``a`` (``#`` also matches its parent level),
    ``+/b`` covers ``a/b``, a filter covers itself. A filter that starts with a
    wildcard matches no topic that begins with ``$`` (MQTT 3.1.1 4.7.2, MQTT 5
    4.7.2), so ``#`` and ``+/#`` cover neither ``$SYS/#`` nor ``$x``; a filter
    whose first level is a wildcard itself never matches such a topic.
    """
    general_levels = general.split("/")
    specific_levels = specific.split("/")
    if (
        general_levels[0] in ("+", "#")
        and specific_levels[0] not in ("+", "#")
        and specific_levels[0].startswith("$")
    ):
        return False
    for index, level in enumerate(general_levels):
        if level == "#":
            return True
        if index >= len(specific_levels):
            return False
        other = specific_levels[index]
        if other == "#":
            # Any number of levels from here, none included: the parent
            # `specific[:index]` is a topic too, unless it is the empty string
            # (at the root, or below `/#`), which no topic is. Then `+/#`
            # from here matches exactly what `#` matches.
            parent = "/".join(specific_levels[:index])
            return parent == "" and general_levels[index:] == ["+", "#"]
        if level != "+" and level != other:
            return False
    return len(specific_levels) == len(general_levels)


def filters_overlap(first: str, second: str) -> bool:
    """Whether some topic matches both filters (both valid MQTT topic filters).

    ``a/+`` and ``+/b`` overlap on ``a/b``; ``a/#`` and ``a`` on ``a`` (``#``
    also matches its parent level); ``#`` and ``$SYS/#`` do not, since a filter
    starting with a wildcard matches no topic that begins with ``$``.
    """
    first_levels = first.split("/")
    second_levels = second.split("/")
    for levels, other in ((first_levels, second_levels), (second_levels, first_levels)):
        if (
            levels[0] not in ("+", "#")
            and levels[0].startswith("$")
            and other[0] in ("+", "#")
        ):
            return False
    for index in range(max(len(first_levels), len(second_levels))):
        one = first_levels[index] if index < len(first_levels) else None
        two = second_levels[index] if index < len(second_levels) else None
        if one == "#" or two == "#":
            # `#` also matches its parent level; where the other filter ends
            # there, the common topic is that parent, which must not be the
            # empty topic (`/#` and `+` share only "", which is no topic).
            ended = one is None or two is None
            return not (
                ended and index == 1 and "" in (first_levels[0], second_levels[0])
            )
        if one is None or two is None:
            return False
        if one != "+" and two != "+" and one != two:
            return False
    return True


def uncovered_filters(filters: Iterable[str]) -> list[str]:
    """The filters no other one of them covers, in their first order, once each.

    Subscribing to these receives every message any of `filters` would, and a
    message then matches more than one subscription only where two filters
    overlap without either covering the other (``a/+`` and ``+/b`` on ``a/b``).
    """
    unique = list(dict.fromkeys(filters))
    kept = []
    for index, candidate in enumerate(unique):
        for other_index, other in enumerate(unique):
            if other_index == index or not filter_covers(other, candidate):
                continue
            if other_index > index and filter_covers(candidate, other):
                continue  # the same topics (`#`, `+/#`): the first one stays
            break
        else:
            kept.append(candidate)
    return kept
