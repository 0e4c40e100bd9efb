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
import bisect
from collections.abc import (
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from concurrent.futures import Executor
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
import gc
import itertools
import logging
import math
import operator
import os
from pathlib import Path
import re
import threading
import time
from typing import Any, BinaryIO, Final, Protocol

from .record import (
    MqttRecord,
    split_truncation_marker,
    to_micros,
    unescape,
)
from .syslog import SD_ID, SyslogFormatter

__all__ = [
    "ACTIVE_FILE",
    "JOURNAL_MAX_PAYLOAD",
    "REPLAY_BATCH",
    "BlockingRunner",
    "JournalPosition",
    "JournalReplay",
    "JournalStats",
    "JournalWriter",
    "ReplayResult",
    "UnreadableFile",
    "describe_os_error",
    "journal_files",
    "parse_line",
    "read_after",
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

POSITION_TAIL_BYTES: Final = 64
"""How many bytes before a `JournalPosition` it keeps, to recognise its file."""

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


@dataclass(frozen=True, slots=True)
class JournalPosition:
    """A place in the journal that survives rotation: a file and an offset in it.

    The file is known by its inode (rotation renames the active file, keeping
    its inode) and recognised by the bytes just before the offset (an inode can
    be reused once a pruned file is gone). ``inode == 0`` and ``offset == 0``:
    before every file (the journal was empty).
    """

    inode: int
    offset: int
    tail: bytes
    """The last `POSITION_TAIL_BYTES` bytes (or fewer) before `offset`."""


JOURNAL_START: Final = JournalPosition(0, 0, b"")


def _end_of(path: Path) -> JournalPosition:
    """Where the file `path` ends now (blocking)."""
    with path.open("rb") as file:
        stat = os.fstat(file.fileno())
        size = stat.st_size
        file.seek(max(0, size - POSITION_TAIL_BYTES))
        tail = file.read(POSITION_TAIL_BYTES)
    return JournalPosition(stat.st_ino, size, tail)


def journal_end(directory: str | os.PathLike[str]) -> JournalPosition:
    """Where the journal ends now: the end of its newest file (blocking)."""
    files = journal_files(directory)
    return _end_of(files[0]) if files else JOURNAL_START


# -- parsing -------------------------------------------------------------------

_BOM: Final = b"\xef\xbb\xbf"
_SD_UNESCAPE_RE: Final = re.compile(rb'\\([\\"\]])')
# Lines are stamped to the microsecond (2026-11-26T22:39:49.123456Z); journals
# written before 1.4 to the millisecond (2026-11-26T22:39:49.123Z). Both share
# the first 23 characters, to the millisecond: lines are compared as text on
# those, then by their exact time.
_KEY_LEN: Final = 23  # 2026-11-26T22:39:49.123


_YEAR_10000: Final = 253_402_300_800.0


def _stamp_key(when: float) -> bytes:
    """`when` to the millisecond (rounded down) as a line's stamp starts."""
    if math.isnan(when) or when < 0:
        return b""
    if when >= _YEAR_10000:  # also +inf
        return b"\xff"
    second, micros = divmod(to_micros(when), 1_000_000)
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        + f".{micros // 1000:03d}"
    ).encode()


# An SD-PARAM value as the generic parser below reads it: '"', '\\' and ']'
# appear only escaped (written unrolled: sre runs through plain bytes in one loop).
_SD_VALUE: Final = rb'[^"\\\]]*(?:\\.[^"\\\]]*)*'
# One of our lines (the journal's own format), newline included. Header fields
# are PRINTUSASCII; the topic value holds no '"' (the formatter escapes it).
# Groups: the second, its fraction, the SD element's parameters (one dictionary
# key for topic, qos and retain, checked against `_SD_VALUE` once per distinct
# key), the MSG without its BOM if it has one. A line matched here whose
# parameters pass that check gives what `_parse_generic_5424` gives (the tests
# check that on generated and damaged lines); the rest go to that parser.
_OURS_RE: Final = re.compile(
    rb"^<\d{1,3}>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6}|\d{3})Z"
    rb" [!-~]+ [!-~]+ [!-~]+ [!-~]+"
    rb" \["
    + re.escape(SD_ID.encode())
    + rb' (topic="[^"\n]*" qos="\d" retain="[01]")\]'
    rb"(?: (?:\xef\xbb\xbf)?([^\n]*))?\n",
    re.MULTILINE,
)
_PARAMS_RE: Final = re.compile(
    rb'topic="(' + _SD_VALUE + rb')" qos="(\d)" retain="([01])"', re.DOTALL
)
_FIRST_STAMP_RE: Final = re.compile(
    rb"^<\d{1,3}>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})(?:\d{3})?Z ",
    re.MULTILINE,
)
# Lines are parsed in chunks of about this many bytes: one regular expression
# call returns every line of a chunk, and a chunk holding a line that is not
# ours (garbage, a foreign line, a stamp or SD parameters the fast path
# declines) is parsed again line by line: one bad line costs its chunk a second
# pass.
_CHUNK_BYTES: Final = 256 * 1024
_CACHE_SIZE: Final = 4096  # distinct SD parameter strings (topics) kept parsed

# A byte is looked up in bytes as an int: ``b"\\" in data`` first tries to read
# b"\\" as an integer and clears the TypeError, about ten times slower.
_BACKSLASH: Final = 0x5C

_new_record: Final = object.__new__
_RECORD_SETTERS: Final = tuple(
    getattr(MqttRecord, name).__set__
    for name in ("timestamp", "topic", "payload", "qos", "retain")
)


class _CollectorPause:
    """Pause Python's cyclic garbage collector while journal lines are parsed.

    A parse allocates a record per line, objects the collector tracks, so it
    runs a collection every few thousand records and, as they pile up, full
    ones that walk every object of Home Assistant's heap. A million records
    next to three million young objects (Home Assistant's start, when hubs
    replay) streamed in 1.33 s of CPU against 1.89 s collecting as they came,
    1.30 against 1.46 s once the other objects were old
    (`benchmarks/bench_logging.py`). Records hold no cycles: the collector
    would find nothing in them. Process-wide and reentrant across threads
    (replays of two hubs at once): the first parse in pauses the collector if
    it runs, the last one out resumes it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parses = 0
        self._resume = False

    def __enter__(self) -> None:
        with self._lock:
            if self._parses == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._parses += 1

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._parses -= 1
            if self._parses == 0 and self._resume:
                gc.enable()


_COLLECTOR_PAUSE: Final = _CollectorPause()


class _Parser:
    """Parses our journal lines fast, with small caches (one per replay)."""

    __slots__ = ("_params", "_second", "_second_us")

    def __init__(self) -> None:
        self._second = b""
        self._second_us = 0
        self._params: dict[bytes, tuple[str, int, bool]] = {}

    def second_us(self, second: bytes) -> int:
        """``2026-11-26T22:39:49`` (UTC) to POSIX microseconds; ValueError if bad.

        Hour 24 is declined here (whether ``datetime.fromisoformat`` takes it as
        the next midnight depends on the Python version): the line goes to the
        generic parser, which decides.
        """
        if second != self._second:
            if not (second.isascii() and len(second) == 19) or second[11:13] > b"23":
                raise ValueError("not a timestamp")
            when = datetime.fromisoformat(second.decode()).replace(tzinfo=UTC)
            self._second_us = int(when.timestamp()) * 1_000_000
            self._second = second
        return self._second_us

    def stamp(self, stamp: bytes) -> float:
        """``...:49.123456Z`` or ``...:49.123Z`` to POSIX seconds, else ValueError."""
        fraction = stamp[20:-1]
        if (
            len(fraction) not in (3, 6)
            or stamp[19:20] != b"."
            or stamp[-1:] != b"Z"
            or not fraction.isdigit()
        ):
            raise ValueError("not a timestamp")
        scale = 1000 if len(fraction) == 3 else 1
        return (self.second_us(stamp[:19]) + int(fraction) * scale) / 1_000_000

    def params(self, raw: bytes) -> tuple[str, int, bool]:
        """``topic="..." qos="1" retain="0"`` (as `_OURS_RE` matched it) to values.

        ValueError if the topic is not an SD-PARAM value (a raw ']', a lone
        backslash): the line is left to the generic parser.
        """
        params = self._params.get(raw)
        if params is None:
            match = _PARAMS_RE.fullmatch(raw)
            if match is None:
                raise ValueError("not our SD parameters")
            raw_topic, qos, retain = match.groups()
            topic = unescape(_SD_UNESCAPE_RE.sub(rb"\1", raw_topic)).decode(
                "utf-8", "surrogateescape"
            )
            params = (topic, qos[0] - 48, retain == b"1")
            if len(self._params) >= _CACHE_SIZE:
                self._params.clear()
            self._params[raw] = params
        return params

    def parse(
        self, data: bytes, start: int, since_us: int, out: list[MqttRecord]
    ) -> int:
        """Append the records in `data[start:]` at or after `since_us` to `out`.

        `start` is where a line begins. Return how many lines could not be
        parsed. Whole lines go chunk by chunk through `_parse_chunk`, else line
        by line through `_parse_lines`; a last line without its newline (torn by
        a crash) through the generic parser.
        """
        skipped = 0
        lines_end = data.rfind(b"\n") + 1
        position = start
        with _COLLECTOR_PAUSE:
            while position < lines_end:
                end = data.find(b"\n", position + _CHUNK_BYTES, lines_end)
                end = lines_end if end < 0 else end + 1
                if not self._parse_chunk(data, position, end, since_us, out):
                    skipped += self._parse_lines(data, position, end, since_us, out)
                position = end
            if position < len(data):
                skipped += _parse_foreign(data[position:], since_us, out)
        return skipped

    def _parse_chunk(
        self, data: bytes, start: int, end: int, since_us: int, out: list[MqttRecord]
    ) -> bool:
        """Append the records of the whole lines `data[start:end]` if all are ours.

        The replay's hot path: the regular expression finds every line in C,
        and Python only assembles each record (the second from a one-entry
        cache, topic, qos and retain from a dict, the slots set directly).
        Return False, having appended nothing, if a line is not ours or has a
        stamp or SD parameters the fast path declines.
        """
        rows = _OURS_RE.findall(data, start, end)
        if len(rows) != data.count(b"\n", start, end):
            return False
        mark = len(out)
        try:
            self._append_rows(rows, since_us, out)
        except ValueError:
            del out[mark:]
            return False
        return True

    def _append_rows(
        self,
        rows: list[tuple[bytes, ...]],
        since_us: int,
        out: list[MqttRecord],
    ) -> None:
        """Append a record for each row of `_OURS_RE` at or after `since_us`.

        Raises ValueError for a stamp or SD parameters the fast path declines
        (records of the rows before it are appended by then).
        """
        params_of = self._params.get
        append = out.append
        new = _new_record
        set_timestamp, set_topic, set_payload, set_qos, set_retain = _RECORD_SETTERS
        last_second, last_second_us = self._second, self._second_us
        for second, fraction, raw_params, msg in rows:
            if second != last_second:
                last_second_us = self.second_us(second)
                last_second = second
            when_us = last_second_us + (
                int(fraction) if len(fraction) == 6 else int(fraction) * 1000
            )
            if when_us < since_us:
                continue
            if _BACKSLASH in msg:
                msg = _unescape_msg(msg)
            topic, qos, retain = params_of(raw_params) or self.params(raw_params)
            record = new(MqttRecord)
            set_timestamp(record, when_us / 1_000_000)
            set_topic(record, topic)
            set_payload(record, msg)
            set_qos(record, qos)
            set_retain(record, retain)
            append(record)

    def _parse_lines(
        self, data: bytes, start: int, end: int, since_us: int, out: list[MqttRecord]
    ) -> int:
        """Line by line: ours through the fast path, the rest the generic way."""
        skipped = 0
        position = start
        for match in _OURS_RE.finditer(data, start, end):
            if match.start() != position:
                skipped += _parse_foreign(data[position : match.start()], since_us, out)
            position = match.end()
            try:
                self._append_rows([match.groups(b"")], since_us, out)
            except ValueError:
                skipped += _parse_foreign(match.group()[:-1], since_us, out)
        if position < end:
            skipped += _parse_foreign(data[position:end], since_us, out)
        return skipped


def _parse_foreign(segment: bytes, since_us: int, out: list[MqttRecord]) -> int:
    """Lines that are not ours: generic RFC 5424 with our SD element, or garbage.

    Blank lines are passed over; return how many others could not be parsed.
    """
    skipped = 0
    for line in segment.split(b"\n"):
        if not line.strip():
            continue
        record = _parse_generic_5424(line)
        if isinstance(record, str):
            skipped += 1
        elif to_micros(record.timestamp) >= since_us:
            out.append(record)
    return skipped


def _unescape_msg(msg: bytes) -> bytes:
    """Escaped MSG bytes (its BOM already gone) to the payload.

    A marker ending the text says the payload was cut: it is dropped.
    """
    if msg.endswith(b" bytes]"):
        text, _ = split_truncation_marker(msg.decode("utf-8", "surrogateescape"))
        msg = text.encode("utf-8", "surrogateescape")
    return unescape(msg)


def _payload(msg: bytes) -> bytes:
    """MSG bytes (escaped, maybe with a BOM and a truncation marker) to payload."""
    if msg.startswith(_BOM):
        msg = msg[3:]
    if _BACKSLASH not in msg:
        return msg
    return _unescape_msg(msg)


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
class UnreadableFile:
    """A journal file (or the journal's folder) that `read_since` could not read."""

    path: Path
    error: str
    """Why, as the system says it (``Permission denied``, ``Is a directory``, ...)."""


def describe_os_error(err: OSError) -> str:
    """An OSError as short text without the path: the strerror, or the class name."""
    if err.errno is not None:
        with contextlib.suppress(ValueError):
            return os.strerror(err.errno)
    return str(err) or type(err).__name__


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What `read_since` found: records oldest first, and what it skipped."""

    records: list[MqttRecord]
    skipped: int
    """Lines that could not be parsed (torn last line after a crash, garbage)."""
    files_read: int
    unreadable: tuple[UnreadableFile, ...] = ()
    """Files that could not be read (skipped: the replay went on with the rest)."""

    def __iter__(self) -> Iterator[MqttRecord]:
        """Iterate over the records."""
        return iter(self.records)

    def __len__(self) -> int:
        """The number of records."""
        return len(self.records)


def read_since(directory: str | os.PathLike[str], since: float) -> ReplayResult:
    """Records with a timestamp >= `since`, in time order (blocking: for an executor).

    Every record at once, in a list: `JournalReplay` streams the same records
    in the same order with about one file's records in memory. Timestamps are
    kept to the microsecond (to the millisecond in journals written before
    1.4), so `since` is compared rounded to its microsecond. Files are read
    newest first as far back as needed; the first file whose first record is
    older than `since` is the last one read, and in it the lines before the
    first one at or after `since` are skipped by comparing timestamps as text.
    Lines of our own format are matched by one regular expression, not a
    general RFC 5424 parser; other RFC 5424 lines with our SD element are
    parsed generically; the rest are skipped and counted. A file that cannot
    be read (a directory in its place, no permission, an I/O error) is skipped
    and listed in `ReplayResult.unreadable`; the rest are still read. A file
    deleted between listing and reading (retention) is skipped silently.
    """
    replay = JournalReplay(directory, since, batch_records=_WHOLE)
    records = list(replay)
    if replay.out_of_order:  # a clock stepped back inside a file: see JournalReplay
        records.sort(key=_TIMESTAMP)
    return ReplayResult(
        records, replay.skipped, replay.files_read, tuple(replay.unreadable)
    )


_WHOLE: Final = 2**62
_HEAD_BYTES: Final = 64 * 1024
"""How much of a file is read to find its first stamp, before its turn."""

REPLAY_BATCH: Final = 10_000
"""Records per batch `JournalReplay.batches` hands out by default."""


@dataclass(slots=True)
class _Waiting:
    """A journal file opened for a replay, not parsed yet."""

    order: int
    """Its place among the files read, oldest first: breaks timestamp ties."""
    path: Path
    file: BinaryIO
    first_us: float
    """No record of the file is older than this (POSIX seconds, -inf: unknown)."""
    last_file: bool
    """The oldest file read: its lines before `since` are skipped."""
    data: bytes | None = None
    """The whole file, if it was read already to find its first stamp."""


class JournalReplay:
    """The journal's records from `since` on, oldest first, streamed file by file.

    Blocking: run `batches` (or iterate) in an executor. The files are chosen
    as `read_since` does (newest first, back to the first one whose first
    record is older than `since`), opened at once (so a rotation meanwhile
    renames nothing under the replay) and their first stamps read; then they
    are parsed one at a time, oldest first, each sorted by time, and merged: a
    file is parsed only once the records handed out reach its first stamp. So
    at most about one file's records are in memory while their records come
    out in exactly `read_since`'s order: time order, ties in file then line
    order, even when the clock stepped between files. A file whose records go
    back before its first stamp (the clock stepped back inside it) can hold
    records older than some already handed out: they come out as soon as the
    file is parsed, and `out_of_order` counts them (`read_since` sorts then).

    The counters (`files_read`, `skipped`, `unreadable`, `records`) are final
    once the batches are exhausted. A replay can be iterated once.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        since: float,
        *,
        batch_records: int = REPLAY_BATCH,
    ) -> None:
        """Nothing is read until the batches are iterated."""
        if batch_records < 1:
            raise ValueError("batch_records must be positive")
        self.directory = directory
        self.since = since
        self.batch_records = batch_records
        self.files_read = 0
        self.skipped = 0
        """Lines that could not be parsed (torn last line after a crash, garbage)."""
        self.unreadable: list[UnreadableFile] = []
        self.records = 0
        """Records handed out so far."""
        self.out_of_order = 0
        """Records handed out after a newer one (see the class description)."""
        self._started = False

    def __iter__(self) -> Iterator[MqttRecord]:
        """Every record, oldest first."""
        return itertools.chain.from_iterable(self.batches())

    def batches(self) -> Generator[list[MqttRecord]]:
        """Lists of at most `batch_records` records (none empty), oldest first."""
        if self._started:
            raise RuntimeError("a journal replay can be iterated once")
        self._started = True
        since_key = _stamp_key(self.since)
        waiting = self._open(since_key)
        try:
            yield from self._merge(waiting, since_key, _since_us(self.since))
        finally:
            for item in waiting:
                item.file.close()

    def _open(self, since_key: bytes) -> list[_Waiting]:
        """Open the files to read and find their first stamps; oldest first."""
        try:
            paths = journal_files(self.directory)
        except OSError as err:  # the folder itself: not a folder, no permission, EIO
            self.unreadable.append(
                UnreadableFile(Path(self.directory), describe_os_error(err))
            )
            return []
        opened: list[_Waiting] = []
        try:
            for path in paths:
                try:
                    # Unbuffered: dozens of files wait open, each read once.
                    file = path.open("rb", buffering=0)
                except FileNotFoundError:  # deleted by retention while we listed
                    continue
                except OSError as err:  # a directory, no permission, ...
                    # Skipped, not fatal: the rest of the journal still
                    # rebuilds the windows; the caller reports the file.
                    self.unreadable.append(UnreadableFile(path, describe_os_error(err)))
                    continue
                try:
                    data: bytes | None = None
                    head = file.read(_HEAD_BYTES)
                    first = _FIRST_STAMP_RE.search(head)
                    if first is None and len(head) == _HEAD_BYTES:
                        data = head + file.read()
                        first = _FIRST_STAMP_RE.search(data)
                except OSError as err:  # an I/O error
                    file.close()
                    self.unreadable.append(UnreadableFile(path, describe_os_error(err)))
                    continue
                last_file = first is not None and first.group(1) < since_key
                first_us = -math.inf
                if first is not None and first.start() == 0 and not last_file:
                    first_us = _key_seconds(first.group(1))
                opened.append(_Waiting(0, path, file, first_us, last_file, data))
                if last_file:
                    break
        except BaseException:
            for item in opened:
                item.file.close()
            raise
        opened.reverse()
        for order, item in enumerate(opened):
            item.order = order
        return opened

    def _load(
        self, item: _Waiting, parser: _Parser, since_key: bytes, since_us: int
    ) -> list[MqttRecord]:
        """The records of one waiting file, sorted by time (an unread file: none)."""
        try:
            data = item.data
            if data is None:
                item.file.seek(0)
                data = item.file.read()
        except OSError as err:
            self.unreadable.append(UnreadableFile(item.path, describe_os_error(err)))
            return []
        finally:
            item.file.close()
            item.data = None
        self.files_read += 1
        start = _first_line_at_or_after(data, since_key) if item.last_file else 0
        records: list[MqttRecord] = []
        self.skipped += parser.parse(data, start, since_us, records)
        del data
        records.sort(key=_TIMESTAMP)  # in order already, but for clock steps: linear
        return records

    def _merge(
        self, waiting: list[_Waiting], since_key: bytes, since_us: int
    ) -> Iterator[list[MqttRecord]]:
        """Parse the waiting files as their turn comes and merge their records.

        `runs` are the parsed files not handed out entirely: [records, next
        index, order]. The record handed out next is the smallest (timestamp,
        order) among the runs' next ones; from its run every record before
        both the other runs' next records and the first stamp of every file
        still waiting goes out in one slice (a file's records follow each
        other unless the clock stepped). A waiting file is parsed before a
        record at or after its first stamp goes out.
        """
        parser = _Parser()
        pending = sorted(waiting, key=lambda item: (item.first_us, item.order))
        pending.reverse()  # the next file to parse last: popped
        runs: list[list[Any]] = []
        batch = self.batch_records
        out: list[MqttRecord] = []
        last: tuple[float, int] | None = None
        while True:
            head = _head(runs)
            while pending and (
                head is None or (pending[-1].first_us, pending[-1].order) <= head[0]
            ):
                item = pending.pop()
                records = self._load(item, parser, since_key, since_us)
                waiting.remove(item)
                if not records:
                    continue
                if last is not None and (records[0].timestamp, item.order) < last:
                    later = bisect.bisect_left(records, last[0], key=_TIMESTAMP)
                    self.out_of_order += max(later, 1)
                runs.append([records, 0, item.order])
                head = _head(runs)
            if head is None:
                break
            _, run = head
            records, position, order = run
            # The bound: the next record of any other run, the first stamp of
            # the next waiting file; the run's records before it go out.
            bound = min(
                (
                    (other[0][other[1]].timestamp, other[2])
                    for other in runs
                    if other is not run
                ),
                default=None,
            )
            if pending:
                next_file = (pending[-1].first_us, pending[-1].order)
                bound = next_file if bound is None else min(bound, next_file)
            if bound is None:
                cut = len(records)
            elif order < bound[1]:
                cut = bisect.bisect_right(records, bound[0], position, key=_TIMESTAMP)
            else:
                cut = bisect.bisect_left(records, bound[0], position, key=_TIMESTAMP)
            cut = max(cut, position + 1)  # the head itself is before the bound
            last = (records[cut - 1].timestamp, order)
            while position < cut:
                take = min(cut, position + batch - len(out))
                if out:
                    out.extend(records[position:take])
                else:
                    out = records[position:take]
                position = take
                if len(out) >= batch:
                    self.records += len(out)
                    yield out
                    out = []
            if position == len(records):
                runs.remove(run)
            else:
                run[1] = position
            # A file handed out entirely is freed before the next is parsed.
            del records, run, head
        if out:
            self.records += len(out)
            yield out


def _head(runs: list[list[Any]]) -> tuple[tuple[float, int], list[Any]] | None:
    """The smallest (timestamp, order) among the runs' next records, and its run."""
    best: tuple[tuple[float, int], list[Any]] | None = None
    for run in runs:
        key = (run[0][run[1]].timestamp, run[2])
        if best is None or key < best[0]:
            best = (key, run)
    return best


def _key_seconds(key: bytes) -> float:
    """A line's stamp to the millisecond (``2026-11-26T22:39:49.123``) in seconds.

    No record of the line is older: its stamp goes on to the microsecond.
    """
    second = datetime.fromisoformat(key[:19].decode()).replace(tzinfo=UTC)
    return (int(second.timestamp()) * 1_000_000 + int(key[20:23]) * 1000) / 1_000_000


def _since_us(since: float) -> int:
    """`since` as the microseconds records are compared with."""
    if math.isnan(since) or since < 0:
        return -(2**63)
    if since >= _YEAR_10000:
        return 2**63
    return to_micros(since)


@dataclass(frozen=True, slots=True)
class PositionNotFound:
    """`read_after` could not resume at the position: replay the whole journal."""

    reason: str


def read_after(
    directory: str | os.PathLike[str], position: JournalPosition, since: float
) -> ReplayResult | PositionNotFound:
    """Records written after `position` with a timestamp >= `since`, in time order.

    Blocking: for an executor. The file holding the position is found by its
    inode among the journal's files (active or rotated) and recognised by the
    bytes before the offset; its records after the offset and every newer
    file's are read. `PositionNotFound` if that file is gone (pruned), shorter
    than the offset or different (an inode reused), or if a file cannot be
    read: the caller replays the whole journal instead (`read_since`), which
    reports unreadable files.
    """
    try:
        paths = journal_files(directory)
    except OSError as err:
        return PositionNotFound(f"journal folder: {describe_os_error(err)}")
    found = len(paths)  # JOURNAL_START: every file is after it
    if position != JOURNAL_START:
        found = -1
        for index, path in enumerate(paths):
            try:
                inode = path.stat().st_ino
            except OSError:
                continue
            if inode == position.inode:
                found = index
                break
        if found < 0:
            return PositionNotFound("its journal file is gone")
    since_us = _since_us(since)
    parser = _Parser()
    records: list[MqttRecord] = []
    skipped = 0
    # Oldest first: the rest of the position's file, then each newer file.
    for index in range(found, -1, -1):
        if index == len(paths):
            continue
        path = paths[index]
        try:
            data = _read_whole(path)
        except OSError as err:
            return PositionNotFound(f"{path.name}: {describe_os_error(err)}")
        start = 0
        if index == found:
            start = position.offset
            tail = position.tail
            if len(data) < start or data[start - len(tail) : start] != tail:
                return PositionNotFound(f"{path.name} no longer holds it")
        skipped += parser.parse(data, start, since_us, records)
    records.sort(key=_TIMESTAMP)  # in order already, but for clock steps: linear
    files_read = min(found + 1, len(paths))
    return ReplayResult(records, skipped, files_read)


def _read_whole(path: Path) -> bytes:
    """A journal file's bytes."""
    with path.open("rb") as file:
        return file.read()


def _first_line_at_or_after(data: bytes, since_key: bytes) -> int:
    """Offset of the first line whose timestamp (as text) is >= `since_key`."""
    position = 0
    size = len(data)
    while position < size:
        end = data.find(b"\n", position)
        if end < 0:
            end = size
        space = data.find(b" ", position, end)
        if space >= 0 and data[space + 1 : space + 1 + _KEY_LEN] >= since_key:
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
                return parser.stamp(line[space + 1 :].partition(b" ")[0])
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


_IOV_MAX: Final = 1024  # the smallest IOV_MAX of the systems Home Assistant runs on


def _write_all(fd: int, chunks: Sequence[bytes]) -> None:
    """Write `chunks` in order, whole, without joining them first.

    A batch can hold megabytes (payloads up to 1 MiB each, escaped): joining
    it would copy all of it once more, in a worker thread, whose allocator
    arena then keeps the freed copy's pages (glibc). `os.writev` writes the
    lines where they are; a short write continues where it stopped.
    """
    writev = getattr(os, "writev", None)
    if writev is None:  # not POSIX
        view = memoryview(b"".join(chunks))
        while view:
            view = view[os.write(fd, view) :]
        return
    pending = [memoryview(chunk) for chunk in chunks if chunk]
    done = 0  # chunks of `pending` written whole
    while done < len(pending):
        written = writev(fd, pending[done : done + _IOV_MAX])
        while written and written >= len(pending[done]):
            written -= len(pending[done])
            done += 1
        if written:
            pending[done] = pending[done][written:]


def _last_bytes(chunks: list[bytes], count: int) -> bytes:
    """The last `count` bytes of the chunks joined (fewer if they hold fewer)."""
    tail: list[bytes] = []
    held = 0
    for chunk in reversed(chunks):
        tail.append(chunk)
        held += len(chunk)
        if held >= count:
            break
    return b"".join(reversed(tail))[-count:]


class _JournalFiles:
    """The blocking side: append, rotate, prune. Used from one executor job at a time."""

    def __init__(self, directory: Path, max_file_bytes: int, fsync: bool) -> None:
        self.directory = directory
        self.active = directory / ACTIVE_FILE
        self.max_file_bytes = max_file_bytes
        self.fsync = fsync
        self.end: JournalPosition | None = None
        """Where the journal ends after the last write (None: not known yet)."""

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
            chunks = [prefix, *lines[start:end]] if prefix else lines[start:end]
            try:
                _write_all(fd, chunks)
                if self.fsync:
                    os.fsync(fd)
            except OSError:
                self.end = None
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                raise
            new_size = size + length
            tail = _last_bytes(chunks, POSITION_TAIL_BYTES)
            if len(tail) < POSITION_TAIL_BYTES and len(tail) < new_size:
                tail = os.pread(
                    fd, POSITION_TAIL_BYTES, max(0, new_size - POSITION_TAIL_BYTES)
                )
            self.end = JournalPosition(os.fstat(fd).st_ino, new_size, tail)
        finally:
            os.close(fd)
        return end, size + length >= self.max_file_bytes, size == 0

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
        if self.end is None:  # nothing written yet by this writer
            with contextlib.suppress(OSError):  # else known after the next write
                self.end = journal_end(self.directory)
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
    size_flushes: int = 0
    """Batches handed to the writer by size or age from `submit` (not the timer)."""


def _retrieve(job: asyncio.Future[None]) -> None:
    if not job.cancelled():
        job.exception()


class JournalWriter:
    """Append records to the journal in batches, off the event loop.

    A batch is written when it is `flush_interval` seconds old or holds
    `flush_records` records or `flush_bytes` bytes, whichever comes first.
    The size and age triggers fire from `submit` itself, which hands the
    batch straight to a worker thread: a loop too busy to run timers (a burst
    of thousands of messages delivered in one go) still gets its records on
    disk while it works. At most one worker writes at a time; batches handed
    over while it writes join a queue it drains in order before it ends.
    The timer flush still runs every `flush_interval` for a quiet loop.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        keep_seconds: float,
        formatter: SyslogFormatter | None = None,
        max_file_bytes: int = 16 * 1024 * 1024,
        flush_interval: float = 1.0,
        flush_records: int = 1000,
        flush_bytes: int = 1024 * 1024,
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
        Blocking work runs through `run_blocking` if given (it must start the
        job at once, as ``hass.async_add_executor_job`` and
        ``loop.run_in_executor`` do), else ``loop.run_in_executor(executor, ...)``
        (None: the loop's default executor).
        A write error is counted and retried at the next timed flush; up to
        `max_buffered` records (`max_buffered_bytes` bytes) wait meanwhile, the
        oldest are dropped beyond that.
        """
        if (
            max_file_bytes < 1
            or max_buffered < 1
            or max_buffered_bytes < 1
            or flush_records < 1
            or flush_bytes < 1
        ):
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
        self.flush_records = flush_records
        self.flush_bytes = flush_bytes
        self.retention_interval = retention_interval
        self._files = _JournalFiles(self.directory, max_file_bytes, fsync)
        self._max_buffered = max_buffered
        self._max_buffered_bytes = max_buffered_bytes
        self._executor = executor
        self._run_blocking = run_blocking

        # Event loop side: the batch being filled, and when it got its first line.
        self._buffer: list[bytes] = []
        self._buffer_bytes = 0
        self._buffer_since = 0.0  # monotonic
        # Shared with the worker thread, under `_mutex`: lines handed over and
        # not yet written (in order), whether a worker is writing.
        self._mutex = threading.Lock()
        self._handoff: list[bytes] = []
        self._handoff_bytes = 0
        self._prune_requested = False
        self._writing = False
        self._failing = False  # the last write failed: only timed flushes retry
        self._job: asyncio.Future[None] | None = None

        # The timed flush: a loop timer that hands the batch over and re-arms
        # itself (no task to wake, nothing awaited: `flush` awaits the writing).
        self._timer: asyncio.TimerHandle | None = None
        self._closing = False
        self._next_prune = 0.0  # monotonic; 0 = at the first flush
        self._horizon = 0.0  # the keep-horizon of the last hand-off (wall clock)

        self._records_written = 0
        self._bytes_written = 0
        self._file_count = 0
        self._rotations = 0
        self._deleted = 0
        self._write_errors = 0
        self._truncated = 0
        self._size_flushes = 0
        self._dropped: dict[str, int] = {}
        self._last_error: str | None = None

    def submit(self, record: MqttRecord) -> None:
        """Buffer one record; never blocks, never raises.

        Hands the batch to the writer thread when it is full or old enough.
        """
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
        buffer = self._buffer
        now = time.monotonic()
        if not buffer:
            self._buffer_since = now
        buffer.append(line)
        self._buffer_bytes += len(line)
        if (
            self._timer is not None
            and not self._failing
            and (
                len(buffer) >= self.flush_records
                or self._buffer_bytes >= self.flush_bytes
                or now - self._buffer_since >= self.flush_interval
            )
        ):
            self._size_flushes += 1
            self._hand_off(prune=False)
        if (
            len(buffer) + len(self._handoff) > self._max_buffered
            or self._buffer_bytes + self._handoff_bytes > self._max_buffered_bytes
        ):
            self._trim()

    def _trim(self) -> None:
        """Drop the oldest waiting lines beyond the bounds (never the newest)."""
        with self._mutex:
            count = len(self._handoff) + len(self._buffer)
            size = self._handoff_bytes + self._buffer_bytes
            dropped = 0
            for lines, attr in (
                (self._handoff, "_handoff_bytes"),
                (self._buffer, "_buffer_bytes"),
            ):
                excess = 0
                removed = 0
                while (
                    count > 1
                    and excess < len(lines)
                    and (count > self._max_buffered or size > self._max_buffered_bytes)
                ):
                    removed += len(lines[excess])
                    size -= len(lines[excess])
                    excess += 1
                    count -= 1
                if excess:
                    del lines[:excess]
                    setattr(self, attr, getattr(self, attr) - removed)
                    dropped += excess
        if dropped:
            self._drop(DROP_BUFFER_OVERFLOW, dropped)

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
            buffered=len(self._buffer) + len(self._handoff),
            truncated=self._truncated,
            dropped=dict(self._dropped),
            last_error=self._last_error,
            size_flushes=self._size_flushes,
        )

    def _start_job(self, func: Callable[[], None]) -> asyncio.Future[None]:
        job: asyncio.Future[None]
        if self._run_blocking is not None:
            job = asyncio.ensure_future(self._run_blocking(func))
        else:
            job = asyncio.get_running_loop().run_in_executor(self._executor, func)
        # A timed flush does not wait for its job: a runner's error (`_drain`
        # itself never raises) is retrieved here, not logged as unretrieved.
        job.add_done_callback(_retrieve)
        return job

    def _hand_off(self, *, prune: bool) -> None:
        """Move the batch to the writer; start a worker unless one is writing."""
        buffer = self._buffer
        # The keep-horizon is read here, on the caller's side: the worker's own
        # clock may differ (a test's frozen time does not reach worker threads).
        horizon = time.time() - self.keep_seconds
        with self._mutex:
            if buffer:
                self._handoff.extend(buffer)
                self._handoff_bytes += self._buffer_bytes
            self._horizon = horizon
            self._prune_requested = self._prune_requested or prune
            start = not self._writing and (bool(self._handoff) or self._prune_requested)
            if start:
                self._writing = True
        if buffer:
            self._buffer = []
            self._buffer_bytes = 0
        if start:
            self._job = self._start_job(self._drain)

    def _drain(self) -> None:
        """Worker thread: write handed-over lines in order until none are left."""
        while True:
            with self._mutex:
                lines, self._handoff = self._handoff, []
                self._handoff_bytes = 0
                prune, self._prune_requested = self._prune_requested, False
                horizon = self._horizon
                if not lines and not prune:
                    self._writing = False
                    return
            if not self._write(lines, prune, horizon):
                with self._mutex:
                    self._writing = False
                return

    def _write(self, lines: list[bytes], prune: bool, horizon: float) -> bool:
        """Worker thread: write one batch; on failure put the rest back first.

        `horizon`: rotated files whose newest record is older are deleted.
        """
        try:
            result = self._files.flush(lines, horizon, prune)
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
            with self._mutex:
                self._handoff[:0] = rest
                self._handoff_bytes += sum(map(len, rest))
            self._failing = True
            return False
        self._failing = False
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
        return True

    async def start(self) -> None:
        """Prune old files and start flushing every `flush_interval` seconds."""
        if self._timer is not None:
            return
        self._closing = False
        self._next_prune = 0.0
        await self.flush()
        self._timer = asyncio.get_running_loop().call_later(
            self.flush_interval, self._timed_flush
        )

    async def stop(self) -> None:
        """Flush what is buffered and stop; records that cannot be written are counted."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._closing = True
        await self.flush()
        with self._mutex:
            lost = len(self._buffer) + len(self._handoff)
            self._handoff.clear()
            self._handoff_bytes = 0
        self._buffer.clear()
        self._buffer_bytes = 0
        if lost:
            self._drop(DROP_SHUTDOWN, lost)

    def _timed_flush(self) -> None:
        """Every `flush_interval`: hand what is buffered to the writer (and prune
        if due), without waiting for it to be written."""
        self._timer = asyncio.get_running_loop().call_later(
            self.flush_interval, self._timed_flush
        )
        now = time.monotonic()
        prune = now >= self._next_prune
        if prune:
            self._next_prune = now + self.retention_interval
        self._hand_off(prune=prune)

    async def flush(self) -> None:
        """Write what is buffered now (and prune if due); never raises.

        Returns when every line handed over so far is written or has failed
        (a failure is counted and the lines wait for the next flush).
        """
        now = time.monotonic()
        prune = now >= self._next_prune
        if prune:
            self._next_prune = now + self.retention_interval
        self._hand_off(prune=prune)
        while (job := self._job) is not None:
            await asyncio.wait({job})
            if self._job is job:
                self._job = None
            with contextlib.suppress(Exception):
                job.result()  # _drain never raises; a runner might

    async def clean_position(self, attempts: int = 5) -> JournalPosition | None:
        """Where the journal ends once every record submitted so far is on disk.

        Flushes, and returns the position if, when the flush ended, nothing
        was waiting or being written and the last write did not fail; else
        flushes again (records that came during the flush), at most `attempts`
        times, then gives up with None. The caller reads what the records did
        (the windows) before its next ``await``: then the journal up to the
        position holds exactly the records that made them.
        """
        for _ in range(attempts):
            await self.flush()
            with self._mutex:
                clean = not (self._handoff or self._writing or self._buffer)
            if clean and not self._failing and self._files.end is not None:
                return self._files.end
        return None

    def set_keep_seconds(self, keep_seconds: float) -> None:
        """Change the keep-horizon (options changed); applied at the next flush."""
        self.keep_seconds = keep_seconds
        self._next_prune = 0.0
