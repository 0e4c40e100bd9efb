"""The local journal: batched writes, rotation, retention, replay, import parsing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
import datetime
import errno
import os
from pathlib import Path
import random
import time
import tracemalloc
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.iotitan.engine import journal as journal_module
from custom_components.iotitan.engine.journal import (
    ACTIVE_FILE,
    JournalWriter,
    journal_files,
    parse_line,
    read_since,
)
from custom_components.iotitan.engine.record import MqttRecord
from custom_components.iotitan.engine.syslog import SyslogFormatter

from .test_syslog_format import HOSTILE_PAYLOADS, parse_rfc5424

T0 = 1_795_732_789.0  # 2026-11-26T22:39:49Z


def record(
    index: int, when: float | None = None, payload: bytes | None = None
) -> MqttRecord:
    """Record `index`; times are multiples of 1/8 s so they survive ms rounding exactly."""
    return MqttRecord(
        T0 + index / 8 if when is None else when,
        f"sensor/{index % 5}/temp",
        b"%d" % index if payload is None else payload,
        index % 3,
        index % 2 == 1,
    )


def lines_of(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return data.split(b"\n")[:-1]


def all_lines(directory: Path) -> list[bytes]:
    return [
        line for path in reversed(journal_files(directory)) for line in lines_of(path)
    ]


def make_writer(directory: Path, **kwargs: Any) -> JournalWriter:
    kwargs.setdefault("keep_seconds", 10 * 365 * 86400)
    kwargs.setdefault("flush_interval", 3600)  # tests flush explicitly unless they say
    return JournalWriter(directory, formatter=SyslogFormatter(hostname="pi"), **kwargs)


async def wait_until(predicate: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


# -- writing ---------------------------------------------------------------------


async def test_batched_writes_on_the_flush_interval(tmp_path: Path) -> None:
    writer = make_writer(tmp_path / "j", flush_interval=0.05)
    await writer.start()
    active = tmp_path / "j" / ACTIVE_FILE
    for index in range(100):
        writer.submit(record(index))
    assert not active.exists() or active.stat().st_size == 0  # nothing written yet
    assert writer.stats.buffered == 100
    await wait_until(lambda: writer.stats.records_written == 100)
    for index in range(100, 150):
        writer.submit(record(index))
    await wait_until(lambda: writer.stats.records_written == 150)
    await writer.stop()

    lines = lines_of(active)
    assert len(lines) == 150
    for index, line in enumerate(lines):
        parts = parse_rfc5424(line)  # every line is a valid RFC 5424 message
        assert parts["msg"] == b"%d" % index
    stats = writer.stats
    assert stats.bytes_written == active.stat().st_size
    assert (stats.files, stats.write_errors, stats.buffered, stats.dropped) == (
        1,
        0,
        0,
        {},
    )


async def test_stop_flushes_and_later_submits_are_counted(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    await writer.start()
    writer.submit(record(1))
    await writer.stop()
    assert len(lines_of(tmp_path / ACTIVE_FILE)) == 1
    writer.submit(record(2))
    assert writer.stats.dropped == {"shutdown": 1}
    await writer.stop()  # a second stop is harmless


async def test_rotation_by_size_keeps_order(tmp_path: Path) -> None:
    writer = make_writer(tmp_path, max_file_bytes=2000)
    await writer.start()
    await writer.start()  # idempotent
    for index in range(100):
        writer.submit(record(index))
    await writer.flush()
    for index in range(100, 130):
        writer.submit(record(index))
    await writer.stop()

    files = journal_files(tmp_path)
    assert files[0].name == ACTIVE_FILE
    rotated = files[1:]
    assert len(rotated) >= 5
    assert [path.name for path in reversed(rotated)] == [
        f"journal.{number:06d}.log" for number in range(1, len(rotated) + 1)
    ]
    longest = max(len(line) + 1 for line in all_lines(tmp_path))
    for path in rotated:
        assert 2000 <= path.stat().st_size < 2000 + longest
    payloads = [parse_rfc5424(line)["msg"] for line in all_lines(tmp_path)]
    assert payloads == [b"%d" % index for index in range(130)]
    assert writer.stats.files == len(files)
    assert writer.stats.rotations == len(rotated)


async def test_retention_deletes_only_old_rotated_files(tmp_path: Path) -> None:
    now = float(int(time.time()))  # whole seconds: exact after ms rounding
    old = [record(index, when=now - 7200 + index) for index in range(40)]
    await write_journal(tmp_path, old, max_file_bytes=1000)  # kept: 10-year horizon
    active = tmp_path / ACTIVE_FILE
    rotated = [path for path in journal_files(tmp_path) if path != active]
    assert len(rotated) >= 3
    left_in_active = len(lines_of(active)) if active.exists() else 0

    writer = make_writer(tmp_path, max_file_bytes=1000, keep_seconds=3600)
    await writer.start()  # prunes: every rotated file is older than an hour
    assert all(path == active for path in journal_files(tmp_path))
    assert writer.stats.files_deleted == len(rotated)
    new = [record(index, when=now - 10 + index / 8) for index in range(40)]
    for item in new:
        writer.submit(item)
    await writer.stop()

    remaining = [path for path in journal_files(tmp_path) if path != active]
    assert len(remaining) >= 2
    for path in remaining:  # rotated after the restart: all have new records
        assert _newest(path) >= now - 3600
    assert read_since(tmp_path, now - 3600).records == new
    assert read_since(tmp_path, 0).records == old[40 - left_in_active :] + new


def _newest(path: Path) -> float:
    last = lines_of(path)[-1]
    stamp = parse_rfc5424(last)["timestamp"]
    assert isinstance(stamp, str)
    return datetime.datetime.fromisoformat(stamp).timestamp()


async def test_retention_by_keep_horizon_change(tmp_path: Path) -> None:
    now = time.time()
    writer = make_writer(tmp_path, max_file_bytes=500)
    await writer.start()
    for index in range(30):
        writer.submit(record(index, when=now - 1000 + index))
    await writer.flush()
    rotated_before = len([p for p in journal_files(tmp_path) if p.name != ACTIVE_FILE])
    assert rotated_before >= 2
    writer.set_keep_seconds(10)
    await writer.flush()  # nothing buffered: prunes because the horizon changed
    await writer.stop()
    files = journal_files(tmp_path)
    assert all(path.name == ACTIVE_FILE for path in files)
    assert writer.stats.files_deleted == rotated_before
    assert writer.stats.files == len(files)


async def test_retention_uses_mtime_for_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "journal.000001.log").write_bytes(b"garbage without timestamps\n")
    (tmp_path / "journal.000002.log").write_bytes(b"")
    old = time.time() - 5000
    os.utime(tmp_path / "journal.000001.log", (old, old))
    writer = make_writer(tmp_path, keep_seconds=3600)
    await writer.start()
    await writer.stop()
    assert [p.name for p in journal_files(tmp_path)] == ["journal.000002.log"]


async def test_rotation_and_replay_after_a_partial_prune(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retention deleted the oldest rotated files but not all of them.

    The next rotation must take a number above every file still there (never
    one in use, which would overwrite it), replay must read the files in time
    order, and the prune that follows each rotation must keep deleting what
    has grown old.
    """
    keep = 7 * 86400.0
    clock = [time.time()]
    monkeypatch.setattr(journal_module.time, "time", lambda: clock[0])
    writer = make_writer(tmp_path, max_file_bytes=1000, keep_seconds=keep)
    await writer.start()
    submitted: list[MqttRecord] = []

    def rotated_names() -> list[str]:
        """Rotated files, oldest first."""
        return [
            p.name for p in reversed(journal_files(tmp_path)) if p.name != ACTIVE_FILE
        ]

    async def write(count: int) -> None:
        for _ in range(count):
            item = record(len(submitted), when=T0 + len(submitted))  # 1 s apart
            submitted.append(item)
            writer.submit(item)
        await writer.flush()

    clock[0] = T0 + keep  # nothing is old yet
    await write(80)
    first = rotated_names()
    assert len(first) >= 5
    assert first == [f"journal.{number:06d}.log" for number in range(1, len(first) + 1)]

    # The keep-horizon passes the 2nd oldest file, not the 3rd: exactly two go.
    cut = _newest(tmp_path / first[1]) + 0.5
    clock[0] = cut + keep
    writer.set_keep_seconds(keep)  # prune at the next flush
    await writer.flush()
    kept = first[2:]
    assert rotated_names() == kept
    assert writer.stats.files_deleted == 2
    alive = [item for item in submitted if item.timestamp >= cut]
    assert read_since(tmp_path, 0).records == alive

    # Time moves past the next two files; the next rotations prune them.
    second_cut = _newest(tmp_path / kept[1]) + 0.5
    clock[0] = second_cut + keep
    untouched = {name: (tmp_path / name).read_bytes() for name in kept[2:]}
    await write(40)  # rotates at least twice more
    names = rotated_names()
    new_names = [name for name in names if name not in first]
    assert len(new_names) >= 2
    last = len(first)
    assert new_names == [
        f"journal.{number:06d}.log"
        for number in range(last + 1, last + 1 + len(new_names))
    ]
    assert names == kept[2:] + new_names  # the two oldest left were pruned
    assert writer.stats.files_deleted == 4
    for name, data in untouched.items():  # never renamed over, never appended to
        assert (tmp_path / name).read_bytes() == data
    await writer.stop()

    alive = [item for item in submitted if item.timestamp >= second_cut]
    assert read_since(tmp_path, 0).records == alive
    for start in (0, 10, len(alive) // 2, len(alive) - 1):
        assert read_since(tmp_path, alive[start].timestamp).records == alive[start:]


async def test_executor_and_runner_are_used(tmp_path: Path) -> None:
    calls: list[str] = []
    with ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="journal-test"
    ) as executor:
        writer = make_writer(tmp_path / "a", executor=executor)
        await writer.start()
        writer.submit(record(1))
        await writer.stop()

        async def runner(func: Callable[[], Any]) -> Any:
            calls.append("runner")
            return await asyncio.get_running_loop().run_in_executor(executor, func)

        writer = make_writer(tmp_path / "b", run_blocking=runner)
        await writer.start()
        writer.submit(record(2))
        await writer.stop()
    assert calls
    assert len(lines_of(tmp_path / "a" / ACTIVE_FILE)) == 1
    assert len(lines_of(tmp_path / "b" / ACTIVE_FILE)) == 1


