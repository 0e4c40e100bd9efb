"""`load_snapshot`: every reason a snapshot is not used, and the one it is.

The hub calls it in the executor at start; a reason means a full replay.
Sources are real `SensorSource`s fed real records; the journal is written by
a real `JournalWriter`; the snapshot is what the hub captures.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from custom_components.iotitan.engine.journal import JournalPosition, JournalWriter
from custom_components.iotitan.engine.record import MqttRecord
from custom_components.iotitan.engine.snapshot import write_snapshot
from custom_components.iotitan.hub_snapshot import (
    Restored,
    begin_capture,
    capture,
    ignored_topics,
    load_snapshot,
    source_settings,
)
from custom_components.iotitan.models import SensorSourceConfig
from custom_components.iotitan.source import SensorSource

from .common import sensor_subentry

T0 = 1_800_000_000.0
IGNORED = ignored_topics("iotitan", False)
POSITION = JournalPosition(1, 0, b"")


def source(source_id: str = "s1", **settings: object) -> SensorSource:
    data = sensor_subentry("room/+", windows=[60.0, 600.0], **settings)  # type: ignore[arg-type]
    return SensorSource(
        source_id, "Rooms", SensorSourceConfig.from_subentry_data(data["data"])
    )


async def journal_with(
    tmp_path: Path, sources: dict[str, SensorSource], records: list[MqttRecord]
) -> JournalWriter:
    writer = JournalWriter(tmp_path, keep_seconds=10**9, flush_interval=3600)
    await writer.start()
    for record in records:
        writer.submit(record)
        for item in sources.values():
            item.ingest(record, now=record.timestamp)
    return writer


def records(start: float, count: int, topic: str = "room/a") -> list[MqttRecord]:
    return [MqttRecord(start + i, topic, b"%d" % i, 0, False) for i in range(count)]


async def snapshot_now(
    tmp_path: Path,
    sources: dict[str, SensorSource],
    writer: JournalWriter,
    taken_at: float,
) -> Path:
    position = await writer.clean_position()
    assert position is not None
    path = tmp_path / "snapshot.bin"
    assert isinstance(
        write_snapshot(path, capture(sources, IGNORED, position, taken_at)), int
    )
    return path


async def test_usable_snapshot_and_the_records_after_it(tmp_path: Path) -> None:
    sources = {"s1": source()}
    writer = await journal_with(tmp_path, sources, records(T0, 50))
    path = await snapshot_now(tmp_path, sources, writer, T0 + 50)
    later = records(T0 + 60, 5)
    for record in later:
        writer.submit(record)
    await writer.stop()
    loaded = load_snapshot(
        path, tmp_path, source_settings(sources, IGNORED), T0 + 70, T0 - 530
    )
    assert isinstance(loaded, Restored)
    assert loaded.records.records == later
    assert loaded.samples == 50 + 50  # 1 s apart: all 50 in both windows
    assert loaded.size == path.stat().st_size


async def test_every_reason(tmp_path: Path) -> None:
    sources = {"s1": source()}
    writer = await journal_with(tmp_path, sources, records(T0, 20))
    path = await snapshot_now(tmp_path, sources, writer, T0 + 20)
    await writer.stop()
    settings = source_settings(sources, IGNORED)
    now = T0 + 30

    assert load_snapshot(path, tmp_path, settings, T0 + 10, T0 - 590) == (
        "snapshot taken later than now (the clock stepped back)"
    )
    assert load_snapshot(path, tmp_path, settings, T0 + 1000, T0 + 400) == (
        "snapshot older than the longest window"
    )
    added = source_settings({**sources, "s2": source("s2")}, IGNORED)
    assert load_snapshot(path, tmp_path, added, now, now - 600) == (
        "no snapshot of source s2 (added since)"
    )
    other = source_settings({"s1": source(value_path="v")}, IGNORED)
    assert load_snapshot(path, tmp_path, other, now, now - 600) == (
        "settings of source s1 changed since the snapshot"
    )
    elsewhere = source_settings(sources, ignored_topics("other", False))
    assert load_snapshot(path, tmp_path, elsewhere, now, now - 600) == (
        "settings of source s1 changed since the snapshot"
    )
    assert load_snapshot(tmp_path / "none.bin", tmp_path, settings, now, now - 600) == (
        "snapshot missing"
    )
    assert isinstance(load_snapshot(path, tmp_path, settings, now, now - 600), Restored)


async def test_inconsistent_window_state_is_damage(tmp_path: Path) -> None:
    """A snapshot whose checksum matched but whose window does not hold together."""
    sources = {"s1": source()}
    writer = await journal_with(tmp_path, sources, records(T0, 20))
    position = await writer.clean_position()
    await writer.stop()
    assert position is not None
    snapshot = capture(sources, IGNORED, position, T0 + 20)
    topic = snapshot.sources[0].topics[0]
    seconds, state = topic.windows[0]
    bad = dataclasses.replace(state, value_scale=0, time_scale=0, sums=(1, 0, 0, 0))
    broken = dataclasses.replace(
        snapshot,
        sources=(
            dataclasses.replace(
                snapshot.sources[0],
                topics=(dataclasses.replace(topic, windows=((seconds, bad),)),),
            ),
        ),
    )
    path = tmp_path / "snapshot.bin"
    assert isinstance(write_snapshot(path, broken), int)
    reason = load_snapshot(
        path, tmp_path, source_settings(sources, IGNORED), T0 + 30, T0 - 570
    )
    assert isinstance(reason, str)
    assert reason.startswith("snapshot damaged: room/a:")


async def test_older_records_after_the_position(tmp_path: Path) -> None:
    """Records appended after the snapshot but older than it (an import)."""
    sources = {"s1": source()}
    writer = await journal_with(tmp_path, sources, records(T0, 20))
    path = await snapshot_now(tmp_path, sources, writer, T0 + 20)
    for record in records(T0 - 100, 3):
        writer.submit(record)
    await writer.stop()
    reason = load_snapshot(
        path, tmp_path, source_settings(sources, IGNORED), T0 + 30, T0 - 570
    )
    assert (
        reason == "the journal has records older than the snapshot after its position"
    )


def test_a_capture_copies_a_topic_before_a_reading_or_a_clock_step_changes_it() -> None:
    """Copy on write at the source: a reading (live path) and samples dropped
    because the clock stepped back copy the topic first; mere expiry does not
    (the restore expires alike), nor do topics that appear after arming."""
    sources = {"s1": source()}
    for record in records(T0, 30) + records(T0, 30, "room/b"):
        sources["s1"].ingest(record, now=record.timestamp)
    topics = sources["s1"].topics
    armed_at = capture(sources, IGNORED, POSITION, T0)

    armed = begin_capture(sources, IGNORED, POSITION, T0)
    topics["room/a"].expire(T0 + 100)  # samples leave the 60 s window: no copy
    assert armed.copied_on_write == 0
    sources["s1"].ingest(MqttRecord(T0 + 40, "room/b", b"99", 0, False), now=T0 + 40)
    assert armed.copied_on_write == 1
    sources["s1"].ingest(MqttRecord(T0 + 41, "room/c", b"7", 0, False), now=T0 + 41)
    assert armed.copied_on_write == 1  # a new topic: not in the snapshot
    assert armed.copy_some(samples=10**9)
    snapshot = armed.snapshot()
    assert [t.topic for t in snapshot.sources[0].topics] == ["room/a", "room/b"]
    expected_b = armed_at.sources[0].topics[1]
    assert snapshot.sources[0].topics[1] == expected_b  # as it was when armed
    assert topics["room/b"].last_value == 99.0

    stepped = begin_capture(sources, IGNORED, POSITION, T0 + 50)
    before = topics["room/b"].export_snapshot()
    assert topics["room/b"].expire(T0 + 10) > 0  # the clock stepped back 30 s
    assert stepped.copied_on_write == 1
    assert stepped.copy_some(samples=10**9)
    assert stepped.snapshot().sources[0].topics[1] == before
