"""IoTitan's numbers against core's, over a year of real hourly readings (issue 13).

The replay (``core_replay.py``) feeds the Open-Meteo Adelaide 2023 series to
IoTitan's window (dated by IoTitan's own ``record_now`` and journal line) and to
core's ``statistics`` functions on core's buffer rules, behind an MQTT sensor
with ``force_update`` true or false. Expected: with ``true`` every statistic the
two share is equal at every read, the time-weighted averages bitwise or closer
to the exact value; with ``false`` core never sees a reading equal to the
previous one, so its figures differ.
"""

from __future__ import annotations

import pytest

from .core_replay import (
    SHARED,
    TIME_WEIGHTED,
    Comparison,
    data_file,
    load_series,
    repeats,
    replay,
)

pytestmark = pytest.mark.skipif(
    data_file() is None, reason="shared/data/ with the Adelaide series not found"
)


@pytest.fixture(scope="module")
def rows() -> list[tuple[str, str]]:
    """The year of hourly readings."""
    path = data_file()
    assert path is not None
    return load_series(path)


@pytest.fixture(scope="module")
def forced(rows: list[tuple[str, str]]) -> Comparison:
    """Core behind an MQTT sensor with force_update: true."""
    return replay(rows, force_update=True)


def test_the_series_is_a_year_with_repeats(rows: list[tuple[str, str]]) -> None:
    assert len(rows) == 8760
    assert repeats(rows) > 400  # a repeat is common at 0.1 degree resolution


def test_with_force_update_every_statistic_equals_cores(forced: Comparison) -> None:
    assert forced.reads == forced.messages_to_core == 8760
    exact = {str(s) for s in SHARED} - {str(s) for s in TIME_WEIGHTED}
    assert not {name for name in forced.differing if name in exact}
    # Time-weighted: core sums float areas in a loop; IoTitan keeps exact sums
    # and rounds once. Bitwise equal, or nearer the exact value, at every read.
    assert forced.time_weighted_farther_from_exact == 0
    assert (
        forced.time_weighted_bitwise_equal + forced.time_weighted_closer_to_exact
        == 2 * 8760 - 2  # the first read has one sample: no span
    )
    assert forced.largest_time_weighted_difference < 1e-12


def test_without_force_update_core_never_sees_a_repeat(
    rows: list[tuple[str, str]],
) -> None:
    result = replay(rows, force_update=False)
    assert result.messages_to_core == len(rows) - repeats(rows)
    for name in ("count", "mean", "median", "standard_deviation", "percentile"):
        assert result.differing[name] > 0, name
    # Over reads where core's buffer holds the same values, the averages agree.
    assert result.time_weighted_farther_from_exact == 0
