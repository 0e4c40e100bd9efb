"""Memory of the sliding windows: bytes per sample, and the large home's windows.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_memory           # about 4 minutes
    .venv/bin/python -m benchmarks.bench_memory --quick   # about 30 s
    .venv/bin/python -m benchmarks.bench_memory --topics 500   # every topic, ~10 min

Everything is measured with tracemalloc: what is still allocated, of what was
allocated since tracing started, once the windows are fed. Windows are fed past
their length, so that every sample has been replaced once and the arrays'
growth margins are those of a window that has been running, not of one just
filled. Under tracemalloc a sample costs about seven times its usual CPU time,
hence the run time.

1. One window of 1,000,000 samples (1 Hz, ``max_age`` 999,999 s), fed
   2,000,000 temperature-like readings (0.01 resolution), the six common
   statistics of a sensor (mean, median, minimum, maximum, standard deviation,
   95th percentile) read every 1,000 samples as its entities would: bytes per
   sample. Target: at most 48.
2. The same through the layout windows had before their samples moved to
   arrays (``PreviousLayout``: a deque of ``(timestamp, value)`` tuples and a
   ``SortedList`` referencing the same value floats; the running sums, a
   handful of ints, left out): bytes per sample, and the ratio.
3. The large home: 500 topics, a reading every 10 s, windows of 1 h and 24 h on
   each topic (361 and 8,641 samples: a sample exactly ``max_age`` old stays),
   as ``TopicState`` builds them (one ``SlidingWindow`` per duration, both fed
   every reading), fed 48 h of readings. Topics are measured one at a time (the
   first ``--topics`` of them, 10 by default) and the total is scaled to 500:
   every topic has the same windows and a stream of the same kind. Target: at
   most 250 MiB.

``--quick`` measures 200,000 samples in (1) and (2) and 4 topics in (3).
"""

from __future__ import annotations

import argparse
from collections import deque
from collections.abc import Iterator
import math
from pathlib import Path
import random
import sys
import time
import tracemalloc

from sortedcontainers import SortedList

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_components.iotitan.engine.window import SlidingWindow, Statistic

MiB = 1024 * 1024
START = 1_700_000_000.0
TARGET_BYTES_PER_SAMPLE = 48
TARGET_LARGE_HOME_MIB = 250
LARGE_HOME_TOPICS = 500
LARGE_HOME_PERIOD = 10.0  # seconds between readings
LARGE_HOME_WINDOWS = (3600.0, 86400.0)
SIX_STATISTICS: tuple[tuple[Statistic, int], ...] = (
    (Statistic.MEAN, 50),
    (Statistic.MEDIAN, 50),
    (Statistic.VALUE_MIN, 50),
    (Statistic.VALUE_MAX, 50),
    (Statistic.STANDARD_DEVIATION, 50),
    (Statistic.PERCENTILE, 95),
)


class PreviousLayout:
    """The samples as windows kept them before they moved to arrays.

    A deque of ``(timestamp, value)`` tuples and a ``SortedList`` of the same
    value floats (shared, as ``SlidingWindow.add`` shared them), expiring as the
    window does. The running sums are left out: a handful of ints.
    """

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self.samples: deque[tuple[float, float]] = deque()
        self.sorted: SortedList[float] = SortedList()

    def __len__(self) -> int:
        return len(self.samples)

    def add(self, timestamp: float, value: float) -> None:
        value = float(value) + 0.0
        samples = self.samples
        samples.append((timestamp, value))
        self.sorted.add(value)
        while timestamp - samples[0][0] > self.max_age:
            self.sorted.remove(samples.popleft()[1])


def readings(seed: int) -> Iterator[float]:
    """Temperature-like readings without end: a slow cycle, noise, 0.01 steps."""
    rng = random.Random(seed)
    gauss = rng.gauss
    offset = rng.uniform(-5.0, 25.0)
    i = 0
    while True:
        yield round(offset + 5.0 * math.sin(i / 8640.0) + gauss(0.0, 0.3), 2)
        i += 1


