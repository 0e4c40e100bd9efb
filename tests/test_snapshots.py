"""Snapshots of the declarative entity surface: what users' automations rely on.

Entity ids, unique ids, translation keys, translated names, units, device and
state classes, entity categories, enabled-by-default, the device tree and the
keys of the hub's diagnostics are pinned in snapshots/test_snapshots.ambr. An
accidental change of any of them fails here; an intended one is reviewed as a
diff of that file after `pytest tests/test_snapshots.py --snapshot-update`.

Computed numbers are left to the oracle tests: time is frozen and the readings
are fixed, so the few values that show are the readings themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import (
    CLIENT_ID,
    MockConfigEntry,
    MockUser,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from .alerts_common import alert_subentry
from .common import channel_subentry, hub_entry, sensor_subentry

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]

# Fixed ids: the hub's id is in its unique ids and device identifiers, each
# subentry's in its entities' unique ids.
HUB_ID = "01SNAPSHOT0HUB000000000000"
ROOMS = "source0rooms"
HUMIDITY = "source0humidity"
ROOMS_ALERT = "alert0rooms"
HUMIDITY_ALERT = "alert0humidity"
CHANNEL = "channel0outdoor"
ROOMS_TOPIC = "home/+/temperature"
HUMIDITY_TOPIC = "outdoor/humidity"
NOW = datetime.fromisoformat("2026-01-15T12:00:00+00:00")
READINGS = {
    "home/kitchen/temperature": "21.5",
    "home/hall/temperature": "19",
    HUMIDITY_TOPIC: "55",
}
REJECTED = {"home/hall/temperature": "n/a"}  # one rejection, for its reason's key


def representative_hub() -> MockConfigEntry:
    """A hub with one of each kind of subentry, all with fixed ids."""
    return hub_entry(
        ConfigSubentryDataWithId(
            **sensor_subentry(
                ROOMS_TOPIC,
                windows=[600.0, 3600.0],
                statistics=["mean", "value_max", "percentile", "count"],
                percentile=90,
            ),
            subentry_id=ROOMS,
        ),
        ConfigSubentryDataWithId(
            **sensor_subentry(
                HUMIDITY_TOPIC,
                windows=[3600.0],
                statistics=["mean", "last"],
                unit="%",
                device_class="humidity",
                precision=0,
            ),
            subentry_id=HUMIDITY,
        ),
        alert_subentry(
            name="Too hot",
            high=30,
            source=ROOMS,
            subentry_id=ROOMS_ALERT,
            severity="critical",
        ),
        alert_subentry(
            "range",
            low=30,
            high=70,
            watch="3600/mean",
            source=HUMIDITY,
            subentry_id=HUMIDITY_ALERT,
            title="outdoor/humidity: outside 30 to 70",
        ),
        ConfigSubentryDataWithId(
            **channel_subentry(
                {
                    "1": {
                        "source": HUMIDITY,
                        "topic": HUMIDITY_TOPIC,
                        "window": 3600.0,
                        "statistic": "mean",
                    },
                    "2": {
                        "source": ROOMS,
                        "topic": "home/kitchen/temperature",
                        "window": 600.0,
                        "statistic": "percentile",
                    },
                },
                upload_interval=86400,  # no row (and no upload) during the test
            ),
            subentry_id=CHANNEL,
        ),
        entry_id=HUB_ID,
    )


async def setup_representative_hub(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_hub: SetupHub
) -> MockConfigEntry:
    """Set the hub up at a fixed instant and feed it the fixed readings."""
    freezer.move_to(NOW)
    entry = await setup_hub(representative_hub())
    for topic, payload in (*READINGS.items(), *REJECTED.items()):
        async_fire_mqtt_message(hass, topic, payload)
    await hass.async_block_till_done()
    return entry


def _identifiers(device: dr.DeviceEntry | None) -> list[list[str]] | None:
    return None if device is None else sorted(map(list, device.identifiers))


# The declarative fields, named one by one rather than the whole registry entry:
# the suite also runs on the newest Home Assistant, whose registries add fields
# of their own (which would fail the snapshot without any change here).
ENTITY_FIELDS = (
    "entity_id",
    "unique_id",
    "platform",
    "translation_key",
    "original_name",
    "has_entity_name",
    "original_device_class",
    "original_icon",
    "unit_of_measurement",
    "capabilities",
    "supported_features",
    "entity_category",
    "disabled_by",
    "hidden_by",
)
DEVICE_FIELDS = (
    "identifiers",
    "connections",
    "name",
    "manufacturer",
    "model",
    "model_id",
    "entry_type",
    "configuration_url",
    "sw_version",
    "hw_version",
    "serial_number",
    "area_id",
    "disabled_by",
)


def entity_surface(
    registry_entry: er.RegistryEntry,
    device: dr.DeviceEntry | None,
    state: State | None,
) -> dict[str, Any]:
    """What of an entity users see and rely on: its entry, owner and state."""
    return {
        **{name: getattr(registry_entry, name) for name in ENTITY_FIELDS},
        "options": {
            domain: dict(options) for domain, options in registry_entry.options.items()
        },
        "config_subentry_id": registry_entry.config_subentry_id,
        "device": _identifiers(device),
        "state": None
        if state is None
        else {"state": state.state, "attributes": dict(state.attributes)},
    }


async def test_entities(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    setup_hub: SetupHub,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every entity's declarative fields, owner and state, one snapshot each.

    Entities disabled by default have no state: their entry (disabled_by,
    original name, unit, classes) is what is pinned.
    """
    entry = await setup_representative_hub(hass, freezer, setup_hub)
    entity_entries = sorted(
        er.async_entries_for_config_entry(entity_registry, entry.entry_id),
        key=lambda registry_entry: registry_entry.entity_id,
    )
    assert entity_entries
    assert {e.domain for e in entity_entries} == {"sensor", "binary_sensor"}
    # The list itself, so that a removed entity fails even where an unused
    # snapshot goes unreported (under xdist without --snapshot-update).
    assert [e.entity_id for e in entity_entries] == snapshot(name="entity_ids")
    for registry_entry in entity_entries:
        device = (
            None
            if registry_entry.device_id is None
            else device_registry.async_get(registry_entry.device_id)
        )
        state = hass.states.get(registry_entry.entity_id)
        assert (state is None) == (registry_entry.disabled_by is not None)
        assert entity_surface(registry_entry, device, state) == snapshot(
            name=registry_entry.entity_id
        )


