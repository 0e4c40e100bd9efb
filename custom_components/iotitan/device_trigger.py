"""Device triggers: an alert (on the alert's device) turned on, or cleared.

They listen for the `iotitan_alert` event rather than for state changes, so a
restart, a reload or an MQTT reconnect (unavailable -> on) never looks like a
new alert; only real transitions fire.
"""

from __future__ import annotations

from typing import Final

from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.homeassistant.triggers import event as event_trigger
from homeassistant.const import (
    ATTR_ENTITY_ID,
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_ENTITY_ID,
    CONF_EVENT_DATA,
    CONF_PLATFORM,
    CONF_TYPE,
    STATE_OFF,
    STATE_ON,
    Platform,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType
import voluptuous as vol

from .alert_runtime import ATTR_STATE
from .const import DOMAIN, EVENT_ALERT

TRIGGER_ALERT_ON: Final = "alert_on"
TRIGGER_ALERT_OFF: Final = "alert_off"
TRIGGER_STATES: Final = {TRIGGER_ALERT_ON: STATE_ON, TRIGGER_ALERT_OFF: STATE_OFF}

TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {
        vol.Required(CONF_DOMAIN): DOMAIN,
        vol.Required(CONF_ENTITY_ID): cv.entity_id_or_uuid,
        vol.Required(CONF_TYPE): vol.In(TRIGGER_STATES),
    }
)


async def async_get_triggers(
    hass: HomeAssistant, device_id: str
) -> list[dict[str, str]]:
    """Two triggers for every alert entity of the device."""
    registry = er.async_get(hass)
    return [
        {
            CONF_PLATFORM: "device",
            CONF_DOMAIN: DOMAIN,
            CONF_DEVICE_ID: device_id,
            CONF_ENTITY_ID: registry_entry.id,
            CONF_TYPE: trigger_type,
        }
        for registry_entry in er.async_entries_for_device(registry, device_id)
        if registry_entry.platform == DOMAIN
        and registry_entry.domain == Platform.BINARY_SENSOR
        for trigger_type in TRIGGER_STATES
    ]


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Listen for the alert's transitions to the trigger's state."""
    entity_id = er.async_validate_entity_id(er.async_get(hass), config[CONF_ENTITY_ID])
    event_config = event_trigger.TRIGGER_SCHEMA(
        {
            CONF_PLATFORM: "event",
            event_trigger.CONF_EVENT_TYPE: EVENT_ALERT,
            CONF_EVENT_DATA: {
                ATTR_ENTITY_ID: entity_id,
                ATTR_STATE: TRIGGER_STATES[config[CONF_TYPE]],
            },
        }
    )
    return await event_trigger.async_attach_trigger(
        hass, event_config, action, trigger_info, platform_type="device"
    )
