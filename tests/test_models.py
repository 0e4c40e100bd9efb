"""Each subentry's stored shape is declared once, in its model.

The model reads what the flow stores, writes it back unchanged, shows it in the
form, and reads the form back to the same settings.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from custom_components.iotitan.engine.alerts import AlertConfig, AlertRule, Severity
from custom_components.iotitan.engine.thingspeak import Plan
from custom_components.iotitan.engine.window import Statistic
from custom_components.iotitan.engine.window_statistic import WindowStatistic
from custom_components.iotitan.models import (
    AlertSubentryConfig,
    ChannelSubentryConfig,
    FieldSource,
    SensorSourceConfig,
)

# Sensor subentry data of today's shape (entry 1.6), as the flow stores it: the
# same dict test_config_flow expects from the form, written out by hand.
STORED: dict[str, Any] = {
    "topic": "home/+/temperature",
    "readings": [
        {
            "key": "",
            "value_path": "DS18B20.Temperature",
            "name": "",
            "unit_of_measurement": "°C",
            "device_class": "temperature",
            "precision": None,
            "windows": None,
            "statistics": None,
            "diagnostic": False,
        }
    ],
    "time_path": "",
    "words_as_numbers": False,
    "windows": [600.0, 3600.0],
    "statistics": ["mean", "value_max", "percentile"],
    "advanced": {
        "percentile": 90,
        "precision": 1,
        "max_samples": None,
        "max_topics": 50,
    },
    "device": {"name_template": "{2} thermometer", "area_level": 2},
}
# The same source as entry 1.5 stored it: one value path, unit and device class.
STORED_1_5: dict[str, Any] = {
    "topic": "home/+/temperature",
    "value_path": "DS18B20.Temperature",
    "unit_of_measurement": "°C",
    "device_class": "temperature",
    "words_as_numbers": False,
    "windows": [600.0, 3600.0],
    "statistics": ["mean", "value_max", "percentile"],
    "advanced": {
        "percentile": 90,
        "precision": 1,
        "max_samples": None,
        "max_topics": 50,
    },
    "device": {"name_template": "{2} thermometer", "area_level": 2},
}


def test_data_of_1_5_reads_as_one_reading_of_key_empty() -> None:
    assert SensorSourceConfig.from_subentry_data(
        STORED_1_5
    ) == SensorSourceConfig.from_subentry_data(STORED)


def test_stored_data_round_trips_unchanged() -> None:
    config = SensorSourceConfig.from_subentry_data(STORED)
    assert config.windows == (600.0, 3600.0)
    assert config.statistics == (
        Statistic.MEAN,
        Statistic.VALUE_MAX,
        Statistic.PERCENTILE,
    )
    assert (config.name_template, config.area_level) == ("{2} thermometer", 2)
    assert config.to_subentry_data() == STORED
    # Byte for byte: the same keys in the same order, ints stay ints.
    assert json.dumps(config.to_subentry_data()) == json.dumps(STORED)


def test_the_form_shows_what_is_stored_and_reads_it_back() -> None:
    config = SensorSourceConfig.from_subentry_data(STORED)
    form = config.form_values()
    assert form["windows"] == ["10m", "1h"]
    assert form["device"] == {"name_template": "{2} thermometer", "area_level": 2}
    assert "max_samples" not in form["advanced"]  # unset: the box stays empty
    again, errors = SensorSourceConfig.from_form(form, topic_valid=True)
    assert errors == {}
    # The form lists statistics in display order, whatever order was stored.
    assert again.statistics == (
        Statistic.MEAN,
        Statistic.VALUE_MAX,
        Statistic.PERCENTILE,
    )
    assert again == config


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"windows": ["banana"]}, "windows", "invalid_window"),
        ({"windows": ["0s"]}, "windows", "window_not_positive"),
        ({"windows": ["400d"]}, "windows", "window_too_long"),
        ({"windows": []}, "windows", "windows_required"),
        ({"statistics": []}, "statistics", "statistics_required"),
        ({"value_path": "a..b"}, "value_path", "invalid_value_path"),
        (
            {"unit_of_measurement": "kg"},
            "unit_of_measurement",
            "unit_invalid_for_device_class",
        ),
        (
            {"device": {"name_template": "{9}"}},
            "name_template",
            "name_template_beyond_filter",
        ),
        ({"device": {"area_level": 4}}, "area_level", "area_level_beyond_filter"),
    ],
)
def test_form_checks_that_need_no_hub(
    change: dict[str, Any], field: str, error: str
) -> None:
    form = {**SensorSourceConfig.from_subentry_data(STORED).form_values(), **change}
    _, errors = SensorSourceConfig.from_form(form, topic_valid=True)
    assert errors == {field: error}


def test_device_checks_wait_for_a_valid_topic() -> None:
    form = {
        **SensorSourceConfig.from_subentry_data(STORED).form_values(),
        "device": {"name_template": "{9}"},
    }
    assert SensorSourceConfig.from_form(form, topic_valid=False)[1] == {}


def test_a_new_source_form_shows_the_defaults() -> None:
    """What the sensor flow's SENSOR_DEFAULTS held before the model had them."""
    assert SensorSourceConfig.form_defaults() == {
        "device": {},
        "windows": ["1h"],
        "statistics": ["mean", "value_min", "value_max"],
        "advanced": {"percentile": 95, "precision": 2, "max_topics": 500},
    }


