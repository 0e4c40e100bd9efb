"""Benchmark scenarios, run by pytest inside Home Assistant's test harness.

Not a test module: the normal test run only collects ``tests/``. The driver
(``python -m benchmarks.bench_ha``) runs one scenario per process::

    IOTITAN_BENCH_SPEC='{"kind": "iotitan", ...}' \
        .venv/bin/python -m pytest benchmarks/ha_scenarios.py::test_stream

and reads the figures from the JSON file named in the spec. Each scenario gets
a fresh ``hass`` from the harness (real event loop, state machine, entity
platforms, config entries), the harness's MQTT mock (the real MQTT integration
over a mocked paho client) and injects messages with the harness's
``async_fire_mqtt_message``, exactly as the integration's tests do, and, in
alternating segments, straight into the real MQTT client as paho would
(:class:`Injection`). With "ablation" or "scaling" in the spec the IoTitan
scenario instead compares variants of the running hub in interleaved
segments (:class:`Ablation`, :func:`run_scaling`).

Kinds:

Both main kinds also measure the floor, Home Assistant's own MQTT dispatch:
a subscription on other topics with a callback that only counts, in segments
interleaved with theirs (:func:`run_segments`).

- ``iotitan``: the hub with one wildcard sensor source (windows of `window`
  seconds, six statistics), one high alert on it (so one per topic), journal
  on and syslog over UDP; its windows are pre-filled from a journal the driver
  wrote, which is also how a restart restores them;
- ``chain``: core's way: an MQTT sensor per topic (YAML), six ``statistics``
  sensors per topic (max_age 1 h, sampling_size 4,000) pre-filled in their
  buffers, and a ``threshold`` binary sensor per topic;
- ``chain_restart`` (test_chain_restart): the recorder (SQLite in a temporary
  file) is filled with an hour of 1 Hz states of every topic's MQTT sensor
  (the first seconds through the recorder, the rest bulk-inserted as the same
  rows), then core's statistics sensors are set up and restore their buffers
  from it.

Time is simulated (:class:`~benchmarks.ha_common.SimClock`): every simulated
second each topic gets one message, then the loop runs once; timers fire when
simulated time reaches them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
import gc
import json
import os
from pathlib import Path
import resource
import statistics
import time
import tracemalloc
from typing import Any
from unittest.mock import Mock

from homeassistant import util as ha_util
from homeassistant.components import mqtt
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import event as event_helper
from homeassistant.helpers.entity_platform import async_get_platforms
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from paho.mqtt.client import MQTTMessage, MQTTMessageInfo
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockMqttReasonCode,
    async_fire_mqtt_message,
)

import custom_components.iotitan  # noqa: F401  (before the hass fixture)
from custom_components.iotitan.alert_runtime import AlertTracker
from custom_components.iotitan.config_flow import OPTIONS_DEFAULTS
from custom_components.iotitan.const import (
    CONF_ADVANCED,
    CONF_DEADBAND,
    CONF_DEVICE_CLASS,
    CONF_HIGH,
    CONF_JOURNAL,
    CONF_LOG_TOPICS,
    CONF_LOGGING,
    CONF_LOW,
    CONF_MAX_SAMPLES,
    CONF_MAX_TOPICS,
    CONF_OFF_DELAY,
    CONF_ON_DELAY,
    CONF_OUTPUT,
    CONF_OUTPUT_ENABLED,
    CONF_PERCENTILE,
    CONF_PRECISION,
    CONF_RATE_LIMIT,
    CONF_RULE,
    CONF_SEVERITY,
    CONF_SOURCE,
    CONF_STALE_AFTER,
    CONF_STATISTICS,
    CONF_SYSLOG_HOST,
    CONF_SYSLOG_PORT,
    CONF_SYSLOG_TRANSPORT,
    CONF_TOPIC,
    CONF_UNIT,
    CONF_UPDATE_INTERVAL,
    CONF_VALUE_PATH,
    CONF_WATCH,
    CONF_WINDOWS,
    DEFAULT_LOG_TOPICS,
    DOMAIN,
    SUBENTRY_ALERT,
    SUBENTRY_SENSOR,
    WATCH_VALUE,
)
from custom_components.iotitan.engine.window import SlidingWindow, Statistic
from custom_components.iotitan.hub import IoTitanHub
from custom_components.iotitan.source import TopicState

from .ha_common import (
    ALERT_SUBENTRY_ID,
    DEADBAND,
    FLOOR_FILTER,
    FLOOR_PREFIX,
    HIGH_LIMIT,
    HUB_ENTRY_ID,
    PERCENTILE,
    SENSOR_SUBENTRY_ID,
    SIM_START,
    SOURCE_FILTER,
    STATISTICS,
    THRESHOLD_HYSTERESIS,
    THRESHOLD_UPPER,
    SimClock,
    due,
    object_id,
    payload,
    read_rss_kib,
    reading,
    stream,
    timestamp,
    topic,
)

SPEC_ENV = "IOTITAN_BENCH_SPEC"
RECORDED_SECONDS = 10
WARMUP_SECONDS = 10
ACK = MockMqttReasonCode()
SPEC: dict[str, Any] = json.loads(os.environ.get(SPEC_ENV) or "{}")


# -- harness fixtures ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/iotitan."""


@pytest.fixture
def persistent_database() -> bool:
    """The recorder writes a SQLite file (as Home Assistant does), not memory."""
    return True


@pytest.fixture
def mock_recorder_before_hass(request: pytest.FixtureRequest) -> None:
    """The recorder's database fixture must come before `hass`."""
    if SPEC.get("kind") == "chain_restart":
        request.getfixturevalue("recorder_db_url")


@pytest.fixture
def hass_config() -> dict[str, Any]:
    """The core chain's YAML: one MQTT sensor per topic."""
    if SPEC.get("kind") != "chain":
        return {}
    return {"mqtt": {"sensor": [mqtt_sensor_config(i) for i in range(SPEC["topics"])]}}


# -- configuration ---------------------------------------------------------------------


