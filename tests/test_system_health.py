"""The hubs' system health info, through Home Assistant's system_health component."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    get_system_health_info,
)
from pytest_homeassistant_custom_component.typing import (
    MqttMockHAClient,
    WebSocketGenerator,
)

from custom_components.iotitan.const import DOMAIN
from custom_components.iotitan.engine.syslog import ConnectionState
from custom_components.iotitan.hub import IoTitanHub

from .common import hub_entry, sensor_subentry

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]
INTEGRATION = Path(__file__).resolve().parents[1] / "custom_components" / "iotitan"
INFO_KEYS = {
    "hubs",
    "mqtt_connected",
    "messages_received",
    "syslog",
    "journal_size",
    "records_dropped",
    "syslog_records_cut",
}


async def test_no_hub_loaded(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """Without a loaded hub only the count shows."""
    assert await async_setup_component(hass, DOMAIN, {})
    assert await async_setup_component(hass, "system_health", {})
    await hass.async_block_till_done()
    assert await get_system_health_info(hass, DOMAIN) == {"hubs": 0}


async def test_one_hub(hass: HomeAssistant, setup_hub: SetupHub) -> None:
    """Counters of a hub that received messages, its syslog state and journal."""
    entry = await setup_hub(hub_entry(sensor_subentry()))
    assert await async_setup_component(hass, "system_health", {})
    await hass.async_block_till_done()
    for value in ("20.5", "21", "not a number"):
        async_fire_mqtt_message(hass, "home/kitchen/temperature", value)
    await hass.async_block_till_done()
    hub: IoTitanHub = entry.runtime_data
    await hub.message_log.journal.flush()

    info = await get_system_health_info(hass, DOMAIN)

    assert set(info) == INFO_KEYS
    assert info["hubs"] == 1
    assert info["mqtt_connected"] is True
    assert info["messages_received"] == 3
    assert info["syslog"] == str(ConnectionState.DISABLED)
    assert info["records_dropped"] == 0
    assert info["syslog_records_cut"] == 0
    # Measured when asked: the flushed records are on disk.
    size = hub.message_log.journal_size
    assert size is not None
    assert size > 0
    assert info["journal_size"] == f"{size / 1024 / 1024:.2f} MiB"


async def test_hubs_are_added_up(
    hass: HomeAssistant, setup_hub: SetupHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two hubs: totals, MQTT connected only if both are, syslog per hub."""
    first = await setup_hub(hub_entry(sensor_subentry(), name="Upstairs"))
    second = await setup_hub(hub_entry(sensor_subentry("garden/#"), name="Garden"))
    assert await async_setup_component(hass, "system_health", {})
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, "home/kitchen/temperature", "20")
    async_fire_mqtt_message(hass, "garden/soil", "30")
    await hass.async_block_till_done()
    upstairs: IoTitanHub = first.runtime_data
    garden: IoTitanHub = second.runtime_data
    # Both hubs log `#` by default: each received both messages.
    assert upstairs.messages_received == garden.messages_received == 2
    garden.mqtt_connected = False
    monkeypatch.setattr(
        upstairs.message_log, "dropped", lambda: {"syslog_spool_overflow": 4}
    )
    monkeypatch.setattr(
        garden.message_log,
        "dropped",
        lambda: {"syslog_oversize": 1, "journal_buffer_overflow": 2},
    )
    # As the writer reports a lost connection to its receiver.
    garden.message_log.syslog._set_state(ConnectionState.DISCONNECTED)

    info = await get_system_health_info(hass, DOMAIN)

    assert info["hubs"] == 2
    assert info["mqtt_connected"] is False
    assert info["messages_received"] == 4
    assert info["records_dropped"] == 7
    assert info["syslog"] == "Upstairs: disabled, Garden: disconnected"
    assert info["journal_size"].endswith(" MiB")


async def test_websocket_info_and_manage_url(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The frontend's system_health/info subscription shows the hub's info."""
    await setup_hub(hub_entry(sensor_subentry()))
    assert await async_setup_component(hass, "system_health", {})
    await hass.async_block_till_done()
    client = await hass_ws_client(hass)

    await client.send_json({"id": 1, "type": "system_health/info"})
    result = await client.receive_json()
    assert result["success"], result
    initial = await client.receive_json()
    data: dict[str, Any] = initial["event"]["data"][DOMAIN]
    assert data["manage_url"] == "/config/integrations/integration/iotitan"
    # The info callback's values are plain, so they come with the first event.
    assert set(data["info"]) == INFO_KEYS
    assert data["info"]["hubs"] == 1
    assert data["info"]["syslog"] == "disabled"


def test_every_info_key_is_translated() -> None:
    """Each key the info returns has a label in strings.json."""
    strings = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))
    assert set(strings["system_health"]["info"]) == INFO_KEYS
