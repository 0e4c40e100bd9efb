"""`scripts/develop` end to end: start it, use the demo through the REST API, stop it.

This runs the real thing in subprocesses: scripts/develop (with scripts/setup),
an MQTT broker, the sensor simulator, the fake ThingSpeak and Home Assistant,
on free loopback ports and with a state directory under tmp_path, so it never
touches a developer's .develop/. It takes a minute or two.

Needs Mosquitto (`apt-get install mosquitto`) or amqtt in .venv; skipped if
neither is there, rather than letting scripts/develop install amqtt.
"""

from __future__ import annotations

from collections.abc import Iterator
import importlib.util
import json
import math
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import subprocess
import time
from typing import Any
import urllib.parse
import urllib.request

import psutil
import pytest

# Loopback only: never through an http_proxy from the environment.
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))
REPO = Path(__file__).resolve().parents[2]
DEVELOP = REPO / "scripts" / "develop"
READY = "IoTitan demo is ready"
# Bounded waits. The first start includes scripts/setup's check and, on a
# machine where scripts/develop never ran, installing the frontend.
START_TIMEOUT = 240
STATES_TIMEOUT = 90
STOP_TIMEOUT = 120
TOPIC_FILTERS = {
    "iotitan/home/+/temperature/value",
    "iotitan/home/+/humidity/value",
    "iotitan/home/+/motion/value",
}

# pytest-timeout comes with the Home Assistant test harness; the waits below
# are bounded anyway, this is the backstop.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the suite's autouse fixture: no in-process Home Assistant here."""


