"""MQTT discovery configs: numeric sensors to offer, and why the rest is refused."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.components.mqtt.abbreviations import (
    ABBREVIATIONS as HA_ABBREVIATIONS,
    DEVICE_ABBREVIATIONS as HA_DEVICE_ABBREVIATIONS,
)
from homeassistant.components.mqtt.util import valid_subscribe_topic
from homeassistant.components.sensor import _numeric_state_expected
from homeassistant.components.sensor.const import (
    AMBIGUOUS_UNITS as HA_AMBIGUOUS_UNITS,
    NON_NUMERIC_DEVICE_CLASSES as HA_NON_NUMERIC,
    SensorDeviceClass,
    SensorStateClass,
)
from homeassistant.const import EntityCategory
from hypothesis import given, settings, strategies as st
import pytest
import voluptuous as vol

from custom_components.iotitan.engine import discovery as discovery_module
from custom_components.iotitan.engine.discovery import (
    ABBREVIATIONS,
    AMBIGUOUS_UNITS,
    DEVICE_ABBREVIATIONS,
    ENTITY_CATEGORIES,
    MAX_COMPONENTS,
    MAX_DISCOVERY_BYTES,
    MAX_IDENTIFIERS,
    MAX_TEMPLATE_LENGTH,
    MAX_TEXT_LENGTH,
    MAX_TOPIC_LENGTH,
    NON_NUMERIC_DEVICE_CLASSES,
    SENSOR_DEVICE_CLASSES,
    SENSOR_STATE_CLASSES,
    AnnouncedDevice,
    DiscoveredSensor,
    DiscoveryRefusal as R,
    DiscoveryResult,
    RefusedDiscovery,
    TemplatePath,
    parse_discovery_message,
    value_path_of,
)
from custom_components.iotitan.engine.payload import parse_value_path
from custom_components.iotitan.engine.readings import MultiPathParser

from . import device_payloads as payloads, discovery_configs as configs

TOPIC = "homeassistant/sensor/node/thing/config"


def _one(message: tuple[str, bytes]) -> DiscoveryResult:
    (result,) = parse_discovery_message(*message)
    return result


def _sensor(message: tuple[str, bytes]) -> DiscoveredSensor:
    result = _one(message)
    assert isinstance(result, DiscoveredSensor), result
    return result


def _reason(config: Any, topic: str = TOPIC) -> R | None:
    """The refusal of one config (None if it is a sensor)."""
    payload = config if isinstance(config, bytes) else json.dumps(config).encode()
    result = _one((topic, payload))
    return result.reason if isinstance(result, RefusedDiscovery) else None


def _read(config: dict[str, Any]) -> DiscoveredSensor:
    return _sensor((TOPIC, json.dumps(config).encode()))


BASE = {"stat_t": "home/thing", "unit_of_meas": "W"}


# --- The fixtures, from each project's documents -------------------------------


def test_zigbee2mqtt_weather_sensor() -> None:
    """Z2M's temperature config: topic, path from `value_json["temperature"]`, device."""
    sensor = _sensor(configs.Z2M_TEMPERATURE)
    assert sensor == DiscoveredSensor(
        discovery_topic="homeassistant/sensor/0x0017880104e45522/temperature/config",
        component="sensor",
        node_id="0x0017880104e45522",
        object_id="temperature",
        state_topic="zigbee2mqtt/weather_sensor",
        value_path="temperature",
        name=None,
        unit="°C",
        device_class="temperature",
        state_class="measurement",
        entity_category=None,
        suggested_display_precision=None,
        enabled_by_default=True,
        unique_id="0x0017880104e45522_temperature_zigbee2mqtt",
        device=AnnouncedDevice(
            name="weather_sensor",
            identifiers=("zigbee2mqtt_0x0017880104e45522",),
            manufacturer="Aqara",
            model="Temperature and humidity sensor",
        ),
    )
    # The path reads the state the same device publishes.
    paths = [
        parse_value_path(_sensor(message).value_path)
        for message in (
            configs.Z2M_TEMPERATURE,
            configs.Z2M_HUMIDITY,
            configs.Z2M_PRESSURE,
            configs.Z2M_BATTERY,
            configs.Z2M_VOLTAGE,
            configs.Z2M_LINKQUALITY,
        )
    ]
    assert MultiPathParser(tuple(paths)).parse(payloads.Z2M_WEATHER) == (
        21.4,
        48.2,
        1012.3,
        97.0,
        2995.0,
        120.0,
    )


