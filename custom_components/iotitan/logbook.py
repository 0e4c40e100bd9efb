"""Describe IoTitan alert events in the logbook."""

from __future__ import annotations

from collections.abc import Callable, Mapping
import math
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ENTITY_ID,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.const import ATTR_ENTITY_ID, STATE_ON
from homeassistant.core import Event, HomeAssistant, callback

from .alert_runtime import ATTR_LIMIT, ATTR_RULE, ATTR_SEVERITY, ATTR_STATE, ATTR_VALUE
from .const import DOMAIN, EVENT_ALERT
from .engine.alerts import AlertRule
from .engine.output import format_number


def _number(value: Any) -> str:
    if isinstance(value, int | float) and math.isfinite(value):
        return format_number(value)
    return "unknown"


def describe_alert(data: Mapping[str, Any]) -> str:
    """The logbook message of one alert transition."""
    turned_on = data.get(ATTR_STATE) == STATE_ON
    value, limit = data.get(ATTR_VALUE), data.get(ATTR_LIMIT)
    match data.get(ATTR_RULE):
        case AlertRule.STALE if turned_on:
            detail = f"no reading for {_number(value)} s"
        case AlertRule.STALE:
            detail = "readings arrive again"
        case AlertRule.RATE:
            detail = f"change of {_number(value)} per minute, limit {_number(limit)}"
        case _:
            detail = f"value {_number(value)}, limit {_number(limit)}"
    verb = "turned on" if turned_on else "cleared"
    return f"{verb} ({data.get(ATTR_SEVERITY)}): {detail}"


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe `iotitan_alert` events."""

    @callback
    def async_describe_alert_event(event: Event) -> dict[str, str]:
        data = event.data
        entity_id = data[ATTR_ENTITY_ID]
        state = hass.states.get(entity_id)
        return {
            LOGBOOK_ENTRY_NAME: state.name if state is not None else entity_id,
            LOGBOOK_ENTRY_MESSAGE: describe_alert(data),
            LOGBOOK_ENTRY_ENTITY_ID: entity_id,
        }

    async_describe_event(DOMAIN, EVENT_ALERT, async_describe_alert_event)
