"""Fixtures of the end-to-end tests: real processes on free loopback ports.

Everything here runs as a child process, started the way `scripts/develop`
starts it (its functions are imported, not copied): Mosquitto, the fake
ThingSpeak (`python -m tests.fake_thingspeak`), Home Assistant (`hass -c DIR
--skip-pip`, provisioned through its HTTP API) and rsyslogd (`tests/rsyslog.py`).
Children get SIGTERM if this process dies (`develop.Child`), and every fixture
stops what it started, so a run leaves nothing behind.

Needs the Debian packages `mosquitto` and `rsyslog` (tests skip without them);
Home Assistant's frontend and the other packages the demo needs are installed
into .venv on first use, as `scripts/develop` does.

These tests use real sockets: each requests the harness's `socket_enabled`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
import importlib.util
import json
import os
from pathlib import Path
import re
import signal
import subprocess
import sys
import threading
import time
from types import ModuleType
from typing import Any
import urllib.request

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
import psutil
import pytest

from tests.rsyslog import Rsyslog, rsyslogd_path

REPO = Path(__file__).resolve().parents[2]
# Loopback only: never through an http_proxy from the environment.
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Bounded waits; none of them is a performance assertion.
START_TIMEOUT = 180  # Home Assistant's start; scripts/develop's first run
STOP_TIMEOUT = 120
WAIT_TIMEOUT = 60  # anything Home Assistant should do within its update interval


def _load_develop() -> ModuleType:
    """scripts/develop.py as a module (scripts/ is no package)."""
    name = "iotitan_develop"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / "develop.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


develop = _load_develop()


# -- the suite's in-process fixtures do not apply here ---------------------------------


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the suite's autouse fixture: no in-process Home Assistant here."""


@pytest.fixture(autouse=True)
def config_dir_in_tmp() -> None:
    """Override the suite's autouse fixture (it would start an in-process hass)."""


# -- waiting ------------------------------------------------------------------------------


