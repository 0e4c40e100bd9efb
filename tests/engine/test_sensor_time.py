"""A reading's time from the payload, and the rule that admits it to a window.

Expected instants are computed with `calendar.timegm` from the UTC wall time
the fixture's document implies, independently of `datetime.fromisoformat`.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone
import json
import math
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, strategies as st
import pytest

from custom_components.iotitan.engine.readings import MultiPathParser, value_paths
from custom_components.iotitan.engine.sensor_time import (
    EPOCH_LIMIT,
    EPOCH_MILLISECONDS_FROM,
    SHELLY_NOTIFY_TS,
    TASMOTA_TIME,
    ZIGBEE2MQTT_LAST_SEEN,
    TimeRejection,
    TimeVerdict,
    judge_reading_time,
    parse_time_value,
    read_payload_time,
)

from . import device_payloads as fixtures

BERLIN = ZoneInfo("Europe/Berlin")  # +02:00 in May (CEST)
ADELAIDE = ZoneInfo("Australia/Adelaide")  # +09:30 in May (ACST)
# 2024-05-01T10:34:56Z: Tasmota's "2024-05-01T12:34:56" read in Berlin.
UTC_10_34_56 = calendar.timegm((2024, 5, 1, 10, 34, 56))


def _document(payload: bytes) -> Any:
    """The JSON document, as the readings' one parse returns it."""
    readings, document = MultiPathParser(value_paths(["x"])).parse_with_document(
        payload
    )
    assert readings  # the parse happened
    return document


def test_tasmota_local_time_in_the_given_zone() -> None:
    """Tasmota's default "Time" has no zone: it is local time where the device is."""
    document = _document(fixtures.TASMOTA_AM2301)
    assert read_payload_time(document, TASMOTA_TIME, local_tz=BERLIN) == UTC_10_34_56
    # 12:34:56 in Adelaide (+09:30) is 03:04:56 UTC.
    assert read_payload_time(
        document, TASMOTA_TIME, local_tz=ADELAIDE
    ) == calendar.timegm((2024, 5, 1, 3, 4, 56))


def test_tasmota_time_with_offset_or_epoch_ignores_the_zone() -> None:
    """SetOption52's offset and `Time 2`'s epoch seconds say the instant themselves."""
    for payload in (fixtures.TASMOTA_AM2301_WITH_OFFSET, fixtures.TASMOTA_AM2301_EPOCH):
        for zone in (BERLIN, ADELAIDE, UTC):
            assert (
                read_payload_time(_document(payload), TASMOTA_TIME, local_tz=zone)
                == UTC_10_34_56
            )


@pytest.mark.parametrize(
    "payload",
    [
        fixtures.Z2M_WEATHER_LAST_SEEN_ISO,
        fixtures.Z2M_WEATHER_LAST_SEEN_LOCAL,
        fixtures.Z2M_WEATHER_LAST_SEEN_EPOCH,
    ],
    ids=["ISO_8601", "ISO_8601_local", "epoch"],
)
def test_zigbee2mqtt_last_seen_in_every_format(payload: bytes) -> None:
    """All three `advanced.last_seen` formats name 2024-05-01T10:34:56.789Z."""
    seen = read_payload_time(
        _document(payload), ZIGBEE2MQTT_LAST_SEEN, local_tz=ADELAIDE
    )
    assert seen == pytest.approx(UTC_10_34_56 + 0.789, abs=1e-6)


def test_shelly_notify_status_ts() -> None:
    """NotifyStatus carries epoch seconds with a fraction under params.ts."""
    seen = read_payload_time(
        _document(fixtures.SHELLY_NOTIFY_STATUS), SHELLY_NOTIFY_TS, local_tz=UTC
    )
    assert seen == 1714559696.42


def test_a_user_path_and_missing_fields() -> None:
    """Any path can hold the time; without it the reason is `missing`."""
    document = {"data": {"when": "2024-05-01 10:34:56"}, "t": None}
    assert read_payload_time(document, ("data", "when"), local_tz=UTC) == UTC_10_34_56
    assert read_payload_time(document, ("t",), local_tz=UTC) is TimeRejection.MISSING
    assert read_payload_time(document, ("x",), local_tz=UTC) is TimeRejection.MISSING
    assert read_payload_time(None, ("Time",), local_tz=UTC) is TimeRejection.MISSING
    assert read_payload_time([1], ("Time",), local_tz=UTC) is TimeRejection.MISSING
    with pytest.raises(ValueError, match="at least one segment"):
        read_payload_time(document, (), local_tz=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:34:56.123", UTC_10_34_56 + 0.123),  # Tasmota `Time 4`
        ("2024-05-01T10:34:56Z", UTC_10_34_56),
        ("2024-05-01T11:34:56+01:00", UTC_10_34_56),
        (" 2024-05-01T10:34:56+00:00 ", UTC_10_34_56),
        ("2024-05-01T10:34:56Z".ljust(64), UTC_10_34_56),  # the longest read
        ("1970-01-01T00:00:00Z", 0.0),  # the epoch itself is in range
        ("1970-01-01T00:00:00.5Z", 0.5),
        ("1714559696", UTC_10_34_56),  # a number in a string
        ("1714559696789", UTC_10_34_56 + 0.789),
    ],
)
def test_strings(text: str, expected: float) -> None:
    """ISO 8601 in the forms devices write, and numbers in strings."""
    assert parse_time_value(text, local_tz=BERLIN) == pytest.approx(expected, abs=1e-6)


