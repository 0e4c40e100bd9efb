"""Stored shapes: older hubs load after migration, newer ones are refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState, ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.typing import UNDEFINED
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.iotitan.const import (
    CONFIG_ENTRY_MINOR_VERSION,
    CONFIG_ENTRY_VERSION,
    DOMAIN,
    SUBENTRY_SENSOR,
)
from custom_components.iotitan.device import device_by_identifier, device_subentry_ids

from .alerts_common import alert_subentry
from .common import (
    channel_subentry,
    hub_entry,
    sensor_data_of_shape,
    sensor_subentry,
)


def hub_of_shape_1_1(**fields: Any) -> MockConfigEntry:
    """A hub as IoTitan 0.1 stored it (entry version 1.1), with `fields` on top.

    Sensor subentries lose the keys later versions added to their data.
    """
    fields["subentries_data"] = [
        {**subentry, "data": sensor_data_of_shape(subentry["data"], 1)}
        if subentry["subentry_type"] == SUBENTRY_SENSOR
        else subentry
        for subentry in fields.get("subentries_data", [])
    ]
    return MockConfigEntry(
        domain=DOMAIN,
        title="IoTitan",
        version=1,
        minor_version=1,
        data={"name": "IoTitan"},
        **fields,
    )


async def test_entry_from_a_newer_iotitan_is_refused(
    hass: HomeAssistant, setup_hub: Callable[..., Awaitable[MockConfigEntry]]
) -> None:
    """A downgrade cannot guess a future shape: the entry stays unloaded."""
    entry = hub_entry(sensor_subentry())
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, minor_version=CONFIG_ENTRY_MINOR_VERSION + 1
    )
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR


async def test_entry_of_the_first_shape_loads_at_the_current_version(
    hass: HomeAssistant, setup_hub: Callable[..., Awaitable[MockConfigEntry]]
) -> None:
    """An install made by IoTitan 0.1 (version 1.1) migrates and keeps its entities."""
    entry = hub_of_shape_1_1(
        options={"update_interval": 10},
        subentries_data=[sensor_subentry("home/kitchen/temperature")],
    )
    await setup_hub(entry)
    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (
        CONFIG_ENTRY_VERSION,
        CONFIG_ENTRY_MINOR_VERSION,
    )
    entity_ids = {
        e.unique_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    }
    assert entity_ids, "the hub's entities were not created"


# -- 1.3: a device belongs to one subentry -------------------------------------------

HUB_ID = "01HUB00000000000000000000A"
ROOM_SOURCE = "source0room"
WILD_SOURCE = "source0wild"
ROOM_ALERT = "alert0room"
WILD_ALERT = "alert0wild"
CHANNEL = "channel0first"


def _hub_of_the_previous_shape() -> MockConfigEntry:
    """A hub stored at 1.1 (before 1.3): two sources, an alert on each, a channel."""
    return hub_of_shape_1_1(
        entry_id=HUB_ID,
        options={"update_interval": 10},
        subentries_data=[
            ConfigSubentryDataWithId(
                **sensor_subentry("room/t", unit=None, device_class=None),
                subentry_id=ROOM_SOURCE,
            ),
            ConfigSubentryDataWithId(
                **sensor_subentry("home/+/temperature"), subentry_id=WILD_SOURCE
            ),
            ConfigSubentryDataWithId(
                **alert_subentry(
                    high=30,
                    subentry_id=ROOM_ALERT,
                    source=ROOM_SOURCE,
                    title="room/t: above 30",
                )
            ),
            ConfigSubentryDataWithId(
                **alert_subentry(
                    high=25,
                    subentry_id=WILD_ALERT,
                    source=WILD_SOURCE,
                    title="Too warm",
                )
            ),
            ConfigSubentryDataWithId(
                **channel_subentry(
                    {
                        "1": {
                            "source": ROOM_SOURCE,
                            "topic": "room/t",
                            "window": 3600.0,
                            "statistic": "mean",
                        }
                    }
                ),
                subentry_id=CHANNEL,
            ),
        ],
    )


def _register_as_before_1_3(
    hass: HomeAssistant, entry: MockConfigEntry
) -> dict[str, str]:
    """The registries as IoTitan before 1.3 left them; unique id -> entity id.

    As its entity platform did: the hub device (no subentry), each topic's device
    registered by the topic's sensors (sensor subentry) and again by each alert's
    entity on it (alert subentry, so the device belonged to both), the channel's
    device by its sensors. Devices linked to the hub by `via_device`.
    """
    devices = dr.async_get(hass)
    entities = er.async_get(hass)
    hub_identifier = (DOMAIN, entry.entry_id)
    devices.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={hub_identifier},
        name="IoTitan",
        manufacturer="IoTitan",
        model="MQTT statistics hub",
        entry_type=dr.DeviceEntryType.SERVICE,
    )
    registered: dict[str, str] = {}

    def entity(
        domain: str, unique_id: str, subentry: str | None, device_id: str, name: str
    ) -> None:
        registry_entry = entities.async_get_or_create(
            domain,
            DOMAIN,
            unique_id,
            config_entry=entry,
            config_subentry_id=subentry,
            device_id=device_id,
            suggested_object_id=name,
            has_entity_name=True,
        )
        registered[unique_id] = registry_entry.entity_id

    registered_hub = devices.async_get_device(identifiers={hub_identifier})
    assert registered_hub is not None
    entity(
        "sensor",
        f"{entry.entry_id}/messages_received",
        None,
        registered_hub.id,
        "iotitan_messages_received",
    )
    for source, topic, alert, object_id in (
        (ROOM_SOURCE, "room/t", ROOM_ALERT, "room_t_above_30"),
        (
            WILD_SOURCE,
            "home/kitchen/temperature",
            WILD_ALERT,
            "home_kitchen_temperature_too_warm",
        ),
    ):
        for subentry in (source, alert):  # sensors first, then the alert's entity
            device = devices.async_get_or_create(
                config_entry_id=entry.entry_id,
                config_subentry_id=subentry,
                identifiers={(DOMAIN, f"{source}/{topic}")},
                name=topic,
                manufacturer="IoTitan",
                model="MQTT topic",
                via_device=hub_identifier,
            )
        slug = topic.replace("/", "_")
        entity(
            "sensor",
            f"{source}/{topic}/3600/mean",
            source,
            device.id,
            f"{slug}_mean_1h",
        )
        entity(
            "binary_sensor",
            f"{source}/{topic}/alert/{alert}",
            alert,
            device.id,
            object_id,
        )
    channel_device = devices.async_get_or_create(
        config_entry_id=entry.entry_id,
        config_subentry_id=CHANNEL,
        identifiers={(DOMAIN, CHANNEL)},
        name="ThingSpeak 1001",
        manufacturer="IoTitan",
        model="ThingSpeak channel",
        entry_type=dr.DeviceEntryType.SERVICE,
        via_device=hub_identifier,
    )
    entity(
        "sensor",
        f"{CHANNEL}/rows_waiting",
        CHANNEL,
        channel_device.id,
        "thingspeak_1001_rows_waiting",
    )
    # The previous shape indeed had topic devices in two subentries.
    room = devices.async_get_device(identifiers={(DOMAIN, f"{ROOM_SOURCE}/room/t")})
    assert room is not None
    assert device_subentry_ids(room, entry.entry_id) == {ROOM_SOURCE, ROOM_ALERT}
    return registered


async def test_alert_entities_move_to_their_own_device_keeping_their_ids(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After 1.3 every device belongs to one subentry; ids and history stay.

    The newest Home Assistant (2026.8+) warns, and from 2027.8 raises, when
    `async_get_or_create` is given an existing device with another subentry than
    the device's (`device_registry.py`); that condition is recorded on every call
    during setup, messages, new topics and a reload, and must never hold.
    """
    moves: list[str] = []
    original = dr.DeviceRegistry.async_get_or_create

    def get_or_create(
        self: dr.DeviceRegistry, *, config_entry_id: str, **kwargs: Any
    ) -> dr.DeviceEntry:
        subentry = kwargs.get("config_subentry_id", UNDEFINED)
        for identifier in kwargs.get("identifiers") or ():
            existing = device_by_identifier(self, identifier, config_entry_id)
            if (
                existing is not None
                and subentry is not UNDEFINED
                and device_subentry_ids(existing, config_entry_id) != {subentry}
            ):
                moves.append(f"{identifier} -> {subentry}")
        return original(self, config_entry_id=config_entry_id, **kwargs)

    entry = _hub_of_the_previous_shape()
    entry.add_to_hass(hass)
    registered = _register_as_before_1_3(hass, entry)
    monkeypatch.setattr(dr.DeviceRegistry, "async_get_or_create", get_or_create)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.minor_version == CONFIG_ENTRY_MINOR_VERSION
    async_fire_mqtt_message(hass, "room/t", "31")
    async_fire_mqtt_message(hass, "home/kitchen/temperature", "26")
    async_fire_mqtt_message(hass, "home/den/temperature", "20")  # a new topic
    await hass.async_block_till_done()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert moves == []

    entities = er.async_get(hass)
    devices = dr.async_get(hass)
    # Same entity ids for the same unique ids, and the alerts still work.
    for unique_id, entity_id in registered.items():
        domain = entity_id.split(".", 1)[0]
        assert entities.async_get_entity_id(domain, DOMAIN, unique_id) == entity_id
    room_alert = registered[f"{ROOM_SOURCE}/room/t/alert/{ROOM_ALERT}"]
    assert room_alert == "binary_sensor.room_t_above_30"
    state = hass.states.get(room_alert)
    assert state is not None
    assert state.state == "on"
    # Each alert's entities are on the alert's own device, below the hub.
    hub = device_by_identifier(devices, (DOMAIN, HUB_ID), HUB_ID)
    assert hub is not None
    for alert in (ROOM_ALERT, WILD_ALERT):
        alert_device = device_by_identifier(devices, (DOMAIN, alert), HUB_ID)
        assert alert_device is not None
        assert alert_device.via_device_id == hub.id
        on_device = er.async_entries_for_device(entities, alert_device.id)
        assert on_device
        assert {e.config_subentry_id for e in on_device} == {alert}
    # Every device of the hub belongs to exactly one subentry: its own.
    owners: dict[str, set[str | None]] = {}
    for device in dr.async_entries_for_config_entry(devices, HUB_ID):
        owners[str(sorted(device.identifiers))] = device_subentry_ids(device, HUB_ID)
        subentries = {
            e.config_subentry_id
            for e in er.async_entries_for_device(
                entities, device.id, include_disabled_entities=True
            )
        }
        assert subentries <= device_subentry_ids(device, HUB_ID), device.identifiers
    assert all(len(subentries) == 1 for subentries in owners.values()), owners
    assert owners[str([(DOMAIN, f"{ROOM_SOURCE}/room/t")])] == {ROOM_SOURCE}
    assert owners[str([(DOMAIN, HUB_ID)])] == {None}
    assert owners[str([(DOMAIN, CHANNEL)])] == {CHANNEL}
    assert len(owners) == 1 + 3 + 2 + 1  # hub, topic devices, alert devices, channel

    # A device trigger made before 1.3 on the topic's device page still works.
    calls = async_mock_service(hass, "test", "automation")
    room_device = device_by_identifier(
        devices, (DOMAIN, f"{ROOM_SOURCE}/room/t"), HUB_ID
    )
    room_alert_entry = entities.async_get(room_alert)
    assert room_device is not None
    assert room_alert_entry is not None
    trigger = {
        "trigger": "device",
        "domain": DOMAIN,
        "device_id": room_device.id,
        "entity_id": room_alert_entry.id,
        "type": "alert_off",
    }
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "triggers": [trigger],
                "actions": [{"action": "test.automation"}],
            }
        },
    )
    async_fire_mqtt_message(hass, "room/t", "20")
    await hass.async_block_till_done()
    assert len(calls) == 1


