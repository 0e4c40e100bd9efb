"""The local journal: every MQTT record, one RFC 5424 line each, in rotating files.

Files in the journal directory (the HA layer uses ``<config>/iotitan/<entry id>/``):

    journal.log          the file being written
    journal.000001.log   rotated files; a higher number is newer (names never change
    journal.000002.log   once written, so a reader never sees a file renamed under it)

A line is exactly what `SyslogFormatter` (RFC 5424 mode) produces, plus ``\\n``.
`JournalWriter` appends in batches from an executor, rotates by size and deletes
rotated files whose newest record is older than the keep-horizon. `read_since`
replays the newest records, reading files newest first and only as far back as
needed. `parse_line` reads one line of ours, a generic RFC 5424 line carrying our
``mqtt@32473`` element, or a legacy ``mqtt_logger`` line (RFC 3164 or rsyslog's
file formats), for importing old syslog files.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping
from concurrent.futures import Executor
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
import functools
import itertools
import logging
import math
import operator
import os
from pathlib import Path
import re
import time
from typing import Final, Protocol

from .record import (
    MqttRecord,
    fast_record,
    split_truncation_marker,
    to_millis,
    unescape,
)
from .syslog import SD_ID, SyslogFormatter

__all__ = [
    "ACTIVE_FILE",
    "JOURNAL_MAX_PAYLOAD",
    "BlockingRunner",
    "JournalStats",
    "JournalWriter",
    "ReplayResult",
    "journal_files",
    "parse_line",
    "read_since",
]

_LOGGER = logging.getLogger(__name__)

ACTIVE_FILE: Final = "journal.log"
_ROTATED_RE: Final = re.compile(r"journal\.(\d+)\.log")
_FILE_MODE: Final = 0o640

JOURNAL_MAX_PAYLOAD: Final = 1024 * 1024
"""The journal keeps payloads whole up to 1 MiB (the largest *Largest payload
logged in full* allows); a longer one is cut with the marker and counted. The
bound is for memory: a journal line is buffered until the next flush and read
back whole at replay, and escaping can make it four times the payload."""

DROP_BUFFER_OVERFLOW: Final = "buffer_overflow"
DROP_FORMAT_ERROR: Final = "format_error"
DROP_SHUTDOWN: Final = "shutdown"


# -- files ---------------------------------------------------------------------


def _rotated(directory: Path) -> list[tuple[int, Path]]:
    """Rotated files as (sequence number, path), oldest first."""
    try:
        paths = list(directory.iterdir())
    except FileNotFoundError:
        return []
    found = []
    for path in paths:
        match = _ROTATED_RE.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path))
    found.sort()
    return found


def journal_files(directory: str | os.PathLike[str]) -> list[Path]:
    """The journal's files, newest first (the active file, then rotated ones)."""
    directory = Path(directory)
    files = [path for _, path in reversed(_rotated(directory))]
    active = directory / ACTIVE_FILE
    if active.exists():
        files.insert(0, active)
    return files


# -- parsing -------------------------------------------------------------------

_BOM: Final = b"\xef\xbb\xbf"
_SD_UNESCAPE_RE: Final = re.compile(rb'\\([\\"\]])')
_STAMP_LEN: Final = 24  # 2026-11-26T22:39:49.123Z


_YEAR_10000: Final = 253_402_300_800.0


def _stamp_key(when: float) -> bytes:
    """`when` as our line's timestamp (ms, rounded down): compares like the time."""
    if math.isnan(when) or when < 0:
        return b""
    if when >= _YEAR_10000:  # also +inf
        return b"\xff"
    second, millis = divmod(to_millis(when), 1000)
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)) + f".{millis:03d}Z"
    ).encode()


# One of our lines (the journal's own format), newline included. Header fields
# are PRINTUSASCII; the topic value never holds '"' (the formatter escapes it).
_OURS_RE: Final = re.compile(
    rb"^<\d{1,3}>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z"
    rb" [!-~]+ [!-~]+ [!-~]+ [!-~]+"
    rb" \["
    + re.escape(SD_ID.encode())
    + rb' topic="([^"\n]*)" qos="(\d)" retain="([01])"\]'
    rb"(?: (?:\xef\xbb\xbf)?([^\n]*))?\n",  # MSG, without its BOM if it has one
    re.MULTILINE,
)
_FIRST_STAMP_RE: Final = re.compile(
    rb"^<\d{1,3}>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ", re.MULTILINE
)


