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

from homeassistant.components import mqtt
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigSubentry,
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

from custom_components.iotitan.config_flow import MAX_LISTEN_PAYLOADS
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
    hass: HomeAssistant,
    entry: MockConfigEntry,
    form: dict[str, Any],
    *heard: tuple[str, bytes],
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
        assert (
            options[next(k for k in options if k.startswith(f"{field}:"))] not in ticked
        )

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
            json.dumps(
                {"temperature": temperature, "humidity": humidity, "linkquality": 9}
            ),
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


async def test_tasmota_nested_fields_and_keys(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """AM2301.md: Temperature °C and Humidity % nested under the sensor; Time skipped."""
    entry = await setup_hub(hub_entry())
    topic = payloads.TASMOTA_AM2301_TOPIC
    huge = json.dumps({"Big": 1, "pad": "x" * 70_000}).encode()  # over 64 KiB
    result = await listen(
        hass,
        entry,
        topic_form(topic, words_as_numbers=True),
        (topic, huge),
        (topic, payloads.TASMOTA_AM2301),
    )
    options = options_of(result)
    assert not [label for label in options if label.startswith("Big")]
    assert "AM2301.Temperature: 21.4 °C" in options
    assert "AM2301.Humidity: 48 %" in options
    assert not [label for label in options if label.startswith("Time")]
    result = await configure_sensor(
        hass,
        result["flow_id"],
        {"readings": [options["AM2301.Temperature: 21.4 °C"]]},
    )
    result = await configure_sensor(hass, result["flow_id"], suggested(result))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == topic
    [reading] = result["data"]["readings"]
    assert reading["key"] == "am2301_temperature"
    assert reading["value_path"] == "AM2301.Temperature"
    assert result["data"]["words_as_numbers"] is True  # as asked


@pytest.mark.parametrize(
    "heard",
    [
        [(payloads.ESPHOME_TEMPERATURE_TOPIC, payloads.ESPHOME_TEMPERATURE)],
        [],  # a sensor that publishes rarely: saved all the same
    ],
    ids=["plain_number", "nothing"],
)
async def test_plain_or_no_payloads_save_one_reading_of_the_payload(
    hass: HomeAssistant, setup_hub: SetupHub, heard: list[tuple[str, bytes]]
) -> None:
    entry = await setup_hub(hub_entry())
    result = await listen(
        hass,
        entry,
        topic_form(payloads.ESPHOME_TEMPERATURE_TOPIC, unit_of_measurement="°C"),
        *heard,
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    [reading] = result["data"]["readings"]
    assert (reading["key"], reading["value_path"]) == ("", "")
    assert reading["unit_of_measurement"] == "°C"


async def test_readings_step_errors(hass: HomeAssistant, setup_hub: SetupHub) -> None:
    entry = await setup_hub(hub_entry())
    many = json.dumps({f"f{number}": number for number in range(40)}).encode()
    result = await listen(hass, entry, topic_form("many/fields"), ("many/fields", many))
    everything = list(options_of(result).values())
    assert len(everything) == 40
    result = await configure_sensor(hass, result["flow_id"], {"readings": []})
    assert result["errors"] == {"base": "readings_required"}
    result = await configure_sensor(hass, result["flow_id"], {"readings": everything})
    assert result["errors"] == {"base": "too_many_readings"}


def announce(hass: HomeAssistant, *messages: tuple[str, bytes]) -> None:
    for topic, payload in messages:
        async_fire_mqtt_message(hass, topic, payload, retain=True)


async def discover(
    hass: HomeAssistant, entry: MockConfigEntry, *messages: tuple[str, bytes]
) -> Any:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_SENSOR), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "discovered"}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["step_id"] == "discover"
    announce(hass, *messages)
    await hass.async_block_till_done()
    return await hass.config_entries.subentries.async_configure(result["flow_id"])


