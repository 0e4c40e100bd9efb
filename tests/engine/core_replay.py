"""Replay a year of real hourly readings through IoTitan's window and core's chain.

Core's chain is an MQTT sensor feeding a `statistics` sensor. The statistics are
core's own functions (``STATS_NUMERIC_SUPPORT`` of the installed Home Assistant),
on core's buffer rules (``_add_state_to_queue``, ``_purge_old_states``: a sample
leaves when ``now - age > max_age``), dated as core dates them: the state's
``last_reported`` timestamp, a datetime to the microsecond. What reaches core
depends on the MQTT sensor's ``force_update``: with ``true`` every message is
written as a state; with the default ``false`` a message whose value equals the
sensor's state is not written at all (``MqttEntity._message_callback`` writes
only when an attribute changed), so `statistics` never sees that reading.
IoTitan takes every message, dated by its own ``record_now`` (the clock read
is the arrival time) and then taken through its journal line and back, as a
window holds it after a restart (live and replayed times must be equal).

Messages arrive some time after each hour (a deterministic jitter under one
second, as a real sensor's clock and network give), and both sides are read
after every message.

Run ``python -m tests.engine.core_replay`` for the figures the README quotes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
import itertools
from pathlib import Path
import random
import sys
from types import SimpleNamespace
from unittest.mock import patch

from homeassistant.components.statistics import sensor as core_statistics

from custom_components.iotitan import message_log
from custom_components.iotitan.engine.journal import parse_line
from custom_components.iotitan.engine.record import MqttRecord
from custom_components.iotitan.engine.syslog import SyslogFormatter
from custom_components.iotitan.engine.window import SlidingWindow, Statistic

DATA_FILE = "open-meteo-adelaide-2023-hourly-temperature.csv"
REPO = Path(__file__).resolve().parents[2]
MAX_AGE = 86_400.0  # a 24 h window
PERCENTILE = 95
# IoTitan's statistics that core also has (`last` is not a core characteristic).
SHARED = tuple(s for s in Statistic if str(s) in core_statistics.STATS_NUMERIC_SUPPORT)
TIME_WEIGHTED = (Statistic.AVERAGE_STEP, Statistic.AVERAGE_LINEAR)


def data_file() -> Path:
    """The Adelaide series, kept in the repository's `data/` (CC BY 4.0)."""
    return REPO / "data" / DATA_FILE


def load_series(path: Path) -> list[tuple[str, str]]:
    """(ISO hour, payload text) rows of the Open-Meteo export, in order."""
    rows = []
    with path.open(encoding="utf-8") as file:
        for line in file:
            if line.startswith("time,"):
                break
        for line in file:
            hour, _, value = line.strip().partition(",")
            if value:
                rows.append((hour, value))
    return rows


def arrivals(rows: Sequence[tuple[str, str]], seed: int = 13) -> list[int]:
    """Arrival time of each row in integer microseconds: its hour plus < 1 s."""
    rng = random.Random(seed)
    out = []
    for hour, _ in rows:
        start = datetime.fromisoformat(hour).replace(tzinfo=UTC)
        out.append(int(start.timestamp()) * 1_000_000 + rng.randrange(1_000_000))
    return out


@dataclass
class Comparison:
    """What differed between IoTitan and core, over every read."""

    reads: int = 0
    messages_to_core: int = 0
    differing: dict[str, int] = field(default_factory=dict)
    largest_difference: dict[str, float] = field(default_factory=dict)
    time_weighted_bitwise_equal: int = 0
    time_weighted_closer_to_exact: int = 0
    time_weighted_farther_from_exact: int = 0
    largest_time_weighted_difference: float = 0.0
    """Over reads where both hold the same values (so only dating differs)."""


def _exact_average(
    statistic: Statistic, states: Sequence[float], ages: Sequence[float]
) -> float:
    areas = (
        Fraction(states[i - 1]) * (Fraction(ages[i]) - Fraction(ages[i - 1]))
        if statistic is Statistic.AVERAGE_STEP
        else (Fraction(states[i]) + Fraction(states[i - 1]))
        / 2
        * (Fraction(ages[i]) - Fraction(ages[i - 1]))
        for i in range(1, len(states))
    )
    return float(sum(areas) / (Fraction(ages[-1]) - Fraction(ages[0])))