def test_zigbee2mqtt_diagnostics_and_units() -> None:
    """Battery and linkquality are diagnostic; voltage in mV; lqi has no class."""
    battery = _sensor(configs.Z2M_BATTERY)
    assert battery.diagnostic and battery.entity_category == "diagnostic"
    assert (battery.unit, battery.device_class) == ("%", "battery")
    link = _sensor(configs.Z2M_LINKQUALITY)
    assert (link.unit, link.device_class, link.state_class) == (
        "lqi",
        None,
        "measurement",
    )
    assert link.diagnostic and not link.enabled_by_default
    assert link.name == "Linkquality"
    assert _sensor(configs.Z2M_VOLTAGE).unit == "mV"
    assert _sensor(configs.Z2M_PRESSURE).device_class == "atmospheric_pressure"
    assert not _sensor(configs.Z2M_TEMPERATURE).diagnostic


def test_zigbee2mqtt_refusals() -> None:
    """last_seen is a time, not a number; an empty config removes; a switch is no sensor."""
    for message in (configs.Z2M_LAST_SEEN_ISO, configs.Z2M_LAST_SEEN_EPOCH):
        refused = _one(message)
        assert refused == RefusedDiscovery(
            discovery_topic=message[0],
            reason=R.NOT_NUMERIC,
            component="sensor",
            node_id="0x0017880104e45522",
            object_id="last_seen",
            name="Last seen",
            device_name="weather_sensor",
        )
    assert _one(configs.Z2M_REMOVED) == RefusedDiscovery(
        configs.Z2M_REMOVED[0], R.REMOVED, "sensor", "0x0017880104e45522", "battery"
    )
    switch = _one(configs.Z2M_SWITCH)
    assert isinstance(switch, RefusedDiscovery)
    assert (switch.reason, switch.component, switch.name) == (
        R.NOT_A_SENSOR,
        "switch",
        "Left",
    )


def test_esphome_abbreviated_config_without_template() -> None:
    """ESPHome: abbreviations, no template (plain payload), ids as one string."""
    sensor = _sensor(configs.ESPHOME_TEMPERATURE)
    assert sensor.state_topic == payloads.ESPHOME_TEMPERATURE_TOPIC
    assert sensor.value_path == ""
    assert (sensor.node_id, sensor.object_id) == (
        "livingroom",
        "living_room_temperature",
    )
    assert (sensor.name, sensor.unit, sensor.device_class, sensor.state_class) == (
        "Living Room Temperature",
        "°C",
        "temperature",
        "measurement",
    )
    assert sensor.unique_id == "ESPsensorliving_room_temperature"
    assert sensor.device == AnnouncedDevice(
        name="livingroom",
        identifiers=("240ac4aabbcc",),
        manufacturer="espressif",
        model="esp32dev",
        suggested_area="Living Room",
    )
    assert MultiPathParser(((),)).parse(payloads.ESPHOME_TEMPERATURE) == (21.5,)


def test_tasmota_legacy_templates() -> None:
    """`{{value_json['SI7021-14'].Humidity}}` and `{{value_json['ENERGY'].Total}}`."""
    humidity = _sensor(configs.TASMOTA_HUMIDITY)
    assert humidity.value_path == "SI7021-14.Humidity"
    assert humidity.state_topic == "tele/tasmota_A1B2C3/SENSOR"
    assert humidity.device.identifiers == ("A1B2C3",)
    energy = _sensor(configs.TASMOTA_ENERGY_TOTAL)
    assert (energy.value_path, energy.unit, energy.device_class) == (
        "ENERGY.Total",
        "kWh",
        None,  # numeric by its unit alone
    )
    assert MultiPathParser((parse_value_path(energy.value_path),)).parse(
        payloads.TASMOTA_ENERGY
    ) == (153.214,)


def test_openmqttgateway_configs() -> None:
    """OMG: a wildcard state topic, `| is_defined`, connections; its arithmetic and if refused."""
    tempc = _sensor(configs.OMG_TEMPC)
    assert tempc.state_topic == "+/+/BTtoMQTT/A4C1386E4AE8"
    assert (tempc.value_path, tempc.unit, tempc.state_class) == (
        "tempc",
        "°C",
        "measurement",
    )
    assert (tempc.node_id, tempc.object_id) == (None, "A4C1386E4AE8-tempc")
    assert tempc.device == AnnouncedDevice(
        name="LYWSD03MMC_ATC-6E4AE8",
        identifiers=("A4C1386E4AE8",),
        connections=(("mac", "A4C1386E4AE8"),),
        manufacturer="Xiaomi",
        model="LYWSD03MMC_ATC",
    )
    assert MultiPathParser((("tempc",),)).parse(payloads.OMG_LYWSD03MMC) == (14.2,)
    pa = _one(configs.OMG_PA)
    assert isinstance(pa, RefusedDiscovery) and pa.reason is R.TEMPLATE_ARITHMETIC
    assert pa.device_name == "LYWSD03MMC_ATC-6E4AE8" and pa.name == "pa"
    assert _one(configs.OMG_VOLT_BM2).reason is R.TEMPLATE_CONDITION  # type: ignore[union-attr]


