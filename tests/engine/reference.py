"""Naive reference for the sliding window: recompute everything, the way core does.

Independent of ``custom_components.iotitan.engine.window``: it keeps a plain list of
samples and recomputes each statistic from scratch on every query.

- ``CORE``: one function per statistic, a line-for-line copy of the arithmetic in
  Home Assistant core's ``homeassistant/components/statistics/sensor.py``
  (``_stat_mean``, ``_stat_average_step``, ...), including its float loops and its
  ``ZeroDivisionError`` for time-weighted averages over a zero time span.
  ``test_reference_mirrors_core`` checks this copy against core's own functions.
- ``exact_*``: the same quantities computed with exact fractions and rounded once,
  to check the engine's exact arithmetic to the last bit.
- ``NaiveWindow``: the window rules of the engine's contract (expiry when
  ``now - t > max_age``, ``max_samples`` cap, earlier timestamps clamped to the
  newest one in the window), on a list.

The benchmark imports this module too, as the "recompute on every sample" baseline.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from fractions import Fraction
import statistics

type CoreFunction = Callable[[Sequence[float], Sequence[float], int], float | None]


def core_average_linear(
    states: Sequence[float], ages: Sequence[float], percentile: int
) -> float | None:
    """Mirror core's ``_stat_average_linear``."""
    if len(states) == 1:
        return states[0]
    if len(states) >= 2:
        area: float = 0
        for i in range(1, len(states)):
            area += 0.5 * (states[i] + states[i - 1]) * (ages[i] - ages[i - 1])
        age_range_seconds = ages[-1] - ages[0]
        return area / age_range_seconds
    return None


def core_average_step(
    states: Sequence[float], ages: Sequence[float], percentile: int
) -> float | None:
    """Mirror core's ``_stat_average_step``."""
    if len(states) == 1:
        return states[0]
    if len(states) >= 2:
        area: float = 0
        for i in range(1, len(states)):
            area += states[i - 1] * (ages[i] - ages[i - 1])
        age_range_seconds = ages[-1] - ages[0]
        return area / age_range_seconds
    return None


def core_change(
    states: Sequence[float], ages: Sequence[float], percentile: int
) -> float | None:
    """Mirror core's ``_stat_change``."""
    if len(states) > 0:
        return states[-1] - states[0]
    return None


def core_change_second(
    states: Sequence[float], ages: Sequence[float], percentile: int
) -> float | None:
    """Mirror core's ``_stat_change_second``."""
    if len(states) > 1:
        age_range_seconds = ages[-1] - ages[0]
        if age_range_seconds > 0:
            return (states[-1] - states[0]) / age_range_seconds
    return None


def core_count(
    states: Sequence[float], ages: Sequence[float], percentile: int
) -> float | None:
    """Mirror core's ``_stat_count``."""
    return len(states)


def core_mean(
    states: Sequence[float], ages: Sequence[float], percentile: int
) -> float | None:
    """Mirror core's ``_stat_mean``."""
    if len(states) > 0:
        return statistics.mean(states)
    return None


def core_median(
    states: Sequence[float], ages: Sequence[float], percentile: int
) -> float | None:
    """Mirror core's ``_stat_median``."""
    if len(states) > 0:
        return statistics.median(states)
    return None


def core_percentile(
    states: Sequence[float], ages: Sequence[float], percentile: int
) -> float | None:
    """Mirror core's ``_stat_percentile``."""
    if len(states) == 1:
        return states[0]
    if len(states) >= 2:
        percentiles = statistics.quantiles(states, n=100, method="exclusive")
        return percentiles[percentile - 1]
    return None


def core_standard_deviation(
    states: Sequence[float], ages: Sequence[float], percentile: int
) -> float | None:
    """Mirror core's ``_stat_standard_deviation``."""
    if len(states) == 1:
        return 0.0
    if len(states) >= 2:
        return statistics.stdev(states)
    return None


def core_sum(
    states: Sequence[float], ages: Sequence[float], percentile: int
) -> float | None:
    """Mirror core's ``_stat_sum`` (builtin ``sum``: compensated since Python 3.12)."""
    if len(states) > 0:
        return sum(states)
    return None


