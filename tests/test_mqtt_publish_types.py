"""mqtt.async_publish never gets None (or a float, or a non-bool) for qos or retain.

Home Assistant 2026.11's MQTT client reports `None` qos/retain and stops accepting
it in 2027.6 (`report_usage(..., breaks_in_ha_version="2027.6.0")` in mqtt/client.py).
IoTitan has one call site (mqtt_output.py); this runs a full hub with output on,
statistics and alerts, legacy and default topics, with options stored the way the
options flow stores them (a NumberSelector gives floats) and with an older entry
that has no qos/retain keys, and checks the type of every qos and retain passed.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.iotitan.const import DOMAIN

from .alerts_common import START, SetupHub, advance, alert_subentry, source_subentry


@pytest.fixture(autouse=True)
def start_time(freezer: FrozenDateTimeFactory) -> None:
    """Every test starts at START."""
    freezer.move_to(START)


def entry_with(output: dict[str, Any]) -> MockConfigEntry:
    """A hub with a source, a high and a stale alert, and these output options."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="IoTitan",
        data={CONF_NAME: "IoTitan"},
        options={
            "update_interval": 10,
            "output": {"enabled": True, "prefix": "iotitan", **output},
        },
        subentries_data=(
            source_subentry(),
            alert_subentry(high=30),
        ),
    )


@pytest.mark.parametrize(
    "output",
    [
        # As the options flow stores them (NumberSelector values are floats).
        {"publish_interval": 30.0, "qos": 1.0, "retain": True, "legacy_topics": False},
        {"publish_interval": 30, "qos": 2, "retain": False, "legacy_topics": True},
        # An older entry without qos/retain: the defaults must be typed too.
        {"publish_interval": 30},
    ],
    ids=["flow-floats", "legacy-topics", "no-qos-retain"],
)
async def test_every_publish_passes_int_qos_and_bool_retain(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
    output: dict[str, Any],
) -> None:
    """Statistics and alert transitions, every call inspected."""
    calls: list[tuple[str, Any, Any]] = []
    original = mqtt.async_publish

    async def spy(
        hass: HomeAssistant,
        topic: str,
        payload: Any,
        qos: Any = None,
        retain: Any = None,
    ) -> None:
        calls.append((topic, qos, retain))
        await original(hass, topic, payload, qos, retain)

    with patch.object(mqtt, "async_publish", spy):
        entry: ConfigEntry = await setup_hub(entry_with(output))
        for payload in ("29", "31", "28"):
            async_fire_mqtt_message(hass, "room/t", payload)
            await hass.async_block_till_done()
            freezer.tick(1)
        await advance(hass, freezer, 60)
        await hass.async_block_till_done()
        assert await hass.config_entries.async_unload(entry.entry_id)

    assert any("alert" in topic for topic, _, _ in calls), calls
    assert any("alert" not in topic for topic, _, _ in calls), calls
    for topic, qos, retain in calls:
        assert type(qos) is int and qos in (0, 1, 2), (topic, qos)
        assert type(retain) is bool, (topic, retain)
