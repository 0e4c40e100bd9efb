"""Sensor sources added, reconfigured or deleted while the hub runs.

None of these rebuilds the hub: the other entities do not go unavailable and
back. A new source's windows are filled from the journal as a restart fills
them (the default log filter `#` journals every topic), and messages arriving
while it reads the journal are neither lost nor counted twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from custom_components.iotitan.alert_runtime import alert_issue_id
from custom_components.iotitan.const import DOMAIN
from custom_components.iotitan.engine.journal import ReplayResult, read_since
from custom_components.iotitan.engine.window import SlidingWindow
from custom_components.iotitan.hub import IoTitanHub

from .alerts_common import ALERT_ID, SOURCE_ID, alert_subentry, source_subentry
from .common import (
    assert_same_window,
    channel_subentry,
    count_bulk_adds,
    hub_entry,
    sensor_subentry,
)

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]
KITCHEN = "home/kitchen/temperature"


def statistic_state(
    hass: HomeAssistant, source_id: str, topic: str, key: str = "3600/mean"
) -> str | None:
    """The state of a topic's statistic entity, found by its unique id."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{source_id}/{topic}/{key}"
    )
    if entity_id is None:
        return None
    state = hass.states.get(entity_id)
    return None if state is None else state.state


async def add_source(hass: HomeAssistant, entry: MockConfigEntry, **kwargs: Any) -> str:
    """Add a sensor subentry as the flow would; return its id."""
    subentry = ConfigSubentry(**sensor_subentry(**kwargs))
    hass.config_entries.async_add_subentry(entry, subentry)
    await hass.async_block_till_done()
    return subentry.subentry_id


async def publish(hass: HomeAssistant, topic: str, *values: str) -> None:
    for value in values:
        async_fire_mqtt_message(hass, topic, value)
    await hass.async_block_till_done()


async def tick(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Write the entities' states now (the hub's timer would, within 10 s)."""
    hub: IoTitanHub = entry.runtime_data
    for source in hub.sources.values():
        for state in source.topics.values():
            state.async_notify()
    await hass.async_block_till_done()


@pytest.fixture
async def hub(hass: HomeAssistant, setup_hub: SetupHub) -> MockConfigEntry:
    """A hub logging `#` with a source on room/t and an alert on it."""
    return await setup_hub(
        hub_entry(source_subentry(), alert_subentry(high=30, title="room/t high"))
    )


async def test_a_new_source_starts_from_the_journal(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """Readings logged before the source existed are in its windows at once,
    as they would be after a restart; later ones follow."""
    await publish(hass, KITCHEN, "20", "22")
    before = hub.runtime_data
    source_id = await add_source(hass, hub)
    assert hub.runtime_data is before  # not rebuilt
    source = before.sources[source_id]
    assert len(source.topics[KITCHEN].windows[3600.0]) == 2
    assert statistic_state(hass, source_id, KITCHEN) == "21.0"

    await publish(hass, KITCHEN, "24")
    await tick(hass, hub)
    assert statistic_state(hass, source_id, KITCHEN) == "22.0"

    # A restart rebuilds the same window from the same journal.
    await before.message_log.journal.flush()
    assert await hass.config_entries.async_reload(hub.entry_id)
    await hass.async_block_till_done()
    rebuilt = hub.runtime_data.sources[source_id].topics[KITCHEN].windows[3600.0]
    assert list(rebuilt) == list(source.topics[KITCHEN].windows[3600.0])


async def test_a_new_source_takes_the_journal_in_bulk(
    hass: HomeAssistant, hub: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catch-up queues the journal's readings and the window adds them in
    bulk: the window `add` builds from the journal's records one by one."""
    await publish(hass, KITCHEN, *(f"{20 + (i % 9) / 4}" for i in range(200)))
    runtime: IoTitanHub = hub.runtime_data
    await runtime.message_log.journal.flush()
    bulk_adds = count_bulk_adds(monkeypatch)
    source_id = await add_source(hass, hub)
    assert bulk_adds == [1]
    assert not runtime.sources[source_id].replaying
    reference = SlidingWindow(3600.0)
    journal = read_since(runtime.message_log.directory, 0)
    for record in journal:
        if record.topic == KITCHEN:
            reference.add(record.timestamp, float(record.payload))
    window = runtime.sources[source_id].topics[KITCHEN].windows[3600.0]
    assert len(window) == len(reference) == 200
    assert_same_window(window, reference)


