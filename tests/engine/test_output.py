"""Tests for IoTitan's MQTT output helpers (engine/output.py).

Expected values come from the documented topic shapes, the MQTT 3.1.1/5.0 topic
rules (section 4.7, with its own examples) and the duration/number formats.
"""

from __future__ import annotations

from enum import StrEnum
import itertools
import json
import math
import re

from hypothesis import given, strategies as st
import pytest

from custom_components.iotitan.engine.alerts import (
    AlertRule,
    Severity,
    Transition,
)
from custom_components.iotitan.engine.output import (
    DEFAULT_PREFIX,
    MAX_TOPIC_BYTES,
    STATISTICS,
    DurationError,
    OutputGuard,
    OutputTopics,
    filter_covers,
    filters_overlap,
    format_duration,
    format_number,
    parse_duration,
    sanitize_topic_level,
    statistic_label,
    topic_matches,
    uncovered_filters,
    validate_output_prefix,
    validate_topic_filter,
)

SOURCE = "home/kitchen/temperature"

# -- format_number -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (21.0, "21"),
        (21.5, "21.5"),
        (-3.0, "-3"),
        (100.0, "100"),
        (0.0, "0"),
        (-0.0, "0"),
        (0.1, "0.1"),
        (0.30000000000000004, "0.30000000000000004"),
        (1 / 3, "0.3333333333333333"),
        (-1.2345, "-1.2345"),
        (5e-5, "0.00005"),
        (1e-7, "0.0000001"),
        (1.5e-7, "0.00000015"),
        (1e-8, "1e-08"),
        (-2.5e-9, "-2.5e-09"),
        (1e9 + 0.1, "1000000000.1"),
        (2.0**53, "9007199254740992"),
        (1e20, "100000000000000000000"),
        (1.5e20, "150000000000000000000"),
        (1e21, "1e+21"),
        (-1.7976931348623157e308, "-1.7976931348623157e+308"),
        (5e-324, "5e-324"),
        (7, "7"),
    ],
)
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_format_number_refuses_non_finite(value: float) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        format_number(value)


PLAIN = re.compile(r"-?(0|[1-9]\d*)(\.\d*[1-9])?")


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_number_round_trips(value: float) -> None:
    text = format_number(value)
    assert float(text) == value
    if 1e-7 <= abs(value) < 1e21 or value == 0:
        assert PLAIN.fullmatch(text), text  # no exponent, no trailing zeros
        assert len(text.lstrip("-").replace(".", "").strip("0")) <= 17
    else:
        assert "e" in text
        assert text == repr(value)


# -- durations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "label"),
    [
        (30, "30s"),
        (90, "90s"),
        (60, "1m"),
        (600, "10m"),
        (3600, "1h"),
        (5400, "90m"),
        (86400, "1d"),
        (129600, "36h"),
        (7 * 86400, "7d"),
        (86401, "86401s"),
        (0.5, "0.5s"),
        (60.5, "60.5s"),
        (1e-9, "0.000000001s"),
    ],
)
def test_format_duration(seconds: float, label: str) -> None:
    assert format_duration(seconds) == label


