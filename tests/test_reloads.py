"""Every change to a hub is applied once, the one way Home Assistant allows.

A source, an alert or a ThingSpeak channel added, reconfigured or deleted, new
options and a new name are applied while the hub runs (no reload: the other
entities do not go unavailable and back); tests/test_sources_in_place.py
checks what a source change does to windows and subscriptions.

IoTitan's pattern: the config entry's update listener applies every change (it
reloads the hub only if it is not running), and no flow reloads it itself. Home Assistant 2026.11 reports a flow that reloads an entry
with an update listener (`async_update_reload_and_abort`, a unique-id abort with
updates: "has an update listener and should use it for scheduling a reload",
breaking in 2026.12), and raises for a subentry flow's
`async_update_reload_and_abort` or an `OptionsFlowWithReload` with a listener. The
`reload_guard` fixture flags each of those conditions as the newest release checks
them, so these tests hold on the pinned release too; it also records every
`report_usage` call.

Each flow (hub reconfigure, options, sensor/alert/channel subentry create and
reconfigure) and a subentry deleted from the UI (no flow of ours runs) must give
no reload, after which the new settings are live.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from homeassistant import config_entries
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntry,
    ConfigFlow,
    ConfigSubentry,
    ConfigSubentryFlow,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    frame,
)
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from custom_components.iotitan.config_flow import IoTitanOptionsFlow
from custom_components.iotitan.const import (
    DOMAIN,
    SUBENTRY_ALERT,
    SUBENTRY_CHANNEL,
    SUBENTRY_SENSOR,
)
from custom_components.iotitan.device import device_by_identifier
from custom_components.iotitan.engine.window import Statistic
from custom_components.iotitan.models import FieldSource

from .alerts_common import ALERT_ID, SOURCE_ID, alert_subentry, source_subentry
from .common import (
    channel_subentry,
    configure_sensor,
    hub_entry,
    start_sensor_flow,
    submit_channel_fields,
)
from .test_config_flow import options_form, sensor_form

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]
CHANNEL_SUBENTRY_ID = "channel0first"
MEAN_FIELD = {
    "source": SOURCE_ID,
    "topic": "room/t",
    "window": 3600.0,
    "statistic": "mean",
}


@dataclass
class ReloadGuard:
    """Reloads per entry, and what the newest Home Assistant would report."""

    reloads: list[str] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)


@pytest.fixture
def reload_guard(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ReloadGuard]:
    """Count reloads; flag a reloading flow on an entry with update listeners."""
    guard = ReloadGuard()
    manager = hass.config_entries
    original_reload = manager.async_reload

    async def counting_reload(entry_id: str) -> bool:
        guard.reloads.append(entry_id)
        return await original_reload(entry_id)

    monkeypatch.setattr(manager, "async_reload", counting_reload)

    def flag_if_listeners(name: str, entry: ConfigEntry) -> None:
        if entry.update_listeners:
            guard.reports.append(f"{name} on an entry with an update listener")

    original_flow_reload = ConfigFlow.async_update_reload_and_abort

    def flow_reload(self: ConfigFlow, entry: ConfigEntry, **kwargs: Any) -> Any:
        flag_if_listeners("ConfigFlow.async_update_reload_and_abort", entry)
        return original_flow_reload(self, entry, **kwargs)

    original_subentry_reload = ConfigSubentryFlow.async_update_reload_and_abort

    def subentry_reload(
        self: ConfigSubentryFlow, entry: ConfigEntry, subentry: Any, **kwargs: Any
    ) -> Any:
        flag_if_listeners("ConfigSubentryFlow.async_update_reload_and_abort", entry)
        return original_subentry_reload(self, entry, subentry, **kwargs)

    original_unique_id_abort = ConfigFlow._abort_if_unique_id_configured

    def unique_id_abort(
        self: ConfigFlow, updates: Any = None, *a: Any, **k: Any
    ) -> Any:
        if updates is not None:
            guard.reports.append("_abort_if_unique_id_configured with updates")
        return original_unique_id_abort(self, updates, *a, **k)

    def report_usage(what: str, *args: Any, **kwargs: Any) -> None:
        guard.reports.append(f"report_usage: {what}")

    monkeypatch.setattr(ConfigFlow, "async_update_reload_and_abort", flow_reload)
    monkeypatch.setattr(
        ConfigSubentryFlow, "async_update_reload_and_abort", subentry_reload
    )
    monkeypatch.setattr(ConfigFlow, "_abort_if_unique_id_configured", unique_id_abort)
    for module in (frame, config_entries, dr, er):
        if hasattr(module, "report_usage"):
            monkeypatch.setattr(module, "report_usage", report_usage)
    return guard


@pytest.fixture
async def hub(hass: HomeAssistant, setup_hub: SetupHub) -> MockConfigEntry:
    """A hub with a sensor source (room/t, seen), an alert on it and a channel."""
    channel = channel_subentry({"1": MEAN_FIELD})
    entry = await setup_hub(
        hub_entry(
            source_subentry(),
            alert_subentry(high=30, title="room/t: above 30"),
            config_entries.ConfigSubentryDataWithId(  # type: ignore[typeddict-item]
                **channel, subentry_id=CHANNEL_SUBENTRY_ID
            ),
        )
    )
    async_fire_mqtt_message(hass, "room/t", "31")
    await hass.async_block_till_done()
    return entry


def test_options_flow_does_not_reload_itself() -> None:
    """The listener applies options; an OptionsFlowWithReload would raise."""
    assert not issubclass(IoTitanOptionsFlow, OptionsFlowWithReload)


async def test_hub_reconfigure_renames_in_place(
    hass: HomeAssistant, hub: MockConfigEntry, reload_guard: ReloadGuard
) -> None:
    """A renamed hub is not rebuilt; its device takes the new name."""
    before = hub.runtime_data
    result = await hub.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Loft"}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert reload_guard.reports == []
    assert reload_guard.reloads == []
    assert hub.runtime_data is before
    device = device_by_identifier(
        dr.async_get(hass), (DOMAIN, hub.entry_id), hub.entry_id
    )
    assert device is not None
    assert device.name == "Loft"


async def test_options_flow_applies_in_place(
    hass: HomeAssistant, hub: MockConfigEntry, reload_guard: ReloadGuard
) -> None:
    """New options are live at once, without rebuilding the hub."""
    before = hub.runtime_data
    result = await hass.config_entries.options.async_init(hub.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], options_form(logging={"syslog_transport": "none"})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert reload_guard.reloads == []
    assert reload_guard.reports == []
    assert hub.runtime_data is before
    assert before.update_interval.total_seconds() == 30
    assert before.message_log.target.transport == "none"


async def test_sensor_subentry_create_and_reconfigure_apply_in_place(
    hass: HomeAssistant, hub: MockConfigEntry, reload_guard: ReloadGuard
) -> None:
    """A new source runs at once, a changed one too, both without a reload."""
    result = await start_sensor_flow(hass, hub)
    result = await configure_sensor(hass, result["flow_id"], sensor_form())
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert reload_guard.reloads == []
    [new_id] = [
        subentry_id
        for subentry_id, subentry in hub.subentries.items()
        if subentry.data.get("topic") == "home/+/temperature"
    ]
    assert new_id in hub.runtime_data.sources

    result = await hass.config_entries.subentries.async_init(
        (hub.entry_id, SUBENTRY_SENSOR),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": new_id},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], sensor_form(windows=["1d"])
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert reload_guard.reloads == []
    assert reload_guard.reports == []
    assert hub.runtime_data.sources[new_id].config.windows == (86400.0,)


async def test_changes_in_quick_succession_apply_once_each(
    hass: HomeAssistant,
    hub: MockConfigEntry,
    reload_guard: ReloadGuard,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two channels added one right after the other: each runs once, no reload."""
    for channel_id in (3003, 4004):
        data = channel_subentry({"1": MEAN_FIELD}, channel_id=channel_id)
        hass.config_entries.async_add_subentry(hub, ConfigSubentry(**data))
    await hass.async_block_till_done()
    assert reload_guard.reloads == []
    channels = hub.runtime_data.channels
    ids = sorted(c.settings.channel_id for c in channels.values())
    assert ids == sorted([*ids[:1], 3003, 4004]) and len(ids) == 3
    added = {key for key, c in channels.items() if key != CHANNEL_SUBENTRY_ID}
    rows_waiting = [
        e.config_subentry_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), hub.entry_id)
        if e.config_subentry_id in added and e.unique_id.endswith("/rows_waiting")
    ]
    assert sorted(rows_waiting) == sorted(added)  # one each, none twice
    # A channel set up twice would add its entities twice (refused, logged).
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