def mqtt_sensor_config(index: int) -> dict[str, Any]:
    """An MQTT sensor as a user would write it for an ESPEasy temperature."""
    return {
        "name": f"bench t{index:03d}",
        "unique_id": object_id(index),
        "default_entity_id": f"sensor.{object_id(index)}",
        "state_topic": topic(index),
        "unit_of_measurement": "°C",
        "device_class": "temperature",
        "state_class": "measurement",
        # Without it an unchanged reading writes no state, and the statistics
        # sensors would miss every repeated value (their windows would differ
        # from IoTitan's, and from the readings).
        "force_update": True,
    }


def statistics_configs(topics: int, window: int) -> list[dict[str, Any]]:
    """Six core statistics sensors per topic over the same window."""
    return [
        {
            "platform": "statistics",
            "name": f"bench t{index:03d} {characteristic}",
            "entity_id": f"sensor.{object_id(index)}",
            "state_characteristic": characteristic,
            "max_age": {"seconds": window},
            "sampling_size": max(4000, window + 400),
            "precision": 2,
            "percentile": PERCENTILE,
        }
        for index in range(topics)
        for characteristic in STATISTICS
    ]


def threshold_configs(topics: int) -> list[dict[str, Any]]:
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


def hub_options(syslog_port: int, variant: dict[str, Any]) -> dict[str, Any]:
    """The hub's options: the defaults, a 10 s update tick, UDP syslog, MQTT output.

    `variant`: see `hub_entry`.
    """
    options = json.loads(json.dumps(OPTIONS_DEFAULTS))
    options[CONF_UPDATE_INTERVAL] = variant.get("update_interval", 10)
    transport = variant.get("syslog_transport", "udp")
    if not variant.get("syslog", True):
        transport = "none"
    options[CONF_LOGGING].update(
        {
            # The default configuration: log everything (`#`) besides the
            # source's filter, as a new hub does.
            CONF_LOG_TOPICS: list(DEFAULT_LOG_TOPICS),
            CONF_SYSLOG_TRANSPORT: transport,
            CONF_SYSLOG_HOST: "127.0.0.1",
            CONF_SYSLOG_PORT: SPEC["syslog_tcp_port"]
            if transport == "tcp"
            else syslog_port,
        }
    )
    options[CONF_OUTPUT][CONF_OUTPUT_ENABLED] = variant.get("output", True)
    assert CONF_JOURNAL in options
    return options


def hub_entry(
    topics: int, window: int | list[float], syslog_port: int, variant: dict[str, Any]
) -> MockConfigEntry:
    """The hub: one wildcard source, six statistics, one high alert, UDP syslog.

    `window`: the source's window in seconds, or a list of them (one window
    each, all with the six statistics).

    `variant` switches parts off for the ablation runs (--ablation): "syslog",
    "alert", "output" (False: off), "update_interval" (seconds),
    "syslog_transport" ("tcp" instead of "udp").
    """
    options = hub_options(syslog_port, variant)
    sensor = {
        "subentry_id": SENSOR_SUBENTRY_ID,
        "subentry_type": SUBENTRY_SENSOR,
        "title": "Bench temperatures",
        "unique_id": None,
        "data": {
            CONF_TOPIC: SOURCE_FILTER,
            CONF_VALUE_PATH: "",
            CONF_UNIT: "°C",
            CONF_DEVICE_CLASS: "temperature",
            # A list: exactly these windows (the large home). A number: the
            # main window, then any further ones (shorter: the journal that
            # pre-fills the main one fills them too).
            CONF_WINDOWS: [float(w) for w in window]
            if isinstance(window, list)
            else [float(window)]
            + [float(extra) for extra in SPEC.get("extra_windows", ())],
            CONF_STATISTICS: list(STATISTICS),
            CONF_ADVANCED: {
                CONF_PERCENTILE: PERCENTILE,
                CONF_PRECISION: 2,
                CONF_MAX_SAMPLES: None,
                CONF_MAX_TOPICS: max(500, topics),
            },
        },
    }
    alert = {
        "subentry_id": ALERT_SUBENTRY_ID,
        "subentry_type": SUBENTRY_ALERT,
        "title": "Bench temperatures: above 24.5",
        "unique_id": None,
        "data": {
            CONF_NAME: "",
            CONF_SOURCE: SENSOR_SUBENTRY_ID,
            CONF_WATCH: WATCH_VALUE,
            CONF_RULE: "high",
            CONF_HIGH: HIGH_LIMIT,
            CONF_LOW: None,
            CONF_DEADBAND: DEADBAND,
            CONF_STALE_AFTER: None,
            CONF_RATE_LIMIT: None,
            CONF_ON_DELAY: 0.0,
            CONF_OFF_DELAY: 0.0,
            CONF_SEVERITY: "warning",
        },
    }
    return MockConfigEntry(
        domain=DOMAIN,
        title="IoTitan",
        data={CONF_NAME: "IoTitan"},
        options=options,
        subentries_data=(sensor, alert) if variant.get("alert", True) else (sensor,),
        entry_id=HUB_ENTRY_ID,
    )


# -- clock and measurement ---------------------------------------------------------------


def install_clock(hass: HomeAssistant, start: float) -> SimClock:
    """Put every clock the message path reads on simulated time.

    Not undone: one scenario runs per process, and the test releases the clock
    (time flows again from where the simulation left it) before teardown, so
    timers scheduled in simulated time stay consistent.
    """
    clock = SimClock(start)
    time.time = clock.time
    time.time_ns = clock.time_ns
    dt_util.utcnow = clock.utcnow
    ha_util.utcnow = clock.utcnow
    event_helper.time_tracker_utcnow = clock.utcnow
    event_helper.time_tracker_timestamp = clock.time
    hass.loop.time = clock.monotonic  # type: ignore[method-assign]
    return clock