@pytest.mark.parametrize("seconds", [0, -1, -0.0, math.nan, math.inf])
def test_format_duration_refuses_non_positive(seconds: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        format_duration(seconds)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("10m", 600),
        ("1h", 3600),
        ("1d", 86400),
        ("1h30m", 5400),
        ("1d 12h", 129600),
        ("1.5h", 5400),
        ("2m30s", 150),
        ("1d2h3m4s", 93784),
        ("90m", 5400),
        ("0.5s", 0.5),
        (".5m", 30),
        (" 10M ", 600),
        ("1H30M", 5400),
        ("1 h 30 m", 5400),
        ("01:30:00", 5400),
        ("0:00:01", 1),
        ("25:00:00", 90000),
        ("1:02:03.5", 3723.5),
        ("00:59:59", 3599),
        ("90", 90),
        ("0.25", 0.25),
        ("+5", 5),
        ("3600.", 3600),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty duration"),
        ("   ", "empty duration"),
        ("0", "above zero"),
        ("0s", "above zero"),
        ("0h0m", "above zero"),
        ("-5", "above zero"),
        ("00:00:00", "above zero"),
        ("1:60:00", "below 60"),
        ("1:00:60", "below 60"),
        ("abc", "invalid duration"),
        ("1x", "invalid duration"),
        ("30m1h", "invalid duration"),
        ("1h1h", "invalid duration"),
        ("h", "invalid duration"),
        ("1e3", "invalid duration"),
        ("nan", "invalid duration"),
        ("inf", "invalid duration"),
        ("1::1", "invalid duration"),
        ("1:1", "invalid duration"),
        ("-1h", "invalid duration"),
        ("1h-30m", "invalid duration"),
        ("1_000", "invalid duration"),
        ("1 000", "invalid duration"),
        ("9" * 400, "above zero"),  # overflows to infinity
    ],
)
def test_parse_duration_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


@given(
    st.one_of(
        st.integers(1, 10**9).map(float),
        st.floats(min_value=1e-6, max_value=1e12, allow_nan=False),
    )
)
def test_duration_label_round_trips(seconds: float) -> None:
    label = format_duration(seconds)
    assert re.fullmatch(r"\d+(\.\d+)?[dhms]", label)
    assert parse_duration(label) == seconds


# -- statistic labels and levels -------------------------------------------------------


class _Stat(StrEnum):
    MEAN = "mean"
    PERCENTILE = "percentile"


def test_statistic_label() -> None:
    assert statistic_label("mean") == "mean"
    assert statistic_label("change_second") == "change_second"
    assert statistic_label("percentile", 95) == "p95"
    assert statistic_label("percentile", 99.5) == "p99.5"
    assert statistic_label(_Stat.PERCENTILE, 5) == "p5"
    label = statistic_label(_Stat.MEAN)
    assert label == "mean"
    assert type(label) is str


@pytest.mark.parametrize(
    ("statistic", "percentile"),
    [
        ("bogus", None),
        ("percentile", None),
        ("percentile", 0),
        ("percentile", 100),
        ("mean", 50),
    ],
)
def test_statistic_label_errors(statistic: str, percentile: float | None) -> None:
    with pytest.raises(ValueError, match=r"statistic|percentile"):
        statistic_label(statistic, percentile)


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("Kitchen too hot", "Kitchen_too_hot"),
        ("too hot!", "too_hot!"),
        ("a/b+c#d", "a_b_c_d"),
        ("nul\x00x", "nul_x"),
        ("tab\there\n", "tab_here"),
        ("a\x7fb\x9bc", "a_b_c"),
        ("Größe °C", "Größe_°C"),
        ("\ud800x", "x"),
        ("/temp/", "temp"),
        ("  ", "alert"),
        ("///", "alert"),
        ("", "alert"),
    ],
)
def test_sanitize_topic_level(name: str, level: str) -> None:
    assert sanitize_topic_level(name) == level


@given(st.text())
def test_sanitized_level_is_one_safe_level(name: str) -> None:
    level = sanitize_topic_level(name)
    assert level
    assert not set(level) & {"+", "#", "/", "\x00"}
    level.encode("utf-8")  # no lone surrogates
    assert validate_topic_filter(level) is None


@pytest.mark.parametrize(
    ("prefix", "error"),
    [
        ("iotitan", None),
        ("home/iotitan", None),
        ("x" * 1024, None),
        ("", "prefix_empty"),
        ("a/+", "prefix_invalid_character"),
        ("a#", "prefix_invalid_character"),
        ("a\x00", "prefix_invalid_character"),
        ("/a", "prefix_empty_level"),
        ("a/", "prefix_empty_level"),
        ("a//b", "prefix_empty_level"),
        ("$SYS", "prefix_reserved"),
        ("x" * 1025, "prefix_too_long"),
    ],
)
def test_validate_output_prefix(prefix: str, error: str | None) -> None:
    assert validate_output_prefix(prefix) == error