def test_daylight_saving_changes() -> None:
    """An ambiguous local time is the first of the two; a skipped one uses the old offset."""
    # 2024-10-27 02:30 happens twice in Berlin: first at +02:00 (00:30 UTC).
    assert parse_time_value("2024-10-27T02:30:00", local_tz=BERLIN) == calendar.timegm(
        (2024, 10, 27, 0, 30, 0)
    )
    # 2024-03-31 02:30 does not exist in Berlin; read with +01:00 (01:30 UTC).
    assert parse_time_value("2024-03-31T02:30:00", local_tz=BERLIN) == calendar.timegm(
        (2024, 3, 31, 1, 30, 0)
    )


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (0, 0.0),
        (1714559696, 1714559696.0),
        (1714559696.42, 1714559696.42),
        (99_999_999_999, 99_999_999_999.0),  # the last seconds value
        (100_000_000_000, 100_000_000.0),  # the first milliseconds value
        (1714559696789, 1714559696.789),
        (99_999_999_999_999, 99_999_999_999.999),  # the last milliseconds value
    ],
)
def test_epoch_numbers_by_magnitude(number: float, expected: float) -> None:
    """Seconds below 1e11, milliseconds from 1e11 to below 1e14."""
    assert EPOCH_MILLISECONDS_FROM == 1e11 and EPOCH_LIMIT == 1e14
    assert parse_time_value(number, local_tz=UTC) == pytest.approx(expected)
    assert parse_time_value(str(number), local_tz=UTC) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, TimeRejection.MISSING),
        (True, TimeRejection.UNPARSEABLE),
        (False, TimeRejection.UNPARSEABLE),
        ({"Time": 1}, TimeRejection.UNPARSEABLE),
        ([1714559696], TimeRejection.UNPARSEABLE),
        ("", TimeRejection.UNPARSEABLE),
        ("   ", TimeRejection.UNPARSEABLE),
        ("yesterday", TimeRejection.UNPARSEABLE),
        ("2024-13-01T00:00:00", TimeRejection.UNPARSEABLE),
        ("2024-05-01T24:00:00", TimeRejection.UNPARSEABLE),
        ("2024-05-01T12:00:00+25:00", TimeRejection.UNPARSEABLE),
        ("0T00:00:13", TimeRejection.UNPARSEABLE),  # Tasmota's "Uptime"
        ("2024-05-01T10:34:56Z".ljust(65), TimeRejection.UNPARSEABLE),
        ("9" * 100, TimeRejection.UNPARSEABLE),  # too long to be a time
        (math.nan, TimeRejection.NOT_FINITE),
        (math.inf, TimeRejection.NOT_FINITE),
        ("NaN", TimeRejection.NOT_FINITE),
        ("-Infinity", TimeRejection.NOT_FINITE),
        ("1e999", TimeRejection.NOT_FINITE),
        (10**400, TimeRejection.NOT_FINITE),
        (-1, TimeRejection.OUT_OF_RANGE),
        ("-5", TimeRejection.OUT_OF_RANGE),
        (100_000_000_000_000, TimeRejection.OUT_OF_RANGE),
        (1e300, TimeRejection.OUT_OF_RANGE),
        ("1969-12-31T23:59:59Z", TimeRejection.OUT_OF_RANGE),
        ("1970-01-01T00:00:12", TimeRejection.OUT_OF_RANGE),  # unset clock, east of UTC
    ],
)
def test_rejections(value: Any, reason: TimeRejection) -> None:
    """Everything that is not a time of this era says why."""
    assert parse_time_value(value, local_tz=BERLIN) is reason


def test_zone_edge_years_do_not_raise() -> None:
    """Year 1 and year 9999 with extreme offsets are answered, not raised."""
    assert (
        parse_time_value("0001-01-01T00:00:00+14:00", local_tz=UTC)
        is TimeRejection.OUT_OF_RANGE
    )
    assert (
        parse_time_value("0001-01-01T00:00:00", local_tz=ADELAIDE)
        is TimeRejection.OUT_OF_RANGE
    )
    late = parse_time_value("9999-12-31T23:59:59-14:00", local_tz=UTC)
    assert isinstance(late, float) and late > 2.5e11


_JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**500), max_value=10**500),
        st.floats(),
        st.text(max_size=80),
        st.datetimes(timezones=st.one_of(st.none(), st.timezones())).map(
            lambda moment: moment.isoformat()
        ),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=3), children)
    ),
    max_leaves=6,
)