def wait_for[T](
    what: str,
    probe: Callable[[], T | None],
    timeout: float = WAIT_TIMEOUT,
    interval: float = 0.25,
    details: Callable[[], str] = lambda: "",
) -> T:
    """Poll `probe` until it returns something truthy; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(
                f"timed out after {timeout:g} s waiting for {what}\n{details()}"
            )
        time.sleep(interval)


# -- Mosquitto ----------------------------------------------------------------------------


class Mosquitto:
    """A Mosquitto broker on 127.0.0.1; stop and start again on the same port.

    Configured as `scripts/develop` configures it, plus logging of every
    SUBSCRIBE, so a test can tell when a client's subscriptions are in place.
    """

    def __init__(self, directory: Path) -> None:
        """Write the configuration (nothing runs yet)."""
        binary = develop.find_mosquitto()
        if binary is None:
            pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
        directory.mkdir(parents=True, exist_ok=True)
        self.port = int(develop.any_free_port())
        config = directory / "mosquitto.conf"
        config.write_text(
            develop.mosquitto_config(self.port)
            + "".join(
                f"log_type {kind}\n"
                for kind in (
                    "error",
                    "warning",
                    "notice",
                    "information",
                    "subscribe",
                    "unsubscribe",
                )
            ),
            encoding="utf-8",
        )
        self.log = directory / "mosquitto.log"
        self.child = develop.Child("mosquitto", [binary, "-c", str(config)], self.log)

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self.child.popen is not None and self.child.poll() is None

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        self.child.start()
        wait_for(
            f"mosquitto to listen on port {self.port}",
            lambda: self._check_alive() and develop.port_accepts(self.port),
            timeout=20,
        )

    def _check_alive(self) -> bool:
        if self.child.poll() is not None:
            pytest.fail(f"mosquitto exited:\n{self.child.log_tail()}")
        return True

    def stop(self) -> None:
        """Stop it (SIGTERM) and wait until the port is closed."""
        self.child.stop()
        wait_for(
            f"port {self.port} to close",
            lambda: not develop.port_accepts(self.port),
            timeout=10,
        )

    def log_size(self) -> int:
        """Where the log ends now: pass it to `wait_subscribed` as `since`."""
        return self.log.stat().st_size if self.log.exists() else 0

    def subscriptions(self, since: int = 0) -> tuple[int, set[str]]:
        """(SUBSCRIBE/UNSUBSCRIBE events, filters subscribed) since offset `since`.

        Mosquitto logs `<time>: <client id> <qos> <filter>` for a subscription
        and `<time>: <client id> <filter>` for an unsubscription. Clients are
        not told apart: the tests subscribe to other filters than Home Assistant.
        """
        with self.log.open("rb") as file:
            file.seek(since)
            lines = file.read().decode(errors="replace").splitlines()
        events = 0
        active: set[str] = set()
        for line in lines:
            if match := re.search(r": \S+ [012] (\S+)$", line):
                active.add(match[1])
            elif match := re.fullmatch(r".*\d: \S+ (\S+)", line):
                active.discard(match[1])
            else:
                continue
            events += 1
        return events, active

    def client_protocols(self) -> dict[str, int]:
        """Client id -> protocol it connected with, as Mosquitto numbers them
        (1: MQTT 3.1, 2: MQTT 3.1.1, 5: MQTT 5).

        Mosquitto logs `New client connected from <addr> as <id> (p<level>, ...)`.
        """
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return {
            match[1]: int(match[2])
            for match in re.finditer(
                r"New client connected from \S+ as (\S+) \(p(\d+),", text
            )
        }

    def wait_subscribed(self, topics: set[str], since: int = 0) -> None:
        """Wait until every filter is subscribed and subscriptions settled.

        Home Assistant's MQTT client subscribes (and unsubscribes, when a
        config entry reloads) in batches a fraction of a second after asking,
        and again after a reconnect; messages sent before are lost. Settled:
        no change for 1.5 s.
        """
        last = (-1, 0.0)

        def settled() -> bool:
            nonlocal last
            events, active = self.subscriptions(since)
            now = time.monotonic()
            if events != last[0]:
                last = (events, now)
            return topics <= active and now - last[1] >= 1.5

        wait_for(
            f"subscriptions to {sorted(topics)}",
            settled,
            details=lambda: self.log.read_text(errors="replace")[-3000:],
        )


@pytest.fixture
def mosquitto(tmp_path: Path, socket_enabled: None) -> Iterator[Mosquitto]:
    """A running Mosquitto broker, stopped after the test."""
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    try:
        yield broker
    finally:
        broker.child.stop()


# -- MQTT clients of the test itself ------------------------------------------------------


@dataclass
class Received:
    """One message a test client received."""

    topic: str
    payload: bytes
    retain: bool
    at: float


@dataclass
class MqttClient:
    """A paho-mqtt client with its network loop in a thread; records messages.

    Reconnects by itself (1-2 s apart) when the broker goes away.
    """

    port: int
    name: str
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        """Connect and start the network loop."""
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.name)
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.on_message = self._on_message
        self._subacks: set[int] = set()
        self.client.on_subscribe = self._on_subscribe
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        wait_for(f"{self.name} to connect", self.client.is_connected, timeout=10)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        with self._lock:
            self.received.append(
                Received(message.topic, message.payload, message.retain, time.time())
            )

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, *args: Any) -> None:
        self._subacks.add(mid)

    def subscribe(self, topic: str) -> None:
        """Subscribe and wait for the broker's SUBACK."""
        result, mid = self.client.subscribe(topic, qos=0)
        assert result == mqtt.MQTT_ERR_SUCCESS, result
        wait_for(f"SUBACK for {topic}", lambda: mid in self._subacks, timeout=10)

    def publish(self, topic: str, payload: bytes | str, qos: int = 1) -> None:
        """Publish and wait until the broker has it (QoS 1: PUBACK)."""
        info = self.client.publish(topic, payload, qos=qos, retain=False)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS, f"publish to {topic}: rc {info.rc}"
        info.wait_for_publish(timeout=10)
        assert info.is_published(), f"no PUBACK for {topic}"

    def messages(self, prefix: str = "") -> list[Received]:
        """What arrived so far on topics starting with `prefix`, in order."""
        with self._lock:
            return [m for m in self.received if m.topic.startswith(prefix)]

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def mqtt_clients() -> Iterator[Callable[[int, str], MqttClient]]:
    """Make MQTT clients; all are closed after the test (their threads too)."""
    clients: list[MqttClient] = []

    def make(port: int, name: str) -> MqttClient:
        client = MqttClient(port, name)
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            client.close()


# -- rsyslog ------------------------------------------------------------------------------


@pytest.fixture
def rsyslog(tmp_path: Path, socket_enabled: None) -> Iterator[Rsyslog]:
    """A real rsyslogd receiving on a free 127.0.0.1 port (UDP and TCP)."""
    if rsyslogd_path() is None:
        pytest.skip("rsyslogd is not installed (apt-get install rsyslog)")
    receiver = Rsyslog(tmp_path / "rsyslog")
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


# -- the fake ThingSpeak ------------------------------------------------------------------