class _Parser:
    """Parses our journal lines fast, with small caches (one per replay)."""

    __slots__ = ("_second", "_second_ms", "_topics")

    def __init__(self) -> None:
        self._second = b""
        self._second_ms = 0
        self._topics: dict[bytes, str] = {}

    def second_ms(self, second: bytes) -> int:
        """``2026-11-26T22:39:49`` (UTC) to POSIX milliseconds; ValueError if bad."""
        if second != self._second:
            if not (second.isascii() and len(second) == 19):
                raise ValueError("not a timestamp")
            when = datetime.fromisoformat(second.decode()).replace(tzinfo=UTC)
            self._second_ms = int(when.timestamp()) * 1000
            self._second = second
        return self._second_ms

    def stamp(self, stamp: bytes) -> float:
        """``2026-11-26T22:39:49.123Z`` to POSIX seconds; ValueError if it is not."""
        if len(stamp) != _STAMP_LEN or stamp[19:20] != b"." or stamp[23:] != b"Z":
            raise ValueError("not a timestamp")
        millis = stamp[20:23]
        if not millis.isdigit():
            raise ValueError("not a timestamp")
        return (self.second_ms(stamp[:19]) + int(millis)) / 1000

    def topic(self, raw: bytes) -> str:
        topic = self._topics.get(raw)
        if topic is None:
            if len(self._topics) >= 4096:
                self._topics.clear()
            topic = unescape(_SD_UNESCAPE_RE.sub(rb"\1", raw)).decode(
                "utf-8", "surrogateescape"
            )
            self._topics[raw] = topic
        return topic

    def parse(
        self, data: bytes, start: int, since_ms: int, out: list[MqttRecord]
    ) -> int:
        """Append the records in `data[start:]` at or after `since_ms` to `out`.

        The replay's hot path: the regular expression scans the buffer in C, and
        Python only assembles each record (time from a one-entry cache of the
        last second, topic from a dict). Lines that are not ours go through the
        generic RFC 5424 parser; return how many lines could not be parsed.
        """
        skipped = 0
        position = start
        topics = self._topics
        append = out.append
        for match in _OURS_RE.finditer(data, start):
            if match.start() != position:
                skipped += self._foreign(data[position : match.start()], since_ms, out)
            position = match.end()
            second, millis, raw_topic, qos, retain, msg = match.groups()
            try:
                when_ms = (
                    self._second_ms
                    if second == self._second
                    else self.second_ms(second)
                ) + int(millis)
            except ValueError:
                skipped += 1
                continue
            if when_ms < since_ms:
                continue
            if msg is None:
                msg = b""
            elif b"\\" in msg:
                msg = _payload(msg)
            topic = topics.get(raw_topic)
            if topic is None:
                topic = self.topic(raw_topic)
            append(fast_record(when_ms / 1000, topic, msg, qos[0] - 48, retain == b"1"))
        if position < len(data):
            skipped += self._foreign(data[position:], since_ms, out)
        return skipped

    @staticmethod
    def _foreign(segment: bytes, since_ms: int, out: list[MqttRecord]) -> int:
        """Lines between ours: generic RFC 5424 with our SD element, or garbage."""
        skipped = 0
        for line in segment.split(b"\n"):
            if not line.strip():
                continue
            record = _parse_generic_5424(line)
            if isinstance(record, str):
                skipped += 1
            elif record.timestamp * 1000 >= since_ms:
                out.append(record)
        return skipped


def _payload(msg: bytes) -> bytes:
    """MSG bytes (escaped, maybe with a BOM and a truncation marker) to payload."""
    if msg.startswith(_BOM):
        msg = msg[3:]
    if b"\\" not in msg:
        return msg
    if msg.endswith(b" bytes]"):
        text, _ = split_truncation_marker(msg.decode("utf-8", "surrogateescape"))
        msg = text.encode("utf-8", "surrogateescape")
    return unescape(msg)


