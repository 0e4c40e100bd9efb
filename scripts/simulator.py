"""Simulate the sensors of the original IoTitan setup, and two discovery devices, over MQTT.

Publishes as ESPEasy's MQTT controller does, to `iotitan/home/<room>/<sensor>/<value>`:

- `iotitan/home/outside/temperature/value`: Adelaide's 2023 hourly air temperature
  (Open-Meteo), replayed faster than real time (`--speed`, default 1800: one hourly
  row every 2 s);
- `iotitan/home/<room>/temperature/value` and `.../humidity/value` for kitchen,
  bedroom and office: plausible random walks that drift back to a set point;
- `iotitan/home/<room>/motion/value`: PIR motion as `0`/`1`, resent every interval
  as ESPEasy does, so the mean over a window is the share of time with motion;
- `iotitan/home/status/LWT`: `Online` (retained) with a last will of `Offline`;
- now and then a malformed payload (`nan`, `err`, binary junk, ...) on a sensor
  topic, as flaky sensors send, so that rejected payloads show up in the counters.

And two devices with several readings each that announce themselves through
Home Assistant's MQTT discovery (leave them out with `--no-discovery-devices`):

- a Zigbee2MQTT Aqara weather sensor (WSDCGQ11LM) named `living_room_weather`:
  retained configs on `homeassistant/sensor/0x00158d0001234567/<property>/config`
  for temperature, humidity, pressure, battery, voltage, linkquality and
  last_seen, and every `--interval` its JSON state on
  `zigbee2mqtt/living_room_weather` (`last_seen` in ISO 8601 UTC); availability
  `{"state":"online"}` retained on `zigbee2mqtt/bridge/state`;
- a Tasmota device `tasmota_A1B2C3` ("Office climate") with an AM2301: retained
  configs on `homeassistant/sensor/A1B2C3_AM2301_<reading>/config` for
  Temperature, Humidity and DewPoint (SetOption19 1 format), and every
  `--interval` its telemetry on `tele/tasmota_A1B2C3/SENSOR` (`"Time"` in local
  time without a zone); availability `Online` retained on
  `tele/tasmota_A1B2C3/LWT`.

The configs are sent on every connect; on a clean stop both availability
topics say offline (the connection's last will covers `iotitan/home/status/LWT`
only).

Standalone (paho-mqtt is in .venv):
    .venv/bin/python scripts/simulator.py --host 127.0.0.1 --port 1883 --speed 1800
Stops cleanly (publishes `Offline`) on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
import contextlib
import csv
from dataclasses import dataclass
from datetime import UTC, datetime
import itertools
import json
import math
from pathlib import Path
import random
import signal
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CSV = REPO / "data" / "open-meteo-adelaide-2023-hourly-temperature.csv"
PREFIX = "iotitan/home"
LWT_TOPIC = f"{PREFIX}/status/LWT"
ROOMS = ("kitchen", "bedroom", "office")
# What broken sensors and flaky links really send: not numbers, not finite,
# not UTF-8, empty.
MALFORMED_PAYLOADS: tuple[bytes, ...] = (
    b"nan",
    b"err",
    b"NaN",
    b"inf",
    b"",
    b"12.3.4",
    b"\xff\xfe\x00\x81junk",
)


@dataclass
class RandomWalk:
    """A reading that wanders around a set point (Ornstein-Uhlenbeck process)."""

    value: float
    setpoint: float
    pull: float  # share of the distance to the set point recovered per step
    noise: float  # standard deviation of one step
    low: float
    high: float

    def step(self, rng: random.Random) -> float:
        """Move one step and return the new value."""
        self.value += self.pull * (self.setpoint - self.value)
        self.value += rng.gauss(0.0, self.noise)
        self.value = min(self.high, max(self.low, self.value))
        return self.value


@dataclass
class Motion:
    """PIR motion: a two-state Markov chain (mostly still, bursts of activity)."""

    active: bool = False
    p_start: float = 0.08  # chance per step that motion starts
    p_stop: float = 0.35  # chance per step that it stops

    def step(self, rng: random.Random) -> bool:
        """Move one step and return whether there is motion."""
        flip = self.p_stop if self.active else self.p_start
        if rng.random() < flip:
            self.active = not self.active
        return self.active


def read_temperatures(path: Path) -> list[float]:
    """Hourly temperatures from an Open-Meteo CSV export.

    The export starts with a location block (latitude, longitude, ...) and a
    blank line before the `time,temperature_2m` table.
    """
    with path.open(encoding="utf-8", newline="") as file:
        lines = iter(file)
        for line in lines:
            if line.startswith("time,"):
                break
        else:
            raise ValueError(f"{path}: no 'time,...' header line")
        header = line.strip().split(",")
        column = next(
            (i for i, name in enumerate(header) if name.startswith("temperature")),
            None,
        )
        if column is None:
            raise ValueError(f"{path}: no temperature column in {header}")
        values = []
        for row in csv.reader(lines):
            if len(row) > column and row[column].strip():
                values.append(float(row[column]))
    if not values:
        raise ValueError(f"{path}: no temperature rows")
    return values


def synthetic_temperatures() -> list[float]:
    """A year of hourly temperatures shaped like Adelaide's, if the data is missing.

    Warmest in mid-January and at 15:00; no weather, just the two cycles.
    """
    values = []
    for hour in range(365 * 24):
        season = 17 + 6 * math.cos(2 * math.pi * (hour / 24 - 15) / 365)
        day = 5 * math.cos(2 * math.pi * (hour % 24 - 15) / 24)
        values.append(round(season + day, 1))
    return values


def outside_temperatures(path: Path | None) -> list[float]:
    """The recorded series; a synthetic one if the default file is missing."""
    if path is None:
        if not DEFAULT_CSV.exists():
            print(
                f"simulator: {DEFAULT_CSV} not found; replaying a synthetic "
                "series instead (use --csv to point at the data)",
                flush=True,
            )
            return synthetic_temperatures()
        path = DEFAULT_CSV
    return read_temperatures(path)


def replay_from_now(values: list[float]) -> Iterator[float]:
    """Cycle through the year, starting at the row for today's date and hour."""
    now = datetime.now()
    start = ((now.timetuple().tm_yday - 1) * 24 + now.hour) % len(values)
    return itertools.islice(itertools.cycle(values), start, None)


