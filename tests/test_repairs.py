"""Repair issues of alerts that can no longer run.

An alert names a sensor source and maybe one of its windows. When the user
deletes the source, or takes the watched window out of it, the alert cannot
run: a repair issue says so until the alert is reconfigured or deleted.
"""

from __future__ import annotations

import json
from pathlib import Path
import re

from homeassistant.config_entries import SOURCE_RECONFIGURE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from custom_components.iotitan.alert_runtime import AlertProblem, alert_issue_id
from custom_components.iotitan.const import DOMAIN, SUBENTRY_ALERT

from .alerts_common import (
    ALERT_ID,
    SOURCE_ID,
    SetupHub,
    alert_state,
    alert_subentry,
    source_subentry,
)
from .common import hub_entry

OTHER_SOURCE_ID = "source0other"
STRINGS = Path(__file__).parent.parent / "custom_components/iotitan/strings.json"


def issue_of(
    hass: HomeAssistant, entry: MockConfigEntry, alert_id: str = ALERT_ID
) -> ir.IssueEntry | None:
    """The repair issue of an alert, if one is raised."""
    return ir.async_get(hass).async_get_issue(
        DOMAIN, alert_issue_id(entry.entry_id, alert_id)
    )


def alert_issues(hass: HomeAssistant) -> list[str]:
    """Ids of every alert repair issue raised."""
    return sorted(
        issue_id
        for domain, issue_id in ir.async_get(hass).issues
        if domain == DOMAIN and issue_id.startswith("alert_")
    )


def assert_text_has_placeholders(issue: ir.IssueEntry) -> None:
    """Every placeholder of the issue's English text is given, and no other."""
    assert issue.translation_key is not None
    text = json.loads(STRINGS.read_text())["issues"][issue.translation_key]
    used = set(re.findall(r"{(\w+)}", text["title"] + text["description"]))
    assert used == set(issue.translation_placeholders or {})


async def reconfigure_alert(
    hass: HomeAssistant, entry: MockConfigEntry, source_id: str, watch: str
) -> None:
    """Go through the alert's reconfigure flow: another source, a high rule."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_ALERT),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": ALERT_ID},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"source": source_id}
    )
    assert result["step_id"] == "rule"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"rule": "high"}
    )
    assert result["step_id"] == "settings"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "watch": watch,
            "high": 30.0,
            "deadband": 0.0,
            "severity": "warning",
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()


async def test_deleted_source_raises_an_issue_until_the_alert_moves(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Source deleted: an issue; reconfigured to another source: gone, it runs."""
    entry = await setup_hub(
        hub_entry(
            source_subentry("room/t"),
            source_subentry("room/u", subentry_id=OTHER_SOURCE_ID),
            alert_subentry(high=30, name="Too warm"),
        )
    )
    assert alert_issues(hass) == []

    hass.config_entries.async_remove_subentry(entry, SOURCE_ID)
    await hass.async_block_till_done()
    issue = issue_of(hass, entry)
    assert issue is not None
    assert issue.translation_key == "alert_source_missing"
    assert issue.translation_placeholders == {"alert": "Too warm", "hub": "IoTitan"}
    assert issue.severity is ir.IssueSeverity.WARNING
    assert not issue.is_fixable
    assert not issue.is_persistent
    assert issue.issue_domain is None
    assert_text_has_placeholders(issue)
    assert entry.runtime_data.alerts.alerts == {}
    # Still true after another reload: raised once, with the same id.
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert alert_issues(hass) == [alert_issue_id(entry.entry_id, ALERT_ID)]

    await reconfigure_alert(hass, entry, OTHER_SOURCE_ID, "value")
    assert issue_of(hass, entry) is None
    assert alert_issues(hass) == []
    assert ALERT_ID in entry.runtime_data.alerts.alerts
    async_fire_mqtt_message(hass, "room/u", "31")
    await hass.async_block_till_done()
    assert alert_state(hass, "room/u", source_id=OTHER_SOURCE_ID).state == "on"