# Generic RFC 5424: header, then SD elements (values escape '"', '\' and ']').
_RFC5424_RE: Final = re.compile(
    rb"<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[[^\]\"\\ ]+(?: [^= \]\"]+=\"(?:[^\"\\\]]|\\.)*\")*\])+)(?: (.*))?\Z",
    re.DOTALL,
)
_SD_ELEMENT_RE: Final = re.compile(
    rb"\[([^\]\" ]+)((?: [^= \]\"]+=\"(?:[^\"\\\]]|\\.)*\")*)\]", re.DOTALL
)
_SD_PARAM_RE: Final = re.compile(rb" ([^= \]\"]+)=\"((?:[^\"\\\]]|\\.)*)\"", re.DOTALL)

_LEGACY_RE: Final = re.compile(
    r"(?:<\d{1,3}>)?"
    r"(?:(?P<mon>[A-Z][a-z]{2}) (?P<day>[ \d]\d) (?P<hms>\d\d:\d\d:\d\d)"
    r"|(?P<iso>\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)))"
    r" (?P<host>\S+) (?P<tag>[^\s\[:]+)(?:\[(?P<pid>[^\]]*)\])?: (?P<msg>.*)\Z",
    re.DOTALL,
)
_MONTH_NUMBERS: Final = {
    name: number
    for number, name in enumerate(
        (
            "Jan",
            "Feb",
            "Mar",
            "Apr",
            "May",
            "Jun",
            "Jul",
            "Aug",
            "Sep",
            "Oct",
            "Nov",
            "Dec",
        ),
        start=1,
    )
}

REASON_EMPTY: Final = "empty line"
REASON_NOT_SYSLOG: Final = "not a syslog line"
REASON_NO_MQTT_SD: Final = f"no {SD_ID} element with a topic"
REASON_BAD_TIMESTAMP: Final = "bad timestamp"
REASON_OTHER_TAG: Final = "not a line of the expected program"
REASON_NEEDS_YEAR: Final = "a legacy line needs the year"
REASON_NO_TOPIC: Final = "no topic"


def _parse_iso(text: str) -> float | str:
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return REASON_BAD_TIMESTAMP
    if stamp.tzinfo is None:
        return REASON_BAD_TIMESTAMP
    return stamp.timestamp()


def _parse_generic_5424(line: bytes) -> MqttRecord | str:
    match = _RFC5424_RE.match(line)
    if match is None:
        return REASON_NOT_SYSLOG
    params: dict[bytes, bytes] | None = None
    for element in _SD_ELEMENT_RE.finditer(match.group(7)):
        if element.group(1) == SD_ID.encode():
            params = {
                name: _SD_UNESCAPE_RE.sub(rb"\1", value)
                for name, value in _SD_PARAM_RE.findall(element.group(2))
            }
            break
    if params is None or b"topic" not in params:
        return REASON_NO_MQTT_SD
    when = _parse_iso(match.group(2).decode("ascii", "replace"))
    if isinstance(when, str):
        return when
    qos = params.get(b"qos", b"0")
    retain = params.get(b"retain", b"0")
    return MqttRecord(
        when,
        unescape(params[b"topic"]).decode("utf-8", "surrogateescape"),
        _payload(match.group(8) or b""),
        int(qos) if qos.isdigit() else 0,
        retain in (b"1", b"true"),
    )


def _parse_legacy(
    line: bytes, year: int | None, tz: tzinfo, tag: str | None
) -> MqttRecord | str:
    match = _LEGACY_RE.match(line.decode("utf-8", "surrogateescape"))
    if match is None:
        return REASON_NOT_SYSLOG
    if tag is not None and match.group("tag") != tag:
        return REASON_OTHER_TAG
    if match.group("iso"):
        when = _parse_iso(match.group("iso"))
        if isinstance(when, str):
            return when
    else:
        if year is None:
            return REASON_NEEDS_YEAR
        month = _MONTH_NUMBERS.get(match.group("mon"))
        hour, minute, second = (int(part) for part in match.group("hms").split(":"))
        try:
            if month is None:
                raise ValueError(match.group("mon"))
            when = datetime(
                year, month, int(match.group("day")), hour, minute, second, tzinfo=tz
            ).timestamp()
        except ValueError:
            return REASON_BAD_TIMESTAMP
    topic, _, msg = match.group("msg").partition(" ")
    if not topic:
        return REASON_NO_TOPIC
    return MqttRecord(
        when,
        unescape(topic).decode("utf-8", "surrogateescape"),
        _payload(msg.encode("utf-8", "surrogateescape")),
        0,
        False,
    )


