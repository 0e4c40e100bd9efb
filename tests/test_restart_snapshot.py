"""Restart from a snapshot: the same windows as a full replay of the journal.

A hub saves its windows to `snapshot.bin` (periodically and at stop) and at
start restores them and replays only the journal written after the snapshot.
Every statistic shown after such a restart must be what a full replay of the
journal shows (the snapshot deleted), whatever happened in between: records
journaled after the snapshot, records lost to a crash before they were
flushed, a snapshot that is damaged, of another version, made with other
settings, or whose journal position is gone (each of those falls back to the
full replay, logged once, the reason in the diagnostics).

Expected values: the states of the same hub after a full replay at the same
frozen time (the reference path, pinned by the restart tests of the message
log), and for the lost-records case, the readings that were written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
import logging
from pathlib import Path
import random
import struct
import threading
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)

from custom_components.iotitan import hub as hub_module
from custom_components.iotitan.device import topics_of_device
from custom_components.iotitan.diagnostics import async_get_config_entry_diagnostics
from custom_components.iotitan.engine.journal import ACTIVE_FILE, journal_files
from custom_components.iotitan.engine.snapshot import (
    HubSnapshot,
    SnapshotCapture,
    read_snapshot,
    write_snapshot,
)
from custom_components.iotitan.engine.window import Statistic
from custom_components.iotitan.hub_snapshot import SNAPSHOT_INTERVAL
from custom_components.iotitan.message_log import journal_directory

from .common import hub_entry, sensor_subentry, subentry_id

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]
ALL_STATISTICS = [str(statistic) for statistic in Statistic]
WHOLE_JOURNAL = "replays its whole journal"


def all_states(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """Every entity of the hub's topics: state and attributes."""
    registry = er.async_get(hass)
    shown: dict[str, Any] = {}
    for registry_entry in er.async_entries_for_config_entry(registry, entry.entry_id):
        if (
            registry_entry.domain != "sensor"
            or "/" not in registry_entry.unique_id
            or registry_entry.disabled_by is not None
        ):
            continue
        state = hass.states.get(registry_entry.entity_id)
        assert state is not None
        shown[registry_entry.entity_id] = (state.state, dict(state.attributes))
    return shown


async def feed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, rng: random.Random, count: int
) -> None:
    """Readings on three topics at irregular times, large values and noise."""
    for _ in range(count):
        topic = f"plant/{rng.choice('abc')}/value"
        async_fire_mqtt_message(hass, topic, repr(1e6 + rng.gauss(0, 0.5)))
        await hass.async_block_till_done()
        freezer.tick(timedelta(seconds=rng.uniform(0.5, 9)))


