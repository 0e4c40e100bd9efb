"""Snapshots of a hub's windows: restart without replaying the whole journal.

A snapshot holds, for each sensor source of a hub, every topic's windows (their
`WindowState`) and the per-topic state a replay of the journal rebuilds (the
last payload, for the retained-repeat rule; the last reading and its time), and
the journal position it was taken at (`JournalPosition`). At start the hub
restores it and replays only the journal written after that position; a missing,
damaged, stale or mismatched snapshot falls back to the full replay.

File layout (version 1), little-endian throughout::

    header   magic "IOTITSNP" (8) | version u16 | flags u16 (0) |
             payload length u64 | CRC-32 u32 of the payload, then of
             version..length (so that it can be computed while streaming)
    payload  taken_at f64 | position: inode u64, offset u64, tail (u16 + bytes) |
             sources u32, each:
               id (u16 + UTF-8) | fingerprint (u16 + bytes) | topics u32, each:
                 topic (u16 + UTF-8) | last payload (i32 length, -1 none, + bytes) |
                 last_payload_at, last_record_at, last_value, last_received f64
                 (NaN: none) | windows u16, each:
                   max_age f64 | samples u64 | time scale u16 | value scale u16 |
                   4 sums (u16 length + signed bytes) |
                   times, values, sorted values (samples x f64 each)

The checksum is CRC-32 (`zlib.crc32`), not a cryptographic hash: the file is
local and the checksum is there to detect damage (a torn write, truncation,
flipped bits), which CRC-32 does for every burst of up to 32 bits; a
cryptographic hash made restoring cost 4.4 times reading the file, against a
target of 3. Every length read from the file is bounded by what is left of it,
so a damaged file gives a `SnapshotProblem`, never an exception or a wrong
snapshot. Bump `FORMAT_VERSION` whenever the layout changes, or what a message
does to a topic's state (a snapshot of another version is not read).

Writing is atomic: a temporary file in the same folder, fsync, then
``os.replace`` (and an fsync of the folder), so a crash leaves the previous
snapshot or the new one, never half of one.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
import contextlib
from dataclasses import dataclass
from enum import StrEnum
from hashlib import blake2b
import json
import math
import mmap
import os
from pathlib import Path
import struct
import sys
import threading
from typing import Any, Final, Protocol
import zlib

from .journal import JournalPosition, describe_os_error
from .window import WindowState

__all__ = [
    "CAPTURE_STEP_SAMPLES",
    "FORMAT_VERSION",
    "MAGIC",
    "CapturedTopic",
    "HubSnapshot",
    "ProblemKind",
    "SnapshotCapture",
    "SnapshotProblem",
    "SourceSnapshot",
    "TopicSnapshot",
    "decode",
    "encode",
    "read_snapshot",
    "source_fingerprint",
    "write_snapshot",
]

MAGIC: Final = b"IOTITSNP"
FORMAT_VERSION: Final = 1
_HEADER: Final = struct.Struct("<8sHHQI")
HEADER_BYTES: Final = _HEADER.size
MAX_SNAPSHOT_BYTES: Final = 8 * 1024**3
"""A larger file is not read (about 300 million samples)."""
_MAX_INT_BYTES: Final = 4096  # an exact sum: a few thousand bits at most
# max_age, samples, time scale, value scale, expired to
_SIZES: Final = struct.Struct("<dQHHd")
_TOPIC_FLOATS: Final = struct.Struct("<dddd")
_POSITION: Final = struct.Struct("<dQQ")  # taken_at, inode, offset
_U16: Final = struct.Struct("<H")
_U32: Final = struct.Struct("<I")
_I32: Final = struct.Struct("<i")
_SWAP: Final = sys.byteorder != "little"


class ProblemKind(StrEnum):
    """Why a snapshot could not be used."""

    MISSING = "missing"
    UNREADABLE = "unreadable"
    """The file exists but could not be read (permissions, I/O error)."""
    NOT_A_SNAPSHOT = "not_a_snapshot"
    VERSION = "version"
    """Written by another format version."""
    TOO_LARGE = "too_large"
    TRUNCATED = "truncated"
    DAMAGED = "damaged"
    """The checksum does not match, or the content is inconsistent."""
    WRITE_FAILED = "write_failed"


@dataclass(frozen=True, slots=True)
class SnapshotProblem:
    """A snapshot that could not be read (or written), and why."""

    kind: ProblemKind
    detail: str = ""

    def __str__(self) -> str:
        """``kind: detail``."""
        return f"{self.kind}: {self.detail}" if self.detail else str(self.kind)


@dataclass(frozen=True, slots=True)
class TopicSnapshot:
    """One topic of a source: its windows and what the replay would rebuild."""

    topic: str
    windows: tuple[tuple[float, WindowState], ...]
    """(max_age, state) for each window of the topic."""
    last_payload: bytes | None
    """What the retained-repeat rule compares with (a payload or its key)."""
    last_payload_at: float | None
    """When `last_payload` came."""
    last_record_at: float | None
    """When the last message on the topic came (a repeat too)."""
    last_value: float | None
    last_received: float | None
    """When the last reading came."""


@dataclass(frozen=True, slots=True)
class SourceSnapshot:
    """One sensor source: its settings' fingerprint and its topics."""

    source_id: str
    fingerprint: bytes
    topics: tuple[TopicSnapshot, ...]