@pytest.mark.parametrize("in_journal", [True, False])
async def test_messages_during_the_catch_up_count_once(
    hass: HomeAssistant,
    hub: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    in_journal: bool,
) -> None:
    """A message that arrives while the journal is read waits; if the journal
    has it as well, it is still added once."""
    await publish(hass, KITCHEN, "20")
    runtime: IoTitanHub = hub.runtime_data
    log = runtime.message_log
    original = log.async_replay

    async def replay_with_arrivals(since: float) -> ReplayResult:
        async_fire_mqtt_message(hass, KITCHEN, "30")
        async_fire_mqtt_message(hass, "room/t", "5")
        if in_journal:
            await log.journal.flush()
        return await original(since)

    monkeypatch.setattr(log, "async_replay", replay_with_arrivals)
    source_id = await add_source(hass, hub)
    window = runtime.sources[source_id].topics[KITCHEN].windows[3600.0]
    assert [value for _, value in window] == [20.0, 30.0]
    assert runtime.sources[source_id].topics[KITCHEN].messages == 1  # live only
    await tick(hass, hub)
    assert statistic_state(hass, source_id, KITCHEN) == "25.0"
    # The source that already ran took its message live, as always.
    assert len(runtime.sources[SOURCE_ID].topics["room/t"].windows[3600.0]) == 1


async def test_a_reconfigured_source_keeps_its_entities_and_alerts(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """New windows rebuilt from the journal; the same entity ids; its alert
    runs on the new source; no reload and no unavailable state."""
    await publish(hass, "room/t", "10", "20")
    await tick(hass, hub)
    registry = er.async_get(hass)
    before_ids = {
        e.unique_id: e.entity_id
        for e in er.async_entries_for_config_entry(registry, hub.entry_id)
    }
    mean_1h = statistic_state(hass, SOURCE_ID, "room/t")
    assert mean_1h == "15.0"
    runtime = hub.runtime_data
    seen: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        lambda event: seen.append(
            f"{event.data['entity_id']}: "
            f"{getattr(event.data['new_state'], 'state', None)}"
        ),
    )

    subentry = hub.subentries[SOURCE_ID]
    assert hass.config_entries.async_update_subentry(
        hub,
        subentry,
        data={**subentry.data, "windows": [3600.0, 600.0]},
    )
    await hass.async_block_till_done()
    assert hub.runtime_data is runtime
    source = runtime.sources[SOURCE_ID]
    assert source.config.windows == (3600.0, 600.0)
    assert len(source.topics["room/t"].windows[600.0]) == 2  # from the journal
    assert statistic_state(hass, SOURCE_ID, "room/t", "600/mean") == "15.0"
    after_ids = {
        e.unique_id: e.entity_id
        for e in er.async_entries_for_config_entry(registry, hub.entry_id)
    }
    assert {k: v for k, v in after_ids.items() if k in before_ids} == before_ids
    assert not [line for line in seen if "unavailable" in line]

    await publish(hass, "room/t", "31")
    alert = registry.async_get_entity_id(
        "binary_sensor", DOMAIN, f"{SOURCE_ID}/room/t/alert/{ALERT_ID}"
    )
    assert alert is not None
    state = hass.states.get(alert)
    assert state is not None and state.state == "on"


async def test_a_deleted_source_stops_and_its_alert_says_why(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """Its topics are no longer followed, its alert raises a repair issue."""
    await publish(hass, "room/t", "10")
    runtime = hub.runtime_data
    assert hass.config_entries.async_remove_subentry(hub, SOURCE_ID)
    await hass.async_block_till_done()
    assert hub.runtime_data is runtime
    assert SOURCE_ID not in runtime.sources
    assert ALERT_ID not in runtime.alerts.alerts
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, alert_issue_id(hub.entry_id, ALERT_ID)
    )
    assert issue is not None and issue.translation_key == "alert_source_missing"
    alert_entities = [
        e
        for e in er.async_entries_for_config_entry(er.async_get(hass), hub.entry_id)
        if e.config_subentry_id == ALERT_ID
    ]
    assert alert_entities == []
    await publish(hass, "room/t", "11")  # still journalled, no source follows it
    assert runtime.messages_received == 2


