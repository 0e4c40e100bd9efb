"""Hub snapshots: the file format, atomic writes, and damaged files.

A snapshot read back must be the snapshot written, field for field and
array for array (compared as bytes); a file that is not one (truncated at any
offset, any byte flipped, another version, trailing bytes) must give a
`SnapshotProblem`, never an exception and never a snapshot.
"""

from __future__ import annotations

from array import array
import dataclasses
from pathlib import Path
import random
import struct
import zlib

import pytest

from custom_components.iotitan.engine import snapshot as snapshot_module
from custom_components.iotitan.engine.journal import JournalPosition
from custom_components.iotitan.engine.snapshot import (
    FORMAT_VERSION,
    HEADER_BYTES,
    MAGIC,
    HubSnapshot,
    ProblemKind,
    SnapshotProblem,
    SourceSnapshot,
    TopicSnapshot,
    decode,
    encode,
    read_snapshot,
    source_fingerprint,
    write_snapshot,
)
from custom_components.iotitan.engine.window import SlidingWindow, WindowState


def window_state(seed: int, samples: int, max_age: float = 3600.0) -> WindowState:
    rng = random.Random(seed)
    window = SlidingWindow(max_age)
    for i in range(samples):
        window.add(
            1_700_000_000 + i * 10.5, rng.choice([rng.gauss(20, 5), 1e-300, 1e9 + 0.1])
        )
    return window.export_state()


def sample_snapshot(samples: int = 5) -> HubSnapshot:
    topics = (
        TopicSnapshot(
            topic="home/kitchen/temp",
            windows=(
                (3600.0, window_state(1, samples)),
                (60.0, window_state(2, 3, 60.0)),
            ),
            last_payload=b"21.5",
            last_payload_at=1_700_000_100.25,
            last_record_at=1_700_000_101.0,
            last_value=21.5,
            last_received=1_700_000_100.25,
        ),
        TopicSnapshot(
            topic="home/caf\u00e9/\udcff",  # not UTF-8 in the topic: kept as is
            windows=((3600.0, SlidingWindow(3600.0).export_state()),),
            last_payload=None,
            last_payload_at=None,
            last_record_at=None,
            last_value=None,
            last_received=None,
        ),
    )
    return HubSnapshot(
        taken_at=1_700_000_200.5,
        position=JournalPosition(123456789, 4096, b"...\n"),
        sources=(
            SourceSnapshot("01JSOURCE", b"\x01" * 16, topics),
            SourceSnapshot("empty", b"", ()),
        ),
    )


def as_plain(snapshot: HubSnapshot) -> object:
    """The snapshot with arrays as bytes (arrays of NaN-free doubles compare fine,
    but bytes also tell -0.0 from 0.0)."""

    def plain(value: object) -> object:
        if isinstance(value, array):
            return (value.typecode, value.tobytes())
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {
                f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
            }
        if isinstance(value, tuple):
            return tuple(plain(item) for item in value)
        return value

    return plain(snapshot)


def test_round_trip_in_memory_and_through_a_file(tmp_path: Path) -> None:
    snapshot = sample_snapshot(200)
    data = encode(snapshot)
    assert data[:8] == MAGIC
    decoded = decode(data)
    assert isinstance(decoded, HubSnapshot)
    assert as_plain(decoded) == as_plain(snapshot)
    assert decoded.topics == 2
    assert decoded.samples == 200 + 3
    path = tmp_path / "hub" / "snapshot.bin"
    size = write_snapshot(path, snapshot)
    assert size == len(data) == path.stat().st_size
    assert path.read_bytes() == data  # streamed = joined
    assert not (tmp_path / "hub" / "snapshot.bin.tmp").exists()
    read = read_snapshot(path)
    assert isinstance(read, HubSnapshot)
    assert as_plain(read) == as_plain(snapshot)


def test_a_restored_window_from_the_file_equals_the_original() -> None:
    window = SlidingWindow(3600.0)
    rng = random.Random(7)
    for i in range(3000):
        window.add(1_700_000_000 + i * 1.5, round(rng.gauss(20, 3), 2))
    snapshot = HubSnapshot(
        1.0,
        JournalPosition(0, 0, b""),
        (
            SourceSnapshot(
                "s",
                b"",
                (
                    TopicSnapshot(
                        "t",
                        ((3600.0, window.export_state()),),
                        None,
                        None,
                        None,
                        None,
                        None,
                    ),
                ),
            ),
        ),
    )
    decoded = decode(encode(snapshot))
    assert isinstance(decoded, HubSnapshot)
    state = decoded.sources[0].topics[0].windows[0][1]
    restored = SlidingWindow.from_state(3600.0, None, state)
    assert list(restored) == list(window)
    assert restored.export_state().sums == window.export_state().sums


def test_truncated_at_every_offset_is_a_problem() -> None:
    data = encode(sample_snapshot(3))
    for cut in range(len(data)):
        result = decode(data[:cut])
        assert isinstance(result, SnapshotProblem), cut
        assert result.kind is ProblemKind.TRUNCATED, (cut, result)


def test_every_flipped_byte_is_a_problem() -> None:
    data = encode(sample_snapshot(3))
    for at in range(len(data)):
        for mask in (0x01, 0x80, 0xFF):
            damaged = bytearray(data)
            damaged[at] ^= mask
            result = decode(bytes(damaged))
            assert isinstance(result, SnapshotProblem), (at, mask)