@dataclass(frozen=True, slots=True)
class HubSnapshot:
    """A hub's windows at one moment, and where the journal ended then."""

    taken_at: float
    position: JournalPosition
    sources: tuple[SourceSnapshot, ...]

    @property
    def topics(self) -> int:
        """How many topics it holds."""
        return sum(len(source.topics) for source in self.sources)

    @property
    def samples(self) -> int:
        """How many samples its windows hold."""
        return sum(
            len(state.times)
            for source in self.sources
            for topic in source.topics
            for _, state in topic.windows
        )


CAPTURE_STEP_SAMPLES: Final = 50_000
"""About how many samples `SnapshotCapture.copy_some` copies in one call (about
a millisecond of array copies): the rest waits for the next loop iteration."""


class CapturedTopic(Protocol):
    """A topic's state as a capture copies it (the Home Assistant layer's `TopicState`)."""

    capture: SnapshotCapture | None
    """The capture that has not copied the topic yet, if any."""

    def export_snapshot(self) -> TopicSnapshot:
        """Copy the topic's windows and what a replay rebuilds, as they are now."""
        ...


class SnapshotCapture:
    """A hub's windows as they were at one moment, copied a few topics at a time.

    Copying a large home's windows at once (4.5 million samples) would hold the
    event loop for tens of milliseconds. A capture is instead armed at the
    moment the snapshot stands for (the journal position it goes with): each
    topic's `capture` then points at it, which costs one attribute per topic.
    `copy_some` copies topics between loop iterations, and whatever is about
    to change a topic not copied yet calls `copy` first (copy on write). So
    every topic is copied as it was when the capture was armed, and the loop
    never waits for more than one step or one topic.

    Topics that appear after arming are not in the snapshot (the journal after
    its position brings them back); a topic dropped meanwhile is copied as it
    was. Only one capture may be armed on a topic at a time.
    """

    def __init__(
        self,
        sources: Iterable[tuple[str, bytes, Iterable[CapturedTopic]]],
        position: JournalPosition,
        taken_at: float,
    ) -> None:
        """Arm: `sources` are (source id, fingerprint, its topics in order)."""
        self.position = position
        self.taken_at = taken_at
        self._sources = [
            (source_id, fingerprint, list(topics))
            for source_id, fingerprint, topics in sources
        ]
        self._copies: dict[int, TopicSnapshot] = {}
        self._topics = [topic for _, _, topics in self._sources for topic in topics]
        self._next = 0
        self._cancelled = False
        self.copied_on_write = 0
        """Topics copied because they were about to change."""
        for topic in self._topics:
            if topic.capture is not None:
                raise RuntimeError("a topic is already being captured")
        for topic in self._topics:
            topic.capture = self

    def copy(self, topic: CapturedTopic) -> None:
        """Copy a topic not copied yet now, before it changes."""
        topic.capture = None
        self._copies[id(topic)] = topic.export_snapshot()
        self.copied_on_write += 1

    def copy_some(self, samples: int = CAPTURE_STEP_SAMPLES) -> bool:
        """Copy topics not copied yet, about `samples` samples; True once all are."""
        topics = self._topics
        copied = 0
        while self._next < len(topics):
            topic = topics[self._next]
            self._next += 1
            if topic.capture is not self:
                continue  # copied on write already
            topic.capture = None
            snapshot = self._copies[id(topic)] = topic.export_snapshot()
            copied += sum(len(state.times) for _, state in snapshot.windows)
            if copied >= samples:
                break
        return self._next >= len(topics)

    def cancel(self) -> None:
        """Disarm: topics not copied yet stop pointing here (the capture is dropped)."""
        for topic in self._topics[self._next :]:
            if topic.capture is self:
                topic.capture = None
        self._next = len(self._topics)
        self._cancelled = True

    def snapshot(self) -> HubSnapshot:
        """The snapshot, once `copy_some` said every topic is copied."""
        if self._cancelled or self._next < len(self._topics):
            raise RuntimeError("the capture was cancelled or is not done yet")
        copies = self._copies
        return HubSnapshot(
            taken_at=self.taken_at,
            position=self.position,
            sources=tuple(
                SourceSnapshot(
                    source_id,
                    fingerprint,
                    tuple(copies[id(topic)] for topic in topics),
                )
                for source_id, fingerprint, topics in self._sources
            ),
        )