async def test_sources_of_shape_1_1_read_words_as_before_or_as_measurements(
    hass: HomeAssistant,
    setup_hub: Callable[..., Awaitable[MockConfigEntry]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """1.4 stores "Read on/off words as 1/0" per source; the install keeps its ids.

    A source without unit or device class keeps reading on/off as 1/0 (as every
    source did before); a temperature source gets the new default, off.
    """
    temperature = sensor_subentry("home/kitchen/temperature", title="Kitchen")
    motion = sensor_subentry("pir/hall", title="Hall", unit=None, device_class=None)
    entry = hub_of_shape_1_1(
        options={"update_interval": 10},
        subentries_data=[temperature, motion],
    )
    for subentry in entry.subentries.values():
        assert "words_as_numbers" not in subentry.data  # the shape before 1.4
    entry.add_to_hass(hass)
    kitchen, hall = list(entry.subentries)
    # The entities as the previous version registered them, one renamed by
    # the user: both must be found again under their unique ids.
    registry = er.async_get(hass)
    registered = {
        f"{kitchen}/home/kitchen/temperature/3600/mean": "sensor.my_kitchen_mean",
        f"{hall}/pir/hall/3600/mean": "sensor.hall_motion_mean",
    }
    for unique_id, entity_id in registered.items():
        registry.async_get_or_create(
            "sensor",
            DOMAIN,
            unique_id,
            config_entry=entry,
            config_subentry_id=unique_id.split("/", 1)[0],
            suggested_object_id=entity_id.split(".", 1)[1],
        )
    await setup_hub(entry)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.minor_version == CONFIG_ENTRY_MINOR_VERSION
    assert entry.subentries[kitchen].data == {
        **temperature["data"],
        "words_as_numbers": False,
    }
    assert entry.subentries[hall].data == {**motion["data"], "words_as_numbers": True}

    for topic, payloads in (
        ("home/kitchen/temperature", ["21.5", "on", "22.5"]),
        ("pir/hall", ["on", "off", "on", "on"]),
    ):
        for payload in payloads:
            async_fire_mqtt_message(hass, topic, payload)
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=10))  # one update interval: states written
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    hub = entry.runtime_data
    assert hub.sources[kitchen].topics["home/kitchen/temperature"].rejected == {
        "not_a_number": 1
    }
    for unique_id, entity_id in registered.items():
        assert registry.async_get_entity_id("sensor", DOMAIN, unique_id) == entity_id
    assert hass.states.get("sensor.my_kitchen_mean").state == "22.0"
    assert hass.states.get("sensor.hall_motion_mean").state == "0.75"


