"""Simulate the ESP8266 (ESPEasy) sensors of the original IoTitan setup over MQTT.

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
from datetime import datetime
import itertools
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
        description="Publish simulated ESPEasy sensor readings to an MQTT broker."
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
    simulator.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