def parse_line(
    line: str | bytes,
    *,
    year: int | None = None,
    tz: tzinfo = UTC,
    tag: str | None = "mqtt_logger",
) -> MqttRecord | str:
    """Parse one logged line into a record, or return why it is not one.

    Understands our journal/syslog lines, any RFC 5424 line carrying an
    ``mqtt@32473`` element with a ``topic``, and legacy lines of the old scripts:
    ``[<PRI>]Mmm dd hh:mm:ss host mqtt_logger[PID]: <topic> <payload>`` (local time
    in `tz`, in the given `year`; rsyslog's RFC 3339 file timestamps are read too).
    `tag` (None: any) is the program name a legacy line must carry. Escapes in the
    topic and payload are undone (plain payloads have none). QoS and retain of a
    legacy line are not known: 0 and False.
    """
    data = line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line
    data = data.rstrip(b"\r\n")
    if not data.strip():
        return REASON_EMPTY
    if data.startswith(b"<"):
        version_at = data.find(b">")
        if 0 < version_at <= 4 and data[version_at + 1 : version_at + 3] == b"1 ":
            records: list[MqttRecord] = []
            _Parser().parse(data + b"\n", 0, -(2**63), records)
            return records[0] if records else _parse_generic_5424(data)
    return _parse_legacy(data, year, tz, tag)


# -- replay --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What `read_since` found: records oldest first, and what it skipped."""

    records: list[MqttRecord]
    skipped: int
    """Lines that could not be parsed (torn last line after a crash, garbage)."""
    files_read: int

    def __iter__(self) -> Iterator[MqttRecord]:
        """Iterate over the records."""
        return iter(self.records)

    def __len__(self) -> int:
        """The number of records."""
        return len(self.records)


def read_since(directory: str | os.PathLike[str], since: float) -> ReplayResult:
    """Records with a timestamp >= `since`, in time order (blocking: for an executor).

    Timestamps are kept to the millisecond, so `since` is compared rounded down to
    its millisecond. Files are read newest first; the first file whose first
    record is older than `since` is the last one read, and in it the lines before
    the first one at or after `since` are skipped by comparing timestamps as
    text. Lines of our own format are matched by one regular expression, not a
    general RFC 5424 parser; other RFC 5424 lines with our SD element are parsed
    generically; the rest are skipped and counted.
    """
    since_key = _stamp_key(since)
    if math.isnan(since) or since < 0:
        since_ms = -(2**63)
    elif since >= _YEAR_10000:
        since_ms = 2**63
    else:
        since_ms = to_millis(since)
    parser = _Parser()
    chunks: list[list[MqttRecord]] = []
    skipped = 0
    files_read = 0
    for path in journal_files(directory):
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # deleted by retention while we listed
            continue
        files_read += 1
        first = _FIRST_STAMP_RE.search(data)
        last_file = first is not None and first.group(1) < since_key
        start = _first_line_at_or_after(data, since_key) if last_file else 0
        records: list[MqttRecord] = []
        skipped += parser.parse(data, start, since_ms, records)
        chunks.append(records)
        if last_file:
            break
    result = list(itertools.chain.from_iterable(reversed(chunks)))
    result.sort(key=_TIMESTAMP)  # in order already, but for clock steps: linear
    return ReplayResult(result, skipped, files_read)


def _first_line_at_or_after(data: bytes, since_key: bytes) -> int:
    """Offset of the first line whose timestamp (as text) is >= `since_key`."""
    position = 0
    size = len(data)
    while position < size:
        end = data.find(b"\n", position)
        if end < 0:
            end = size
        space = data.find(b" ", position, end)
        if space >= 0 and data[space + 1 : space + 1 + _STAMP_LEN] >= since_key:
            return position
        position = end + 1
    return size


