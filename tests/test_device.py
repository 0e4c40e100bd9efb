"""device.py: both branches of each helper, and what a set-up hub registers.

The pinned Home Assistant (2026.2) takes the old branch for real. The newest
release's branch is taken by switching the module's capability flags; the newest
registry is not importable here (it needs Python 3.14), so a recording stand-in
checks that the call has the shape the newest `device_registry.py` defines:
`async_get_device_by_identifier(identifier, config_entry_id)`,
`async_update_device(device_id, new_config_subentry_id=...)`, and device entries
with `config_entry_id` / `config_subentry_id`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import inspect
from pathlib import Path
import re
from types import SimpleNamespace
from typing import Any
import zipfile

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from packaging.version import Version
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from custom_components.iotitan import device
from custom_components.iotitan.const import DOMAIN

from .alerts_common import alert_subentry, source_subentry
from .common import channel_subentry, hub_entry, sensor_subentry

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]


class RecordingRegistry:
    """Stands in for the newest release's device registry; records calls."""

    def __init__(self, found: Any = None) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.found = found

    def async_get_device_by_identifier(
        self, identifier: tuple[str, str], config_entry_id: str
    ) -> Any:
        self.calls.append(("by_identifier", (identifier, config_entry_id), {}))
        return self.found

    def async_update_device(self, device_id: str, **kwargs: Any) -> None:
        self.calls.append(("update", (device_id,), kwargs))

    def async_get_device(self, **kwargs: Any) -> None:
        raise AssertionError("deprecated in the newest release")


@pytest.fixture
def newest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take the newest release's branch of every helper."""
    monkeypatch.setattr(device, "DEVICE_INFO_HAS_VIA_DEVICE_ID", True)
    monkeypatch.setattr(device, "REGISTRY_HAS_LOOKUP_BY_IDENTIFIER", True)
    monkeypatch.setattr(device, "DEVICE_HAS_SINGLE_ENTRY", True)


def test_flags_match_the_running_registry() -> None:
    """A DeviceInfo with `via_device_id` comes with a registry that takes it."""
    parameters = inspect.signature(dr.DeviceRegistry.async_get_or_create).parameters
    assert ("via_device_id" in parameters) == device.DEVICE_INFO_HAS_VIA_DEVICE_ID
    assert (
        hasattr(dr.DeviceRegistry, "async_get_device_by_identifier")
        == device.DEVICE_HAS_SINGLE_ENTRY
    )


async def test_old_branch_links_by_identifier_and_passes_strings(
    hass: HomeAssistant,
) -> None:
    """2026.2: `via_device` (an identifier); non-string names become strings."""
    info = device.build_device_info(
        hass,
        "entry",
        identifier=(DOMAIN, "x"),
        name=1234,
        model=SimpleNamespace(__str__=lambda self: "m"),
        via=(DOMAIN, "entry"),
    )
    assert info["via_device"] == (DOMAIN, "entry")
    assert "via_device_id" not in info
    assert type(info["name"]) is str
    assert info["name"] == "1234"
    assert type(info["model"]) is str


