"""The large home's scenarios, run by pytest inside Home Assistant's test harness.

Not a test module (the normal test run collects ``tests/`` only): the driver,
``python -m benchmarks.bench_large_home``, runs one scenario per process, as
``bench_ha`` does with ``ha_scenarios``, and reads the figures from the JSON
file named in the spec (environment variable ``IOTITAN_BENCH_SPEC``).

The large home: `topics` sensors (500), each reading once every `period`
seconds (10; sensor ``i`` at the seconds congruent to ``i`` modulo the period,
so 50 messages a second in all), each with a window of 1 h and one of 24 h
(361 and 8,641 samples at steady state) and the six statistics on both.

- ``test_large_iotitan``: the hub (one wildcard source with both windows, a
  high alert per topic, journal, syslog over UDP, MQTT output), its windows
  filled from a journal the driver synthesised (24 h + a margin, as a hub
  running for a day would have written it). Memory after setup, cost per
  message by direct injection against the bare dispatch floor, CPU per
  simulated second at the real rate, then a restart with the snapshot the hub
  leaves at unload (when this build writes one) and without (deleted).
- ``test_large_chain``: Home Assistant's own chain on `topics` sensors (a
  scaled-down number): an MQTT sensor, twelve ``statistics`` sensors (six over
  1 h, six over 24 h, buffers pre-filled) and a ``threshold`` per topic; the
  same stream, the same figures.
- ``test_large_chain_restart``: the recorder filled with 24 h of those MQTT
  sensors' states (bulk-inserted, as in ``ha_scenarios``), then the twelve
  statistics sensors per topic restore their buffers from it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
import gc
from pathlib import Path
import re
import statistics
import time
import tracemalloc
from typing import Any

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import async_get_platforms
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iotitan.engine.window import SlidingWindow, Statistic
from custom_components.iotitan.hub import IoTitanHub
from custom_components.iotitan.hub_snapshot import SNAPSHOT_FILE
from custom_components.iotitan.source import TopicState

from .ha_common import (
    FLOOR_FILTER,
    FLOOR_PREFIX,
    HUB_ENTRY_ID,
    PERCENTILE,
    SENSOR_SUBENTRY_ID,
    SIM_START,
    STATISTICS,
    THRESHOLD_HYSTERESIS,
    THRESHOLD_UPPER,
    SimClock,
    due,
    object_id,
    payload,
    read_rss_kib,
    stream,
    timestamp,
    topic,
)
from .ha_scenarios import (  # noqa: F401  (fixtures, used by name)
    SPEC,
    Injection,
    _no_notify,
    auto_enable_custom_integrations,
    chain_restart,
    drain_writers,
    hub_entry,
    install_clock,
    mqtt_sensor_config,
    nothing,
    peak_rss_kib,
    persistent_database,
    time_replay,
    window_sizes,
    write_result,
)

WINDOWS = (3600, 86400)
"""The windows of every topic, seconds: 1 h and 24 h."""
WARMUP_SECONDS = 20
SNAPSHOT_NAME = SNAPSHOT_FILE
"""The hub's snapshot file in its journal folder."""
_JOURNAL_FILE_RE = re.compile(r"journal(\.\d+)?\.log")
NOTIFY = TopicState.async_notify


# -- harness fixtures (besides those imported from ha_scenarios) -------------------------


@pytest.fixture
def mock_recorder_before_hass(request: pytest.FixtureRequest) -> None:
    """The recorder's database fixture must come before `hass`."""
    if SPEC.get("kind") == "large_chain_restart":
        request.getfixturevalue("recorder_db_url")


@pytest.fixture
def hass_config() -> dict[str, Any]:
    """The chain's YAML: one MQTT sensor per topic."""
    if SPEC.get("kind") != "large_chain":
        return {}
    return {"mqtt": {"sensor": [mqtt_sensor_config(i) for i in range(SPEC["topics"])]}}


# -- configuration -------------------------------------------------------------------------


def window_label(window: int) -> str:
    """1h, 24h."""
    return f"{window // 3600}h"