async def tick(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def new_hub(setup_hub: SetupHub, **source: Any) -> MockConfigEntry:
    source.setdefault("windows", [60.0, 900.0])
    source.setdefault("statistics", ALL_STATISTICS)
    source.setdefault("percentile", 90)
    return await setup_hub(hub_entry(sensor_subentry("plant/+/value", **source)))


async def crash(
    hass: HomeAssistant, entry: MockConfigEntry, *, lose_buffer: bool
) -> None:
    """Unload as a kill -9 would leave it: no snapshot at stop, and the
    journal's unflushed records lost if asked."""
    hub = entry.runtime_data
    hub.snapshot_writes["disabled"] = "crash (test)"
    if lose_buffer:
        journal = hub.message_log.journal
        lost = len(journal._buffer)
        journal._buffer.clear()
        journal._buffer_bytes = 0
        assert lost > 0
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def start(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def full_replay_states(
    hass: HomeAssistant, entry: MockConfigEntry
) -> dict[str, Any]:
    """Stop without a snapshot, delete it, start: what a full replay shows."""
    entry.runtime_data.snapshot_writes["disabled"] = "reference (test)"
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    snapshot = journal_directory(hass, entry.entry_id) / "snapshot.bin"
    snapshot.unlink(missing_ok=True)
    await start(hass, entry)
    assert entry.runtime_data.snapshot_report["restored"] is False
    assert entry.runtime_data.snapshot_report["reason"] == "snapshot missing"
    return all_states(hass, entry)


async def crash_and_restore(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    *,
    replayed_after: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The journal flushed, a crash, a start from the snapshot and the journal
    after it: what it shows must be what was live and what a full replay
    shows. Returns what it showed and the start's snapshot report."""
    await tick(hass, freezer, 2)  # the journal flushes (1 s interval)
    await entry.runtime_data.message_log.journal.flush()
    live = all_states(hass, entry)
    await crash(hass, entry, lose_buffer=False)

    await start(hass, entry)
    report = entry.runtime_data.snapshot_report
    assert report["restored"] is True, report
    assert report["records_replayed_after"] == replayed_after
    assert entry.runtime_data.records_replayed == replayed_after
    restored = all_states(hass, entry)
    assert restored == await full_replay_states(hass, entry)
    assert restored == live
    return restored, report


async def test_snapshot_then_journal_gives_what_a_full_replay_gives(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """A periodic snapshot, more records journaled, a crash: restore + the rest."""
    entry = await new_hub(setup_hub)
    rng = random.Random(5)
    await feed(hass, freezer, rng, 120)
    await tick(hass, freezer, SNAPSHOT_INTERVAL)  # the timer writes a snapshot
    await hass.async_block_till_done(wait_background_tasks=True)
    writes = entry.runtime_data.snapshot_writes
    assert writes["written"] == 1, writes
    await feed(hass, freezer, rng, 80)
    restored, report = await crash_and_restore(hass, freezer, entry, replayed_after=80)
    assert report["topics_restored"] == 3
    assert len(restored) >= 3 * 2 * len(ALL_STATISTICS)  # and a few per topic


async def test_crash_before_the_journal_flush_gives_what_was_written(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """kill -9 after a snapshot, before the journal wrote the later records."""
    entry = await new_hub(setup_hub, windows=[900.0], statistics=["count", "mean"])
    rng = random.Random(8)
    await feed(hass, freezer, rng, 30)
    await entry.runtime_data.async_write_snapshot()
    count_at_snapshot = {
        topic: len(state.windows[900.0])
        for topic, state in entry.runtime_data.sources[
            subentry_id(entry)
        ].topics.items()
    }
    # Readings that reach the windows but never the disk.
    entry.runtime_data.message_log.journal.flush_interval = 3600.0
    for value in (1.0, 2.0, 3.0):
        async_fire_mqtt_message(hass, "plant/a/value", str(value))
        await hass.async_block_till_done()
    await crash(hass, entry, lose_buffer=True)

    await start(hass, entry)
    assert entry.runtime_data.snapshot_report["restored"] is True
    topics = entry.runtime_data.sources[subentry_id(entry)].topics
    assert {t: len(s.windows[900.0]) for t, s in topics.items()} == count_at_snapshot
    restored = all_states(hass, entry)
    assert restored == await full_replay_states(hass, entry)


async def test_readings_while_the_snapshot_is_being_copied(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The capture copies a topic per loop iteration here; readings arrive on
    every topic between its steps. A topic not copied yet is copied before its
    reading changes it, so the snapshot holds the windows at its journal
    position, and restoring it and replaying the rest gives the live windows."""
    entry = await new_hub(setup_hub)
    rng = random.Random(11)
    await feed(hass, freezer, rng, 60)
    copy_some = SnapshotCapture.copy_some
    steps = 0

    def one_topic_then_readings(capture: SnapshotCapture, samples: int = 0) -> bool:
        nonlocal steps
        steps += 1
        done = copy_some(capture, samples=1)
        for letter in "abc":  # dispatched at once: before the capture's next step
            freezer.tick(timedelta(seconds=1))
            async_fire_mqtt_message(
                hass, f"plant/{letter}/value", repr(1e6 + rng.gauss(0, 0.5))
            )
        return done

    monkeypatch.setattr(SnapshotCapture, "copy_some", one_topic_then_readings)
    await entry.runtime_data.async_write_snapshot()
    monkeypatch.setattr(SnapshotCapture, "copy_some", copy_some)
    writes = entry.runtime_data.snapshot_writes
    assert writes["written"] == 1, writes
    # Step one copies plant/a; its readings make b and c copy themselves.
    assert steps == 2
    assert writes["last_copied_on_write"] == 2
    await crash_and_restore(hass, freezer, entry, replayed_after=3 * steps)


async def test_a_snapshot_stopped_while_copying_lets_go_of_its_topics(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cancelled between two steps (the hub stopping): no topic is left
    pointing at the dropped capture, no file is written, the next one is."""
    entry = await new_hub(setup_hub, windows=[900.0], statistics=["count"])
    await feed(hass, freezer, random.Random(3), 30)
    hub = entry.runtime_data
    topics = list(hub.sources[subentry_id(entry)].topics.values())
    copy_some = SnapshotCapture.copy_some
    monkeypatch.setattr(
        SnapshotCapture, "copy_some", lambda capture, samples=0: copy_some(capture, 1)
    )
    writing = hass.async_create_task(hub.async_write_snapshot())
    for _ in range(200_000):  # the journal flushes in the executor first
        await asyncio.sleep(0)
        if any(topic.capture is not None for topic in topics):
            break  # armed, one topic copied by its first step
    pending = [topic for topic in topics if topic.capture is not None]
    assert 0 < len(pending) < len(topics)
    writing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writing
    assert all(topic.capture is None for topic in topics)
    assert hub.snapshot_writes["written"] == 0
    assert not hub.snapshot_path.exists()
    await hub.async_write_snapshot()
    assert hub.snapshot_writes["written"] == 1


async def test_a_snapshot_being_written_when_the_hub_stops(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The periodic snapshot is still being written (a large home takes a
    second) when the entry unloads, which cancels it: the write at stop waits
    for that one to finish instead of writing the same temporary file at
    once, and the next start restores from an intact snapshot."""
    entry = await new_hub(setup_hub, windows=[900.0], statistics=["count"])
    await feed(hass, freezer, random.Random(8), 30)
    hub = entry.runtime_data
    writing = 0
    overlapped = threading.Event()
    first_started = threading.Event()
    first_done = threading.Event()
    lock = threading.Lock()

    def slow_first_write(path: Path, snapshot: Any) -> Any:
        nonlocal writing
        with lock:
            writing += 1
            first = not first_started.is_set()
            if writing > 1:
                overlapped.set()
        first_started.set()
        try:
            if first:
                # A slow disk: the first write lasts until another begins
                # beside it (the race), or half a second.
                overlapped.wait(0.5)
            return write_snapshot(path, snapshot)
        finally:
            with lock:
                writing -= 1
            if first:
                first_done.set()

    monkeypatch.setattr(hub_module, "write_snapshot", slow_first_write)
    hub._async_snapshot_tick(dt_util.utcnow())
    assert await hass.async_add_executor_job(first_started.wait, 5)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.async_add_executor_job(first_done.wait, 5)
    assert not overlapped.is_set(), "two writes of the snapshot at once"
    assert isinstance(read_snapshot(hub.snapshot_path), HubSnapshot)
    assert hub.snapshot_writes["written"] == 1  # the stop's; the other was cancelled
    await start(hass, entry)
    assert entry.runtime_data.snapshot_report["restored"] is True


async def test_a_source_added_while_copying_skips_the_snapshot(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sources changed between the capture's steps: the copy may not
    match them, so no snapshot is written this time (counted as skipped)."""
    entry = await new_hub(setup_hub, windows=[900.0], statistics=["count"])
    await feed(hass, freezer, random.Random(4), 30)
    hub = entry.runtime_data
    copy_some = SnapshotCapture.copy_some
    added: list[str] = []

    def step_then_add_a_source(capture: SnapshotCapture, samples: int = 0) -> bool:
        if not added:
            subentry = ConfigSubentry(**sensor_subentry("garden/+/value"))
            hass.config_entries.async_add_subentry(entry, subentry)
            added.append(subentry.subentry_id)
        done = copy_some(capture, 1)
        # Let the hub take the new source in before the capture ends.
        return done and any(key.startswith(added[0]) for key in hub.sources)

    monkeypatch.setattr(SnapshotCapture, "copy_some", step_then_add_a_source)
    await hub.async_write_snapshot()
    assert hub.snapshot_writes["skipped"] == 1, hub.snapshot_writes
    assert hub.snapshot_writes["written"] == 0
    assert not hub.snapshot_path.exists()


async def test_journal_shorter_than_the_snapshot_position(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The snapshot reached the disk, the journal's last bytes did not."""
    entry = await new_hub(setup_hub, windows=[900.0], statistics=["count", "mean"])
    await feed(hass, freezer, random.Random(2), 20)
    await tick(hass, freezer, 2)
    assert await hass.config_entries.async_unload(entry.entry_id)  # snapshot at stop
    await hass.async_block_till_done()
    active = journal_directory(hass, entry.entry_id) / ACTIVE_FILE
    data = active.read_bytes()
    cut = data.rfind(b"\n", 0, len(data) - 1) + 1  # the last line is lost
    active.write_bytes(data[:cut])
    caplog.set_level(logging.INFO)
    caplog.clear()
    await start(hass, entry)
    report = entry.runtime_data.snapshot_report
    assert report["restored"] is False
    assert "journal position of the snapshot not found" in report["reason"]
    window = entry.runtime_data.sources[subentry_id(entry)].topics
    assert sum(len(s.windows[900.0]) for s in window.values()) == 19
    assert [r for r in caplog.messages if WHOLE_JOURNAL in r] == [
        f"Hub {entry.title} {WHOLE_JOURNAL}: {report['reason']}"
    ]


def _flip_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x04
    path.write_bytes(bytes(data))


def _cut_half(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _other_version(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[8:10] = struct.pack("<H", 99)
    path.write_bytes(bytes(data))


def _pruned(path: Path) -> None:
    """The journal rotated and retention deleted the file holding the position."""
    folder = path.parent
    (folder / ACTIVE_FILE).rename(folder / "journal.000001.log")
    (folder / "journal.000001.log").unlink()


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_flip_middle, "snapshot damaged: checksum mismatch"),
        (_cut_half, "snapshot truncated"),
        (_other_version, "snapshot version: format 99"),
        (
            _pruned,
            "journal position of the snapshot not found: its journal file is gone",
        ),
        (lambda path: path.write_bytes(b""), "snapshot truncated"),
    ],
    ids=["flipped", "truncated", "version", "pruned", "empty"],
)
async def test_unusable_snapshot_falls_back_to_the_full_replay(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[Path], None],
    reason: str,
) -> None:
    entry = await new_hub(setup_hub)
    await feed(hass, freezer, random.Random(3), 40)
    await tick(hass, freezer, 2)
    live = all_states(hass, entry)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    snapshot = journal_directory(hass, entry.entry_id) / "snapshot.bin"
    damage(snapshot)
    caplog.set_level(logging.INFO)
    caplog.clear()
    await start(hass, entry)

    report = entry.runtime_data.snapshot_report
    assert report["restored"] is False
    assert report["reason"].startswith(reason), report
    logged = [message for message in caplog.messages if WHOLE_JOURNAL in message]
    assert len(logged) == 1, logged
    assert reason in logged[0]
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["hub"]["snapshot"]["at_start"]["reason"] == report["reason"]
    if damage is _pruned:  # the journal lost everything: nothing to compare
        assert entry.runtime_data.records_replayed == 0
        return
    assert entry.runtime_data.records_replayed == 40
    assert all_states(hass, entry) == live
    # The next stop writes a good snapshot again.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.snapshot_report["restored"] is True
    assert all_states(hass, entry) == live


async def test_changed_settings_fall_back_to_the_full_replay(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A source's settings changed while the hub was not running."""
    entry = await new_hub(
        setup_hub, windows=[900.0], statistics=["count"], max_samples=5
    )
    await feed(hass, freezer, random.Random(4), 40)
    await tick(hass, freezer, 2)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    subentry = entry.subentries[subentry_id(entry)]
    advanced = {**subentry.data["advanced"], "max_samples": 10}
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, "advanced": advanced}
    )
    caplog.set_level(logging.INFO)
    caplog.clear()
    await start(hass, entry)
    report = entry.runtime_data.snapshot_report
    assert report["restored"] is False
    assert report["reason"] == (
        f"settings of source {subentry.subentry_id} changed since the snapshot"
    )
    assert len([m for m in caplog.messages if WHOLE_JOURNAL in m]) == 1
    topics = entry.runtime_data.sources[subentry_id(entry)].topics
    # Rebuilt with the new cap: up to 10 samples a topic, not the 5 saved.
    assert max(len(state.windows[900.0]) for state in topics.values()) == 10


async def test_snapshot_keeps_only_what_a_replay_from_the_window_would(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """A retained reading older than every window: after either restart the
    broker's copy of it is a reading again (the replay never saw the original)."""
    entry = await new_hub(setup_hub, windows=[60.0], statistics=["count", "mean"])
    async_fire_mqtt_message(hass, "plant/a/value", "5", retain=True)
    await hass.async_block_till_done()
    await tick(hass, freezer, 600)  # the reading leaves the 1-minute window
    for from_snapshot in (True, False):
        entry.runtime_data.snapshot_writes["disabled"] = None
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        if not from_snapshot:
            (journal_directory(hass, entry.entry_id) / "snapshot.bin").unlink()
        await start(hass, entry)
        hub = entry.runtime_data
        assert hub.snapshot_report["restored"] is from_snapshot
        state = hub.sources[subentry_id(entry)].topics["plant/a/value"]
        assert state.last_payload is None
        assert state.last_received is None
        async_fire_mqtt_message(hass, "plant/a/value", "5", retain=True)
        await hass.async_block_till_done()
        assert len(state.windows[60.0]) == 1
        await tick(hass, freezer, 600)


async def test_snapshot_diagnostics_and_writes(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    entry = await new_hub(setup_hub, windows=[900.0], statistics=["count"])
    await feed(hass, freezer, random.Random(6), 10)
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    snapshot = diagnostics["hub"]["snapshot"]
    assert snapshot["at_start"] == {"restored": False, "reason": "snapshot missing"}
    assert snapshot["writes"]["written"] == 0
    assert snapshot["interval_seconds"] == SNAPSHOT_INTERVAL
    await entry.runtime_data.async_write_snapshot()
    writes = entry.runtime_data.snapshot_writes
    assert writes["written"] == 1
    assert writes["last_topics"] == 3
    assert writes["last_samples"] == 10
    assert writes["last_size_bytes"] == Path(snapshot["file"]).stat().st_size
    await tick(hass, freezer, 30)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    at_start = entry.runtime_data.snapshot_report
    assert at_start["restored"] is True
    assert at_start["topics_restored"] == 3
    assert at_start["samples_restored"] == 10
    assert at_start["records_replayed_after"] == 0
    assert at_start["age_seconds"] == 0.0  # written at the stop, same frozen time
    assert at_start["size_bytes"] > 0
    assert journal_files(journal_directory(hass, entry.entry_id))


async def test_write_failure_is_counted_and_logged_once(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = await new_hub(setup_hub, windows=[900.0], statistics=["count"])
    await feed(hass, freezer, random.Random(6), 3)
    hub = entry.runtime_data
    hub.snapshot_path.mkdir(
        parents=True
    )  # a folder where the file goes: the rename fails
    await hub.async_write_snapshot()
    await hub.async_write_snapshot()
    assert hub.snapshot_writes["failures"] == 2
    assert hub.snapshot_writes["written"] == 0
    assert hub.snapshot_writes["last_error"]
    assert len([m for m in caplog.messages if "could not write its snapshot" in m]) == 1
    hub.snapshot_path.rmdir()
    await hub.async_write_snapshot()
    assert hub.snapshot_writes["written"] == 1
    assert hub.snapshot_writes["last_error"] is None


async def test_topics_without_a_device_come_back_as_after_a_full_replay(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """Devices removed while stopped: a topic comes back only if a replay from
    the longest window would bring it back (it had a message since)."""
    entry = await new_hub(setup_hub, windows=[60.0], statistics=["count"])
    async_fire_mqtt_message(hass, "plant/old/value", "1")
    await hass.async_block_till_done()
    await tick(hass, freezer, 600)  # older than the window
    async_fire_mqtt_message(hass, "plant/new/value", "2")
    await hass.async_block_till_done()
    await tick(hass, freezer, 2)
    topics_after: dict[bool, list[str]] = {}
    for from_snapshot in (True, False):
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        registry = dr.async_get(hass)
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
            if topics_of_device(device):
                registry.async_remove_device(device.id)
        if not from_snapshot:
            (journal_directory(hass, entry.entry_id) / "snapshot.bin").unlink()
        await start(hass, entry)
        assert entry.runtime_data.snapshot_report["restored"] is from_snapshot
        topics = entry.runtime_data.sources[subentry_id(entry)].topics
        topics_after[from_snapshot] = sorted(topics)
        assert len(topics["plant/new/value"].windows[60.0]) == 1
    assert topics_after[True] == topics_after[False] == ["plant/new/value"]