async def test_newest_branch_links_by_registry_id(
    hass: HomeAssistant, newest: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Newest: the parent is looked up in the entry and linked by its id."""
    registry = RecordingRegistry(found=SimpleNamespace(id="hub-device-id"))
    monkeypatch.setattr(device.dr, "async_get", lambda hass: registry)
    info = device.build_device_info(
        hass,
        "entry",
        identifier=(DOMAIN, "x"),
        name="x",
        model="m",
        via=(DOMAIN, "entry"),
    )
    assert info["via_device_id"] == "hub-device-id"
    assert "via_device" not in info
    assert registry.calls == [("by_identifier", ((DOMAIN, "entry"), "entry"), {})]


async def test_old_lookup_only_finds_the_entry_s_own_device(
    hass: HomeAssistant,
) -> None:
    """2026.2: `async_get_device`, limited to the asked config entry."""
    mine = MockConfigEntry(domain=DOMAIN)
    mine.add_to_hass(hass)
    registry = dr.async_get(hass)
    created = registry.async_get_or_create(
        config_entry_id=mine.entry_id, identifiers={(DOMAIN, "a")}
    )
    assert device.device_by_identifier(registry, (DOMAIN, "a"), mine.entry_id) == (
        created
    )
    assert device.device_by_identifier(registry, (DOMAIN, "a"), "other") is None
    assert device.device_by_identifier(registry, (DOMAIN, "b"), mine.entry_id) is None


def test_newest_lookup(newest: None) -> None:
    """Newest: `async_get_device_by_identifier(identifier, config_entry_id)`."""
    registry = RecordingRegistry(found="found")
    found = device.device_by_identifier(registry, (DOMAIN, "a"), "entry")  # type: ignore[arg-type]
    assert found == "found"
    assert registry.calls == [("by_identifier", ((DOMAIN, "a"), "entry"), {})]


async def test_old_subentries_and_move(hass: HomeAssistant) -> None:
    """2026.2: a device in two subentries is left in one."""
    entry = hub_entry(
        sensor_subentry("a/t"), sensor_subentry("b/t"), sensor_subentry("c/t")
    )
    entry.add_to_hass(hass)
    first, second, third = entry.subentries
    registry = dr.async_get(hass)
    for subentry_id in (first, second):
        shared = registry.async_get_or_create(
            config_entry_id=entry.entry_id,
            config_subentry_id=subentry_id,
            identifiers={(DOMAIN, "shared")},
        )
    assert device.device_config_entry_ids(shared) == {entry.entry_id}
    assert device.device_subentry_ids(shared, entry.entry_id) == {first, second}
    assert device.device_subentry_ids(shared, "other") == set()

    device.async_move_device_to_subentry(registry, shared, entry.entry_id, first)
    moved = registry.async_get(shared.id)
    assert moved is not None
    assert device.device_subentry_ids(moved, entry.entry_id) == {first}
    device.async_move_device_to_subentry(registry, moved, entry.entry_id, third)
    moved = registry.async_get(shared.id)
    assert moved is not None
    assert device.device_subentry_ids(moved, entry.entry_id) == {third}


def test_newest_subentries_and_move(newest: None) -> None:
    """Newest: one entry and subentry per device; moved with new_config_subentry_id."""
    entry_device = SimpleNamespace(
        id="d", config_entry_id="entry", config_subentry_id="alert"
    )
    assert device.device_config_entry_ids(entry_device) == {"entry"}  # type: ignore[arg-type]
    assert device.device_subentry_ids(entry_device, "entry") == {"alert"}  # type: ignore[arg-type]
    assert device.device_subentry_ids(entry_device, "other") == set()  # type: ignore[arg-type]
    registry = RecordingRegistry()
    device.async_move_device_to_subentry(registry, entry_device, "entry", "sensor")  # type: ignore[arg-type]
    device.async_move_device_to_subentry(  # already there: no call
        registry,  # type: ignore[arg-type]
        SimpleNamespace(id="e", config_entry_id="entry", config_subentry_id="sensor"),  # type: ignore[arg-type]
        "entry",
        "sensor",
    )
    assert registry.calls == [("update", ("d",), {"new_config_subentry_id": "sensor"})]


async def test_every_device_string_field_is_a_string(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """The newest release reports non-string values in device string fields."""
    entry = await setup_hub(
        hub_entry(
            source_subentry(),
            alert_subentry(high=30),
            channel_subentry(
                {
                    "1": {
                        "source": "source0temperature",
                        "topic": "room/t",
                        "window": 3600.0,
                        "statistic": "mean",
                    }
                }
            ),
        )
    )
    async_fire_mqtt_message(hass, "room/t", "31")
    await hass.async_block_till_done()
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert len(devices) == 4  # hub, topic, alert, channel
    for registered in devices:
        for name in (
            "name",
            "model",
            "manufacturer",
            "sw_version",
            "hw_version",
            "configuration_url",
        ):
            value = getattr(registered, name)
            assert value is None or type(value) is str, (registered.name, name)
        assert registered.manufacturer == "IoTitan"


# -- the newest branch against the newest release's own source -----------------------

CACHE = Path(__file__).resolve().parents[1] / ".cache" / "forward-compat"


def _newest_source(path: str) -> str:
    """A module of the newest cached wheel (scripts/check_forward_compat.py caches it).

    Read as text: the newest release's syntax (Python 3.14) does not parse here.
    """
    # By version, not by name: "2026.9.0" sorts after "2026.11.0" as text.
    wheels = sorted(
        CACHE.glob("homeassistant-*.whl"),
        key=lambda wheel: Version(wheel.name.split("-")[1]),
    )
    if not wheels:
        pytest.skip("no newest Home Assistant wheel cached (run check_forward_compat)")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        return wheel.read(path).decode()


def _class(source: str, name: str) -> str:
    """The text of a top-level class."""
    match = re.search(rf"^class {name}\b.*?(?=^\S)", source, re.M | re.S)
    assert match is not None, name
    return match.group(0)


def _parameters(cls: str, method: str) -> list[str]:
    """The parameter names of a method of a class's text."""
    match = re.search(rf"def {method}\((.*?)\)(?: -> [^\n]*)?:\n", cls, re.S)
    assert match is not None, method
    names: list[str] = []
    depth = 0
    current = ""
    for char in match.group(1) + ",":
        depth += (char in "[(" and 1) or ((char in "])" and -1) or 0)
        if char == "," and depth == 0:
            name = re.match(r"\s*\**(\w+)", current)
            if name is not None:
                names.append(name.group(1))
            current = ""
        else:
            current += char
    return [name for name in names if name not in ("kwargs", "args")]


def test_newest_branch_matches_the_newest_release() -> None:
    """The names the newest branch relies on are what the newest release defines."""
    source = _newest_source("homeassistant/helpers/device_registry.py")
    registry = _class(source, "DeviceRegistry")
    assert _parameters(registry, "async_get_device_by_identifier") == [
        "self",
        "identifier",
        "config_entry_id",
    ]
    assert "new_config_subentry_id" in _parameters(registry, "async_update_device")
    assert "via_device_id" in _parameters(registry, "async_get_or_create")
    assert re.search(r"^    via_device_id: ", _class(source, "DeviceInfo"), re.M)
    entry = _class(source, "BaseDeviceEntry")
    assert re.search(r"^    config_entry_id: str = attr.ib\(\)", entry, re.M)
    assert re.search(r"^    config_subentry_id: ", entry, re.M)


@pytest.mark.parametrize(
    ("subentry_id", "topic", "stored"),
    [
        ("01JSOURCE", "room/t", "01JSOURCE/room/t"),
        ("01JSOURCE", "home/den/a|b", "01JSOURCE/home/den/a|b"),
        ("01JSOURCE", "/leading/slash", "01JSOURCE//leading/slash"),
        ("01JSOURCE", "t", "01JSOURCE/t"),
    ],
)
def test_topic_device_identifiers_read_back(
    subentry_id: str, topic: str, stored: str
) -> None:
    """A topic's device is `<subentry id>/<topic>`; the first `/` ends the id."""
    identifier = device.topic_device_identifier(subentry_id, topic)
    assert identifier == (DOMAIN, stored)
    assert device.parse_topic_device_identifier(identifier) == (subentry_id, topic)


def test_other_identifiers_name_no_topic() -> None:
    """The hub's, an alert's, a channel's and other integrations' identifiers."""
    for identifier in (
        device.hub_device_identifier("01JENTRY"),
        device.subentry_device_identifier("01JALERT"),
        ("mqtt", "01JSOURCE/room/t"),
    ):
        assert device.parse_topic_device_identifier(identifier) is None
    entry = SimpleNamespace(
        identifiers={
            device.hub_device_identifier("01JENTRY"),
            device.topic_device_identifier("01JSOURCE", "room/t"),
        }
    )
    assert device.topics_of_device(entry) == [("01JSOURCE", "room/t")]  # type: ignore[arg-type]