# -- topics and payloads -------------------------------------------------------------


def test_default_stats_topics() -> None:
    out = OutputTopics()
    assert out.prefix == DEFAULT_PREFIX == "iotitan"
    assert out.stats_topic(SOURCE, "mean", 3600) == (
        "iotitan/stats/home/kitchen/temperature/1h/mean"
    )
    assert out.stats_topic(SOURCE, "p95", 600, first_window=False) == (
        "iotitan/stats/home/kitchen/temperature/10m/p95"
    )
    assert OutputTopics("site/iot").stats_topic("/abs", "value_max", 90) == (
        "site/iot/stats//abs/90s/value_max"
    )


def test_stats_topics_of_a_reading() -> None:
    """A reading of several in one payload gets a level (legacy: an infix)."""
    z2m = "zigbee2mqtt/weather"
    assert OutputTopics().stats_topic(z2m, "mean", 3600, reading="humidity") == (
        "iotitan/stats/zigbee2mqtt/weather/humidity/1h/mean"
    )
    legacy = OutputTopics(legacy=True)
    assert legacy.stats_topic(
        z2m, "mean", 600, first_window=False, reading="humidity"
    ) == ("zigbee2mqtt/weather_humidity_mean_10m")
    for bad in ("Humidity", "a/b", "+", "x" * 65):
        with pytest.raises(ValueError, match="reading key"):
            OutputTopics().stats_topic(z2m, "mean", 3600, reading=bad)


def test_legacy_stats_topics() -> None:
    out = OutputTopics(legacy=True)
    assert out.stats_topic(SOURCE, "mean", 3600) == "home/kitchen/temperature_mean"
    assert out.stats_topic(SOURCE, "mean", 600, first_window=False) == (
        "home/kitchen/temperature_mean_10m"
    )
    assert out.stats_topic(SOURCE, "p95", 5400, first_window=False) == (
        "home/kitchen/temperature_p95_90m"
    )
    assert out.stats_topic(SOURCE, "standard_deviation", 86400) == (
        "home/kitchen/temperature_standard_deviation"
    )


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize(
    ("source", "statistic", "window"),
    [
        ("a/+", "mean", 60),
        ("a/#", "mean", 60),
        ("", "mean", 60),
        ("a\x00", "mean", 60),
        ("a", "bogus", 60),
        ("a", "percentile", 60),
        ("a", "mean_1h", 60),
        ("a", "mean", 0),
        ("a" * MAX_TOPIC_BYTES, "mean", 60),
    ],
)
def test_stats_topic_errors(
    legacy: bool, source: str, statistic: str, window: float
) -> None:
    with pytest.raises(ValueError):
        OutputTopics(legacy=legacy).stats_topic(source, statistic, window)


def test_stats_payload() -> None:
    assert OutputTopics.stats_payload(21.0) == "21"
    assert OutputTopics(legacy=True).stats_payload(0.1) == "0.1"


def test_default_alert_topic() -> None:
    out = OutputTopics()
    assert out.alert_topic(SOURCE, "Too hot!", AlertRule.HIGH) == (
        "iotitan/alerts/home/kitchen/temperature/Too_hot!"
    )
    assert out.alert_topic(SOURCE, "in/out #1", AlertRule.RANGE, side="low") == (
        "iotitan/alerts/home/kitchen/temperature/in_out__1"
    )


