"""Shared by the Home Assistant benchmark's driver and its scenarios.

Nothing here imports Home Assistant: the driver process (``bench_ha``) uses it
to write the journal that pre-fills IoTitan's windows, the scenario processes
(``ha_scenarios``, run by pytest inside Home Assistant's test harness) use it to
produce the very same readings for the live stream and for the core chain's
pre-filled buffers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
import json
import math
from pathlib import Path
import time

SOURCE_FILTER = "bench/+/temperature"
# The bare dispatch ("floor") measured inside each contender's process, on
# topics nothing else subscribes to: IoTitan's default log filter `#` does not
# match topics that begin with `$` (MQTT 4.7.2), so these stay out of its way.
FLOOR_PREFIX = "$floor"
FLOOR_FILTER = f"{FLOOR_PREFIX}/+/temperature"
HIGH_LIMIT = 24.5
"""IoTitan's high alert: on above 24.5, off again at 23.5 or below..."""
DEADBAND = 1.0
THRESHOLD_UPPER = 24.0
"""...the same band as core's threshold: on above 24 + 0.5, off below 24 - 0.5."""
THRESHOLD_HYSTERESIS = 0.5
PERCENTILE = 95
STATISTICS = (
    "mean",
    "median",
    "value_min",
    "value_max",
    "standard_deviation",
    "percentile",
)
# A fixed start (2026-11-26) so every run sees the same timestamps; the
# scenarios' simulated clock starts here.
SIM_START = 1_795_732_800.0
# The journal's syslog header as the hub writes it under the test harness
# (hass.config.location_name is "test home" there).
JOURNAL_HOSTNAME = "test home"
HUB_ENTRY_ID = "01BENCHIOTITANHUB000000000"
SENSOR_SUBENTRY_ID = "01BENCHIOTITANSOURCE000000"
ALERT_SUBENTRY_ID = "01BENCHIOTITANALERT0000000"


def topic(index: int, prefix: str = "bench") -> str:
    """The MQTT topic of sensor `index` (FLOOR_PREFIX: the bare dispatch's)."""
    return f"{prefix}/t{index:03d}/temperature"


def object_id(index: int) -> str:
    """The object id of sensor `index`'s entities in the core chain."""
    return f"bench_t{index:03d}"


def reading(index: int, second: int) -> float:
    """Sensor `index`'s reading at simulated second `second` (0.01 resolution).

    A 15-minute cycle of +-5 around 20 (so the 24.5 alert turns on and off now
    and then) plus cheap deterministic noise.
    """
    phase = 0.7 * index
    noise = math.sin(second * 12.9898 + index * 78.233) * 43758.5453
    noise -= math.floor(noise)
    return round(
        20.0 + 5.0 * math.sin(2 * math.pi * second / 900 + phase) + 0.6 * noise - 0.3,
        2,
    )


def payload(index: int, second: int) -> bytes:
    """The MQTT payload of a reading, as an ESPEasy node sends it."""
    return b"%.2f" % reading(index, second)


def timestamp(second: int) -> float:
    """Simulated POSIX time of second `second` (0 = SIM_START)."""
    return SIM_START + second


def due(topics: int, second: int, period: int = 1) -> range:
    """The sensors that read at simulated second `second`, one reading per `period`.

    Sensor `index` reads at the seconds congruent to `index` modulo `period`,
    so the topics are not in step: each second ``topics / period`` of them
    read. With a period of 1 every sensor reads every second.
    """
    return range(second % period, topics, period)


def stream(
    topics: int, first: int, seconds: int, prefix: str = "bench", period: int = 1
) -> list[list[tuple[str, bytes]]]:
    """Messages of seconds first..first+seconds-1: those of the sensors `due` then.

    With the default period of 1: one message per topic and second.
    """
    names = [topic(index, prefix) for index in range(topics)]
    return [
        [
            (names[index], payload(index, second))
            for index in due(topics, second, period)
        ]
        for second in range(first, first + seconds)
    ]


