"""Device triggers "alert turned on" / "alert cleared" on an alert's device."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.components.mqtt.const import MQTT_CONNECTION_STATE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    async_fire_mqtt_message,
    async_get_device_automations,
    async_mock_service,
)

from custom_components.iotitan.const import DOMAIN
from custom_components.iotitan.device import device_by_identifier

from .alerts_common import (
    ALERT_ID,
    START,
    SetupHub,
    alert_entity_id,
    alert_subentry,
    source_subentry,
)
from .common import hub_entry


@pytest.fixture(autouse=True)
def start_time(freezer: FrozenDateTimeFactory) -> None:
    """Every test starts at START."""
    freezer.move_to(START)


def alert_device_id(hass: HomeAssistant, alert_id: str = ALERT_ID) -> str:
    """The device of an alert subentry."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    device = device_by_identifier(
        dr.async_get(hass), (DOMAIN, alert_id), entry.entry_id
    )
    assert device is not None
    return device.id


async def reading(hass: HomeAssistant, payload: str, topic: str = "room/t") -> None:
    """A reading on a topic."""
    async_fire_mqtt_message(hass, topic, payload)
    await hass.async_block_till_done()


async def test_triggers_listed_for_each_alert_of_the_device(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Two triggers per alert entity, on the alert's own device."""
    await setup_hub(
        hub_entry(
            source_subentry(),
            alert_subentry(high=30),
            alert_subentry("low", subentry_id="alert0low", low=5),
        )
    )
    await reading(hass, "20")
    registry = er.async_get(hass)
    for alert in (ALERT_ID, "alert0low"):
        device_id = alert_device_id(hass, alert)
        expected = [
            {
                "platform": "device",
                "domain": DOMAIN,
                "device_id": device_id,
                "entity_id": registry.async_get(
                    alert_entity_id(hass, alert_id=alert)
                ).id,  # type: ignore[union-attr]
                "type": trigger_type,
            }
            for trigger_type in ("alert_on", "alert_off")
        ]
        triggers = await async_get_device_automations(
            hass, DeviceAutomationType.TRIGGER, device_id
        )
        ours = [
            {key: value for key, value in trigger.items() if key != "metadata"}
            for trigger in triggers
            if trigger["domain"] == DOMAIN
        ]
        assert sorted(ours, key=str) == sorted(expected, key=str)


async def test_triggers_fire_an_automation_on_real_changes_only(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """ "Turned on" and "cleared" run the automation; a reconnect does not."""
    calls = async_mock_service(hass, "test", "automation")
    entry = await setup_hub(hub_entry(source_subentry(), alert_subentry(high=30)))
    await reading(hass, "20")
    device_id = alert_device_id(hass)
    entity_registry_id = er.async_get(hass).async_get(alert_entity_id(hass)).id  # type: ignore[union-attr]

    def automation(trigger_type: str) -> dict[str, Any]:
        return {
            "triggers": [
                {
                    "trigger": "device",
                    "domain": DOMAIN,
                    "device_id": device_id,
                    "entity_id": entity_registry_id,
                    "type": trigger_type,
                }
            ],
            "actions": [
                {
                    "action": "test.automation",
                    "data": {
                        "what": f"{trigger_type} "
                        "{{ trigger.event.data.value }} {{ trigger.event.data.limit }}"
                    },
                }
            ],
        }

    assert await async_setup_component(
        hass,
        "automation",
        {"automation": [automation("alert_on"), automation("alert_off")]},
    )
    await reading(hass, "31")
    assert [call.data["what"] for call in calls] == ["alert_on 31.0 30.0"]

    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, False)
    await hass.async_block_till_done()
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, True)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert len(calls) == 1  # still on: nothing new

    await reading(hass, "29")
    assert [call.data["what"] for call in calls] == [
        "alert_on 31.0 30.0",
        "alert_off 29.0 30.0",
    ]


async def test_trigger_by_entity_id_and_unknown_entities(
    hass: HomeAssistant, setup_hub: SetupHub, caplog: pytest.LogCaptureFixture
) -> None:
    """An entity id works as well as a registry id; an unknown id is an error."""
    calls = async_mock_service(hass, "test", "automation")
    await setup_hub(hub_entry(source_subentry(), alert_subentry(high=30)))
    await reading(hass, "20")
    device_id = alert_device_id(hass)

    def automation(entity: str) -> dict[str, Any]:
        return {
            "triggers": [
                {
                    "trigger": "device",
                    "domain": DOMAIN,
                    "device_id": device_id,
                    "entity_id": entity,
                    "type": "alert_on",
                }
            ],
            "actions": [{"action": "test.automation"}],
        }

    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                automation(alert_entity_id(hass)),
                automation("0123456789abcdef0123456789abcdef"),
            ]
        },
    )
    await hass.async_block_till_done()
    assert "Unknown entity '0123456789abcdef0123456789abcdef'" in caplog.text
    await reading(hass, "31")
    assert len(calls) == 1