def test_garbage_behind_a_valid_checksum_never_raises() -> None:
    """A writer's bug (content wrong, checksum right) still gives a value."""
    data = encode(sample_snapshot(3))
    rng = random.Random(3)
    outcomes = set()
    for at in range(HEADER_BYTES, len(data)):
        damaged = bytearray(data)
        damaged[at] = rng.randrange(256)
        payload = bytes(damaged[HEADER_BYTES:])
        crc = zlib.crc32(damaged[8:20], zlib.crc32(payload))
        damaged[20:24] = struct.pack("<I", crc)
        result = decode(bytes(damaged))
        outcomes.add(type(result).__name__)
    assert "SnapshotProblem" in outcomes  # lengths that run past the end


def test_other_version_magic_and_trailing_bytes() -> None:
    data = bytearray(encode(sample_snapshot(3)))
    other = bytearray(data)
    other[8:10] = struct.pack("<H", FORMAT_VERSION + 1)
    result = decode(bytes(other))
    assert isinstance(result, SnapshotProblem) and result.kind is ProblemKind.VERSION
    assert str(FORMAT_VERSION + 1) in str(result)
    result = decode(b"GARBAGE!" + bytes(data[8:]))
    assert isinstance(result, SnapshotProblem)
    assert result.kind is ProblemKind.NOT_A_SNAPSHOT
    result = decode(bytes(data) + b"\0")
    assert isinstance(result, SnapshotProblem) and result.kind is ProblemKind.DAMAGED
    result = decode(b"")
    assert isinstance(result, SnapshotProblem) and result.kind is ProblemKind.TRUNCATED


def test_missing_unreadable_and_too_large(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = read_snapshot(tmp_path / "none.bin")
    assert missing == SnapshotProblem(ProblemKind.MISSING)
    assert str(missing) == "missing"
    (tmp_path / "dir.bin").mkdir()
    unreadable = read_snapshot(tmp_path / "dir.bin")
    assert isinstance(unreadable, SnapshotProblem)
    assert unreadable.kind is ProblemKind.UNREADABLE
    path = tmp_path / "s.bin"
    assert isinstance(write_snapshot(path, sample_snapshot(3)), int)
    monkeypatch.setattr(snapshot_module, "MAX_SNAPSHOT_BYTES", path.stat().st_size - 1)
    too_large = read_snapshot(path)
    assert isinstance(too_large, SnapshotProblem)
    assert too_large.kind is ProblemKind.TOO_LARGE


def test_a_failed_write_keeps_the_previous_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.bin"
    first = sample_snapshot(3)
    assert isinstance(write_snapshot(path, first), int)
    before = path.read_bytes()
    too_long = dataclasses.replace(
        first, sources=(SourceSnapshot("x" * 70_000, b"", ()),)
    )
    result = write_snapshot(path, too_long)
    assert isinstance(result, SnapshotProblem)
    assert result.kind is ProblemKind.WRITE_FAILED
    assert path.read_bytes() == before
    assert not (tmp_path / "snapshot.bin.tmp").exists()
    (tmp_path / "blocked").write_bytes(b"")  # a file where the folder should be
    result = write_snapshot(tmp_path / "blocked" / "snapshot.bin", first)
    assert isinstance(result, SnapshotProblem)
    assert result.kind is ProblemKind.WRITE_FAILED


def test_fingerprint_changes_with_every_setting_that_decides_the_samples() -> None:
    base = {
        "topic_filter": "home/+/temp",
        "value_path": "",
        "words_as_numbers": False,
        "windows": (3600.0, 86400.0),
        "max_samples": None,
        "max_topics": 100,
        "ignored": "iotitan",
    }
    fingerprint = source_fingerprint(**base)  # type: ignore[arg-type]
    assert len(fingerprint) == 16
    assert source_fingerprint(**base) == fingerprint  # type: ignore[arg-type]
    changed = {
        "topic_filter": "home/#",
        "value_path": "temp",
        "words_as_numbers": True,
        "windows": (3600.0,),
        "max_samples": 10,
        "max_topics": 101,
        "ignored": "other",
    }
    seen = {fingerprint}
    for key, value in changed.items():
        other = source_fingerprint(**{**base, key: value})  # type: ignore[arg-type]
        assert other not in seen, key
        seen.add(other)
    # Whole seconds as ints or floats are the same windows.
    assert source_fingerprint(**{**base, "windows": (3600, 86400)}) == fingerprint  # type: ignore[arg-type]


def test_damaged_files_on_disk(tmp_path: Path) -> None:
    """The same checks through the mapped file (the checksum in a thread)."""
    path = tmp_path / "snapshot.bin"
    assert isinstance(write_snapshot(path, sample_snapshot(50)), int)
    data = path.read_bytes()
    for cut in (0, 5, HEADER_BYTES - 1, HEADER_BYTES, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        result = read_snapshot(path)
        assert isinstance(result, SnapshotProblem), cut
        assert result.kind is ProblemKind.TRUNCATED, (cut, result)
    for at in (HEADER_BYTES + 3, len(data) // 2, len(data) - 1):
        damaged = bytearray(data)
        damaged[at] ^= 0x10
        path.write_bytes(bytes(damaged))
        result = read_snapshot(path)
        assert result == SnapshotProblem(ProblemKind.DAMAGED, "checksum mismatch")
    path.write_bytes(data)
    assert isinstance(read_snapshot(path), HubSnapshot)
