"""Restart from a snapshot: restore time against the time to read the file.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_snapshot           # about a minute
    .venv/bin/python -m benchmarks.bench_snapshot --quick   # 50 large-home topics

What a hub does at start with a snapshot, measured in one run (best of
``--repeat`` runs of each, the file in the page cache for both, as it is at a
restart that follows a stop):

1. The large home: 500 topics, a reading every 10 s, windows of 1 h and 24 h
   on each (361 and 8,641 samples: about 4.5 million samples), fed 25 h of
   readings so that the windows are full and have expired samples. Printed:
   the capture on the event loop: every window's `export_state` in one go, and
   the hub's way (`SnapshotCapture`, a step of about `CAPTURE_STEP_SAMPLES`
   samples per loop iteration), its longest step against the copy in one go;
   the encoding and atomic write (executor), the file size, the time to merely read the file
   (open and read its bytes), and the restore (`read_snapshot`: read, check
   the CRC-32, decode; then `SlidingWindow.from_state` for every window) and
   its ratio to the bare read. Targets: at most x3 the read and at most 10 s.
2. 100 topics with one 1 h window at 1 Hz (3,601 samples each, 360,100 in
   all): the restore. Target: at most 0.5 s.

Times are printed, never asserted (a shared machine's timings vary).
"""

from __future__ import annotations

import argparse
from pathlib import Path
import random
import sys
import tempfile
import time

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_components.iotitan.engine.journal import JournalPosition
from custom_components.iotitan.engine.snapshot import (
    CAPTURE_STEP_SAMPLES,
    HubSnapshot,
    SnapshotCapture,
    TopicSnapshot,
    read_snapshot,
    write_snapshot,
)
from custom_components.iotitan.engine.window import SlidingWindow

START = 1_700_000_000.0
LARGE_HOME_TOPICS = 500
LARGE_HOME_PERIOD = 10.0
LARGE_HOME_WINDOWS = (3600.0, 86400.0)
LARGE_HOME_FED = 25 * 3600.0
SMALL_TOPICS = 100
SMALL_PERIOD = 1.0
SMALL_WINDOWS = (3600.0,)
SMALL_FED = 3700.0
TARGET_RATIO = 3.0
TARGET_LARGE_SECONDS = 10.0
TARGET_SMALL_SECONDS = 0.5


class Topic:
    """A topic's windows as `TopicState` keeps them (what a capture copies)."""

    def __init__(self, name: str, windows: dict[float, SlidingWindow]) -> None:
        self.name = name
        self.windows = windows
        self.capture: SnapshotCapture | None = None

    def export_snapshot(self) -> TopicSnapshot:
        return TopicSnapshot(
            topic=self.name,
            windows=tuple(
                (seconds, window.export_state())
                for seconds, window in self.windows.items()
            ),
            last_payload=b"20.5",
            last_payload_at=START,
            last_record_at=START,
            last_value=20.5,
            last_received=START,
        )


def build_topics(
    topics: int, period: float, windows: tuple[float, ...], fed: float
) -> list[Topic]:
    """Windows as `TopicState` keeps them, fed temperature-like readings."""
    rng = random.Random(1)
    built = []
    steps = int(fed / period)
    for topic in range(topics):
        topic_windows = {seconds: SlidingWindow(seconds) for seconds in windows}
        value = rng.uniform(10, 25)
        for step in range(steps):
            value = round(value + rng.gauss(0, 0.05), 2)
            when = START + step * period + topic * 0.001
            for window in topic_windows.values():
                window.add(when, value)
        built.append(Topic(f"home/room{topic}/temperature", topic_windows))
    return built


def arm(built: list[Topic]) -> SnapshotCapture:
    return SnapshotCapture(
        [("source", b"\0" * 16, built)],
        JournalPosition(1, 2, b"x\n"),
        START + LARGE_HOME_FED,
    )


def capture_at_once(built: list[Topic]) -> HubSnapshot:
    """Every window's state copied in one go (the loop waits for all of it)."""
    capture = arm(built)
    capture.copy_some(samples=sys.maxsize)
    return capture.snapshot()