# -- alerts --------------------------------------------------------------------------

# Alert subentry data of today's shape, as the alert flow stores it (every key,
# in the flow's order; numbers are floats, limits the rule does not use None),
# written out by hand from test_alerts_ha's flow tests.
ALERT_HIGH: dict[str, Any] = {
    "name": "",
    "source": "source0temperature",
    "reading": "humidity",
    "watch": "value",
    "rule": "high",
    "high": 30.0,
    "low": None,
    "deadband": 0.5,
    "stale_after": None,
    "rate_limit": None,
    "on_delay": 0.0,
    "off_delay": 0.0,
    "severity": "warning",
}
ALERT_RANGE: dict[str, Any] = {
    **ALERT_HIGH,
    "name": "Comfort",
    "watch": "3600/mean",
    "rule": "range",
    "high": 20.0,
    "low": 10.0,
    "severity": "critical",
}
ALERT_STALE: dict[str, Any] = {
    **ALERT_HIGH,
    "name": "Quiet",
    "watch": "60/mean",
    "rule": "stale",
    "high": None,
    "deadband": 0.0,
    "stale_after": 5400.0,
    "on_delay": 30.0,
}
ALERT_RATE: dict[str, Any] = {
    **ALERT_HIGH,
    "watch": "0.5/percentile",
    "rule": "rate",
    "high": None,
    "rate_limit": 2.5,
    "off_delay": 90.0,
}
ALERT_SHAPES = [ALERT_HIGH, ALERT_RANGE, ALERT_STALE, ALERT_RATE]


@pytest.mark.parametrize("stored", ALERT_SHAPES, ids=lambda data: data["rule"])
def test_alert_data_round_trips_byte_for_byte(stored: dict[str, Any]) -> None:
    alert = AlertSubentryConfig.from_subentry_data(stored)
    assert json.dumps(alert.to_subentry_data()) == json.dumps(stored)


def test_alert_data_is_read_into_the_engine_rule() -> None:
    alert = AlertSubentryConfig.from_subentry_data(ALERT_STALE)
    assert alert.source_id == "source0temperature"
    assert alert.name == "Quiet"
    assert alert.watch == WindowStatistic(60.0, Statistic.MEAN)
    assert alert.config == AlertConfig(
        AlertRule.STALE, stale_after=5400.0, on_delay=30.0
    )
    assert AlertSubentryConfig.from_subentry_data(ALERT_HIGH).watch is None


