"""Migrations of a hub's stored shape: entry data, options and subentries.

Home Assistant versions a config entry as a whole (`version.minor_version`), so every
change to what the flows store, in the entry or in any of its subentries, bumps
`CONFIG_ENTRY_MINOR_VERSION` and adds one step here. A step brings an entry from the
minor version before it to its own; steps run in order, each followed by a version
update, so an install several releases old walks the whole chain. A minor version
without a step changes nothing stored (minor versions are assigned to changes
made in parallel: 2 the syslog record size, 3 a device per alert subentry, 4
`words_as_numbers` made explicit, 5 device names from topic levels, 6 several
readings per source).

Steps may also bring the entity and device registries to the shape the code of
their version expects (1.3: a device per alert subentry).

1.2: the hub option "Largest syslog record" (``logging.max_record_bytes``); existing
hubs get its default written into their options, so what they send is fixed in
their entry rather than by whatever a later release's default is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .const import (
    CONF_AREA_LEVEL,
    CONF_DEVICE,
    CONF_DEVICE_CLASS,
    CONF_FIELDS,
    CONF_LOGGING,
    CONF_MAX_RECORD_BYTES,
    CONF_NAME_TEMPLATE,
    CONF_READING,
    CONF_READINGS,
    CONF_TIME_PATH,
    CONF_UNIT,
    CONF_VALUE_PATH,
    CONF_WORDS_AS_NUMBERS,
    CONFIG_ENTRY_MINOR_VERSION,
    CONFIG_ENTRY_VERSION,
    DEFAULT_MAX_RECORD_BYTES,
    LOGGER,
    SUBENTRY_ALERT,
    SUBENTRY_CHANNEL,
    SUBENTRY_SENSOR,
)
from .device import (
    alert_device_info,
    async_get_or_create_device,
    async_move_device_to_subentry,
    async_register_hub_device,
    topics_of_device,
)
from .models import ReadingConfig, default_words_as_numbers

if TYPE_CHECKING:
    MigrationStep = Callable[[HomeAssistant, ConfigEntry], None]


def _add_max_record_bytes(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """1.2: write the largest syslog record's default into the logging options."""
    logging_options = dict(entry.options.get(CONF_LOGGING, {}))
    logging_options.setdefault(CONF_MAX_RECORD_BYTES, DEFAULT_MAX_RECORD_BYTES)
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_LOGGING: logging_options}
    )


def _alert_devices_of_their_own(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """1.3: each device belongs to one subentry.

    Before, an alert's entities sat on the watched topics' devices, which thus
    belonged to the sensor subentry and to every alert subentry watching it (the
    newest Home Assistant moves such a device between subentries with a warning,
    and will refuse it). Now each alert subentry has its own device: its entities
    move there, keeping entity id, unique id and so their history, and every topic
    device is left to its sensor subentry alone.
    """
    entity_registry = er.async_get(hass)
    device_registry = dr.async_get(hass)
    alerts = {
        subentry_id: subentry
        for subentry_id, subentry in entry.subentries.items()
        if subentry.subentry_type == SUBENTRY_ALERT
    }
    if alerts:
        async_register_hub_device(hass, entry.entry_id, entry.title)
    alert_devices: dict[str, str] = {}
    for registry_entry in er.async_entries_for_config_entry(
        entity_registry, entry.entry_id
    ):
        subentry_id = registry_entry.config_subentry_id
        if subentry_id not in alerts:
            continue
        if (device_id := alert_devices.get(subentry_id)) is None:
            info = alert_device_info(
                hass, entry.entry_id, subentry_id, alerts[subentry_id].title
            )
            device_id = alert_devices[subentry_id] = async_get_or_create_device(
                hass, entry.entry_id, subentry_id, info
            ).id
        if registry_entry.device_id != device_id:
            entity_registry.async_update_entity(
                registry_entry.entity_id, device_id=device_id
            )
    for device in dr.async_entries_for_config_entry(device_registry, entry.entry_id):
        for source_id, _ in topics_of_device(device)[:1]:
            if source_id in entry.subentries:
                async_move_device_to_subentry(
                    device_registry, device, entry.entry_id, source_id
                )


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


def _device_names_section(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """1.5: every sensor source stores how its topics' devices are named.

    Existing sources get the default (an empty template: the levels the
    wildcards matched) and no area level. Their devices take the new names
    at setup, where the device registry updates `name` and leaves a name the
    user gave (`name_by_user`) in front of it; entity ids, unique ids and
    history do not depend on device names.
    """
    for subentry in list(entry.subentries.values()):
        if subentry.subentry_type != SUBENTRY_SENSOR or CONF_DEVICE in subentry.data:
            continue
        hass.config_entries.async_update_subentry(
            entry,
            subentry,
            data={
                **subentry.data,
                CONF_DEVICE: {CONF_NAME_TEMPLATE: "", CONF_AREA_LEVEL: None},
            },
        )


def _readings_list(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """1.6: a sensor source holds a list of readings; alerts and ThingSpeak
    fields name the reading they follow.

    A source's value path, unit and device class become its one reading, of
    key "": that reading's entities keep the unique ids they had (a reading's
    key is part of its unique ids only when not empty), so their entity ids
    and history stay. Readings are dated on arrival (an empty time path), as
    before. Alerts and channel fields follow the reading "".
    """
    for subentry in list(entry.subentries.values()):
        data = dict(subentry.data)
        if subentry.subentry_type == SUBENTRY_SENSOR and CONF_READINGS not in data:
            reading = ReadingConfig(
                key="",
                value_path=data.pop(CONF_VALUE_PATH, None) or "",
                unit=data.pop(CONF_UNIT, None) or None,
                device_class=data.pop(CONF_DEVICE_CLASS, None) or None,
            )
            data[CONF_READINGS] = [reading.to_data()]
            data.setdefault(CONF_TIME_PATH, "")
        elif subentry.subentry_type == SUBENTRY_ALERT:
            data.setdefault(CONF_READING, "")
        elif subentry.subentry_type == SUBENTRY_CHANNEL:
            data[CONF_FIELDS] = {
                number: {**field, "reading": field.get("reading", "")}
                for number, field in (data.get(CONF_FIELDS) or {}).items()
            }
        if data != subentry.data:
            hass.config_entries.async_update_subentry(entry, subentry, data=data)


# minor version -> the step that produces it from the one before.
MIGRATION_STEPS: Final[dict[int, MigrationStep]] = {
    2: _add_max_record_bytes,
    3: _alert_devices_of_their_own,
    4: _words_as_numbers_explicit,
    5: _device_names_section,
    6: _readings_list,
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
