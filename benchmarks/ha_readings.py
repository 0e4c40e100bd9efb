"""The readings scenarios, run by pytest inside Home Assistant's test harness.

Not a test module (the normal test run collects ``tests/`` only): the driver,
``python -m benchmarks.bench_readings_ha`` (or ``bench_ha --readings``), runs
one scenario per process, as ``bench_ha`` does with ``ha_scenarios``, and
reads the figures from the JSON file named in the spec (environment variable
``IOTITAN_BENCH_SPEC``).

`devices` Zigbee2MQTT-style devices, each publishing one JSON payload a
second on ``zigbee2mqtt/bench_dNNN`` with four readings (temperature,
humidity, pressure, battery; link quality too, read by no one), each reading
with a 1 h window and its mean, minimum and maximum, and a high alert on the
temperature (``ha_common.DEVICE_READINGS``). Kinds (all in ``test_readings``):

- ``readings_iotitan``: the hub with one sensor source per device holding the
  four readings (one payload parsed once for all four) and a high alert on
  its temperature reading; journal, syslog over UDP and MQTT output as in
  ``ha_scenarios``; windows pre-filled from a journal the driver wrote;
- ``readings_split``: the same readings published on four topics of their own
  (``bench/dNNN/<reading>``, plain numbers: four messages per device and
  second), IoTitan with four one-reading sources per device and the alert on
  the temperature source;
- ``readings_chain``: Home Assistant's own way, as Zigbee2MQTT's discovery
  sets it up: four MQTT sensors per device on the one state topic, each with
  ``value_template: "{{ value_json.<reading> }}"`` (and ``force_update``, as
  in ``ha_scenarios``' chain, so that repeated readings reach the
  statistics), three ``statistics`` sensors per reading (max_age 1 h,
  buffers pre-filled) and a ``threshold`` on the temperature.

Each is measured as ``ha_scenarios.run_segments`` measures the one-reading
contenders: segments by harness and direct injection, each followed by one
of bare dispatch (as many messages) in the same process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import gc
import time
from typing import Any

from homeassistant.components import mqtt
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import async_get_platforms
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iotitan.const import DOMAIN, SUBENTRY_ALERT, SUBENTRY_SENSOR
from custom_components.iotitan.engine.alerts import AlertConfig, AlertRule, Severity
from custom_components.iotitan.engine.window import Statistic
from custom_components.iotitan.hub import IoTitanHub
from custom_components.iotitan.models import (
    AlertSubentryConfig,
    ReadingConfig,
    SensorSourceConfig,
    source_key,
)

from .ha_common import (
    DEADBAND,
    DEVICE_READINGS,
    FLOOR_FILTER,
    HIGH_LIMIT,
    HUB_ENTRY_ID,
    PERCENTILE,
    READING_KEYS,
    READING_STATISTICS,
    SIM_START,
    THRESHOLD_HYSTERESIS,
    THRESHOLD_UPPER,
    SimClock,
    device_object_id,
    device_payload,
    device_stream,
    device_topic,
    device_values,
    read_rss_kib,
    split_stream,
    split_topic,
    timestamp,
    value_text,
)
from .ha_scenarios import (  # noqa: F401  (fixtures, used by name)
    SPEC,
    WARMUP_SECONDS,
    auto_enable_custom_integrations,
    drain_writers,
    hub_options,
    install_clock,
    peak_rss_kib,
    run_segments,
    time_replay,
    write_result,
)

WINDOW = 3600
ALERT_READING = "temperature"


# -- harness fixtures (besides those imported from ha_scenarios) -------------------------


@pytest.fixture
def hass_config() -> dict[str, Any]:
    """The chain's YAML: four MQTT sensors per device, as Zigbee2MQTT discovers them."""
    if SPEC.get("kind") != "readings_chain":
        return {}
    return {
        "mqtt": {
            "sensor": [
                mqtt_reading_config(index, key)
                for index in range(SPEC["devices"])
                for key in READING_KEYS
            ]
        }
    }


# -- configuration -------------------------------------------------------------------------


def device_subentry_id(index: int, key: str = "") -> str:
    """The sensor subentry of device `index` (`key`: of its one reading's topic)."""
    return f"bench_d{index:03d}" + (f"_{key}" if key else "")