async def test_a_1_1_install_gets_the_largest_record_default_and_keeps_its_entities(
    hass: HomeAssistant, setup_hub: Callable[..., Awaitable[MockConfigEntry]]
) -> None:
    """1.1 -> 1.2 writes the syslog record limit's default; nothing else changes.

    The registry is filled as a 1.1 install left it (a renamed entity id
    included): after the migration the same entities, under the same ids, are
    back and work.
    """
    logging_1_1 = {
        "log_topics": ["#"],
        "syslog_transport": "udp",
        "syslog_host": "syslog.lan",
        "syslog_format": "rfc3164",
        "max_payload_bytes": 4096,
        "spool_size": 1000,
    }
    entry = hub_of_shape_1_1(
        options={"update_interval": 10, "logging": logging_1_1},
        subentries_data=[
            ConfigSubentryDataWithId(
                **sensor_subentry("home/kitchen/temperature"), subentry_id="src1"
            )
        ],
    )
    entry.add_to_hass(hass)
    registry = er.async_get(hass)
    before = {
        f"{entry.entry_id}/records_dropped": "sensor.iotitan_records_dropped",
        "src1/home/kitchen/temperature/3600/mean": "sensor.my_kitchen_mean",
    }
    for unique_id, entity_id in before.items():
        registry.async_get_or_create(
            "sensor",
            DOMAIN,
            unique_id,
            config_entry=entry,
            config_subentry_id="src1" if unique_id.startswith("src1") else None,
            suggested_object_id=entity_id.split(".", 1)[1],
        )
    await setup_hub(entry)

    assert entry.state is ConfigEntryState.LOADED
    assert entry.minor_version == CONFIG_ENTRY_MINOR_VERSION >= 2
    assert entry.options == {
        "update_interval": 10,
        "logging": {**logging_1_1, "max_record_bytes": 2048},
    }
    after = {
        e.unique_id: e.entity_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
    }
    assert before.items() <= after.items()
    syslog = entry.runtime_data.message_log.syslog
    assert syslog.formatter.max_record == 2048
    assert (syslog.formatter.max_payload, syslog.formatter.rfc3164) == (4096, True)
    async_fire_mqtt_message(hass, "home/kitchen/temperature", "21.5")
    await hass.async_block_till_done()
    assert entry.runtime_data.messages_received == 1