def test_alert_data_without_optional_keys_reads_as_before() -> None:
    """What the alert runtime read for a key that is missing."""
    alert = AlertSubentryConfig.from_subentry_data(
        {"source": "s", "rule": "high", "high": 30}
    )
    assert alert == AlertSubentryConfig(
        source_id="s",
        name="",
        watch=None,
        config=AlertConfig(
            AlertRule.HIGH,
            high=30.0,
            deadband=0.0,
            on_delay=0.0,
            off_delay=0.0,
            severity=Severity.WARNING,
        ),
    )


def test_a_new_alert_form_shows_the_defaults() -> None:
    """What the alert flow's ALERT_DEFAULTS held before the model had them."""
    assert AlertSubentryConfig.form_defaults() == {
        "watch": "value",
        "rule": "high",
        "deadband": 0,
        "severity": "warning",
    }


def test_the_alert_form_shows_what_is_stored_and_reads_it_back() -> None:
    """Unset limits and zero delays stay empty; durations are shown as text."""
    alert = AlertSubentryConfig.from_subentry_data(ALERT_STALE)
    form = alert.form_values()
    assert form == {
        "watch": "60/mean",
        "rule": "stale",
        "deadband": 0.0,
        "severity": "warning",
        "name": "Quiet",
        "stale_after": "90m",
        "on_delay": "30s",
    }
    assert AlertSubentryConfig.from_form(
        form, source_id=alert.source_id, reading="humidity"
    ) == (alert, {})
    for stored in ALERT_SHAPES:
        alert = AlertSubentryConfig.from_subentry_data(stored)
        again, errors = AlertSubentryConfig.from_form(
            alert.form_values(), source_id=alert.source_id, reading=alert.reading
        )
        assert (again, errors) == (alert, {}), stored["rule"]


def test_the_alert_form_keeps_only_what_the_rule_uses() -> None:
    """Limits of other rules are dropped, a stale rule has no deadband."""
    alert, errors = AlertSubentryConfig.from_form(
        {
            "rule": "low",
            "name": "  Too cold ",
            "high": 30.0,
            "low": 5.0,
            "rate_limit": 1.0,
            "stale_after": "1h",
            "deadband": 0.5,
            "on_delay": "0s",
            "off_delay": "1m",
            "severity": "critical",
        },
        source_id="s",
    )
    assert errors == {}
    assert alert.to_subentry_data() == {
        "name": "Too cold",
        "source": "s",
        "reading": "",
        "watch": "value",  # not asked: the raw value
        "rule": "low",
        "high": None,
        "low": 5.0,
        "deadband": 0.5,
        "stale_after": None,
        "rate_limit": None,
        "on_delay": 0.0,
        "off_delay": 60.0,
        "severity": "critical",
    }
    stale, errors = AlertSubentryConfig.from_form(
        {"rule": "stale", "stale_after": " 10m ", "deadband": 3.0, "severity": "info"},
        source_id="s",
    )
    assert errors == {}
    assert (stale.config.stale_after, stale.config.deadband) == (600.0, 0.0)