def test_device_based_discovery() -> None:
    """One device message: shared state topic, own topics, other platforms, removals."""
    results = parse_discovery_message(*configs.DEVICE_BEDROOM)
    assert len(results) == 4
    temperature, humidity, motion, gone = results
    assert isinstance(temperature, DiscoveredSensor)
    assert isinstance(humidity, DiscoveredSensor)
    assert (temperature.node_id, temperature.object_id) == ("0AFFD2", "temp01")
    assert temperature.state_topic == "sensorBedroom/state"  # the device's, shared
    assert temperature.value_path == "temperature"  # `{{ value_json.temperature}}`
    assert humidity.state_topic == "sensorBedroom/humidity"  # its own wins
    assert temperature.device == AnnouncedDevice(
        name="Bedroom sensor", identifiers=("0AFFD2",), manufacturer="Bla2mqtt"
    )
    assert temperature.unique_id == "temp01ae_t"
    assert motion == RefusedDiscovery(
        configs.DEVICE_BEDROOM[0],
        R.NOT_A_SENSOR,
        "binary_sensor",
        "0AFFD2",
        "motion01",
        None,
        "Bedroom sensor",
    )
    assert isinstance(gone, RefusedDiscovery) and gone.reason is R.REMOVED


def test_base_topic_units_and_classes() -> None:
    """`~` expanded; µ read as μ; device class without case; round(1) is the precision."""
    sensor = _sensor(configs.BASE_TOPIC)
    assert sensor.state_topic == "garden/air/state"
    assert sensor.unit == "\u03bcg/m³"
    assert sensor.device_class == "pm25"
    assert sensor.suggested_display_precision == 1
    assert sensor.value_path == "pm25"


# --- Topics and payloads ---------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("homeassistant/sensor/obj/config", ("sensor", None, "obj")),
        ("homeassistant/sensor/node-1/obj_2/config", ("sensor", "node-1", "obj_2")),
        ("homeassistant/binary_sensor/a/config", ("binary_sensor", None, "a")),
    ],
)
def test_discovery_topics(topic: str, expected: tuple[str, str | None, str]) -> None:
    """`<prefix>/<component>/[<node_id>/]<object_id>/config`."""
    result = _one((topic, b'{"unit_of_meas": "W"}'))
    assert (result.component, result.node_id, result.object_id) == expected


@pytest.mark.parametrize(
    "topic",
    [
        "homeassistant/sensor/config",
        "homeassistant/sensor/a b/config",
        "homeassistant/sensor/a/b/c/config",
        "homeassistant/sensor/a/config/extra",
        "homeassistant/sensor/a/state",
        "other/sensor/a/config",
        "homeassistantx/sensor/a/config",
        "homeassistant/sensor/a.b/config",
        "homeassistant/sensor/" + "a" * MAX_TOPIC_LENGTH + "/config",
        "",
    ],
)
def test_not_discovery_topics(topic: str) -> None:
    """Anything else is not a discovery topic (nor is a too long one)."""
    assert parse_discovery_message(topic, b'{"stat_t": "a"}') == (
        RefusedDiscovery(topic, R.NOT_A_DISCOVERY_TOPIC),
    )


def test_custom_prefix() -> None:
    """The MQTT integration's configured prefix."""
    topic = "discovery/sensor/x/config"
    payload = json.dumps(BASE).encode()
    assert isinstance(
        parse_discovery_message(topic, payload, prefix="discovery")[0], DiscoveredSensor
    )
    assert _reason(BASE, topic) is R.NOT_A_DISCOVERY_TOPIC


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", R.REMOVED),
        (b"{}", R.REMOVED),
        (b" ", R.INVALID_JSON),
        (b"{", R.INVALID_JSON),
        (b"\xff{}", R.NOT_UTF8),
        (b"[]", R.NOT_AN_OBJECT),
        (b'"sensor"', R.NOT_AN_OBJECT),
        (b"[" * 100_000 + b"]" * 100_000, R.TOO_LARGE),
        (b"[" * 30_000 + b"]" * 30_000, R.INVALID_JSON),  # nesting beyond recursion
        (b'{"a": "' + b"x" * MAX_DISCOVERY_BYTES + b'"}', R.TOO_LARGE),
    ],
)
def test_payload_refusals(payload: bytes, reason: R) -> None:
    """Broken payloads are refusals, never exceptions."""
    assert _reason(payload) is reason


def test_size_limit_is_configurable() -> None:
    """Exactly max_bytes is read."""
    payload = json.dumps(BASE).encode()
    read = parse_discovery_message(TOPIC, payload, max_bytes=len(payload))
    assert isinstance(read[0], DiscoveredSensor)
    refused = parse_discovery_message(TOPIC, payload, max_bytes=len(payload) - 1)
    assert refused[0].reason is R.TOO_LARGE  # type: ignore[union-attr]
    assert isinstance(
        parse_discovery_message(TOPIC, payload.decode())[0], DiscoveredSensor
    )