def test_bad_settings() -> None:
    with pytest.raises(ValueError):
        JournalWriter("x", keep_seconds=1, max_file_bytes=0)
    with pytest.raises(ValueError):
        JournalWriter("x", keep_seconds=1, formatter=SyslogFormatter(rfc3164=True))


# -- write errors ------------------------------------------------------------------


async def test_write_error_is_counted_and_retried(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    blocker = tmp_path / ACTIVE_FILE
    blocker.mkdir()  # opening journal.log for append now fails (EISDIR)
    await writer.start()
    for index in range(10):
        writer.submit(record(index))
    await writer.flush()
    stats = writer.stats
    assert (stats.write_errors, stats.buffered, stats.records_written) == (1, 10, 0)
    assert stats.last_error and "IsADirectoryError" in stats.last_error
    blocker.rmdir()
    writer.submit(record(10))
    await writer.flush()
    await writer.stop()
    assert [parse_rfc5424(x)["msg"] for x in lines_of(blocker)] == [
        b"%d" % i for i in range(11)
    ]
    assert writer.stats.records_written == 11


async def test_disk_full_keeps_records(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("/dev/full is not available")
    (tmp_path / ACTIVE_FILE).symlink_to("/dev/full")  # every write: ENOSPC
    writer = make_writer(tmp_path)
    await writer.start()
    for index in range(5):
        writer.submit(record(index))
    await writer.flush()
    assert writer.stats.write_errors == 1
    assert "No space left" in (writer.stats.last_error or "")
    assert writer.stats.buffered == 5
    (tmp_path / ACTIVE_FILE).unlink()
    await writer.stop()
    assert len(lines_of(tmp_path / ACTIVE_FILE)) == 5


async def test_partial_write_is_cut_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = make_writer(tmp_path)
    await writer.start()
    writer.submit(record(0))
    await writer.flush()
    real_write_all = journal_module._write_all
    failures = 1

    def half_then_enospc(fd: int, chunks: list[bytes]) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            data = b"".join(chunks)
            os.write(fd, data[: len(data) // 2])
            raise OSError(28, "No space left on device")
        real_write_all(fd, chunks)

    monkeypatch.setattr(journal_module, "_write_all", half_then_enospc)
    for index in range(1, 6):
        writer.submit(record(index))
    await writer.flush()
    assert writer.stats.write_errors == 1
    assert len(lines_of(tmp_path / ACTIVE_FILE)) == 1  # the half batch was removed
    await writer.stop()
    msgs = [parse_rfc5424(x)["msg"] for x in lines_of(tmp_path / ACTIVE_FILE)]
    assert msgs == [b"%d" % i for i in range(6)]  # no duplicate, no torn line


def test_short_writes_continue_where_they_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More lines than one writev takes, each call writing only a few bytes."""
    real_writev = os.writev
    calls = 0

    def short_writev(fd: int, buffers: list[memoryview]) -> int:
        nonlocal calls
        calls += 1
        assert len(buffers) <= journal_module._IOV_MAX
        return real_writev(fd, [bytes(b"".join(buffers)[: 1 + calls % 97])])

    monkeypatch.setattr(os, "writev", short_writev)
    lines = [b"line %d\n" % index for index in range(3000)] + [b"", b"x" * 5000]
    path = tmp_path / "out"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        journal_module._write_all(fd, lines)
    finally:
        os.close(fd)
    assert path.read_bytes() == b"".join(lines)


def test_a_batch_of_large_lines_is_not_copied_to_be_written(tmp_path: Path) -> None:
    """Writing a batch allocates next to nothing: the lines are not joined.

    A batch of payloads up to 1 MiB each was joined into one more copy of the
    whole batch in the worker thread (the soak of broker junk: 1-2 MiB random
    payloads grew Home Assistant's memory by tens of MiB of freed copies).
    """
    files = journal_module._JournalFiles(tmp_path, 64 * 1024 * 1024, fsync=False)
    lines = [bytes([65 + index]) * (1024 * 1024) + b"\n" for index in range(8)]
    tracemalloc.start()
    try:
        files.flush(lines, horizon=0.0, prune=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 256 * 1024, peak  # a join would be 8 MiB
    assert (tmp_path / ACTIVE_FILE).read_bytes() == b"".join(lines)


async def test_failure_during_rotation_writes_the_rest_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = make_writer(tmp_path, max_file_bytes=300)
    await writer.start()
    real_rotate = journal_module._JournalFiles.rotate
    failures = 1

    def rotate_once_fails(self: Any) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise PermissionError(13, "Permission denied")
        real_rotate(self)

    monkeypatch.setattr(journal_module._JournalFiles, "rotate", rotate_once_fails)
    for index in range(10):
        writer.submit(record(index))
    await writer.flush()
    stats = writer.stats
    assert stats.write_errors == 1
    assert 0 < stats.records_written < 10
    assert stats.records_written + stats.buffered == 10
    await writer.stop()
    msgs = [parse_rfc5424(x)["msg"] for x in all_lines(tmp_path)]
    assert msgs == [b"%d" % i for i in range(10)]


async def test_buffer_bound_drops_oldest(tmp_path: Path) -> None:
    writer = make_writer(tmp_path, max_buffered=4)
    for index in range(6):
        writer.submit(record(index))
    assert writer.stats.dropped == {"buffer_overflow": 2}
    writer2 = make_writer(tmp_path / "bytes", max_buffered_bytes=500)
    for index in range(10):
        writer2.submit(record(index))
    assert writer2.stats.dropped["buffer_overflow"] > 0
    assert writer2.stats.buffered + writer2.stats.dropped["buffer_overflow"] == 10
    await writer.start()
    await writer.stop()
    assert [parse_rfc5424(x)["msg"] for x in lines_of(tmp_path / ACTIVE_FILE)] == [
        b"2",
        b"3",
        b"4",
        b"5",
    ]


async def test_bad_record_and_truncation_are_counted(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    writer.submit(MqttRecord(1.0, "t", b"x", "bad", False))  # type: ignore[arg-type]
    writer.submit(record(1, payload=b"z" * 10_000))
    await writer.start()
    await writer.stop()
    stats = writer.stats
    assert stats.dropped == {"format_error": 1}
    assert stats.truncated == 1
    assert stats.records_written == 1


# -- replay ---------------------------------------------------------------------------


async def write_journal(
    directory: Path, records: list[MqttRecord], **kwargs: Any
) -> None:
    writer = make_writer(directory, **kwargs)
    await writer.start()
    for item in records:
        writer.submit(item)
    await writer.stop()


async def test_replay_returns_newest_records_across_files(tmp_path: Path) -> None:
    records = [record(index) for index in range(400)]
    await write_journal(tmp_path, records, max_file_bytes=3000)
    assert len(journal_files(tmp_path)) > 10
    for start in (0, 1, 17, 199, 398, 399):
        result = await asyncio.get_running_loop().run_in_executor(
            None, read_since, tmp_path, records[start].timestamp
        )
        assert result.records == records[start:]
        assert list(result) == records[start:]
        assert len(result) == 400 - start
        assert result.skipped == 0
    assert len(read_since(tmp_path, T0 + 1000)) == 0
    assert read_since(tmp_path / "missing", 0).records == []


async def test_replay_reads_only_as_far_back_as_needed(tmp_path: Path) -> None:
    records = [record(index) for index in range(300)]
    await write_journal(tmp_path, records, max_file_bytes=3000)
    files = journal_files(tmp_path)
    # Records in the newest two files: the third newest is where `since` falls.
    needed_from = len(all_lines_of(files[:2]))
    since_index = 300 - needed_from - 3
    # Corrupt everything older than the third newest file: never to be opened.
    for path in files[3:]:
        path.write_bytes(b"\x00garbage\n" * 10)
    result = read_since(tmp_path, records[since_index].timestamp)
    assert result.records == records[since_index:]
    assert (result.skipped, result.files_read) == (0, 3)
    # The corruption is noticed when the older files are needed after all.
    assert read_since(tmp_path, 0).skipped == 10 * len(files[3:])


def all_lines_of(paths: list[Path]) -> list[bytes]:
    return [line for path in paths for line in lines_of(path)]


async def test_replay_skips_torn_last_line_and_garbage(tmp_path: Path) -> None:
    records = [record(index) for index in range(20)]
    await write_journal(tmp_path, records[:10])
    active = tmp_path / ACTIVE_FILE
    with active.open("ab") as file:
        file.write(b"this is not a syslog line\n")
        file.write(
            b'<134>1 2026-11-26T22:39:50.000Z pi iotitan 1 mqtt [mqtt@32473 topic="x" qos'
        )
    result = read_since(tmp_path, 0)
    assert result.records == records[:10]
    assert result.skipped == 2
    # Writing again after the "crash" starts on a fresh line: nothing is glued on.
    await write_journal(tmp_path, records[10:])
    result = read_since(tmp_path, 0)
    assert result.records == records
    assert result.skipped == 2


async def test_replay_of_hostile_payloads_and_topics(tmp_path: Path) -> None:
    topics = ["温度/🌡", 'q"uote]/back\\slash', "new\nline", "sp ace", "\x00"]
    records = [
        MqttRecord(
            T0 + index / 4,
            topics[index % len(topics)],
            payload,
            index % 3,
            index % 2 == 0,
        )
        for index, payload in enumerate(HOSTILE_PAYLOADS * 2)
    ]
    await write_journal(tmp_path, records)
    assert read_since(tmp_path, 0).records == records


async def test_replay_of_truncated_and_bom_lines(tmp_path: Path) -> None:
    big = bytes(range(256)) * 64
    writer = JournalWriter(
        tmp_path, keep_seconds=1e9, formatter=SyslogFormatter(bom=True)
    )
    await writer.start()
    writer.submit(record(0, payload=big))
    writer.submit(record(1, payload=b"plain"))
    writer.submit(record(2, payload=b""))
    await writer.stop()
    replayed = read_since(tmp_path, 0).records
    assert replayed[0].payload == big[:8192]
    assert [r.payload for r in replayed[1:]] == [b"plain", b""]


async def test_replay_rounds_since_to_the_microsecond(tmp_path: Path) -> None:
    await write_journal(tmp_path, [record(0, when=T0 + 0.1234)])
    # stored as ...49.123400Z: a `since` of that microsecond finds it
    assert len(read_since(tmp_path, T0 + 0.1234)) == 1
    assert len(read_since(tmp_path, T0 + 0.123401)) == 0
    assert len(read_since(tmp_path, float("-inf"))) == 1


async def test_replay_of_microsecond_times_is_exact(tmp_path: Path) -> None:
    """Records stamped as record_now stamps them replay with the same floats."""
    rng = random.Random(13)
    micros = sorted(
        int(T0 * 1_000_000) + rng.randrange(0, 3_600_000_000) for _ in range(300)
    )
    records = [
        record(index, when=when / 1_000_000) for index, when in enumerate(micros)
    ]
    await write_journal(tmp_path, records)
    replayed = read_since(tmp_path, 0).records
    assert [r.timestamp for r in replayed] == [r.timestamp for r in records]
    for index in (0, 17, 150, 299):
        since = records[index].timestamp
        assert read_since(tmp_path, since).records[0].timestamp == since


async def test_journal_written_with_milliseconds_still_replays(
    tmp_path: Path,
) -> None:
    """A journal of IoTitan before 1.4 (milliseconds) replays as it did then."""
    (tmp_path / "journal.000001.log").write_bytes(
        b"<134>1 2026-11-26T22:39:49.123Z pi iotitan 42 mqtt "
        b'[mqtt@32473 topic="room/t" qos="0" retain="0"] 21.5\n'
        b"<134>1 2026-11-26T22:39:50.001Z pi iotitan 42 mqtt "
        b'[mqtt@32473 topic="room/t" qos="1" retain="1"] 22\n'
    )
    # ...and the active file continues with microseconds after the upgrade
    await write_journal(tmp_path, [record(0, when=1_795_732_790_500_001 / 1_000_000)])
    replayed = read_since(tmp_path, 0).records
    assert [(r.timestamp, r.payload, r.qos, r.retain) for r in replayed] == [
        (1_795_732_789_123 / 1000, b"21.5", 0, False),
        (1_795_732_790_001 / 1000, b"22", 1, True),
        (1_795_732_790_500_001 / 1_000_000, record(0).payload, 0, False),
    ]
    # `since` finds the first line at or after it in either format
    assert read_since(tmp_path, T0 + 0.123).records[0].payload == b"21.5"
    assert len(read_since(tmp_path, T0 + 0.1231)) == 2
    assert len(read_since(tmp_path, T0 + 1.0011)) == 1
    assert parse_line(
        b"<134>1 2026-11-26T22:39:49.123Z pi iotitan 42 mqtt "
        b'[mqtt@32473 topic="room/t" qos="0" retain="0"] 21.5'
    ) == MqttRecord(1_795_732_789_123 / 1000, "room/t", b"21.5", 0, False)


async def test_replay_of_decimal_millisecond_times(tmp_path: Path) -> None:
    records = [record(index, when=T0 + index / 1000) for index in range(1, 1000, 7)]
    await write_journal(tmp_path, records)
    for index, item in enumerate(records):
        assert read_since(tmp_path, item.timestamp).records == records[index:]
    assert [r.timestamp for r in read_since(tmp_path, 0)] == [
        r.timestamp for r in records
    ]
    assert len(read_since(tmp_path, float("inf"))) == 0


async def test_replay_sorts_records_and_reads_foreign_rfc5424(tmp_path: Path) -> None:
    await write_journal(tmp_path, [record(5), record(3)])
    with (tmp_path / ACTIVE_FILE).open("ab") as file:
        # a relayed line: other header values, an extra SD element, an offset
        file.write(
            b'<14>1 2026-11-26T23:39:49.5+01:00 other app - - [origin ip="10.0.0.1"]'
            b'[mqtt@32473 retain="1" topic="relay\\\\x2fed" qos="2"] 7\n'
        )
    result = read_since(tmp_path, 0)
    assert [r.payload for r in result] == [b"3", b"7", b"5"]
    assert result.records[1] == MqttRecord(T0 + 0.5, "relay/ed", b"7", 2, True)


# -- parsing for import -----------------------------------------------------------------


def test_parse_our_line() -> None:
    line, _ = SyslogFormatter(hostname="pi").format(record(3))
    assert parse_line(line) == record(3)
    assert parse_line(line.decode() + "\n") == record(3)


def test_parse_legacy_lines() -> None:
    adelaide = ZoneInfo("Australia/Adelaide")
    parsed = parse_line(
        "Jan  5 07:09:49 raspberrypi mqtt_logger[812]: /ESP01/BME280/Temperature 23.45",
        year=2023,
        tz=adelaide,
    )
    expected_time = datetime.datetime(2023, 1, 5, 7, 9, 49, tzinfo=adelaide).timestamp()
    assert parsed == MqttRecord(
        expected_time, "/ESP01/BME280/Temperature", b"23.45", 0, False
    )
    # in January Adelaide is UTC+10:30
    assert (
        expected_time
        == datetime.datetime(2023, 1, 4, 20, 39, 49, tzinfo=datetime.UTC).timestamp()
    )

    # with a PRI, without a PID, with our escapes (as our legacy format writes them)
    parsed = parse_line(
        b"<134>Dec 31 23:59:59 pi mqtt_logger: a\\x20b 1\\n2",
        year=2022,
        tz=datetime.UTC,
    )
    assert isinstance(parsed, MqttRecord)
    assert (parsed.topic, parsed.payload) == ("a b", b"1\n2")
    assert (
        parsed.timestamp
        == datetime.datetime(2022, 12, 31, 23, 59, 59, tzinfo=datetime.UTC).timestamp()
    )

    # rsyslog's RFC 3339 file format
    parsed = parse_line("2023-06-01T12:00:00.250+09:30 pi mqtt_logger[1]: t/x ON")
    assert isinstance(parsed, MqttRecord)
    assert (
        parsed.timestamp
        == datetime.datetime(
            2023, 6, 1, 2, 30, 0, 250000, tzinfo=datetime.UTC
        ).timestamp()
    )
    assert parsed.payload == b"ON"

    # a topic without payload
    parsed = parse_line("Feb 28 10:00:00 pi mqtt_logger[1]: t/empty", year=2023)
    assert isinstance(parsed, MqttRecord)
    assert (parsed.topic, parsed.payload) == ("t/empty", b"")


def test_round_trip_through_our_legacy_format() -> None:
    fmt = SyslogFormatter(hostname="pi", rfc3164=True, tz=datetime.UTC)
    for index, payload in enumerate(HOSTILE_PAYLOADS):
        original = MqttRecord(T0 + index, "odd topic/é", payload, 0, False)
        line, _ = fmt.format(original)
        assert parse_line(line, year=2026, tz=datetime.UTC) == original


@pytest.mark.parametrize(
    ("line", "kwargs", "reason"),
    [
        ("", {}, journal_module.REASON_EMPTY),
        ("   \n", {}, journal_module.REASON_EMPTY),
        ("hello world", {}, journal_module.REASON_NOT_SYSLOG),
        (
            "Jan  5 07:09:49 pi sshd[1]: Accepted",
            {"year": 2023},
            journal_module.REASON_OTHER_TAG,
        ),
        (
            "Jan  5 07:09:49 pi mqtt_logger[1]: t 1",
            {},
            journal_module.REASON_NEEDS_YEAR,
        ),
        (
            "Feb 30 07:09:49 pi mqtt_logger[1]: t 1",
            {"year": 2023},
            journal_module.REASON_BAD_TIMESTAMP,
        ),
        (
            "Foo  5 07:09:49 pi mqtt_logger[1]: t 1",
            {"year": 2023},
            journal_module.REASON_BAD_TIMESTAMP,
        ),
        (
            "Jan  5 07:09:49 pi mqtt_logger[1]:  1",
            {"year": 2023},
            journal_module.REASON_NO_TOPIC,
        ),
        (
            "2023-13-01T00:00:00Z pi mqtt_logger[1]: t 1",
            {},
            journal_module.REASON_BAD_TIMESTAMP,
        ),
        (
            "<134>1 - pi app - - - no structured data",
            {},
            journal_module.REASON_NO_MQTT_SD,
        ),
        (
            '<134>1 2026-01-01T00:00:00Z pi app - - [other@1 a="b"] x',
            {},
            journal_module.REASON_NO_MQTT_SD,
        ),
        (
            '<134>1 - pi app - - [mqtt@32473 topic="t"] x',
            {},
            journal_module.REASON_BAD_TIMESTAMP,
        ),
        (
            '<134>1 2026-01-01T00:00:00 pi app - - [mqtt@32473 topic="t"] x',
            {},
            journal_module.REASON_BAD_TIMESTAMP,
        ),
        ("<134>1 broken", {}, journal_module.REASON_NOT_SYSLOG),
    ],
)
def test_parse_reasons(line: str, kwargs: dict[str, Any], reason: str) -> None:
    assert parse_line(line, **kwargs) == reason


def test_parse_any_tag_and_generic_defaults() -> None:
    parsed = parse_line("Jan  5 07:09:49 pi other[1]: t 1", year=2023, tag=None)
    assert isinstance(parsed, MqttRecord)
    parsed = parse_line(
        '<134>1 2026-01-01T00:00:00Z pi app - - [mqtt@32473 topic="t" qos="x"]'
    )
    assert parsed == MqttRecord(1_767_225_600.0, "t", b"", 0, False)


async def test_fsync_option(tmp_path: Path) -> None:
    await write_journal(tmp_path, [record(1), record(2)], fsync=True)
    assert read_since(tmp_path, 0).records == [record(1), record(2)]


async def test_stop_with_a_failing_disk_counts_the_loss(tmp_path: Path) -> None:
    (tmp_path / ACTIVE_FILE).mkdir()
    writer = make_writer(tmp_path)
    await writer.start()
    for index in range(3):
        writer.submit(record(index))
    await writer.stop()
    stats = writer.stats
    assert stats.dropped == {"shutdown": 3}
    assert stats.write_errors >= 1
    assert stats.buffered == 0


async def test_replay_skips_impossible_timestamps(tmp_path: Path) -> None:
    await write_journal(tmp_path, [record(1)])
    good = lines_of(tmp_path / ACTIVE_FILE)[0]
    bad = good.replace(b"2026-11-26T", b"2026-13-45T")
    with (tmp_path / ACTIVE_FILE).open("ab") as file:
        file.write(bad + b"\n" + good.replace(b"] 1", b"] 2") + b"\n")
    result = read_since(tmp_path, 0)
    assert [r.payload for r in result] == [b"1", b"2"]
    assert result.skipped == 1
    assert parse_line(bad) == journal_module.REASON_BAD_TIMESTAMP


async def test_many_topics(tmp_path: Path) -> None:
    records = [
        MqttRecord(T0 + i / 8, f"topic/{i}", b"1", 0, False) for i in range(5000)
    ]
    await write_journal(tmp_path, records)
    assert read_since(tmp_path, 0).records == records


async def test_retention_failure_does_not_rewrite_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(path: Path) -> float:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(journal_module, "_newest_stamp", unreadable)
    writer = make_writer(tmp_path, max_file_bytes=300)
    await writer.start()
    for index in range(10):
        writer.submit(record(index))
    await writer.flush()
    stats = writer.stats
    assert stats.last_error and stats.last_error.startswith("retention")
    assert (stats.records_written, stats.buffered, stats.write_errors) == (10, 0, 0)
    await writer.stop()
    msgs = [parse_rfc5424(x)["msg"] for x in all_lines(tmp_path)]
    assert msgs == [b"%d" % i for i in range(10)]


def test_replay_with_extreme_since(tmp_path: Path) -> None:
    line, _ = SyslogFormatter(hostname="pi").format(record(1))
    (tmp_path / ACTIVE_FILE).write_bytes(line + b"\n")
    assert len(read_since(tmp_path, 1e300)) == 0
    assert len(read_since(tmp_path, float("nan"))) == 1
    assert len(read_since(tmp_path, -1.0)) == 1


# -- replay of a journal with unreadable files --------------------------------------


async def three_files(directory: Path) -> tuple[list[MqttRecord], list[Path]]:
    """A journal of about three files, newest first, and its records."""
    records = [record(index) for index in range(60)]
    await write_journal(directory, records, max_file_bytes=2500)
    files = journal_files(directory)
    assert len(files) >= 3
    return records, files


def records_of(path: Path) -> list[MqttRecord]:
    parsed = [parse_line(line) for line in lines_of(path)]
    assert all(isinstance(item, MqttRecord) for item in parsed)
    return parsed  # type: ignore[return-value]


async def test_replay_skips_a_directory_in_place_of_a_file(tmp_path: Path) -> None:
    """A folder named like a rotated file: the rest is read, the folder reported."""
    records, files = await three_files(tmp_path)
    middle = files[1]
    lost = records_of(middle)
    middle.unlink()
    middle.mkdir()
    result = read_since(tmp_path, 0)
    assert result.records == [item for item in records if item not in lost]
    assert [(item.path, item.error) for item in result.unreadable] == [
        (middle, os.strerror(errno.EISDIR))
    ]
    assert result.files_read == len(files) - 1


@pytest.mark.parametrize(
    ("error", "where"),
    [
        (errno.EACCES, "open"),  # permission denied (root ignores chmod 000)
        (errno.EIO, "open"),
        (errno.EIO, "read"),  # a failing disk in the middle of the file
        (errno.ESTALE, "read"),  # removed on a network share while being read
    ],
)
async def test_replay_skips_a_file_that_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: int, where: str
) -> None:
    """An OSError opening or reading one file skips that file only."""
    records, files = await three_files(tmp_path)
    bad = files[0]  # the active file: the newest records
    lost = records_of(bad)
    real_open = Path.open

    class FailingFile:
        def __enter__(self) -> FailingFile:
            return self

        def __exit__(self, *args: object) -> None:
            return None

        def read(self, *args: object) -> bytes:
            raise OSError(error, os.strerror(error))

        def close(self) -> None:
            return None

    def fake_open(path: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if path == bad:
            if where == "open":
                raise OSError(error, os.strerror(error), str(path))
            return FailingFile()
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", fake_open)
    result = read_since(tmp_path, 0)
    assert result.records == [item for item in records if item not in lost]
    assert len(result.unreadable) == 1
    assert result.unreadable[0].path == bad
    assert result.unreadable[0].error == os.strerror(error)


async def test_replay_of_a_file_removed_while_open_or_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Removed after opening: still read whole; removed before (retention): silent."""
    records, files = await three_files(tmp_path)
    newest = records_of(files[0])
    real_open = Path.open

    def unlink_after_open(
        path: Path, mode: str = "r", *args: Any, **kwargs: Any
    ) -> Any:
        file = real_open(path, mode, *args, **kwargs)
        if path == files[0]:
            path.unlink()
        return file

    monkeypatch.setattr(Path, "open", unlink_after_open)
    result = read_since(tmp_path, 0)
    assert result.records == records
    assert result.unreadable == ()
    # Now files are gone before the replay opens them, as retention deletes
    # between listing and reading: their records went with them, nothing to
    # report (retention deletes only what is older than the horizon).
    oldest = records_of(files[-1])
    files[-1].unlink()
    monkeypatch.setattr(journal_module, "journal_files", lambda directory: files)
    result = read_since(tmp_path, 0)
    gone = newest + oldest
    assert result.records == [item for item in records if item not in gone]
    assert result.unreadable == ()


async def test_replay_of_a_journal_folder_that_is_a_file(tmp_path: Path) -> None:
    """The journal's folder itself unreadable: no records, the folder reported."""
    directory = tmp_path / "journal"
    directory.write_bytes(b"not a folder")
    result = read_since(directory, 0)
    assert result.records == []
    assert [(item.path, item.error) for item in result.unreadable] == [
        (directory, os.strerror(errno.ENOTDIR))
    ]


# -- flushing by size, from the submit path ------------------------------------------


class ManualRunner:
    """A `run_blocking` that runs jobs only when the test says (inline if `auto`)."""

    def __init__(self) -> None:
        self.auto = True
        self.jobs: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []

    def __call__(self, func: Callable[[], Any]) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.auto:
            future.set_result(func())
        else:
            self.jobs.append((func, future))
        return future

    def run_next(self) -> None:
        func, future = self.jobs.pop(0)
        future.set_result(func())


async def test_full_batches_are_handed_over_from_submit(tmp_path: Path) -> None:
    """A full batch starts a write at once; one writer at a time, all in order."""
    runner = ManualRunner()
    writer = make_writer(tmp_path, flush_records=1000, run_blocking=runner)
    await writer.start()  # the timer is an hour away
    runner.auto = False
    for index in range(999):
        writer.submit(record(index))
    assert runner.jobs == []  # below both triggers: nothing yet
    for index in range(999, 3500):
        writer.submit(record(index))
    # Three full batches were handed over while the loop never turned, yet
    # only one writer job exists: later batches queue behind it.
    assert len(runner.jobs) == 1
    assert writer.stats.size_flushes == 3
    assert writer.stats.buffered == 3500
    runner.run_next()  # the one job writes every batch handed over, in order
    assert writer.stats.records_written == 3000
    assert writer.stats.buffered == 500
    for index in range(3500, 4000):
        writer.submit(record(index))  # the batch is full again: a new job
    assert len(runner.jobs) == 1
    runner.run_next()
    await writer.stop()
    msgs = [parse_rfc5424(x)["msg"] for x in lines_of(tmp_path / ACTIVE_FILE)]
    assert msgs == [b"%d" % i for i in range(4000)]
    assert writer.stats.dropped == {}


async def test_large_payloads_trigger_by_bytes(tmp_path: Path) -> None:
    runner = ManualRunner()
    writer = make_writer(tmp_path, flush_bytes=10_000, run_blocking=runner)
    await writer.start()
    runner.auto = False
    writer.submit(record(0, payload=b"x" * 6_000))
    assert runner.jobs == []
    writer.submit(record(1, payload=b"y" * 6_000))
    assert len(runner.jobs) == 1
    runner.run_next()
    assert writer.stats.records_written == 2
    await writer.stop()


async def test_an_old_batch_is_handed_over_by_the_next_submit(tmp_path: Path) -> None:
    """The age trigger needs no timer: the next record checks the batch's age."""
    runner = ManualRunner()
    writer = make_writer(tmp_path, flush_interval=3600, run_blocking=runner)
    await writer.start()
    runner.auto = False
    writer.submit(record(0))
    assert runner.jobs == []
    writer._buffer_since -= 3600  # as if the loop had been busy for an hour
    writer.submit(record(1))
    assert len(runner.jobs) == 1
    runner.run_next()
    assert writer.stats.records_written == 2
    await writer.stop()


async def test_a_failing_disk_is_retried_by_the_timer_only(tmp_path: Path) -> None:
    runner = ManualRunner()
    blocker = tmp_path / ACTIVE_FILE
    writer = make_writer(tmp_path, flush_records=10, run_blocking=runner)
    await writer.start()
    blocker.mkdir()
    runner.auto = False
    for index in range(10):
        writer.submit(record(index))
    runner.run_next()
    assert writer.stats.write_errors == 1
    for index in range(10, 50):
        writer.submit(record(index))
    assert runner.jobs == []  # no new write per record while the disk fails
    assert writer.stats.buffered == 50
    blocker.rmdir()
    runner.auto = True
    await writer.flush()  # the timed flush
    await writer.stop()
    msgs = [parse_rfc5424(x)["msg"] for x in lines_of(blocker)]
    assert msgs == [b"%d" % i for i in range(50)]


async def test_a_busy_loop_still_gets_records_on_disk(tmp_path: Path) -> None:
    """While the event loop never yields, full batches are written all the same.

    The loop is kept busy on purpose (a blocking wait in the loop thread, as a
    burst of messages delivered in one go would): no timer and no callback
    can run, so whatever reaches the disk was started from `submit` itself.
    """
    with ThreadPoolExecutor(max_workers=1) as executor:
        writer = make_writer(tmp_path, flush_records=100, executor=executor)
        await writer.start()
        for index in range(1050):
            writer.submit(record(index))
        deadline = time.monotonic() + 30
        while writer.stats.records_written < 1000:  # never yields to the loop
            assert time.monotonic() < deadline, (
                "nothing written while the loop was busy"
            )
            time.sleep(0.01)  # noqa: ASYNC251 - blocking the loop is the point
        assert writer.stats.records_written == 1000
        await writer.stop()
    msgs = [parse_rfc5424(x)["msg"] for x in lines_of(tmp_path / ACTIVE_FILE)]
    assert msgs == [b"%d" % i for i in range(1050)]