def sensor_config(
    topic: str, readings: tuple[ReadingConfig, ...]
) -> SensorSourceConfig:
    """A source of `readings`: a 1 h window, mean/min/max, precision 2."""
    return SensorSourceConfig(
        topic=topic,
        readings=readings,
        windows=(float(WINDOW),),
        statistics=tuple(Statistic(name) for name in READING_STATISTICS),
        percentile=PERCENTILE,
        precision=2,
        max_samples=None,
        max_topics=500,
        words_as_numbers=False,
        name_template="",
        area_level=None,
    )


def sensor_subentries(devices: int, split: bool) -> list[dict[str, Any]]:
    """The sensor subentries as the flow stores them (`to_subentry_data`).

    One per device holding its four readings; `split`: one per reading of
    each device, on the reading's own topic (one reading of key "", the
    shape of every one-reading source).
    """
    subentries = []
    for index in range(devices):
        if split:
            sources = [
                (
                    device_subentry_id(index, key),
                    split_topic(index, key),
                    (ReadingConfig("", "", unit=unit, device_class=device_class),),
                )
                for key, unit, device_class in DEVICE_READINGS
            ]
        else:
            readings = tuple(
                ReadingConfig(
                    key=key,
                    value_path=key,
                    name=key.capitalize(),
                    unit=unit,
                    device_class=device_class,
                )
                for key, unit, device_class in DEVICE_READINGS
            )
            sources = [(device_subentry_id(index), device_topic(index), readings)]
        subentries += [
            {
                "subentry_id": subentry_id,
                "subentry_type": SUBENTRY_SENSOR,
                "title": topic,
                "unique_id": None,
                "data": sensor_config(topic, readings).to_subentry_data(),
            }
            for subentry_id, topic, readings in sources
        ]
    return subentries


def alert_subentries(devices: int, split: bool) -> list[dict[str, Any]]:
    """A high alert on each device's temperature, the band of `ha_scenarios`' alert."""
    return [
        {
            "subentry_id": f"bench_d{index:03d}_high",
            "subentry_type": SUBENTRY_ALERT,
            "title": f"bench d{index:03d}: temperature above {HIGH_LIMIT}",
            "unique_id": None,
            "data": AlertSubentryConfig(
                source_id=device_subentry_id(index, ALERT_READING if split else ""),
                reading="" if split else ALERT_READING,
                name="",
                watch=None,
                config=AlertConfig(
                    rule=AlertRule.HIGH,
                    high=HIGH_LIMIT,
                    deadband=DEADBAND,
                    severity=Severity.WARNING,
                ),
            ).to_subentry_data(),
        }
        for index in range(devices)
    ]


def readings_hub_entry(devices: int, split: bool, syslog_port: int) -> MockConfigEntry:
    """The hub: the devices' sources and alerts; options as `ha_scenarios`' hub."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="IoTitan",
        data={CONF_NAME: "IoTitan"},
        options=hub_options(syslog_port, {}),
        subentries_data=sensor_subentries(devices, split)
        + alert_subentries(devices, split),
        entry_id=HUB_ENTRY_ID,
    )


def reading_source(hub: IoTitanHub, index: int, key: str, split: bool) -> Any:
    """The runtime source of one reading of device `index`."""
    if split:
        return hub.sources[device_subentry_id(index, key)]
    return hub.sources[source_key(device_subentry_id(index), key)]


def reading_topic(index: int, key: str, split: bool) -> str:
    """The topic one reading of device `index` arrives on."""
    return split_topic(index, key) if split else device_topic(index)


def mqtt_reading_config(index: int, key: str) -> dict[str, Any]:
    """An MQTT sensor of one reading, as Zigbee2MQTT's discovery configures it."""
    unit, device_class = next((u, c) for k, u, c in DEVICE_READINGS if k == key)
    return {
        "name": f"bench d{index:03d} {key}",
        "unique_id": f"{device_object_id(index)}_{key}",
        "default_entity_id": f"sensor.{device_object_id(index)}_{key}",
        "state_topic": device_topic(index),
        "value_template": f"{{{{ value_json.{key} }}}}",
        "unit_of_measurement": unit,
        "device_class": device_class,
        "state_class": "measurement",
        # As in ha_scenarios' chain: without it a repeated reading writes no
        # state and the statistics miss it.
        "force_update": True,
    }


