"""Stored shapes: older hubs load after migration, newer ones are refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iotitan.const import (
    CONFIG_ENTRY_MINOR_VERSION,
    CONFIG_ENTRY_VERSION,
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
