"""The device registry as both the pinned and the newest Home Assistant expect it.

Every device registry call of IoTitan goes through here. Where Home Assistant
2026.2 and the newest release (2026.11 when this was written) differ, one branch
serves each, chosen by what the running version offers, never by its number:

- a device's parent: `DeviceInfo.via_device_id` (a registry device id) in the
  newest, which reports `via_device` (an identifier) as deprecated, to be removed
  in 2027.8; 2026.2's `DeviceInfo` has only `via_device`;
- finding a device by identifier: `async_get_device_by_identifier(identifier,
  config_entry_id)` in the newest, which reports `async_get_device` (2027.8);
  2026.2 has only `async_get_device`;
- the config entry and subentry of a device: `config_entry_id` and
  `config_subentry_id` in the newest, which reports reading `config_entries`
  and `config_entries_subentries` (2027.10); 2026.2 has only those;
- moving a device to one subentry: `new_config_subentry_id` in the newest, which
  reports `add_`/`remove_config_subentry_id`; 2026.2 has only those.

String fields (name, model, manufacturer) are passed as `str` (the newest
reports anything else, breaking in 2026.12).
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntry, DeviceInfo

from .const import DOMAIN

MANUFACTURER = "IoTitan"
HUB_MODEL = "MQTT statistics hub"
ALERT_MODEL = "Alert"

# What the running Home Assistant offers (the newest branch when True). Module
# globals read at call time, so that tests can switch branches.
DEVICE_INFO_HAS_VIA_DEVICE_ID: bool = "via_device_id" in getattr(
    DeviceInfo, "__optional_keys__", frozenset()
)
REGISTRY_HAS_LOOKUP_BY_IDENTIFIER: bool = hasattr(
    dr.DeviceRegistry, "async_get_device_by_identifier"
)
DEVICE_HAS_SINGLE_ENTRY: bool = any(
    attribute.name == "config_entry_id"
    for attribute in getattr(DeviceEntry, "__attrs_attrs__", ())
)


def hub_device_identifier(entry_id: str) -> tuple[str, str]:
    """Device registry identifier of a hub (its config entry id)."""
    return (DOMAIN, entry_id)


def subentry_device_identifier(subentry_id: str) -> tuple[str, str]:
    """Device registry identifier of a subentry's own device (alert, channel).

    No `/`, unlike topic devices (`<sensor subentry id>/<topic>`).
    """
    return (DOMAIN, subentry_id)


def topic_device_identifier(subentry_id: str, topic: str) -> tuple[str, str]:
    """Device registry identifier of one concrete topic of one sensor source.

    `<sensor subentry id>/<topic>`. Subentry ids are ULIDs (no `/`), so the
    first `/` ends the id; the topic may hold more. Read back with
    `parse_topic_device_identifier`, nowhere else.
    """
    return (DOMAIN, f"{subentry_id}/{topic}")


def parse_topic_device_identifier(
    identifier: tuple[str, str],
) -> tuple[str, str] | None:
    """(sensor subentry id, topic) of a topic device's identifier.

    None for any other device's identifier: the hub's, an alert's or a
    channel's (no `/`), or another integration's.
    """
    domain, key = identifier
    if domain != DOMAIN:
        return None
    subentry_id, slash, topic = key.partition("/")
    if not slash:
        return None
    return subentry_id, topic


def topics_of_device(device: DeviceEntry) -> list[tuple[str, str]]:
    """(sensor subentry id, topic) of each topic identifier a device has.

    One for a topic's device, none for any other.
    """
    return [
        parsed
        for identifier in device.identifiers
        if (parsed := parse_topic_device_identifier(identifier)) is not None
    ]


@callback
def device_by_identifier(
    registry: dr.DeviceRegistry, identifier: tuple[str, str], config_entry_id: str
) -> DeviceEntry | None:
    """The config entry's device with this identifier, if registered."""
    if REGISTRY_HAS_LOOKUP_BY_IDENTIFIER:
        lookup: Any = registry.async_get_device_by_identifier  # type: ignore[attr-defined]
        found: DeviceEntry | None = lookup(identifier, config_entry_id)
        return found
    device = registry.async_get_device(identifiers={identifier})
    if device is None or config_entry_id not in device_config_entry_ids(device):
        return None
    return device


