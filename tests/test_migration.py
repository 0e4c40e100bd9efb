"""Stored shapes: older hubs load after migration, newer ones are refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from homeassistant.config_entries import ConfigEntryState, ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
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
    entry = MockConfigEntry(
        domain="iotitan",
        title="IoTitan",
        version=1,
        minor_version=1,
        data={"name": "IoTitan"},
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
    entry = MockConfigEntry(
        domain="iotitan",
        title="IoTitan",
        version=1,
        minor_version=1,
        data={"name": "IoTitan"},
        options={"logging": {"max_record_bytes": 8096}},
    )
    await setup_hub(entry)
    assert entry.options["logging"] == {"max_record_bytes": 8096}