def source_fingerprint(
    *,
    topic_filter: str,
    value_path: str,
    words_as_numbers: bool,
    windows: Sequence[float],
    max_samples: int | None,
    max_topics: int,
    ignored: str = "",
    time_path: str = "",
    time_zone: str = "",
) -> bytes:
    """The settings of a source that decide what its windows hold, as 16 bytes.

    A snapshot's windows are restored only into a source with the same
    fingerprint: which topics (`topic_filter`, `max_topics`, and `ignored`, a
    description of the topics the hub never feeds to sources, such as its own
    output), what a payload reads as (`value_path`, `words_as_numbers`), and
    the windows (`windows`, `max_samples`). Unit, name and statistics shown
    are left out: they change no sample. A source dated by the sensor adds
    where it reads the time (`time_path`) and the zone of times written
    without one (`time_zone`); the others' fingerprints are those of before.
    """
    settings: list[Any] = [
        topic_filter,
        value_path,
        words_as_numbers,
        [float(seconds) for seconds in windows],
        max_samples,
        max_topics,
        ignored,
    ]
    if time_path:
        settings += [time_path, time_zone]
    text = json.dumps(
        settings,
        ensure_ascii=True,
        allow_nan=True,
    )
    return blake2b(text.encode(), digest_size=16).digest()


# -- encoding --------------------------------------------------------------------


def _doubles(values: array[float]) -> array[float] | bytes:
    """Doubles as the file stores them (little-endian)."""
    if not _SWAP:  # pragma: no branch - little-endian machines
        return values
    swapped = values[:]  # pragma: no cover
    swapped.byteswap()  # pragma: no cover
    return swapped  # pragma: no cover


def _short(data: bytes) -> bytes:
    if len(data) > 0xFFFF:
        raise ValueError("a field of a snapshot is longer than 65,535 bytes")
    return _U16.pack(len(data)) + data


def _int(value: int) -> bytes:
    size = (value.bit_length() + 8) // 8
    return _short(value.to_bytes(size, "little", signed=True))


def _none_nan(value: float | None) -> float:
    return math.nan if value is None else value


def _parts(snapshot: HubSnapshot) -> Iterator[bytes | array[float]]:
    """The payload, piece by piece (arrays are yielded as they are: no copy)."""
    position = snapshot.position
    yield _POSITION.pack(snapshot.taken_at, position.inode, position.offset)
    yield _short(position.tail)
    yield _U32.pack(len(snapshot.sources))
    for source in snapshot.sources:
        yield _short(source.source_id.encode("utf-8", "surrogateescape"))
        yield _short(source.fingerprint)
        yield _U32.pack(len(source.topics))
        for topic in source.topics:
            yield _short(topic.topic.encode("utf-8", "surrogateescape"))
            payload = topic.last_payload
            if payload is None:
                yield _I32.pack(-1)
            else:
                yield _I32.pack(len(payload)) + payload
            yield _TOPIC_FLOATS.pack(
                _none_nan(topic.last_payload_at),
                _none_nan(topic.last_record_at),
                _none_nan(topic.last_value),
                _none_nan(topic.last_received),
            )
            yield _U16.pack(len(topic.windows))
            for max_age, state in topic.windows:
                yield _SIZES.pack(
                    max_age,
                    len(state.times),
                    state.time_scale,
                    state.value_scale,
                    state.expired_to,
                )
                yield b"".join(_int(value) for value in state.sums)
                yield _doubles(state.times)
                yield _doubles(state.values)
                yield _doubles(state.sorted_values)


def _header(length: int, crc: int) -> bytes:
    return _HEADER.pack(MAGIC, FORMAT_VERSION, 0, length, crc)


def _checked_fields(length: int) -> bytes:
    """The header fields the checksum covers (version, flags, length)."""
    return _HEADER.pack(MAGIC, FORMAT_VERSION, 0, length, 0)[8:20]


def encode(snapshot: HubSnapshot) -> bytes:
    """The snapshot as the bytes of a file (see the module for the layout)."""
    payload = b"".join(bytes(part) for part in _parts(snapshot))
    crc = zlib.crc32(_checked_fields(len(payload)), zlib.crc32(payload))
    return _header(len(payload), crc) + payload


