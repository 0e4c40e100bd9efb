"""Benchmark late samples: ``SlidingWindow.insert`` against appending with ``add``.

Run from the repository root::

    .venv/bin/python benchmarks/bench_window_insert.py

For windows of about 100, 1,000 and 10,000 samples, a stream in which every
second brings one sample in time order (``add``) and one sample measured ``d``
seconds earlier (``insert``, late), for ``d`` from 1.5 s to 90 % of the window:
the late sample's cost is a bisection, the exact area update and one array
insertion, a ``memmove`` of the samples newer than it (16 bytes each), so it
grows with how far back it goes. Only the ``insert`` calls are timed (a
``perf_counter`` pair each, about 0.1 µs, included); the in-order ``add`` and
``insert`` rows time the calls of a stream in time order the same way. Rates
are calls per second, the median of several rounds.
"""

from __future__ import annotations

import math
from pathlib import Path
import random
import statistics
import sys
import time

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_components.iotitan.engine.window import SlidingWindow

SIZES = (100, 1_000, 10_000)
LATE_FRACTIONS = (0.0, 0.1, 0.5, 0.9)  # d = max(1 s, fraction * window)
ROUNDS = 5
CALLS = 4_000  # timed calls a round
START = 1_700_000_000.0


def readings(count: int, seed: int) -> list[float]:
    """Temperature-like readings at 0.01 resolution."""
    rng = random.Random(seed)
    return [round(20.0 + rng.gauss(0.0, 0.3), 2) for _ in range(count)]


def in_order(size: int, use_insert: bool, values: list[float]) -> float:
    """Calls a second of add (or insert) in time order, window of ``size`` at 1 Hz."""
    window = SlidingWindow(float(size - 1))
    for i in range(size):
        window.add(START + i, values[i])
    call = window.insert if use_insert else window.add
    perf = time.perf_counter
    t = START + size
    spent = 0.0
    for value in values[size : size + CALLS]:
        begin = perf()
        call(t, value)
        spent += perf() - begin
        t += 1.0
    assert len(window) == size
    return CALLS / spent


def late(size: int, back: float, values: list[float]) -> float:
    """Late inserts a second, ``back + 0.5`` s back, between in-order samples.

    Two samples a second (one in order, one late) in a window of ``size / 2``
    seconds: up to ``size`` samples (fewer the further back the late ones
    go, as they leave the window sooner).
    """
    window = SlidingWindow(float(size // 2 - 1))
    perf = time.perf_counter
    t = START
    spent = 0.0
    for n, value in enumerate(values[: size // 2 + CALLS]):
        window.add(t, value)
        if n >= back:
            begin = perf()
            inserted = window.insert(t - back - 0.5, value)
            if n >= size // 2:  # the window is full: time it
                spent += perf() - begin
            assert inserted
        t += 1.0
    assert size // 2 <= len(window) <= size, len(window)
    return CALLS / spent


def main() -> None:
    """Run all sizes and print a table."""
    print(f"{'window':>8} {'stream':>26} {'calls/s':>12}   (median of {ROUNDS})")
    begin = time.perf_counter()
    for size in SIZES:
        values = readings(size + CALLS + 10, seed=size)
        rows: list[tuple[str, list[float]]] = [
            ("add, in order", [in_order(size, False, values) for _ in range(ROUNDS)]),
            ("insert, in order", [in_order(size, True, values) for _ in range(ROUNDS)]),
        ]
        for fraction in LATE_FRACTIONS:
            back = max(1, math.floor(fraction * (size // 2)))
            rows.append(
                (
                    f"insert, {back + 0.5:,.1f} s late",
                    [late(size, back, values) for _ in range(ROUNDS)],
                )
            )
        for name, rates in rows:
            print(f"{size:>8,} {name:>26} {statistics.median(rates):>12,.0f}")
    print(f"total {time.perf_counter() - begin:.1f} s")


if __name__ == "__main__":
    main()
