"""One statistic of one window, written as each stored or shown form spells it.

Every string checked here is today's, written out by hand from the stored and shown
forms (unique ids `<window:g>/<statistic or pN>` in tests/test_sensor.py and the
stored registries, alert `watch` values `<format_number(window)>/<statistic>`,
ThingSpeak statistic choices `<repr(window)>|<statistic>`, output topics
`.../<format_duration(window)>/<statistic or pN>` in the README, diagnostics
window keys `str(window)`), not from the code under test: a unique id or a
stored value that changes by one character breaks users' installs.
"""

from __future__ import annotations

import statistics

from hypothesis import given, strategies as st
import pytest

from custom_components.iotitan.engine.window import SlidingWindow, Statistic
from custom_components.iotitan.engine.window_statistic import (
    WindowStatistic,
    window_diagnostics_key,
)

S = Statistic

# window, statistic, percentile, unique-id key, alert watch, channel choice,
# output topic tail, diagnostics key.
PINNED: list[tuple[float, Statistic, int, str, str, str, str, str]] = [
    (3600.0, S.MEAN, 95, "3600/mean", "3600/mean", "3600.0|mean", "1h/mean", "3600.0"),
    (
        3600.0,
        S.PERCENTILE,
        95,
        "3600/p95",
        "3600/percentile",
        "3600.0|percentile",
        "1h/p95",
        "3600.0",
    ),
    (60.0, S.MEAN, 50, "60/mean", "60/mean", "60.0|mean", "1m/mean", "60.0"),
    (
        600.0,
        S.VALUE_MAX,
        95,
        "600/value_max",
        "600/value_max",
        "600.0|value_max",
        "10m/value_max",
        "600.0",
    ),
    (
        5400.5,
        S.MEDIAN,
        95,
        "5400.5/median",
        "5400.5/median",
        "5400.5|median",
        "5400.5s/median",
        "5400.5",
    ),
    (
        0.5,
        S.PERCENTILE,
        5,
        "0.5/p5",
        "0.5/percentile",
        "0.5|percentile",
        "0.5s/p5",
        "0.5",
    ),
    (
        7200.0,
        S.PERCENTILE,
        1,
        "7200/p1",
        "7200/percentile",
        "7200.0|percentile",
        "2h/p1",
        "7200.0",
    ),
    (
        86400.0,
        S.CHANGE_SECOND,
        95,
        "86400/change_second",
        "86400/change_second",
        "86400.0|change_second",
        "1d/change_second",
        "86400.0",
    ),
    (5400.0, S.SUM, 95, "5400/sum", "5400/sum", "5400.0|sum", "90m/sum", "5400.0"),
    (90.0, S.COUNT, 95, "90/count", "90/count", "90.0|count", "90s/count", "90.0"),
    (1.0, S.CHANGE, 95, "1/change", "1/change", "1.0|change", "1s/change", "1.0"),
    (
        1.5,
        S.STANDARD_DEVIATION,
        95,
        "1.5/standard_deviation",
        "1.5/standard_deviation",
        "1.5|standard_deviation",
        "1.5s/standard_deviation",
        "1.5",
    ),
    (
        45.25,
        S.VARIANCE,
        95,
        "45.25/variance",
        "45.25/variance",
        "45.25|variance",
        "45.25s/variance",
        "45.25",
    ),
    (
        120.0,
        S.AVERAGE_STEP,
        95,
        "120/average_step",
        "120/average_step",
        "120.0|average_step",
        "2m/average_step",
        "120.0",
    ),
    (
        999999.0,
        S.VALUE_MIN,
        95,
        "999999/value_min",
        "999999/value_min",
        "999999.0|value_min",
        "999999s/value_min",
        "999999.0",
    ),
    # Unique ids format the window with `:g` (six significant digits, an
    # exponent from 1e6 s, about 11.6 days, on): odd, but stored in registries.
    (
        2592000.0,
        S.AVERAGE_LINEAR,
        95,
        "2.592e+06/average_linear",
        "2592000/average_linear",
        "2592000.0|average_linear",
        "30d/average_linear",
        "2592000.0",
    ),
    (
        31622400.0,
        S.PERCENTILE,
        99,
        "3.16224e+07/p99",
        "31622400/percentile",
        "31622400.0|percentile",
        "366d/p99",
        "31622400.0",
    ),
    (
        1000000.0,
        S.LAST,
        95,
        "1e+06/last",
        "1000000/last",
        "1000000.0|last",
        "1000000s/last",
        "1000000.0",
    ),
    (
        1234567.0,
        S.LAST,
        95,
        "1.23457e+06/last",
        "1234567/last",
        "1234567.0|last",
        "1234567s/last",
        "1234567.0",
    ),
    (
        1 / 3,
        S.MEAN,
        95,
        "0.333333/mean",
        "0.3333333333333333/mean",
        "0.3333333333333333|mean",
        "0.3333333333333333s/mean",
        "0.3333333333333333",
    ),
]