@pytest.mark.parametrize(
    ("rule", "side", "suffix"),
    [
        (AlertRule.HIGH, "high", "_alert_hi"),
        (AlertRule.HIGH, "low", "_alert_hi"),
        (AlertRule.LOW, "high", "_alert_lo"),
        (AlertRule.STALE, "high", "_alert_stale"),
        (AlertRule.RATE, "high", "_alert_rate"),
        (AlertRule.RANGE, "high", "_alert_hi"),
        (AlertRule.RANGE, "low", "_alert_lo"),
        ("rate", "high", "_alert_rate"),
    ],
)
def test_legacy_alert_topic(rule: AlertRule, side: str, suffix: str) -> None:
    out = OutputTopics(legacy=True)
    assert out.alert_topic(SOURCE, "ignored", rule, side=side) == SOURCE + suffix  # type: ignore[arg-type]


def test_alert_topic_errors() -> None:
    with pytest.raises(ValueError, match="wildcards"):
        OutputTopics().alert_topic("a/#", "x", AlertRule.HIGH)
    with pytest.raises(ValueError, match="longer"):
        OutputTopics().alert_topic("a", "x" * MAX_TOPIC_BYTES, AlertRule.HIGH)


def test_invalid_prefix_refused() -> None:
    with pytest.raises(ValueError, match="prefix_empty_level"):
        OutputTopics("iotitan/")


MAY_1_NOON = 1714564800.0  # 2024-05-01T12:00:00Z


def test_default_alert_payload() -> None:
    payload = OutputTopics().alert_payload(
        True,
        value=31.5,
        limit=30,
        rule=AlertRule.HIGH,
        severity=Severity.CRITICAL,
        since=MAY_1_NOON,
    )
    assert payload == (
        '{"state":"on","value":31.5,"limit":30.0,"rule":"high",'
        '"severity":"critical","since":"2024-05-01T12:00:00+00:00"}'
    )


def test_default_alert_payload_nulls_and_fractions() -> None:
    out = OutputTopics()
    off = out.alert_payload(
        False,
        value=None,
        limit=math.nan,
        rule=AlertRule.STALE,
        severity=Severity.INFO,
        since=None,
    )
    assert json.loads(off) == {
        "state": "off",
        "value": None,
        "limit": None,
        "rule": "stale",
        "severity": "info",
        "since": None,
    }
    fraction = out.alert_payload(
        True,
        value=math.inf,
        limit=1e-8,
        rule=AlertRule.RATE,
        severity=Severity.WARNING,
        since=MAY_1_NOON + 0.25,
    )
    assert json.loads(fraction) == {
        "state": "on",
        "value": None,
        "limit": 1e-8,
        "rule": "rate",
        "severity": "warning",
        "since": "2024-05-01T12:00:00.250000+00:00",
    }


def test_transition_payload_both_shapes() -> None:
    transition = Transition(
        False, MAY_1_NOON, 28.0, 30.0, AlertRule.HIGH, Severity.WARNING
    )
    assert json.loads(OutputTopics().transition_payload(transition)) == {
        "state": "off",
        "value": 28.0,
        "limit": 30.0,
        "rule": "high",
        "severity": "warning",
        "since": "2024-05-01T12:00:00+00:00",
    }
    legacy = OutputTopics(legacy=True)
    assert legacy.transition_payload(transition) == "off"
    assert (
        legacy.alert_payload(
            True,
            value=1,
            limit=0,
            rule=AlertRule.LOW,
            severity=Severity.INFO,
            since=0,
        )
        == "on"
    )


# -- loop guard ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "own"),
    [
        ("iotitan/stats/home/x/1h/mean", True),
        ("iotitan/alerts/home/x/too_hot", True),
        ("iotitan/stats/", True),
        ("iotitan/stats", False),
        ("iotitan/statsx/a", False),
        ("iotitan", False),
        ("other/stats/a/1h/mean", False),
        ("x/iotitan/stats/a", False),
        ("home/kitchen/temperature_mean", False),  # legacy shape, default guard
        ("home/kitchen/temperature_alert_hi", False),
        ("home/kitchen/temperature", False),
    ],
)
def test_default_guard(topic: str, own: bool) -> None:
    assert OutputGuard().is_own(topic) is own


