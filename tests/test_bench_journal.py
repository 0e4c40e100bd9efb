"""The benchmarks' journal synthesiser writes the journal a running hub would have.

The large-home benchmark (``benchmarks/bench_large_home.py``) starts its hub
from a synthesised day of journal instead of feeding a day of messages; its
figures are only right if that journal holds what the hub would have logged:
every topic once per period, out of step, over the window and the margin.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise
from pathlib import Path

from benchmarks.ha_common import payload, stream, timestamp, topic, write_journal
from custom_components.iotitan.engine.journal import read_since


def test_every_topic_once_per_period_over_the_window_and_margin(
    tmp_path: Path,
) -> None:
    """Record count, time span, spacing per topic and payloads."""
    topics, window, period, margin = 7, 600, 10, 30
    written = write_journal(tmp_path, topics, window, period, margin)
    result = read_since(tmp_path, 0.0)
    records = result.records
    assert result.skipped == 0
    # 630 seconds, each topic once every 10 of them.
    assert written == len(records) == topics * 63
    assert records[0].timestamp == timestamp(-629)
    assert records[-1].timestamp == timestamp(0)
    stamps: dict[str, list[float]] = defaultdict(list)
    for record in records:
        stamps[record.topic].append(record.timestamp)
        second = round(record.timestamp - timestamp(0))
        index = int(record.topic.split("/")[1][1:])
        assert record.payload == payload(index, second)
    assert sorted(stamps) == [topic(index) for index in range(topics)]
    for times in stamps.values():
        assert {b - a for a, b in pairwise(times)} == {10.0}
    # Out of step: each topic at its own second of the period.
    assert len({round(times[0]) % period for times in stamps.values()}) == topics
    # Steady state at second 0: a sensor that read then has window/period + 1
    # samples within the window (one exactly `window` old), the others one fewer.
    newest = read_since(tmp_path, timestamp(-window)).records
    counts: defaultdict[str, int] = defaultdict(int)
    for record in newest:
        counts[record.topic] += 1
    assert counts[topic(0)] == window // period + 1
    assert {counts[topic(index)] for index in range(1, topics)} == {window // period}


def test_one_hertz_journal_unchanged(tmp_path: Path) -> None:
    """Without a period or margin: every topic every second of the window."""
    assert write_journal(tmp_path, 3, 5) == 15
    records = read_since(tmp_path, 0.0).records
    assert [record.timestamp for record in records[::3]] == [
        timestamp(second) for second in range(-4, 1)
    ]


def test_stream_at_the_real_rate() -> None:
    """The live stream: each second the sensors due, each once per period."""
    seconds = stream(topics=25, first=1, seconds=10, period=10)
    assert [len(batch) for batch in seconds] == [3, 3, 3, 3, 2, 2, 2, 2, 2, 3]
    names = [name for batch in seconds for name, _ in batch]
    assert sorted(names) == sorted(topic(index) for index in range(25))
    assert stream(topics=4, first=7, seconds=2) == [
        [(topic(index), payload(index, second)) for index in range(4)]
        for second in (7, 8)
    ]
