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

from pathlib import Path
import re

import pytest

from custom_components.iotitan.engine.window import Statistic

from .core_replay import (
    SHARED,
    TIME_WEIGHTED,
    Comparison,
    data_file,
    load_series,
    repeats,
    replay,
)


@pytest.fixture(scope="module")
def rows() -> list[tuple[str, str]]:
    """The year of hourly readings."""
    path = data_file()
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


def _readme_table_row(setting: str) -> str:
    """The README's comparison row for `setting` (its first cell)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith(f"| `{setting}`")]
    assert len(rows) == 1, rows
    return rows[0]


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def test_the_readme_quotes_the_replay(
    rows: list[tuple[str, str]], forced: Comparison
) -> None:
    """The README's comparison table is what this replay measures, not a memory of it."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    match = re.search(
        r"Adelaide's 2023 hourly temperatures \(([\d,]+) readings, ([\d,]+)\s+equal",
        readme,
    )
    assert match is not None
    assert (_number(match[1]), _number(match[2])) == (len(rows), repeats(rows))

    row = _readme_table_row("force_update: true")
    seen = re.search(r"([\d,]+) of ([\d,]+)", row)
    assert seen is not None
    assert (_number(seen[1]), _number(seen[2])) == (forced.messages_to_core, len(rows))
    averages = re.search(r"\(([\d,]+) and ([\d,]+) reads", row)
    assert averages is not None
    assert (_number(averages[1]), _number(averages[2])) == (
        forced.differing[str(Statistic.AVERAGE_STEP)],
        forced.differing[str(Statistic.AVERAGE_LINEAR)],
    )

    unforced = replay(rows, force_update=False)
    row = _readme_table_row("force_update: false")
    seen = re.search(r"([\d,]+) of ([\d,]+)", row)
    assert seen is not None
    assert (_number(seen[1]), _number(seen[2])) == (
        unforced.messages_to_core,
        len(rows),
    )
    differing_cell = row.split("|")[3]  # "Reads where a statistic differs"
    quoted = {
        name.replace(" ", "_"): _number(count)
        for name, count in re.findall(r"([a-z][a-z ]*) ([\d,]+)", differing_cell)
    }
    assert quoted, row
    for name, count in quoted.items():
        assert unforced.differing[name] == count, name
