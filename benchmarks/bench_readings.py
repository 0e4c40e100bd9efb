"""Benchmark reading several value paths of one payload: one parse against one per path.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_readings
    .venv/bin/python benchmarks/bench_readings.py

For payloads of Zigbee2MQTT, Tasmota and Shelly (the fixtures written from
their documentation, `tests/engine/device_payloads.py`), time
`MultiPathParser.parse` against one `PayloadParser.parse` per path (what a
source of N readings would cost if each reading parsed the payload itself).
Each figure is the best of several rounds (the two sides alternate), in microseconds per message; the
ratio is per-path time over multi-path time.
"""

from __future__ import annotations

from collections.abc import Callable
import math
from pathlib import Path
import sys
import timeit

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_components.iotitan.engine.payload import PayloadParser
from custom_components.iotitan.engine.readings import MultiPathParser, value_paths
from tests.engine import device_payloads as fixtures

CASES: tuple[tuple[str, bytes, tuple[str, ...]], ...] = (
    (
        "Zigbee2MQTT WSDCGQ11LM, 6 readings",
        fixtures.Z2M_WEATHER,
        ("temperature", "humidity", "pressure", "battery", "voltage", "linkquality"),
    ),
    (
        "Zigbee2MQTT WSDCGQ11LM, 2 readings",
        fixtures.Z2M_WEATHER,
        ("temperature", "humidity"),
    ),
    (
        "Tasmota AM2301, 3 readings",
        fixtures.TASMOTA_AM2301,
        ("AM2301.Temperature", "AM2301.Humidity", "AM2301.DewPoint"),
    ),
    (
        "Tasmota ENERGY, 5 readings",
        fixtures.TASMOTA_ENERGY,
        (
            "ENERGY.Total",
            "ENERGY.Today",
            "ENERGY.Power",
            "ENERGY.Voltage",
            "ENERGY.Current",
        ),
    ),
    (
        "Shelly switch:0, 4 readings",
        fixtures.SHELLY_SWITCH,
        ("apower", "voltage", "current", "aenergy.total"),
    ),
    (
        "Zigbee2MQTT WSDCGQ11LM, 1 reading",
        fixtures.Z2M_WEATHER,
        ("temperature",),
    ),
)
NUMBER = 10_000
ROUNDS = 9


def best_microseconds(
    first: Callable[[], object], second: Callable[[], object]
) -> tuple[float, float]:
    """The best of ROUNDS runs of NUMBER calls of each, in microseconds per call.

    The two alternate, round after round, so that a slow minute on a shared
    machine slows both alike.
    """
    timers = (timeit.Timer(first), timeit.Timer(second))
    best = [math.inf, math.inf]
    for _ in range(ROUNDS):
        for index, timer in enumerate(timers):
            best[index] = min(best[index], timer.timeit(number=NUMBER))
    return best[0] / NUMBER * 1e6, best[1] / NUMBER * 1e6


def main() -> None:
    """Print one line per case: both costs and their ratio."""
    print(f"{'case':<40} {'one parse':>10} {'per path':>10} {'ratio':>7}")
    for name, payload, paths in CASES:
        parsed = value_paths(paths)
        multi = MultiPathParser(parsed)
        singles = tuple(PayloadParser(path) for path in parsed)
        expected = tuple(single.parse(payload) for single in singles)
        assert multi.parse(payload) == expected, name

        def per_path(
            singles: tuple[PayloadParser, ...] = singles, payload: bytes = payload
        ) -> object:
            return [single.parse(payload) for single in singles]

        def one_parse(
            multi: MultiPathParser = multi, payload: bytes = payload
        ) -> object:
            return multi.parse(payload)

        multi_us, single_us = best_microseconds(one_parse, per_path)
        print(
            f"{name:<40} {multi_us:>8.2f}us {single_us:>8.2f}us "
            f"{single_us / multi_us:>6.2f}x"
        )


if __name__ == "__main__":
    main()
