"""The notify-on-alert blueprint: it validates and notifies on real changes."""

from __future__ import annotations

from pathlib import Path
import shutil

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.components.blueprint import Blueprint
from homeassistant.components.mqtt.const import MQTT_CONNECTION_STATE
from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.setup import async_setup_component
from homeassistant.util import yaml as yaml_util
import pytest
from pytest_homeassistant_custom_component.common import (
    async_fire_mqtt_message,
    async_mock_service,
)

from .alerts_common import (
    START,
    SetupHub,
    advance,
    alert_entity_id,
    alert_subentry,
    source_subentry,
)
from .common import hub_entry

BLUEPRINT = (
    Path(__file__).resolve().parent.parent
    / "blueprints"
    / "automation"
    / "iotitan"
    / "notify_on_alert.yaml"
)
BLUEPRINT_PATH = "iotitan/notify_on_alert.yaml"


@pytest.fixture(autouse=True)
def install_blueprint(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Put the blueprint where importing it puts it: <config>/blueprints/automation."""
    freezer.move_to(START)
    target = Path(hass.config.path("blueprints", "automation", BLUEPRINT_PATH))
    target.parent.mkdir(parents=True)
    shutil.copy(BLUEPRINT, target)


def test_blueprint_validates() -> None:
    """The file is a valid automation blueprint with the documented inputs."""
    blueprint = Blueprint(
        yaml_util.load_yaml_dict(BLUEPRINT),
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )
    assert blueprint.domain == "automation"
    assert set(blueprint.inputs) == {"alerts", "notify_action", "notify_cleared"}
    selector = blueprint.inputs["alerts"]["selector"]["entity"]
    assert selector["multiple"] is True
    assert selector["filter"] == [
        {"integration": "iotitan", "domain": ["binary_sensor"]}
    ]


async def test_blueprint_loads_through_home_assistant(hass: HomeAssistant) -> None:
    """Home Assistant's blueprint integration finds and accepts it."""
    assert await async_setup_component(hass, "automation", {})
    blueprint = await async_get_blueprints(hass).async_get_blueprint(BLUEPRINT_PATH)
    assert blueprint.name == "Notify on IoTitan alert"


async def automation_from_blueprint(
    hass: HomeAssistant, alerts: list[str], **inputs: object
) -> None:
    """Create an automation from the blueprint."""
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": "notify_alerts",
                "alias": "Notify alerts",
                "use_blueprint": {
                    "path": BLUEPRINT_PATH,
                    "input": {
                        "alerts": alerts,
                        "notify_action": "notify.mobile_app_phone",
                        **inputs,
                    },
                },
            }
        },
    )
    await hass.async_block_till_done()
    state = hass.states.get("automation.notify_alerts")
    assert state is not None
    assert state.state == "on"


async def test_notifies_when_an_alert_turns_on_and_clears(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Value and limit are in the message; reconnects send nothing."""
    notify = async_mock_service(hass, "notify", "mobile_app_phone")
    await setup_hub(
        hub_entry(
            source_subentry(),
            alert_subentry(high=30, severity="critical", title="room/t: above 30"),
        )
    )
    async_fire_mqtt_message(hass, "room/t", "20")
    await hass.async_block_till_done()
    await automation_from_blueprint(hass, [alert_entity_id(hass)])

    async_fire_mqtt_message(hass, "room/t", "31.5")
    await hass.async_block_till_done()
    assert [call.data for call in notify] == [
        {
            "title": "Alert: room/t: above 30",
            "message": "room/t: above 30 turned on (critical): value 31.5, limit 30.0",
        }
    ]
    # Unavailable and back is no new alert.
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, False)
    await hass.async_block_till_done()
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, True)
    await hass.async_block_till_done()
    assert len(notify) == 1

    async_fire_mqtt_message(hass, "room/t", "25")
    await hass.async_block_till_done()
    assert notify[1].data == {
        "title": "Alert cleared: room/t: above 30",
        "message": "room/t: above 30 cleared (critical): value 25.0, limit 30.0",
    }


async def test_only_chosen_alerts_notify(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """Other alerts, and clearing when not wanted, send nothing."""
    notify = async_mock_service(hass, "notify", "mobile_app_phone")
    await setup_hub(
        hub_entry(
            source_subentry(),
            alert_subentry(high=30),
            alert_subentry(
                "stale",
                subentry_id="alert0stale",
                stale_after=60,
                title="room/t: no reading for 1m",
            ),
        )
    )
    async_fire_mqtt_message(hass, "room/t", "20")
    await hass.async_block_till_done()
    await automation_from_blueprint(
        hass, [alert_entity_id(hass, alert_id="alert0stale")], notify_cleared=False
    )
    async_fire_mqtt_message(hass, "room/t", "31")  # the high alert: not chosen
    await hass.async_block_till_done()
    assert notify == []

    await advance(hass, freezer, 60)  # no reading for a minute
    assert [call.data["message"] for call in notify] == [
        "room/t: no reading for 1m turned on (warning): no reading for 60 s"
    ]
    async_fire_mqtt_message(hass, "room/t", "20")  # clears: not wanted
    await hass.async_block_till_done()
    assert len(notify) == 1
