"""A hub's snapshot: its sources' windows saved, and restored at start.

The hub writes `snapshot.bin` in its journal folder every `SNAPSHOT_INTERVAL`
and when it stops, at a moment when the journal holds exactly the records that
made the windows (`JournalWriter.clean_position`). At start `load_snapshot`
(in the executor) reads it, checks it against the sources, rebuilds the
windows and reads the journal written after it; the hub then feeds those
records through the same path as a full replay. Anything that makes the
snapshot unusable is a reason, and the hub replays the whole journal instead.

Why the whole hub falls back when one source does not match (a source added
or changed while Home Assistant was stopped, which is rare: sources changed
while it runs are in the next snapshot): a source without a snapshot needs the
journal read from its longest window back anyway, and reading the journal is
most of a full replay's cost; mixing restored and replayed sources would add
a second path whose equivalence must be kept, for little gain.
"""

from __future__ import annotations

from collections.abc import Mapping
import contextlib
from dataclasses import dataclass
from pathlib import Path
import sys
import time

from .engine.journal import (
    JournalPosition,
    PositionNotFound,
    ReplayResult,
    read_after,
)
from .engine.snapshot import (
    HubSnapshot,
    SnapshotCapture,
    SnapshotProblem,
    read_snapshot,
)
from .engine.window import SlidingWindow
from .source import FUTURE_SLACK, SensorSource

SNAPSHOT_FILE = "snapshot.bin"
SNAPSHOT_INTERVAL = 600.0
"""Seconds between snapshots while the hub runs (and one at stop)."""


def ignored_topics(prefix: str, legacy: bool) -> str:
    """What the hub never feeds to sources (its own output), for fingerprints."""
    return f"output:{prefix}:{'legacy' if legacy else 'default'}"


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """What `load_snapshot` needs of a source (plain values, for the executor)."""

    fingerprint: bytes
    windows: tuple[float, ...]
    max_samples: int | None


@dataclass(slots=True)
class Restored:
    """A usable snapshot: windows rebuilt, and the journal records after it."""

    snapshot: HubSnapshot
    windows: dict[str, dict[str, dict[float, SlidingWindow]]]
    """source id -> topic -> the topic's windows, in the source's order."""
    records: ReplayResult
    size: int
    seconds: float
    """Reading, checking and rebuilding the windows."""

    @property
    def samples(self) -> int:
        """Samples restored."""
        return sum(
            len(window)
            for topics in self.windows.values()
            for windows in topics.values()
            for window in windows.values()
        )


def remove_snapshot(path: Path) -> None:
    """Delete a snapshot that must not be used (blocking; an error is ignored)."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def source_settings(
    sources: Mapping[str, SensorSource], ignored: str
) -> dict[str, SourceSettings]:
    """The sources as `load_snapshot` compares and rebuilds them."""
    return {
        source_id: SourceSettings(
            source.fingerprint(ignored),
            source.config.windows,
            source.config.max_samples,
        )
        for source_id, source in sources.items()
    }


def begin_capture(
    sources: Mapping[str, SensorSource],
    ignored: str,
    position: JournalPosition,
    taken_at: float,
) -> SnapshotCapture:
    """Arm a capture of every source's windows as they are now (see `SnapshotCapture`)."""
    return SnapshotCapture(
        (
            (source_id, source.fingerprint(ignored), source.topics.values())
            for source_id, source in sources.items()
        ),
        position,
        taken_at,
    )


def capture(
    sources: Mapping[str, SensorSource],
    ignored: str,
    position: JournalPosition,
    taken_at: float,
) -> HubSnapshot:
    """Copy every source's windows now, in one go."""
    armed = begin_capture(sources, ignored, position, taken_at)
    armed.copy_some(samples=sys.maxsize)
    return armed.snapshot()


def load_snapshot(
    path: Path,
    journal: Path,
    settings: Mapping[str, SourceSettings],
    now: float,
    since: float,
) -> Restored | str:
    """Read the snapshot and the journal after it, or say why not (blocking).

    Returns a reason (for the log and diagnostics) when the snapshot is
    missing, damaged, of another format, taken later than `now` (the clock
    stepped back), older than `since` (nothing in it would stay: the full
    replay reads less), lacks a source or holds one whose settings changed,
    or when the journal no longer holds its position or holds records after it
    that are older than the snapshot's newest (an import).
    """
    began = time.monotonic()
    snapshot = read_snapshot(path)
    if isinstance(snapshot, SnapshotProblem):
        return f"snapshot {snapshot}"
    if snapshot.taken_at > now + FUTURE_SLACK:
        return "snapshot taken later than now (the clock stepped back)"
    if snapshot.taken_at < since:
        return "snapshot older than the longest window"
    saved = {source.source_id: source for source in snapshot.sources}
    windows: dict[str, dict[str, dict[float, SlidingWindow]]] = {}
    for source_id, wanted in settings.items():
        source = saved.get(source_id)
        if source is None:
            return f"no snapshot of source {source_id} (added since)"
        if source.fingerprint != wanted.fingerprint:
            return f"settings of source {source_id} changed since the snapshot"
        topics: dict[str, dict[float, SlidingWindow]] = {}
        for topic in source.topics:
            states = dict(topic.windows)
            try:
                topics[topic.topic] = {
                    seconds: SlidingWindow.from_state(
                        seconds, wanted.max_samples, states[seconds]
                    )
                    for seconds in wanted.windows
                }
            except (KeyError, ValueError) as err:
                return f"snapshot damaged: {topic.topic}: {err!r}"
        windows[source_id] = topics
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    seconds = time.monotonic() - began
    records = read_after(journal, snapshot.position, since)
    if isinstance(records, PositionNotFound):
        return f"journal position of the snapshot not found: {records.reason}"
    newest = max(
        (
            topic.last_record_at
            for source in snapshot.sources
            for topic in source.topics
            if topic.last_record_at is not None
        ),
        default=None,
    )
    if records.records and newest is not None and records.records[0].timestamp < newest:
        # Appended after the snapshot but older than what it holds (an
        # import): only a replay in time order puts them where they belong.
        return "the journal has records older than the snapshot after its position"
    return Restored(snapshot, windows, records, size, seconds)
