"""Diagnostics for IoTitan: settings, counters and per-topic window sizes."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .channel import TO_REDACT
from .hub import IoTitanConfigEntry
from .services import DATA_LAST_IMPORT


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: IoTitanConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a config entry, loaded or not.

    A hub that is retrying its setup or reloading has no runtime data; its
    settings and state are exactly what a person debugging that needs.
    """
    diagnostics: dict[str, Any] = {
        "entry": {
            "title": entry.title,
            "state": entry.state.value,
            "reason": entry.reason,
            "data": dict(entry.data),
            "options": dict(entry.options),
            "subentries": {
                subentry_id: {
                    "type": subentry.subentry_type,
                    "title": subentry.title,
                    # ThingSpeak channels: no write key, no location.
                    "data": async_redact_data(dict(subentry.data), TO_REDACT),
                }
                for subentry_id, subentry in entry.subentries.items()
            },
        },
    }
    # The last `iotitan.import_syslog` into this hub since Home Assistant
    # started (the refused and cut lines are only in its response otherwise).
    if (
        last_import := hass.data.get(DATA_LAST_IMPORT, {}).get(entry.entry_id)
    ) is not None:
        diagnostics["last_import"] = last_import
    if entry.state is not ConfigEntryState.LOADED:
        return diagnostics
    return {
        **diagnostics,
        "hub": entry.runtime_data.as_diagnostics(),
        "alerts": entry.runtime_data.alerts.as_diagnostics(),
        "mqtt_output": entry.runtime_data.output.as_diagnostics(),
        "thingspeak": {
            subentry_id: channel.as_diagnostics()
            for subentry_id, channel in entry.runtime_data.channels.items()
        },
    }