# --- Fields ------------------------------------------------------------------------


def test_abbreviations_win_over_full_keys() -> None:
    """As in Home Assistant: the abbreviated key replaces the full one."""
    sensor = _read({**BASE, "state_topic": "other", "uniq_id": "u", "unique_id": "v"})
    assert (sensor.state_topic, sensor.unique_id) == ("home/thing", "u")


@pytest.mark.parametrize(
    ("base", "state_topic", "expected"),
    [
        ("garden/air", "~/state", "garden/air/state"),
        ("garden/air", "prefix/~", "prefix/garden/air"),
        ("garden/air", "~", "garden/air"),
        ("garden/air", "plain/topic", "plain/topic"),
        ("garden/air", "a/~/b", "a/~/b"),  # only at an end
    ],
)
def test_topic_base(base: str, state_topic: str, expected: str) -> None:
    """`~` at either end of the state topic is the config's `~`."""
    sensor = _read({"~": base, "stat_t": state_topic, "unit_of_meas": "W"})
    assert sensor.state_topic == expected


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ({"unit_of_meas": "W"}, R.NO_STATE_TOPIC),
        ({**BASE, "stat_t": ""}, R.INVALID_STATE_TOPIC),
        ({**BASE, "stat_t": 5}, R.INVALID_STATE_TOPIC),
        ({**BASE, "stat_t": None}, R.INVALID_STATE_TOPIC),
        ({**BASE, "stat_t": "a/#/b"}, R.INVALID_STATE_TOPIC),
        ({**BASE, "stat_t": "a/b#"}, R.INVALID_STATE_TOPIC),
        ({**BASE, "stat_t": "a+/b"}, R.INVALID_STATE_TOPIC),
        ({**BASE, "stat_t": "a/\x00"}, R.INVALID_STATE_TOPIC),
        ({**BASE, "stat_t": "a/\x85"}, R.INVALID_STATE_TOPIC),
        ({**BASE, "stat_t": "a/\ufdd0"}, R.INVALID_STATE_TOPIC),
        ({**BASE, "stat_t": "a/\U0001ffff"}, R.INVALID_STATE_TOPIC),
        ({**BASE, "stat_t": "a" * (MAX_TOPIC_LENGTH + 1)}, R.INVALID_STATE_TOPIC),
        ({**BASE, "~": 5, "stat_t": "~/a"}, R.INVALID_STATE_TOPIC),
        ({**BASE, "dev_cla": "warmth"}, R.INVALID_FIELD),
        ({**BASE, "dev_cla": 3}, R.INVALID_FIELD),
        ({**BASE, "stat_cla": "average"}, R.INVALID_FIELD),
        ({**BASE, "unit_of_meas": 5}, R.INVALID_FIELD),
        ({**BASE, "unit_of_meas": "W" * (MAX_TEXT_LENGTH + 1)}, R.INVALID_FIELD),
        ({**BASE, "ent_cat": "system"}, R.INVALID_FIELD),
        ({**BASE, "name": 5}, R.INVALID_FIELD),
        ({**BASE, "name": "n" * (MAX_TEXT_LENGTH + 1)}, R.INVALID_FIELD),
        ({**BASE, "sug_dsp_prc": -1}, R.INVALID_FIELD),
        ({**BASE, "sug_dsp_prc": True}, R.INVALID_FIELD),
        ({**BASE, "sug_dsp_prc": 21}, R.INVALID_FIELD),
        ({**BASE, "sug_dsp_prc": "1234"}, R.INVALID_FIELD),
        ({**BASE, "en": "maybe"}, R.INVALID_FIELD),
        ({**BASE, "en": []}, R.INVALID_FIELD),
        ({**BASE, "uniq_id": ["u"]}, R.INVALID_FIELD),
        ({**BASE, "val_tpl": 5}, R.INVALID_FIELD),
        ({**BASE, "dev": "device"}, R.INVALID_FIELD),
        ({**BASE, "dev": {"ids": [{"a": 1}]}}, R.INVALID_FIELD),
        ({**BASE, "dev": {"ids": [True]}}, R.INVALID_FIELD),
        ({**BASE, "dev": {"ids": ["i"] * (MAX_IDENTIFIERS + 1)}}, R.INVALID_FIELD),
        ({**BASE, "dev": {"cns": [["mac"]]}}, R.INVALID_FIELD),
        ({**BASE, "dev": {"cns": "mac"}}, R.INVALID_FIELD),
        ({**BASE, "dev": {"cns": ["mac", "x"]}}, R.INVALID_FIELD),
        ({**BASE, "dev": {"cns": [["mac", None]]}}, R.INVALID_FIELD),
        ({**BASE, "dev": {"name": ["x"]}}, R.INVALID_FIELD),
        ({"stat_t": "a"}, R.NOT_NUMERIC),
        ({"stat_t": "a", "unit_of_meas": "  "}, R.NOT_NUMERIC),  # blank: no unit
        ({"stat_t": "a", "dev_cla": "enum"}, R.NOT_NUMERIC),
        ({"stat_t": "a", "dev_cla": "date", "unit_of_meas": "d"}, R.NOT_NUMERIC),
        ({**BASE, "dev_cla": "timestamp"}, R.NOT_NUMERIC),
        ({**BASE, "val_tpl": "{{ value_json.x | int }}"}, R.TEMPLATE_FILTER),
    ],
)
def test_field_refusals(config: dict[str, Any], reason: R) -> None:
    """What Home Assistant's schema refuses, beyond IoTitan's bounds, or not numeric."""
    assert _reason(config) is reason