@pytest.mark.parametrize(
    (
        "window",
        "statistic",
        "percentile",
        "unique_id_key",
        "watch",
        "channel_choice",
        "topic_tail",
        "diagnostics_key",
    ),
    PINNED,
)
def test_todays_strings(
    window: float,
    statistic: Statistic,
    percentile: int,
    unique_id_key: str,
    watch: str,
    channel_choice: str,
    topic_tail: str,
    diagnostics_key: str,
) -> None:
    """Every form of a window statistic is exactly what is stored and shown today."""
    of_source = WindowStatistic.of_source(window, statistic, percentile)
    assert of_source.unique_id_key == unique_id_key
    assert of_source.watch_value == watch
    assert of_source.channel_choice == channel_choice
    assert of_source.topic_tail == topic_tail
    assert of_source.window_diagnostics_key == diagnostics_key
    assert window_diagnostics_key(window) == diagnostics_key
    for text in (
        of_source.unique_id_key,
        of_source.watch_value,
        of_source.channel_choice,
        of_source.topic_tail,
    ):
        assert type(text) is str  # not a StrEnum leaking through


@pytest.mark.parametrize(
    ("window", "statistic", "percentile", "watch", "channel_choice"),
    [(row[0], row[1], row[2], row[4], row[5]) for row in PINNED],
)
def test_stored_forms_read_back(
    window: float,
    statistic: Statistic,
    percentile: int,
    watch: str,
    channel_choice: str,
) -> None:
    """The forms stored without the percentile read back as the same statistic.

    Watch values and channel choices leave the percentile to the source's
    setting; once it is supplied the statistic equals the source's own.
    """
    of_source = WindowStatistic.of_source(window, statistic, percentile)
    for parsed in (
        WindowStatistic.from_watch_value(watch),
        WindowStatistic.from_channel_choice(channel_choice),
    ):
        assert parsed.window == window
        assert parsed.statistic is statistic
        assert parsed.with_source_percentile(percentile) == of_source
        assert parsed.watch_value == watch
        assert parsed.channel_choice == channel_choice


def test_percentile_belongs_to_the_percentile_statistic_only() -> None:
    """Other statistics carry no percentile, so equal statistics compare equal."""
    assert WindowStatistic.of_source(60.0, S.MEAN, 95) == WindowStatistic(60.0, S.MEAN)
    assert WindowStatistic.of_source(60.0, S.MEAN, 5).percentile is None
    assert WindowStatistic.of_source(60.0, S.PERCENTILE, 5).percentile == 5
    with pytest.raises(ValueError, match="takes no percentile"):
        WindowStatistic(60.0, S.MEAN, 95)


def test_a_percentile_not_yet_known_names_no_sensor_or_topic() -> None:
    """`3600/percentile` leaves N to the source: no `pN` form without it."""
    parsed = WindowStatistic.from_watch_value("3600/percentile")
    assert parsed == WindowStatistic(3600.0, S.PERCENTILE)
    with pytest.raises(ValueError, match="percentile"):
        _ = parsed.unique_id_key
    with pytest.raises(ValueError, match="percentile"):
        _ = parsed.topic_tail


@pytest.mark.parametrize(
    ("window", "statistic", "percentile"),
    [
        (0.0, S.MEAN, None),
        (-60.0, S.MEAN, None),
        (float("inf"), S.MEAN, None),
        (float("nan"), S.MEAN, None),
        (60.0, S.PERCENTILE, 0),
        (60.0, S.PERCENTILE, 100),
    ],
)
def test_refused(window: float, statistic: Statistic, percentile: int | None) -> None:
    """No window of zero, negative or unbounded length; percentiles 1 to 99."""
    with pytest.raises(ValueError):
        WindowStatistic(window, statistic, percentile)


@pytest.mark.parametrize(
    "text",
    ["value", "", "3600", "3600/", "/mean", "abc/mean", "3600/bogus", "3600|mean"],
)
def test_watch_values_that_are_no_window_statistic(text: str) -> None:
    """`value` (the raw reading) and anything malformed are refused."""
    with pytest.raises(ValueError):
        WindowStatistic.from_watch_value(text)


@pytest.mark.parametrize(
    "text", ["", "3600.0", "3600.0|", "|mean", "x|mean", "3600.0|bogus", "3600/mean"]
)
def test_channel_choices_that_are_no_window_statistic(text: str) -> None:
    """A choice that names no window statistic is refused."""
    with pytest.raises(ValueError):
        WindowStatistic.from_channel_choice(text)


@given(
    window=st.floats(min_value=1e-3, max_value=366 * 86400.0),
    statistic=st.sampled_from(list(Statistic)),
)
def test_read_back_any_window(window: float, statistic: Statistic) -> None:
    """Any window reads back exactly from both forms that are read back."""
    value = WindowStatistic(window, statistic)
    assert WindowStatistic.from_watch_value(value.watch_value) == value
    assert WindowStatistic.from_channel_choice(value.channel_choice) == value


def test_value_in_a_window() -> None:
    """The statistic over a window's samples, at the source's percentile."""
    window = SlidingWindow(60.0)
    for second, value in enumerate([1.0, 2.0, 3.0, 4.0, 10.0]):
        window.add(float(second), value)
    assert WindowStatistic(60.0, S.MEAN).value_in(window) == 4.0
    cuts = statistics.quantiles([1.0, 2.0, 3.0, 4.0, 10.0], n=100, method="exclusive")
    for percentile in (10, 50, 90):
        at = WindowStatistic(60.0, S.PERCENTILE, percentile).value_in(window)
        assert at == pytest.approx(cuts[percentile - 1], abs=1e-12)
    with pytest.raises(ValueError, match="percentile"):
        WindowStatistic(60.0, S.PERCENTILE).value_in(window)