def write_journal(
    directory: Path, topics: int, window: int, period: int = 1, margin: int = 0
) -> int:
    """Write the journal a hub would have written over `window` + `margin` seconds.

    Records of seconds -window-margin+1..0 (0 = SIM_START, the moment the
    scenario's hub starts), each topic once every `period` seconds (the
    sensors `due` at each second: with the default period of 1, every topic
    once a second), with the header the hub uses. A `margin` of at least
    `period` fills every window to its steady state (a window of `window`
    seconds then holds ``window / period + 1`` samples of the sensors that
    read at second 0, one fewer of the others); older records are there as
    in a journal that has been running, and the replay skips them. Run in the
    driver process, so the scenario's memory figures do not include it.
    Returns how many records it wrote.
    """
    names = [topic(index) for index in range(topics)]

    def messages() -> Iterator[tuple[float, str, bytes]]:
        for second in range(-window - margin + 1, 1):
            stamp = timestamp(second)
            for index in due(topics, second, period):
                yield stamp, names[index], payload(index, second)

    return write_messages(directory, messages())


def write_messages(
    directory: Path, messages: Iterable[tuple[float, str, bytes]]
) -> int:
    """Write `messages` (POSIX time, topic, payload) as the hub's journal would.

    With the header the hub uses, in the order given (oldest first). Returns
    how many records it wrote.
    """
    # Imported here: only the driver writes journals.
    from custom_components.iotitan.engine.journal import (
        JournalWriter,
    )
    from custom_components.iotitan.engine.record import MqttRecord
    from custom_components.iotitan.engine.syslog import (
        Facility,
        SyslogFormatter,
    )

    async def write() -> int:
        writer = JournalWriter(
            directory,
            keep_seconds=10 * 365 * 86400,
            formatter=SyslogFormatter(
                hostname=JOURNAL_HOSTNAME, app_name="iotitan", facility=Facility.LOCAL0
            ),
            flush_interval=3600,
            max_buffered=60_000,
        )
        await writer.start()
        count = 0
        for stamp, name, body in messages:
            writer.submit(MqttRecord(stamp, name, body, 0, False))
            count += 1
            if count % 50_000 == 0:
                await writer.flush()
        await writer.stop()
        return count

    return asyncio.run(write())


# -- devices of several readings (bench_readings_ha) ---------------------------------------

DEVICE_READINGS: tuple[tuple[str, str, str], ...] = (
    ("temperature", "°C", "temperature"),
    ("humidity", "%", "humidity"),
    ("pressure", "hPa", "pressure"),
    ("battery", "%", "battery"),
)
"""The readings of a device's payload: key (= JSON field), unit, device class."""
READING_KEYS = tuple(key for key, _, _ in DEVICE_READINGS)
READING_STATISTICS = ("mean", "value_min", "value_max")
"""The statistics of every reading in the readings scenario (1 h windows)."""


def device_topic(index: int) -> str:
    """Zigbee2MQTT's state topic of device `index`: one JSON payload, all readings."""
    return f"zigbee2mqtt/bench_d{index:03d}"


def device_object_id(index: int) -> str:
    """The object id of device `index`'s entities in the core chain."""
    return f"bench_d{index:03d}"


def split_topic(index: int, key: str) -> str:
    """The topic of one reading of device `index`, published on its own."""
    return f"bench/d{index:03d}/{key}"


