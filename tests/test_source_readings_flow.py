"""The sensor source flow's readings: heard by listening, announced by devices.

Payloads and discovery configs are the fixtures written from each project's
documentation (tests/engine/device_payloads.py, discovery_configs.py); the
expected names, units and classes come from those documents.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
import json
from statistics import fmean
from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigSubentryData,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)

from custom_components.iotitan.const import (
    DOMAIN,
    SUBENTRY_ALERT,
    SUBENTRY_CHANNEL,
    SUBENTRY_SENSOR,
)
from custom_components.iotitan.models import ReadingConfig

from .common import (
    configure_sensor,
    hub_entry,
    sensor_subentry,
    start_sensor_flow,
    subentry_id,
)
from .engine import device_payloads as payloads, discovery_configs as configs

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]

Z2M_ANNOUNCED = (
    configs.Z2M_TEMPERATURE,
    configs.Z2M_HUMIDITY,
    configs.Z2M_PRESSURE,
    configs.Z2M_BATTERY,
    configs.Z2M_VOLTAGE,
    configs.Z2M_LINKQUALITY,
    configs.Z2M_LAST_SEEN_ISO,
)


def topic_form(topic: str, **overrides: Any) -> dict[str, Any]:
    """The topic form without a value path: the flow listens for readings."""
    return {
        "topic": topic,
        "windows": ["1h"],
        "statistics": ["mean"],
        "advanced": {"percentile": 95, "precision": 2, "max_topics": 10},
        **overrides,
    }


def options_of(result: Any, field: str = "readings") -> dict[str, str]:
    """label -> value of a select field of a form."""
    selector = next(
        value for key, value in result["data_schema"].schema.items() if key == field
    )
    return {option["label"]: option["value"] for option in selector.config["options"]}


def suggested(result: Any) -> dict[str, Any]:
    return {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description and "suggested_value" in key.description
    }


async def listen(
    hass: HomeAssistant, entry: MockConfigEntry, form: dict[str, Any], *heard: tuple[str, bytes]
) -> Any:
    """Submit the topic form, let the flow hear `heard`, return the next step."""
    result = await start_sensor_flow(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], form
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["step_id"] == "listen"
    for topic, payload in heard:
        async_fire_mqtt_message(hass, topic, payload)
    await hass.async_block_till_done()
    return await hass.config_entries.subentries.async_configure(result["flow_id"])


async def test_zigbee2mqtt_readings_are_heard_guessed_ticked_and_adjusted(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    entry = await setup_hub(hub_entry())
    topic = payloads.Z2M_WEATHER_TOPIC
    result = await listen(
        hass, entry, topic_form(topic, name="Weather"), (topic, payloads.Z2M_WEATHER)
    )
    assert result["step_id"] == "readings"
    options = options_of(result)
    # WSDCGQ11LM.md: temperature °C, humidity %, pressure hPa, linkquality lqi.
    for label in (
        "temperature: 21.4 °C",
        "humidity: 48.2 %",
        "pressure: 1012.3 hPa",
        "linkquality: 120 lqi",
        "battery: 97 %",
    ):
        assert label in options, options
    ticked = set(suggested(result)["readings"])
    for field in ("temperature", "humidity", "pressure"):
        assert options[next(k for k in options if k.startswith(f"{field}:"))] in ticked
    for field in ("linkquality", "battery"):  # about the device: diagnostic
        assert options[next(k for k in options if k.startswith(f"{field}:"))] not in ticked

    chosen = [options["temperature: 21.4 °C"], options["humidity: 48.2 %"]]
    result = await configure_sensor(hass, result["flow_id"], {"readings": chosen})
    assert result["step_id"] == "reading"
    assert result["description_placeholders"] == {
        "field": "temperature",
        "position": "1",
        "count": "2",
    }
    assert suggested(result) == {
        "name": "Temperature",
        "unit_of_measurement": "°C",
        "device_class": "temperature",
        "diagnostic": False,
    }
    # The unit must fit the device class, as in the source form.
    result = await configure_sensor(
        hass,
        result["flow_id"],
        {"name": "Air", "unit_of_measurement": "kg", "device_class": "temperature"},
    )
    assert result["errors"] == {"unit_of_measurement": "unit_invalid_for_device_class"}
    result = await configure_sensor(
        hass, result["flow_id"], {"name": "Air", "precision": 7}
    )
    assert result["errors"] == {"precision": "precision_range"}
    result = await configure_sensor(
        hass,
        result["flow_id"],
        {
            "name": " Air temperature ",
            "unit_of_measurement": "°C",
            "device_class": "temperature",
            "precision": 1,
            "diagnostic": False,
        },
    )
    assert result["description_placeholders"]["position"] == "2"
    assert suggested(result)["unit_of_measurement"] == "%"
    result = await configure_sensor(
        hass, result["flow_id"], {**suggested(result), "name": "Humidity"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Weather"
    data = result["data"]
    assert data["topic"] == topic
    assert data["words_as_numbers"] is False  # measurements
    assert [
        (r["key"], r["value_path"], r["name"], r["unit_of_measurement"])
        for r in data["readings"]
    ] == [
        ("temperature", "temperature", "Air temperature", "°C"),
        ("humidity", "humidity", "Humidity", "%"),
    ]
    assert data["readings"][0]["precision"] == 1
    assert data["readings"][1]["device_class"] == "humidity"
    await hass.async_block_till_done()

    # The saved source runs: each reading has its own statistics.
    sent = [(21.0, 40.0), (23.0, 50.0), (22.5, 45.5)]
    for temperature, humidity in sent:
        async_fire_mqtt_message(
            hass,
            topic,
            json.dumps({"temperature": temperature, "humidity": humidity, "linkquality": 9}),
        )
        await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=11))
    await hass.async_block_till_done()
    # The payload heard while listening is in the hub's journal: the new
    # source's windows start with it.
    sent.insert(0, (21.4, 48.2))
    states = {
        state.entity_id: state.state
        for state in hass.states.async_all("sensor")
        if state.entity_id.endswith("_mean_1h")
    }
    temperature_id = "sensor.zigbee2mqtt_weather_sensor_air_temperature_mean_1h"
    humidity_id = "sensor.zigbee2mqtt_weather_sensor_humidity_mean_1h"
    assert set(states) == {temperature_id, humidity_id}, states
    assert float(states[temperature_id]) == pytest.approx(
        fmean(t for t, _ in sent), abs=0.01
    )
    assert float(states[humidity_id]) == pytest.approx(
        fmean(h for _, h in sent), abs=0.01
    )