class Injection:
    """The two ways a message gets into (and out of) Home Assistant's MQTT client.

    - ``harness``: the test harness's `async_fire_mqtt_message`, which also
      creates a `unittest.mock.Mock` per message and goes through the harness's
      MagicMock wrapper of the MQTT client (which records every call); what is
      published goes through that wrapper to the acknowledging `publish`
      below, not to the harness's mocked paho `publish`, which would echo
      every message back through `async_fire_mqtt_message` (a broker sends
      nothing back to a client not subscribed to the topic, and only IoTitan
      publishes, so the echo would charge the harness's recording to it);
    - ``direct``: what paho does on a received PUBLISH: a new `MQTTMessage`,
      handed to the real client's `_async_mqtt_on_message` (Home Assistant's
      MQTT API goes to the real client too, not to the harness's MagicMock
      around it); and a `publish`
      that only acknowledges, as paho with a broker does for QoS 0 (no echo:
      nothing subscribes to what IoTitan publishes). No mock in the path, so
      this is the cost a real broker connection would see, less paho's socket
      I/O and packet coding (the same for every contender).
    """

    def __init__(self, hass: HomeAssistant) -> None:
        """Find the real client behind the harness's MagicMock."""
        self.mqtt_data = hass.data["mqtt"]
        self.harness_client = self.mqtt_data.client
        self.real = getattr(self.harness_client, "_mock_wraps", None) or (
            self.harness_client
        )
        self.paho = self.real._mqttc
        self.harness_publish = self.paho.publish
        self.loop = hass.loop
        self.mid = 100_000

    def use(self, mode: str) -> Callable[[HomeAssistant, str, bytes], None]:
        """Switch to `mode`; return the function that injects one message."""
        if mode == "harness":
            self.mqtt_data.client = self.harness_client
            self.paho.publish = self.publish
            return async_fire_mqtt_message
        # The real client, not the harness's recording MagicMock around it.
        self.mqtt_data.client = self.real
        self.paho.publish = self.publish
        on_message = self.real._async_mqtt_on_message
        monotonic = time.monotonic

        def direct(hass: HomeAssistant, name: str, body: bytes) -> None:
            message = MQTTMessage(topic=name.encode())
            message.payload = body
            message.timestamp = monotonic()
            on_message(None, None, message)

        return direct

    def restore(self) -> None:
        """Give the harness its own client wrapper and paho mock back."""
        self.mqtt_data.client = self.harness_client
        self.paho.publish = self.harness_publish

    def publish(
        self, topic: str, payload: Any = None, qos: int = 0, retain: bool = False
    ) -> MQTTMessageInfo:
        """Acknowledge on the next loop iteration, as paho does for QoS 0."""
        self.mid += 1
        self.loop.call_soon(self.paho.on_publish, None, 0, self.mid, ACK, None)
        info = MQTTMessageInfo(self.mid)
        info.rc = 0
        return info


def reset_mocks(hass: HomeAssistant) -> None:
    """Forget the calls the harness's MQTT mocks recorded (they hold every message)."""
    client = hass.data["mqtt"].client
    if isinstance(client, Mock):
        client.reset_mock()
        real = getattr(client, "_mock_wraps", None)
        if real is not None and isinstance(real._mqttc, Mock):
            real._mqttc.reset_mock()