@pytest.mark.parametrize(
    ("topic", "own"),
    [
        ("home/kitchen/temperature_mean", True),
        ("home/kitchen/temperature_value_max", True),
        ("home/kitchen/temperature_standard_deviation", True),
        ("home/kitchen/temperature_change_second", True),
        ("home/kitchen/temperature_p95", True),
        ("home/kitchen/temperature_p99.5", True),
        ("home/kitchen/temperature_mean_1h", True),
        ("home/kitchen/temperature_mean_90m", True),
        ("home/kitchen/temperature_mean_1h30m", True),
        ("home/kitchen/temperature_mean_0.5s", True),
        ("home/kitchen/temperature_last_7d", True),
        ("home/kitchen/temperature_alert_hi", True),
        ("home/kitchen/temperature_alert_lo", True),
        ("home/kitchen/temperature_alert_stale", True),
        ("home/kitchen/temperature_alert_rate", True),
        ("a/_count", True),
        ("iotitan/stats/home/x/1h/mean", True),  # a previous default-shape run
        ("iotitan/alerts/home/x/hot", True),
        ("home/kitchen/temperature", False),
        ("home/kitchen/temperaturemean", False),
        ("home/kitchen/temperature_meanx", False),
        ("home/kitchen/temperature_mean/raw", False),
        ("home/mean", False),
        ("home/kitchen/temperature_alert_high", False),
        ("home/kitchen/temperature_alert", False),
        ("home/kitchen/temperature_mean_1x", False),
        ("home/kitchen/temperature_mean_h", False),
        ("home/kitchen/temperature_p", False),
        ("home/kitchen/temperature_percentile", False),
        ("home/kitchen/temperature_average", False),
    ],
)
def test_legacy_guard(topic: str, own: bool) -> None:
    assert OutputGuard(DEFAULT_PREFIX, legacy=True).is_own(topic) is own


def test_guard_uses_its_prefix() -> None:
    guard = OutputGuard("site/iot")
    assert guard.is_own("site/iot/stats/a/1h/mean")
    assert not guard.is_own("iotitan/stats/a/1h/mean")


LEVEL = st.text(st.characters(codec="utf-8", exclude_characters="+#/\x00"), max_size=8)
SOURCES = st.lists(LEVEL, min_size=1, max_size=4).map("/".join).filter(bool)
LABELS = st.one_of(
    st.sampled_from([s for s in STATISTICS if s != "percentile"]),
    st.integers(1, 99).map(lambda n: statistic_label("percentile", n)),
)
WINDOWS = st.one_of(
    st.integers(1, 10**6).map(float), st.floats(min_value=0.001, max_value=1e7)
)


@given(
    st.booleans(),
    st.sampled_from(["iotitan", "home/iotitan", "x"]),
    SOURCES,
    LABELS,
    WINDOWS,
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(list(AlertRule)),
)
def test_guard_recognises_every_output_topic(
    legacy: bool,
    prefix: str,
    source: str,
    label: str,
    window: float,
    first: bool,
    name: str,
    rule: AlertRule,
) -> None:
    out = OutputTopics(prefix, legacy)
    guard = OutputGuard(prefix, legacy)
    assert guard.is_own(out.stats_topic(source, label, window, first_window=first))
    assert guard.is_own(out.alert_topic(source, name, rule))
    if legacy:  # a legacy guard also skips a previous default-shape run's output
        default = OutputTopics(prefix)
        assert guard.is_own(default.stats_topic(source, label, window))
        assert guard.is_own(default.alert_topic(source, name, rule))


@given(SOURCES)
def test_default_guard_ignores_other_topics(source: str) -> None:
    if not source.startswith(("iotitan/stats/", "iotitan/alerts/")):
        assert not OutputGuard().is_own(source)


