"""Retained MQTT messages: a broker's repeat is not a new reading.

The broker sends its retained message to every new subscription, so IoTitan
sees the same reading again at each start, reload and reconnect. Counting it
would add a sample that never happened (and clear a stale alert).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)

from custom_components.iotitan.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.iotitan.engine.window import Statistic
from custom_components.iotitan.source import TopicState

from .common import (
    FROM_SNAPSHOT_OR_JOURNAL,
    hub_entry,
    restart_hub,
    sensor_subentry,
    subentry_id,
)

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]
TOPIC = "room/t"


def topic_state(entry: MockConfigEntry) -> TopicState:
    return entry.runtime_data.sources[subentry_id(entry)].topics[TOPIC]


def window_values(entry: MockConfigEntry) -> list[float]:
    window = topic_state(entry).windows[3600.0]
    return [value for _, value in window]


async def send(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    payload: str,
    *,
    retain: bool,
) -> None:
    freezer.tick(timedelta(seconds=5))
    async_fire_mqtt_message(hass, TOPIC, payload, retain=retain)
    await hass.async_block_till_done()


@FROM_SNAPSHOT_OR_JOURNAL
async def test_restart_does_not_repeat_the_retained_reading(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    from_snapshot: bool,
) -> None:
    """After a reload the windows come from the journal; the repeat adds nothing.

    On a fresh install the retained message is the topic's first reading.
    (Home Assistant's MQTT client already drops a second retained copy on the
    same subscription; a reload or restart makes a new one.)
    """
    entry = await setup_hub(hub_entry(sensor_subentry(TOPIC, windows=[3600.0])))
    await send(hass, freezer, "10", retain=True)
    await send(hass, freezer, "20", retain=False)
    live = window_values(entry)
    assert live == [10.0, 20.0]
    last_seen = topic_state(entry).last_received

    freezer.tick(timedelta(seconds=2))  # past the journal's flush interval
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    await restart_hub(hass, entry, from_snapshot=from_snapshot)
    assert entry.runtime_data.records_replayed == (0 if from_snapshot else 2)
    assert window_values(entry) == live

    await send(hass, freezer, "20", retain=True)  # the new subscription's copy
    assert window_values(entry) == live
    assert topic_state(entry).last_received == last_seen
    window = topic_state(entry).windows[3600.0]
    assert window.value(Statistic.MEAN) == 15.0
    await send(hass, freezer, "30", retain=False)  # live readings still count
    assert window_values(entry) == [*live, 30.0]

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    topic = diagnostics["hub"]["sources"][subentry_id(entry)]["topics"][TOPIC]
    assert topic["messages"] == 2
    assert topic["retained_repeats_ignored"] == 1


@FROM_SNAPSHOT_OR_JOURNAL
async def test_replay_applies_the_same_rule(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    from_snapshot: bool,
) -> None:
    """A repeat the live hub skipped is in the journal; the replay skips it too.

    Two reloads: the first makes the broker's copy arrive (and be journaled),
    the second rebuilds the window from a journal that holds it.
    """
    entry = await setup_hub(hub_entry(sensor_subentry(TOPIC, windows=[3600.0])))
    await send(hass, freezer, "10", retain=True)
    for _ in range(2):
        freezer.tick(timedelta(seconds=2))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        await restart_hub(hass, entry, from_snapshot=from_snapshot)
        await send(hass, freezer, "10", retain=True)
        assert window_values(entry) == [10.0]
    # The reading and one repeat; from the snapshot of the stop, none.
    assert entry.runtime_data.records_replayed == (0 if from_snapshot else 2)


async def test_a_retained_reading_published_meanwhile_is_new(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """A retained payload other than the last one was published while away."""
    entry = await setup_hub(hub_entry(sensor_subentry(TOPIC, windows=[3600.0])))
    await send(hass, freezer, "10", retain=True)
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await send(hass, freezer, "12", retain=True)
    assert window_values(entry) == [10.0, 12.0]


async def test_identical_live_readings_each_count(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """A steady sensor repeats its payload live (no retain flag): each is a sample.

    Also after the broker's retained copy of the same value, and after a
    restart that rebuilds the window from the journal.
    """
    entry = await setup_hub(hub_entry(sensor_subentry(TOPIC, windows=[3600.0])))
    await send(hass, freezer, "20", retain=True)  # the broker's copy at subscribe
    for _ in range(3):
        await send(hass, freezer, "20", retain=False)
    assert window_values(entry) == [20.0] * 4
    window = topic_state(entry).windows[3600.0]
    assert window.value(Statistic.COUNT) == 4

    freezer.tick(timedelta(seconds=2))  # past the journal's flush interval
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert window_values(entry) == [20.0] * 4
    await send(hass, freezer, "20", retain=False)
    assert window_values(entry) == [20.0] * 5

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    topic = diagnostics["hub"]["sources"][subentry_id(entry)]["topics"][TOPIC]
    assert topic["retained_repeats_ignored"] == 0
    assert topic["window_samples"] == {"3600.0": 5}
