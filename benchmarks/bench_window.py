"""Benchmark the sliding window against core's recompute-everything approach.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_window
    .venv/bin/python benchmarks/bench_window.py

For windows of 100, 1,000 and 10,000 samples: fill a window, then feed a stream
of 1 Hz samples (so each one also expires the oldest) and, after each sample,
read the statistics a typical sensor exposes. The naive side keeps core's two
deques and calls the reference copy of core's functions (``tests/engine/
reference.py``) once per statistic, as one core ``statistics`` sensor per
statistic would. Each side runs for a fixed time budget, so the whole run takes
well under a minute on a slow machine; rates are samples per second.
"""

from __future__ import annotations

from collections import deque
import math
from pathlib import Path
import random
import sys
import time

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_components.iotitan.engine.window import (
    SlidingWindow,
    Statistic,
)
from tests.engine.reference import CORE

SIZES = (100, 1_000, 10_000)
ENGINE_BUDGET_S = 1.5  # per size
NAIVE_BUDGET_S = 3.0  # per size
MIN_NAIVE_SAMPLES = 5
TARGET_RATIO_AT_10K = 100.0
START = 1_700_000_000.0

# (statistic, percentile) as a typical sensor exposes them.
QUERIES: tuple[tuple[Statistic, int], ...] = (
    (Statistic.MEAN, 50),
    (Statistic.MEDIAN, 50),
    (Statistic.VALUE_MIN, 50),
    (Statistic.VALUE_MAX, 50),
    (Statistic.STANDARD_DEVIATION, 50),
    (Statistic.VARIANCE, 50),
    (Statistic.PERCENTILE, 95),
    (Statistic.AVERAGE_LINEAR, 50),
)


def readings(count: int, seed: int) -> list[float]:
    """Temperature-like readings: a daily cycle, noise, 0.01 resolution."""
    rng = random.Random(seed)
    return [
        round(20.0 + 5.0 * math.sin(i / 13751.0) + rng.gauss(0.0, 0.3), 2)
        for i in range(count)
    ]


def run_engine(size: int, values: list[float]) -> tuple[float, int, list[float | None]]:
    """Return (samples per second, samples fed, last results) for the engine."""
    window = SlidingWindow(max_age=float(size - 1))  # holds exactly `size` at 1 Hz
    for i in range(size):
        window.add(START + i, values[i])
    assert len(window) == size
    t = START + size
    fed = 0
    results: list[float | None] = []
    begin = time.perf_counter()
    deadline = begin + ENGINE_BUDGET_S
    for value in values[size:]:
        window.add(t, value)
        results = [window.value(stat, p) for stat, p in QUERIES]
        t += 1.0
        fed += 1
        if fed % 64 == 0 and time.perf_counter() > deadline:
            break
    elapsed = time.perf_counter() - begin
    assert len(window) == size
    return fed / elapsed, fed, results


def run_naive(size: int, values: list[float]) -> tuple[float, int, list[float | None]]:
    """The same stream through core's deques and functions, recomputed per sample."""
    max_age = float(size - 1)
    states: deque[float] = deque(values[:size])
    ages: deque[float] = deque(START + i for i in range(size))
    functions = [(CORE[stat.value], p) for stat, p in QUERIES]
    t = START + size
    fed = 0
    results: list[float | None] = []
    begin = time.perf_counter()
    deadline = begin + NAIVE_BUDGET_S
    for value in values[size:]:
        states.append(value)
        ages.append(t)
        while ages and t - ages[0] > max_age:  # core's _purge_old_states
            ages.popleft()
            states.popleft()
        results = [function(states, ages, p) for function, p in functions]
        t += 1.0
        fed += 1
        if fed >= MIN_NAIVE_SAMPLES and time.perf_counter() > deadline:
            break
    elapsed = time.perf_counter() - begin
    assert len(states) == size
    return fed / elapsed, fed, results


def check_agreement(size: int, values: list[float], fed: int) -> None:
    """Both sides must give the same numbers over the same final window."""
    window = SlidingWindow(max_age=float(size - 1))
    for i in range(size + fed):
        window.add(START + i, values[i])
    window_values = values[fed : size + fed]
    ages = [START + i for i in range(fed, size + fed)]
    for stat, p in QUERIES:
        engine = window.value(stat, p)
        naive = CORE[stat.value](window_values, ages, p)
        assert engine is not None
        assert naive is not None
        if stat is Statistic.AVERAGE_LINEAR:  # core sums floats; see the tests
            assert math.isclose(engine, naive, rel_tol=1e-12), (stat, engine, naive)
        else:
            assert engine == naive, (stat, engine, naive)


def main() -> None:
    """Run all sizes and print a table."""
    print(
        "queries per sample: "
        + ", ".join(
            f"{s.value} {p}" if s is Statistic.PERCENTILE else s.value
            for s, p in QUERIES
        )
    )
    print(
        f"{'window':>8} {'engine samples/s':>17} {'naive samples/s':>16} "
        f"{'ratio':>8}   (samples fed: engine / naive)"
    )
    ratios: dict[int, float] = {}
    begin = time.perf_counter()
    for size in SIZES:
        values = readings(size + 60_000, seed=size)
        engine_rate, engine_fed, engine_results = run_engine(size, values)
        naive_rate, naive_fed, naive_results = run_naive(size, values)
        check_agreement(size, values, naive_fed)
        del engine_results, naive_results
        ratios[size] = engine_rate / naive_rate
        print(
            f"{size:>8,} {engine_rate:>17,.0f} {naive_rate:>16,.1f} "
            f"{ratios[size]:>7,.0f}x   ({engine_fed:,} / {naive_fed:,})"
        )
    met = ratios[10_000] >= TARGET_RATIO_AT_10K
    print(
        f"target: engine >= {TARGET_RATIO_AT_10K:.0f}x naive at 10,000 samples: "
        f"{'met' if met else 'NOT met'}; total {time.perf_counter() - begin:.1f} s"
    )


if __name__ == "__main__":
    main()
