"""Migrations of a hub's stored shape: entry data, options and subentries.

Home Assistant versions a config entry as a whole (`version.minor_version`), so every
change to what the flows store, in the entry or in any of its subentries, bumps
`CONFIG_ENTRY_MINOR_VERSION` and adds one step here. A step brings an entry from the
minor version before it to its own; steps run in order, each followed by a version
update, so an install several releases old walks the whole chain. A minor version
without a step changes nothing stored.

1.2: the hub option "Largest syslog record" (``logging.max_record_bytes``); existing
hubs get its default written into their options, so what they send is fixed in
their entry rather than by whatever a later release's default is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from .const import (
    CONF_LOGGING,
    CONF_MAX_RECORD_BYTES,
    CONFIG_ENTRY_MINOR_VERSION,
    CONFIG_ENTRY_VERSION,
    DEFAULT_MAX_RECORD_BYTES,
    LOGGER,
)

if TYPE_CHECKING:
    MigrationStep = Callable[[HomeAssistant, ConfigEntry], None]


def _add_max_record_bytes(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """1.2: write the largest syslog record's default into the logging options."""
    logging_options = dict(entry.options.get(CONF_LOGGING, {}))
    logging_options.setdefault(CONF_MAX_RECORD_BYTES, DEFAULT_MAX_RECORD_BYTES)
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_LOGGING: logging_options}
    )


# minor version -> the step that produces it from the one before.
MIGRATION_STEPS: Final[dict[int, MigrationStep]] = {
    2: _add_max_record_bytes,
}


async def async_migrate_hub_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Bring an entry stored by an older IoTitan to today's shape.

    An entry written by a newer IoTitan (a downgrade) is refused, as Home Assistant
    expects: its shape cannot be guessed.
    """
    if entry.version > CONFIG_ENTRY_VERSION or (
        entry.version == CONFIG_ENTRY_VERSION
        and entry.minor_version > CONFIG_ENTRY_MINOR_VERSION
    ):
        LOGGER.error(
            "Hub %s was stored by a newer IoTitan (version %s.%s); update IoTitan",
            entry.title,
            entry.version,
            entry.minor_version,
        )
        return False
    for minor in range(entry.minor_version + 1, CONFIG_ENTRY_MINOR_VERSION + 1):
        step = MIGRATION_STEPS.get(minor)
        if step is not None:
            step(hass, entry)
        hass.config_entries.async_update_entry(entry, minor_version=minor)
        LOGGER.debug("Hub %s migrated to version 1.%s", entry.title, minor)
    return True