async def test_subscriptions_follow_the_sources(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """A filter `#` does not cover gets its own subscription, and loses it
    with its source; messages on it reach the new source."""
    runtime = hub.runtime_data
    assert runtime.as_diagnostics()["subscriptions"] == ["#"]
    source_id = await add_source(hass, hub, topic="$SYS/broker/load/+")
    assert runtime.as_diagnostics()["subscriptions"] == ["$SYS/broker/load/+", "#"]
    await publish(hass, "$SYS/broker/load/messages", "7")
    topics = runtime.sources[source_id].topics
    assert len(topics["$SYS/broker/load/messages"].windows[3600.0]) == 1

    assert hass.config_entries.async_remove_subentry(hub, source_id)
    await hass.async_block_till_done()
    assert runtime.as_diagnostics()["subscriptions"] == ["#"]
    await publish(hass, "$SYS/broker/load/messages", "8")
    assert source_id not in runtime.sources


async def test_new_options_lose_no_message(
    hass: HomeAssistant, hub: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New journal and syslog settings swap the writers while running: a
    message arriving while the old ones close is journalled by the new ones,
    and a restart rebuilds every reading."""
    await publish(hass, "room/t", "1", "2")
    runtime: IoTitanHub = hub.runtime_data
    old_log = runtime.message_log
    original_stop = old_log.journal.stop

    async def stop_with_arrival() -> None:
        stopping = asyncio.ensure_future(original_stop())
        await asyncio.sleep(0)  # the old journal is closing: it takes no more
        async_fire_mqtt_message(hass, "room/t", "3")
        await stopping

    monkeypatch.setattr(old_log.journal, "stop", stop_with_arrival)
    hass.config_entries.async_update_entry(
        hub,
        options={
            **hub.options,
            "update_interval": 20,
            "journal": {"flush_interval": 2.0},
            "logging": {"syslog_transport": "none", "log_topics": ["#", "$SYS/#"]},
        },
    )
    await hass.async_block_till_done()
    assert hub.runtime_data is runtime
    assert runtime.message_log is not old_log
    assert runtime.message_log.journal.flush_interval == 2.0
    assert runtime.update_interval.total_seconds() == 20
    assert runtime.as_diagnostics()["subscriptions"] == ["#", "$SYS/#"]
    await publish(hass, "room/t", "4")
    window = runtime.sources[SOURCE_ID].topics["room/t"].windows[3600.0]
    assert [value for _, value in window] == [1.0, 2.0, 3.0, 4.0]

    await runtime.message_log.journal.flush()
    assert await hass.config_entries.async_reload(hub.entry_id)
    await hass.async_block_till_done()
    rebuilt = hub.runtime_data.sources[SOURCE_ID].topics["room/t"].windows[3600.0]
    assert list(rebuilt) == list(window)


async def test_a_new_output_prefix_is_guarded(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """IoTitan's own output under a new prefix is not read back as a reading."""
    runtime: IoTitanHub = hub.runtime_data
    hass.config_entries.async_update_entry(
        hub, options={**hub.options, "output": {"prefix": "house"}}
    )
    await hass.async_block_till_done()
    assert runtime.output.options.prefix == "house"
    await publish(hass, "house/stats/room/t/1h/mean", "12")
    assert runtime.messages_ignored_own == 1
    await publish(hass, "iotitan/stats/room/t/1h/mean", "12")
    assert runtime.messages_ignored_own == 1  # the old prefix is a topic again


async def test_a_channel_field_on_a_deleted_source_raises_an_issue(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """The field stays empty: a repair issue names it until the source (or
    its window) is back."""
    entry = await setup_hub(
        hub_entry(
            source_subentry(),
            channel_subentry(
                {
                    "1": {
                        "source": SOURCE_ID,
                        "topic": "room/t",
                        "window": 3600.0,
                        "statistic": "mean",
                    }
                }
            ),
        )
    )
    (channel,) = entry.runtime_data.channels.values()
    issue_id = f"thingspeak_fields_{channel.subentry_id}"
    issues = ir.async_get(hass)
    assert issues.async_get_issue(DOMAIN, issue_id) is None

    source = entry.subentries[SOURCE_ID]
    assert hass.config_entries.async_update_subentry(
        entry, source, data={**source.data, "windows": [600.0]}
    )
    await hass.async_block_till_done()
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None and issue.translation_key == "thingspeak_fields_missing"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["fields"] == "field1"

    assert hass.config_entries.async_update_subentry(
        entry, source, data={**source.data, "windows": [600.0, 3600.0]}
    )
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is None

    assert hass.config_entries.async_remove_subentry(entry, SOURCE_ID)
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is not None