def device_values(index: int, second: int) -> dict[str, float | int]:
    """Device `index`'s readings at simulated second `second`, as its JSON holds them.

    Temperature as the one-reading scenarios' sensor (so the alert turns on
    and off now and then), humidity and pressure slower cycles with noise,
    battery a whole percentage that drops now and then; link quality is in
    the payload as Zigbee2MQTT sends it, but no one reads it.
    """
    noise = math.sin(second * 4.1414 + index * 17.17) * 9631.7
    noise -= math.floor(noise)
    return {
        "battery": 100 - (second // 600 + index) % 7,
        "humidity": round(
            50.0 + 8.0 * math.sin(2 * math.pi * second / 1200 + index) + noise, 2
        ),
        "linkquality": 100 + (index * 13 + second // 60) % 50,
        "pressure": round(
            1012.0 + 3.0 * math.sin(2 * math.pi * second / 3000 + index) + noise, 1
        ),
        "temperature": reading(index, second),
    }


def device_payload(index: int, second: int) -> bytes:
    """Device `index`'s payload at `second`, compact JSON as Zigbee2MQTT sends it."""
    return json.dumps(device_values(index, second), separators=(",", ":")).encode()


def value_text(value: float | int) -> str:
    """A reading as text: its JSON form (what `{{ value_json.x }}` renders too)."""
    return json.dumps(value)


def device_stream(
    devices: int, first: int, seconds: int
) -> list[list[tuple[str, bytes]]]:
    """Each second of first..first+seconds-1, one payload per device."""
    names = [device_topic(index) for index in range(devices)]
    return [
        [(names[index], device_payload(index, second)) for index in range(devices)]
        for second in range(first, first + seconds)
    ]


def split_stream(
    devices: int, first: int, seconds: int
) -> list[list[tuple[str, bytes]]]:
    """The same readings, each on its own topic: four messages per device and second."""
    names = [
        [split_topic(index, key) for key in READING_KEYS] for index in range(devices)
    ]
    batches = []
    for second in range(first, first + seconds):
        batch = []
        for index in range(devices):
            values = device_values(index, second)
            batch += [
                (name, value_text(values[key]).encode())
                for name, key in zip(names[index], READING_KEYS, strict=True)
            ]
        batches.append(batch)
    return batches


def write_device_journal(
    directory: Path, devices: int, window: int, split: bool = False
) -> int:
    """The journal a hub would have written over `window` seconds of the devices.

    Seconds -window+1..0, each device's payload once a second (`split`: its
    four readings on their own topics). Returns how many records it wrote.
    """
    feed = split_stream if split else device_stream

    def messages() -> Iterator[tuple[float, str, bytes]]:
        for second, batch in enumerate(feed(devices, -window + 1, window), -window + 1):
            stamp = timestamp(second)
            for name, body in batch:
                yield stamp, name, body

    return write_messages(directory, messages())


class SimClock:
    """Simulated time: frozen between explicit advances, until released.

    Replaces ``time.time`` and ``time.time_ns``, Home Assistant's ``dt_util.utcnow`` and the time
    tracker's clocks, and the event loop's ``time()``, so timers (IoTitan's
    update tick, core's statistics purge timers, the journal's flush interval)
    fire when simulated time reaches them, exactly as they would after the
    same seconds of real traffic. Replacing them is cheap: a function returning
    a float, unlike freezegun's fakes, so the clock itself costs each side about
    what the real one does. `release` lets simulated time flow at real speed
    from where it stands (for teardown: timers already scheduled stay right).
    """

    def __init__(self, start: float) -> None:
        """Start frozen at `start` (POSIX seconds)."""
        self.now = start
        self._mono_offset = _real_monotonic() - start
        self._released_at: float | None = None

    def time(self) -> float:
        """Simulated POSIX time."""
        if self._released_at is not None:
            return self.now + (_real_monotonic() - self._released_at)
        return self.now

    def time_ns(self) -> int:
        """Simulated POSIX time in nanoseconds (IoTitan stamps records with it)."""
        return round(self.time() * 1e9)

    def monotonic(self) -> float:
        """Simulated loop time (moves with the simulated wall clock)."""
        return self.time() + self._mono_offset

    def utcnow(self) -> datetime:
        """Simulated UTC now."""
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> None:
        """Move simulated time on."""
        self.now += seconds

    def release(self) -> None:
        """From now on, time flows at real speed."""
        self._released_at = _real_monotonic()


_real_monotonic = time.monotonic


def read_rss_kib() -> int:
    """Current resident set size of this process, KiB."""
    with Path("/proc/self/status").open(encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
