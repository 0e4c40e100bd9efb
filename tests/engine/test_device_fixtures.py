"""The device fixtures through every piece: announcement, one parse, guesses, time.

Where a device announces a sensor, field discovery on the payload it publishes
must guess what the announcement says (unit and device class), and the value
path from the announcement must read the documented value from that payload.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from custom_components.iotitan.engine.discovery import (
    DiscoveredSensor,
    parse_discovery_message,
)
from custom_components.iotitan.engine.fields import discover_fields
from custom_components.iotitan.engine.payload import parse_value_path
from custom_components.iotitan.engine.readings import MultiPathParser
from custom_components.iotitan.engine.sensor_time import (
    TASMOTA_TIME,
    ZIGBEE2MQTT_LAST_SEEN,
    TimeVerdict,
    judge_reading_time,
    read_payload_time,
)

from . import device_payloads as payloads, discovery_configs as configs

# (announcement, the payload on its state topic, the value the document gives)
CASES = [
    (configs.Z2M_TEMPERATURE, payloads.Z2M_WEATHER, 21.4),
    (configs.Z2M_HUMIDITY, payloads.Z2M_WEATHER, 48.2),
    (configs.Z2M_PRESSURE, payloads.Z2M_WEATHER, 1012.3),
    (configs.Z2M_BATTERY, payloads.Z2M_WEATHER, 97.0),
    (configs.Z2M_VOLTAGE, payloads.Z2M_WEATHER, 2995.0),
    (configs.Z2M_LINKQUALITY, payloads.Z2M_WEATHER, 120.0),
    (configs.ESPHOME_TEMPERATURE, payloads.ESPHOME_TEMPERATURE, 21.5),
    (configs.OMG_TEMPC, payloads.OMG_LYWSD03MMC, 14.2),
    (configs.TASMOTA_ENERGY_TOTAL, payloads.TASMOTA_ENERGY, 153.214),
]


def _announced(message: tuple[str, bytes]) -> DiscoveredSensor:
    (sensor,) = parse_discovery_message(*message)
    assert isinstance(sensor, DiscoveredSensor)
    return sensor


@pytest.mark.parametrize(
    ("message", "payload", "value"),
    CASES,
    ids=[case[0][0] for case in CASES],
)
def test_announcement_reads_the_payload_and_matches_the_guess(
    message: tuple[str, bytes], payload: bytes, value: float
) -> None:
    """The announced path reads the value; the guess agrees with the announcement."""
    sensor = _announced(message)
    path = parse_value_path(sensor.value_path) if sensor.value_path else ()
    assert MultiPathParser((path,)).parse(payload) == (value,)
    fields = {
        field.path: field
        for field in discover_fields([payload], topic=sensor.state_topic).fields
    }
    guess = fields[sensor.value_path].guess
    assert guess.unit == sensor.unit
    if sensor.device_class is not None:
        assert guess.device_class == sensor.device_class
    assert guess.diagnostic == sensor.diagnostic


def test_a_zigbee2mqtt_device_in_one_parse_with_its_time() -> None:
    """All announced readings of one device and its last_seen from one parse."""
    sensors = [
        _announced(message)
        for message in (
            configs.Z2M_TEMPERATURE,
            configs.Z2M_HUMIDITY,
            configs.Z2M_BATTERY,
        )
    ]
    assert {sensor.state_topic for sensor in sensors} == {payloads.Z2M_WEATHER_TOPIC}
    assert {sensor.device.name for sensor in sensors} == {"weather_sensor"}
    parser = MultiPathParser(
        tuple(parse_value_path(sensor.value_path) for sensor in sensors)
    )
    readings, document = parser.parse_with_document(payloads.Z2M_WEATHER_LAST_SEEN_ISO)
    assert readings == (21.4, 48.2, 97.0)
    seen = read_payload_time(document, ZIGBEE2MQTT_LAST_SEEN, local_tz=ZoneInfo("UTC"))
    assert seen == pytest.approx(payloads.LAST_SEEN_POSIX)
    assert isinstance(seen, float)
    assert (
        judge_reading_time(seen, seen + 30.0, future_tolerance=5.0, window_age=3600.0)
        is TimeVerdict.ACCEPT
    )


def test_a_tasmota_sensor_found_then_dated() -> None:
    """Tasmota: discover AM2301's fields, read them and the local Time at once."""
    fields = discover_fields([payloads.TASMOTA_AM2301])
    paths = tuple(parse_value_path(field.path) for field in fields.fields)
    readings, document = MultiPathParser(paths).parse_with_document(
        payloads.TASMOTA_AM2301
    )
    assert readings == (21.4, 48.0, 10.0)
    berlin = read_payload_time(
        document, TASMOTA_TIME, local_tz=ZoneInfo("Europe/Berlin")
    )
    assert berlin == 1714559696.0  # 12:34:56 CEST is 10:34:56 UTC
    assert (
        judge_reading_time(berlin, berlin + 7200.0, future_tolerance=5, window_age=3600)
        is TimeVerdict.OLDER_THAN_WINDOW
    )