def peak_rss_kib() -> int:
    """The process's peak resident set size so far, KiB (Linux: ru_maxrss)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def run_segments(
    hass: HomeAssistant,
    clock: SimClock,
    topics: int,
    seconds: int,
    segments: int,
    modes: list[str],
    finish: Callable[[], Awaitable[None]],
    snapshot: Callable[[], dict[str, Any]],
    batches: Callable[[int, int], list[list[tuple[str, bytes]]]] | None = None,
) -> dict[str, Any]:
    """Feed `segments` rounds of `seconds` simulated seconds per injection mode.

    `topics` messages a simulated second: by default `stream`'s, one per
    topic; `batches(first, count)` gives others (as many a second).

    First WARMUP_SECONDS unmeasured (timers left over from the setup run,
    caches warm up; the peak RSS is taken after it), then segments of the
    modes alternate (harness, direct, harness, ...), all on one stream. A
    segment's time runs from its first message until every effect of its
    messages is done: tasks and state writes (block_till_done) and whatever
    `finish` waits for (journal flushed, syslog spool sent, MQTT output
    published). `snapshot` is taken after the warm-up, at the same simulated
    second for every contender.

    Each segment is followed by one of bare dispatch (mode
    "floor <mode>"): as many messages on FLOOR_FILTER's topics, which only a
    counting callback subscribes to, injected without yielding to the event
    loop (so nothing of the contender runs in it). Each contender's cost is then also
    known as a multiple of Home Assistant's own dispatch in the same process
    at nearly the same moment, which a shared machine's drift cannot skew.
    """
    injection = Injection(hass)
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    runs.update({f"floor {mode}": [] for mode in modes})
    first = 1
    result: dict[str, Any] = {"modes": {}}

    async def feed(
        fire: Callable[[HomeAssistant, str, bytes], None], count: int
    ) -> None:
        messages = batches(first, count) if batches else stream(topics, first, count)
        for batch in messages:
            clock.advance(1.0)
            for name, body in batch:
                fire(hass, name, body)
            await asyncio.sleep(0)  # one loop iteration per simulated second
        await hass.async_block_till_done()
        await finish()

    async def feed_floor(
        fire: Callable[[HomeAssistant, str, bytes], None], count: int
    ) -> None:
        # Dispatch to a callback is synchronous, so the floor never yields to
        # the loop: with the clock standing still, callbacks the contender has
        # due "now" (core's statistics re-arm a purge timer at the second
        # whose oldest sample is exactly max_age old) must not run in it.
        for batch in stream(topics, first, count, prefix=FLOOR_PREFIX):
            for name, body in batch:
                fire(hass, name, body)

    async def measure(
        mode: str, feeder: Callable[..., Awaitable[None]], fire: Any
    ) -> None:
        reset_mocks(hass)
        gc.collect()
        began_cpu, began = time.process_time(), time.perf_counter()
        await feeder(fire, seconds)
        cpu, wall = time.process_time() - began_cpu, time.perf_counter() - began
        runs[mode].append({"messages": seconds * topics, "cpu": cpu, "wall": wall})

    # Warm-up by direct injection: the harness's mocks record every message
    # they see, which would inflate the memory figures taken here.
    await feed(injection.use("direct"), WARMUP_SECONDS)
    await feed_floor(injection.use("direct"), WARMUP_SECONDS)
    first += WARMUP_SECONDS
    # The same simulated second for every contender, whatever its segments.
    result["snapshot"] = {"second": first - 1, **snapshot()}
    result["peak_rss_kib"] = peak_rss_kib()
    for _ in range(segments):
        for mode in modes:
            fire = injection.use(mode)
            await measure(mode, feed, fire)
            await measure(f"floor {mode}", feed_floor, fire)
            first += seconds
    reset_mocks(hass)
    injection.restore()
    result["last_second"] = first - 1
    for mode, results in runs.items():
        messages_total = sum(r["messages"] for r in results)
        cpu_total = sum(r["cpu"] for r in results)
        wall_total = sum(r["wall"] for r in results)
        result["modes"][mode] = {
            "segments": results,
            "messages": messages_total,
            "cpu": cpu_total,
            "wall": wall_total,
            "cpu_per_message_us": cpu_total / messages_total * 1e6,
            "messages_per_second": messages_total / wall_total,
            "median_cpu_per_message_us": statistics.median(
                r["cpu"] / r["messages"] * 1e6 for r in results
            ),
            "median_messages_per_second": statistics.median(
                r["messages"] / r["wall"] for r in results
            ),
        }
    result["messages"] = sum(
        m["messages"] for name, m in result["modes"].items() if name in modes
    )
    return result


def start_profiler() -> Any:
    """With "profile" in the spec: pyinstrument (from a separate venv on PYTHONPATH)."""
    if not SPEC.get("profile"):
        return None
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    return profiler


def stop_profiler(profiler: Any) -> None:
    """Write the profile next to the result: text tree and speedscope JSON."""
    if profiler is None:
        return
    from pyinstrument.renderers import SpeedscopeRenderer

    profiler.stop()
    base = Path(SPEC["profile"])
    base.with_suffix(".txt").write_text(
        profiler.output_text(unicode=False, show_all=True, short_mode=False),
        encoding="utf-8",
    )
    base.with_suffix(".speedscope.json").write_text(
        profiler.output(SpeedscopeRenderer()), encoding="utf-8"
    )


def write_result(result: dict[str, Any]) -> None:
    """Hand the figures to the driver."""
    Path(SPEC["result"]).write_text(json.dumps(result, indent=1), encoding="utf-8")


async def nothing() -> None:
    """No further work to wait for."""


# -- the scenarios ---------------------------------------------------------------------------


async def test_stream(
    hass: HomeAssistant,
    mock_hass_config: None,
    mqtt_mock_entry: Callable[[], Awaitable[Any]],
    monkeypatch: pytest.MonkeyPatch,
    socket_enabled: None,
) -> None:
    """Set up one contender, pre-fill it, then time the message stream."""
    hass.config.config_dir = SPEC["config_dir"]
    clock = install_clock(hass, SIM_START)
    try:
        await _test_stream(hass, mqtt_mock_entry, monkeypatch, clock)
    finally:
        clock.release()


async def _test_stream(
    hass: HomeAssistant,
    mqtt_mock_entry: Callable[[], Awaitable[Any]],
    monkeypatch: pytest.MonkeyPatch,
    clock: SimClock,
) -> None:
    kind: str = SPEC["kind"]
    topics: int = SPEC["topics"]
    window: int = SPEC.get("window", 3600)
    gc.collect()
    rss_before = read_rss_kib()
    result: dict[str, Any] = {"kind": kind, "topics": topics, "window": window}
    began = time.perf_counter()

    if kind == "chain":
        # Statistics and threshold first, so the MQTT sensors' platform
        # forward finds the sensor component already set up with them.
        setup_began = time.perf_counter()
        assert await async_setup_component(
            hass, "sensor", {"sensor": statistics_configs(topics, window)}
        )
        assert await async_setup_component(
            hass, "binary_sensor", {"binary_sensor": threshold_configs(topics)}
        )
        await mqtt_mock_entry()
        await hass.async_block_till_done()
        result["setup_seconds"] = time.perf_counter() - setup_began
        sensors = [
            entity
            for platform in async_get_platforms(hass, "statistics")
            for entity in platform.entities.values()
        ]
        assert len(sensors) == topics * len(STATISTICS), len(sensors)
        prefill_chain(sensors, topics, window)
        finish = nothing

        def snapshot() -> dict[str, Any]:
            return {
                "topic0_statistics": {
                    name: round(
                        float(hass.states.get(f"sensor.{object_id(0)}_{name}").state), 2
                    )
                    for name in STATISTICS
                },
                "alerts_on": sum(
                    1
                    for index in range(topics)
                    if hass.states.get(f"binary_sensor.{object_id(index)}_high").state
                    == "on"
                ),
                "window_samples": [
                    min(len(s.states) for s in sensors),
                    max(len(s.states) for s in sensors),
                ],
            }
    else:
        await mqtt_mock_entry()
        if kind == "iotitan":
            entry = hub_entry(
                topics, window, SPEC["syslog_port"], SPEC.get("variant", {})
            )
            entry.add_to_hass(hass)
            timings = time_replay(monkeypatch)
            setup_began = time.perf_counter()
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            result["setup_seconds"] = time.perf_counter() - setup_began
            result["replay_seconds"] = timings[-1]
            hub: IoTitanHub = entry.runtime_data
            result["records_replayed"] = hub.records_replayed
            result["windows"] = list(hub.sources[SENSOR_SUBENTRY_ID].config.windows)
            sizes = window_sizes(hub, float(window))
            assert len(sizes) == topics and min(sizes) >= window, (len(sizes), sizes)
            finish = drain_writers(hub)

            def snapshot() -> dict[str, Any]:
                windows = hub.sources[SENSOR_SUBENTRY_ID].topics[topic(0)].windows
                sizes = window_sizes(hub, float(window))
                return {
                    "topic0_statistics": {
                        name: round(
                            windows[float(window)].value(Statistic(name), PERCENTILE), 2
                        )
                        for name in STATISTICS
                    },
                    "alerts_on": sum(
                        1
                        for tracker in hub.alerts.trackers.values()
                        if tracker.machine.state
                    ),
                    "window_samples": [min(sizes), max(sizes)],
                }
        else:
            raise ValueError(kind)
        await hass.async_block_till_done()
    result["prefill_seconds"] = time.perf_counter() - began
    gc.collect()

    if SPEC.get("ablation"):
        result["ablation"] = await run_ablation(
            hass, clock, hub, topics, SPEC["seconds"], SPEC["segments"], finish
        )
        result["rss_before_kib"] = rss_before
        write_result(result)
        return
    if SPEC.get("scaling"):
        result["scaling"] = await run_scaling(
            hass,
            clock,
            hub,
            topics,
            SPEC["seconds"],
            SPEC["segments"],
            finish,
            SPEC["scaling"],
        )
        result["rss_before_kib"] = rss_before
        result["peak_rss_kib"] = peak_rss_kib()
        write_result(result)
        return

    floor_calls = [0]

    @callback
    def count_floor(message: mqtt.ReceiveMessage) -> None:
        floor_calls[0] += 1

    await mqtt.async_subscribe(hass, FLOOR_FILTER, count_floor, qos=0, encoding=None)
    await hass.async_block_till_done()

    profiler = start_profiler()
    result.update(
        await run_segments(
            hass,
            clock,
            topics,
            SPEC["seconds"],
            SPEC["segments"],
            SPEC.get("modes", ["harness", "direct"]),
            finish,
            snapshot,
        )
    )
    stop_profiler(profiler)
    result["rss_before_kib"] = rss_before
    result["peak_rss_end_kib"] = peak_rss_kib()
    result["rss_after_kib"] = read_rss_kib()

    # What the windows hold, by tracemalloc on a copy of topic 0's (after the
    # measurements: tracemalloc's own bookkeeping would show in the RSS).
    if kind == "iotitan":
        result["window_bytes"] = topics * window_bytes(hub, window)
    elif kind == "chain":
        result["window_bytes"] = topics * chain_buffer_bytes(sensors)

    # Checks, outside the timing: every message did its job.
    last = result["last_second"]
    warmup = WARMUP_SECONDS * topics
    result.update(result.pop("snapshot", {}))
    floor_messages = sum(
        m["messages"] for name, m in result["modes"].items() if name.startswith("floor")
    )
    assert floor_calls[0] == floor_messages + warmup, floor_calls[0]
    if kind == "iotitan":
        assert hub.messages_received == result["messages"] + warmup
        result["alert_trackers"] = len(hub.alerts.trackers)
        syslog = hub.message_log.syslog.stats
        journal = hub.message_log.journal.stats
        result["syslog_sent"] = syslog.sent
        result["syslog_dropped"] = sum(syslog.dropped.values())
        result["journal_written"] = journal.records_written
        result["journal_dropped"] = sum(journal.dropped.values())
        result["statistic_entities"] = len(hass.states.async_entity_ids("sensor"))
        if SPEC.get("restart"):
            result["restart"] = await restart_hub(hass, entry, monkeypatch)
    elif kind == "chain":
        # The MQTT sensors saw the last reading.
        assert (
            hass.states.get(f"sensor.{object_id(0)}").state == payload(0, last).decode()
        )
    result["total_seconds"] = time.perf_counter() - began
    write_result(result)


def prefill_chain(sensors: list[Any], topics: int, window: int) -> None:
    """Fill core's statistics buffers with the last hour, as 1 Hz updates would.

    What `_add_state_to_queue` appends: a float per sensor for the value, and
    the source state's `last_updated_timestamp` (one float shared by the six
    sensors of a source). Feeding them through the state machine instead would
    take about 40 minutes for 100 topics.
    """
    seconds = range(-window + 1, 1)
    stamps = [timestamp(second) for second in seconds]
    by_source: dict[str, list[Any]] = {}
    for sensor in sensors:
        by_source.setdefault(sensor._source_entity_id, []).append(sensor)
    for index in range(topics):
        texts = [payload(index, second).decode() for second in seconds]
        for sensor in by_source[f"sensor.{object_id(index)}"]:
            sensor.states.extend(float(text) for text in texts)
            sensor.ages.extend(stamps)


def window_bytes(hub: IoTitanHub, window: int) -> int:
    """What one topic's window holds: a copy of topic 0's, built under tracemalloc."""
    samples = list(hub.sources[SENSOR_SUBENTRY_ID].topics[topic(0)].windows[window])
    tracemalloc.start()
    copy = SlidingWindow(float(window))
    for t, v in samples:
        copy.add(t, v)
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return size


def chain_buffer_bytes(sensors: list[Any]) -> int:
    """What core's buffers of one topic hold: a copy of topic 0's six sensors'.

    As `_add_state_to_queue` builds them: a float per sensor and sample, the
    timestamps shared by the six sensors of a source.
    """
    mine = [s for s in sensors if s._source_entity_id == f"sensor.{object_id(0)}"]
    values = [list(map(repr, sensor.states)) for sensor in mine]
    stamps = list(mine[0].ages)
    tracemalloc.start()
    ages = deque((float(repr(stamp)) for stamp in stamps), maxlen=mine[0].ages.maxlen)
    copies = [
        (
            deque(map(float, texts), maxlen=sensor.states.maxlen),
            ages if index == 0 else deque(ages, maxlen=ages.maxlen),
        )
        for index, (sensor, texts) in enumerate(zip(mine, values, strict=True))
    ]
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del copies
    return size


def window_sizes(hub: IoTitanHub, seconds: float | None = None) -> list[int]:
    """Samples in every topic's window (of `seconds` only, if given)."""
    return [
        len(window)
        for source in hub.sources.values()
        for state in source.topics.values()
        for length, window in state.windows.items()
        if seconds is None or length == seconds
    ]


