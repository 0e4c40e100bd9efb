"""IoTitan: MQTT sensor logging, rolling statistics and alerts for Home Assistant."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.typing import ConfigType

from .alert_runtime import async_delete_alert_issues
from .binary_sensor import alert_registry_entries, async_remove_stale_alert_entities
from .channel import (
    async_add_channel,
    async_remove_channel,
    async_remove_channel_stores,
    async_setup_channels,
)
from .const import DOMAIN
from .device import async_register_hub_device, topics_of_device
from .hub import (
    IoTitanConfigEntry,
    IoTitanHub,
    async_delete_journal_issue,
    signal_alert_added,
    signal_channel_added,
    signal_subentry_replaced,
)
from .message_log import journal_directory, remove_journal
from .migration import async_migrate_hub_entry
from .services import DATA_LAST_IMPORT, async_setup_services

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
    # Subentries, options and the title change what the hub runs: the hub
    # applies the change in place (see _async_entry_updated). Registered
    # before the hub reads them, so a change made while the setup below is
    # awaiting still reloads the entry. This listener is the one way a change
    # reaches the hub: no flow reloads it itself (Home Assistant reports a
    # flow that does while a listener exists), and it also catches a
    # subentry deleted from the UI, where no flow of ours runs.
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    # The hub device first: every other device is linked below it by its id.
    async_register_hub_device(hass, entry.entry_id, entry.title)
    hub = IoTitanHub(hass, entry)
    hub.async_restore_topics()
    await hub.async_replay_journal()
    entry.runtime_data = hub
    # ThingSpeak channels: outboxes loaded before their entities are added.
    hub.channels = await async_setup_channels(
        hass, entry, hub.sources, hub.alerts.names_on
    )
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
    hass.data.get(DATA_LAST_IMPORT, {}).pop(entry.entry_id, None)


async def _async_entry_updated(hass: HomeAssistant, entry: IoTitanConfigEntry) -> None:
    """Apply a change of the entry to the running hub (reload one not running)."""
    hub = entry.runtime_data if entry.state is ConfigEntryState.LOADED else None
    changes = hub.in_place_changes() if hub is not None else None
    if hub is None or changes is None:
        await hass.config_entries.async_reload(entry.entry_id)
        return
    # Taken as applied before the first await: a change made meanwhile is
    # diffed against this one, not applied twice.
    hub.async_applied()
    removals: list[Awaitable[None]] = []
    for subentry_id in changes.replaced:
        # Their entities leave first; new ones come with the new settings below.
        async_dispatcher_send(
            hass, signal_subentry_replaced(entry.entry_id), subentry_id, removals
        )
    await asyncio.gather(*removals)
    if changes.title is not None:
        async_register_hub_device(hass, entry.entry_id, changes.title)
    if changes.options:
        await hub.async_apply_options()
    for subentry_id in changes.removed_alerts:
        hub.alerts.async_remove_alert(subentry_id)
    for subentry_id in changes.removed_channels:
        await async_remove_channel(hub.channels, subentry_id)
    if changes.removed_sources or changes.added_sources:
        await hub.async_change_sources(changes.removed_sources, changes.added_sources)
        for channel in hub.channels.values():
            channel.async_check_fields()
    for subentry in changes.added_alerts:
        if (settings := hub.alerts.async_add_alert(subentry)) is not None:
            async_dispatcher_send(hass, signal_alert_added(entry.entry_id), settings)
    for subentry in changes.added_channels:
        channel = await async_add_channel(
            hass, entry, subentry, hub.channels, hub.sources, hub.alerts.names_on
        )
        async_dispatcher_send(hass, signal_channel_added(entry.entry_id), channel)
    if changes.replaced or changes.removed_sources:
        # A reconfigured alert may watch another source now, or its source went.
        async_remove_stale_alert_entities(hass, entry)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: IoTitanConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user remove a topic's device; the hub device stays.

    The topic's alert entities sit on their alerts' devices, so they are removed
    here (they come back, like the device, if the topic reports again).
    """
    for subentry_id, topic in topics_of_device(device):
        entry.runtime_data.async_forget_topic(subentry_id, topic)
        _async_remove_alert_entities(hass, entry, f"{subentry_id}/{topic}")
        return True
    return False


@callback
def _async_remove_alert_entities(
    hass: HomeAssistant, entry: IoTitanConfigEntry, topic_key: str
) -> None:
    """Remove the alert entities of one topic (unique id `<topic key>/alert/<id>`)."""
    registry = er.async_get(hass)
    for registry_entry in alert_registry_entries(hass, entry):
        if (
            registry_entry.unique_id
            == f"{topic_key}/alert/{registry_entry.config_subentry_id}"
        ):
            registry.async_remove(registry_entry.entity_id)