def _broker() -> str:
    """The broker scripts/develop will use, without it installing one."""
    if shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists():
        return "mosquitto"
    if importlib.util.find_spec("amqtt"):
        return "amqtt"
    pytest.skip("no MQTT broker: apt-get install mosquitto")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Demo:
    """One `scripts/develop` process and its output file."""

    def __init__(self, env: dict[str, str], output: Path) -> None:
        """Start scripts/develop; its output goes to a file (no reader thread)."""
        self.env = env
        self.output = output
        with output.open("wb") as out:
            self.process = subprocess.Popen(
                [str(DEVELOP)],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def text(self) -> str:
        """Everything it printed so far."""
        return self.output.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self) -> None:
        """Wait for the ready line; fail with its output if it exits first."""
        deadline = time.monotonic() + START_TIMEOUT
        while READY not in self.text():
            if self.process.poll() is not None:
                pytest.fail(
                    f"scripts/develop exited with {self.process.returncode} "
                    f"before it was ready:\n{self.text()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"not ready after {START_TIMEOUT} s:\n{self.text()}")
            time.sleep(0.5)

    def home_assistant_log(self, lines: int = 40) -> str:
        """The end of Home Assistant's log, to explain a failure."""
        log = Path(self.env["IOTITAN_DEVELOP_DIR"]) / "config" / "home-assistant.log"
        try:
            return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
        except OSError as err:
            return str(err)

    def descendants(self) -> list[psutil.Process]:
        """Every process it started, recursively."""
        return psutil.Process(self.process.pid).children(recursive=True)

    def interrupt(self) -> int:
        """Send SIGINT as Ctrl-C does; return the exit code."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {STOP_TIMEOUT} s after SIGINT:\n{self.text()}")

    def kill(self) -> None:
        """Last resort after a failure: leave nothing running."""
        if self.process.poll() is None:
            leftovers = self.descendants()
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            for process in leftovers:
                if process.is_running():
                    process.kill()


class Api:
    """Home Assistant's REST API as the demo user."""

    def __init__(self, port: int) -> None:
        """Log in through the login flow, as the login page does."""
        self.base = f"http://127.0.0.1:{port}"
        client_id = f"{self.base}/"
        self.token: str | None = None
        flow = self.call(
            "POST",
            "/auth/login_flow",
            {
                "client_id": client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": client_id,
            },
        )
        result = self.call(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"username": "demo", "password": "demo1234", "client_id": client_id},
        )
        assert result["type"] == "create_entry", result
        tokens = self.call(
            "POST",
            "/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": result["result"],
                "client_id": client_id,
            },
        )
        self.token = tokens["access_token"]

    def call(
        self,
        method: str,
        path: str,
        data: Any = None,
        *,
        form: dict[str, str] | None = None,
    ) -> Any:
        """One request; JSON in and out."""
        headers = {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif data is not None:
            body = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(
            self.base + path, data=body, headers=headers, method=method
        )
        with LOOPBACK.open(request, timeout=30) as response:
            return json.loads(response.read())


def _values(document: Any, key: str) -> Iterator[Any]:
    """Every value stored under `key` anywhere in a JSON document."""
    if isinstance(document, dict):
        for name, value in document.items():
            if name == key:
                yield value
            yield from _values(value, key)
    elif isinstance(document, list):
        for item in document:
            yield from _values(item, key)


def _numeric(state: dict[str, Any]) -> float:
    """The state as a number; NaN if it is none (unknown, unavailable)."""
    try:
        return float(state["state"])
    except ValueError:
        return math.nan


def _statistics(states: list[dict[str, Any]], device: str) -> list[dict[str, Any]]:
    """Numeric statistic sensors of one concrete topic's device.

    Found by attributes, not guessed entity ids: a topic's device is named
    by the levels its source's wildcard matched ("Kitchen temperature" for
    iotitan/home/kitchen/temperature/value), and its entities' friendly names
    start with the device's name.
    """
    return [
        state
        for state in states
        if state["entity_id"].startswith("sensor.")
        and state["attributes"].get("friendly_name", "").startswith(device + " ")
        and state["attributes"].get("state_class") == "measurement"
        and math.isfinite(_numeric(state))
    ]


def _wait_for_statistics(api: Api, demo: Demo, device: str) -> list[dict[str, Any]]:
    """Poll /api/states until the device has numeric statistics; fail with details."""
    deadline = time.monotonic() + STATES_TIMEOUT
    while True:
        states = api.call("GET", "/api/states")
        if found := _statistics(states, device):
            return found
        assert demo.process.poll() is None, demo.text()
        if time.monotonic() > deadline:
            seen = [
                (state["entity_id"], state["state"], state["attributes"])
                for state in states
                if "iotitan" in state["entity_id"]
            ]
            pytest.fail(
                f"no numeric statistics for {device} after {STATES_TIMEOUT} s; "
                f"IoTitan states: {json.dumps(seen, indent=1)}\n"
                f"Home Assistant log ends with:\n{demo.home_assistant_log()}"
            )
        time.sleep(2)


def _check_demo(api: Api, demo: Demo) -> None:
    """The hub is loaded with its subentries, and statistics flow in."""
    (hub,) = api.call("GET", "/api/config/config_entries/entry?domain=iotitan")
    assert hub["state"] == "loaded", hub
    # The sensor sources (and the Tasmota's, from its announcement), the alert
    # and the ThingSpeak channel.
    assert hub["num_subentries"] == len(TOPIC_FILTERS) + 1 + 2
    (mqtt,) = api.call("GET", "/api/config/config_entries/entry?domain=mqtt")
    assert mqtt["state"] == "loaded", mqtt
    diagnostics = api.call("GET", f"/api/diagnostics/config_entry/{hub['entry_id']}")
    assert set(_values(diagnostics, "topic")) >= TOPIC_FILTERS
    types = [s["type"] for s in diagnostics["data"]["entry"]["subentries"].values()]
    # Three sources by topic, one from the simulated Tasmota's announcement.
    assert sorted(types) == ["alert", "channel", "sensor", "sensor", "sensor", "sensor"]

    kitchen = _wait_for_statistics(api, demo, "Kitchen temperature")
    temperatures = [
        _numeric(state)
        for state in kitchen
        if state["attributes"].get("device_class") == "temperature"
    ]
    assert temperatures, kitchen
    assert all(state["attributes"]["unit_of_measurement"] == "°C" for state in kitchen)
    # The simulator's random walk stays within 5..35 °C; so must mean, min, max.
    assert all(5 <= value <= 35 for value in temperatures), kitchen
    # The replay of the recorded data publishes there.
    _wait_for_statistics(api, demo, "Outside temperature")
    humidity = _wait_for_statistics(api, demo, "Office humidity")
    assert all(state["attributes"]["unit_of_measurement"] == "%" for state in humidity)
    motion = _wait_for_statistics(api, demo, "Bedroom motion")
    assert all(0 <= _numeric(state) <= 1 for state in motion), motion  # shares

    # The Tasmota, added from what it announced: a device of IoTitan's own
    # named as announced, one reading per announced sensor, named without the
    # device's name repeated. (Home Assistant's MQTT discovery makes its own
    # "Office climate AM2301 Temperature" sensor too: not IoTitan's.)
    climate = _wait_for_named(api, demo, "Office climate AM2301 Temperature mean 1h")
    assert 0 <= _numeric(climate) <= 50, climate
    assert climate["attributes"]["unit_of_measurement"] == "°C"
    humidity = _wait_for_named(api, demo, "Office climate AM2301 Humidity mean 1h")
    assert 0 <= _numeric(humidity) <= 100, humidity


def _wait_for_named(api: Api, demo: Demo, friendly_name: str) -> dict[str, Any]:
    """Poll /api/states until an entity of that name has a number."""
    deadline = time.monotonic() + STATES_TIMEOUT
    while True:
        for state in api.call("GET", "/api/states"):
            if state["attributes"].get("friendly_name") == friendly_name and (
                math.isfinite(_numeric(state))
            ):
                return dict(state)
        assert demo.process.poll() is None, demo.text()
        assert time.monotonic() < deadline, (
            f"no {friendly_name} after {STATES_TIMEOUT} s; Home Assistant log ends "
            f"with:\n{demo.home_assistant_log()}"
        )
        time.sleep(2)


def _assert_home_assistant_speaks_mqtt5(develop_dir: Path) -> None:
    """Mosquitto logged Home Assistant's client connecting with MQTT 5 (p5).

    IoTitan's own clients (the simulator) are not Home Assistant's: Home
    Assistant's client ids are random, the simulator's start with its name.
    """
    log = (develop_dir / "logs" / "mosquitto.log").read_text(errors="replace")
    levels = {
        client: level
        for client, level in re.findall(
            r"New client connected from \S+ as (\S+) \(p(\d+),", log
        )
        if not client.startswith("iotitan")
    }
    assert levels, log[-2000:]
    assert set(levels.values()) == {"5"}, levels


@pytest.mark.usefixtures("socket_enabled")  # loopback HTTP from the test itself
def test_develop_runs_provisions_and_stops_cleanly(tmp_path: Path) -> None:
    """First run provisions, second run reuses; SIGINT leaves nothing behind."""
    ha_port = _free_port()
    env = {
        **os.environ,
        "IOTITAN_DEVELOP_DIR": str(tmp_path / "develop"),
        "IOTITAN_HA_PORT": str(ha_port),
        "IOTITAN_MQTT_PORT": str(_free_port()),
        "IOTITAN_THINGSPEAK_PORT": str(_free_port()),
        "IOTITAN_MQTT_BROKER": _broker(),
    }
    # Not the test run's own virtualenv settings: scripts/develop uses .venv.
    env.pop("VIRTUAL_ENV", None)

    for run, expected in (("first", "First run"), ("second", "Reusing")):
        demo = Demo(env, tmp_path / f"{run}.out")
        try:
            demo.wait_ready()
            assert expected in demo.text()
            # The banner lists what Home Assistant holds, read back from it.
            banner = demo.text()
            assert (
                "sensor sources: Humidity, Motion, Office climate, Temperatures"
                in banner
            ), banner
            assert "alerts: Too warm" in banner
            assert "ThingSpeak channels: Demo channel (channel " in banner
            assert "any channel ID takes write key ANYCHANNEL0KEY00" in banner
            children = demo.descendants()
            commands = " ".join(" ".join(p.cmdline()) for p in children)
            assert "simulator.py" in commands
            assert env["IOTITAN_MQTT_BROKER"] in commands
            assert "hass" in commands

            _check_demo(Api(ha_port), demo)
            if env["IOTITAN_MQTT_BROKER"] == "mosquitto":
                _assert_home_assistant_speaks_mqtt5(tmp_path / "develop")

            assert demo.interrupt() == 0, demo.text()
            assert "Stopped." in demo.text()
            left = [p for p in children if p.is_running()]
            assert not left, f"left running: {left}"
        finally:
            demo.kill()
    second = (tmp_path / "second.out").read_text(encoding="utf-8")
    assert "onboarding" not in second, second