# --- Devices that announce themselves through Home Assistant MQTT discovery ----
#
# Two multi-reading devices as real firmware publishes them: retained discovery
# configs (sent on every connect, as both re-announce after a broker restart),
# then one JSON document per reading. The builders below are pure functions of
# their inputs (readings, the clock passed in), so tests need no broker.

DISCOVERY_PREFIX = "homeassistant"

# Zigbee2MQTT with an Aqara WSDCGQ11LM (zigbee2mqtt.io docs/devices/WSDCGQ11LM.md;
# discovery as lib/extension/homeassistant.ts announces it; `advanced.last_seen:
# ISO_8601`).
Z2M_BASE_TOPIC = "zigbee2mqtt"
Z2M_BRIDGE_STATE_TOPIC = f"{Z2M_BASE_TOPIC}/bridge/state"
Z2M_BRIDGE_IEEE = "0x00124b0012345678"
Z2M_IEEE = "0x00158d0001234567"
Z2M_FRIENDLY_NAME = "living_room_weather"
Z2M_STATE_TOPIC = f"{Z2M_BASE_TOPIC}/{Z2M_FRIENDLY_NAME}"
Z2M_VERSION = "2.1.0"
Z2M_DEVICE: dict[str, object] = {
    "identifiers": [f"zigbee2mqtt_{Z2M_IEEE}"],
    "manufacturer": "Aqara",
    "model": "Temperature, humidity and pressure sensor",
    "model_id": "WSDCGQ11LM",
    "name": Z2M_FRIENDLY_NAME,
    "sw_version": "3000-0001",
    "via_device": f"zigbee2mqtt_bridge_{Z2M_BRIDGE_IEEE}",
}
Z2M_ORIGIN = {
    "name": "Zigbee2MQTT",
    "sw": Z2M_VERSION,
    "url": "https://www.zigbee2mqtt.io",
}
Z2M_AVAILABILITY = [
    {"topic": Z2M_BRIDGE_STATE_TOPIC, "value_template": "{{ value_json.state }}"}
]
# Each exposed property and the keys Zigbee2MQTT adds for it (its
# NUMERIC_DISCOVERY_LOOKUP and the device's exposes: units from the device page;
# battery diagnostic as in Zigbee2MQTT's own test of this sensor; linkquality
# diagnostic and disabled by default; last_seen a timestamp, not a number).
Z2M_SENSORS: tuple[tuple[str, dict[str, object]], ...] = (
    (
        "temperature",
        {
            "device_class": "temperature",
            "enabled_by_default": True,
            "state_class": "measurement",
            "unit_of_measurement": "°C",
        },
    ),
    (
        "humidity",
        {
            "device_class": "humidity",
            "state_class": "measurement",
            "unit_of_measurement": "%",
        },
    ),
    (
        "pressure",
        {
            "device_class": "atmospheric_pressure",
            "state_class": "measurement",
            "unit_of_measurement": "hPa",
        },
    ),
    (
        "battery",
        {
            "device_class": "battery",
            "entity_category": "diagnostic",
            "state_class": "measurement",
            "unit_of_measurement": "%",
        },
    ),
    (
        "voltage",
        {
            "device_class": "voltage",
            "state_class": "measurement",
            "unit_of_measurement": "mV",
        },
    ),
    (
        "linkquality",
        {
            "enabled_by_default": False,
            "entity_category": "diagnostic",
            "icon": "mdi:signal",
            "name": "Linkquality",
            "state_class": "measurement",
            "unit_of_measurement": "lqi",
        },
    ),
    (
        "last_seen",
        {
            "device_class": "timestamp",
            "enabled_by_default": False,
            "entity_category": "diagnostic",
            "icon": "mdi:clock",
            "name": "Last seen",
        },
    ),
)