# -- topic filters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic_filter", "topic", "matches"),
    [
        # MQTT 3.1.1 section 4.7.1.2 examples.
        ("sport/tennis/player1/#", "sport/tennis/player1", True),
        ("sport/tennis/player1/#", "sport/tennis/player1/ranking", True),
        ("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", True),
        ("sport/#", "sport", True),
        # Section 4.7.1.3 examples.
        ("sport/tennis/+", "sport/tennis/player1", True),
        ("sport/tennis/+", "sport/tennis/player2", True),
        ("sport/tennis/+", "sport/tennis/player1/ranking", False),
        ("sport/+", "sport", False),
        ("sport/+", "sport/", True),
        ("+/+", "/finance", True),
        ("/+", "/finance", True),
        ("+", "/finance", False),
        # Section 4.7.2: $ topics.
        ("#", "$SYS/broker/load", False),
        ("+/monitor/Clients", "$SYS/monitor/Clients", False),
        ("+", "$SYS", False),
        ("$SYS/#", "$SYS/monitor/Clients", True),
        ("$SYS/monitor/+", "$SYS/monitor/Clients", True),
        ("a/#", "a/$b", True),
        # Plain comparisons.
        ("#", "home/kitchen/temperature", True),
        ("home/kitchen/temperature", "home/kitchen/temperature", True),
        ("home/kitchen", "home/kitchen/temperature", False),
        ("home/kitchen/temperature", "home/kitchen", False),
        ("Home/#", "home/kitchen", False),
        ("a/+/c", "a//c", True),
        ("a/+/c", "a/b/c/d", False),
        ("a/+/#", "a/b", True),
        ("a/+/#", "a", False),
    ],
)
def test_topic_matches(topic_filter: str, topic: str, matches: bool) -> None:
    assert topic_matches(topic_filter, topic) is matches


def reference_matches(topic_filter: str, topic: str) -> bool:
    """MQTT matching via a regular expression built from the filter."""
    if topic_filter == "#":
        pattern = ".*"
    else:
        parts = topic_filter.split("/")
        tail = ""
        if parts[-1] == "#":
            parts, tail = parts[:-1], "(/.*)?"
        pattern = "/".join("[^/]*" if p == "+" else re.escape(p) for p in parts) + tail
    if topic.startswith("$") and topic_filter[0] in "+#":
        return False
    return re.fullmatch(pattern, topic, re.DOTALL) is not None


FILTER_LEVEL = st.sampled_from(["a", "b", "", "+", "$a"])
TOPIC_LEVEL = st.sampled_from(["a", "b", "", "$a", "ab"])


@given(
    st.lists(FILTER_LEVEL, min_size=1, max_size=4),
    st.booleans(),
    st.lists(TOPIC_LEVEL, min_size=1, max_size=5),
)
def test_topic_matches_reference(
    levels: list[str], hash_tail: bool, topic_levels: list[str]
) -> None:
    topic_filter = "/".join([*levels, "#"] if hash_tail else levels)
    if topic_filter == "":
        topic_filter = "#"  # the only filter with an empty first and last level
    topic = "/".join(topic_levels)
    assert validate_topic_filter(topic_filter) is None
    assert topic_matches(topic_filter, topic) is reference_matches(topic_filter, topic)


@pytest.mark.parametrize(
    ("general", "specific", "covers"),
    [
        ("a/#", "a/b/+", True),
        ("a/#", "a", True),  # `#` also matches the parent level
        ("a/#", "a/#", True),
        ("+/b", "a/b", True),
        ("+/+", "a/+", True),
        ("#", "home/+/temperature", True),
        ("#", "+/#", True),
        ("+/#", "#", True),  # a topic has a level: the same topics
        ("#", "$SYS/#", False),  # MQTT 4.7.2: wildcards first never match `$`
        ("#", "$SYS", False),
        ("+/#", "$SYS/broker", False),
        ("+", "$x", False),
        ("$SYS/#", "$SYS/broker/load", True),
        ("a/#", "a/$b", True),  # `$` only matters in the first level
        ("a/b/+", "a/#", False),
        ("a/+/#", "a/#", False),  # `a/#` matches `a`
        ("a/+", "+/b", False),
        ("+/b", "a/+", False),
        ("a/b", "a/+", False),
        ("a", "a/b", False),
        ("a/b", "a", False),
        ("+/+/#", "#", False),  # `#` matches one-level topics
        ("+", "+/+", False),
    ],
)
def test_filter_covers(general: str, specific: str, covers: bool) -> None:
    assert filter_covers(general, specific) is covers