class FakeThingSpeakProcess:
    """`python -m tests.fake_thingspeak` on a free port, as `scripts/develop` runs it."""

    def __init__(self, directory: Path, channels: list[str]) -> None:
        """Channels as ``ID:KEY[:plan]``; nothing runs yet."""
        directory.mkdir(parents=True, exist_ok=True)
        self.port = int(develop.any_free_port())
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "tests.fake_thingspeak", "--port", str(self.port)]
        for channel in channels:
            argv += ["--channel", channel]
        self.child = develop.Child(
            "fake ThingSpeak", argv, directory / "thingspeak.log", signal.SIGINT
        )

    def start(self) -> None:
        """Start and wait until it answers."""
        self.child.start()
        wait_for(
            "the fake ThingSpeak to listen",
            lambda: self.child.poll() is None and develop.port_accepts(self.port),
            timeout=20,
            details=self.child.log_tail,
        )

    def feed(self, channel_id: int) -> list[dict[str, Any]]:
        """The entries the fake stored in a channel (its feeds.json)."""
        with LOOPBACK.open(
            f"{self.url}/channels/{channel_id}/feeds.json", timeout=10
        ) as response:
            return list(json.loads(response.read())["feeds"])


@pytest.fixture
def fake_thingspeak_process(
    tmp_path: Path, socket_enabled: None
) -> Iterator[Callable[..., FakeThingSpeakProcess]]:
    """Start fake ThingSpeak servers with the channels given; stopped after the test."""
    started: list[FakeThingSpeakProcess] = []

    def start(*channels: str) -> FakeThingSpeakProcess:
        fake = FakeThingSpeakProcess(
            tmp_path / f"thingspeak{len(started)}", [*channels]
        )
        started.append(fake)
        fake.start()
        return fake

    try:
        yield start
    finally:
        for fake in started:
            fake.child.stop()


# -- Home Assistant -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo_requirements() -> None:
    """Install what Home Assistant needs beyond scripts/setup, as scripts/develop does.

    Home Assistant runs with --skip-pip, so its frontend (and the packages the
    frontend's calls import) must be in .venv already.
    """
    broker = "mosquitto" if develop.find_mosquitto() else "amqtt"
    if missing := develop.missing_requirements(broker):
        develop.install_requirements(missing)


class HomeAssistant:
    """Home Assistant as a process, with IoTitan linked into its config dir.

    Started as `scripts/develop` starts it (same configuration.yaml, same
    command); provisioned through its HTTP API by the test.
    """

    def __init__(self, directory: Path) -> None:
        """Prepare the config directory (nothing runs yet)."""
        self.state_dir = develop.StateDir(directory)
        self.state_dir.prepare_config()
        self.port = int(develop.any_free_port())
        self.api = develop.HomeAssistantApi(self.port)
        self.log = self.state_dir.config / "home-assistant.log"
        self.child = develop.Child(
            "Home Assistant",
            develop.home_assistant_argv(self.state_dir.config),
            self.state_dir.logs / "home-assistant-console.log",
            # Shutting down writes the recorder's database; give it time.
            stop_timeout=60,
            env={**os.environ, "IOTITAN_HA_PORT": str(self.port)},
        )

    def start(self) -> None:
        """Start and wait until its HTTP API answers."""
        self.child.start()
        wait_for(
            "Home Assistant's HTTP API",
            lambda: self.check_running() and self.api.is_up(),
            timeout=START_TIMEOUT,
            interval=0.5,
            details=self.log_tail,
        )

    def check_running(self) -> bool:
        """Fail the test at once if Home Assistant exited."""
        if self.child.poll() is not None:
            pytest.fail(
                f"Home Assistant exited with {self.child.poll()}:\n{self.log_tail()}"
            )
        return True

    def stop(self) -> None:
        """Stop it (SIGTERM; SIGKILL after the timeout)."""
        self.child.stop()

    def log_tail(self, lines: int = 60) -> str:
        """The end of its log, to explain a failure."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError as err:
            return str(err)
        return "\n".join(text.splitlines()[-lines:])

    def log_text(self) -> str:
        """Its whole log."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    # -- REST ---------------------------------------------------------------------------

    def states(self) -> list[dict[str, Any]]:
        """GET /api/states."""
        return list(self.api.request("GET", "/api/states"))

    def state(self, entity_id: str) -> dict[str, Any]:
        """GET /api/states/<entity_id>."""
        return dict(self.api.request("GET", f"/api/states/{entity_id}"))

    def entity_id(self, friendly_name: str) -> str:
        """The entity whose friendly name is this (waits until it exists).

        An IoTitan entity's friendly name is its device's name (the topic, the
        hub's, alert's or channel's title) followed by its own name, if any.
        """

        def find() -> str | None:
            self.check_running()
            for state in self.states():
                if state["attributes"].get("friendly_name") == friendly_name:
                    return str(state["entity_id"])
            return None

        return wait_for(
            f"an entity named {friendly_name!r}", find, details=self.log_tail
        )

    def wait_state(
        self, entity_id: str, condition: Callable[[str], bool], what: str
    ) -> dict[str, Any]:
        """Poll an entity until `condition(state)`; its state object."""
        last: dict[str, Any] = {}

        def check() -> dict[str, Any] | None:
            self.check_running()
            last.update(self.state(entity_id))
            return dict(last) if condition(str(last["state"])) else None

        return wait_for(
            f"{entity_id} to be {what}",
            check,
            details=lambda: f"last state: {last}\n{self.log_tail()}",
        )

    def provision(self, mqtt_port: int, mqtt_protocol: str = "5") -> str:
        """Onboard, add the MQTT integration and an IoTitan hub; the hub's id.

        MQTT speaks `mqtt_protocol`, set explicitly: 5 is the MQTT integration's
        default from 2026.6 and the only one from 2027.1; 3.1.1 while supported.
        """
        develop.onboard(self.api)
        develop.remove_offline_useless(self.api)
        develop.add_mqtt(self.api, mqtt_port, mqtt_protocol)
        return str(develop.add_hub(self.api))

    def wait_loaded(self, entry_id: str) -> None:
        """Wait until a config entry is loaded."""

        def loaded() -> bool:
            self.check_running()
            entries = self.api.request("GET", "/api/config/config_entries/entry")
            return any(
                entry["entry_id"] == entry_id and entry["state"] == "loaded"
                for entry in entries
            )

        wait_for(f"config entry {entry_id} to load", loaded, details=self.log_tail)