# Tasmota with an AM2301 (docs/AM2301.md), legacy discovery with SetOption19 1
# (xdrv_12_home_assistant.ino HAssAnnounceSensor: one config per reading on
# `homeassistant/sensor/<chip id>_<sensor>_<reading>/config`, abbreviated keys).
TASMOTA_TOPIC = "tasmota_A1B2C3"
TASMOTA_CHIP_ID = "A1B2C3"
TASMOTA_DEVICE_NAME = "Office climate"
TASMOTA_SENSOR = "AM2301"
TASMOTA_STATE_TOPIC = f"tele/{TASMOTA_TOPIC}/SENSOR"
TASMOTA_LWT_TOPIC = f"tele/{TASMOTA_TOPIC}/LWT"
TASMOTA_DEVICE: dict[str, object] = {
    "ids": [TASMOTA_CHIP_ID],
    "name": TASMOTA_DEVICE_NAME,
    "mdl": "Sonoff TH",
    "sw": "14.4.1(tasmota)",
    "mf": "Tasmota",
}
# Each reading of the AM2301 and its unit and class (or icon), from Tasmota's
# kHAssJsonSensorUnits / kHAssJsonSensorDevCla tables.
TASMOTA_READINGS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("Temperature", "°C", {"dev_cla": "temperature"}),
    ("Humidity", "%", {"dev_cla": "humidity"}),
    ("DewPoint", "°C", {"ic": "mdi:weather-rainy"}),
)


def _json(value: object, *, sort_keys: bool = False) -> bytes:
    """Compact UTF-8 JSON, as both firmwares send it ("°C" unescaped)."""
    return json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys
    ).encode("utf-8")


