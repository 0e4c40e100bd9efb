"""manifest.json and hacs.json follow hassfest's and HACS's rules."""

from __future__ import annotations

import json
from pathlib import Path
import re

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = ROOT / "custom_components" / "iotitan"


def test_manifest_keys_and_values() -> None:
    """domain and name first, then the rest sorted, as hassfest requires."""
    manifest = json.loads((INTEGRATION / "manifest.json").read_text())
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert set(keys) >= {
        "codeowners",
        "config_flow",
        "dependencies",
        "documentation",
        "integration_type",
        "iot_class",
        "issue_tracker",
        "requirements",
        "version",
    }
    assert manifest["domain"] == "iotitan" == INTEGRATION.name
    assert manifest["config_flow"] is True
    assert manifest["dependencies"] == ["mqtt"]
    assert manifest["iot_class"] == "local_push"
    assert manifest["integration_type"] in {"hub", "service", "device"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert all(owner.startswith("@") for owner in manifest["codeowners"])
    for url_key in ("documentation", "issue_tracker"):
        assert manifest[url_key].startswith("https://")


def test_manifest_requirements_are_exact_pins() -> None:
    """Integration requirements are pinned exactly (name==version)."""
    manifest = json.loads((INTEGRATION / "manifest.json").read_text())
    for requirement in manifest["requirements"]:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", requirement)


def test_hacs_json() -> None:
    """hacs.json names the integration and the oldest Home Assistant it supports."""
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs["name"] == "IoTitan"
    assert hacs["homeassistant"] == "2026.2.0"


def test_translations_generated_from_strings() -> None:
    """translations/en.json is strings.json (run scripts/gen_strings.py)."""
    strings = json.loads((INTEGRATION / "strings.json").read_text())
    english = json.loads((INTEGRATION / "translations" / "en.json").read_text())
    assert strings == english


def test_every_flow_error_is_translated() -> None:
    """Every error key the flows can return has a text."""
    strings = json.loads((INTEGRATION / "strings.json").read_text())
    source = (INTEGRATION / "config_flow.py").read_text()
    used = set(re.findall(r'errors\[[A-Z_]+\] = "([a-z_]+)"', source))
    translated = set(strings["config"]["error"]) | set(strings["options"]["error"])
    for subentry in strings["config_subentries"].values():
        translated |= set(subentry["error"])
    assert used
    assert used <= translated
