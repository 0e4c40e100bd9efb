"""IoTitan subscribes to no topic filter another of its filters covers.

Over MQTT 5 (the MQTT integration's default from 2026.6) Mosquitto sends a message
once per matching subscription of a client. Home Assistant 2026.2 has no MQTT 5
subscription identifiers and hands every copy to every matching subscriber, so a
source topic `room/t` subscribed beside a log filter `room/#` counted each reading
twice (found by the end-to-end test on MQTT 5). Routing already picks one filter
per topic, so subscribing to the covering filter alone loses nothing.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.components import mqtt
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.iotitan.const import DOMAIN

from .alerts_common import SetupHub, source_subentry


async def test_covered_filters_are_not_subscribed(
    hass: HomeAssistant, setup_hub: SetupHub, mqtt_mock: MqttMockHAClient
) -> None:
    """Sources covered by a log filter ride on it; readings still arrive once."""
    subscribed: list[str] = []
    original = mqtt.async_subscribe

    async def spy(hass: HomeAssistant, topic: str, *args: Any, **kwargs: Any) -> Any:
        subscribed.append(topic)
        return await original(hass, topic, *args, **kwargs)

    entry = MockConfigEntry(
        domain=DOMAIN,
        title="IoTitan",
        data={CONF_NAME: "IoTitan"},
        options={"logging": {"log_topics": ["room/#", "other/x", "+/h"]}},
        subentries_data=(
            source_subentry("room/t"),
            source_subentry("+/h", subentry_id="source1humidity"),
            source_subentry("garden/#", subentry_id="source2garden"),
        ),
    )
    with patch.object(mqtt, "async_subscribe", spy):
        await setup_hub(entry)
    # room/t is inside room/#; +/h is both a source and a log filter (once).
    assert subscribed == ["+/h", "garden/#", "room/#", "other/x"]
    hub = entry.runtime_data
    assert hub.as_diagnostics()["subscriptions"] == subscribed

    async_fire_mqtt_message(hass, "room/t", "21.5")
    async_fire_mqtt_message(hass, "room/h", "40")
    await hass.async_block_till_done()
    assert hub.messages_received == 2
    room = hub.sources["source0temperature"].topics["room/t"]
    assert room.messages == 1
    assert room.last_value == 21.5
    assert hub.sources["source1humidity"].topics["room/h"].messages == 1