def chain_statistics_configs(devices: int) -> list[dict[str, Any]]:
    """Three core statistics sensors per reading over the hour."""
    return [
        {
            "platform": "statistics",
            "name": f"bench d{index:03d} {key} {characteristic}",
            "entity_id": f"sensor.{device_object_id(index)}_{key}",
            "state_characteristic": characteristic,
            "max_age": {"seconds": WINDOW},
            "sampling_size": max(4000, WINDOW + 400),
            "precision": 2,
        }
        for index in range(devices)
        for key in READING_KEYS
        for characteristic in READING_STATISTICS
    ]


def chain_threshold_configs(devices: int) -> list[dict[str, Any]]:
    """A core threshold binary sensor per device's temperature."""
    return [
        {
            "platform": "threshold",
            "name": f"bench d{index:03d} high",
            "entity_id": f"sensor.{device_object_id(index)}_{ALERT_READING}",
            "upper": THRESHOLD_UPPER,
            "hysteresis": THRESHOLD_HYSTERESIS,
        }
        for index in range(devices)
    ]


def prefill_chain(sensors: list[Any], devices: int) -> None:
    """Fill core's statistics buffers with the last hour, as 1 Hz updates would.

    As `ha_scenarios.prefill_chain`: a float per sensor and sample (what the
    MQTT sensor's template rendered), the source state's timestamps.
    """
    seconds = range(-WINDOW + 1, 1)
    stamps = [timestamp(second) for second in seconds]
    by_source: dict[str, list[Any]] = {}
    for sensor in sensors:
        by_source.setdefault(sensor._source_entity_id, []).append(sensor)
    for index in range(devices):
        values = [device_values(index, second) for second in seconds]
        for key in READING_KEYS:
            texts = [value_text(value[key]) for value in values]
            for sensor in by_source[f"sensor.{device_object_id(index)}_{key}"]:
                sensor.states.extend(float(text) for text in texts)
                sensor.ages.extend(stamps)


# -- the scenario ----------------------------------------------------------------------------


async def test_readings(
    hass: HomeAssistant,
    mock_hass_config: None,
    mqtt_mock_entry: Callable[[], Awaitable[Any]],
    monkeypatch: pytest.MonkeyPatch,
    socket_enabled: None,
) -> None:
    """Set up one contender, pre-fill it, then time the devices' stream."""
    hass.config.config_dir = SPEC["config_dir"]
    clock = install_clock(hass, SIM_START)
    try:
        await _test_readings(hass, mqtt_mock_entry, monkeypatch, clock)
    finally:
        clock.release()