def zigbee2mqtt_discovery_configs(
    prefix: str = DISCOVERY_PREFIX,
) -> list[tuple[str, bytes]]:
    """The retained discovery messages (topic, payload) of the weather sensor.

    Keys sorted, as Zigbee2MQTT's json-stable-stringify writes them.
    """
    messages = []
    for prop, extra in Z2M_SENSORS:
        config = {
            **extra,
            "availability": Z2M_AVAILABILITY,
            "default_entity_id": f"sensor.{Z2M_FRIENDLY_NAME}_{prop}",
            "device": Z2M_DEVICE,
            "object_id": f"{Z2M_FRIENDLY_NAME}_{prop}",
            "origin": Z2M_ORIGIN,
            "state_topic": Z2M_STATE_TOPIC,
            "unique_id": f"{Z2M_IEEE}_{prop}_zigbee2mqtt",
            "value_template": f"{{{{ value_json.{prop} }}}}",
        }
        topic = f"{prefix}/sensor/{Z2M_IEEE}/{prop}/config"
        messages.append((topic, _json(config, sort_keys=True)))
    return messages


@dataclass(frozen=True)
class WeatherReading:
    """One report of the Aqara weather sensor."""

    temperature: float  # °C
    humidity: float  # %
    pressure: float  # hPa
    battery: int  # %
    voltage: int  # mV
    linkquality: int  # lqi, 0..255


