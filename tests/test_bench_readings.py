"""The readings benchmark configures what it claims to compare.

``benchmarks/bench_readings_ha.py`` compares IoTitan's sources of several
readings with Home Assistant's MQTT sensors (value_template) feeding
statistics. Its figures only mean something if IoTitan's side is a valid
multi-reading source as the flow stores it, if its alert watches a reading
that exists, and if both sides read the same numbers from the same payloads.
"""

from __future__ import annotations

import json
from typing import Any

from benchmarks.ha_common import (
    DEVICE_READINGS,
    READING_KEYS,
    READING_STATISTICS,
    device_payload,
    device_stream,
    device_topic,
    device_values,
    split_stream,
    split_topic,
    value_text,
)
from benchmarks.ha_readings import (
    alert_subentries,
    mqtt_reading_config,
    sensor_subentries,
)
from custom_components.iotitan.engine.alerts import validate_alert_config
from custom_components.iotitan.engine.readings import MultiPathParser, value_paths
from custom_components.iotitan.engine.window import Statistic
from custom_components.iotitan.models import (
    AlertSubentryConfig,
    SensorSourceConfig,
    check_readings,
    source_key,
)


def runtime_keys(subentries: list[dict[str, Any]]) -> set[str]:
    """The source keys the hub would make of the sensor subentries."""
    keys = set()
    for subentry in subentries:
        config = SensorSourceConfig.from_subentry_data(subentry["data"])
        keys |= {
            source_key(subentry["subentry_id"], reading.key)
            for reading in config.readings
        }
    return keys


def test_one_source_per_device_holds_the_four_readings() -> None:
    """Stored shape, round trip, readings valid, defaults as the scenario says."""
    subentries = sensor_subentries(3, split=False)
    assert [subentry["data"]["topic"] for subentry in subentries] == [
        device_topic(index) for index in range(3)
    ]
    for subentry in subentries:
        data = subentry["data"]
        config = SensorSourceConfig.from_subentry_data(data)
        assert config.to_subentry_data() == data
        assert check_readings(config.readings) is None
        assert [reading.key for reading in config.readings] == list(READING_KEYS)
        assert [reading.value_path for reading in config.readings] == list(READING_KEYS)
        assert [(r.unit, r.device_class) for r in config.readings] == [
            (unit, device_class) for _, unit, device_class in DEVICE_READINGS
        ]
        for reading in config.readings:
            resolved = config.for_reading(reading)
            assert resolved.windows == (3600.0,)
            assert resolved.statistics == tuple(map(Statistic, READING_STATISTICS))
    assert len(runtime_keys(subentries)) == 3 * len(READING_KEYS)


def test_split_layout_is_one_source_of_one_reading_per_topic() -> None:
    subentries = sensor_subentries(2, split=True)
    assert sorted(subentry["data"]["topic"] for subentry in subentries) == sorted(
        split_topic(index, key) for index in range(2) for key in READING_KEYS
    )
    for subentry in subentries:
        config = SensorSourceConfig.from_subentry_data(subentry["data"])
        assert check_readings(config.readings) is None
        assert config.reading.value_path == ""


def test_the_alerts_watch_each_devices_temperature() -> None:
    for split in (False, True):
        sources = runtime_keys(sensor_subentries(4, split=split))
        alerts = [
            AlertSubentryConfig.from_subentry_data(subentry["data"])
            for subentry in alert_subentries(4, split=split)
        ]
        assert len(alerts) == 4
        for alert in alerts:
            assert alert.source_key in sources
            assert validate_alert_config(alert.config) == {}
            assert alert.reading == ("" if split else "temperature")


def test_both_sides_read_the_same_numbers() -> None:
    """IoTitan's value paths, the split topics' payloads and core's templates."""
    config = SensorSourceConfig.from_subentry_data(
        sensor_subentries(1, split=False)[0]["data"]
    )
    parser = MultiPathParser(value_paths(r.value_path for r in config.readings))
    for second in (-3599, 0, 17):
        values = device_values(0, second)
        assert parser.parse(device_payload(0, second)) == tuple(
            float(values[key]) for key in READING_KEYS
        )
        split = dict(split_stream(1, second, 1)[0])
        assert split == {
            split_topic(0, key): value_text(values[key]).encode()
            for key in READING_KEYS
        }
        assert device_stream(1, second, 1) == [
            [(device_topic(0), device_payload(0, second))]
        ]
        # Zigbee2MQTT's payload carries a field no one reads.
        assert set(json.loads(device_payload(0, second))) > set(READING_KEYS)
    for key in READING_KEYS:
        sensor = mqtt_reading_config(0, key)
        assert sensor["state_topic"] == device_topic(0)
        assert sensor["value_template"] == "{{ value_json." + key + " }}"