@pytest.fixture
def home_assistant(
    tmp_path: Path, socket_enabled: None, demo_requirements: None
) -> Iterator[HomeAssistant]:
    """A running Home Assistant (not onboarded yet), stopped after the test."""
    hass = HomeAssistant(tmp_path / "home-assistant")
    try:
        hass.start()
        yield hass
    finally:
        hass.stop()


# -- scripts/develop ----------------------------------------------------------------------


class DevelopRun:
    """`scripts/develop` on free ports with its state under a test's tmp_path."""

    def __init__(self, directory: Path) -> None:
        """Choose ports and the environment (nothing runs yet)."""
        self.directory = directory
        self.ha_port = int(develop.any_free_port())
        self.mqtt_port = int(develop.any_free_port())
        self.thingspeak_port = int(develop.any_free_port())
        self.env = {
            **os.environ,
            "IOTITAN_DEVELOP_DIR": str(directory / "develop"),
            "IOTITAN_HA_PORT": str(self.ha_port),
            "IOTITAN_MQTT_PORT": str(self.mqtt_port),
            "IOTITAN_THINGSPEAK_PORT": str(self.thingspeak_port),
        }
        # Not the test run's own virtualenv settings: scripts/develop uses .venv.
        self.env.pop("VIRTUAL_ENV", None)
        self.output = directory / "develop.out"
        self.process: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{self.ha_port}"

    def text(self) -> str:
        """Everything it printed so far."""
        return self.output.read_text(encoding="utf-8", errors="replace")

    def start(self) -> None:
        """Start it and wait for its ready line."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [str(REPO / "scripts" / "develop")],
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        process = self.process

        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(
                    f"scripts/develop exited with {process.returncode}:\n{self.text()}"
                )
            return develop.READY_MARK in self.text()

        wait_for("scripts/develop to be ready", ready, START_TIMEOUT, 0.5, self.text)

    def api(self) -> Any:
        """Home Assistant's API, logged in as the demo user."""
        api = develop.HomeAssistantApi(self.ha_port)
        api.login(develop.DEMO_USER, develop.DEMO_PASSWORD)
        return api

    def stop(self) -> None:
        """Ctrl-C, as a user stops it; kill whatever is left after the timeout."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        leftovers = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for child in leftovers:
            if child.is_running():
                child.kill()


@pytest.fixture
def develop_run(
    tmp_path: Path, socket_enabled: None, demo_requirements: None
) -> Iterator[DevelopRun]:
    """`scripts/develop` running (ready); stopped with Ctrl-C after the test."""
    if develop.find_mosquitto() is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    run = DevelopRun(tmp_path)
    try:
        run.start()
        yield run
    finally:
        run.stop()