COVER_LEVEL = st.sampled_from(["a", "", "+", "$a"])
# Every level any filter above can name, plus one none names ("z"), so that a
# topic witnessing "matches one filter but not the other" exists in here.
UNIVERSE_LEVELS = ("a", "", "$a", "z")
UNIVERSE = [
    "/".join(levels)
    for size in range(1, 6)
    for levels in itertools.product(UNIVERSE_LEVELS, repeat=size)
    if "/".join(levels)  # the empty topic is not a topic
]


@st.composite
def topic_filters(draw: st.DrawFn) -> str:
    levels = draw(st.lists(COVER_LEVEL, min_size=1, max_size=3))
    if draw(st.booleans()):
        levels.append("#")
    topic_filter = "/".join(levels)
    return topic_filter or "#"


@given(topic_filters(), topic_filters())
def test_filter_covers_exactly_when_every_matching_topic_matches(
    general: str, specific: str
) -> None:
    """Checked on every topic of up to five levels made of the filters' words."""
    assert validate_topic_filter(general) is None
    assert validate_topic_filter(specific) is None
    expected = all(
        reference_matches(general, topic)
        for topic in UNIVERSE
        if reference_matches(specific, topic)
    )
    assert filter_covers(general, specific) is expected


@pytest.mark.parametrize(
    ("general", "specific", "covers"),
    [
        # `/#` matches `/`, `/a`, `/a/b`...: its parent, the empty string, is
        # no topic, so `/+/#` (which needs a second level) matches all of them.
        ("/+/#", "/#", True),
        ("+/#", "#", True),
        # `a/#` matches `a` itself, which `a/+/#` does not.
        ("a/+/#", "a/#", False),
        ("//+/#", "//#", False),  # `/` is a topic: `//#` matches it
    ],
)
def test_cover_below_a_multi_level_wildcard(
    general: str, specific: str, covers: bool
) -> None:
    """Found by the property test: the empty parent of `/#` is no topic."""
    assert filter_covers(general, specific) is covers


@given(topic_filters(), topic_filters())
def test_filters_overlap_exactly_when_a_topic_matches_both(
    first: str, second: str
) -> None:
    """Checked on every topic of up to five levels made of the filters' words."""
    expected = any(
        reference_matches(first, topic) and reference_matches(second, topic)
        for topic in UNIVERSE
    )
    assert filters_overlap(first, second) is expected
    assert filters_overlap(second, first) is expected


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ("a/+", "+/b", True),
        ("a/#", "a", True),
        ("#", "$SYS/#", False),
        ("+/#", "$SYS/broker/load", False),
        ("$SYS/#", "$SYS/+/load", True),
        ("#", "homeassistant/status", True),
        ("home/+/temperature", "homeassistant/#", False),
        ("iotitan/stats/#", "iotitan/+/kitchen", True),
        ("a/b", "a/b/c", False),
    ],
)
def test_filters_overlap(first: str, second: str, overlap: bool) -> None:
    assert filters_overlap(first, second) is overlap


@given(st.lists(topic_filters(), min_size=1, max_size=5))
def test_uncovered_filters_receive_the_same_topics_once(filters: list[str]) -> None:
    kept = uncovered_filters(filters)
    assert len(set(kept)) == len(kept)
    assert set(kept) <= set(filters)
    for topic in UNIVERSE:
        assert any(reference_matches(f, topic) for f in filters) == any(
            reference_matches(f, topic) for f in kept
        )
    # No kept filter covers another kept one.
    for general in kept:
        for specific in kept:
            assert general == specific or not filter_covers(general, specific)