@pytest.mark.parametrize(
    ("config", "attribute", "expected"),
    [
        ({"stat_t": "a", "stat_cla": "Measurement"}, "state_class", "measurement"),
        ({"stat_t": "a", "sug_dsp_prc": 2}, "suggested_display_precision", 2),
        ({"stat_t": "a", "sug_dsp_prc": " 3 "}, "suggested_display_precision", 3),
        ({"stat_t": "a", "dev_cla": "Temperature"}, "device_class", "temperature"),
        ({**BASE, "sug_dsp_prc": 0, "val_tpl": "{{ value | round(3) }}"},
         "suggested_display_precision", 0),
        ({**BASE, "val_tpl": "{{ value_json.x | round(3) }}"},
         "suggested_display_precision", 3),
        ({**BASE, "en": "off"}, "enabled_by_default", False),
        ({**BASE, "en": 0}, "enabled_by_default", False),
        ({**BASE, "en": "Yes"}, "enabled_by_default", True),
        ({**BASE, "uniq_id": 12}, "unique_id", "12"),
        ({**BASE, "name": None}, "name", None),
        ({**BASE, "unit_of_meas": "kVAr"}, "unit", "kvar"),
        ({**BASE, "stat_t": "a/+/b/#"}, "state_topic", "a/+/b/#"),
        ({**BASE, "stat_t": "#"}, "state_topic", "#"),
        ({**BASE, "dev": {"ids": 123, "cns": [["mac", 5]]}}, "device",
         AnnouncedDevice(identifiers=("123",), connections=(("mac", "5"),))),
        ({**BASE, "dev": {"identifiers": "x", "manufacturer": "m", "sa": "Attic"}},
         "device", AnnouncedDevice(identifiers=("x",), manufacturer="m",
                                   suggested_area="Attic")),
        ({**BASE, "dev": {"cns": [["zigbee", "0x1"]]}}, "device",
         AnnouncedDevice(connections=(("zigbee", "0x1"),))),
    ],
)  # fmt: skip
def test_fields_read_as_home_assistant_reads_them(
    config: dict[str, Any], attribute: str, expected: Any
) -> None:
    """Case of classes, numbers as text, cv.boolean words, precision from round()."""
    assert getattr(_read(config), attribute) == expected


def test_refusals_keep_labels_up_to_the_bound() -> None:
    """A refused sensor still says its name and device, if they are not too long."""
    for length, shown in ((MAX_TEXT_LENGTH, True), (MAX_TEXT_LENGTH + 1, False)):
        label = "d" * length
        payload = json.dumps({"stat_t": "a", "name": label, "dev": {"name": label}})
        result = _one(("homeassistant/switch/x/config", payload.encode()))
        assert isinstance(result, RefusedDiscovery)
        assert (result.name, result.device_name) == (
            (label, label) if shown else (None, None)
        )


def test_device_message_refusals() -> None:
    """A device message's own shape errors and its components' one by one."""
    topic = "homeassistant/device/dev1/config"

    def results(config: Any) -> tuple[DiscoveryResult, ...]:
        return parse_discovery_message(topic, json.dumps(config).encode())

    assert results({"dev": {}, "cmps": []})[0].reason is R.INVALID_FIELD  # type: ignore[union-attr]
    assert results({"dev": {}})[0].reason is R.INVALID_FIELD  # type: ignore[union-attr]
    assert results({"cmps": {}})[0].reason is R.REMOVED  # type: ignore[union-attr]
    many = {f"c{index}": {"p": "sensor"} for index in range(MAX_COMPONENTS + 1)}
    assert results({"cmps": many})[0].reason is R.TOO_MANY_COMPONENTS  # type: ignore[union-attr]
    exactly = {f"c{index}": {"p": "sensor"} for index in range(MAX_COMPONENTS)}
    assert len(results({"cmps": exactly})) == MAX_COMPONENTS
    mixed = results(
        {
            "stat_t": "shared",
            "cmps": {
                "bad": 5,
                "noplatform": {"unit_of_meas": "W"},
                "x" * (MAX_TEXT_LENGTH + 1): {"p": "sensor", "unit_of_meas": "W"},
                "good": {"p": "sensor", "unit_of_meas": "W"},
                "nodev": {"p": "sensor", "unit_of_meas": "W", "dev": {"ids": "own"}},
            },
            "dev": "not a device",
        }
    )
    assert [getattr(result, "reason", None) for result in mixed] == [
        R.INVALID_FIELD,
        R.INVALID_FIELD,
        R.INVALID_FIELD,
        R.INVALID_FIELD,  # the device's "dev" is not an object
        R.INVALID_FIELD,  # and it replaces the component's own
    ]
    fine = results(
        {"stat_t": "shared", "cmps": {"good": {"p": "sensor", "unit_of_meas": "W"}}}
    )
    assert isinstance(fine[0], DiscoveredSensor)
    assert (fine[0].state_topic, fine[0].object_id, fine[0].node_id) == (
        "shared",
        "good",
        "dev1",
    )
    assert fine[0].device == AnnouncedDevice()


