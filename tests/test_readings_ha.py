"""Several readings per source, and readings dated by the sensor, in Home Assistant.

A Zigbee2MQTT or Tasmota device publishes one JSON payload with several
readings. A source of several readings gives each its own windows and
entities, named after the reading, on the one device of the topic. A source
dated by the sensor places each reading at the time its payload says (Tasmota
`Time`, Zigbee2MQTT `last_seen`): late readings go in time order, and every
statistic is what in-order arrival gives. Expected values are computed here
from the readings fired (`statistics.fmean`, max), or from the same hub fed in
time order, never read back from the code under test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
import json
from statistics import fmean
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
from pytest import approx
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.iotitan.const import DOMAIN
from custom_components.iotitan.diagnostics import async_get_config_entry_diagnostics
from custom_components.iotitan.message_log import journal_directory
from custom_components.iotitan.models import ReadingConfig

from .alerts_common import alert_subentry
from .common import hub_entry, sensor_subentry
from .engine.device_payloads import (
    TASMOTA_AM2301_TOPIC,
    Z2M_WEATHER,
    Z2M_WEATHER_TOPIC,
)

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]

WEATHER_READINGS = (
    ReadingConfig(
        key="temperature",
        value_path="temperature",
        name="Temperature",
        unit="°C",
        device_class="temperature",
    ),
    ReadingConfig(
        key="humidity",
        value_path="humidity",
        name="Humidity",
        unit="%",
        device_class="humidity",
        precision=0,
    ),
    ReadingConfig(
        key="linkquality",
        value_path="linkquality",
        name="Link quality",
        unit="lqi",
        diagnostic=True,
        statistics=("value_min",),  # type: ignore[arg-type]
    ),
)


def weather_source(**changes: Any) -> Any:
    source = {
        "title": "Weather",
        "windows": [3600.0],
        "statistics": ["mean", "value_max"],
        "unit": None,
        "device_class": None,
        "readings": WEATHER_READINGS,
    }
    source.update(changes)
    data = sensor_subentry(Z2M_WEATHER_TOPIC, **source)
    return {**data, "subentry_id": "weather"}


async def tick(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def entity_of(hass: HomeAssistant, unique_id: str) -> er.RegistryEntry:
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id("sensor", DOMAIN, unique_id)
    assert entity_id is not None, unique_id
    entry = registry.async_get(entity_id)
    assert entry is not None
    return entry


def state_of(hass: HomeAssistant, unique_id: str) -> str:
    state = hass.states.get(entity_of(hass, unique_id).entity_id)
    assert state is not None
    return state.state


async def test_each_reading_has_its_own_entities_on_the_topics_device(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Zigbee2MQTT's weather sensor: temperature, humidity, link quality."""
    entry = await setup_hub(hub_entry(weather_source()))
    document = json.loads(Z2M_WEATHER)
    temperatures = [document["temperature"], 23.0, 19.5]
    humidities = [document["humidity"], 51.0, 50.0]
    qualities = [document["linkquality"], 90, 140]
    payloads = [Z2M_WEATHER.decode()] + [
        json.dumps({**document, "temperature": t, "humidity": h, "linkquality": q})
        for t, h, q in zip(temperatures[1:], humidities[1:], qualities[1:], strict=True)
    ]
    for payload in payloads:
        async_fire_mqtt_message(hass, Z2M_WEATHER_TOPIC, payload)
        await hass.async_block_till_done()
    await tick(hass, freezer, 10)

    prefix = f"weather/{Z2M_WEATHER_TOPIC}"
    assert float(state_of(hass, f"{prefix}/3600/mean#temperature")) == approx(
        fmean(temperatures)
    )
    assert float(state_of(hass, f"{prefix}/3600/value_max#temperature")) == max(
        temperatures
    )
    assert float(state_of(hass, f"{prefix}/3600/mean#humidity")) == approx(
        fmean(humidities)
    )
    assert float(state_of(hass, f"{prefix}/3600/value_min#linkquality")) == min(
        qualities
    )
    # The reading's own statistics replace the source's: link quality has no mean.
    assert (
        er.async_get(hass).async_get_entity_id(
            "sensor", DOMAIN, f"{prefix}/3600/mean#linkquality"
        )
        is None
    )

    # Named after the reading, unit and class of the reading; diagnostic when asked.
    humidity = hass.states.get(
        entity_of(hass, f"{prefix}/3600/mean#humidity").entity_id
    )
    assert humidity is not None
    assert humidity.attributes["friendly_name"].endswith("Humidity mean 1h")
    assert humidity.attributes["unit_of_measurement"] == "%"
    assert humidity.attributes["device_class"] == "humidity"
    temperature = entity_of(hass, f"{prefix}/3600/mean#temperature")
    assert (
        temperature.entity_id == "sensor.zigbee2mqtt_weather_sensor_temperature_mean_1h"
    )
    quality = entity_of(hass, f"{prefix}/3600/value_min#linkquality")
    assert quality.entity_category is EntityCategory.DIAGNOSTIC
    assert temperature.entity_category is None

    # One device for the topic holds every reading's entities.
    devices = {
        entity_of(hass, f"{prefix}/3600/{key}").device_id
        for key in ("mean#temperature", "mean#humidity", "value_min#linkquality")
    }
    assert len(devices) == 1
    device = dr.async_get(hass).async_get(devices.pop())
    assert device is not None
    assert device.config_entries_subentries[entry.entry_id] == {"weather"}