async def test_discovered_sensors_become_a_source_of_our_own_device(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    entry = await setup_hub(hub_entry())
    result = await discover(
        hass,
        entry,
        *Z2M_ANNOUNCED,
        configs.Z2M_SWITCH,
        configs.TASMOTA_HUMIDITY,
        configs.TASMOTA_ENERGY_TOTAL,
        configs.OMG_PA,
    )
    assert result["step_id"] == "discovered"
    groups = options_of(result, "group")
    # The Zigbee2MQTT device: six numeric sensors on its state topic.
    z2m = (
        "weather_sensor (Aqara Temperature and humidity sensor): "
        "zigbee2mqtt/weather_sensor"
    )
    assert z2m in groups, groups
    assert "A1B2C3: tele/tasmota_A1B2C3/SENSOR" in groups
    refused = result["description_placeholders"]["refused"]
    # OpenMQTTGateway's pa template multiplies; last_seen is a timestamp.
    assert "pa: value template computes with the value (arithmetic)" in refused
    assert "not a numeric sensor" in refused
    assert "switch_left" not in refused  # not a sensor at all: not listed

    result = await configure_sensor(hass, result["flow_id"], {"group": groups[z2m]})
    assert result["step_id"] == "discovered_readings"
    sensors = options_of(result)
    assert set(sensors) == {
        "Temperature (°C)",
        "Humidity (%)",
        "Pressure (hPa)",
        "Battery (%)",
        "Voltage (mV)",
        "Linkquality (lqi)",
    }
    ticked = set(suggested(result)["readings"])
    assert ticked == {
        sensors[label]
        for label in (
            "Temperature (°C)",
            "Humidity (%)",
            "Pressure (hPa)",
            "Voltage (mV)",
        )
    }
    result = await configure_sensor(hass, result["flow_id"], {"readings": []})
    assert result["errors"] == {"base": "readings_required"}
    result = await configure_sensor(
        hass,
        result["flow_id"],
        {"readings": [sensors["Temperature (°C)"], sensors["Linkquality (lqi)"]]},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "weather_sensor"
    data = result["data"]
    assert data["topic"] == "zigbee2mqtt/weather_sensor"
    assert data["device"]["name_template"] == "weather_sensor"
    assert [
        (
            r["key"],
            r["value_path"],
            r["name"],
            r["unit_of_measurement"],
            r["diagnostic"],
        )
        for r in data["readings"]
    ] == [
        ("temperature", "temperature", "Temperature", "°C", False),
        ("linkquality", "linkquality", "Linkquality", "lqi", True),
    ]
    assert data["readings"][0]["device_class"] == "temperature"
    await hass.async_block_till_done()

    # The announcing integration's device, as Home Assistant's MQTT makes it.
    registry = dr.async_get(hass)
    (mqtt_entry,) = hass.config_entries.async_entries("mqtt")
    announced = registry.async_get_or_create(
        config_entry_id=mqtt_entry.entry_id,
        identifiers={("mqtt", "zigbee2mqtt_0x0017880104e45522")},
        name="weather_sensor",
    )
    async_fire_mqtt_message(hass, payloads.Z2M_WEATHER_TOPIC, payloads.Z2M_WEATHER)
    await hass.async_block_till_done()
    ours = [
        device
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
        if device.model == "zigbee2mqtt/weather_sensor"
    ]
    assert len(ours) == 1
    assert ours[0].name == "weather_sensor"  # as announced, not "Zigbee2mqtt ..."
    assert {domain for domain, _ in ours[0].identifiers} == {DOMAIN}
    entities = er.async_get(hass)
    assert not [
        e
        for e in er.async_entries_for_device(entities, announced.id)
        if e.platform == DOMAIN
    ]
    assert er.async_entries_for_device(entities, ours[0].id)


async def test_nothing_discovered_says_why(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    entry = await setup_hub(hub_entry())
    _, payload = configs.OMG_PA
    refusals = [(f"homeassistant/sensor/pa{n}/config", payload) for n in range(22)]
    huge = (
        "homeassistant/sensor/huge/config",
        json.dumps({"stat_t": "a/b", "unit_of_meas": "°C", "x": "y" * 70_000}).encode(),
    )
    result = await discover(hass, entry, *refusals, huge, configs.Z2M_SWITCH)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_discovered_sensors"
    refused = result["description_placeholders"]["refused"]
    assert refused.count("arithmetic") == 20  # the first 20, then how many more
    assert "\n- … and 2 more" in refused  # strings.json: discovery_refusal "more"
    assert "huge" not in refused  # over 64 KiB: never read
    # A device whose topic already is a source is left out.
    entry2 = await setup_hub(
        hub_entry(sensor_subentry("zigbee2mqtt/weather_sensor"), name="Second")
    )
    result = await discover(hass, entry2, configs.Z2M_TEMPERATURE)
    assert result["reason"] == "no_discovered_sensors"
    assert result["description_placeholders"]["refused"] == ""


async def test_a_discovered_topic_taken_meanwhile_is_refused(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    entry = await setup_hub(hub_entry())
    topic, payload = configs.ESPHOME_TEMPERATURE
    # Announced twice (another object id): one sensor of the device.
    result = await discover(
        hass, entry, (topic, payload), (topic.replace("living_room", "again"), payload)
    )
    (group,) = options_of(result, "group").values()
    result = await configure_sensor(hass, result["flow_id"], {"group": group})
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            **sensor_subentry("livingroom/sensor/living_room_temperature/state")
        ),
    )
    await hass.async_block_till_done()
    (sensor,) = options_of(result).values()
    result = await configure_sensor(hass, result["flow_id"], {"readings": [sensor]})
    assert result["errors"] == {"base": "topic_in_use"}


def weather_source(subentry: str = "weather0source") -> ConfigSubentryData:
    data = sensor_subentry(
        payloads.Z2M_WEATHER_TOPIC,
        title="Weather",
        readings=(
            ReadingConfig(
                "temperature", "temperature", "Temperature", "°C", "temperature", 1
            ),
            ReadingConfig("humidity", "humidity", "", "%", "humidity"),
        ),
    )
    return ConfigSubentryData(**{**data, "subentry_id": subentry})


async def test_reconfiguring_several_readings_keeps_their_keys(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    entry = await setup_hub(hub_entry(weather_source()))
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_SENSOR),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": "weather0source"},
    )
    fields = {str(key) for key in result["data_schema"].schema}
    assert not fields & {"value_path", "unit_of_measurement", "device_class"}
    assert "time_path" in fields
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {**topic_form(payloads.Z2M_WEATHER_TOPIC), "time_path": "last_seen"},
    )
    assert result["step_id"] == "listen"
    async_fire_mqtt_message(
        hass,
        payloads.Z2M_WEATHER_TOPIC,
        b'{"temperature":21.4,"last_seen":"2024-05-01T10:34:56.789Z","pressure":1012.3,"count":3}',
    )
    await hass.async_block_till_done()
    result = await hass.config_entries.subentries.async_configure(result["flow_id"])
    options = options_of(result)
    assert "temperature: 21.4 °C (Temperature)" in options
    assert "humidity" in options  # the source's, not heard this time
    assert set(suggested(result)["readings"]) == {
        options["temperature: 21.4 °C (Temperature)"],
        options["humidity"],
    }
    result = await configure_sensor(
        hass,
        result["flow_id"],
        {
            "readings": [
                options["temperature: 21.4 °C (Temperature)"],
                options["pressure: 1012.3 hPa"],
                options["count: 3"],
            ]
        },
    )
    # The stored reading as stored.
    assert suggested(result) == {
        "name": "Temperature",
        "unit_of_measurement": "°C",
        "device_class": "temperature",
        "precision": 1,
        "diagnostic": False,
    }
    result = await configure_sensor(hass, result["flow_id"], suggested(result))
    result = await configure_sensor(hass, result["flow_id"], suggested(result))
    assert suggested(result) == {"name": "Count", "diagnostic": False}
    result = await configure_sensor(hass, result["flow_id"], suggested(result))
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    data = entry.subentries["weather0source"].data
    assert [(r["key"], r["value_path"]) for r in data["readings"]] == [
        ("temperature", "temperature"),
        ("pressure", "pressure"),
        ("count", "count"),
    ]
    assert data["time_path"] == "last_seen"


