"""IoTitan: MQTT sensor logging, rolling statistics and alerts for Home Assistant."""

from __future__ import annotations

from homeassistant.components import mqtt
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .alert_runtime import async_delete_alert_issues
from .channel import async_remove_channel_stores, async_setup_channels
from .const import DOMAIN
from .hub import IoTitanConfigEntry, IoTitanHub, async_delete_journal_issue
from .message_log import journal_directory, remove_journal
from .migration import async_migrate_hub_entry
from .services import async_setup_services

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.SENSOR]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the service actions, once for every hub."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: IoTitanConfigEntry) -> bool:
    """Set up an IoTitan hub from a config entry."""
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN, translation_key="mqtt_not_available"
        )
    # Subentries and options change what the hub subscribes to: rebuild it.
    # Registered before the hub reads them, so a change made while the setup
    # below is awaiting still reloads the entry.
    entry.async_on_unload(entry.add_update_listener(_async_reload_entry))
    hub = IoTitanHub(hass, entry)
    hub.async_restore_topics()
    await hub.async_replay_journal()
    entry.runtime_data = hub
    # ThingSpeak channels: outboxes loaded before their entities are added.
    await async_setup_channels(hass, hub)
    # Platforms first, so that the entities of a topic first seen by the
    # subscription have a platform to be added to.
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(hub.async_stop)
    await hub.async_start()
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: IoTitanConfigEntry) -> bool:
    """Bring a hub stored by an older IoTitan to today's shape (see migration.py)."""
    return await async_migrate_hub_entry(hass, entry)


async def async_unload_entry(hass: HomeAssistant, entry: IoTitanConfigEntry) -> bool:
    """Unload a config entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: IoTitanConfigEntry) -> None:
    """Delete the journal, outboxes and repair issues of a removed hub."""
    await hass.async_add_executor_job(
        remove_journal, journal_directory(hass, entry.entry_id)
    )
    await async_remove_channel_stores(hass, entry)
    async_delete_alert_issues(hass, entry.entry_id)
    async_delete_journal_issue(hass, entry.entry_id)


async def _async_reload_entry(hass: HomeAssistant, entry: IoTitanConfigEntry) -> None:
    await hass.config_entries.async_reload(entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: IoTitanConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user remove a topic's device; the hub device stays."""
    for domain, identifier in device.identifiers:
        if domain == DOMAIN and "/" in identifier:
            subentry_id, topic = identifier.split("/", 1)
            entry.runtime_data.async_forget_topic(subentry_id, topic)
            return True
    return False
