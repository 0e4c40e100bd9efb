"""Stored shapes: older hubs load after migration, newer ones are refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)

from custom_components.iotitan.const import (
    CONFIG_ENTRY_MINOR_VERSION,
    CONFIG_ENTRY_VERSION,
    DOMAIN,
)

from .conftest import hub_entry, sensor_subentry


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
    entry = MockConfigEntry(
        domain="iotitan",
        title="IoTitan",
        version=1,
        minor_version=1,
        data={"name": "IoTitan"},
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
    for subentry in (temperature, motion):
        assert "words_as_numbers" not in subentry["data"]  # the shape before 1.4
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="IoTitan",
        version=1,
        minor_version=1,
        data={"name": "IoTitan"},
        options={"update_interval": 10},
        subentries_data=[temperature, motion],
    )
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
