"""Home Assistant's real MQTT client and a real Mosquitto, inside the harness.

Helpers of the in-process tests that go through a real broker instead of
`mqtt_mock` (the `broker` fixture is in conftest.py): Home Assistant's MQTT
integration is set up with its real paho client on the broker's loopback port.
Every wait is bounded (`until`) and none is a timing assertion.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
import time
from typing import Any

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .e2e.conftest import Mosquitto


async def until(what: str, probe: Callable[[], Any], limit: float = 20) -> Any:
    """Wait without blocking the event loop; fail after `limit` s."""
    deadline = time.monotonic() + limit
    while not (result := probe()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return result


async def settled(broker: Mosquitto, filters: set[str]) -> None:
    """Until the broker has every filter subscribed and nothing changed for 1 s."""
    last: list[Any] = [None, time.monotonic()]

    def probe() -> bool:
        events, active = broker.subscriptions()
        if events != last[0]:
            last[:] = [events, time.monotonic()]
        return filters <= active and time.monotonic() - last[1] >= 1.0

    await until(f"subscriptions {sorted(filters)}", probe)


def mqtt_entry(port: int) -> MockConfigEntry:
    """The MQTT integration's entry for a broker on 127.0.0.1:`port`."""
    return MockConfigEntry(
        domain=mqtt.DOMAIN,
        data={"broker": "127.0.0.1", "port": port},
        version=2,
        minor_version=1,
        title="Mosquitto",
    )


async def setup_mqtt(
    hass: HomeAssistant, port: int, configuration_yaml: str = ""
) -> MockConfigEntry:
    """The MQTT entry, connected; its YAML items from `configuration_yaml`."""
    await hass.async_add_executor_job(
        Path(hass.config.path("configuration.yaml")).write_text, configuration_yaml
    )
    assert await async_setup_component(hass, mqtt.DOMAIN, {})
    entry = mqtt_entry(port)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert await mqtt.async_wait_for_mqtt_client(hass)
    return entry
