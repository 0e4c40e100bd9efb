"""Migrations of a hub's stored shape: entry data, options and subentries.

Home Assistant versions a config entry as a whole (`version.minor_version`), so every
change to what the flows store, in the entry or in any of its subentries, bumps
`CONFIG_ENTRY_MINOR_VERSION` and adds one step here. A step brings an entry from the
minor version before it to its own; steps run in order, each followed by a version
update, so an install several releases old walks the whole chain. A minor version
without a step changes nothing stored (other minor versions are assigned to
changes made in parallel; 4 makes `words_as_numbers` explicit).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from .const import (
    CONF_WORDS_AS_NUMBERS,
    CONFIG_ENTRY_MINOR_VERSION,
    CONFIG_ENTRY_VERSION,
    LOGGER,
    SUBENTRY_SENSOR,
)
from .models import default_words_as_numbers

if TYPE_CHECKING:
    MigrationStep = Callable[[HomeAssistant, ConfigEntry], None]


def _words_as_numbers_explicit(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """1.4: every sensor source stores whether it reads on/off words as 1/0.

    Before, every source did. A source without a unit or device class keeps
    doing so (its readings may well be on/off); one with a unit or device class
    gets the new default, off: a stray `on` on a temperature topic is no longer
    a reading of 1 (turn the option on in the source's settings to keep it).
    """
    for subentry in list(entry.subentries.values()):
        if (
            subentry.subentry_type != SUBENTRY_SENSOR
            or CONF_WORDS_AS_NUMBERS in subentry.data
        ):
            continue
        hass.config_entries.async_update_subentry(
            entry,
            subentry,
            data={
                **subentry.data,
                CONF_WORDS_AS_NUMBERS: default_words_as_numbers(subentry.data),
            },
        )


# minor version -> the step that produces it from the one before.
MIGRATION_STEPS: Final[dict[int, MigrationStep]] = {4: _words_as_numbers_explicit}


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
