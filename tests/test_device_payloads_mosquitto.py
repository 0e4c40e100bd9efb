"""Real devices' payloads, through a real Mosquitto, into sources of several readings.

The payloads of tests/engine/device_payloads.py (Zigbee2MQTT, Tasmota, Shelly
Gen2, ESPHome, OpenMQTTGateway, each written from its project's documents) are
published by a paho client of the test, QoS 1, to a real Mosquitto; Home
Assistant's real MQTT client (no `mqtt_mock`) hands them to IoTitan hubs whose
sources read what the documents describe. Expected values come from the
fixture bytes read with `json.loads` here (a dotted path followed by this
file's own few lines), never from IoTitan's parser; means from
`statistics.fmean` of the numbers published. Every wait is bounded and none is
a timing assertion.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
import json
from statistics import fmean
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    CONCENTRATION_MICROGRAMS_PER_CUBIC_METER,
    EntityCategory,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iotitan.const import DOMAIN
from custom_components.iotitan.engine.payload import DEFAULT_MAX_PAYLOAD_BYTES
from custom_components.iotitan.models import ReadingConfig

from .common import hub_entry, sensor_subentry
from .e2e.conftest import Mosquitto, MqttClient
from .engine.device_payloads import (
    ESPHOME_TEMPERATURE,
    ESPHOME_TEMPERATURE_TOPIC,
    OMG_LYWSD03MMC,
    OMG_LYWSD03MMC_TOPIC,
    OMG_MIJIA,
    SHELLY_NOTIFY_STATUS,
    SHELLY_SWITCH,
    SHELLY_SWITCH_TOPIC,
    TASMOTA_AM2301,
    TASMOTA_AM2301_TOPIC,
    TASMOTA_ENERGY,
    TASMOTA_ENERGY_TOPIC,
    Z2M_AIR,
    Z2M_AIR_TOPIC,
    Z2M_PLUG,
    Z2M_PLUG_TOPIC,
    Z2M_WEATHER,
    Z2M_WEATHER_TOPIC,
)
from .real_mqtt import settled, setup_mqtt, until

Publish = Callable[[str, bytes], Awaitable[None]]

WINDOW = 3600  # s: every source here has one window of an hour
# The fixtures name no topic for these two; the shapes are the documents'.
SHELLY_EVENTS_TOPIC = "shellyplus1pm-a8032ab12345/events/rpc"
OMG_MIJIA_TOPIC = "home/OpenMQTTGateway/BTtoMQTT/4C65A8DAF43A"


def reading(
    key: str,
    path: str,
    unit: str | None = None,
    device_class: str | None = None,
    *,
    diagnostic: bool = False,
) -> ReadingConfig:
    """A reading named after its key (its entities: "<Key> last 1h")."""
    return ReadingConfig(
        key=key,
        value_path=path,
        name=key.replace("_", " ").capitalize(),
        unit=unit,
        device_class=device_class,
        diagnostic=diagnostic,
    )


@dataclass(frozen=True)
class Device:
    """One device topic, the payload it publishes, and the readings in it."""

    source_id: str
    topic: str
    payload: bytes
    readings: tuple[ReadingConfig, ...]


# The readings each project documents (units quoted in device_payloads.py).
FAMILIES: dict[str, tuple[Device, ...]] = {
    "Zigbee2MQTT": (
        Device(
            "z2m_weather",
            Z2M_WEATHER_TOPIC,
            Z2M_WEATHER,
            (
                reading("temperature", "temperature", "°C", "temperature"),
                reading("humidity", "humidity", "%", "humidity"),
                reading("pressure", "pressure", "hPa", "pressure"),
                reading("battery", "battery", "%", "battery", diagnostic=True),
                reading("voltage", "voltage", "mV", "voltage"),
                reading("linkquality", "linkquality", "lqi", diagnostic=True),
            ),
        ),
        Device(
            "z2m_plug",
            Z2M_PLUG_TOPIC,
            Z2M_PLUG,
            (
                reading("power", "power", "W", "power"),
                reading("current", "current", "A", "current"),
                reading("voltage", "voltage", "V", "voltage"),
                # No device class: `energy` is a total, these are measurements.
                reading("energy", "energy", "kWh"),
                reading("linkquality", "linkquality", "lqi", diagnostic=True),
            ),
        ),
        Device(
            "z2m_air",
            Z2M_AIR_TOPIC,
            Z2M_AIR,
            (
                reading("co2", "co2", "ppm", "carbon_dioxide"),
                reading(
                    "pm25", "pm25", CONCENTRATION_MICROGRAMS_PER_CUBIC_METER, "pm25"
                ),
                reading("temperature", "temperature", "°C", "temperature"),
                reading("humidity", "humidity", "%", "humidity"),
                reading("illuminance", "illuminance", "lx", "illuminance"),
            ),
        ),
    ),
    "Tasmota": (
        Device(
            "tasmota_am2301",
            TASMOTA_AM2301_TOPIC,
            TASMOTA_AM2301,
            (
                reading("temperature", "AM2301.Temperature", "°C", "temperature"),
                reading("humidity", "AM2301.Humidity", "%", "humidity"),
                reading("dew_point", "AM2301.DewPoint", "°C", "temperature"),
            ),
        ),
        Device(
            "tasmota_energy",
            TASMOTA_ENERGY_TOPIC,
            TASMOTA_ENERGY,
            (
                reading("power", "ENERGY.Power", "W", "power"),
                reading("voltage", "ENERGY.Voltage", "V", "voltage"),
                reading("current", "ENERGY.Current", "A", "current"),
                reading("total", "ENERGY.Total", "kWh"),
            ),
        ),
    ),
    "Shelly Gen2": (
        Device(
            "shelly_switch",
            SHELLY_SWITCH_TOPIC,
            SHELLY_SWITCH,
            (
                reading("power", "apower", "W", "power"),
                reading("voltage", "voltage", "V", "voltage"),
                reading("current", "current", "A", "current"),
                reading("energy", "aenergy.total", "Wh"),
                reading(
                    "temperature",
                    "temperature.tC",
                    "°C",
                    "temperature",
                    diagnostic=True,
                ),
            ),
        ),
        Device(
            "shelly_events",
            SHELLY_EVENTS_TOPIC,
            SHELLY_NOTIFY_STATUS,
            (reading("power", "params.switch:0.apower", "W", "power"),),
        ),
    ),
    "ESPHome": (
        Device(
            "esphome_living_room",
            ESPHOME_TEMPERATURE_TOPIC,
            ESPHOME_TEMPERATURE,
            (reading("temperature", "", "°C", "temperature"),),
        ),
    ),
    "OpenMQTTGateway": (
        Device(
            "omg_atc",
            OMG_LYWSD03MMC_TOPIC,
            OMG_LYWSD03MMC,
            (
                reading("temperature", "tempc", "°C", "temperature"),
                reading("humidity", "hum", "%", "humidity"),
                reading("battery", "batt", "%", "battery", diagnostic=True),
                reading("voltage", "volt", "V", "voltage", diagnostic=True),
                reading("rssi", "rssi", "dBm", "signal_strength", diagnostic=True),
            ),
        ),
        Device(
            "omg_mijia",
            OMG_MIJIA_TOPIC,
            OMG_MIJIA,  # numbers as strings
            (
                reading("humidity", "hum", "%", "humidity"),
                reading("temperature", "tempc", "°C", "temperature"),
            ),
        ),
    ),
}


def documented(payload: bytes, path: str) -> float:
    """The number at `path` of the payload, read by the test (not by IoTitan).

    `json.loads`, then one key per dotted segment; a number written as a
    string (OpenMQTTGateway's Mi Jia) is that number. The empty path is a
    plain payload (ESPHome).
    """
    if not path:
        return float(payload.decode())
    node: Any = json.loads(payload)
    for segment in path.split("."):
        node = node[segment]
    assert not isinstance(node, bool)
    assert isinstance(node, int | float | str), node
    return float(node)


def source(
    device: Device, statistics: list[str], *, time_path: str = ""
) -> dict[str, Any]:
    """The device's sensor subentry, with the device's id as its subentry id."""
    data = sensor_subentry(
        device.topic,
        title=device.source_id,
        windows=[float(WINDOW)],
        statistics=statistics,
        unit=None,
        device_class=None,
        readings=device.readings,
        time_path=time_path,
    )
    return {**data, "subentry_id": device.source_id}


def uid(device: Device, statistic: str, key: str) -> str:
    """The unique id of a reading's statistic on the device's topic."""
    return f"{device.source_id}/{device.topic}/{WINDOW}/{statistic}#{key}"


def shown(hass: HomeAssistant, unique_id: str) -> str | None:
    """The state of the sensor of that unique id (None: no entity or state yet)."""
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, unique_id)
    if entity_id is None:
        return None
    state = hass.states.get(entity_id)
    return None if state is None else state.state


def matches(text: str | None, expected: object) -> bool:
    """Whether a state shows the number expected (a float, int or approx)."""
    try:
        return text is not None and float(text) == expected
    except ValueError:  # "unknown", "unavailable"
        return False


async def wait_shown(
    hass: HomeAssistant, expected: Mapping[str, object], what: str
) -> None:
    """Until every unique id's entity shows its expected number (bounded)."""

    def wrong() -> dict[str, tuple[str | None, object]]:
        return {
            unique_id: (shown(hass, unique_id), value)
            for unique_id, value in expected.items()
            if not matches(shown(hass, unique_id), value)
        }

    try:
        await until(what, lambda: not wrong(), limit=30)
    except pytest.fail.Exception:
        pytest.fail(f"{what}: (shown, expected) {wrong()}")


Start = Callable[..., Awaitable[None]]


@pytest.fixture
async def start(hass: HomeAssistant, broker: Mosquitto) -> AsyncIterator[Start]:
    """Start Home Assistant's MQTT client on the broker, then the hubs given,
    and wait until they are subscribed. Unloaded after the test, before the
    broker stops (also when the test failed)."""
    entries: list[MockConfigEntry] = []

    async def start_hubs(*hubs: MockConfigEntry) -> None:
        entries.append(await setup_mqtt(hass, broker.port))
        filters: set[str] = set()
        for hub in hubs:
            hub.add_to_hass(hass)
            entries.append(hub)
            assert await hass.config_entries.async_setup(hub.entry_id)
            await hass.async_block_till_done()
            filters.update(hub.runtime_data.as_diagnostics()["subscriptions"])
        await settled(broker, filters)

    yield start_hubs
    for entry in reversed(entries):
        if entry.state is ConfigEntryState.LOADED:
            assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


def rejected(hub: MockConfigEntry, device: Device) -> dict[str, dict[str, int]]:
    """Each reading's rejections on the device's topic (its diagnostics)."""
    sources = hub.runtime_data.sources
    return {
        r.key: dict(
            sources[f"{device.source_id}:{r.key}"].topics[device.topic].rejected
        )
        for r in device.readings
    }


@pytest.fixture
async def publish(hass: HomeAssistant, broker: Mosquitto) -> AsyncIterator[Publish]:
    """Publish as a device does: a paho client of its own, QoS 1 (PUBACK awaited).

    The client runs its network loop in a thread; its calls go through the
    executor so the event loop never waits on the broker.
    """
    client = await hass.async_add_executor_job(
        MqttClient, broker.port, "iotitan-test-devices"
    )

    async def send(topic: str, payload: bytes) -> None:
        await hass.async_add_executor_job(client.publish, topic, payload, 1)

    try:
        yield send
    finally:
        await hass.async_add_executor_job(client.close)


async def test_every_family_reaches_its_readings(
    hass: HomeAssistant, start: Start, publish: Publish
) -> None:
    """One hub per family, a source per device topic: each documented reading
    shows the document's number (`last`, `value_max`), once (`count`)."""
    hubs = {
        family: hub_entry(
            *(source(d, ["last", "value_max", "count"]) for d in devices),
            name=family,
            update_interval=1,
        )
        for family, devices in FAMILIES.items()
    }
    await start(*hubs.values())
    for devices in FAMILIES.values():
        for device in devices:
            await publish(device.topic, device.payload)

    expected: dict[str, object] = {}
    for devices in FAMILIES.values():
        for device in devices:
            for r in device.readings:
                number = documented(device.payload, r.value_path)
                expected[uid(device, "last", r.key)] = number
                expected[uid(device, "value_max", r.key)] = number
                expected[uid(device, "count", r.key)] = 1
    await wait_shown(hass, expected, "every reading of every device")

    registry = er.async_get(hass)
    for family, devices in FAMILIES.items():
        for device in devices:
            # Every value path found, every value a number.
            assert rejected(hubs[family], device) == {
                r.key: {} for r in device.readings
            }, device.source_id
            for r in device.readings:
                entity_id = registry.async_get_entity_id(
                    "sensor", DOMAIN, uid(device, "last", r.key)
                )
                assert entity_id is not None
                entity = registry.async_get(entity_id)
                assert entity is not None
                assert (entity.entity_category is EntityCategory.DIAGNOSTIC) is (
                    r.diagnostic
                ), entity_id
                state = hass.states.get(entity_id)
                assert state is not None
                assert state.attributes.get("unit_of_measurement") == r.unit, entity_id


def weather_payload(**changes: float) -> bytes:
    """The Zigbee2MQTT weather sensor's payload with some numbers changed."""
    return json.dumps({**json.loads(Z2M_WEATHER), **changes}).encode()


WEATHER = FAMILIES["Zigbee2MQTT"][0]


async def test_the_mean_of_varying_payloads(
    hass: HomeAssistant, start: Start, publish: Publish
) -> None:
    """Five states of the weather sensor: each reading's mean is the mean of the
    numbers published, its maximum their maximum, its last the last one."""
    hub = hub_entry(
        source(WEATHER, ["mean", "value_max", "last", "count"]), update_interval=1
    )
    await start(hub)
    payloads = [
        Z2M_WEATHER,
        weather_payload(temperature=22.9, humidity=51.3, pressure=1011.8),
        weather_payload(temperature=19.65, humidity=47.0, pressure=1013.05),
        weather_payload(temperature=23.3, humidity=55.5, pressure=1012.0),
        weather_payload(temperature=20.05, humidity=49.9, pressure=1010.7),
    ]
    for payload in payloads:
        await publish(WEATHER.topic, payload)

    expected: dict[str, object] = {}
    for key in ("temperature", "humidity", "pressure"):
        numbers = [documented(payload, key) for payload in payloads]
        expected[uid(WEATHER, "mean", key)] = pytest.approx(fmean(numbers))
        expected[uid(WEATHER, "value_max", key)] = max(numbers)
        expected[uid(WEATHER, "last", key)] = numbers[-1]
        expected[uid(WEATHER, "count", key)] = len(payloads)
    await wait_shown(hass, expected, "the means of five weather payloads")


def tasmota_at(moment_ago: float, **am2301: float) -> bytes:
    """Tasmota's AM2301 telemetry dated `moment_ago` s ago, in local time
    without a zone (Tasmota's default `Time`), some numbers changed."""
    document = json.loads(TASMOTA_AM2301)
    local = dt_util.now() - timedelta(seconds=moment_ago)
    document["Time"] = local.replace(tzinfo=None).isoformat(timespec="seconds")
    document["AM2301"] = {**document["AM2301"], **am2301}
    return json.dumps(document).encode()


async def test_a_late_tasmota_payload_is_placed_by_its_time(
    hass: HomeAssistant, start: Start, publish: Publish
) -> None:
    """Dated by `Time`, an older payload sent after a newer one is not the
    last; dated on arrival (the same payloads, another source) it is."""
    am2301 = FAMILIES["Tasmota"][0]
    arrival = Device(
        "tasmota_arrival", am2301.topic, am2301.payload, am2301.readings[:1]
    )
    hub = hub_entry(
        source(am2301, ["last", "value_max", "count"], time_path="Time"),
        source(arrival, ["last", "count"]),
        name="Tasmota",
        update_interval=1,
    )
    await start(hub)
    newer = tasmota_at(60)  # the fixture's numbers
    older = tasmota_at(240, Temperature=25.3, Humidity=61.0, DewPoint=17.2)
    await publish(am2301.topic, newer)
    await wait_shown(
        hass,
        {
            uid(am2301, "count", "temperature"): 1,
            uid(arrival, "count", "temperature"): 1,
        },
        "the newer payload",
    )
    await publish(am2301.topic, older)

    expected: dict[str, object] = {uid(arrival, "count", "temperature"): 2}
    for r in am2301.readings:
        path = r.value_path
        expected[uid(am2301, "count", r.key)] = 2
        # The newest by the sensor's time, though it arrived first.
        expected[uid(am2301, "last", r.key)] = documented(newer, path)
        expected[uid(am2301, "value_max", r.key)] = max(
            documented(newer, path), documented(older, path)
        )
    # By arrival, the older payload is the last.
    expected[uid(arrival, "last", "temperature")] = documented(
        older, "AM2301.Temperature"
    )
    await wait_shown(hass, expected, "both payloads in sensor time order")
    topics = hub.runtime_data.sources
    for r in am2301.readings:
        state = topics[f"{am2301.source_id}:{r.key}"].topics[am2301.topic]
        assert dict(state.time_refused) == {}, r.key


async def test_junk_on_a_device_topic_is_rejected_and_changes_nothing(
    hass: HomeAssistant, start: Start, publish: Publish
) -> None:
    """Binary, invalid JSON and an oversized payload on the weather sensor's
    topic: each reading counts them and its statistics hold only the two
    valid payloads. The junk carries a temperature of 99.9 where it can."""
    hub = hub_entry(
        source(WEATHER, ["mean", "value_max", "last", "count"]), update_interval=1
    )
    await start(hub)
    await publish(WEATHER.topic, Z2M_WEATHER)
    await wait_shown(
        hass,
        {uid(WEATHER, "count", r.key): 1 for r in WEATHER.readings},
        "the first weather payload",
    )
    huge = weather_payload(temperature=99.9) + b" " * DEFAULT_MAX_PAYLOAD_BYTES
    json.loads(huge)  # valid JSON: refused for its size alone
    junk = [
        b"\x00\xff\xfe\x80temperature\x9c",  # binary: not UTF-8
        weather_payload(temperature=99.9)[:-1],  # the closing brace missing
        huge,
    ]
    for payload in junk:
        await publish(WEATHER.topic, payload)
    reasons = {"not_utf8": 1, "invalid_json": 1, "too_large": 1}
    every = {r.key: reasons for r in WEATHER.readings}
    await until("the junk counted", lambda: rejected(hub, WEATHER) == every)

    last = weather_payload(temperature=22.6, humidity=50.0, voltage=2990)
    await publish(WEATHER.topic, last)
    valid = [Z2M_WEATHER, last]
    expected: dict[str, object] = {}
    for r in WEATHER.readings:
        numbers = [documented(payload, r.value_path) for payload in valid]
        expected[uid(WEATHER, "count", r.key)] = 2
        expected[uid(WEATHER, "mean", r.key)] = pytest.approx(fmean(numbers))
        expected[uid(WEATHER, "value_max", r.key)] = max(numbers)
        expected[uid(WEATHER, "last", r.key)] = numbers[-1]
    await wait_shown(hass, expected, "the statistics of the valid payloads only")
    assert rejected(hub, WEATHER) == every