def capture_in_steps(built: list[Topic]) -> tuple[float, int]:
    """The hub's way: one step per loop iteration. The longest step, the steps."""
    capture = arm(built)
    longest = 0.0
    steps = 0
    done = False
    while not done:
        began = time.perf_counter()
        done = capture.copy_some()
        longest = max(longest, time.perf_counter() - began)
        steps += 1
    capture.snapshot()
    return longest, steps


def read_bare(path: Path) -> int:
    """Only read the file's bytes: the floor a restore is compared with."""
    with path.open("rb") as file:
        return len(file.read())


def restore(path: Path) -> int:
    """Read, check and decode the file, then rebuild every window."""
    snapshot = read_snapshot(path)
    assert isinstance(snapshot, HubSnapshot), snapshot
    samples = 0
    for source in snapshot.sources:
        for topic in source.topics:
            for seconds, state in topic.windows:
                window = SlidingWindow.from_state(seconds, None, state)
                samples += len(window)
    return samples


def best(repeat: int, func, *args):  # type: ignore[no-untyped-def]
    """The best time of `repeat` calls, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        began = time.perf_counter()
        result = func(*args)
        times.append(time.perf_counter() - began)
    return min(times), result


def measure(
    label: str,
    built: list[Topic],
    folder: Path,
    repeat: int,
) -> tuple[float, float]:
    """Print the figures of one home; return (restore seconds, ratio to the read)."""
    path = folder / f"{label}.bin"
    capture_s, snapshot = best(repeat, capture_at_once, built)
    longest_step = min(capture_in_steps(built)[0] for _ in range(repeat))
    steps = capture_in_steps(built)[1]
    write_s, size = best(1, write_snapshot, path, snapshot)
    assert isinstance(size, int), size
    read_s, _ = best(repeat, read_bare, path)
    restore_s, samples = best(repeat, restore, path)
    ratio = restore_s / read_s
    print(
        f"{label}: {len(built)} topics, {samples:,} samples, file {size / 2**20:.1f} MiB "
        f"({size / samples:.1f} bytes/sample)"
    )
    print(
        f"  capture: in one go {capture_s * 1000:.1f} ms; the hub's way {steps} steps"
        f" of about {CAPTURE_STEP_SAMPLES:,} samples, the longest"
        f" {longest_step * 1000:.1f} ms = x{longest_step / capture_s:.2f} the"
        " loop's wait for one go"
    )
    print(
        f"  encode and write {write_s * 1000:.0f} ms; read the file"
        f" {read_s * 1000:.1f} ms; restore {restore_s * 1000:.1f} ms ="
        f" x{ratio:.2f} the read"
    )
    return restore_s, ratio


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="50 large-home topics")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timing")
    args = parser.parse_args()
    topics = 50 if args.quick else LARGE_HOME_TOPICS
    print(f"Python {sys.version.split()[0]}; best of {args.repeat}; page cache warm")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        began = time.perf_counter()
        large = build_topics(
            topics, LARGE_HOME_PERIOD, LARGE_HOME_WINDOWS, LARGE_HOME_FED
        )
        print(f"(large home fed in {time.perf_counter() - began:.0f} s)")
        large_s, ratio = measure("large home", large, folder, args.repeat)
        del large
        if topics != LARGE_HOME_TOPICS:
            print(f"  (--quick: {topics} of {LARGE_HOME_TOPICS} topics)")
        print(
            f"  target: restore at most x{TARGET_RATIO:.0f} the read: "
            f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}; at most "
            f"{TARGET_LARGE_SECONDS:.0f} s: "
            f"{'met' if large_s <= TARGET_LARGE_SECONDS else 'NOT met'}"
        )
        small = build_topics(SMALL_TOPICS, SMALL_PERIOD, SMALL_WINDOWS, SMALL_FED)
        small_s, _ = measure("100 topics, 1 h at 1 Hz", small, folder, args.repeat)
        print(
            f"  target: restore at most {TARGET_SMALL_SECONDS} s: "
            f"{'met' if small_s <= TARGET_SMALL_SECONDS else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