def zigbee2mqtt_last_seen(moment: datetime) -> str:
    """`last_seen` as ISO_8601: UTC with milliseconds and `Z` (JS toISOString)."""
    utc = moment.astimezone(UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _js_number(value: float, digits: int) -> float | int:
    """A rounded number as JavaScript's JSON writes it (21.0 is `21`)."""
    rounded = round(value, digits)
    return int(rounded) if rounded.is_integer() else rounded


def zigbee2mqtt_state(reading: WeatherReading, last_seen: datetime) -> bytes:
    """The state Zigbee2MQTT publishes on `zigbee2mqtt/<friendly name>`."""
    return _json(
        {
            "battery": reading.battery,
            "humidity": _js_number(reading.humidity, 1),
            "last_seen": zigbee2mqtt_last_seen(last_seen),
            "linkquality": reading.linkquality,
            "pressure": _js_number(reading.pressure, 1),
            "temperature": _js_number(reading.temperature, 1),
            "voltage": reading.voltage,
        },
        sort_keys=True,
    )


def tasmota_discovery_configs(
    prefix: str = DISCOVERY_PREFIX,
) -> list[tuple[str, bytes]]:
    """The retained discovery messages (topic, payload) of the AM2301 readings.

    In Tasmota's key order. Tasmota itself sends only `"dev":{"ids":[...]}` with
    a sensor (the full device block comes with its status sensor) and no state
    class; both are added here so Home Assistant shows the device and
    long-term statistics without the rest of Tasmota's announcements.
    """
    messages = []
    for reading, unit, class_or_icon in TASMOTA_READINGS:
        unique_id = f"{TASMOTA_CHIP_ID}_{TASMOTA_SENSOR}_{reading}"
        config = {
            "name": f"{TASMOTA_DEVICE_NAME} {TASMOTA_SENSOR} {reading}",
            "stat_t": TASMOTA_STATE_TOPIC,
            "avty_t": TASMOTA_LWT_TOPIC,
            "pl_avail": "Online",
            "pl_not_avail": "Offline",
            "uniq_id": unique_id,
            "dev": TASMOTA_DEVICE,
            "unit_of_meas": unit,
            **class_or_icon,
            "stat_cla": "measurement",
            "frc_upd": True,
            "val_tpl": f"{{{{value_json['{TASMOTA_SENSOR}'].{reading}}}}}",
        }
        messages.append((f"{prefix}/sensor/{unique_id}/config", _json(config)))
    return messages


@dataclass(frozen=True)
class ClimateReading:
    """One telemetry report of the AM2301."""

    temperature: float  # °C
    humidity: float  # %


def dew_point(temperature: float, humidity: float) -> float:
    """Dew point in °C (Magnus formula, Tasmota's constants 17.62 and 243.5)."""
    gamma = math.log(max(humidity, 0.1) / 100) + 17.62 * temperature / (
        243.5 + temperature
    )
    return 243.5 * gamma / (17.62 - gamma)


def tasmota_time(moment: datetime) -> str:
    """Tasmota's `"Time"`: the wall-clock time of `moment` in its own zone,
    without the zone, to the second (pass the local time, as a device's clock
    shows it)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def tasmota_state(reading: ClimateReading, moment: datetime) -> bytes:
    """The telemetry Tasmota publishes on `tele/<topic>/SENSOR`.

    `moment` as `tasmota_time` writes it. One decimal, Tasmota's default
    TempRes and HumRes; the dew point from the readings as reported.
    """
    temperature = round(reading.temperature, 1)
    humidity = round(reading.humidity, 1)
    return _json(
        {
            "Time": tasmota_time(moment),
            TASMOTA_SENSOR: {
                "Temperature": temperature,
                "Humidity": humidity,
                "DewPoint": round(dew_point(temperature, humidity), 1),
            },
            "TempUnit": "C",
        }
    )


def device_availability(*, online: bool) -> list[tuple[str, bytes]]:
    """Retained availability of both devices (the topics their configs name)."""
    return [
        (Z2M_BRIDGE_STATE_TOPIC, _json({"state": "online" if online else "offline"})),
        (TASMOTA_LWT_TOPIC, b"Online" if online else b"Offline"),
    ]


def discovery_configs(prefix: str = DISCOVERY_PREFIX) -> list[tuple[str, bytes]]:
    """Every retained discovery message the simulated devices send."""
    return zigbee2mqtt_discovery_configs(prefix) + tasmota_discovery_configs(prefix)


class WeatherSensor:
    """The Aqara sensor's readings: random walks, a battery that barely moves."""

    def __init__(self) -> None:
        """Start at plausible living-room values."""
        self.temperature = RandomWalk(21.4, 21.0, pull=0.05, noise=0.1, low=5, high=35)
        self.humidity = RandomWalk(48.2, 48.0, pull=0.05, noise=0.5, low=15, high=95)
        self.pressure = RandomWalk(
            1012.3, 1012.0, pull=0.02, noise=0.15, low=960, high=1050
        )
        self.voltage = RandomWalk(2995, 2995, pull=0.3, noise=3, low=2800, high=3100)
        self.linkquality = RandomWalk(120, 120, pull=0.3, noise=8, low=0, high=255)
        self.battery = 97

    def step(self, rng: random.Random) -> WeatherReading:
        """The next report."""
        return WeatherReading(
            temperature=self.temperature.step(rng),
            humidity=self.humidity.step(rng),
            pressure=self.pressure.step(rng),
            battery=self.battery,
            voltage=round(self.voltage.step(rng)),
            linkquality=round(self.linkquality.step(rng)),
        )


class ClimateSensor:
    """The AM2301's readings: random walks around an office's set points."""

    def __init__(self) -> None:
        """Start at plausible office values."""
        self.temperature = RandomWalk(22.1, 22.0, pull=0.05, noise=0.12, low=5, high=35)
        self.humidity = RandomWalk(41.0, 41.0, pull=0.05, noise=0.6, low=15, high=95)

    def step(self, rng: random.Random) -> ClimateReading:
        """The next report."""
        return ClimateReading(
            temperature=self.temperature.step(rng),
            humidity=self.humidity.step(rng),
        )


class Simulator:
    """Publishes the simulated sensors until stopped."""

    def __init__(self, args: argparse.Namespace) -> None:
        """Set up the sensors and an MQTT client that reconnects by itself."""
        self.args = args
        self.rng = random.Random(args.seed)
        self.outside = replay_from_now(outside_temperatures(args.csv))
        self.temperature = {
            room: RandomWalk(
                value=setpoint, setpoint=setpoint, pull=0.05, noise=0.15, low=5, high=35
            )
            for room, setpoint in zip(ROOMS, (21.5, 19.0, 22.5), strict=True)
        }
        self.humidity = {
            room: RandomWalk(
                value=setpoint, setpoint=setpoint, pull=0.05, noise=0.8, low=15, high=95
            )
            for room, setpoint in zip(ROOMS, (55.0, 48.0, 42.0), strict=True)
        }
        self.motion = {room: Motion() for room in ROOMS}
        # The devices draw from their own generator, so that with --seed the
        # rooms' readings are the same with or without them.
        self.device_rng = random.Random(
            None if args.seed is None else f"{args.seed}/devices"
        )
        self.weather = WeatherSensor()
        self.climate = ClimateSensor()
        self.stop = threading.Event()
        self.published = 0
        self.malformed = 0
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=args.client_id,
            protocol=mqtt.MQTTv311,
        )
        self.client.will_set(LWT_TOPIC, "Offline", qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            print(
                f"simulator: broker refused the connection: {reason_code}", flush=True
            )
            return
        print(f"simulator: connected to {self.args.host}:{self.args.port}", flush=True)
        client.publish(LWT_TOPIC, "Online", qos=1, retain=True)
        if self.args.discovery_devices:
            # Retained, and again on every connect: a broker restarted without
            # persistence has forgotten them, and the devices re-announce too.
            for topic, payload in discovery_configs() + device_availability(
                online=True
            ):
                client.publish(topic, payload, qos=1, retain=True)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if not self.stop.is_set():
            print(f"simulator: disconnected ({reason_code}); reconnecting", flush=True)

    def publish(self, topic: str, payload: str | bytes) -> None:
        """Publish one reading; while disconnected it is dropped, as on a sensor."""
        if self.client.publish(topic, payload, qos=0).rc == mqtt.MQTT_ERR_SUCCESS:
            self.published += 1

    def run(self) -> None:
        """Publish on schedule until `stop` is set, then go offline cleanly."""
        # connect_async + loop_start: keep retrying until the broker is up.
        self.client.connect_async(self.args.host, self.args.port, keepalive=30)
        self.client.loop_start()
        row_period = 3600.0 / self.args.speed
        now = time.monotonic()
        next_row = next_rooms = now
        next_malformed = now + self._malformed_delay()
        next_report = now + 60
        try:
            while not self.stop.is_set():
                now = time.monotonic()
                if now >= next_row:
                    self.publish(
                        f"{PREFIX}/outside/temperature/value",
                        f"{next(self.outside):.1f}",
                    )
                    # After a stall, carry on from now rather than replaying a burst.
                    next_row = max(next_row + row_period, now)
                if now >= next_rooms:
                    self._publish_rooms()
                    if self.args.discovery_devices:
                        self._publish_devices()
                    next_rooms = max(next_rooms + self.args.interval, now)
                if now >= next_malformed:
                    self._publish_malformed()
                    next_malformed = now + self._malformed_delay()
                if now >= next_report:
                    print(
                        f"simulator: {self.published} messages published "
                        f"({self.malformed} malformed on purpose)",
                        flush=True,
                    )
                    next_report += 60
                wake = min(next_row, next_rooms, next_malformed, next_report)
                self.stop.wait(max(0.0, wake - time.monotonic()))
        finally:
            self._go_offline()

    def _malformed_delay(self) -> float:
        """Seconds until the next malformed payload (irregular, as real faults)."""
        if self.args.malformed_every <= 0:
            return math.inf
        return float(self.args.malformed_every) * self.rng.uniform(0.5, 1.5)

    def _publish_rooms(self) -> None:
        for room in ROOMS:
            self.publish(
                f"{PREFIX}/{room}/temperature/value",
                f"{self.temperature[room].step(self.rng):.2f}",
            )
            self.publish(
                f"{PREFIX}/{room}/humidity/value",
                f"{self.humidity[room].step(self.rng):.1f}",
            )
            self.publish(
                f"{PREFIX}/{room}/motion/value",
                "1" if self.motion[room].step(self.rng) else "0",
            )

    def _publish_devices(self) -> None:
        """One report of each discovery device, stamped with the real clock."""
        self.publish(
            Z2M_STATE_TOPIC,
            zigbee2mqtt_state(
                self.weather.step(self.device_rng), last_seen=datetime.now(UTC)
            ),
        )
        self.publish(
            TASMOTA_STATE_TOPIC,
            tasmota_state(
                self.climate.step(self.device_rng), moment=datetime.now().astimezone()
            ),
        )

    def _publish_malformed(self) -> None:
        room = self.rng.choice(ROOMS)
        quantity = self.rng.choice(("temperature", "humidity"))
        payload = self.rng.choice(MALFORMED_PAYLOADS)
        topic = f"{PREFIX}/{room}/{quantity}/value"
        self.publish(topic, payload)
        self.malformed += 1
        print(f"simulator: sent malformed payload {payload!r} to {topic}", flush=True)

    def _go_offline(self) -> None:
        """Say `Offline` ourselves: a clean disconnect does not fire the will."""
        if self.client.is_connected():
            if self.args.discovery_devices:
                for topic, payload in device_availability(online=False):
                    self.client.publish(topic, payload, qos=1, retain=True)
            info = self.client.publish(LWT_TOPIC, "Offline", qos=1, retain=True)
            # If the connection went away meanwhile, the will says it for us.
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout=2)
        self.client.disconnect()
        self.client.loop_stop()
        print(
            f"simulator: stopped after {self.published} messages "
            f"({self.malformed} malformed on purpose)",
            flush=True,
        )


