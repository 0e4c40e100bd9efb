"""Shared fixtures.

`custom_components.iotitan` is imported before the `hass` fixture runs so that the
test harness resolves our package rather than its own `custom_components` stub.
Helpers that are not fixtures live in common.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from unittest.mock import PropertyMock, patch

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from hypothesis import HealthCheck, settings
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

import custom_components.iotitan  # noqa: F401

from .common import CHANNEL_ID, WRITE_KEY
from .fake_thingspeak import FakeThingSpeak, start_fake_thingspeak

if TYPE_CHECKING:
    from .e2e.conftest import Mosquitto

# Property tests judge results, never time: Hypothesis' per-example deadline
# and its "too slow" check are timings, and on a shared, loaded machine they
# failed tests whose results were right. Examples still run to the end.
settings.register_profile(
    "iotitan", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("iotitan")


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/iotitan."""


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Register entities that are disabled by default as enabled.

    The same fixture as Home Assistant core's tests/components/conftest.py,
    which pytest-homeassistant-custom-component no longer ships.
    """
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture(autouse=True)
def short_listening() -> Iterator[None]:
    """The source flow listens (and collects discovery configs) for an instant.

    Messages a test fires right after the flow shows its progress are heard:
    nothing runs between them and the flow's subscription.
    """
    with (
        patch("custom_components.iotitan.config_flow.LISTEN_SECONDS", 0.01),
        patch("custom_components.iotitan.config_flow.DISCOVERY_SECONDS", 0.01),
    ):
        yield


@pytest.fixture(autouse=True)
def config_dir_in_tmp(hass: HomeAssistant, tmp_path: Path) -> None:
    """Keep each test's journal in its own directory."""
    hass.config.config_dir = str(tmp_path)


@pytest.fixture
async def setup_hub(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> Callable[..., Awaitable[MockConfigEntry]]:
    """Return a function that adds a hub entry and sets it up with MQTT mocked."""

    async def setup(entry: MockConfigEntry) -> MockConfigEntry:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        return entry

    return setup


@pytest.fixture
async def fake_thingspeak(
    hass: HomeAssistant, socket_enabled: None
) -> AsyncIterator[FakeThingSpeak]:
    """A fake ThingSpeak on 127.0.0.1 with one free channel, on HA's clocks.

    Its clock is the event loop's, so `freezer` moves both it and the sender.
    """
    fake = await start_fake_thingspeak(
        (CHANNEL_ID, WRITE_KEY), clock=hass.loop.time, wall=dt_util.utcnow
    )
    yield fake
    await fake.close()


@pytest.fixture
def broker(tmp_path: Path, socket_enabled: None) -> Iterator[Mosquitto]:
    """A real Mosquitto on a free loopback port (tests of tests/real_mqtt.py)."""
    from .e2e.conftest import Mosquitto  # paho, psutil: imported only here

    mosquitto = Mosquitto(tmp_path / "mosquitto")
    mosquitto.start()
    try:
        yield mosquitto
    finally:
        mosquitto.child.stop()
