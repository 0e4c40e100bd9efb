"""quality_scale.yaml: every rule is done, or exempt with a reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

QUALITY_SCALE = (
    Path(__file__).parent.parent
    / "custom_components"
    / "iotitan"
    / "quality_scale.yaml"
)
# Rules of Home Assistant's Integration Quality Scale, bronze to platinum.
RULES = {
    # bronze
    "action-setup", "appropriate-polling", "brands", "common-modules",
    "config-flow", "config-flow-test-coverage", "dependency-transparency",
    "docs-actions", "docs-high-level-description", "docs-installation-instructions",
    "docs-removal-instructions", "entity-event-setup", "entity-unique-id",
    "has-entity-name", "runtime-data", "test-before-configure",
    "test-before-setup", "unique-config-entry",
    # silver
    "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
    "docs-installation-parameters", "entity-unavailable", "integration-owner",
    "log-when-unavailable", "parallel-updates", "reauthentication-flow",
    "test-coverage",
    # gold
    "devices", "diagnostics", "discovery", "discovery-update-info",
    "docs-data-update", "docs-examples", "docs-known-limitations",
    "docs-supported-devices", "docs-supported-functions", "docs-troubleshooting",
    "docs-use-cases", "dynamic-devices", "entity-category", "entity-device-class",
    "entity-disabled-by-default", "entity-translations", "exception-translations",
    "icon-translations", "reconfiguration-flow", "repair-issues", "stale-devices",
    # platinum
    "async-dependency", "inject-websession", "strict-typing",
}  # fmt: skip


def test_every_rule_is_done_or_exempt_with_a_reason() -> None:
    rules: dict[str, Any] = yaml.safe_load(QUALITY_SCALE.read_text())["rules"]
    assert set(rules) == RULES
    for name, rule in rules.items():
        status = rule if isinstance(rule, str) else rule["status"]
        assert status in {"done", "exempt"}, name
        if status == "exempt":
            assert rule["comment"].strip(), name