@pytest.mark.parametrize(
    ("form", "errors"),
    [
        ({}, {"high": "limit_required"}),
        ({"high": float("inf")}, {"high": "not_finite"}),
        ({"rule": "low"}, {"low": "limit_required"}),
        ({"rule": "range", "low": 20.0, "high": 20.0}, {"low": "low_above_high"}),
        (
            {"rule": "range", "low": 10.0, "high": 20.0, "deadband": 10.0},
            {"deadband": "deadband_too_wide"},
        ),
        ({"high": 30.0, "deadband": -1.0}, {"deadband": "negative_deadband"}),
        ({"rule": "stale"}, {"stale_after": "limit_required"}),
        ({"rule": "stale", "stale_after": "soon"}, {"stale_after": "invalid_duration"}),
        ({"rule": "stale", "stale_after": "0s"}, {"stale_after": "must_be_positive"}),
        ({"rule": "rate"}, {"rate_limit": "limit_required"}),
        ({"rule": "rate", "rate_limit": 0.0}, {"rate_limit": "must_be_positive"}),
        (
            {"rule": "rate", "rate_limit": 2.0, "deadband": 2.0},
            {"deadband": "deadband_too_wide"},
        ),
        ({"high": 30.0, "on_delay": "later"}, {"on_delay": "invalid_duration"}),
        ({"high": 30.0, "off_delay": "-5s"}, {"off_delay": "negative_delay"}),
        ({"high": 30.0, "on_delay": "-1m"}, {"on_delay": "negative_delay"}),
    ],
)
def test_alert_form_checks(form: dict[str, Any], errors: dict[str, str]) -> None:
    """Every error key of the alert form (the engine's `invalid_rule` and
    `invalid_severity` cannot come from it: both are choices of a selector)."""
    user_input = {"rule": "high", "severity": "warning", **form}
    assert AlertSubentryConfig.from_form(user_input, source_id="s")[1] == errors


# -- ThingSpeak channels -------------------------------------------------------------

CHANNEL_KEY = "WRITEKEY0SECRET1"
# Channel subentry data of today's shape, as the channel flow stores it: its
# settings (in the flow's order), then the fields and the status. Written out by
# hand from test_thingspeak_flow's flow tests.
CHANNEL_STORED: dict[str, Any] = {
    "channel_id": 1001,
    "write_api_key": CHANNEL_KEY,
    "plan": "free",
    "upload_interval": 300,
    "latitude": -34.93,
    "longitude": 138.6,
    "advanced": {"base_url": "http://127.0.0.1:8765", "max_rows": 5000},
    "fields": {
        "1": {
            "source": "01SOURCE",
            "reading": "",
            "topic": "weather/temperature",
            "window": 3600.0,
            "statistic": "mean",
        },
        "3": {
            "source": "01SOURCE",
            "reading": "am2301_temperature",
            "topic": "weather/temperature",
            "window": 600.0,
            "statistic": "value_max",
        },
    },
    "send_status": True,
}
CHANNEL_PAID: dict[str, Any] = {
    **CHANNEL_STORED,
    "channel_id": 2002,
    "plan": "paid",
    "upload_interval": 10,
    "latitude": None,
    "longitude": None,
    "advanced": {"base_url": "https://api.thingspeak.com", "max_rows": 20000},
    "fields": {"8": {**CHANNEL_STORED["fields"]["1"], "statistic": "percentile"}},
    "send_status": False,
}


@pytest.mark.parametrize("stored", [CHANNEL_STORED, CHANNEL_PAID], ids=["free", "paid"])
def test_channel_data_round_trips_byte_for_byte(stored: dict[str, Any]) -> None:
    channel = ChannelSubentryConfig.from_subentry_data(stored)
    assert json.dumps(channel.to_subentry_data()) == json.dumps(stored)


def test_channel_data_is_read_into_settings() -> None:
    channel = ChannelSubentryConfig.from_subentry_data(CHANNEL_STORED)
    assert (channel.channel_id, channel.plan, channel.upload_interval) == (
        1001,
        Plan.FREE,
        300.0,
    )
    assert channel.fields == {
        1: FieldSource("01SOURCE", "weather/temperature", 3600.0, Statistic.MEAN),
        3: FieldSource(
            "01SOURCE",
            "weather/temperature",
            600.0,
            Statistic.VALUE_MAX,
            reading="am2301_temperature",
        ),
    }
    assert CHANNEL_KEY not in repr(channel)
    config = channel.channel_config()
    assert (config.channel_id, config.write_key, config.base_url) == (
        1001,
        CHANNEL_KEY,
        "http://127.0.0.1:8765",
    )