_TIMESTAMP: Final = operator.attrgetter("timestamp")


def _newest_stamp(path: Path) -> float | None:
    """The timestamp of the last parseable line of a journal file, if any."""
    with path.open("rb") as file:
        size = file.seek(0, os.SEEK_END)
        file.seek(max(0, size - 65536))
        tail = file.read()
    parser = _Parser()
    for line in reversed(tail.split(b"\n")):
        space = line.find(b" ")
        if 0 < space <= 7:
            with contextlib.suppress(ValueError):
                return parser.stamp(line[space + 1 : space + 1 + _STAMP_LEN])
    return None


# -- writing -------------------------------------------------------------------


class _PartialWrite(OSError):
    """Writing failed after the first `written` lines were stored."""

    def __init__(self, written: int, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause))
        self.written = written
        self.cause = cause


@dataclass(slots=True)
class _FlushResult:
    bytes_written: int = 0
    rotations: int = 0
    deleted: int = 0
    files: int | None = None
    """How many files the journal has, when it may have changed (else None)."""
    error: str | None = None
    """Retention or counting failed (the lines themselves were written)."""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _JournalFiles:
    """The blocking side: append, rotate, prune. Used from one executor job at a time."""

    def __init__(self, directory: Path, max_file_bytes: int, fsync: bool) -> None:
        self.directory = directory
        self.active = directory / ACTIVE_FILE
        self.max_file_bytes = max_file_bytes
        self.fsync = fsync

    def _open(self) -> int:
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC  # read: tail check
        try:
            return os.open(self.active, flags, _FILE_MODE)
        except FileNotFoundError:
            self.directory.mkdir(parents=True, exist_ok=True)
            return os.open(self.active, flags, _FILE_MODE)

    def _write_chunk(self, lines: list[bytes], start: int) -> tuple[int, bool, bool]:
        """Write lines from `start` into the active file until it is full.

        Return the index after the last line written, whether the file is full
        and whether it was empty (new) before.
        A failed write is cut back off the file, so a retry cannot duplicate lines
        or leave half a line.
        """
        fd = self._open()
        try:
            size = os.lseek(fd, 0, os.SEEK_END)
            prefix = b""
            if size and os.pread(fd, 1, size - 1) != b"\n":
                prefix = b"\n"  # a torn line from a crash: never glue onto it
            room = self.max_file_bytes - size
            end = start
            length = len(prefix)
            while end < len(lines) and (length < room or end == start):
                length += len(lines[end])
                end += 1
            data = prefix + b"".join(lines[start:end])
            try:
                _write_all(fd, data)
                if self.fsync:
                    os.fsync(fd)
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                raise
        finally:
            os.close(fd)
        return end, size + len(data) >= self.max_file_bytes, size == 0

    def rotate(self) -> None:
        rotated = _rotated(self.directory)
        sequence = rotated[-1][0] + 1 if rotated else 1
        self.active.replace(self.directory / f"journal.{sequence:06d}.log")

    def prune(self, horizon: float) -> int:
        """Delete rotated files whose newest record is older than `horizon`."""
        deleted = 0
        for _, path in _rotated(self.directory):
            try:
                newest = _newest_stamp(path)
                if newest is None:
                    newest = path.stat().st_mtime
                if newest >= horizon:
                    break  # this and all newer files are kept
                path.unlink()
            except FileNotFoundError:
                continue
            deleted += 1
        return deleted

    def count(self) -> int:
        return len(_rotated(self.directory)) + int(self.active.exists())

    def flush(self, lines: list[bytes], horizon: float, prune: bool) -> _FlushResult:
        """Append `lines`, rotating as files fill; prune if asked or rotated.

        `horizon`: rotated files whose newest record is older are deleted.
        """
        result = _FlushResult()
        start = 0
        created = False
        while start < len(lines):
            try:
                end, full, new = self._write_chunk(lines, start)
            except OSError as err:
                raise _PartialWrite(start, err) from err
            result.bytes_written += sum(map(len, lines[start:end]))
            created = created or new
            start = end
            if full:
                try:
                    self.rotate()
                except OSError as err:
                    raise _PartialWrite(start, err) from err
                result.rotations += 1
        # The lines are on disk now: a failure below must not make them be retried.
        try:
            if prune or result.rotations:
                result.deleted = self.prune(horizon)
            # Listing the directory costs more than the write itself: only
            # when files may have come or gone.
            if prune or result.rotations or created:
                result.files = self.count()
        except OSError as err:
            result.error = f"retention: {type(err).__name__}: {err}"
        return result