# --- Value templates -------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "path", "digits"),
    [
        (None, (), None),
        ("{{ value }}", (), None),
        ("{{value}}", (), None),
        ("{{ value | float }}", (), None),
        ("{{ value_json.temperature }}", ("temperature",), None),
        ("{{ value_json.AM2301.Temperature }}", ("AM2301", "Temperature"), None),
        ("{{ value_json['temperature'] }}", ("temperature",), None),
        ('{{ value_json["a"]["b"] }}', ("a", "b"), None),
        ('{{ value_json["temperature"] }}', ("temperature",), None),
        ("{{value_json['SI7021-14'].Humidity}}", ("SI7021-14", "Humidity"), None),
        ("{{ value_json.x | float }}", ("x",), None),
        ("{{ value_json.x | float(0) }}", ("x",), None),
        ("{{ value_json.x | float(-1.5) }}", ("x",), None),
        ("{{ value_json.x | float(default=0) }}", ("x",), None),
        ("{{ value_json.x | round(1) }}", ("x",), 1),
        ("{{ value_json.x | round }}", ("x",), 0),
        ("{{ value_json.x | round(2, 'common') }}", ("x",), 2),
        ("{{ value_json.x | round(precision=2) }}", ("x",), 2),
        ("{{ value_json.x|float|round(2) }}", ("x",), 2),
        ("{{ value_json.x | round(3) | round(1) }}", ("x",), 1),
        ("{{ value_json.x | round(2) | float }}", ("x",), 2),
        ("{{ value_json.tempc | is_defined }}", ("tempc",), None),
        ("{{- value_json.x -}}", ("x",), None),
        ("  {{\n  value_json . x\n}}  ", ("x",), None),
        ("{{ value_json.sensors.0.value }}", ("sensors", "0", "value"), None),
        ("{{ value_json.sensors[1] }}", ("sensors", "1"), None),
        ("{{ value_json['switch:0'].apower }}", ("switch:0", "apower"), None),
        ("{{ value_json['é'] }}", ("é",), None),
    ],
)
def test_accepted_templates(
    template: str | None, path: tuple[str, ...], digits: int | None
) -> None:
    """Templates that read one value and at most convert or round it."""
    assert value_path_of(template) == TemplatePath(path, digits)


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ value_json.x }} {{ value_json.y }}", R.TEMPLATE_MULTIPLE),
        ("{{ value_json.x }} °C", R.TEMPLATE_MULTIPLE),
        ("{{ {{ value_json.x }}", R.TEMPLATE_MULTIPLE),
        ("value_json.x", R.TEMPLATE_MULTIPLE),
        ("{{ value_json.x {# c #} }}", R.TEMPLATE_MULTIPLE),
        ("{% set x = 1 %}{{ x }}", R.TEMPLATE_MULTIPLE),
        ("{%- if value_json.x %}1{% endif %}", R.TEMPLATE_CONDITION),
        ("{{ value_json.x is defined }}", R.TEMPLATE_CONDITION),
        ("{{ 'on' if value_json.x > 0 else 'off' }}", R.TEMPLATE_CONDITION),
        ("{{ value_json.x == 1 }}", R.TEMPLATE_CONDITION),
        ("{{ value_json.x and value_json.y }}", R.TEMPLATE_CONDITION),
        ("{{ not value_json.x }}", R.TEMPLATE_CONDITION),
        ("{{ value_json.power | is_defined | float > 0 }}", R.TEMPLATE_CONDITION),
        ("{{ value_json.x * 0.01 }}", R.TEMPLATE_ARITHMETIC),
        ("{{ value_json.x / 1000 }}", R.TEMPLATE_ARITHMETIC),
        ("{{ value_json.interval/1000 }}", R.TEMPLATE_ARITHMETIC),
        ("{{ value_json.x + 1 }}", R.TEMPLATE_ARITHMETIC),
        ("{{ -value_json.x }}", R.TEMPLATE_ARITHMETIC),
        ("{{ value_json.x ~ 'C' }}", R.TEMPLATE_ARITHMETIC),
        ("{{ value_json.x ** 2 }}", R.TEMPLATE_ARITHMETIC),
        ("{{ value_json.SI7021-14 }}", R.TEMPLATE_ARITHMETIC),  # Jinja subtracts
        ("{{ float(value_json.pa) * 0.01 | is_defined }}", R.TEMPLATE_ARITHMETIC),
        ("{{ value_json.x | int }}", R.TEMPLATE_FILTER),
        ("{{ value_json.x | default(0) }}", R.TEMPLATE_FILTER),
        ("{{ value_json.x | multiply(0.1) }}", R.TEMPLATE_FILTER),
        ("{{ value_json.x | round(2, 'floor') }}", R.TEMPLATE_FILTER),
        ("{{ value_json.x | round(-1) }}", R.TEMPLATE_FILTER),
        ("{{ value_json.x | float('nan') }}", R.TEMPLATE_FILTER),
        ("{{ value_json.x | is_defined(1) }}", R.TEMPLATE_FILTER),
        ("{{ value_json['a.b'] }}", R.TEMPLATE_NOT_A_PATH),
        ("{{ value_json[' a'] }}", R.TEMPLATE_NOT_A_PATH),
        ("{{ value_json[''] }}", R.TEMPLATE_NOT_A_PATH),
        ("{{ value_json.items }}", R.TEMPLATE_NOT_A_PATH),
        ("{{ value_json.a.values }}", R.TEMPLATE_NOT_A_PATH),
        ("{{ value_json.l[-1] }}", R.TEMPLATE_NOT_A_PATH),
        ("{{ value_json }}", R.TEMPLATE_NOT_A_PATH),
        ("{{ value_json" + ".a" * 17 + " }}", R.TEMPLATE_NOT_A_PATH),
        ("{{ states('sensor.x') }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ value.x }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ (value_json.x) }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ value_json.x | }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ value_json.x float }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ value_json[ }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ value_json['a' }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ value_json['a' | float }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ value_json[1.5] }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ value_json.a.1.5 }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ value_json[x] }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ value_json. }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ value_json.'a' }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ value_json.x( }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ value_json.x | float(0 }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ value_json['a\\'b'] }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ value_json.x @ 1 }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ 21 }}", R.TEMPLATE_UNSUPPORTED),
        ("{{ value_json.x }}" + " " * MAX_TEMPLATE_LENGTH, R.TEMPLATE_TOO_LONG),
    ],
)
def test_refused_templates(template: str, reason: R) -> None:
    """Each refusal names what the template does beyond reading one value."""
    assert value_path_of(template) is reason


