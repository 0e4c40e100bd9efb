"""The simulator's discovery devices, read back with IoTitan's own engine.

No broker: the configs and payloads come from the simulator's pure builders,
and what it publishes from a recording stand-in for its MQTT client. The
expectations (units, device classes, value paths, time formats) are written
here from Zigbee2MQTT's and Tasmota's documentation, as in
tests/engine/discovery_configs.py and tests/engine/device_payloads.py, not read
from the simulator's own tables.
"""

from __future__ import annotations

from datetime import UTC, datetime
import importlib.util
import json
from pathlib import Path
import random
import re
import sys
import time
from types import ModuleType
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode
import pytest

from custom_components.iotitan.engine.discovery import (
    DiscoveredSensor,
    DiscoveryRefusal,
    RefusedDiscovery,
    parse_discovery_message,
)
from custom_components.iotitan.engine.readings import MultiPathParser, value_paths
from custom_components.iotitan.engine.sensor_time import (
    TASMOTA_TIME,
    ZIGBEE2MQTT_LAST_SEEN,
    read_payload_time,
)

ROOT = Path(__file__).resolve().parent.parent


def _load_simulator() -> ModuleType:
    """`scripts/simulator.py` as a module (scripts are no package)."""
    spec = importlib.util.spec_from_file_location(
        "iotitan_simulator", ROOT / "scripts" / "simulator.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


sim = _load_simulator()

# zigbee2mqtt.io docs/devices/WSDCGQ11LM.md: the exposed numeric properties,
# their units and (Zigbee2MQTT's Home Assistant extension) device classes;
# linkquality has a unit but no device class.
Z2M_STATE_TOPIC = "zigbee2mqtt/living_room_weather"
Z2M_EXPECTED = {
    "temperature": ("°C", "temperature"),
    "humidity": ("%", "humidity"),
    "pressure": ("hPa", "atmospheric_pressure"),
    "battery": ("%", "battery"),
    "voltage": ("mV", "voltage"),
    "linkquality": ("lqi", None),
}
Z2M_DIAGNOSTIC = {"battery", "linkquality"}
# Tasmota docs/AM2301.md and xdrv_12_home_assistant.ino: readings under the
# sensor's name, °C with TempUnit C; DewPoint has an icon, not a class.
TASMOTA_STATE_TOPIC = "tele/tasmota_A1B2C3/SENSOR"
TASMOTA_EXPECTED = {
    "AM2301.Temperature": ("°C", "temperature"),
    "AM2301.Humidity": ("%", "humidity"),
    "AM2301.DewPoint": ("°C", None),
}
# What a real reading can be: Aqara's range (-20..60 °C, 0..100 %, 300..1100
# hPa), a CR2032 cell (3 V nominal) and Zigbee's link quality (0..255).
PLAUSIBLE = {
    "temperature": (-20.0, 60.0),
    "humidity": (0.0, 100.0),
    "pressure": (300.0, 1100.0),
    "battery": (0.0, 100.0),
    "voltage": (2000.0, 3300.0),
    "linkquality": (0.0, 255.0),
    "AM2301.Temperature": (-40.0, 80.0),
    "AM2301.Humidity": (0.0, 100.0),
    "AM2301.DewPoint": (-60.0, 80.0),
}


def _sensors(messages: list[tuple[str, bytes]]) -> dict[str, DiscoveredSensor]:
    """Each numeric sensor announced, by value path; refusals are left out."""
    found = {}
    for topic, payload in messages:
        (result,) = parse_discovery_message(topic, payload)
        if isinstance(result, DiscoveredSensor):
            assert result.value_path not in found, topic
            found[result.value_path] = result
    return found


def test_zigbee2mqtt_configs_announce_numeric_sensors() -> None:
    """Each property is a numeric sensor at its own value path, as Zigbee2MQTT
    announces it: state topic, unit, class, ids and the device."""
    messages = sim.zigbee2mqtt_discovery_configs()
    sensors = _sensors(messages)
    assert set(sensors) == set(Z2M_EXPECTED)
    for path, (unit, device_class) in Z2M_EXPECTED.items():
        sensor = sensors[path]
        assert sensor.discovery_topic == (
            f"homeassistant/sensor/0x00158d0001234567/{path}/config"
        )
        assert (sensor.node_id, sensor.object_id) == ("0x00158d0001234567", path)
        assert sensor.state_topic == Z2M_STATE_TOPIC
        assert sensor.unit == unit
        assert sensor.device_class == device_class
        assert sensor.state_class == "measurement"
        assert sensor.diagnostic == (path in Z2M_DIAGNOSTIC)
        assert sensor.enabled_by_default == (path != "linkquality")
        assert sensor.unique_id == f"0x00158d0001234567_{path}_zigbee2mqtt"
        assert sensor.device.name == "living_room_weather"
        assert sensor.device.identifiers == ("zigbee2mqtt_0x00158d0001234567",)
        assert sensor.device.manufacturer == "Aqara"
    for topic, payload in messages:
        config = json.loads(payload)
        prop = topic.split("/")[3]
        assert config["object_id"] == f"living_room_weather_{prop}"
        assert config["value_template"] == f"{{{{ value_json.{prop} }}}}"
        assert config["origin"]["name"] == "Zigbee2MQTT"
        assert config["availability"] == [
            {
                "topic": "zigbee2mqtt/bridge/state",
                "value_template": "{{ value_json.state }}",
            }
        ]
        assert config["device"]["model_id"] == "WSDCGQ11LM"
        assert config["device"]["via_device"].startswith("zigbee2mqtt_bridge_0x")
        assert list(config) == sorted(config)  # json-stable-stringify


def test_zigbee2mqtt_last_seen_is_announced_as_a_timestamp() -> None:
    """Zigbee2MQTT with `advanced.last_seen` also announces a timestamp sensor,
    which is no number."""
    results = [
        parse_discovery_message(topic, payload)[0]
        for topic, payload in sim.zigbee2mqtt_discovery_configs()
    ]
    refused = [result for result in results if isinstance(result, RefusedDiscovery)]
    assert refused == [
        RefusedDiscovery(
            "homeassistant/sensor/0x00158d0001234567/last_seen/config",
            DiscoveryRefusal.NOT_NUMERIC,
            "sensor",
            "0x00158d0001234567",
            "last_seen",
            "Last seen",
            "living_room_weather",
        )
    ]


def test_tasmota_configs_announce_numeric_sensors() -> None:
    """Each AM2301 reading is a numeric sensor at `AM2301.<reading>`, in the
    abbreviated format of SetOption19 1."""
    messages = sim.tasmota_discovery_configs()
    sensors = _sensors(messages)
    assert set(sensors) == set(TASMOTA_EXPECTED)
    assert len(messages) == len(TASMOTA_EXPECTED)
    for path, (unit, device_class) in TASMOTA_EXPECTED.items():
        sensor = sensors[path]
        reading = path.split(".")[1]
        assert sensor.discovery_topic == (
            f"homeassistant/sensor/A1B2C3_AM2301_{reading}/config"
        )
        assert sensor.state_topic == TASMOTA_STATE_TOPIC
        assert sensor.unit == unit
        assert sensor.device_class == device_class
        assert sensor.state_class == "measurement"
        assert not sensor.diagnostic
        assert sensor.unique_id == f"A1B2C3_AM2301_{reading}"
        assert sensor.name == f"Office climate AM2301 {reading}"
        assert sensor.device.name == "Office climate"
        assert sensor.device.identifiers == ("A1B2C3",)
        assert sensor.device.manufacturer == "Tasmota"
        assert sensor.device.model
    for _topic, payload in messages:
        config = json.loads(payload)
        # Abbreviated as Tasmota writes them, never the full keys.
        assert {"stat_t", "val_tpl", "uniq_id", "unit_of_meas", "dev"} <= set(config)
        assert not {"state_topic", "value_template", "unique_id"} & set(config)
        assert set(config["dev"]) == {"ids", "name", "mdl", "sw", "mf"}
        assert config["avty_t"] == "tele/tasmota_A1B2C3/LWT"
        assert (config["pl_avail"], config["pl_not_avail"]) == ("Online", "Offline")


def test_discovery_configs_are_both_devices_under_the_prefix() -> None:
    """`discovery_configs` is both devices' messages; topics are unique."""
    messages = sim.discovery_configs()
    assert messages == (
        sim.zigbee2mqtt_discovery_configs() + sim.tasmota_discovery_configs()
    )
    topics = [topic for topic, _ in messages]
    assert len(set(topics)) == len(topics) == 10
    assert all(topic.startswith("homeassistant/sensor/") for topic in topics)
    assert sim.discovery_configs("ha")[0][0].startswith("ha/sensor/")


class _States(NamedTuple):
    zigbee2mqtt: list[bytes]
    tasmota: list[bytes]


def _states(steps: int, seed: int) -> _States:
    rng = random.Random(seed)
    weather, climate = sim.WeatherSensor(), sim.ClimateSensor()
    now = datetime.now(UTC)
    return _States(
        [sim.zigbee2mqtt_state(weather.step(rng), now) for _ in range(steps)],
        [sim.tasmota_state(climate.step(rng), now.astimezone()) for _ in range(steps)],
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_states_give_plausible_numbers_at_the_announced_paths(seed: int) -> None:
    """IoTitan reads every announced path of every state as a number in range,
    and the readings move (random walks, not constants)."""
    states = _states(500, seed)
    for payloads, messages in [
        (states.zigbee2mqtt, sim.zigbee2mqtt_discovery_configs()),
        (states.tasmota, sim.tasmota_discovery_configs()),
    ]:
        paths = sorted(_sensors(messages))
        parser = MultiPathParser(value_paths(paths))
        series: dict[str, list[float]] = {path: [] for path in paths}
        for payload in payloads:
            for path, reading in zip(paths, parser.parse(payload), strict=True):
                assert isinstance(reading, float), (path, reading, payload)
                low, high = PLAUSIBLE[path]
                assert low <= reading <= high, (path, reading)
                series[path].append(reading)
        for path in ("temperature", "humidity", "pressure", "AM2301.Temperature"):
            if path in series:
                assert len(set(series[path])) > 5, path
    dew_points = MultiPathParser(value_paths(["AM2301.Temperature", "AM2301.DewPoint"]))
    for payload in states.tasmota:
        temperature, dew = dew_points.parse(payload)
        assert isinstance(temperature, float) and isinstance(dew, float)
        assert dew <= temperature


def test_numbers_are_written_as_the_devices_write_them() -> None:
    """One decimal for temperature, humidity and pressure; battery, voltage and
    link quality are integers; Tasmota keeps its `.0`, JavaScript does not."""
    reading = sim.WeatherReading(
        temperature=21.0, humidity=48.249999, pressure=1012.3499, battery=97,
        voltage=2995, linkquality=120,
    )  # fmt: skip
    moment = datetime(2026, 12, 3, 10, 34, 56, 789_000, tzinfo=UTC)
    assert sim.zigbee2mqtt_state(reading, moment) == (
        b'{"battery":97,"humidity":48.2,"last_seen":"2026-12-03T10:34:56.789Z",'
        b'"linkquality":120,"pressure":1012.3,"temperature":21,"voltage":2995}'
    )
    climate = sim.ClimateReading(temperature=22.14, humidity=41.0)
    local = datetime(2026, 12, 3, 11, 34, 56, 999_999, tzinfo=ZoneInfo("Europe/Berlin"))
    payload = sim.tasmota_state(climate, local)
    assert payload.startswith(
        b'{"Time":"2026-12-03T11:34:56","AM2301":{"Temperature":22.1,'
        b'"Humidity":41.0,"DewPoint":'
    )
    assert payload.endswith(b'},"TempUnit":"C"}')
    for payload in _states(200, 4).zigbee2mqtt + _states(200, 5).tasmota:
        text = payload.decode()
        for number in re.findall(r'"(\w+)":(-?[\d.]+)', text):
            key, digits = number
            decimals = len(digits.partition(".")[2])
            if key in {"battery", "voltage", "linkquality"}:
                assert decimals == 0, text
            else:
                assert decimals <= 1, text


def test_dew_point_follows_the_magnus_formula() -> None:
    """20 °C at 50 % condenses at about 9.3 °C; saturated air at its own
    temperature; drier air lower."""
    assert sim.dew_point(20.0, 50.0) == pytest.approx(9.3, abs=0.1)
    assert sim.dew_point(22.0, 100.0) == pytest.approx(22.0, abs=1e-9)
    assert sim.dew_point(22.0, 30.0) < sim.dew_point(22.0, 60.0) < 22.0


def _document(payload: bytes) -> Any:
    readings, document = MultiPathParser(()).parse_with_document(payload)
    assert readings == ()
    return document


def test_last_seen_is_iso_8601_utc_with_milliseconds() -> None:
    """`advanced.last_seen: ISO_8601`: JavaScript's toISOString; IoTitan reads
    it as the same instant, whatever the zone of the time given."""
    moment = datetime(
        2026, 12, 3, 21, 4, 56, 789_000, tzinfo=ZoneInfo("Australia/Adelaide")
    )
    assert sim.zigbee2mqtt_last_seen(moment) == "2026-12-03T10:34:56.789Z"
    reading = sim.WeatherSensor().step(random.Random(0))
    document = _document(sim.zigbee2mqtt_state(reading, moment))
    seen = read_payload_time(document, ZIGBEE2MQTT_LAST_SEEN, local_tz=UTC)
    assert seen == pytest.approx(moment.timestamp(), abs=1e-6)


def test_tasmota_time_is_local_without_a_zone() -> None:
    """Tasmota's `"Time"` has no zone: read in the device's zone it is the
    instant, to the second."""
    adelaide = ZoneInfo("Australia/Adelaide")
    moment = datetime(2026, 12, 3, 21, 4, 56, 789_000, tzinfo=adelaide)
    assert sim.tasmota_time(moment) == "2026-12-03T21:04:56"
    reading = sim.ClimateSensor().step(random.Random(0))
    document = _document(sim.tasmota_state(reading, moment))
    seen = read_payload_time(document, TASMOTA_TIME, local_tz=adelaide)
    assert seen == moment.replace(microsecond=0).timestamp()
    # Read in another zone it is another instant: the zone really is left out.
    elsewhere = read_payload_time(document, TASMOTA_TIME, local_tz=UTC)
    assert elsewhere == seen + adelaide.utcoffset(moment).total_seconds()


class _Published(NamedTuple):
    topic: str
    payload: bytes
    qos: int
    retain: bool


class _RecordingClient:
    """Stands in for paho's client: records what would be published."""

    def __init__(self) -> None:
        self.published: list[_Published] = []

    def publish(
        self, topic: str, payload: str | bytes, qos: int = 0, retain: bool = False
    ) -> Any:
        data = payload.encode() if isinstance(payload, str) else payload
        self.published.append(_Published(topic, data, qos, retain))
        return type("Info", (), {"rc": 0})()


def _simulator(*argv: str) -> tuple[Any, _RecordingClient]:
    simulator = sim.Simulator(sim.parse_args(["--seed", "7", *argv]))
    client = _RecordingClient()
    simulator.client = client
    return simulator, client


def _connect(simulator: Any, client: _RecordingClient) -> None:
    success = ReasonCode(PacketTypes.CONNACK, identifier=0)
    simulator._on_connect(client, None, None, success, None)


def test_connecting_announces_both_devices_retained() -> None:
    """On (every) connect: the LWT, each discovery config and both devices'
    availability, all retained with QoS 1; nothing else."""
    simulator, client = _simulator()
    for _ in range(2):  # a broker restart announces them again
        client.published.clear()
        _connect(simulator, client)
        assert all(message.retain and message.qos == 1 for message in client.published)
        sent = [(message.topic, message.payload) for message in client.published]
        assert sent == [
            ("iotitan/home/status/LWT", b"Online"),
            *sim.discovery_configs(),
            ("zigbee2mqtt/bridge/state", b'{"state":"online"}'),
            ("tele/tasmota_A1B2C3/LWT", b"Online"),
        ]


def test_published_states_carry_the_real_clock() -> None:
    """What the simulator publishes every interval: one state per device, on
    the announced state topics, dated now by both time readers."""
    simulator, client = _simulator()
    simulator._publish_devices()
    assert [message.topic for message in client.published] == [
        Z2M_STATE_TOPIC,
        TASMOTA_STATE_TOPIC,
    ]
    assert not any(message.retain for message in client.published)
    assert simulator.published == 2
    z2m, tasmota = (_document(message.payload) for message in client.published)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", z2m["last_seen"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", tasmota["Time"])
    local_tz = datetime.now().astimezone().tzinfo
    assert local_tz is not None
    now = time.time()
    seen = read_payload_time(z2m, ZIGBEE2MQTT_LAST_SEEN, local_tz=local_tz)
    told = read_payload_time(tasmota, TASMOTA_TIME, local_tz=local_tz)
    assert isinstance(seen, float) and isinstance(told, float)
    assert abs(seen - now) < 5
    assert abs(told - now) < 5


def test_the_switch_leaves_the_devices_out() -> None:
    """On by default; `--no-discovery-devices` announces and publishes none."""
    assert sim.parse_args([]).discovery_devices is True
    assert sim.parse_args(["--no-discovery-devices"]).discovery_devices is False
    simulator, client = _simulator("--no-discovery-devices")
    _connect(simulator, client)
    assert [message.topic for message in client.published] == [
        "iotitan/home/status/LWT"
    ]


def test_the_devices_leave_the_rooms_readings_as_they_were() -> None:
    """With --seed, the rooms publish the same readings with the devices on:
    the devices draw from their own generator."""
    with_devices, recorded = _simulator()
    without, plain = _simulator("--no-discovery-devices")
    for _ in range(20):
        with_devices._publish_rooms()
        with_devices._publish_devices()
        without._publish_rooms()
    rooms = [
        message
        for message in recorded.published
        if message.topic.startswith("iotitan/")
    ]
    assert rooms == plain.published
    assert len(rooms) == 20 * 9


def test_device_readings_do_not_jump() -> None:
    """Consecutive reports differ by little, as a real sensor's do."""
    rng = random.Random(9)
    weather = sim.WeatherSensor()
    previous = weather.step(rng)
    for _ in range(1000):
        reading = weather.step(rng)
        assert abs(reading.temperature - previous.temperature) < 1.0
        assert abs(reading.humidity - previous.humidity) < 5.0
        assert abs(reading.pressure - previous.pressure) < 1.5
        assert reading.battery == previous.battery
        previous = reading


def test_the_demo_sets_up_the_simulated_tasmota_from_its_announcement() -> None:
    """scripts/develop adds the source of the topic the simulator announces."""
    spec = importlib.util.spec_from_file_location(
        "develop", ROOT / "scripts" / "develop.py"
    )
    assert spec is not None and spec.loader is not None
    develop = importlib.util.module_from_spec(spec)
    sys.modules["develop"] = develop
    try:
        spec.loader.exec_module(develop)
    finally:
        del sys.modules["develop"]
    assert develop.DISCOVERED_TOPIC == sim.TASMOTA_STATE_TOPIC == TASMOTA_STATE_TOPIC
    assert develop.DEMO_ZIGBEE2MQTT_TOPIC == sim.Z2M_STATE_TOPIC == Z2M_STATE_TOPIC
