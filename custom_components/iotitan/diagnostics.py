"""Diagnostics for IoTitan: settings, counters and per-topic window sizes."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant

from .hub import IoTitanConfigEntry


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: IoTitanConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a config entry."""
    return {
        "entry": {
            "title": entry.title,
            "data": dict(entry.data),
            "options": dict(entry.options),
            "subentries": {
                subentry_id: {
                    "type": subentry.subentry_type,
                    "title": subentry.title,
                    "data": dict(subentry.data),
                }
                for subentry_id, subentry in entry.subentries.items()
            },
        },
        "hub": entry.runtime_data.as_diagnostics(),
    }