async def test_the_largest_record_step_keeps_a_value_already_there(
    hass: HomeAssistant, setup_hub: Callable[..., Awaitable[MockConfigEntry]]
) -> None:
    """An entry that has the option (written by a later flow) keeps its value."""
    entry = hub_of_shape_1_1(
        options={"logging": {"max_record_bytes": 8096}},
    )
    await setup_hub(entry)
    assert entry.options["logging"] == {"max_record_bytes": 8096}


# -- 1.5: device names from topic levels ---------------------------------------------

NAMED_SOURCE = "source0named"
KITCHEN = "iotitan/home/kitchen/temperature/value"
CELLAR = "iotitan/home/cellar/temperature/value"


async def test_devices_of_a_1_4_install_get_readable_names_and_keep_their_entities(
    hass: HomeAssistant,
    setup_hub: Callable[..., Awaitable[MockConfigEntry]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """1.4 named topic devices by the raw topic; 1.5 by the levels that differ.

    The registries are as IoTitan 1.4 left them: each device named by its topic,
    entity ids made from those names. After the migration a device is called
    "Kitchen temperature" unless the person renamed it, and every entity keeps
    its id, unique id and history (its state keeps updating under the old id).
    """
    source = sensor_subentry("iotitan/home/+/temperature/value", windows=[3600.0])
    source_data = {
        key: value for key, value in source["data"].items() if key != "device"
    }
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="IoTitan",
        version=1,
        minor_version=4,
        data={"name": "IoTitan"},
        options={"update_interval": 10},
        subentries_data=[
            ConfigSubentryDataWithId(
                **{**source, "data": source_data}, subentry_id=NAMED_SOURCE
            )
        ],
    )
    entry.add_to_hass(hass)
    devices = dr.async_get(hass)
    entities = er.async_get(hass)
    hub = devices.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, entry.entry_id)}
    )
    old_ids: dict[str, str] = {}
    for topic in (KITCHEN, CELLAR):
        device = devices.async_get_or_create(
            config_entry_id=entry.entry_id,
            config_subentry_id=NAMED_SOURCE,
            identifiers={(DOMAIN, f"{NAMED_SOURCE}/{topic}")},
            name=topic,
            model="MQTT topic",
            via_device=(DOMAIN, entry.entry_id),
        )
        assert device.via_device_id == hub.id
        for key, suffix in (("3600/mean", "mean_1h"), ("3600/value_max", "maximum_1h")):
            registered = entities.async_get_or_create(
                "sensor",
                DOMAIN,
                f"{NAMED_SOURCE}/{topic}/{key}",
                config_entry=entry,
                config_subentry_id=NAMED_SOURCE,
                device_id=device.id,
                suggested_object_id=f"{topic.replace('/', '_')} {suffix}",
            )
            old_ids[registered.unique_id] = registered.entity_id
    cellar = device_by_identifier(
        devices, (DOMAIN, f"{NAMED_SOURCE}/{CELLAR}"), entry.entry_id
    )
    assert cellar is not None
    devices.async_update_device(cellar.id, name_by_user="Wine cellar")
    assert old_ids[f"{NAMED_SOURCE}/{KITCHEN}/3600/mean"] == (
        "sensor.iotitan_home_kitchen_temperature_value_mean_1h"
    )

    await setup_hub(entry)
    for topic in (KITCHEN, CELLAR):
        async_fire_mqtt_message(hass, topic, "21.5")
    freezer.tick(timedelta(seconds=10))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert entry.minor_version == CONFIG_ENTRY_MINOR_VERSION >= 5
    stored = entry.subentries[NAMED_SOURCE].data
    assert stored["device"] == {"name_template": "", "area_level": None}
    assert {key: stored[key] for key in source_data} == source_data

    kitchen = device_by_identifier(
        devices, (DOMAIN, f"{NAMED_SOURCE}/{KITCHEN}"), entry.entry_id
    )
    cellar = device_by_identifier(
        devices, (DOMAIN, f"{NAMED_SOURCE}/{CELLAR}"), entry.entry_id
    )
    assert kitchen is not None and cellar is not None
    assert (kitchen.name, kitchen.name_by_user, kitchen.model) == (
        "Kitchen temperature",
        None,
        KITCHEN,
    )
    assert (cellar.name, cellar.name_by_user) == ("Cellar temperature", "Wine cellar")
    now = {
        e.unique_id: e.entity_id
        for e in er.async_entries_for_config_entry(entities, entry.entry_id)
        if e.unique_id in old_ids
    }
    assert now == old_ids
    for entity_id in old_ids.values():
        state = hass.states.get(entity_id)
        assert state is not None and state.state == "21.5", entity_id
    mean = hass.states.get("sensor.iotitan_home_kitchen_temperature_value_mean_1h")
    assert mean is not None
    assert mean.attributes["friendly_name"] == "Kitchen temperature Mean 1h"