async def test_alert_subentry_create_and_reconfigure_apply_in_place(
    hass: HomeAssistant, hub: MockConfigEntry, reload_guard: ReloadGuard
) -> None:
    """A new alert runs at once, a changed limit too, both without a reload.

    The reconfigured alert keeps its entity id (a new entity, the same unique id).
    """
    result = await hass.config_entries.subentries.async_init(
        (hub.entry_id, SUBENTRY_ALERT), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"source": SOURCE_ID}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"rule": "low"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"watch": "value", "low": 5.0, "severity": "warning"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert reload_guard.reloads == []
    alerts = hub.runtime_data.alerts
    assert len(alerts.alerts) == 2
    # It has its entity on the topic already seen, and it evaluates readings.
    (added,) = [key for key in alerts.alerts if key != ALERT_ID]
    registered = [
        e
        for e in er.async_entries_for_config_entry(er.async_get(hass), hub.entry_id)
        if e.config_subentry_id == added
    ]
    assert len(registered) == 1
    async_fire_mqtt_message(hass, "room/t", "1")
    await hass.async_block_till_done()
    state = hass.states.get(registered[0].entity_id)
    assert state is not None and state.state == "on"  # 1 is below the low limit 5

    result = await hass.config_entries.subentries.async_init(
        (hub.entry_id, SUBENTRY_ALERT),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": ALERT_ID},
    )
    if result["step_id"] != "rule":
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"source": SOURCE_ID}
        )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"rule": "high"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"watch": "value", "high": 40.0, "severity": "warning"}
    )
    registry = er.async_get(hass)
    before = {
        e.unique_id: e.entity_id
        for e in er.async_entries_for_config_entry(registry, hub.entry_id)
        if e.config_subentry_id == ALERT_ID
    }
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert reload_guard.reloads == []
    assert reload_guard.reports == []
    assert hub.runtime_data.alerts.alerts[ALERT_ID].config.high == 40.0
    after = {
        e.unique_id: e.entity_id
        for e in er.async_entries_for_config_entry(registry, hub.entry_id)
        if e.config_subentry_id == ALERT_ID
    }
    assert after == before
    async_fire_mqtt_message(hass, "room/t", "41")
    await hass.async_block_till_done()
    (entity_id,) = after.values()
    state = hass.states.get(entity_id)
    assert state is not None and state.state == "on"  # above the new limit