def chain_statistics_configs(topics: int, period: int) -> list[dict[str, Any]]:
    """Twelve core statistics sensors per topic: the six over each window."""
    return [
        {
            "platform": "statistics",
            "name": f"bench t{index:03d} {characteristic} {window_label(window)}",
            "entity_id": f"sensor.{object_id(index)}",
            "state_characteristic": characteristic,
            "max_age": {"seconds": window},
            # Room for the whole window (a sample exactly max_age old stays).
            "sampling_size": max(4000, window // period + 400),
            "precision": 2,
            "percentile": PERCENTILE,
        }
        for index in range(topics)
        for window in WINDOWS
        for characteristic in STATISTICS
    ]


def chain_threshold_configs(topics: int) -> list[dict[str, Any]]:
    """A core threshold binary sensor per topic, the band of IoTitan's alert."""
    return [
        {
            "platform": "threshold",
            "name": f"bench t{index:03d} high",
            "entity_id": f"sensor.{object_id(index)}",
            "upper": THRESHOLD_UPPER,
            "hysteresis": THRESHOLD_HYSTERESIS,
        }
        for index in range(topics)
    ]


def is_snapshot(path: Path) -> bool:
    """Whether a file of the hub's journal folder is its snapshot."""
    return path.name == SNAPSHOT_NAME


def snapshot_files(directory: Path) -> list[Path]:
    """The snapshot files the hub left in its journal folder (none: no snapshots)."""
    return sorted(path for path in directory.iterdir() if is_snapshot(path))


def read_files(paths: list[Path]) -> tuple[float, int]:
    """Wall seconds to read `paths` whole, and their bytes (the bare read)."""
    began = time.perf_counter()
    size = 0
    for path in paths:
        with path.open("rb") as file:
            size += len(file.read())
    return time.perf_counter() - began, size


# -- the stream ------------------------------------------------------------------------------


class Streamer:
    """Feeds the large home's stream at its real rate in simulated time.

    Each simulated second the sensors `due` then get one message each (by
    direct injection, see `ha_scenarios.Injection`), then the loop runs once;
    timers fire as the clock reaches them.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        clock: SimClock,
        topics: int,
        period: int,
        finish: Callable[[], Awaitable[None]],
    ) -> None:
        """Nothing is sent yet; the next second is 1 (the hub started at 0)."""
        self.hass = hass
        self.clock = clock
        self.topics = topics
        self.period = period
        self.finish = finish
        self.injection = Injection(hass)
        self.fire = self.injection.use("direct")
        self.next_second = 1
        self.floor_calls = 0
        self.floor_sent = 0
        self.sent = 0

    async def subscribe_floor(self) -> None:
        """The bare dispatch: a subscription whose callback only counts."""

        @callback
        def count(message: mqtt.ReceiveMessage) -> None:
            self.floor_calls += 1

        await mqtt.async_subscribe(self.hass, FLOOR_FILTER, count, qos=0, encoding=None)
        await self.hass.async_block_till_done()

    async def feed(self, seconds: int) -> int:
        """`seconds` simulated seconds of the stream; the messages sent."""
        hass, fire, clock = self.hass, self.fire, self.clock
        sent = 0
        for batch in stream(self.topics, self.next_second, seconds, period=self.period):
            clock.advance(1.0)
            for name, body in batch:
                fire(hass, name, body)
            sent += len(batch)
            await asyncio.sleep(0)  # one loop iteration per simulated second
        await hass.async_block_till_done()
        await self.finish()
        self.next_second += seconds
        self.sent += sent
        return sent

    def feed_floor(self, messages: int) -> None:
        """As many messages to the floor's subscription, without yielding."""
        hass, fire = self.hass, self.fire
        names = [topic(index, FLOOR_PREFIX) for index in range(self.topics)]
        for k in range(messages):
            index = k % self.topics
            fire(hass, names[index], payload(index, k))
        self.floor_sent += messages

    async def segments(self, seconds: int, count: int) -> dict[str, Any]:
        """Segments of `seconds`, each followed by a bare-dispatch segment.

        A segment's CPU time (every thread of the process) runs from its first
        message until its effects are done; the ratios pair each segment with
        the floor's right after it.
        """
        rows: list[dict[str, float]] = []
        for _ in range(count):
            gc.collect()
            began = time.process_time()
            sent = await self.feed(seconds)
            cpu = time.process_time() - began
            gc.collect()
            began = time.process_time()
            self.feed_floor(sent)
            floor = time.process_time() - began
            rows.append({"messages": sent, "cpu": cpu, "floor_cpu": floor})
        per = [row["cpu"] / row["messages"] * 1e6 for row in rows]
        floor = [row["floor_cpu"] / row["messages"] * 1e6 for row in rows]
        return {
            "segments": rows,
            "seconds": seconds,
            "median_cpu_per_message_us": statistics.median(per),
            "median_floor_per_message_us": statistics.median(floor),
            # Paired within each segment and its floor: drift cancels.
            "median_above_floor_us": statistics.median(
                a - b for a, b in zip(per, floor, strict=True)
            ),
            "median_ratio_to_floor": statistics.median(
                a / b for a, b in zip(per, floor, strict=True)
            ),
        }

    async def steady(self, seconds: int) -> dict[str, Any]:
        """CPU seconds per simulated second over `seconds` at the real rate."""
        gc.collect()
        began_cpu, began = time.process_time(), time.perf_counter()
        sent = await self.feed(seconds)
        cpu, wall = time.process_time() - began_cpu, time.perf_counter() - began
        return {
            "simulated_seconds": seconds,
            "messages": sent,
            "cpu_seconds": cpu,
            "wall_seconds": wall,
            "cpu_per_simulated_second": cpu / seconds,
        }

    def done(self) -> None:
        """Give the harness its MQTT client back; check the floor saw everything."""
        self.injection.restore()
        assert self.floor_calls == self.floor_sent, (self.floor_calls, self.floor_sent)


# -- IoTitan -----------------------------------------------------------------------------


async def test_large_iotitan(
    hass: HomeAssistant,
    mock_hass_config: None,
    mqtt_mock_entry: Callable[[], Awaitable[Any]],
    monkeypatch: pytest.MonkeyPatch,
    socket_enabled: None,
) -> None:
    """Set the hub up from the journal, stream at the real rate, restart."""
    hass.config.config_dir = SPEC["config_dir"]
    clock = install_clock(hass, SIM_START)
    try:
        await _large_iotitan(hass, mqtt_mock_entry, monkeypatch, clock)
    finally:
        clock.release()


def iotitan_statistics(hub: IoTitanHub, indices: list[int]) -> dict[str, Any]:
    """Samples and the six statistics of some topics' windows, rounded."""
    topics = hub.sources[SENSOR_SUBENTRY_ID].topics
    return {
        f"{index} {window_label(window)}": [
            len(topics[topic(index)].windows[float(window)]),
            *(
                round(value, 2)  # the chain shows them to 2 decimals (precision 2)
                if (
                    value := topics[topic(index)]
                    .windows[float(window)]
                    .value(Statistic(name), PERCENTILE)
                )
                is not None
                else None
                for name in STATISTICS
            ),
        ]
        for index in indices
        for window in WINDOWS
    }


def iotitan_window_bytes(hub: IoTitanHub, topics: int) -> dict[str, Any]:
    """What the windows hold, by tracemalloc on copies of the first topics'.

    Up to ten topics are copied (every topic has the same kind of windows; the
    sensors that read at second 0 hold one sample more), and the mean is
    scaled to every topic.
    """
    states = hub.sources[SENSOR_SUBENTRY_ID].topics
    measured = list(range(min(10, topics)))
    per_window: dict[str, int] = {}
    for window in WINDOWS:
        total = 0
        for index in measured:
            samples = list(states[topic(index)].windows[float(window)])
            tracemalloc.start()
            copy = SlidingWindow(float(window))
            for t, v in samples:
                copy.add(t, v)
            for name in STATISTICS:  # as entities read them
                copy.value(Statistic(name), PERCENTILE)
            total += tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            del copy
        per_window[window_label(window)] = round(total * topics / len(measured))
    return {
        "window_bytes": sum(per_window.values()),
        "window_bytes_by_window": per_window,
        "window_bytes_topics_measured": len(measured),
    }


async def _large_iotitan(
    hass: HomeAssistant,
    mqtt_mock_entry: Callable[[], Awaitable[Any]],
    monkeypatch: pytest.MonkeyPatch,
    clock: SimClock,
) -> None:
    topics: int = SPEC["topics"]
    period: int = SPEC["period"]
    result: dict[str, Any] = {"kind": "large_iotitan", "topics": topics}
    await mqtt_mock_entry()
    await hass.async_block_till_done()
    entry = hub_entry(topics, [float(w) for w in WINDOWS], SPEC["syslog_port"], {})
    entry.add_to_hass(hass)
    journal = Path(SPEC["config_dir"]) / "iotitan" / HUB_ENTRY_ID
    result["journal_bytes"] = sum(path.stat().st_size for path in journal.iterdir())
    gc.collect()
    result["rss_before_kib"] = read_rss_kib()
    timings = time_replay(monkeypatch)
    began_cpu, began = time.process_time(), time.perf_counter()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result["setup_seconds"] = time.perf_counter() - began
    result["setup_cpu"] = time.process_time() - began_cpu
    result["replay_seconds"] = timings[-1] if timings else None
    hub: IoTitanHub = entry.runtime_data
    result["records_replayed"] = hub.records_replayed
    sizes = window_sizes(hub)
    assert len(sizes) == topics * len(WINDOWS), len(sizes)
    result["window_samples"] = [min(sizes), max(sizes)]
    result["samples"] = sum(sizes)
    result["statistic_entities"] = len(hass.states.async_entity_ids("sensor"))
    gc.collect()
    result["rss_after_setup_kib"] = read_rss_kib()
    result["peak_rss_after_setup_kib"] = peak_rss_kib()

    streamer = Streamer(hass, clock, topics, period, drain_writers(hub))
    await streamer.subscribe_floor()
    await streamer.feed(WARMUP_SECONDS)
    result["check_second"] = streamer.next_second - 1
    result["check"] = iotitan_statistics(hub, [0])
    result["alerts_on"] = sum(
        1 for tracker in hub.alerts.trackers.values() if tracker.machine.state
    )
    result["per_message"] = await streamer.segments(SPEC["seconds"], SPEC["segments"])
    result["steady"] = await streamer.steady(SPEC["steady_seconds"])
    # What the entity updates cost: at one reading per 10 s a topic's twelve
    # statistics move at nearly every tick, so most messages cost state
    # writes (at 1 Hz ten readings share them). Benchmark instrumentation.
    try:
        TopicState.async_notify = _no_notify  # type: ignore[method-assign]
        result["per_message_no_entities"] = await streamer.segments(
            SPEC["seconds"], SPEC["segments"]
        )
    finally:
        TopicState.async_notify = NOTIFY  # type: ignore[method-assign]
    await streamer.feed(1)  # entities catch up
    streamer.done()
    gc.collect()
    result["rss_after_stream_kib"] = read_rss_kib()
    result["peak_rss_kib"] = peak_rss_kib()
    assert hub.messages_received == streamer.sent, (
        hub.messages_received,
        streamer.sent,
    )
    result["messages"] = streamer.sent
    syslog = hub.message_log.syslog.stats
    journal_stats = hub.message_log.journal.stats
    result["syslog_sent"] = syslog.sent
    result["syslog_dropped"] = sum(syslog.dropped.values())
    result["journal_written"] = journal_stats.records_written
    result["journal_dropped"] = sum(journal_stats.dropped.values())
    result.update(iotitan_window_bytes(hub, topics))
    result["restart"] = await restart(hass, entry, monkeypatch, journal)
    write_result(result)


async def timed_setup(
    hass: HomeAssistant, entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Set the (unloaded) entry up again: wall and CPU seconds, what it restored."""
    timings = time_replay(monkeypatch)
    gc.collect()
    began_cpu, began = time.process_time(), time.perf_counter()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    cpu, wall = time.process_time() - began_cpu, time.perf_counter() - began
    hub: IoTitanHub = entry.runtime_data
    sizes = window_sizes(hub)
    return {
        "setup_seconds": wall,
        "setup_cpu": cpu,
        "replay_seconds": timings[-1] if timings else None,
        "records_replayed": hub.records_replayed,
        "window_samples": [min(sizes), max(sizes)],
        "samples": sum(sizes),
        "statistics": iotitan_statistics(hub, [0, 1, len(sizes) // 2 - 1]),
        "snapshot_report": hub.snapshot_report,
    }


async def timed_unload(hass: HomeAssistant, entry: MockConfigEntry) -> float:
    """Unload the entry (the hub flushes its journal, may write a snapshot)."""
    began = time.perf_counter()
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    return time.perf_counter() - began


async def restart(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    journal: Path,
) -> dict[str, Any]:
    """Restart with the snapshot the hub leaves at unload, if any, then without.

    "With": the entry is set up again as the unload left the journal folder.
    "Without": the snapshot files are deleted first, so the windows come from
    the whole journal. Without a snapshot file after the unload (a build that
    writes none) only the second is measured.
    """
    result: dict[str, Any] = {"unload_seconds": await timed_unload(hass, entry)}
    found = snapshot_files(journal)
    result["snapshot_files"] = [path.name for path in found]
    journal_files = [
        path for path in journal.iterdir() if _JOURNAL_FILE_RE.fullmatch(path.name)
    ]
    result["journal_read_seconds"], result["journal_bytes"] = read_files(journal_files)
    if found:
        seconds, size = read_files(found)
        result["snapshot_read_seconds"], result["snapshot_bytes"] = seconds, size
        result["with_snapshot"] = await timed_setup(hass, entry, monkeypatch)
        result["unload_again_seconds"] = await timed_unload(hass, entry)
        for path in snapshot_files(journal):
            path.unlink()
    result["without_snapshot"] = await timed_setup(hass, entry, monkeypatch)
    return result


# -- Home Assistant's chain ------------------------------------------------------------------


def prefill_chain(sensors: list[Any], topics: int, period: int) -> None:
    """Fill the statistics buffers with their window, as the stream would have.

    What `_add_state_to_queue` appends: a float per sensor for the value, and
    the source state's `last_updated_timestamp` (one float object shared by
    the sensors of a source).
    """
    by_source: dict[str, list[Any]] = {}
    for sensor in sensors:
        by_source.setdefault(sensor._source_entity_id, []).append(sensor)
    longest = max(WINDOWS)
    for index in range(topics):
        seconds = [s for s in range(-longest, 1) if index in due(topics, s, period)]
        stamps = [timestamp(second) for second in seconds]
        texts = [payload(index, second).decode() for second in seconds]
        for sensor in by_source[f"sensor.{object_id(index)}"]:
            first = next(
                k
                for k, second in enumerate(seconds)
                if second >= -sensor._samples_max_age
            )
            sensor.states.extend(float(text) for text in texts[first:])
            sensor.ages.extend(stamps[first:])


def chain_buffer_bytes(sensors: list[Any]) -> int:
    """What core's buffers of one topic hold: a copy of topic 0's twelve sensors'.

    As `_add_state_to_queue` builds them: a float per sensor and sample, a
    deque of timestamps per sensor referencing one float per sample shared by
    the sensors of the source.
    """
    mine = [s for s in sensors if s._source_entity_id == f"sensor.{object_id(0)}"]
    values = [list(map(repr, sensor.states)) for sensor in mine]
    ages = [list(map(repr, sensor.ages)) for sensor in mine]
    tracemalloc.start()
    shared: dict[str, float] = {}
    copies = [
        (
            deque(map(float, texts), maxlen=sensor.states.maxlen),
            deque(
                (shared.setdefault(text, float(text)) for text in stamps),
                maxlen=sensor.ages.maxlen,
            ),
        )
        for sensor, texts, stamps in zip(mine, values, ages, strict=True)
    ]
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del copies, shared
    return size


async def test_large_chain(
    hass: HomeAssistant,
    mock_hass_config: None,
    mqtt_mock_entry: Callable[[], Awaitable[Any]],
) -> None:
    """Core's chain on fewer topics, full-size buffers, the same stream."""
    clock = install_clock(hass, SIM_START)
    try:
        await _large_chain(hass, mqtt_mock_entry, clock)
    finally:
        clock.release()


async def _large_chain(
    hass: HomeAssistant,
    mqtt_mock_entry: Callable[[], Awaitable[Any]],
    clock: SimClock,
) -> None:
    topics: int = SPEC["topics"]
    period: int = SPEC["period"]
    result: dict[str, Any] = {"kind": "large_chain", "topics": topics}
    gc.collect()
    result["rss_before_kib"] = read_rss_kib()
    began = time.perf_counter()
    # Statistics and threshold first, so the MQTT sensors' platform forward
    # finds the sensor component already set up with them.
    assert await async_setup_component(
        hass, "sensor", {"sensor": chain_statistics_configs(topics, period)}
    )
    assert await async_setup_component(
        hass, "binary_sensor", {"binary_sensor": chain_threshold_configs(topics)}
    )
    await mqtt_mock_entry()
    await hass.async_block_till_done()
    result["setup_seconds"] = time.perf_counter() - began
    sensors = [
        entity
        for platform in async_get_platforms(hass, "statistics")
        for entity in platform.entities.values()
    ]
    assert len(sensors) == topics * len(WINDOWS) * len(STATISTICS), len(sensors)
    prefill_chain(sensors, topics, period)
    sizes = [len(sensor.states) for sensor in sensors]
    result["window_samples"] = [min(sizes), max(sizes)]
    result["samples"] = sum(sizes)
    gc.collect()
    result["rss_after_setup_kib"] = read_rss_kib()
    result["peak_rss_after_setup_kib"] = peak_rss_kib()
    if SPEC.get("memory_only"):  # a second topic count for the per-topic slope
        write_result(result)
        return

    streamer = Streamer(hass, clock, topics, period, nothing)
    await streamer.subscribe_floor()
    await streamer.feed(WARMUP_SECONDS)
    result["check_second"] = streamer.next_second - 1
    result["check"] = {
        f"0 {window_label(window)}": [
            next(
                len(s.states)
                for s in sensors
                if s._source_entity_id == f"sensor.{object_id(0)}"
                and s._samples_max_age == window
            ),
            *(
                round(
                    float(
                        hass.states.get(
                            f"sensor.{object_id(0)}_{name}_{window_label(window)}"
                        ).state
                    ),
                    2,
                )
                for name in STATISTICS
            ),
        ]
        for window in WINDOWS
    }
    result["alerts_on"] = sum(
        1
        for index in range(topics)
        if hass.states.get(f"binary_sensor.{object_id(index)}_high").state == "on"
    )
    result["per_message"] = await streamer.segments(SPEC["seconds"], SPEC["segments"])
    result["steady"] = await streamer.steady(SPEC["steady_seconds"])
    streamer.done()
    gc.collect()
    result["rss_after_stream_kib"] = read_rss_kib()
    result["peak_rss_kib"] = peak_rss_kib()
    result["messages"] = streamer.sent
    # The MQTT sensor of the last topic that read saw its reading.
    last = streamer.next_second - 1
    for second in range(last, last - period, -1):
        if readers := due(topics, second, period):
            state = hass.states.get(f"sensor.{object_id(readers[-1])}")
            assert state.state == payload(readers[-1], second).decode()
            break
    result["window_bytes_per_topic"] = chain_buffer_bytes(sensors)
    write_result(result)


async def test_large_chain_restart(
    hass: HomeAssistant,
    async_setup_recorder_instance: Callable[..., Awaitable[Any]],
) -> None:
    """Fill the recorder with 24 h of states, then let statistics restore them."""
    hass.config.config_dir = SPEC["config_dir"]
    clock = install_clock(hass, timestamp(-max(WINDOWS) - SPEC["period"]))
    try:
        await _large_chain_restart(hass, async_setup_recorder_instance, clock)
    finally:
        clock.release()


async def _large_chain_restart(
    hass: HomeAssistant,
    async_setup_recorder_instance: Callable[..., Awaitable[Any]],
    clock: SimClock,
) -> None:
    topics: int = SPEC["topics"]
    period: int = SPEC["period"]
    configs = chain_statistics_configs(topics, period)
    assert len(configs) == topics * len(WINDOWS) * len(STATISTICS)
    # The first period through the recorder's event path (every sensor once),
    # then the same rows bulk-inserted up to second 0.
    result = await chain_restart(
        hass,
        async_setup_recorder_instance,
        clock,
        kind="large_chain_restart",
        first=-max(WINDOWS) - period + 1,
        recorded=period,
        period=period,
        configs=configs,
    )
    write_result(result)