_KEY = st.text(
    alphabet=st.characters(blacklist_characters=".'\"\\", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=8,
).filter(lambda key: key == key.strip())


@given(keys=st.lists(_KEY, min_size=1, max_size=6), quote=st.sampled_from("'\""))
def test_bracket_templates_read_their_keys(keys: list[str], quote: str) -> None:
    """`value_json['k1']['k2']...` reads exactly those keys, whatever they are."""
    template = (
        "{{ value_json" + "".join(f"[{quote}{key}{quote}]" for key in keys) + " }}"
    )
    result = value_path_of(template)
    # Template markers inside the expression make it another template; keys
    # that merely put "{" next to "{" across a "']['" do not.
    inner = template[2:-2]
    if "{{" in inner or "}}" in inner or "{%" in inner:
        assert isinstance(result, R)
        return
    assert result == TemplatePath(tuple(keys))
    assert parse_value_path(result.value_path) == tuple(keys)


@settings(max_examples=500)
@given(st.text(max_size=60))
def test_any_template_is_a_path_or_a_reason(template: str) -> None:
    """No template raises; a path is always one a value path can hold."""
    result = value_path_of(template)
    if isinstance(result, TemplatePath):
        if result.path:
            assert parse_value_path(result.value_path) == result.path
    else:
        assert isinstance(result, R)


_TEMPLATE_PIECES = [
    *"{}%|.[]()'\"-+*/=<> _",
    *("value_json", "value", "x", "0", "float", "round", "if", "is", "int", "1.5"),
]


@settings(max_examples=300)
@given(
    st.lists(st.sampled_from(_TEMPLATE_PIECES), max_size=30).map(
        lambda pieces: "{{ " + "".join(pieces) + " }}"
    )
)
def test_template_like_text_never_raises(template: str) -> None:
    """Text made of template pieces gets a path or a reason."""
    assert isinstance(value_path_of(template), TemplatePath | R)


# --- Against Home Assistant's own tables and rules ---------------------------------


def test_tables_match_home_assistant() -> None:
    """Abbreviations, unit spellings, classes and categories as the pinned release has them."""
    for short, full in ABBREVIATIONS.items():
        assert HA_ABBREVIATIONS[short] == full
    for short, full in DEVICE_ABBREVIATIONS.items():
        assert HA_DEVICE_ABBREVIATIONS[short] == full
    assert {str(k): str(v) for k, v in HA_AMBIGUOUS_UNITS.items()} == AMBIGUOUS_UNITS
    assert {member.value for member in SensorDeviceClass} == SENSOR_DEVICE_CLASSES
    assert {member.value for member in SensorStateClass} == SENSOR_STATE_CLASSES
    assert {member.value for member in HA_NON_NUMERIC} == NON_NUMERIC_DEVICE_CLASSES
    assert {member.value for member in EntityCategory} == ENTITY_CATEGORIES


@settings(max_examples=300)
@given(
    st.text(
        alphabet=st.sampled_from(["a", "/", "+", "#", " ", "\x00", "\x1f", "\x7f",
                                  "\x9f", "\ufdd0", "\ufffe", "é", "\ud800"]),
        max_size=12,
    )
)  # fmt: skip
def test_state_topics_are_checked_as_home_assistant_does(topic: str) -> None:
    """IoTitan's topic check agrees with valid_subscribe_topic (within the length bound)."""
    try:
        valid_subscribe_topic(topic)
    except vol.Invalid:
        expected = False
    else:
        expected = True
    assert discovery_module._valid_subscribe_topic(topic) is expected


@given(
    device_class=st.one_of(st.none(), st.sampled_from(sorted(SENSOR_DEVICE_CLASSES))),
    state_class=st.one_of(st.none(), st.sampled_from(sorted(SENSOR_STATE_CLASSES))),
    unit=st.one_of(st.none(), st.just("W")),
    precision=st.one_of(st.none(), st.just(1)),
)
def test_numeric_as_home_assistant_decides(
    device_class: str | None,
    state_class: str | None,
    unit: str | None,
    precision: int | None,
) -> None:
    """A sensor is offered exactly when Home Assistant expects a numeric state."""
    config: dict[str, Any] = {"stat_t": "a"}
    for key, value in (
        ("dev_cla", device_class),
        ("stat_cla", state_class),
        ("unit_of_meas", unit),
        ("sug_dsp_prc", precision),
    ):
        if value is not None:
            config[key] = value
    expected = _numeric_state_expected(
        SensorDeviceClass(device_class) if device_class else None,
        state_class,
        unit,
        precision,
    )
    assert (_reason(config) is None) is expected
    if not expected:
        assert _reason(config) is R.NOT_NUMERIC


# --- Fuzzing -----------------------------------------------------------------------

_CONFIG_KEYS = st.sampled_from(
    [*ABBREVIATIONS, *ABBREVIATIONS.values(), "~", "cmps", "dev", "ids", "cns", "x"]
)
_CONFIG_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**20), max_value=10**20),
        st.floats(),
        st.text(max_size=10),
        st.sampled_from(
            ["sensor", "temperature", "°C", "~/s", "{{ value_json.a }}", "measurement"]
        ),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(_CONFIG_KEYS, children, max_size=6),
    ),
    max_leaves=30,
)