async def _test_readings(
    hass: HomeAssistant,
    mqtt_mock_entry: Callable[[], Awaitable[Any]],
    monkeypatch: pytest.MonkeyPatch,
    clock: SimClock,
) -> None:
    kind: str = SPEC["kind"]
    devices: int = SPEC["devices"]
    split = kind == "readings_split"
    per_device = len(READING_KEYS) if split else 1
    gc.collect()
    rss_before = read_rss_kib()
    result: dict[str, Any] = {
        "kind": kind,
        "devices": devices,
        "window": WINDOW,
        "messages_per_device_second": per_device,
        "readings_per_message": 1 if split else len(READING_KEYS),
    }
    began = time.perf_counter()

    if kind == "readings_chain":
        setup_began = time.perf_counter()
        assert await async_setup_component(
            hass, "sensor", {"sensor": chain_statistics_configs(devices)}
        )
        assert await async_setup_component(
            hass, "binary_sensor", {"binary_sensor": chain_threshold_configs(devices)}
        )
        await mqtt_mock_entry()
        await hass.async_block_till_done()
        result["setup_seconds"] = time.perf_counter() - setup_began
        sensors = [
            entity
            for platform in async_get_platforms(hass, "statistics")
            for entity in platform.entities.values()
        ]
        expected = devices * len(READING_KEYS) * len(READING_STATISTICS)
        assert len(sensors) == expected, len(sensors)
        prefill_chain(sensors, devices)
        result["statistic_entities"] = len(sensors)

        async def finish() -> None:
            """Nothing further to wait for."""

        def snapshot() -> dict[str, Any]:
            oid = device_object_id(0)
            return {
                "device0_statistics": {
                    key: [
                        round(
                            float(hass.states.get(f"sensor.{oid}_{key}_{name}").state),
                            2,
                        )
                        for name in READING_STATISTICS
                    ]
                    for key in READING_KEYS
                },
                "alerts_on": sum(
                    1
                    for index in range(devices)
                    if hass.states.get(
                        f"binary_sensor.{device_object_id(index)}_high"
                    ).state
                    == "on"
                ),
                "window_samples": [
                    min(len(s.states) for s in sensors),
                    max(len(s.states) for s in sensors),
                ],
            }
    else:
        await mqtt_mock_entry()
        entry = readings_hub_entry(devices, split, SPEC["syslog_port"])
        entry.add_to_hass(hass)
        timings = time_replay(monkeypatch)
        setup_began = time.perf_counter()
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        result["setup_seconds"] = time.perf_counter() - setup_began
        result["replay_seconds"] = timings[-1] if timings else None
        hub: IoTitanHub = entry.runtime_data
        result["records_replayed"] = hub.records_replayed
        result["sources"] = len(hub.sources)
        assert len(hub.sources) == devices * len(READING_KEYS), list(hub.sources)
        assert len(hub.alerts.trackers) == devices, len(hub.alerts.trackers)

        def sizes() -> list[int]:
            return [
                len(
                    reading_source(hub, index, key, split)
                    .topics[reading_topic(index, key, split)]
                    .windows[float(WINDOW)]
                )
                for index in range(devices)
                for key in READING_KEYS
            ]

        assert min(sizes()) >= WINDOW, sizes()
        finish = drain_writers(hub)

        def snapshot() -> dict[str, Any]:
            statistics = {}
            for key in READING_KEYS:
                window = (
                    reading_source(hub, 0, key, split)
                    .topics[reading_topic(0, key, split)]
                    .windows[float(WINDOW)]
                )
                statistics[key] = [
                    round(window.value(Statistic(name), PERCENTILE), 2)
                    for name in READING_STATISTICS
                ]
            return {
                "device0_statistics": statistics,
                "alerts_on": sum(
                    1
                    for tracker in hub.alerts.trackers.values()
                    if tracker.machine.state
                ),
                "window_samples": [min(sizes()), max(sizes())],
            }

    await hass.async_block_till_done()
    result["prefill_seconds"] = time.perf_counter() - began
    gc.collect()

    floor_calls = [0]

    @callback
    def count_floor(message: mqtt.ReceiveMessage) -> None:
        floor_calls[0] += 1

    await mqtt.async_subscribe(hass, FLOOR_FILTER, count_floor, qos=0, encoding=None)
    await hass.async_block_till_done()

    feed = split_stream if split else device_stream
    messages_per_second = devices * per_device
    result.update(
        await run_segments(
            hass,
            clock,
            messages_per_second,
            SPEC["seconds"],
            SPEC["segments"],
            SPEC.get("modes", ["harness", "direct"]),
            finish,
            snapshot,
            lambda first, count: feed(devices, first, count),
        )
    )
    result["rss_before_kib"] = rss_before
    result["peak_rss_end_kib"] = peak_rss_kib()

    # Checks, outside the timing: every message did its job.
    last = result["last_second"]
    warmup = WARMUP_SECONDS * messages_per_second
    result.update(result.pop("snapshot", {}))
    floor_messages = sum(
        m["messages"] for name, m in result["modes"].items() if name.startswith("floor")
    )
    assert floor_calls[0] == floor_messages + warmup, floor_calls[0]
    if kind == "readings_chain":
        for key in READING_KEYS:
            state = hass.states.get(f"sensor.{device_object_id(0)}_{key}")
            assert state.state == value_text(device_values(0, last)[key]), (
                key,
                state.state,
                device_payload(0, last),
            )
    else:
        assert hub.messages_received == result["messages"] + warmup
        for key in READING_KEYS:
            source = reading_source(hub, 0, key, split)
            state = source.topics[reading_topic(0, key, split)]
            assert not state.rejected, (key, state.rejected)
        syslog = hub.message_log.syslog.stats
        journal = hub.message_log.journal.stats
        result["syslog_sent"] = syslog.sent
        result["syslog_dropped"] = sum(syslog.dropped.values())
        result["journal_written"] = journal.records_written
        result["journal_dropped"] = sum(journal.dropped.values())
        result["statistic_entities"] = len(hass.states.async_entity_ids("sensor"))
    result["total_seconds"] = time.perf_counter() - began
    write_result(result)
