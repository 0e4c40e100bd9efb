"""Home Assistant APIs on their way out are used in one module each (issue 14).

The device registry calls that differ between 2026.2 and the newest release
(`via_device`, `async_get_device`, `DeviceEntry.config_entries` and
`config_entries_subentries`, subentry ids added to or removed from a device)
go through `device.py`, which picks what the running Home Assistant offers, and
every publish goes through `mqtt_output.py`, which always passes an int QoS and
a bool retain (None stops working in 2027.6). The forward-compatibility check
reviews each deprecation once, by Home Assistant function, not by call site:
a new call elsewhere would pass it, and 2026.2 reports none of these, so this
test is what notices.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "custom_components" / "iotitan"

# name -> the one module allowed to use it (as an attribute, a call's keyword
# or a dict key).
OWNERS: dict[str, str] = {
    "async_get_device": "device.py",
    "via_device": "device.py",
    "via_device_id": "device.py",
    "config_entries_subentries": "device.py",
    "add_config_subentry_id": "device.py",
    "remove_config_subentry_id": "device.py",
    "async_publish": "mqtt_output.py",
}


def _is_hass(node: ast.expr) -> bool:
    """`hass` or `<anything>.hass`: Home Assistant's config entries manager."""
    return (isinstance(node, ast.Name) and node.id == "hass") or (
        isinstance(node, ast.Attribute) and node.attr == "hass"
    )


def uses(source: str) -> list[tuple[str, int]]:
    """(name, line) of every use of a guarded name in `source`.

    `.config_entries` counts only when it is not Home Assistant's manager
    (`hass.config_entries`): a device entry's list of config entries.
    """
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            if node.attr in OWNERS:
                found.append((node.attr, node.lineno))
            elif node.attr == "config_entries" and not _is_hass(node.value):
                found.append(("config_entries", node.lineno))
        elif isinstance(node, ast.keyword) and node.arg in OWNERS:
            found.append((node.arg, node.value.lineno))
        elif isinstance(node, ast.Constant) and node.value in OWNERS:
            found.append((str(node.value), node.lineno))
    return found


def test_the_finder_sees_each_kind_of_use() -> None:
    """Planted uses of each kind are found; Home Assistant's manager is not."""
    source = """
registry.async_get_device(identifiers={x})
DeviceInfo(identifiers={x}, via_device=(DOMAIN, "hub"))
info = {"via_device": (DOMAIN, "hub")}
ids = set(device.config_entries)
entries = hass.config_entries.async_entries()
other = self.hass.config_entries.async_get_entry(entry_id)
await mqtt.async_publish(hass, topic, payload, None, None)
"""
    assert sorted(name for name, _ in uses(source)) == [
        "async_get_device",
        "async_publish",
        "config_entries",
        "via_device",
        "via_device",
    ]


@pytest.mark.parametrize(
    "path",
    sorted(PACKAGE.rglob("*.py")),
    ids=lambda path: str(path.relative_to(PACKAGE)),
)
def test_deprecated_apis_only_in_their_module(path: Path) -> None:
    """Outside its owner, no module uses a guarded name."""
    module = str(path.relative_to(PACKAGE))
    misplaced = [
        f"{module}:{line} uses {name} (only {OWNERS.get(name, 'device.py')} may)"
        for name, line in uses(path.read_text())
        if OWNERS.get(name, "device.py") != module
    ]
    assert not misplaced