def window_bytes_per_sample(samples: int, previous: bool) -> tuple[float, float]:
    """Bytes per sample of one window of `samples`, fed twice that; and seconds."""
    began = time.perf_counter()
    values = readings(seed=samples)
    tracemalloc.start()
    window: SlidingWindow | PreviousLayout
    if previous:
        window = PreviousLayout(float(samples - 1))
    else:
        window = SlidingWindow(float(samples - 1))
    for i in range(2 * samples):
        window.add(START + i, next(values))
        if not previous and i % 1000 == 999:
            assert isinstance(window, SlidingWindow)
            for statistic, percentile in SIX_STATISTICS:
                window.value(statistic, percentile)
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(window) == samples
    return size / samples, time.perf_counter() - began


def topic_bytes(topic: int) -> tuple[int, int]:
    """Bytes of one large-home topic's windows after 48 h; and their samples."""
    values = readings(seed=1000 + topic)
    steps = int(2 * max(LARGE_HOME_WINDOWS) / LARGE_HOME_PERIOD)
    start = START + topic  # topics are not in step
    tracemalloc.start()
    windows = [SlidingWindow(seconds) for seconds in LARGE_HOME_WINDOWS]
    for i in range(steps):
        timestamp = start + i * LARGE_HOME_PERIOD
        value = next(values)
        for window in windows:
            window.add(timestamp, value)
        if i % 60 == 59:  # the entities read them every 10 minutes or so
            for window in windows:
                for statistic, percentile in SIX_STATISTICS:
                    window.value(statistic, percentile)
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return size, sum(len(window) for window in windows)


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument(
        "--topics",
        type=int,
        default=None,
        help=f"large-home topics to measure (1..{LARGE_HOME_TOPICS})",
    )
    args = parser.parse_args()
    samples = 200_000 if args.quick else 1_000_000
    topics = args.topics or (4 if args.quick else 10)
    if not 1 <= topics <= LARGE_HOME_TOPICS:
        parser.error(f"--topics must be in 1..{LARGE_HOME_TOPICS}")
    began = time.perf_counter()
    print(
        f"Python {sys.version.split()[0]}; tracemalloc; windows fed twice their length"
    )

    now, now_s = window_bytes_per_sample(samples, previous=False)
    before, before_s = window_bytes_per_sample(samples, previous=True)
    met = now <= TARGET_BYTES_PER_SAMPLE
    print(
        f"one window, {samples:,} samples, six statistics: {now:.1f} bytes/sample "
        f"({now_s:.0f} s); previous layout {before:.1f} bytes/sample ({before_s:.0f} s);"
        f" x{before / now:.2f} smaller"
    )
    print(
        f"  target: at most {TARGET_BYTES_PER_SAMPLE} bytes/sample: "
        f"{'met' if met else 'NOT met'}"
    )

    sizes = []
    held = 0
    for topic in range(topics):
        size, held = topic_bytes(topic)
        sizes.append(size)
    total = sum(sizes) * LARGE_HOME_TOPICS / topics
    samples_total = held * LARGE_HOME_TOPICS
    met = total <= TARGET_LARGE_HOME_MIB * MiB
    print(
        f"large home: {LARGE_HOME_TOPICS} topics x windows of 1 h and 24 h at one "
        f"reading per {LARGE_HOME_PERIOD:.0f} s = {samples_total:,} samples: "
        f"{total / MiB:.1f} MiB ({total / samples_total:.1f} bytes/sample)"
    )
    print(
        f"  measured on {topics} of the {LARGE_HOME_TOPICS} topics, scaled: per topic "
        f"{min(sizes) / 1024:.0f} to {max(sizes) / 1024:.0f} KiB"
    )
    print(
        f"  target: at most {TARGET_LARGE_HOME_MIB} MiB: {'met' if met else 'NOT met'};"
        f" total {time.perf_counter() - began:.0f} s"
    )


if __name__ == "__main__":
    main()