class BlockingRunner(Protocol):
    """Runs a blocking callable off the loop (``hass.async_add_executor_job`` fits)."""

    def __call__[T](self, func: Callable[[], T], /) -> Awaitable[T]:
        """Run `func` in a worker thread and return its result."""


@dataclass(frozen=True, slots=True)
class JournalStats:
    """A snapshot of a journal writer's counters."""

    records_written: int
    bytes_written: int
    files: int
    """Journal files on disk (after the last flush)."""
    rotations: int
    files_deleted: int
    write_errors: int
    buffered: int
    """Records waiting for the next flush."""
    truncated: int
    dropped: Mapping[str, int]
    """Records lost, by reason: buffer_overflow, format_error, shutdown."""
    last_error: str | None


class JournalWriter:
    """Append records to the journal in batches, off the event loop."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        keep_seconds: float,
        formatter: SyslogFormatter | None = None,
        max_file_bytes: int = 16 * 1024 * 1024,
        flush_interval: float = 1.0,
        fsync: bool = False,
        max_buffered: int = 100_000,
        max_buffered_bytes: int = 64 * 1024 * 1024,
        retention_interval: float = 3600.0,
        executor: Executor | None = None,
        run_blocking: BlockingRunner | None = None,
    ) -> None:
        """Configure; nothing touches the disk until `start`.

        `keep_seconds`: rotated files whose newest record is older than this many
        seconds are deleted (pass max(retention, longest window)); checked at
        start, after each rotation and every `retention_interval` seconds.
        Blocking work runs through `run_blocking` if given, else
        ``loop.run_in_executor(executor, ...)`` (None: the loop's default executor).
        A write error is counted and retried at the next flush; up to
        `max_buffered` records (`max_buffered_bytes` bytes) wait meanwhile, the
        oldest are dropped beyond that.
        """
        if max_file_bytes < 1 or max_buffered < 1 or max_buffered_bytes < 1:
            raise ValueError("sizes must be positive")
        formatter = formatter or SyslogFormatter(max_payload=JOURNAL_MAX_PAYLOAD)
        if formatter.rfc3164:
            raise ValueError("the journal is written in RFC 5424 format only")
        if formatter.max_record is not None:
            raise ValueError("the journal keeps whole records: no max_record")
        self.directory = Path(directory)
        self.formatter = formatter
        self.keep_seconds = keep_seconds
        self.flush_interval = flush_interval
        self.retention_interval = retention_interval
        self._files = _JournalFiles(self.directory, max_file_bytes, fsync)
        self._max_buffered = max_buffered
        self._max_buffered_bytes = max_buffered_bytes
        self._executor = executor
        self._run_blocking = run_blocking

        self._buffer: list[bytes] = []
        self._buffer_bytes = 0
        self._wakeup = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._next_prune = 0.0  # monotonic; 0 = at the first flush

        self._records_written = 0
        self._bytes_written = 0
        self._file_count = 0
        self._rotations = 0
        self._deleted = 0
        self._write_errors = 0
        self._truncated = 0
        self._dropped: dict[str, int] = {}
        self._last_error: str | None = None

    def submit(self, record: MqttRecord) -> None:
        """Buffer one record for the next flush; never blocks, never raises."""
        if self._closing:
            self._drop(DROP_SHUTDOWN)
            return
        try:
            message, truncated = self.formatter.format(record)
        except Exception as err:  # a bad record must not break the caller
            self._drop(DROP_FORMAT_ERROR)
            self._last_error = f"format: {err!r}"
            return
        if truncated:
            self._truncated += 1
        line = message + b"\n"
        self._buffer.append(line)
        self._buffer_bytes += len(line)
        if (
            len(self._buffer) > self._max_buffered
            or self._buffer_bytes > self._max_buffered_bytes
        ):
            self._trim()

    def _trim(self) -> None:
        buffer = self._buffer
        excess = 0
        size = self._buffer_bytes
        while len(buffer) - excess > 1 and (
            len(buffer) - excess > self._max_buffered or size > self._max_buffered_bytes
        ):
            size -= len(buffer[excess])
            excess += 1
        if excess:
            del buffer[:excess]
            self._buffer_bytes = size
            self._drop(DROP_BUFFER_OVERFLOW, excess)

    def _drop(self, reason: str, count: int = 1) -> None:
        self._dropped[reason] = self._dropped.get(reason, 0) + count

    @property
    def stats(self) -> JournalStats:
        """A snapshot of the counters."""
        return JournalStats(
            records_written=self._records_written,
            bytes_written=self._bytes_written,
            files=self._file_count,
            rotations=self._rotations,
            files_deleted=self._deleted,
            write_errors=self._write_errors,
            buffered=len(self._buffer),
            truncated=self._truncated,
            dropped=dict(self._dropped),
            last_error=self._last_error,
        )

    async def _run_job[T](self, func: Callable[[], T]) -> T:
        if self._run_blocking is not None:
            return await self._run_blocking(func)
        return await asyncio.get_running_loop().run_in_executor(self._executor, func)

    async def start(self) -> None:
        """Prune old files and start flushing every `flush_interval` seconds."""
        if self._task is not None:
            return
        self._closing = False
        self._next_prune = 0.0
        await self.flush()
        self._task = asyncio.create_task(
            self._run(), name=f"iotitan journal {self.directory}"
        )

    async def stop(self) -> None:
        """Flush what is buffered and stop; records that cannot be written are counted."""
        task = self._task
        if task is not None:
            self._closing = True
            self._wakeup.set()
            await asyncio.wait({task})  # it ends after its current flush
            self._task = None
        self._closing = True
        await self.flush()
        if self._buffer:
            self._drop(DROP_SHUTDOWN, len(self._buffer))
            self._buffer.clear()
            self._buffer_bytes = 0

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_interval):
                    await self._wakeup.wait()
            await self.flush()

    async def flush(self) -> None:
        """Write what is buffered now (and prune if due); never raises."""
        async with self._lock:
            now = time.monotonic()
            prune = now >= self._next_prune
            if prune:
                self._next_prune = now + self.retention_interval
            if not self._buffer and not prune:
                return
            lines, self._buffer = self._buffer, []
            self._buffer_bytes = 0
            horizon = time.time() - self.keep_seconds
            job = functools.partial(self._files.flush, lines, horizon, prune)
            try:
                result = await self._run_job(job)
            except Exception as err:  # disk full, permissions, ...: retry next time
                written = err.written if isinstance(err, _PartialWrite) else 0
                cause = err.cause if isinstance(err, _PartialWrite) else err
                self._write_errors += 1
                if written:
                    self._records_written += written
                    self._bytes_written += sum(map(len, lines[:written]))
                text = f"{type(cause).__name__}: {cause}"
                if text != self._last_error:
                    _LOGGER.warning("Journal %s: %s", self.directory, text)
                self._last_error = text
                if prune:
                    self._next_prune = 0.0
                rest = lines[written:]
                self._buffer[:0] = rest
                self._buffer_bytes += sum(map(len, rest))
                self._trim()
                return
            self._records_written += len(lines)
            self._bytes_written += result.bytes_written
            self._rotations += result.rotations
            self._deleted += result.deleted
            if result.error is None:
                if result.files is not None:
                    self._file_count = result.files
            else:  # retried at the next retention interval
                if result.error != self._last_error:
                    _LOGGER.warning("Journal %s: %s", self.directory, result.error)
                self._last_error = result.error

    def set_keep_seconds(self, keep_seconds: float) -> None:
        """Change the keep-horizon (options changed); applied at the next flush."""
        self.keep_seconds = keep_seconds
        self._next_prune = 0.0