async def test_reconfiguring_one_reading_keeps_its_key(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    data = sensor_subentry(
        "a/t", readings=(ReadingConfig("air", "x", "Air", "°C", "temperature"),)
    )
    entry = await setup_hub(hub_entry(data))
    sub = subentry_id(entry)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_SENSOR),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": sub},
    )
    assert suggested(result)["value_path"] == "x"
    result = await configure_sensor(
        hass,
        result["flow_id"],
        topic_form("a/t", value_path="y", unit_of_measurement="°C"),
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    [reading] = entry.subentries[sub].data["readings"]
    assert (reading["key"], reading["value_path"]) == ("air", "y")


async def test_an_alert_watches_one_reading(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    entry = await setup_hub(hub_entry(weather_source()))
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_ALERT), context={"source": SOURCE_USER}
    )
    assert options_of(result, "source") == {
        "Weather: Temperature": "weather0source:temperature",
        "Weather: humidity": "weather0source:humidity",
    }
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"source": "weather0source:humidity"}
    )
    assert result["description_placeholders"] == {"source": "Weather: humidity"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"rule": "high"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"watch": "value", "high": 70, "severity": "warning"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Weather: humidity: above 70 %"
    assert result["data"]["source"] == "weather0source"
    assert result["data"]["reading"] == "humidity"
    await hass.async_block_till_done()
    alert = next(
        s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_ALERT
    )
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_ALERT),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": alert.subentry_id},
    )
    assert suggested(result)["source"] == "weather0source:humidity"


