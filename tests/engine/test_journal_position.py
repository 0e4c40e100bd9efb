"""Resuming the journal at a position: `JournalWriter.clean_position`, `read_after`.

A hub snapshot records where the journal ended when it was taken; at the next
start only the records written after that place are replayed. The position must
survive rotation (the active file is renamed), and anything that makes it
unusable (its file pruned or replaced) must say so rather than replay the wrong
records. Expected records are the ones the test submitted, split at the moment
the position was taken.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_components.iotitan.engine import journal as journal_module
from custom_components.iotitan.engine.journal import (
    ACTIVE_FILE,
    JOURNAL_START,
    JournalPosition,
    PositionNotFound,
    journal_end,
    journal_files,
    read_after,
    read_since,
)
from custom_components.iotitan.engine.record import MqttRecord

from .test_journal import T0, make_writer, record


async def _write(writer, records: list[MqttRecord], start: int, count: int) -> None:  # type: ignore[no-untyped-def]
    for index in range(start, start + count):
        item = record(index, when=T0 + index)
        records.append(item)
        writer.submit(item)
        if index % 5 == 4:
            await writer.flush()


async def test_position_survives_rotation(tmp_path: Path) -> None:
    writer = make_writer(tmp_path, max_file_bytes=600)
    await writer.start()
    submitted: list[MqttRecord] = []
    await _write(writer, submitted, 0, 25)
    position = await writer.clean_position()
    assert position is not None
    taken = len(submitted)
    await _write(writer, submitted, 25, 60)  # several rotations after it
    await writer.stop()
    assert len(journal_files(tmp_path)) >= 4
    result = read_after(tmp_path, position, 0)
    assert not isinstance(result, PositionNotFound)
    assert result.records == submitted[taken:]
    # `since` still applies after the position.
    later = read_after(tmp_path, position, T0 + 70)
    assert not isinstance(later, PositionNotFound)
    assert later.records == [r for r in submitted if r.timestamp >= T0 + 70]


async def test_position_at_the_end_reads_nothing_and_start_reads_all(
    tmp_path: Path,
) -> None:
    writer = make_writer(tmp_path)
    await writer.start()
    empty = await writer.clean_position()
    assert empty == JOURNAL_START  # nothing was ever written
    submitted: list[MqttRecord] = []
    await _write(writer, submitted, 0, 10)
    end = await writer.clean_position()
    assert end is not None
    assert end == journal_end(tmp_path)  # tracked = measured
    await writer.stop()
    after_end = read_after(tmp_path, end, 0)
    assert not isinstance(after_end, PositionNotFound)
    assert after_end.records == []
    from_start = read_after(tmp_path, empty, 0)
    assert not isinstance(from_start, PositionNotFound)
    assert from_start.records == submitted == read_since(tmp_path, 0).records


async def test_a_new_writer_knows_where_an_older_journal_ends(tmp_path: Path) -> None:
    """After a restart the writer measures the end before it has written anything."""
    first = make_writer(tmp_path, max_file_bytes=800)
    await first.start()
    submitted: list[MqttRecord] = []
    await _write(first, submitted, 0, 20)
    await first.stop()
    (tmp_path / ACTIVE_FILE).unlink(missing_ok=True)  # only rotated files are left
    second = make_writer(tmp_path, max_file_bytes=800)
    await second.start()
    position = await second.clean_position()
    assert position == journal_end(tmp_path)
    assert position is not None and position != JOURNAL_START
    await _write(second, submitted, 20, 5)
    await second.stop()
    result = read_after(tmp_path, position, 0)
    assert not isinstance(result, PositionNotFound)
    assert result.records == submitted[20:]


async def test_pruned_or_replaced_file_is_not_found(tmp_path: Path) -> None:
    writer = make_writer(tmp_path, max_file_bytes=1000)
    await writer.start()
    submitted: list[MqttRecord] = []
    await _write(writer, submitted, 0, 5)
    position = await writer.clean_position()
    assert position is not None
    await _write(writer, submitted, 5, 40)
    await writer.stop()
    holder = next(
        p for p in journal_files(tmp_path) if p.stat().st_ino == position.inode
    )
    # The same inode, other bytes before the offset (a reused inode).
    data = bytearray(holder.read_bytes())
    data[position.offset - 3] ^= 0x01
    holder.write_bytes(bytes(data))
    assert isinstance(read_after(tmp_path, position, 0), PositionNotFound)
    holder.write_bytes(bytes(data[: position.offset - 1]))  # shorter than the offset
    assert isinstance(read_after(tmp_path, position, 0), PositionNotFound)
    holder.unlink()  # pruned
    result = read_after(tmp_path, position, 0)
    assert isinstance(result, PositionNotFound)
    assert "gone" in result.reason
    assert isinstance(
        read_after(tmp_path / "missing", JournalPosition(5, 10, b"x"), 0),
        PositionNotFound,
    )


async def test_no_clean_position_while_writes_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = make_writer(tmp_path)
    await writer.start()
    submitted: list[MqttRecord] = []
    await _write(writer, submitted, 0, 3)
    real_write = journal_module._write_all

    def failing(fd: int, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(journal_module, "_write_all", failing)
    assert await writer.clean_position(attempts=2) is None
    monkeypatch.setattr(journal_module, "_write_all", real_write)
    position = await writer.clean_position()
    assert position is not None
    assert position == journal_end(tmp_path)
    await writer.stop()
    assert read_since(tmp_path, 0).records == submitted


async def test_records_arriving_during_the_flush_are_flushed_too(
    tmp_path: Path,
) -> None:
    """A record submitted while a flush runs is in the journal before the position."""
    writer = make_writer(tmp_path)
    await writer.start()
    submitted: list[MqttRecord] = []
    await _write(writer, submitted, 0, 3)
    original_flush = writer.flush
    arriving = [record(99, when=T0 + 99)]

    async def flush() -> None:
        await original_flush()
        if arriving:  # came in on the loop while the executor wrote
            item = arriving.pop()
            submitted.append(item)
            writer.submit(item)

    writer.flush = flush  # type: ignore[method-assign]
    position = await writer.clean_position()
    assert position is not None
    assert position == journal_end(tmp_path)
    await writer.stop()
    assert read_since(tmp_path, 0).records == submitted
    assert read_after(tmp_path, position, 0) == read_after(tmp_path, position, 1e12)