def time_replay(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record how long each `async_replay_journal` takes (wall seconds)."""
    timings: list[float] = []
    original = IoTitanHub.async_replay_journal

    async def timed(self: IoTitanHub) -> None:
        began = time.perf_counter()
        await original(self)
        timings.append(time.perf_counter() - began)

    monkeypatch.setattr(IoTitanHub, "async_replay_journal", timed)
    return timings


def drain_writers(hub: IoTitanHub) -> Callable[[], Awaitable[None]]:
    """Wait until the journal is flushed, the syslog spool sent and the MQTT
    output published."""

    async def finish() -> None:
        await hub.message_log.journal.flush()
        # The syslog writer's linger runs on the loop's clock, which stands
        # still within a simulated second: what lingers goes now.
        await hub.message_log.syslog.flush()
        output = hub.output
        for _ in range(100_000):
            if not getattr(output, "_queue", ()):
                return
            await asyncio.sleep(0)
        raise AssertionError("the MQTT output did not drain")

    return finish


class Ablation:
    """Switch parts of a running hub off and on again, between segments.

    For the attribution runs (``--ablation``): every variant runs in the same
    process on the same hub, segments of the variants interleaved, so a busy
    machine's drift hits them all alike. It reaches into the hub's internals
    (benchmark instrumentation only): the syslog writer's enabled flag,
    `AlertTracker.async_sample`/`async_tick` (what is left of "no alert" is
    the runtime finding the topic's trackers), the MQTT output timer and
    `TopicState.async_notify`.
    """

    VARIANTS: tuple[tuple[str, frozenset[str]], ...] = (
        ("everything on", frozenset()),
        ("no syslog", frozenset({"syslog"})),
        ("syslog over TCP instead of UDP", frozenset({"udp"})),
        ("no alert", frozenset({"alert"})),
        ("no MQTT output", frozenset({"output"})),
        ("no entity updates", frozenset({"entities"})),
        (
            "journal + windows only",
            frozenset({"syslog", "alert", "output", "entities"}),
        ),
    )

    def __init__(self, hub: IoTitanHub) -> None:
        """Remember the hub's parts as set up."""
        self.hub = hub
        self.udp = hub.message_log.syslog
        self.tcp: Any = None
        self.notify = TopicState.async_notify
        self.alert_sample = AlertTracker.async_sample
        self.alert_tick = AlertTracker.async_tick
        self.off: frozenset[str] = frozenset()

    async def start(self, tcp_port: int) -> None:
        """Open the TCP syslog writer used by the TCP variant."""
        from custom_components.iotitan.engine.syslog import (
            SyslogTarget,
            SyslogWriter,
            Transport,
        )

        self.tcp = SyslogWriter(
            SyslogTarget(Transport.TCP, host="127.0.0.1", port=tcp_port),
            self.udp.formatter,
        )
        await self.tcp.start()

    async def stop(self) -> None:
        """Back to everything on; close the TCP writer."""
        self.use(frozenset())
        if self.tcp is not None:
            await self.tcp.stop()

    def use(self, off: frozenset[str]) -> None:
        """Switch the parts in `off` off, every other one on."""
        hub = self.hub
        hub.message_log.syslog = self.tcp if "udp" in off else self.udp
        self.udp._enabled = "syslog" not in off
        if "alert" in off:
            AlertTracker.async_sample = _no_alert  # type: ignore[method-assign]
            AlertTracker.async_tick = _no_alert  # type: ignore[method-assign]
        else:
            AlertTracker.async_sample = self.alert_sample  # type: ignore[method-assign]
            AlertTracker.async_tick = self.alert_tick  # type: ignore[method-assign]
        if "output" in off and "output" not in self.off:
            hub.output.async_stop()
        elif "output" not in off and "output" in self.off:
            hub.output.async_start()
        if "entities" in off:
            TopicState.async_notify = _no_notify  # type: ignore[method-assign]
        else:
            TopicState.async_notify = self.notify  # type: ignore[method-assign]
        self.off = off


def _no_alert(self: AlertTracker, now: float) -> None:
    """The alert machines are not fed (the ablation's "no alert")."""


def _no_notify(self: TopicState) -> None:
    """Entities are not written (the ablation's "no entity updates")."""
    self.dirty = False


async def run_ablation(
    hass: HomeAssistant,
    clock: SimClock,
    hub: IoTitanHub,
    topics: int,
    seconds: int,
    rounds: int,
    finish: Callable[[], Awaitable[None]],
) -> dict[str, Any]:
    """Rounds of one direct-injection segment per variant; median CPU per message."""
    ablation = Ablation(hub)
    await ablation.start(SPEC["syslog_tcp_port"])
    fire = Injection(hass).use("direct")
    runs: dict[str, list[float]] = {label: [] for label, _ in Ablation.VARIANTS}
    first = 1
    for _ in range(rounds + 1):  # the first round warms up and is not counted
        for label, off in Ablation.VARIANTS:
            ablation.use(off)
            gc.collect()
            began = time.process_time()
            for batch in stream(topics, first, seconds):
                clock.advance(1.0)
                for name, body in batch:
                    fire(hass, name, body)
                await asyncio.sleep(0)
            await hass.async_block_till_done()
            await finish()
            runs[label].append((time.process_time() - began) / (seconds * topics) * 1e6)
            first += seconds
    await ablation.stop()
    full = runs[Ablation.VARIANTS[0][0]]
    return {
        label: {
            "median_cpu_per_message_us": statistics.median(values[1:]),
            "segments_us": values[1:],
            # Paired with "everything on" in the same round: drift cancels.
            "median_difference_us": statistics.median(
                value - full[k] for k, value in enumerate(values) if k
            ),
        }
        for label, values in runs.items()
    }


async def run_scaling(
    hass: HomeAssistant,
    clock: SimClock,
    hub: IoTitanHub,
    topics: int,
    seconds: int,
    rounds: int,
    finish: Callable[[], Awaitable[None]],
    sizes: list[int],
) -> dict[str, Any]:
    """Cost per message at several window sizes, in one process, interleaved.

    The hub runs with the largest window (filled from the journal); smaller
    windows are built from its newest samples. Between segments every topic's
    window (in `TopicState.windows` and in its statistic entities) is swapped
    for the size under test; after a segment the other sizes are caught up
    with the same samples, outside the timing, so each is always full and
    current. Benchmark instrumentation: it reaches into the hub's topics and
    entities. Also measured: the memory one window of each size holds
    (tracemalloc while building it).
    """
    from custom_components.iotitan.sensor import (
        IoTitanStatisticSensor,
    )

    source = hub.sources[SENSOR_SUBENTRY_ID]
    largest = float(max(sizes))
    entities: dict[str, list[Any]] = {}
    for platform in async_get_platforms(hass, DOMAIN):
        for entity in platform.entities.values():
            if isinstance(entity, IoTitanStatisticSensor):
                entities.setdefault(entity.topic.topic, []).append(entity)
    windows: dict[int, dict[str, SlidingWindow]] = {size: {} for size in sizes}
    memory: dict[int, int] = {}
    for name, state in source.topics.items():
        full = state.windows[largest]
        samples = list(full)
        newest = samples[-1][0]
        for size in sizes:
            if float(size) == largest:
                windows[size][name] = full
                continue
            recent = [(t, v) for t, v in samples if newest - t <= size]
            measure = size not in memory
            if measure:
                tracemalloc.start()
            window = SlidingWindow(float(size))
            for t, v in recent:
                window.add(t, v)
            if measure:
                memory[size] = tracemalloc.get_traced_memory()[0]
                tracemalloc.stop()
            windows[size][name] = window
    if int(largest) not in memory:
        samples = list(next(iter(windows[int(largest)].values())))
        tracemalloc.start()
        window = SlidingWindow(largest)
        for t, v in samples:
            window.add(t, v)
        memory[int(largest)] = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        del window, samples

    def use(size: int) -> None:
        for name, state in source.topics.items():
            window = windows[size][name]
            state.windows = {largest: window}
            for entity in entities.get(name, ()):
                entity._window = window

    def catch_up(active: int, first: int) -> None:
        for size in sizes:
            if size == active:
                continue
            for second in range(first, first + seconds):
                stamp = timestamp(second)
                for index in range(topics):
                    windows[size][topic(index)].add(stamp, reading(index, second))

    def engine_cost(size: int, first: int) -> tuple[float, float]:
        """The window alone, CPU us: one add (expiring the oldest sample), and
        the six statistics right after an add (as an entity update reads them)."""
        window = SlidingWindow(float(size))
        for t, v in windows[size][topic(0)]:
            window.add(t, v)
        samples = [(timestamp(s), reading(0, s)) for s in range(first, first + 4000)]
        queries = [(Statistic(name), PERCENTILE) for name in STATISTICS]
        add = window.add
        began = time.process_time()
        for t, v in samples[:2000]:
            add(t, v)
        adding = (time.process_time() - began) / 2000 * 1e6
        spent = 0.0
        for t, v in samples[2000:]:
            add(t, v)
            began = time.process_time()
            for statistic, percentile in queries:
                window.value(statistic, percentile)
            spent += time.process_time() - began
        return adding, spent / 2000 * 1e6

    fire = Injection(hass).use("direct")
    runs: dict[int, list[float]] = {size: [] for size in sizes}
    engine: dict[int, list[tuple[float, float]]] = {size: [] for size in sizes}
    first = 1
    for round_ in range(rounds + 1):  # the first round warms up, not counted
        # The order rotates from round to round: no size always comes first.
        shift = round_ % len(sizes)
        for size in sizes[shift:] + sizes[:shift]:
            use(size)
            gc.collect()
            began = time.process_time()
            for batch in stream(topics, first, seconds):
                clock.advance(1.0)
                for name, body in batch:
                    fire(hass, name, body)
                await asyncio.sleep(0)
            await hass.async_block_till_done()
            await finish()
            runs[size].append((time.process_time() - began) / (seconds * topics) * 1e6)
            catch_up(size, first)
            first += seconds
        for size in sizes:
            engine[size].append(engine_cost(size, first))
    use(int(largest))
    reference = sizes[0]
    lengths = {size: len(next(iter(windows[size].values()))) for size in sizes}
    return {
        str(size): {
            "median_cpu_per_message_us": statistics.median(values[1:]),
            "segments_us": values[1:],
            # Paired with the smallest size's segment of the same round, so a
            # busy machine's drift from round to round cancels out.
            "median_difference_us": statistics.median(
                value - runs[reference][k] for k, value in enumerate(values) if k
            ),
            "window_add_us": statistics.median(a for a, _ in engine[size][1:]),
            "window_queries_us": statistics.median(q for _, q in engine[size][1:]),
            "samples": lengths[size],
            "window_bytes": memory[size],
        }
        for size, values in runs.items()
    }


async def restart_hub(
    hass: HomeAssistant, entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Unload the hub (flushing its journal) and set it up again: time the restore."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    timings = time_replay(monkeypatch)
    gc.collect()
    began_cpu, began = time.process_time(), time.perf_counter()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    cpu, wall = time.process_time() - began_cpu, time.perf_counter() - began
    hub: IoTitanHub = entry.runtime_data
    sizes = window_sizes(hub, max(hub.sources[SENSOR_SUBENTRY_ID].config.windows))
    return {
        "replay_seconds": timings[-1],
        "setup_seconds": wall,
        "setup_cpu": cpu,
        "records_replayed": hub.records_replayed,
        "topics": len(sizes),
        "window_samples": [min(sizes), max(sizes)],
    }


async def test_chain_restart(
    hass: HomeAssistant,
    async_setup_recorder_instance: Callable[..., Awaitable[Any]],
) -> None:
    """Fill the recorder with an hour of states, then let statistics restore it."""
    hass.config.config_dir = SPEC["config_dir"]
    clock = install_clock(hass, timestamp(-SPEC.get("window", 3600)))
    try:
        await _test_chain_restart(hass, async_setup_recorder_instance, clock)
    finally:
        clock.release()


async def _test_chain_restart(
    hass: HomeAssistant,
    async_setup_recorder_instance: Callable[..., Awaitable[Any]],
    clock: SimClock,
) -> None:
    window: int = SPEC.get("window", 3600)
    result = await chain_restart(
        hass,
        async_setup_recorder_instance,
        clock,
        kind="chain_restart",
        first=-window + 1,
        recorded=RECORDED_SECONDS,
        period=1,
        configs=statistics_configs(SPEC["topics"], window),
    )
    write_result(result)


async def chain_restart(
    hass: HomeAssistant,
    async_setup_recorder_instance: Callable[..., Awaitable[Any]],
    clock: SimClock,
    *,
    kind: str,
    first: int,
    recorded: int,
    period: int,
    configs: list[dict[str, Any]],
) -> dict[str, Any]:
    """Fill the recorder with the MQTT sensors' states, then restore core's statistics.

    States of seconds `first`..0, each topic once every `period` seconds
    (force_update, as in the chain scenario). The first `recorded` seconds go
    through the recorder's event path; the rest are the same rows,
    bulk-inserted (the event path takes about 1 ms of CPU a state here: 7
    minutes for an hour at 1 Hz). Then `configs`' statistics sensors are set
    up, and load their buffers from the database: the restart, timed.
    """
    from homeassistant.components.recorder import get_instance
    from pytest_homeassistant_custom_component.components.recorder.common import (
        async_recorder_block_till_done,
    )

    topics: int = SPEC["topics"]
    await async_setup_recorder_instance(hass, {"commit_interval": 1})
    result: dict[str, Any] = {"kind": kind, "topics": topics}
    attributes = {
        "unit_of_measurement": "°C",
        "device_class": "temperature",
        "state_class": "measurement",
    }
    entity_ids = [f"sensor.{object_id(index)}" for index in range(topics)]
    names = [{**attributes, "friendly_name": f"bench t{i:03d}"} for i in range(topics)]
    recorder = get_instance(hass)
    began = time.perf_counter()
    first_bulk = first + recorded
    states = 0
    for second in range(first, first_bulk):
        clock.now = timestamp(second)
        for index in due(topics, second, period):
            hass.states.async_set(
                entity_ids[index],
                payload(index, second).decode(),
                names[index],
                force_update=True,
            )
            states += 1
        await asyncio.sleep(0)
    await hass.async_block_till_done()
    await async_recorder_block_till_done(hass)
    result["recorded_states"] = states
    result["recorded_seconds"] = time.perf_counter() - began
    result["bulk_states"] = await recorder.async_add_executor_job(
        bulk_fill_states, recorder, entity_ids, first_bulk, 0, period
    )
    clock.now = timestamp(0)
    await async_recorder_block_till_done(hass)
    result["prefill_seconds"] = time.perf_counter() - began

    # The restart: core's statistics sensors load their buffers from the database.
    gc.collect()
    rss = read_rss_kib()
    began_cpu, began = time.process_time(), time.perf_counter()
    assert await async_setup_component(hass, "sensor", {"sensor": configs})
    await hass.async_block_till_done()
    cpu, wall = time.process_time() - began_cpu, time.perf_counter() - began
    gc.collect()
    sensors = [
        entity
        for platform in async_get_platforms(hass, "statistics")
        for entity in platform.entities.values()
    ]
    sizes = [len(sensor.states) for sensor in sensors]
    assert len(sizes) == len(configs)
    result.update(
        {
            "setup_seconds": wall,
            "setup_cpu": cpu,
            "rss_growth_kib": read_rss_kib() - rss,
            "sensors": len(sizes),
            "window_samples": [min(sizes), max(sizes)],
            "samples_restored": sum(sizes),
        }
    )
    return result


def bulk_fill_states(
    recorder: Any, entity_ids: list[str], first: int, last: int, period: int = 1
) -> int:
    """Insert the states of seconds first..last as the recorder writes them.

    Each second, the states of the sensors `due` then (with a `period` of 1,
    every sensor's).

    Learns from the rows the recorder wrote for the first seconds (metadata,
    attributes and origin ids, the old_state_id chain) and goes on in the same
    shape: `last_changed_ts` is None when the value changed (it equals
    `last_updated_ts`), else the time of the last change, as `States.from_event`
    stores a forced update of an unchanged value. Runs in the recorder's
    executor; returns how many rows it inserted.
    """
    from homeassistant.components.recorder.db_schema import (
        States,
        StatesMeta,
    )
    from homeassistant.util.ulid import ulid_at_time, ulid_to_bytes
    from sqlalchemy import func, insert, select

    inserted = 0
    with recorder.get_session() as session:
        meta = dict(
            session.execute(select(StatesMeta.entity_id, StatesMeta.metadata_id)).all()
        )
        next_id = session.execute(select(func.max(States.state_id))).scalar_one() + 1
        previous: dict[int, list[Any]] = {}
        for row in session.execute(
            select(
                States.metadata_id,
                States.state_id,
                States.state,
                States.attributes_id,
                States.origin_idx,
                States.last_changed_ts,
                States.last_updated_ts,
            ).order_by(States.state_id)
        ):
            changed = row.last_changed_ts or row.last_updated_ts
            previous[row.metadata_id] = [
                row.state_id,
                row.state,
                row.attributes_id,
                row.origin_idx,
                changed,
            ]
        rows: list[dict[str, Any]] = []
        for second in range(first, last + 1):
            stamp = timestamp(second)
            context = ulid_to_bytes(ulid_at_time(stamp))
            for index in due(len(entity_ids), second, period):
                metadata_id = meta[entity_ids[index]]
                before = previous[metadata_id]
                value = payload(index, second).decode()
                changed = stamp if value != before[1] else before[4]
                rows.append(
                    {
                        "state_id": next_id,
                        "state": value,
                        "last_updated_ts": stamp,
                        "last_changed_ts": None if changed == stamp else changed,
                        "last_reported_ts": None,
                        "old_state_id": before[0],
                        "attributes_id": before[2],
                        "origin_idx": before[3],
                        "context_id_bin": context,
                        "metadata_id": metadata_id,
                    }
                )
                before[:] = [next_id, value, before[2], before[3], changed]
                next_id += 1
            if len(rows) >= 20_000:
                session.execute(insert(States), rows)
                inserted += len(rows)
                rows = []
        if rows:
            session.execute(insert(States), rows)
            inserted += len(rows)
        session.commit()
    return inserted