@settings(max_examples=400)
@given(
    config=st.dictionaries(_CONFIG_KEYS, _CONFIG_VALUES, max_size=10),
    component=st.sampled_from(["sensor", "device", "binary_sensor"]),
)
def test_any_config_gives_results_never_exceptions(
    config: dict[str, Any], component: str
) -> None:
    """Arbitrary configs: results within bounds, sensors with usable fields."""
    topic = f"homeassistant/{component}/n/o/config"
    results = parse_discovery_message(topic, json.dumps(config).encode())
    assert 1 <= len(results) <= MAX_COMPONENTS
    for result in results:
        assert result.discovery_topic == topic
        if isinstance(result, RefusedDiscovery):
            assert isinstance(result.reason, R)
            continue
        assert discovery_module._valid_subscribe_topic(result.state_topic)
        if result.value_path:
            parse_value_path(result.value_path)
        assert result.device_class is None or result.device_class in (
            SENSOR_DEVICE_CLASSES - NON_NUMERIC_DEVICE_CLASSES
        )
        assert len(result.device.identifiers) <= MAX_IDENTIFIERS


@settings(max_examples=300)
@given(payload=st.binary(max_size=200), topic=st.text(max_size=40))
def test_any_bytes_and_topics(payload: bytes, topic: str) -> None:
    """Arbitrary payloads on discovery topics and arbitrary topics: refusals, no errors."""
    for subject in (topic, "homeassistant/sensor/a/config"):
        results = parse_discovery_message(subject, payload)
        assert results and all(
            isinstance(result, DiscoveredSensor | RefusedDiscovery)
            for result in results
        )