def test_channel_data_without_optional_keys_reads_as_before() -> None:
    """What the channel runtime read for a key that is missing."""
    channel = ChannelSubentryConfig.from_subentry_data(
        {"channel_id": 5, "write_api_key": CHANNEL_KEY}
    )
    assert channel == ChannelSubentryConfig(
        channel_id=5,
        write_key=CHANNEL_KEY,
        plan=Plan.FREE,
        upload_interval=300.0,
        fields={},
        send_status=False,
        latitude=None,
        longitude=None,
        base_url="https://api.thingspeak.com",
        max_rows=20_000,
    )


def test_a_new_channel_form_shows_the_defaults() -> None:
    """What the channel flow's CHANNEL_DEFAULTS held before the model had them
    (but `send_test_row`, which is the flow's and not stored)."""
    assert ChannelSubentryConfig.form_defaults() == {
        "plan": "free",
        "upload_interval": 300,
        "advanced": {"base_url": "https://api.thingspeak.com", "max_rows": 20_000},
    }


def test_the_channel_forms_show_what_is_stored_and_read_it_back() -> None:
    channel = ChannelSubentryConfig.from_subentry_data(CHANNEL_STORED)
    form = channel.form_values()
    assert form == {
        "channel_id": "1001",
        "write_api_key": CHANNEL_KEY,
        "plan": "free",
        "upload_interval": 300,
        "advanced": {"base_url": "http://127.0.0.1:8765", "max_rows": 5000},
        "latitude": -34.93,
        "longitude": 138.6,
    }
    assert channel.fields_form_values() == {
        "field1": "01SOURCE|weather/temperature",
        "field3": "01SOURCE:am2301_temperature|weather/temperature",
        "send_status": True,
    }
    assert channel.statistics_form_values() == {
        "field1": "3600.0|mean",
        "field3": "600.0|value_max",
    }
    # No location: the boxes stay empty.
    paid = ChannelSubentryConfig.from_subentry_data(CHANNEL_PAID).form_values()
    assert "latitude" not in paid and "longitude" not in paid

    settings, errors = ChannelSubentryConfig.from_form(form)
    assert errors == {}
    assert (settings.fields, settings.send_status) == ({}, False)
    assert settings.with_fields(channel.fields, send_status=True) == channel


def test_the_channel_form_is_cleaned_up() -> None:
    """Spaces around the id and the key, a slash after the URL, whole seconds."""
    settings, errors = ChannelSubentryConfig.from_form(
        {
            "channel_id": " 1001 ",
            "write_api_key": f" {CHANNEL_KEY} ",
            "plan": "paid",
            "upload_interval": 60.0,
            "advanced": {
                "base_url": " https://api.thingspeak.com/ ",
                "max_rows": 5000.0,
            },
        }
    )
    assert errors == {}
    assert settings.to_subentry_data() == {
        "channel_id": 1001,
        "write_api_key": CHANNEL_KEY,
        "plan": "paid",
        "upload_interval": 60,
        "latitude": None,
        "longitude": None,
        "advanced": {"base_url": "https://api.thingspeak.com", "max_rows": 5000},
        "fields": {},
        "send_status": False,
    }


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"channel_id": "12a"}, {"channel_id": "invalid_channel_id"}),
        ({"channel_id": "0"}, {"channel_id": "invalid_channel_id"}),
        ({"channel_id": ""}, {"channel_id": "invalid_channel_id"}),
        ({"write_api_key": "lowercasekey1234"}, {"write_api_key": "invalid_write_key"}),
        ({"upload_interval": 10}, {"upload_interval": "interval_too_short"}),
        (
            {"advanced": {"base_url": "ftp://example.com", "max_rows": 5000}},
            {"base_url": "invalid_url"},
        ),
    ],
)
def test_channel_form_checks(change: dict[str, Any], errors: dict[str, str]) -> None:
    """Every error key of the channel settings form that needs no hub."""
    form = {
        **ChannelSubentryConfig.from_subentry_data(CHANNEL_STORED).form_values(),
        **change,
    }
    assert ChannelSubentryConfig.from_form(form)[1] == errors