def device_config_entry_ids(device: DeviceEntry) -> set[str]:
    """The config entries a device belongs to (one in the newest release)."""
    if DEVICE_HAS_SINGLE_ENTRY:
        return {getattr(device, "config_entry_id")}  # noqa: B009
    return set(device.config_entries)


def device_subentry_ids(device: DeviceEntry, config_entry_id: str) -> set[str | None]:
    """The subentries of a config entry a device belongs to (None: the entry)."""
    if DEVICE_HAS_SINGLE_ENTRY:
        if getattr(device, "config_entry_id") != config_entry_id:  # noqa: B009
            return set()
        return {getattr(device, "config_subentry_id")}  # noqa: B009
    return set(device.config_entries_subentries.get(config_entry_id, set()))


@callback
def async_move_device_to_subentry(
    registry: dr.DeviceRegistry,
    device: DeviceEntry,
    config_entry_id: str,
    subentry_id: str | None,
) -> None:
    """Make a device belong to exactly one subentry of its config entry."""
    current = device_subentry_ids(device, config_entry_id)
    if current == {subentry_id}:
        return
    if DEVICE_HAS_SINGLE_ENTRY:
        update: Any = registry.async_update_device
        update(device.id, new_config_subentry_id=subentry_id)
        return
    if subentry_id not in current:
        registry.async_update_device(
            device.id,
            add_config_entry_id=config_entry_id,
            add_config_subentry_id=subentry_id,
        )
    for other in current - {subentry_id}:
        registry.async_update_device(
            device.id,
            remove_config_entry_id=config_entry_id,
            remove_config_subentry_id=other,
        )


@callback
def build_device_info(
    hass: HomeAssistant,
    config_entry_id: str,
    *,
    identifier: tuple[str, str],
    name: object,
    model: object,
    via: tuple[str, str] | None = None,
    **extra: Any,
) -> DeviceInfo:
    """A device's info, its parent given by the parent's identifier.

    The parent must be registered already (the hub device is, before any
    platform is set up): the newest release links it by its registry id.
    """
    fields: dict[str, Any] = {
        "identifiers": {identifier},
        "name": str(name),
        "manufacturer": MANUFACTURER,
        "model": str(model),
        **extra,
    }
    if via is not None:
        if DEVICE_INFO_HAS_VIA_DEVICE_ID:
            parent = device_by_identifier(dr.async_get(hass), via, config_entry_id)
            if parent is not None:
                fields["via_device_id"] = parent.id
        else:
            fields["via_device"] = via
    # A DeviceInfo, not a plain dict: the newest release's is a dataclass.
    info: DeviceInfo = DeviceInfo(**fields)  # type: ignore[typeddict-item]
    return info


@callback
def hub_device_info(hass: HomeAssistant, entry_id: str, title: str) -> DeviceInfo:
    """The hub's own device, parent of every other IoTitan device."""
    return build_device_info(
        hass,
        entry_id,
        identifier=hub_device_identifier(entry_id),
        name=title,
        model=HUB_MODEL,
        entry_type=dr.DeviceEntryType.SERVICE,
    )


@callback
def alert_device_info(
    hass: HomeAssistant, entry_id: str, subentry_id: str, title: str
) -> DeviceInfo:
    """An alert subentry's own device, named after it, below the hub device."""
    return build_device_info(
        hass,
        entry_id,
        identifier=subentry_device_identifier(subentry_id),
        name=title,
        model=ALERT_MODEL,
        via=hub_device_identifier(entry_id),
    )


@callback
def async_get_or_create_device(
    hass: HomeAssistant, entry_id: str, subentry_id: str | None, info: DeviceInfo
) -> DeviceEntry:
    """Register a device (from `build_device_info`) as its subentry's."""
    create: Any = dr.async_get(hass).async_get_or_create
    device: DeviceEntry = create(
        config_entry_id=entry_id, config_subentry_id=subentry_id, **info
    )
    return device


@callback
def async_register_hub_device(
    hass: HomeAssistant, entry_id: str, title: str
) -> DeviceEntry:
    """Register the hub device (no subentry) before anything links to it."""
    return async_get_or_create_device(
        hass, entry_id, None, hub_device_info(hass, entry_id, title)
    )