def core_value_max(
    states: Sequence[float], ages: Sequence[float], percentile: int
) -> float | None:
    """Mirror core's ``_stat_value_max``."""
    if len(states) > 0:
        return max(states)
    return None


def core_value_min(
    states: Sequence[float], ages: Sequence[float], percentile: int
) -> float | None:
    """Mirror core's ``_stat_value_min``."""
    if len(states) > 0:
        return min(states)
    return None


def core_variance(
    states: Sequence[float], ages: Sequence[float], percentile: int
) -> float | None:
    """Mirror core's ``_stat_variance``."""
    if len(states) == 1:
        return 0.0
    if len(states) >= 2:
        return statistics.variance(states)
    return None


def core_last(
    states: Sequence[float], ages: Sequence[float], percentile: int
) -> float | None:
    """The newest value (not a core characteristic; defined by our contract)."""
    if len(states) > 0:
        return states[-1]
    return None


# Keyed by core's characteristic names (``last`` is ours).
CORE: dict[str, CoreFunction] = {
    "average_linear": core_average_linear,
    "average_step": core_average_step,
    "change": core_change,
    "change_second": core_change_second,
    "count": core_count,
    "mean": core_mean,
    "median": core_median,
    "percentile": core_percentile,
    "standard_deviation": core_standard_deviation,
    "sum": core_sum,
    "value_max": core_value_max,
    "value_min": core_value_min,
    "variance": core_variance,
    "last": core_last,
}


def exact_average_step(states: Sequence[float], ages: Sequence[float]) -> float:
    """Step average over >= 2 samples with a positive span, exact then rounded once."""
    area = sum(
        Fraction(states[i - 1]) * (Fraction(ages[i]) - Fraction(ages[i - 1]))
        for i in range(1, len(states))
    )
    return float(area / (Fraction(ages[-1]) - Fraction(ages[0])))


def exact_average_linear(states: Sequence[float], ages: Sequence[float]) -> float:
    """Trapezoid average over >= 2 samples with a positive span, exact, rounded once."""
    area = sum(
        (Fraction(states[i]) + Fraction(states[i - 1]))
        / 2
        * (Fraction(ages[i]) - Fraction(ages[i - 1]))
        for i in range(1, len(states))
    )
    return float(area / (Fraction(ages[-1]) - Fraction(ages[0])))


class NaiveWindow:
    """The engine's window contract on a deque, recomputing each statistic on query."""

    def __init__(self, max_age: float, max_samples: int | None = None) -> None:
        """Create an empty window."""
        self.max_age = max_age
        self.max_samples = max_samples
        self.samples: deque[tuple[float, float]] = deque()

    def add(self, timestamp: float, value: float) -> None:
        """Add a sample (clamped to the newest timestamp), expire at its timestamp."""
        if self.samples and timestamp < self.samples[-1][0]:
            timestamp = self.samples[-1][0]
        self.samples.append((timestamp, value))
        self.expire(timestamp)
        if self.max_samples is not None:
            while len(self.samples) > self.max_samples:
                self.samples.popleft()

    def expire(self, now: float) -> int:
        """Drop samples with ``now - t > max_age`` (core's purge rule)."""
        dropped = 0
        while self.samples and now - self.samples[0][0] > self.max_age:
            self.samples.popleft()
            dropped += 1
        return dropped

    @property
    def states(self) -> list[float]:
        """Values, oldest first."""
        return [v for _, v in self.samples]

    @property
    def ages(self) -> list[float]:
        """Timestamps, oldest first."""
        return [t for t, _ in self.samples]

    def core_value(self, name: str, percentile: int = 50) -> float | None:
        """Recompute statistic ``name`` from scratch, as core does."""
        return CORE[name](self.states, self.ages, percentile)


def max_abs(values: Sequence[float]) -> float:
    """Largest magnitude in ``values`` (0.0 if empty)."""
    return max((abs(v) for v in values), default=0.0)