async def test_a_channel_field_reads_one_reading(
    hass: HomeAssistant, setup_hub: SetupHub, fake_thingspeak: Any
) -> None:
    from .common import CHANNEL_ID, WRITE_KEY

    entry = await setup_hub(hub_entry(weather_source()))
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CHANNEL), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "channel_id": str(CHANNEL_ID),
            "write_api_key": WRITE_KEY,
            "plan": "free",
            "upload_interval": 300,
            "send_test_row": False,
            "advanced": {"base_url": fake_thingspeak.url, "max_rows": 100},
        },
    )
    assert result["step_id"] == "fields"
    topics = options_of(result, "field1")
    topic = payloads.Z2M_WEATHER_TOPIC
    assert topics == {
        f"{topic}: Temperature": f"weather0source:temperature|{topic}",
        f"{topic}: humidity": f"weather0source:humidity|{topic}",
    }
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"field1": f"weather0source:humidity|{topic}", "send_status": False},
    )
    assert result["step_id"] == "statistics"
    # The reading's statistics, named as its entities.
    assert "3600.0|mean" in options_of(result, "field1").values()
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"field1": "3600.0|mean"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["fields"]["1"] == {
        "source": "weather0source",
        "reading": "humidity",
        "topic": topic,
        "window": 3600.0,
        "statistic": "mean",
    }


async def test_listening_leaves_other_subscribers_their_text_and_hears_junk(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """The flow's subscription shares its topic string with a default subscriber
    (a core MQTT sensor) that came after it, so the client serves the flow
    first: that subscriber still receives text, as without IoTitan, and the
    flow still hears a payload that is not UTF-8 (and skips it as no reading)."""
    entry = await setup_hub(hub_entry())
    topic = payloads.Z2M_WEATHER_TOPIC
    result = await start_sensor_flow(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], topic_form(topic)
    )
    assert result["step_id"] == "listen"
    received: list[Any] = []
    unsubscribe = await mqtt.async_subscribe(
        hass, topic, lambda message: received.append(message.payload)
    )
    async_fire_mqtt_message(hass, topic, payloads.Z2M_WEATHER)
    async_fire_mqtt_message(hass, topic, b"\xff\xfe junk")
    await hass.async_block_till_done()
    unsubscribe()
    assert received == [payloads.Z2M_WEATHER.decode()]
    result = await hass.config_entries.subentries.async_configure(result["flow_id"])
    assert result["step_id"] == "readings"
    assert "temperature: 21.4 °C" in options_of(result)


async def test_listening_keeps_a_bounded_number_of_payloads(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """A flood on the filter is not all kept: fields only in payloads past
    the bound are not heard."""
    entry = await setup_hub(hub_entry())
    topic = payloads.Z2M_WEATHER_TOPIC
    flood = [(topic, b'{"temperature": 20}')] * MAX_LISTEN_PAYLOADS
    late = (topic, b'{"temperature": 21, "humidity": 50}')
    result = await listen(hass, entry, topic_form(topic), *flood, late)
    assert result["step_id"] == "readings"
    labels = list(options_of(result))
    assert labels == ["temperature: 20 °C"], labels


async def test_a_reading_is_not_named_after_its_device_twice(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Tasmota names its sensors with the device's name first ("Office climate
    AM2301 Temperature" of the device "Office climate"); the reading's
    entities carry the device's name already."""
    entry = await setup_hub(hub_entry())
    config = {
        "name": "Office climate AM2301 Temperature",
        "stat_t": "tele/office/SENSOR",
        "uniq_id": "A1B2C3_AM2301_Temperature",
        "dev": {"ids": ["A1B2C3"], "name": "Office climate"},
        "unit_of_meas": "°C",
        "dev_cla": "temperature",
        "val_tpl": "{{value_json['AM2301'].Temperature}}",
    }
    result = await discover(
        hass,
        entry,
        (
            "homeassistant/sensor/A1B2C3_AM2301_Temperature/config",
            json.dumps(config).encode(),
        ),
    )
    (group,) = options_of(result, "group").values()
    result = await configure_sensor(hass, result["flow_id"], {"group": group})
    assert list(options_of(result)) == ["AM2301 Temperature (°C)"]
    result = await configure_sensor(hass, result["flow_id"], {"readings": ["0"]})
    assert result["title"] == "Office climate"
    assert result["data"]["readings"][0]["name"] == "AM2301 Temperature"