def positive_float(text: str) -> float:
    """Argparse type: a number > 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line options."""
    parser = argparse.ArgumentParser(
        description="Publish simulated ESPEasy sensor readings, and a Zigbee2MQTT "
        "and a Tasmota device announced through Home Assistant MQTT discovery, "
        "to an MQTT broker."
    )
    parser.add_argument("--host", default="127.0.0.1", help="broker address")
    parser.add_argument("--port", type=int, default=1883, help="broker port")
    parser.add_argument(
        "--speed",
        type=positive_float,
        default=1800.0,
        help="replay speed of the outside temperature, times real time "
        "(default 1800: one hourly row every 2 s)",
    )
    parser.add_argument(
        "--interval",
        type=positive_float,
        default=5.0,
        help="seconds between indoor readings (default 5)",
    )
    parser.add_argument(
        "--malformed-every",
        type=float,
        default=30.0,
        help="mean seconds between malformed payloads; 0 to send none (default 30)",
    )
    parser.add_argument(
        "--csv",
        type=Path,
        default=None,
        help="Open-Meteo hourly CSV to replay (default: the Adelaide 2023 series "
        "in the repository's data/)",
    )
    parser.add_argument(
        "--no-discovery-devices",
        dest="discovery_devices",
        action="store_false",
        help="do not simulate the Zigbee2MQTT and Tasmota devices (their "
        "discovery configs under homeassistant/ and their readings)",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed")
    parser.add_argument(
        "--client-id", default="iotitan-simulator", help="MQTT client id"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until Ctrl-C or SIGTERM."""
    args = parse_args(argv)
    try:
        simulator = Simulator(args)
    except (OSError, ValueError) as err:
        print(f"simulator: cannot read the temperature data: {err}", file=sys.stderr)
        return 1

    def request_stop(signum: int, frame: object) -> None:
        simulator.stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print(
        f"simulator: publishing to {args.host}:{args.port} under {PREFIX}/ "
        f"(speed {args.speed:g}x, indoor every {args.interval:g} s)",
        flush=True,
    )
    if args.discovery_devices:
        print(
            f"simulator: announcing {Z2M_STATE_TOPIC} and {TASMOTA_STATE_TOPIC} "
            f"under {DISCOVERY_PREFIX}/ (--no-discovery-devices to leave them out)",
            flush=True,
        )
    simulator.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