def write_snapshot(
    path: str | os.PathLike[str], snapshot: HubSnapshot
) -> int | SnapshotProblem:
    """Write `snapshot` to `path` atomically; return its size (blocking).

    Streams the arrays to a temporary file next to `path` (nothing is joined
    in memory), computing the checksum on the way, then writes the header,
    syncs and renames over `path`. A failure leaves `path` as it was and is
    returned as a `SnapshotProblem` (kind ``write_failed``).
    """
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("wb") as file:
            file.write(_header(0, 0))
            length = 0
            crc = 0
            for part in _parts(snapshot):
                crc = zlib.crc32(part, crc)
                length += file.write(part)
            crc = zlib.crc32(_checked_fields(length), crc)
            file.seek(0)
            file.write(_header(length, crc))
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(path)
        _sync_folder(path.parent)
    except (OSError, ValueError) as err:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        detail = describe_os_error(err) if isinstance(err, OSError) else str(err)
        return SnapshotProblem(ProblemKind.WRITE_FAILED, detail)
    return HEADER_BYTES + length


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (where the platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - not on Linux
        return
    try:
        with contextlib.suppress(OSError):  # some file systems refuse
            os.fsync(fd)
    finally:
        os.close(fd)


# -- decoding --------------------------------------------------------------------


class _Damaged(Exception):
    """The payload is not what its checksum promised (only a writer's bug)."""


class _Reader:
    """Reads the payload front to back; every length is checked against the rest."""

    __slots__ = ("_data", "_end", "_pos")

    def __init__(self, data: memoryview) -> None:
        self._data = data
        self._pos = 0
        self._end = len(data)

    @property
    def left(self) -> int:
        return self._end - self._pos

    def take(self, size: int) -> memoryview:
        if not 0 <= size <= self._end - self._pos:
            raise _Damaged(f"a field of {size} bytes runs past the end")
        start = self._pos
        self._pos = start + size
        return self._data[start : self._pos]

    def unpack(self, fmt: struct.Struct) -> tuple[float | int | bytes, ...]:
        return fmt.unpack(self.take(fmt.size))

    def count(self, fmt: struct.Struct) -> int:
        (value,) = self.unpack(fmt)
        assert isinstance(value, int)
        return value

    def short(self) -> bytes:
        return bytes(self.take(self.count(_U16)))

    def text(self) -> str:
        return self.short().decode("utf-8", "surrogateescape")

    def integer(self) -> int:
        data = self.short()
        if len(data) > _MAX_INT_BYTES:
            raise _Damaged("an exact sum is too long")
        return int.from_bytes(data, "little", signed=True)

    def doubles(self, count: int) -> array[float]:
        values = array("d")
        values.frombytes(self.take(8 * count))
        if _SWAP:  # pragma: no cover - little-endian machines
            values.byteswap()
        return values


def _nan_none(value: float | int | bytes) -> float | None:
    assert isinstance(value, float)
    return None if math.isnan(value) else value


def _window(reader: _Reader) -> tuple[float, WindowState]:
    max_age, samples, time_scale, value_scale, expired_to = reader.unpack(_SIZES)
    assert isinstance(max_age, float) and isinstance(samples, int)
    assert isinstance(time_scale, int) and isinstance(value_scale, int)
    assert isinstance(expired_to, float)
    if not max_age > 0:
        raise _Damaged(f"a window of {max_age} s")
    if math.isnan(expired_to) or expired_to == math.inf:
        raise _Damaged(f"a window expired to {expired_to}")
    sums = (reader.integer(), reader.integer(), reader.integer(), reader.integer())
    if 24 * samples > reader.left:
        raise _Damaged(f"{samples} samples run past the end")
    state = WindowState(
        times=reader.doubles(samples),
        values=reader.doubles(samples),
        sorted_values=reader.doubles(samples),
        time_scale=time_scale,
        value_scale=value_scale,
        sums=sums,
        expired_to=expired_to,
    )
    return max_age, state


def _topic(reader: _Reader) -> TopicSnapshot:
    topic = reader.text()
    payload_length = reader.count(_I32)
    payload = None if payload_length == -1 else bytes(reader.take(payload_length))
    payload_at, record_at, value, received = reader.unpack(_TOPIC_FLOATS)
    windows = tuple(_window(reader) for _ in range(reader.count(_U16)))
    return TopicSnapshot(
        topic=topic,
        windows=windows,
        last_payload=payload,
        last_payload_at=_nan_none(payload_at),
        last_record_at=_nan_none(record_at),
        last_value=_nan_none(value),
        last_received=_nan_none(received),
    )


def _source(reader: _Reader) -> SourceSnapshot:
    source_id = reader.text()
    fingerprint = reader.short()
    topics = tuple(_topic(reader) for _ in range(reader.count(_U32)))
    return SourceSnapshot(source_id, fingerprint, topics)


def _payload(data: memoryview) -> HubSnapshot:
    reader = _Reader(data)
    taken_at, inode, offset = reader.unpack(_POSITION)
    assert isinstance(taken_at, float)
    assert isinstance(inode, int) and isinstance(offset, int)
    if not math.isfinite(taken_at):
        raise _Damaged("no time")
    tail = reader.short()
    sources = tuple(_source(reader) for _ in range(reader.count(_U32)))
    if reader.left:
        raise _Damaged(f"{reader.left} bytes after the last source")
    return HubSnapshot(taken_at, JournalPosition(inode, offset, tail), sources)


def decode(data: bytes | bytearray | memoryview) -> HubSnapshot | SnapshotProblem:
    """The snapshot in `data` (a whole file), or why there is none. Never raises."""
    return _decode(memoryview(data).cast("B"), parallel=False)


def _decode(view: memoryview, *, parallel: bool) -> HubSnapshot | SnapshotProblem:
    """`decode`; with `parallel`, the checksum runs in a thread meanwhile.

    ``zlib.crc32`` releases the GIL on large buffers, so on a machine with two
    cores or more the checksum costs little beyond the copies decoding makes.
    Nothing decoded is returned unless the checksum matches.
    """
    size = len(view)
    if bytes(view[: len(MAGIC)]) != MAGIC[:size]:
        return SnapshotProblem(ProblemKind.NOT_A_SNAPSHOT, "no snapshot header")
    if size < HEADER_BYTES:
        return SnapshotProblem(ProblemKind.TRUNCATED, f"{size} bytes: no whole header")
    _, version, flags, length, crc = _HEADER.unpack_from(view)
    if version != FORMAT_VERSION:
        return SnapshotProblem(
            ProblemKind.VERSION,
            f"format {version}, this IoTitan reads {FORMAT_VERSION}",
        )
    if HEADER_BYTES + length > size:
        return SnapshotProblem(
            ProblemKind.TRUNCATED, f"{size} of {HEADER_BYTES + length} bytes"
        )
    if HEADER_BYTES + length < size:
        return SnapshotProblem(
            ProblemKind.DAMAGED, f"{size - HEADER_BYTES - length} bytes too many"
        )
    if flags:
        return SnapshotProblem(ProblemKind.DAMAGED, "unknown flags")
    payload = view[HEADER_BYTES:]
    checked: list[int] = []
    checker = threading.Thread(
        target=lambda: checked.append(zlib.crc32(view[8:20], zlib.crc32(payload))),
        name="iotitan snapshot checksum",
    )
    if parallel:
        checker.start()
    else:
        checker.run()
    result: HubSnapshot | SnapshotProblem
    try:
        result = _payload(payload)
    except (_Damaged, ValueError, AssertionError, struct.error) as err:
        result = SnapshotProblem(ProblemKind.DAMAGED, str(err) or type(err).__name__)
    if parallel:
        checker.join()
    payload.release()
    if checked != [crc]:
        return SnapshotProblem(ProblemKind.DAMAGED, "checksum mismatch")
    return result


def read_snapshot(path: str | os.PathLike[str]) -> HubSnapshot | SnapshotProblem:
    """Read the snapshot at `path` (blocking), or say why it cannot be used.

    The file is mapped, not read: its doubles are copied once, from the page
    cache into the windows' arrays, while a thread checks the CRC-32. (The
    snapshot is only ever replaced by a rename, never truncated in place,
    so the mapping cannot lose its pages.)
    """
    try:
        with Path(path).open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size > MAX_SNAPSHOT_BYTES:
                return SnapshotProblem(ProblemKind.TOO_LARGE, f"{size} bytes")
            if size < HEADER_BYTES:
                return decode(file.read(HEADER_BYTES))
            mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
            view = memoryview(mapped)
            try:
                return _decode(view, parallel=True)
            finally:
                view.release()
                with contextlib.suppress(BufferError):  # else closed when collected
                    mapped.close()
    except FileNotFoundError:
        return SnapshotProblem(ProblemKind.MISSING)
    except OSError as err:
        return SnapshotProblem(ProblemKind.UNREADABLE, describe_os_error(err))