def iotitan_dates(micros: Sequence[int]) -> list[float]:
    """IoTitan's timestamp of a message arriving at each time (integer us).

    `record_now` reads the wall clock (patched to the arrival time), the record
    is formatted as its journal line and parsed back: the time a window holds
    live must be the one it holds after a restart.
    """
    now = [0]
    clock = SimpleNamespace(
        time=lambda: now[0] / 1_000_000, time_ns=lambda: now[0] * 1000
    )
    formatter = SyslogFormatter(hostname="h", procid=1)
    dates = []
    with patch.object(message_log, "time", clock):
        for when in micros:
            now[0] = when
            live = message_log.record_now("t", b"1", 0, False)
            replayed = parse_line(formatter.format(live)[0])
            assert isinstance(replayed, MqttRecord)
            assert replayed.timestamp == live.timestamp  # restart equivalence
            dates.append(live.timestamp)
    return dates


def replay(rows: Sequence[tuple[str, str]], *, force_update: bool) -> Comparison:
    """Feed every row to both sides and compare every shared statistic after each."""
    micros = arrivals(rows)
    dates = iotitan_dates(micros)
    window = SlidingWindow(MAX_AGE)
    states: deque[float] = deque()
    ages: deque[float] = deque()
    result = Comparison()
    last_state: str | None = None
    for (_, text), when_us, own in zip(rows, micros, dates, strict=True):
        # Core: the state's last_reported, a datetime to the microsecond.
        when = (
            datetime.fromtimestamp(when_us // 1_000_000, UTC)
            .replace(microsecond=when_us % 1_000_000)
            .timestamp()
        )
        value = float(text)
        window.add(own, value)
        window.expire(own)
        if force_update or text != last_state:
            result.messages_to_core += 1
            states.append(value)
            ages.append(when)
        last_state = text
        while ages and when - ages[0] > MAX_AGE:  # core's _purge_old_states
            states.popleft()
            ages.popleft()
        result.reads += 1
        same_values = [v for _, v in window] == list(states)
        for statistic in SHARED:
            name = str(statistic)
            ours = window.value(statistic, PERCENTILE)
            try:
                theirs = core_statistics.STATS_NUMERIC_SUPPORT[name](
                    states, ages, PERCENTILE
                )
            except ZeroDivisionError:  # one timestamp span: core raises
                theirs = None
            if ours is not None and theirs is not None:
                theirs = float(theirs)
            if (
                statistic in TIME_WEIGHTED
                and same_values
                and len(states) >= 2
                and ours is not None
                and theirs is not None
            ):
                result.largest_time_weighted_difference = max(
                    result.largest_time_weighted_difference, abs(ours - theirs)
                )
                if ours == theirs:
                    result.time_weighted_bitwise_equal += 1
                else:
                    exact = _exact_average(statistic, states, ages)
                    if abs(ours - exact) <= abs(theirs - exact):
                        result.time_weighted_closer_to_exact += 1
                    else:
                        result.time_weighted_farther_from_exact += 1
            if ours != theirs:
                result.differing[name] = result.differing.get(name, 0) + 1
                if ours is not None and theirs is not None:
                    result.largest_difference[name] = max(
                        result.largest_difference.get(name, 0.0), abs(ours - theirs)
                    )
    return result


def window_states_equal(
    window: SlidingWindow, states: Sequence[float], ages: Sequence[float]
) -> bool:
    """Whether IoTitan's window holds exactly core's buffer."""
    return list(window) == list(zip(ages, states, strict=True))


def repeats(rows: Sequence[tuple[str, str]]) -> int:
    """Readings equal to the one before (what force_update: false drops)."""
    return sum(1 for a, b in itertools.pairwise(rows) if a[1] == b[1])


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def main() -> None:
    """Print the figures of both force_update settings."""
    path = data_file()
    rows = load_series(path)
    _say(f"{len(rows)} hourly readings from {path.name}; 24 h window")
    _say(f"readings equal to the previous one: {repeats(rows)}")
    for force_update in (True, False):
        result = replay(rows, force_update=force_update)
        _say(
            f"\nforce_update: {str(force_update).lower()}: {result.reads} reads,"
            f" {result.messages_to_core} messages reach core's statistics"
        )
        _say(
            "  time-weighted averages over the same samples: bitwise equal "
            f"{result.time_weighted_bitwise_equal}, else IoTitan closer to the exact "
            f"value {result.time_weighted_closer_to_exact}, farther "
            f"{result.time_weighted_farther_from_exact}; largest difference "
            f"{result.largest_time_weighted_difference:.3g}"
        )
        for name in map(str, SHARED):
            _say(
                f"  {name:<20} differs in {result.differing.get(name, 0):>5} reads,"
                f" by up to {result.largest_difference.get(name, 0.0):.6g}"
            )


if __name__ == "__main__":
    main()