async def test_removed_window_raises_an_issue_until_the_alert_is_deleted(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """The watched window taken out of the source: an issue; alert deleted: gone."""
    entry = await setup_hub(
        hub_entry(
            source_subentry(windows=[60.0, 600.0], statistics=["mean"]),
            alert_subentry(high=30, watch="600/mean", title="Mean too high"),
            alert_subentry(high=30, subentry_id="alert0second", watch="60/mean"),
        )
    )
    source = entry.subentries[SOURCE_ID]
    hass.config_entries.async_update_subentry(
        entry, source, data={**source.data, "windows": [60.0]}
    )
    await hass.async_block_till_done()
    issue = issue_of(hass, entry)
    assert issue is not None
    assert issue.translation_key == "alert_window_missing"
    assert issue.translation_placeholders == {
        "alert": "Mean too high",
        "hub": "IoTitan",
        "source": "room/t",
        "window": "10m",
    }
    assert issue.severity is ir.IssueSeverity.WARNING
    assert not issue.is_fixable
    assert_text_has_placeholders(issue)
    # The alert on the window that is still there keeps running, without issue.
    assert issue_of(hass, entry, "alert0second") is None
    assert list(entry.runtime_data.alerts.alerts) == ["alert0second"]

    hass.config_entries.async_remove_subentry(entry, ALERT_ID)
    await hass.async_block_till_done()
    assert alert_issues(hass) == []


async def test_window_put_back_clears_the_issue(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Fixing the source instead of the alert works too."""
    entry = await setup_hub(
        hub_entry(
            source_subentry(windows=[60.0], statistics=["mean"]),
            alert_subentry(high=30, watch="600/mean"),
        )
    )
    assert issue_of(hass, entry) is not None
    source = entry.subentries[SOURCE_ID]
    hass.config_entries.async_update_subentry(
        entry, source, data={**source.data, "windows": [60.0, 600.0]}
    )
    await hass.async_block_till_done()
    assert issue_of(hass, entry) is None
    assert ALERT_ID in entry.runtime_data.alerts.alerts


async def test_reconfigured_to_an_existing_window_clears_the_issue(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Reconfiguring the alert to a window the source has fixes it."""
    entry = await setup_hub(
        hub_entry(
            source_subentry(windows=[60.0], statistics=["mean"]),
            alert_subentry(high=30, watch="600/mean"),
        )
    )
    assert issue_of(hass, entry) is not None
    await reconfigure_alert(hass, entry, SOURCE_ID, "60/mean")
    assert issue_of(hass, entry) is None
    watch = entry.runtime_data.alerts.alerts[ALERT_ID].watch
    assert watch is not None
    assert watch.watch_value == "60/mean"


async def test_statistic_dropped_from_the_source_keeps_the_alert_running(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """A window computes every statistic: only its sensor entity goes."""
    entry = await setup_hub(
        hub_entry(
            source_subentry(windows=[60.0], statistics=["mean", "value_max"]),
            alert_subentry(high=30, watch="60/value_max"),
        )
    )
    source = entry.subentries[SOURCE_ID]
    hass.config_entries.async_update_subentry(
        entry, source, data={**source.data, "statistics": ["mean"]}
    )
    await hass.async_block_till_done()
    assert alert_issues(hass) == []
    async_fire_mqtt_message(hass, "room/t", "31")
    await hass.async_block_till_done()
    assert alert_state(hass).state == "on"


async def test_unloading_and_removing_the_hub_delete_the_issues(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Issues live while the hub runs; a removed hub leaves none behind."""
    entry = await setup_hub(hub_entry(alert_subentry(high=30, source="gone")))
    assert issue_of(hass, entry) is not None
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert alert_issues(hass) == []
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert issue_of(hass, entry) is not None

    # An issue left over by a setup that failed half-way: removal deletes it too.
    assert await hass.config_entries.async_unload(entry.entry_id)
    ir.async_create_issue(
        hass,
        DOMAIN,
        alert_issue_id(entry.entry_id, ALERT_ID),
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key="alert_source_missing",
    )
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert alert_issues(hass) == []


async def test_issues_of_a_previous_run_are_cleared_at_setup(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Only the alerts that cannot run now have an issue; other hubs' are kept."""
    entry = hub_entry(source_subentry(), alert_subentry(high=30))
    for issue_id in (
        alert_issue_id(entry.entry_id, ALERT_ID),
        alert_issue_id(entry.entry_id, "alert0deleted"),
        alert_issue_id("otherhub", ALERT_ID),
    ):
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="alert_source_missing",
        )
    await setup_hub(entry)
    assert alert_issues(hass) == [alert_issue_id("otherhub", ALERT_ID)]


def test_every_problem_has_a_translation() -> None:
    """Each problem's translation key is an issue in strings.json."""
    issues = json.loads(STRINGS.read_text())["issues"]
    for problem in AlertProblem:
        assert {"title", "description"} <= set(issues[problem.value])
