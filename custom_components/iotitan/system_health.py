"""The hubs' own health on Settings > System > Repairs > System information."""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.components import system_health
from homeassistant.core import HomeAssistant, callback

from .const import DOMAIN
from .hub import IoTitanConfigEntry

MANAGE_URL = f"/config/integrations/integration/{DOMAIN}"


@callback
def async_register(
    hass: HomeAssistant, register: system_health.SystemHealthRegistration
) -> None:
    """Register the info callback with the system health integration."""
    register.async_register_info(system_health_info, MANAGE_URL)


async def system_health_info(hass: HomeAssistant) -> dict[str, Any]:
    """Totals over every loaded hub; keys are translated under system_health.info."""
    entries: list[IoTitanConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    info: dict[str, Any] = {"hubs": len(entries)}
    if not entries:
        return info
    hubs = [entry.runtime_data for entry in entries]
    # Measure the journals now (off the event loop) rather than show the last tick's.
    await asyncio.gather(*(hub.message_log.async_update_journal_size() for hub in hubs))
    journal_bytes = sum(hub.message_log.journal_size or 0 for hub in hubs)
    syslog_states = {
        entry.title: str(entry.runtime_data.message_log.syslog.state)
        for entry in entries
    }
    if len(set(syslog_states.values())) == 1:
        syslog = next(iter(syslog_states.values()))
    else:
        syslog = ", ".join(
            f"{title}: {state}" for title, state in syslog_states.items()
        )
    info.update(
        mqtt_connected=all(hub.mqtt_connected for hub in hubs),
        messages_received=sum(hub.messages_received for hub in hubs),
        syslog=syslog,
        journal_size=f"{journal_bytes / 1024 / 1024:.2f} MiB",
        records_dropped=sum(sum(hub.message_log.dropped().values()) for hub in hubs),
        syslog_records_cut=sum(hub.message_log.syslog.stats.cut_to_fit for hub in hubs),
    )
    return info