async def test_channel_subentry_create_and_reconfigure_apply_in_place(
    hass: HomeAssistant, hub: MockConfigEntry, reload_guard: ReloadGuard
) -> None:
    """A new channel runs at once, changed settings too, both without a reload."""
    settings = {
        "channel_id": "2002",
        "write_api_key": "WRITEKEY0SECRET2",
        "plan": "free",
        "upload_interval": 300,
        "send_test_row": False,
        "advanced": {"base_url": "https://api.thingspeak.com", "max_rows": 5000},
    }
    field = FieldSource(SOURCE_ID, "room/t", 3600.0, Statistic.MEAN)
    result = await hass.config_entries.subentries.async_init(
        (hub.entry_id, SUBENTRY_CHANNEL), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], settings
    )
    result = await submit_channel_fields(hass, result["flow_id"], {"field1": field})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert reload_guard.reloads == []
    assert len(hub.runtime_data.channels) == 2
    # Its sensors are there, and it is the channel the hub's lookups find.
    (added,) = [key for key in hub.runtime_data.channels if key != CHANNEL_SUBENTRY_ID]
    assert hub.runtime_data.channels[added].settings.channel_id == 2002
    sensors = [
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), hub.entry_id)
        if e.config_subentry_id == added and not e.disabled_by
    ]
    assert sensors
    assert all(hass.states.get(entity_id) is not None for entity_id in sensors)

    result = await hass.config_entries.subentries.async_init(
        (hub.entry_id, SUBENTRY_CHANNEL),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": CHANNEL_SUBENTRY_ID},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            **settings,
            "channel_id": "1001",
            "write_api_key": "WRITEKEY0SECRET1",
            "upload_interval": 60,
        },
    )
    result = await submit_channel_fields(hass, result["flow_id"], {"field1": field})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert reload_guard.reloads == []
    assert reload_guard.reports == []
    channel = hub.runtime_data.channels[CHANNEL_SUBENTRY_ID]
    assert not channel._stopped  # the new one runs (the old one stopped)
    sensors = [
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), hub.entry_id)
        if e.config_subentry_id == CHANNEL_SUBENTRY_ID and not e.disabled_by
    ]
    assert sensors
    assert all(hass.states.get(entity_id) is not None for entity_id in sensors)
    assert channel.settings.upload_interval == 60


@pytest.mark.parametrize("deleted", [ALERT_ID, CHANNEL_SUBENTRY_ID, SOURCE_ID])
async def test_subentry_deleted_from_the_ui_stops_in_place(
    hass: HomeAssistant,
    hub: MockConfigEntry,
    reload_guard: ReloadGuard,
    deleted: str,
) -> None:
    """No flow of ours runs: the hub no longer runs the subentry (no reload).

    Its devices and entities go (Home Assistant clears them), and the hub no
    longer runs it: no alert evaluated, no channel uploading, no topic followed.
    """
    entity_registry = er.async_get(hass)
    device_registry = dr.async_get(hass)
    owned = [
        e.entity_id
        for e in er.async_entries_for_config_entry(entity_registry, hub.entry_id)
        if e.config_subentry_id == deleted
    ]
    assert owned
    assert hass.config_entries.async_remove_subentry(hub, deleted)
    await hass.async_block_till_done()
    assert reload_guard.reloads == []
    assert reload_guard.reports == []
    hub_runtime = hub.runtime_data
    assert deleted not in hub_runtime.sources
    assert deleted not in hub_runtime.alerts.alerts
    assert deleted not in hub_runtime.channels
    for entity_id in owned:
        assert entity_registry.async_get(entity_id) is None
        assert hass.states.get(entity_id) is None
    for device in dr.async_entries_for_config_entry(device_registry, hub.entry_id):
        for _, identifier in device.identifiers:
            assert identifier.split("/", 1)[0] != deleted
