"""Retention never shorter than the longest window, through a hub.

The README promises that a restart rebuilds every window from the journal, and
that the journal keeps at least the longest window whatever the retention says.
A hub with a 30-day window and a 7-day retention runs for 40 days, long enough
for its journal to rotate several times and for retention to delete the files
that are older than the window; a restart must still show the whole window.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
import statistics
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)

from custom_components.iotitan.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.iotitan.hub_snapshot import SNAPSHOT_FILE
from custom_components.iotitan.message_log import journal_directory

from .common import FROM_SNAPSHOT_OR_JOURNAL, hub_entry, restart_hub, sensor_subentry

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]
DAY = 86400
WINDOW = 30 * DAY
TOPIC = "room/t"
FILLER_TOPIC = "bulk/blob"  # logged through `#`, read by no source
FILLER = "x" * 8000
FILL_DAYS = (2, 12, 22, 33)  # each fills a 1 MiB journal file: a rotation


def states(hass: HomeAssistant) -> dict[str, str]:
    """The source's statistic sensors of the 30-day window, by statistic."""
    found: dict[str, str] = {}
    for name in ("count", "mean", "minimum", "maximum"):
        state = hass.states.get(f"sensor.room_t_{name}_30d")
        assert state is not None, name
        found[name] = state.state
    return found


async def journal_diagnostics(
    hass: HomeAssistant, entry: MockConfigEntry
) -> dict[str, Any]:
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    journal: dict[str, Any] = diagnostics["hub"]["journal"]
    return journal


@FROM_SNAPSHOT_OR_JOURNAL
async def test_restart_rebuilds_a_window_longer_than_the_retention(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    from_snapshot: bool,
) -> None:
    """30-day window, 7-day retention: 40 days, rotations, prunes, a restart."""
    entry = hub_entry(
        sensor_subentry(
            TOPIC,
            windows=[float(WINDOW)],
            statistics=["count", "mean", "value_min", "value_max"],
        )
    )
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry,
        options={
            "update_interval": 10,
            "journal": {"retention": "7d", "max_file_mb": 1},
        },
    )
    await setup_hub(entry)
    start = dt_util.utcnow()

    for day in range(40):
        freezer.move_to(start + timedelta(days=day, minutes=1))
        async_fire_time_changed(hass)  # the journal flushes, the hub ticks
        await hass.async_block_till_done()
        async_fire_mqtt_message(hass, TOPIC, str(day))
        if day in FILL_DAYS:
            for _ in range(140):
                async_fire_mqtt_message(hass, FILLER_TOPIC, FILLER)
        await hass.async_block_till_done()

    # An hour after the last reading: day 9's reading (9 days + 1 min) is out of
    # the window, days 10..39 are in it.
    freezer.move_to(start + timedelta(days=39, hours=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    in_window = list(range(10, 40))
    expected = {
        "count": str(len(in_window)),
        "mean": str(round(statistics.fmean(in_window), 2)),
        "minimum": str(float(min(in_window))),
        "maximum": str(float(max(in_window))),
    }
    assert states(hass) == expected

    # The journal writes from an executor job that async_block_till_done does
    # not wait for (it starts from an untracked task): wait for its writes.
    await entry.runtime_data.message_log.journal.flush()
    journal = await journal_diagnostics(hass, entry)
    assert journal["rotations"] >= len(FILL_DAYS)
    # Retention did delete something: files whose records are all older than
    # the window (the first one ends on day 2).
    assert journal["files_deleted"] >= 1, journal

    await restart_hub(hass, entry, from_snapshot=from_snapshot)
    # From the snapshot the stop wrote, nothing is left to replay.
    replayed = entry.runtime_data.records_replayed
    assert replayed == 0 if from_snapshot else replayed >= len(in_window)
    freezer.tick(timedelta(seconds=10))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert states(hass) == expected
    # Diagnostics say why: the journal keeps the window, not the retention.
    assert (await journal_diagnostics(hass, entry))["keep_seconds"] == WINDOW


@FROM_SNAPSHOT_OR_JOURNAL
async def test_restart_after_silence_shows_only_what_is_in_each_window(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    from_snapshot: bool,
) -> None:
    """Rebuilt windows are as of the restart, not as of their last sample.

    A 1-minute and a 1-hour window; readings stop, and the hub restarts ten
    minutes later: at once (before any update tick) the 1-minute window is
    empty and the 1-hour window holds every reading.
    """
    entry = await setup_hub(
        hub_entry(
            sensor_subentry(TOPIC, windows=[60.0, 3600.0], statistics=["count", "mean"])
        )
    )
    for value in (10, 20, 30):
        async_fire_mqtt_message(hass, TOPIC, str(value))
        await hass.async_block_till_done()
        freezer.tick(timedelta(seconds=5))
    async_fire_time_changed(hass)  # the journal flushes
    await hass.async_block_till_done()
    # Stopped with both windows full (the snapshot of the stop holds them),
    # started ten minutes later.
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    snapshot = journal_directory(hass, entry.entry_id) / SNAPSHOT_FILE
    if not from_snapshot:
        snapshot.unlink()
    freezer.tick(timedelta(minutes=10))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.snapshot_report["restored"] is from_snapshot

    def state(name: str) -> str:
        found = hass.states.get(f"sensor.room_t_{name}")
        assert found is not None, name
        return found.state

    assert (state("count_1h"), state("mean_1h")) == ("3", "20.0")
    assert state("count_1m") == "0"
    assert state("mean_1m") == "unknown"