async def test_devices(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    setup_hub: SetupHub,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """The device tree: each device, its parent and the subentry that owns it."""
    entry = await setup_representative_hub(hass, freezer, setup_hub)
    devices = dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    assert devices
    tree: dict[str, dict[str, Any]] = {}
    for device in devices:
        parent = (
            None
            if device.via_device_id is None
            else device_registry.async_get(device.via_device_id)
        )
        key = " ".join("/".join(pair) for pair in sorted(device.identifiers))
        tree[key] = {
            **{name: getattr(device, name) for name in DEVICE_FIELDS},
            "via_device": _identifiers(parent),
            "config_entries_subentries": {
                # The hub's id is fixed; other entries' would not be.
                config_entry_id: sorted(subentries, key=str)
                for config_entry_id, subentries in (
                    device.config_entries_subentries.items()
                )
            },
        }
    assert dict(sorted(tree.items())) == snapshot


def structure(value: Any) -> Any:
    """A diagnostics value with each leaf replaced by its type's name.

    Keys stay, so a renamed, added or removed field shows; redacted values stay
    redacted, so a field that stops being redacted shows too.
    """
    if isinstance(value, dict):
        return {str(key): structure(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [structure(item) for item in value]
    if value == "**REDACTED**":
        return value
    return type(value).__name__


async def test_diagnostics_keys(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    setup_hub: SetupHub,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
    snapshot: SnapshotAssertion,
) -> None:
    """The structure of the hub's diagnostics, with values replaced by their types."""
    entry = await setup_representative_hub(hass, freezer, setup_hub)
    # The fixture's token was issued at the real time, which the frozen clock
    # may precede: issue one at the frozen time.
    refresh_token = await hass.auth.async_create_refresh_token(
        hass_admin_user, CLIENT_ID
    )
    access_token = hass.auth.async_create_access_token(refresh_token)
    diagnostics = await get_diagnostics_for_config_entry(
        hass, partial(hass_client, access_token), entry
    )
    assert diagnostics["entry"]["subentries"][CHANNEL]["data"]["write_api_key"] == (
        "**REDACTED**"
    )
    assert structure(diagnostics) == snapshot
