"""Service actions of IoTitan, registered once in `async_setup`."""

from __future__ import annotations

import functools
from pathlib import PurePath
import time
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey
import voluptuous as vol

from .channel import async_get_channel
from .const import DOMAIN
from .hub import IoTitanConfigEntry
from .import_syslog import (
    ImportReadError,
    ImportRefusedError,
    SyslogImport,
    open_for_import,
)

ATTR_CONFIG_ENTRY_ID = "config_entry_id"
ATTR_PATH = "path"
ATTR_YEAR = "year"
SERVICE_IMPORT_SYSLOG = "import_syslog"

# Each hub's last import, for diagnostics: kept here, not on the hub, because
# an import reloads the hub to rebuild its windows.
DATA_LAST_IMPORT: HassKey[dict[str, dict[str, Any]]] = HassKey(f"{DOMAIN}_last_import")

IMPORT_SYSLOG_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_PATH): cv.string,
        vol.Optional(ATTR_YEAR): vol.All(
            vol.Coerce(int), vol.Range(min=1970, max=9999)
        ),
    }
)


def _loaded_hub_entry(hass: HomeAssistant, entry_id: str) -> IoTitanConfigEntry:
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="hub_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="hub_not_loaded",
            translation_placeholders={"title": entry.title},
        )
    hub_entry: IoTitanConfigEntry = entry
    return hub_entry


async def _async_import_syslog(call: ServiceCall) -> ServiceResponse:
    """Append a legacy or RFC 5424 syslog file to a hub's journal.

    The file is opened and checked in the executor (see import_syslog.py), then
    read from that descriptor in batches; each batch is flushed to the journal
    before the next is read, so memory stays bounded by a batch. If the file
    cannot be read to its end, the records before the damage stay imported (the
    journal is append-only and they are valid) and the error says how many.
    """
    hass = call.hass
    entry = _loaded_hub_entry(hass, call.data[ATTR_CONFIG_ENTRY_ID])
    path = call.data[ATTR_PATH]
    try:
        fd = await hass.async_add_executor_job(
            open_for_import, path, hass.config.is_allowed_path
        )
    except ImportRefusedError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=err.key,
            translation_placeholders={"path": path},
        ) from err
    except OSError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="import_failed",
            translation_placeholders={
                "path": path,
                "error": err.strerror or str(err),
            },
        ) from err
    hub = entry.runtime_data
    journal = hub.message_log.journal
    now = time.time()
    year = call.data.get(ATTR_YEAR)
    try:  # in the executor: it peeks at the file for the gzip magic
        reader = await hass.async_add_executor_job(
            functools.partial(
                SyslogImport,
                fd,
                gzipped=path.endswith(".gz"),
                year=year,
                this_year=dt_util.now().year,
                tz=dt_util.get_default_time_zone(),
                since=now - journal.keep_seconds,
                now=now,
            )
        )
    except OSError as err:  # SyslogImport closed the descriptor
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="import_failed",
            translation_placeholders={"path": path, "error": err.strerror or str(err)},
        ) from err
    outcome = "damaged"
    try:
        while batch := await hass.async_add_executor_job(reader.read_batch):
            for record in batch:
                journal.submit(record)
            await journal.flush()
        outcome = "complete"
    except ImportReadError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="import_damaged",
            translation_placeholders={
                "path": path,
                "error": str(err),
                "imported": str(reader.counts.imported),
            },
        ) from err
    finally:
        await hass.async_add_executor_job(reader.close)
        hass.data.setdefault(DATA_LAST_IMPORT, {})[entry.entry_id] = {
            "finished": dt_util.utcnow().isoformat(),
            "file": PurePath(path).name,
            "outcome": outcome,
            **reader.counts.as_response(),
        }
        # The windows are rebuilt from the journal, now with the imported history.
        if reader.counts.imported:
            # The journal now holds records the windows never saw.
            await hub.async_drop_snapshot("records were imported into the journal")
            hass.config_entries.async_schedule_reload(entry.entry_id)
    return reader.counts.as_response()


SERVICE_PUSH_NOW = "push_now"
PUSH_NOW_SCHEMA = vol.Schema(
    {vol.Required(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [cv.string])}
)


@callback
def _async_push_now(call: ServiceCall) -> None:
    """Upload the rows waiting in ThingSpeak channels now (spacing still holds)."""
    channels = [
        async_get_channel(call.hass, device_id)
        for device_id in call.data[ATTR_DEVICE_ID]
    ]
    for channel in channels:
        channel.async_push_now()


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register IoTitan's service actions."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_IMPORT_SYSLOG,
        _async_import_syslog,
        schema=IMPORT_SYSLOG_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_PUSH_NOW, _async_push_now, schema=PUSH_NOW_SCHEMA
    )