def test_uncovered_filters_default_configuration() -> None:
    """The default log filter `#` covers every source filter but `$` ones."""
    assert uncovered_filters(["home/+/temperature", "a/b", "#"]) == ["#"]
    assert uncovered_filters(["$SYS/broker/#", "#", "a/#"]) == ["$SYS/broker/#", "#"]
    assert uncovered_filters(["a/+", "+/b"]) == ["a/+", "+/b"]
    assert uncovered_filters(["+/#", "#", "a"]) == ["+/#"]
    assert uncovered_filters(["a", "a"]) == ["a"]


@pytest.mark.parametrize(
    ("topic_filter", "error"),
    [
        ("#", None),
        ("+", None),
        ("a/#", None),
        ("+/+/#", None),
        ("home/kitchen/temperature", None),
        ("/", None),
        ("a//b", None),
        ("$SYS/#", None),
        ("é" * 32767 + "a", None),  # exactly 65535 bytes
        ("", "topic_empty"),
        ("a\x00b", "topic_nul"),
        ("a/\ud800", "topic_invalid_utf8"),
        ("a" * 65536, "topic_too_long"),
        ("é" * 32768, "topic_too_long"),  # 32768 characters, 65536 bytes
        ("a#", "topic_invalid_hash"),
        ("#/a", "topic_invalid_hash"),
        ("a/#/b", "topic_invalid_hash"),
        ("a/b#", "topic_invalid_hash"),
        ("##", "topic_invalid_hash"),
        ("a+", "topic_invalid_plus"),
        ("+a/b", "topic_invalid_plus"),
        ("a/++", "topic_invalid_plus"),
        ("a/b+/c", "topic_invalid_plus"),
    ],
)
def test_validate_topic_filter(topic_filter: str, error: str | None) -> None:
    assert validate_topic_filter(topic_filter) == error


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0", DurationError.NOT_POSITIVE),
        ("0s", DurationError.NOT_POSITIVE),
        ("00:00:00", DurationError.NOT_POSITIVE),
        ("-5m", DurationError.NOT_POSITIVE),
        ("- 5m", DurationError.NOT_POSITIVE),
        ("-01:00:00", DurationError.NOT_POSITIVE),
        ("-90", DurationError.NOT_POSITIVE),
        ("banana", DurationError.MALFORMED),
        ("--5m", DurationError.MALFORMED),
        ("-+5", DurationError.MALFORMED),
        ("", DurationError.MALFORMED),
        ("9" * 400, DurationError.MALFORMED),
    ],
)
def test_parse_duration_says_why(text: str, reason: str) -> None:
    """Forms tell "must be above zero" apart from "not a duration"."""
    with pytest.raises(DurationError) as raised:
        parse_duration(text)
    assert raised.value.reason == reason


def test_a_plus_sign_is_still_read() -> None:
    assert parse_duration("+90") == 90.0
    assert parse_duration("+1h") == 3600.0


@pytest.mark.parametrize(
    ("outer", "inner", "covers"),
    [
        ("e2e/#", "e2e/lab/temperature", True),
        ("#", "room/t", True),
        ("#", "$SYS/x", False),
        ("+/t", "$SYS/t", False),
        ("$SYS/#", "$SYS/x", True),
        ("a/#", "a", True),
        ("a/#", "a/#", True),
        ("a/+", "a/b", True),
        ("a/+", "a/+", True),
        ("a/+", "a/#", False),
        ("a/+", "a/b/c", False),
        ("a/b", "a/+", False),
        ("room/t", "room/t", True),
        ("room/t", "room/u", False),
        ("+/+/#", "a/+", True),
        ("+/+/#", "a", False),
        ("+/#", "#", True),
        ("a/+/#", "a/#", False),
    ],
)
def test_filter_covers_the_hubs_subscriptions(
    outer: str, inner: str, covers: bool
) -> None:
    """The cases the hub meets: a log filter over source filters, $ topics."""
    assert filter_covers(outer, inner) is covers