async def test_a_payload_without_one_reading_counts_for_that_reading_only(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Zigbee2MQTT publishes partial states too: humidity missing is humidity's."""
    entry = await setup_hub(hub_entry(weather_source()))
    async_fire_mqtt_message(hass, Z2M_WEATHER_TOPIC, '{"temperature": 20.5}')
    async_fire_mqtt_message(hass, Z2M_WEATHER_TOPIC, '{"temperature": 21.5}')
    await hass.async_block_till_done()
    await tick(hass, freezer, 10)
    hub = entry.runtime_data
    assert hub.sources["weather:temperature"].topics[Z2M_WEATHER_TOPIC].rejected == {}
    assert hub.sources["weather:humidity"].topics[Z2M_WEATHER_TOPIC].rejected == {
        "path_not_found": 2
    }
    prefix = f"weather/{Z2M_WEATHER_TOPIC}"
    assert float(state_of(hass, f"{prefix}/3600/mean#temperature")) == 21.0
    assert state_of(hass, f"{prefix}/3600/mean#humidity") == "unknown"


async def test_an_alert_follows_its_reading_not_the_others(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
) -> None:
    alert = alert_subentry(high=60, source="weather", title="Damp")
    alert["data"] = {**alert["data"], "reading": "humidity"}
    entry = await setup_hub(hub_entry(weather_source(), alert))
    # Temperature above the limit: not the alert's reading.
    async_fire_mqtt_message(
        hass, Z2M_WEATHER_TOPIC, '{"temperature": 75, "humidity": 40}'
    )
    await hass.async_block_till_done()
    await tick(hass, freezer, 10)
    registry = er.async_get(hass)
    (alert_entity,) = [
        e
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.domain == "binary_sensor"
    ]
    assert hass.states.get(alert_entity.entity_id).state == "off"
    async_fire_mqtt_message(
        hass, Z2M_WEATHER_TOPIC, '{"temperature": 20, "humidity": 65}'
    )
    await hass.async_block_till_done()
    await tick(hass, freezer, 10)
    assert hass.states.get(alert_entity.entity_id).state == "on"


async def test_readings_come_back_after_a_restart(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The journal replays into every reading's windows (restart equivalence)."""
    entry = await setup_hub(hub_entry(weather_source()))
    for temperature, humidity in ((20.0, 40.0), (22.0, 44.0), (27.0, 45.0)):
        async_fire_mqtt_message(
            hass,
            Z2M_WEATHER_TOPIC,
            json.dumps({"temperature": temperature, "humidity": humidity}),
        )
        await hass.async_block_till_done()
        await tick(hass, freezer, 5)
    await tick(hass, freezer, 10)
    await entry.runtime_data.message_log.journal.flush()
    prefix = f"weather/{Z2M_WEATHER_TOPIC}"
    keys = [f"{prefix}/3600/{k}" for k in ("mean#temperature", "mean#humidity")]
    live = [state_of(hass, key) for key in keys]
    assert [float(value) for value in live] == [23.0, 43.0]
    for snapshot in (True, False):
        if not snapshot:
            entry.runtime_data.snapshot_writes["disabled"] = "full replay (test)"
            await hass.config_entries.async_unload(entry.entry_id)
            (journal_directory(hass, entry.entry_id) / "snapshot.bin").unlink()
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        await tick(hass, freezer, 1)
        report = entry.runtime_data.snapshot_report
        assert report["restored"] is snapshot, report
        assert [state_of(hass, key) for key in keys] == live


# -- dated by the sensor ------------------------------------------------------


def tasmota(moment: datetime, temperature: float) -> str:
    """Tasmota's telemetry: `Time` in local time without a zone (its default)."""
    local = moment.astimezone(dt_util.get_default_time_zone()).replace(tzinfo=None)
    return json.dumps(
        {
            "Time": local.isoformat(timespec="seconds"),
            "AM2301": {"Temperature": temperature, "Humidity": 50.0},
            "TempUnit": "C",
        }
    )


def tasmota_source(time_path: str) -> Any:
    data = sensor_subentry(
        TASMOTA_AM2301_TOPIC,
        title="Office",
        windows=[600.0],
        statistics=["mean", "average_step", "average_linear", "last", "count"],
        value_path="AM2301.Temperature",
        time_path=time_path,
    )
    return {**data, "subentry_id": "office"}


async def shown_after(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    messages: list[tuple[float, datetime, float]],
    time_path: str,
) -> tuple[dict[str, str], MockConfigEntry]:
    """Fire (arrival offset, sensor time, temperature) and read the statistics."""
    start = dt_util.utcnow()
    entry = await setup_hub(hub_entry(tasmota_source(time_path)))
    for offset, moment, temperature in sorted(messages, key=lambda m: m[0]):
        freezer.move_to(start + timedelta(seconds=offset))
        async_fire_mqtt_message(
            hass, TASMOTA_AM2301_TOPIC, tasmota(moment, temperature)
        )
        await hass.async_block_till_done()
    freezer.move_to(start + timedelta(seconds=max(m[0] for m in messages) + 10))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    prefix = f"office/{TASMOTA_AM2301_TOPIC}/600"
    return (
        {
            statistic: state_of(hass, f"{prefix}/{statistic}")
            for statistic in ("mean", "average_step", "average_linear", "last", "count")
        },
        entry,
    )


async def test_late_readings_dated_by_the_sensor_equal_in_order_arrival(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A reading sent late (a buffered Tasmota after a Wi-Fi drop) goes in time
    order: the time-weighted averages and `last` are those of in-order arrival."""
    now = dt_util.utcnow().replace(microsecond=0)
    at = [now + timedelta(seconds=s) for s in (0, 60, 120, 180)]
    # Arrival order 0, 2, 3 and then the reading of 60 s, 150 s late.
    late = [
        (0, at[0], 20.0),
        (120, at[2], 24.0),
        (180, at[3], 23.0),
        (210, at[1], 30.0),
    ]
    in_order = [
        (0, at[0], 20.0),
        (60, at[1], 30.0),
        (120, at[2], 24.0),
        (180, at[3], 23.0),
    ]
    shown_late, entry = await shown_after(hass, setup_hub, freezer, late, "Time")
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    topic = diagnostics["hub"]["sources"]["office"]["topics"][TASMOTA_AM2301_TOPIC]
    assert topic["late_samples_inserted"] == 1
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    freezer.move_to(now)
    shown_in_order, _ = await shown_after(hass, setup_hub, freezer, in_order, "Time")
    assert shown_late == shown_in_order
    # Independently: the mean of the four, the last by time (not by arrival).
    assert float(shown_late["mean"]) == approx(fmean([20.0, 30.0, 24.0, 23.0]))
    assert float(shown_late["last"]) == 23.0
    assert shown_late["count"] == "4"


async def test_arrival_time_stays_the_default(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Without a time path the late reading is the newest: `last` is its value."""
    now = dt_util.utcnow().replace(microsecond=0)
    late = [(0, now, 20.0), (120, now + timedelta(seconds=120), 24.0), (150, now, 30.0)]
    shown, _ = await shown_after(hass, setup_hub, freezer, late, "")
    assert float(shown["last"]) == 30.0


async def test_readings_the_sensor_dates_badly_are_counted_not_added(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
) -> None:
    now = dt_util.utcnow().replace(microsecond=0)
    messages = [
        (0, now, 20.0),
        # A clock 10 s fast: dated on arrival.
        (30, now + timedelta(seconds=40), 21.0),
        # An hour ahead: beyond the tolerance.
        (60, now + timedelta(hours=1), 99.0),
        # Older than the 10-minute window on arrival.
        (90, now - timedelta(minutes=20), 98.0),
    ]
    shown, entry = await shown_after(hass, setup_hub, freezer, messages, "Time")
    assert shown["count"] == "2"
    assert float(shown["mean"]) == 20.5
    async_fire_mqtt_message(
        hass, TASMOTA_AM2301_TOPIC, '{"AM2301": {"Temperature": 97.0}}'
    )
    async_fire_mqtt_message(
        hass, TASMOTA_AM2301_TOPIC, '{"Time": "soon", "AM2301": {"Temperature": 96}}'
    )
    await hass.async_block_till_done()
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    topic = diagnostics["hub"]["sources"]["office"]["topics"][TASMOTA_AM2301_TOPIC]
    assert topic["time_refused"] == {
        "too_far_in_future": 1,
        "older_than_window": 1,
        "missing": 1,
        "unparseable": 1,
    }
    assert topic["window_samples"] == {"600": 2} or list(
        topic["window_samples"].values()
    ) == [2]


async def test_sensor_dated_windows_come_back_after_a_restart(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The journal keeps the payload (with the sensor's time) and the arrival
    time: a replay places the late reading again, from a snapshot or not."""
    now = dt_util.utcnow().replace(microsecond=0)
    at = [now + timedelta(seconds=s) for s in (0, 60, 120)]
    late = [(0, at[0], 20.0), (120, at[2], 24.0), (150, at[1], 30.0)]
    live, entry = await shown_after(hass, setup_hub, freezer, late, "Time")
    await entry.runtime_data.message_log.journal.flush()
    for snapshot in (True, False):
        if not snapshot:
            entry.runtime_data.snapshot_writes["disabled"] = "full replay (test)"
            await hass.config_entries.async_unload(entry.entry_id)
            (journal_directory(hass, entry.entry_id) / "snapshot.bin").unlink()
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.runtime_data.snapshot_report["restored"] is snapshot
        prefix = f"office/{TASMOTA_AM2301_TOPIC}/600"
        again = {
            statistic: state_of(hass, f"{prefix}/{statistic}") for statistic in live
        }
        assert again == live
