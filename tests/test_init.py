"""Setting up, unloading and diagnosing a hub."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from .common import hub_entry, sensor_subentry, subentry_id

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]


async def test_setup_retries_without_mqtt(hass: HomeAssistant) -> None:
    """Without an MQTT client the entry is retried later, not failed."""
    entry = hub_entry(sensor_subentry())
    entry.add_to_hass(hass)
    with patch(
        "custom_components.iotitan.mqtt.async_wait_for_mqtt_client",
        return_value=False,
    ):
        assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_diagnostics_of_a_hub_that_is_not_loaded(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """A hub waiting for MQTT still downloads its diagnostics (was HTTP 500)."""
    assert await async_setup_component(hass, "diagnostics", {})
    entry = hub_entry(sensor_subentry())
    entry.add_to_hass(hass)
    with patch(
        "custom_components.iotitan.mqtt.async_wait_for_mqtt_client",
        return_value=False,
    ):
        await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["entry"]["state"] == "setup_retry"
    assert diagnostics["entry"]["reason"]
    assert diagnostics["entry"]["subentries"]
    assert "hub" not in diagnostics


async def test_setup_and_unload(hass: HomeAssistant, setup_hub: SetupHub) -> None:
    """The hub loads, and unloads cleanly."""
    entry = await setup_hub(hub_entry(sensor_subentry()))
    assert entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_diagnostics(
    hass: HomeAssistant, setup_hub: SetupHub, hass_client: ClientSessionGenerator
) -> None:
    """Diagnostics show settings and per-topic counters."""
    entry = await setup_hub(hub_entry(sensor_subentry()))
    async_fire_mqtt_message(hass, "home/den/temperature", "18")
    async_fire_mqtt_message(hass, "home/den/temperature", "warm")
    await hass.async_block_till_done()

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    hub = diagnostics["hub"]
    assert hub["messages_received"] == 2
    assert hub["payloads_rejected"] == {"not_a_number": 1}
    source = hub["sources"][subentry_id(entry)]
    assert source["topic_filter"] == "home/+/temperature"
    topic = source["topics"]["home/den/temperature"]
    assert topic["messages"] == 2
    assert topic["last_value"] == 18.0
    assert topic["window_samples"] == {"3600.0": 1}
    assert diagnostics["entry"]["subentries"][subentry_id(entry)]["type"] == "sensor"