async def test_a_1_5_install_gets_a_readings_list_and_keeps_its_entities(
    hass: HomeAssistant,
    setup_hub: Callable[..., Awaitable[MockConfigEntry]],
    freezer: FrozenDateTimeFactory,
) -> None:
    """1.6: a source's value path, unit and device class become its one reading.

    The data are written out as 1.5 stored them (not built by today's model);
    the registry holds the entities as 1.5 registered them, one renamed by the
    user. After the migration the same entity ids come back under the same
    unique ids and show the new readings; the alert and the channel field
    follow the reading "".
    """
    source_1_5 = {
        "topic": "tele/plug/SENSOR",
        "value_path": "AM2301.Temperature",
        "unit_of_measurement": "°C",
        "device_class": "temperature",
        "words_as_numbers": False,
        "windows": [3600.0],
        "statistics": ["mean", "value_max"],
        "advanced": {
            "percentile": 95,
            "precision": 1,
            "max_samples": None,
            "max_topics": 500,
        },
        "device": {"name_template": "", "area_level": None},
    }
    alert = alert_subentry(high=30, source="src1")
    alert_1_5 = {k: v for k, v in alert["data"].items() if k != "reading"}
    field_1_5 = {
        "source": "src1",
        "topic": "tele/plug/SENSOR",
        "window": 3600.0,
        "statistic": "mean",
    }
    channel = channel_subentry({"1": field_1_5})
    channel_data = {**channel["data"], "fields": {"1": field_1_5}}
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="IoTitan",
        version=1,
        minor_version=5,
        data={"name": "IoTitan"},
        options={"update_interval": 10},
        subentries_data=[
            ConfigSubentryDataWithId(
                subentry_type=SUBENTRY_SENSOR,
                title="Plug",
                data=source_1_5,
                subentry_id="src1",
                unique_id=None,
            ),
            ConfigSubentryDataWithId(**{**alert, "data": alert_1_5}),
            ConfigSubentryDataWithId(
                **{**channel, "data": channel_data}, subentry_id="chan1"
            ),
        ],
    )
    entry.add_to_hass(hass)
    registry = er.async_get(hass)
    before = {
        "src1/tele/plug/SENSOR/3600/mean": "sensor.my_plug_temperature",
        "src1/tele/plug/SENSOR/3600/value_max": "sensor.plug_maximum_1h",
    }
    for unique_id, entity_id in before.items():
        registry.async_get_or_create(
            "sensor",
            DOMAIN,
            unique_id,
            config_entry=entry,
            config_subentry_id="src1",
            suggested_object_id=entity_id.split(".", 1)[1],
        )
    await setup_hub(entry)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.minor_version == CONFIG_ENTRY_MINOR_VERSION == 6
    source = dict(entry.subentries["src1"].data)
    assert source.pop("readings") == [
        {
            "key": "",
            "value_path": "AM2301.Temperature",
            "name": "",
            "unit_of_measurement": "°C",
            "device_class": "temperature",
            "precision": None,
            "windows": None,
            "statistics": None,
            "diagnostic": False,
        }
    ]
    assert source.pop("time_path") == ""
    assert source == {
        k: v
        for k, v in source_1_5.items()
        if k not in {"value_path", "unit_of_measurement", "device_class"}
    }
    assert entry.subentries[alert["subentry_id"]].data == {**alert_1_5, "reading": ""}
    assert entry.subentries["chan1"].data["fields"] == {
        "1": {**field_1_5, "reading": ""}
    }

    for temperature in (21.0, 24.0):
        async_fire_mqtt_message(
            hass,
            "tele/plug/SENSOR",
            f'{{"Time":"2026-12-03T10:00:00","AM2301":{{"Temperature":{temperature}}}}}',
        )
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=10))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    for unique_id, entity_id in before.items():
        assert registry.async_get_entity_id("sensor", DOMAIN, unique_id) == entity_id
    assert hass.states.get("sensor.my_plug_temperature").state == "22.5"
    assert hass.states.get("sensor.plug_maximum_1h").state == "24.0"
    assert not [
        e.unique_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if "#" in e.unique_id
    ], "a migrated reading's unique ids carry no reading key"