@given(value=_JSON_VALUES, zone=st.sampled_from([UTC, BERLIN, ADELAIDE]))
def test_any_value_gives_a_time_or_a_reason(value: Any, zone: ZoneInfo) -> None:
    """Untrusted values never raise; a time is finite and not before 1970."""
    result = parse_time_value(value, local_tz=zone)
    if not isinstance(result, TimeRejection):
        assert isinstance(result, float)
        assert math.isfinite(result) and 0 <= result < EPOCH_LIMIT


@given(
    moment=st.datetimes(
        min_value=datetime(1971, 1, 1),
        max_value=datetime(9998, 12, 31),
        timezones=st.sampled_from(
            [
                UTC,
                timezone(timedelta(hours=-7)),
                timezone(timedelta(hours=5, minutes=45)),
            ]
        ),
    )
)
def test_iso_round_trip(moment: datetime) -> None:
    """Any aware datetime written in ISO 8601 is read back to the microsecond."""
    expected = calendar.timegm(moment.utctimetuple()) + moment.microsecond / 1e6
    for text in (moment.isoformat(), moment.isoformat(sep=" ")):
        assert parse_time_value(text, local_tz=BERLIN) == pytest.approx(
            expected, abs=1e-6
        )


@given(
    seconds=st.integers(min_value=0, max_value=99_999_999_999),
    fraction=st.integers(min_value=0, max_value=999),
)
def test_epoch_round_trip(seconds: int, fraction: int) -> None:
    """Epoch seconds and the same instant in milliseconds agree (from 1973 on)."""
    assert parse_time_value(seconds, local_tz=UTC) == seconds
    milliseconds = seconds * 1000 + fraction
    if milliseconds >= 1e11:
        assert parse_time_value(milliseconds, local_tz=UTC) == pytest.approx(
            seconds + fraction / 1000, abs=1e-6
        )
    assert parse_time_value(json.loads(json.dumps(seconds)), local_tz=UTC) == seconds


NOW = 1_714_559_696.0


@pytest.mark.parametrize(
    ("reading_time", "verdict"),
    [
        (NOW, TimeVerdict.ACCEPT),
        (NOW + 5.0, TimeVerdict.ACCEPT),  # exactly the tolerance
        (NOW + 5.001, TimeVerdict.TOO_FAR_IN_FUTURE),
        (NOW - 3600.0, TimeVerdict.ACCEPT),  # exactly the window's age
        (NOW - 3600.001, TimeVerdict.OLDER_THAN_WINDOW),
        (NOW - 1800.0, TimeVerdict.ACCEPT),  # late, inside the window
        (0.0, TimeVerdict.OLDER_THAN_WINDOW),
    ],
)
def test_acceptance_rule(reading_time: float, verdict: TimeVerdict) -> None:
    """A window of an hour with 5 s of tolerance into the future."""
    assert (
        judge_reading_time(reading_time, NOW, future_tolerance=5.0, window_age=3600.0)
        is verdict
    )


def test_acceptance_rule_with_no_tolerance() -> None:
    """Zero tolerance and a zero-length window accept only `now` itself."""
    assert judge_reading_time(NOW, NOW, future_tolerance=0, window_age=0) is (
        TimeVerdict.ACCEPT
    )
    assert judge_reading_time(NOW + 1e-3, NOW, future_tolerance=0, window_age=0) is (
        TimeVerdict.TOO_FAR_IN_FUTURE
    )
    assert judge_reading_time(NOW - 1e-3, NOW, future_tolerance=0, window_age=0) is (
        TimeVerdict.OLDER_THAN_WINDOW
    )


@pytest.mark.parametrize(
    "arguments",
    [
        (math.nan, NOW, 5.0, 60.0),
        (NOW, math.inf, 5.0, 60.0),
        (NOW, NOW, -1.0, 60.0),
        (NOW, NOW, 5.0, -1.0),
        (NOW, NOW, math.nan, 60.0),
        (NOW, NOW, 5.0, math.inf),
    ],
)
def test_acceptance_rule_refuses_bad_arguments(
    arguments: tuple[float, float, float, float],
) -> None:
    """Non-finite times and negative tolerances are programming errors."""
    reading_time, now, tolerance, age = arguments
    with pytest.raises(ValueError, match="must"):
        judge_reading_time(
            reading_time, now, future_tolerance=tolerance, window_age=age
        )


def test_window_expiry_agrees_with_the_rule() -> None:
    """The rule's edge is the window's own: a sample exactly max_age old stays."""
    from custom_components.iotitan.engine.window import SlidingWindow

    window = SlidingWindow(max_age=3600.0)
    window.add(NOW - 3600.5, 2.0)
    window.add(NOW - 3600.0, 1.0)
    assert window.expire(NOW) == 1  # the older one went, the other stayed
    assert len(window) == 1
    assert (
        judge_reading_time(NOW - 3600.0, NOW, future_tolerance=0, window_age=3600.0)
        is TimeVerdict.ACCEPT
    )
    assert (
        judge_reading_time(NOW - 3600.5, NOW, future_tolerance=0, window_age=3600.0)
        is TimeVerdict.OLDER_THAN_WINDOW
    )
