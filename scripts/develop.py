"""Run IoTitan for real: an MQTT broker, the sensor simulator, Home Assistant.

Started by `scripts/develop`, which prepares .venv first; run that, not this.
It starts, as children of this process:

1. an MQTT broker on 127.0.0.1: Mosquitto if installed, else amqtt (pure Python);
2. `scripts/simulator.py`, which publishes ESPEasy-like sensor readings;
3. `tests/fake_thingspeak.py`, a local fake of ThingSpeak, if present;
4. Home Assistant with the config directory `<state dir>/config`.

On the first run it provisions Home Assistant only through its own HTTP API, as
a user's browser would: onboarding (user `demo`, password `demo1234`), the MQTT
integration, the IoTitan hub and its subentries: three sensor sources, an alert
on the temperatures and a ThingSpeak channel at the fake. Later runs find
onboarding done and reuse that configuration. Ctrl-C (or SIGTERM) stops the
children, then this process, and leaves nothing running.

State lives in `.develop/` (or $IOTITAN_DEVELOP_DIR); `--reset` deletes it.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Callable, Sequence
import contextlib
import ctypes
from dataclasses import dataclass, field
import http.client
import json
import os
from pathlib import Path
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from types import FrameType
from typing import IO, Any
import urllib.error
import urllib.parse
import urllib.request

# Loopback only: never through an http_proxy from the environment.
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))
REPO = Path(__file__).resolve().parent.parent
INTEGRATION = REPO / "custom_components" / "iotitan"
FAKE_THINGSPEAK = REPO / "tests" / "fake_thingspeak.py"

DEMO_USER = "demo"
DEMO_PASSWORD = "demo1234"
DEMO_NAME = "Demo"
HUB_NAME = "IoTitan"
THINGSPEAK_CHANNEL = "424242"
THINGSPEAK_KEY = "DEMOWRITEKEY0001"
# The stand-in takes any other channel id written with this key, so that "Add
# ThingSpeak channel" works in the demo for a channel id of the person's choice.
THINGSPEAK_OPEN_KEY = "ANYCHANNEL0KEY00"
READY_MARK = "IoTitan demo is ready"
ONBOARDING_STEPS = ("user", "core_config", "analytics", "integration")

DEFAULT_MQTT_PORT = 1883
DEFAULT_HA_PORT = 8123
DEFAULT_THINGSPEAK_PORT = 8765
DEFAULT_SPEED = 1800.0  # one hourly row of outside temperature every 2 s

# Integrations configuration.yaml sets up for a usable UI. Not `default_config`:
# it adds cloud, bluetooth, go2rtc, ssdp, zeroconf, homeassistant_alerts, ...
# which need hardware, binaries or the internet that these machines lack.
CONFIGURED_INTEGRATIONS = ("frontend", "config", "history", "logbook", "recorder")
# Onboarding's core_config step starts these flows; their packages must be there
# (we run Home Assistant with --skip-pip), with the entity platforms they load.
ONBOARDING_INTEGRATIONS = ("google_translate", "met", "radio_browser", "shopping_list")
ONBOARDING_PLATFORMS = ("tts", "weather", "media_source", "todo")
# Set up by onboarding, but useless without the internet (a directory of radio
# stations; Google's text-to-speech, whose `tts` platform also wants an ffmpeg
# binary and logs an error at every start without one). Removed right after
# onboarding, so they neither retry forever nor clutter the log.
OFFLINE_USELESS = ("radio_browser", "google_translate")
# MQTT is set up from a config entry. `isal` is not set up, but its package
# spares a warning at every start that aiohttp falls back to slow zlib.
EXTRA_INTEGRATIONS = ("mqtt", "isal")
AMQTT_REQUIREMENT = "amqtt==0.12.1"

# Sensor subentries, as the "Add sensor" form submits them (see SENSOR_SCHEMA in
# custom_components/iotitan/config_flow.py).
ADVANCED_DEFAULTS = {"percentile": 95, "precision": 2, "max_topics": 500}
SENSOR_SUBENTRIES: tuple[dict[str, Any], ...] = (
    {
        "name": "Temperatures",
        "topic": "iotitan/home/+/temperature/value",
        "unit_of_measurement": "°C",
        "device_class": "temperature",
        "windows": ["10m", "1h"],
        "statistics": ["mean", "value_min", "value_max", "standard_deviation"],
        "advanced": ADVANCED_DEFAULTS,
    },
    {
        "name": "Humidity",
        "topic": "iotitan/home/+/humidity/value",
        "unit_of_measurement": "%",
        "device_class": "humidity",
        "windows": ["10m", "1h"],
        "statistics": ["mean", "value_min", "value_max"],
        "advanced": ADVANCED_DEFAULTS,
    },
    {
        # Readings are 0/1 resent at a fixed interval, so the mean over the
        # window is the share of time with motion; average_step weights each
        # reading by how long it held, which stays right if readings get irregular.
        "name": "Motion",
        "topic": "iotitan/home/+/motion/value",
        "windows": ["1h"],
        "statistics": ["mean", "average_step"],
        "advanced": ADVANCED_DEFAULTS,
    },
)


@dataclass(frozen=True)
class FieldChoice:
    """What a ThingSpeak field carries: a statistic of a concrete topic."""

    topic: str
    window: float
    statistic: str

    def matches_topic(self, option: dict[str, str]) -> bool:
        """Whether an option of the fields step (a topic) is this field's."""
        return option["label"] == self.topic

    @property
    def statistic_choice(self) -> str:
        """This field's option in the statistics step (`window|statistic`)."""
        return f"{self.window!r}|{self.statistic}"


# The demo's alert, as the "Add alert" form's last two steps submit it: on when
# the 10-minute mean of a temperature rises above 22 °C, off again at 21.5 °C.
# With the simulator's set points the office (22.5 °C) is too warm, the
# kitchen (21.5 °C) and bedroom (19 °C) are not.
ALERT_SOURCE = "Temperatures"
ALERT: dict[str, Any] = {
    "name": "Too warm",
    "watch": "600/mean",
    "rule": "high",
    "high": 22,
    "deadband": 0.5,
    "severity": "warning",
}
# The demo's ThingSpeak channel at the fake server (free plan: a call every
# 15 s at most): a row every 30 s with 10-minute means and the motion share.
CHANNEL_UPLOAD_INTERVAL = 30
# Its settings, as the "Add ThingSpeak channel" form submits them over the
# form's defaults (the fake's base URL is added when it is known).
CHANNEL_SETTINGS: dict[str, Any] = {
    "name": "Demo channel",
    "channel_id": THINGSPEAK_CHANNEL,
    "write_api_key": THINGSPEAK_KEY,
    "plan": "free",
    "upload_interval": CHANNEL_UPLOAD_INTERVAL,
    # No test row: the sender does not know of the flow's call, and its first
    # upload, up to 30 s later, would be refused (429) under the free plan's
    # 15 s spacing, with a warning in the log.
    "send_test_row": False,
}
CHANNEL_FIELDS = {
    "field1": FieldChoice("iotitan/home/outside/temperature/value", 600.0, "mean"),
    "field2": FieldChoice("iotitan/home/kitchen/temperature/value", 600.0, "mean"),
    "field3": FieldChoice("iotitan/home/kitchen/humidity/value", 600.0, "mean"),
    "field4": FieldChoice("iotitan/home/kitchen/motion/value", 3600.0, "mean"),
}
# How long to wait for the simulator's topics before adding the channel.
TOPICS_TIMEOUT = 60
# How long a hub may take to reload by itself with a new subentry.
SETTLE_TIMEOUT = 15
# How long to wait for the simulator's retained discovery announcements.
DISCOVERY_WAIT = 60
# The simulated device set up from its announcements (simulator.TASMOTA_STATE_TOPIC).
DISCOVERED_TOPIC = "tele/tasmota_A1B2C3/SENSOR"
# The simulated device the demo leaves for the UI (simulator.Z2M_STATE_TOPIC).
DEMO_ZIGBEE2MQTT_TOPIC = "zigbee2mqtt/living_room_weather"

CONFIGURATION_YAML = """\
# Home Assistant configuration of the IoTitan demo, written by scripts/develop on
# its first run and not overwritten afterwards: edit it freely. To start over,
# run scripts/develop --reset.
homeassistant:
  name: IoTitan demo
  unit_system: metric
  # Where the replayed outside temperatures come from (Adelaide); without a
  # country Home Assistant raises a repair issue ("country not configured").
  country: AU
  # No latitude/longitude on purpose: onboarding then skips setting up Met.no
  # weather, which needs the internet.

http:
  # Loopback only: the demo user's password is no secret.
  server_host: 127.0.0.1
  server_port: !env_var IOTITAN_HA_PORT 8123

# What the demo's UI needs (not default_config: see scripts/develop.py).
frontend:
config:
history:
logbook:
recorder:
  purge_keep_days: 3

logger:
  default: warning
  logs:
    # Rejected payloads are logged at debug level, once per topic and reason.
    custom_components.iotitan: debug
"""


class Fatal(Exception):
    """An error that ends the run with a message and exit code 1."""


class StopRequested(Exception):
    """Ctrl-C or SIGTERM arrived: shut down cleanly, exit code 0."""


# ---------------------------------------------------------------------------
# Child processes


def _load_libc() -> Any:
    """libc for prctl, loaded before any fork (dlopen is unsafe in preexec_fn)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC = _load_libc()
_PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    """A child process, its log file and how to stop it."""

    name: str
    argv: list[str]
    log_path: Path
    stop_signal: signal.Signals = signal.SIGTERM
    stop_timeout: float = 10.0
    env: dict[str, str] | None = None
    popen: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start in a new session, so a terminal's Ctrl-C reaches only us.

        We then stop children ourselves, in order; and if we are killed
        outright, the kernel sends them SIGTERM (PR_SET_PDEATHSIG).
        """
        self._log = self.log_path.open("ab")
        self._log.write(f"\n==== {time.ctime()}: {' '.join(self.argv)}\n".encode())
        self._log.flush()
        parent = os.getpid()

        def die_with_parent() -> None:
            if _LIBC is not None:
                _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != parent:  # parent died before prctl took effect
                os.kill(os.getpid(), signal.SIGTERM)

        try:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env=self.env,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        except OSError as err:
            raise Fatal(f"cannot start {self.name} ({self.argv[0]}): {err}") from err

    def poll(self) -> int | None:
        """Exit code, or None while it runs."""
        return None if self.popen is None else self.popen.poll()

    def stop(self, forced: Callable[[], bool] = lambda: False) -> None:
        """Ask it to stop and wait; kill it on timeout or when `forced()`.

        Then kill what is left of its process group (any grandchild) and reap
        it, so no zombie remains.
        """
        if self.popen is None:
            return
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(self.stop_signal)
            # Short waits: a second Ctrl-C must not wait out the timeout.
            deadline = time.monotonic() + self.stop_timeout
            while self.popen.poll() is None and not forced():
                if time.monotonic() > deadline:
                    print(f"  {self.name} did not stop in {self.stop_timeout:g} s")
                    break
                time.sleep(0.1)
        if self.popen.poll() is None:
            print(f"  killing {self.name}")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()
        if self._log is not None:
            self._log.close()

    def log_tail(self, lines: int = 15) -> str:
        """The end of its log, to explain a failure."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        tail = text.rstrip().splitlines()[-lines:]
        return "\n".join(f"    | {line}" for line in tail)


class Supervisor:
    """Signals, children, and waiting that Ctrl-C can interrupt."""

    def __init__(self) -> None:
        """Install SIGINT and SIGTERM handlers."""
        self.children: list[Child] = []
        self.stop_requested = False
        self.force = False
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stop_requested:
            # A second Ctrl-C: stop waiting politely. (No print here: a signal
            # handler that prints can interrupt a print in progress.)
            self.force = True
            return
        self.stop_requested = True

    def check_stop(self) -> None:
        """Raise StopRequested if a stop was asked for."""
        if self.stop_requested:
            raise StopRequested

    def sleep(self, seconds: float) -> None:
        """Sleep in small steps, so a signal interrupts it promptly."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.check_stop()
            time.sleep(min(left, 0.2))
        self.check_stop()

    def start(self, child: Child) -> Child:
        """Start a child and remember it for stop_all."""
        self.children.append(child)
        child.start()
        return child

    def check_children(self) -> None:
        """Raise Fatal if a child exited on its own."""
        for child in self.children:
            if (code := child.poll()) is not None:
                raise Fatal(
                    f"{child.name} exited unexpectedly with code {code}; "
                    f"its log ({child.log_path}) ends with:\n{child.log_tail()}"
                )

    def wait_until(
        self,
        what: str,
        condition: Callable[[], bool],
        timeout: float,
        child: Child | None = None,
    ) -> None:
        """Poll `condition` until true; fail if the child dies or time runs out."""
        deadline = time.monotonic() + timeout
        while not condition():
            self.check_children()
            if time.monotonic() > deadline:
                log = f"; see {child.log_path}" if child else ""
                raise Fatal(f"timed out after {timeout:g} s waiting for {what}{log}")
            self.sleep(0.5)

    def stop_all(self) -> None:
        """Stop children in reverse start order: consumers before the broker."""
        running = [child for child in self.children if child.poll() is None]
        if running:
            print("Stopping " + ", ".join(child.name for child in reversed(running)))
        for child in reversed(self.children):
            child.stop(lambda: self.force)
        self.children.clear()


# ---------------------------------------------------------------------------
# Ports


def port_is_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:port now.

    SO_REUSEADDR as the servers themselves use it: a socket in TIME_WAIT from
    a previous run does not count as busy, a listener does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def any_free_port() -> int:
    """A port the kernel considers free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def choose_port(
    what: str, explicit: int | None, env_var: str, preferred: Sequence[int | None]
) -> int:
    """An explicit port must be free; otherwise the first free preferred one."""
    if explicit is not None:
        if not port_is_free(explicit):
            raise Fatal(
                f"{what} port {explicit} is already in use on 127.0.0.1; "
                f"stop what uses it or choose another port with {env_var}=PORT"
            )
        return explicit
    candidates = [port for port in preferred if port]
    for port in candidates:
        if port_is_free(port):
            return port
    port = any_free_port()
    print(f"Note: {what} port {candidates[-1]} is busy; using {port} instead.")
    return port


def port_accepts(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------------------
# Home Assistant's HTTP API


def last_error(log: Path) -> str:
    """The last ERROR line of Home Assistant's log, to explain a failed call."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as err:
        return str(err)
    errors = [line for line in lines if " ERROR " in line]
    return errors[-1] if errors else "(none)"


class HttpError(Exception):
    """A non-2xx answer."""

    def __init__(self, status: int, body: str) -> None:
        """Keep the status and body."""
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status
        self.body = body


class HomeAssistantApi:
    """The few REST calls provisioning needs (urllib: no extra dependency)."""

    def __init__(self, port: int) -> None:
        """Talk to Home Assistant on 127.0.0.1:port."""
        self.base = f"http://127.0.0.1:{port}"
        # IndieAuth: the client id is a URL; a redirect URI on the same host is valid.
        self.client_id = f"{self.base}/"
        self.token: str | None = None

    def request(
        self,
        method: str,
        path: str,
        data: Any = None,
        *,
        form: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> Any:
        """Send JSON (or a form), return the decoded JSON answer."""
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
        try:
            with LOOPBACK.open(request, timeout=timeout) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as err:
            raise HttpError(err.code, err.read().decode(errors="replace")) from err
        return json.loads(text) if text else None

    def is_up(self) -> bool:
        """Whether the HTTP server answers; it starts once bootstrap is done."""
        try:
            self.request("GET", "/api/onboarding", timeout=3)
        except HttpError:
            return True  # 404 once onboarded: answered all the same
        except (OSError, ValueError, http.client.HTTPException):
            return False
        return True

    def onboarding_done(self) -> set[str]:
        """Names of the onboarding steps already done."""
        try:
            steps = self.request("GET", "/api/onboarding")
        except HttpError as err:
            if err.status == 404:  # onboarding views are gone once it is complete
                return set(ONBOARDING_STEPS)
            raise
        return {step["step"] for step in steps if step["done"]}

    def token_from_code(self, code: str) -> None:
        """Exchange an authorization code for an access token."""
        answer = self.request(
            "POST",
            "/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": self.client_id,
            },
        )
        self.token = answer["access_token"]

    def login(self, username: str, password: str) -> None:
        """Log in as the login page does (auth provider `homeassistant`)."""
        flow = self.request(
            "POST",
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.client_id,
            },
        )
        result = self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"username": username, "password": password, "client_id": self.client_id},
        )
        if result.get("type") != "create_entry":
            raise Fatal(
                f"cannot log in as {username!r}: {result.get('errors') or result}"
            )
        self.token_from_code(result["result"])

    def entries(self, domain: str) -> list[dict[str, Any]]:
        """Config entries of one integration."""
        return list(
            self.request("GET", f"/api/config/config_entries/entry?domain={domain}")
        )

    def run_flow(
        self, index_path: str, start: dict[str, Any], *steps: FlowStep
    ) -> dict[str, Any]:
        """Start a flow, submit its forms in turn, return the last answer.

        Each step is the user input of one form, or a function of that form
        (as the flow answered it) returning the user input. Stops early when
        the flow ends, or when a form comes back with errors (the flow stays
        open then: see `abort_flow`).
        """
        result = self.wait_for_progress(
            index_path, dict(self.request("POST", index_path, start))
        )
        for step in steps:
            if result.get("type") not in ("form", "menu"):
                return result
            user_input = step(result) if callable(step) else step
            answer = self.request(
                "POST", f"{index_path}/{result['flow_id']}", user_input
            )
            result = self.wait_for_progress(index_path, dict(answer))
            if result.get("type") == "form" and result.get("errors"):
                return result
        return result

    def wait_for_progress(
        self, index_path: str, result: dict[str, Any], timeout: float = 60.0
    ) -> dict[str, Any]:
        """The flow's next step once a step that waits (listening) is done."""
        deadline = time.monotonic() + timeout
        while result.get("type") == "progress" and time.monotonic() < deadline:
            time.sleep(0.5)
            result = dict(self.request("GET", f"{index_path}/{result['flow_id']}"))
        return result

    def abort_flow(self, index_path: str, result: dict[str, Any]) -> None:
        """Drop a flow left open (a form that came back with errors)."""
        if result.get("type") == "form":
            with contextlib.suppress(HttpError):
                self.request("DELETE", f"{index_path}/{result['flow_id']}")


type FlowStep = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]

FLOW = "/api/config/config_entries/flow"
OPTIONS_FLOW = "/api/config/config_entries/options/flow"
SUBENTRY_FLOW = "/api/config/config_entries/subentries/flow"


def form_values(form: dict[str, Any]) -> dict[str, Any]:
    """What a form would submit unchanged: its suggested values and defaults.

    Sections (`"type": "expandable"`) become nested dicts, as the UI sends them.
    """

    def values(schema: list[dict[str, Any]]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for field_ in schema:
            if field_.get("type") == "expandable":
                found[field_["name"]] = values(field_["schema"])
            elif "suggested_value" in (field_.get("description") or {}):
                found[field_["name"]] = field_["description"]["suggested_value"]
            elif "default" in field_:
                found[field_["name"]] = field_["default"]
        return found

    return values(form.get("data_schema") or [])


def select_options(form: dict[str, Any], name: str) -> list[dict[str, str]]:
    """The choices of a select field of a form, as {"value", "label"} dicts."""
    for field_ in form.get("data_schema") or []:
        if field_.get("name") == name:
            options = field_.get("selector", {}).get("select", {}).get("options", [])
            return [
                option
                if isinstance(option, dict)
                else {"value": option, "label": option}
                for option in options
            ]
    raise Fatal(f"the form {form.get('step_id')!r} has no select field {name!r}")


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` over `base`, one level into sections."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


# ---------------------------------------------------------------------------
# Provisioning through the config flows, as the UI runs them (also used by
# the end-to-end tests, tests/e2e/conftest.py)


class LoginFailed(Fatal):
    """Onboarding was done, but the demo user cannot log in."""


class NotYet(Exception):
    """A flow needs something that is not there yet (topics not seen yet)."""


def onboard(api: HomeAssistantApi) -> bool:
    """Create the demo user (or log in as it) and finish onboarding.

    Returns whether some onboarding step ran now (a first run).
    """
    done = api.onboarding_done()
    if "user" not in done:
        print("  onboarding: creating user demo / demo1234")
        answer = api.request(
            "POST",
            "/api/onboarding/users",
            {
                "name": DEMO_NAME,
                "username": DEMO_USER,
                "password": DEMO_PASSWORD,
                "client_id": api.client_id,
                "language": "en",
            },
        )
        api.token_from_code(answer["auth_code"])
    else:
        try:
            api.login(DEMO_USER, DEMO_PASSWORD)
        except (Fatal, HttpError) as err:
            raise LoginFailed(f"onboarding was done, but {err}") from err
    onboarded_now = False
    for step in ("core_config", "analytics"):
        if step not in done:
            api.request("POST", f"/api/onboarding/{step}", {})
            onboarded_now = True
    if "integration" not in done:
        api.request(
            "POST",
            "/api/onboarding/integration",
            {"client_id": api.client_id, "redirect_uri": api.client_id},
        )
    return onboarded_now


def remove_offline_useless(api: HomeAssistantApi) -> None:
    """Delete what onboarding set up that needs the internet."""
    for domain in OFFLINE_USELESS:
        for entry in api.entries(domain):
            api.request(
                "DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}"
            )
            print(f"  removed {entry['title']!r} (needs the internet)")


# MQTT 5: the MQTT integration's default from 2026.6 and its only protocol from
# 2027.1; 2026.2 would otherwise pick 3.1.1.
DEMO_MQTT_PROTOCOL = "5"


def add_mqtt(api: HomeAssistantApi, port: int, protocol: str | None = None) -> str:
    """Add the MQTT integration for a broker on 127.0.0.1; its entry id.

    `protocol` ("5", "3.1.1") is set explicitly through the flow's advanced broker
    options (stored in the entry's data as `protocol`); None keeps the default of
    the running Home Assistant (3.1.1 up to 2026.5, 5 from 2026.6).
    """
    broker = {"broker": "127.0.0.1", "port": port}
    if protocol is None:
        result = api.run_flow(FLOW, {"handler": "mqtt"}, broker)
    else:
        result = api.run_flow(
            FLOW,
            {"handler": "mqtt", "show_advanced_options": True},
            {**broker, "advanced_options": True},
            lambda form: {
                **{k: v for k, v in form_values(form).items() if v is not None},
                **broker,
                "protocol": protocol,
            },
        )
    if result.get("type") != "create_entry":
        raise Fatal(f"adding the MQTT integration failed: {result}")
    return str(result["result"]["entry_id"])


def repoint_mqtt(api: HomeAssistantApi, entry_id: str, port: int) -> None:
    """The MQTT reconfigure flow, as the UI's "Reconfigure" menu item runs it."""
    result = api.run_flow(
        FLOW,
        {"handler": "mqtt", "entry_id": entry_id},
        {"broker": "127.0.0.1", "port": port},
    )
    if result.get("reason") != "reconfigure_successful":
        raise Fatal(f"pointing MQTT at port {port} failed: {result}")


def add_hub(api: HomeAssistantApi, name: str = HUB_NAME) -> str:
    """Add an IoTitan hub; its entry id."""
    result = api.run_flow(FLOW, {"handler": "iotitan"}, {"name": name})
    if result.get("type") != "create_entry":
        raise Fatal(f"adding the IoTitan hub failed: {result}")
    return str(result["result"]["entry_id"])


def set_hub_options(
    api: HomeAssistantApi, hub_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Run the hub's options flow: the current options with `changes` over them.

    Returns the options saved. The hub reloads with them.
    """
    submitted: dict[str, Any] = {}

    def fill(form: dict[str, Any]) -> dict[str, Any]:
        submitted.update(merge(form_values(form), changes))
        return submitted

    result = api.run_flow(OPTIONS_FLOW, {"handler": hub_id}, fill)
    if result.get("type") != "create_entry":
        api.abort_flow(OPTIONS_FLOW, result)
        raise Fatal(f"changing the hub's options failed: {result}")
    return submitted


def reload_entry(api: HomeAssistantApi, entry_id: str) -> None:
    """Reload a config entry, as the UI's "Reload" does."""
    api.request("POST", f"/api/config/config_entries/entry/{entry_id}/reload")


def subentries(api: HomeAssistantApi, hub_id: str) -> dict[str, dict[str, Any]]:
    """The hub's subentries by id: type, title and data (from diagnostics)."""
    diagnostics = api.request("GET", f"/api/diagnostics/config_entry/{hub_id}")
    return dict(diagnostics["data"]["entry"]["subentries"])


def configured_lines(api: HomeAssistantApi) -> list[str]:
    """What each IoTitan hub holds now, as the banner lists it.

    Read back from Home Assistant, so that it names what the person kept, added
    or deleted since the demo was provisioned, not what it once set up.
    """
    lines = []
    for hub in api.entries("iotitan"):
        kinds: dict[str, list[str]] = {"sensor": [], "alert": [], "channel": []}
        for subentry in subentries(api, hub["entry_id"]).values():
            title = subentry["title"]
            if subentry["type"] == "channel":
                title = f"{title} (channel {subentry['data']['channel_id']})"
            kinds.setdefault(subentry["type"], []).append(title)
        lines.append(f"    hub {hub['title']!r}:")
        for kind, label in (
            ("sensor", "sensor sources"),
            ("alert", "alerts"),
            ("channel", "ThingSpeak channels"),
        ):
            names = ", ".join(sorted(kinds[kind])) or "none"
            lines.append(f"      {label}: {names}")
    return lines or ["    no IoTitan hub (add one: Settings > Devices & services)"]


def seen_topics(api: HomeAssistantApi, hub_id: str) -> set[str]:
    """Concrete topics the hub's sources have seen (each has its device by now).

    Read from the hub's diagnostics, which list them by raw topic (devices are
    named by the topic levels that tell them apart, not by the topic).
    """
    try:
        data = api.request("GET", f"/api/diagnostics/config_entry/{hub_id}")["data"]
    except HttpError:
        return set()
    sources = (data.get("hub") or {}).get("sources") or {}
    return {topic for source in sources.values() for topic in source["topics"]}


def hub_is_current(api: HomeAssistantApi, hub_id: str) -> bool:
    """Whether the running hub has every subentry (diagnostics list both)."""
    try:
        data = api.request("GET", f"/api/diagnostics/config_entry/{hub_id}")["data"]
    except HttpError:
        return False
    if data["entry"].get("state") != "loaded":
        return False  # not loaded (a reload under way): no runtime parts yet
    running = (
        # A source of several readings is listed once per reading, its key
        # "<subentry id>:<reading key>".
        {key.partition(":")[0] for key in data["hub"]["sources"]}
        | set(data.get("alerts") or {})
        | set(data.get("thingspeak") or {})
    )
    return set(data["entry"]["subentries"]) <= running


MAX_READINGS_ADDED = 32
"""Readings a source can have: steps of the flow after the topic form."""


def add_sensor(api: HomeAssistantApi, hub_id: str, user_input: dict[str, Any]) -> bool:
    """Add a sensor source as "Add sensor source", "Enter a topic filter" submits it.

    Without a value path the flow listens to the filter first; readings it
    offers are taken as suggested.

    Returns False if the hub already has a source for that topic.
    """
    result = api.run_flow(
        SUBENTRY_FLOW,
        {"handler": [hub_id, "sensor"]},
        {"next_step_id": "topic"},
        user_input,
        # A filter of JSON payloads without a value path: its readings as heard.
        *[form_values] * (1 + MAX_READINGS_ADDED),
    )
    if result.get("type") == "create_entry":
        return True
    api.abort_flow(SUBENTRY_FLOW, result)
    if (result.get("errors") or {}).get("topic") == "topic_in_use":
        return False
    raise Fatal(f"adding sensor source {user_input['topic']} failed: {result}")


def add_discovered(api: HomeAssistantApi, hub_id: str, state_topic: str) -> bool:
    """Add the device announced on `state_topic` as "Add from discovered
    sensors" does, with the sensors the flow ticks.

    Returns False if the hub already reads that topic (the flow leaves such
    devices out). Waits (bounded) for the announcement: the simulator
    publishes it retained once connected.
    """
    deadline = time.monotonic() + DISCOVERY_WAIT
    listed: list[dict[str, Any]] = []

    def choose(form: dict[str, Any]) -> dict[str, Any]:
        listed.append(form)
        for option in select_options(form, "group"):
            if f": {state_topic}" in option["label"]:
                return {"group": option["value"]}
        raise NotYet  # other devices announced, not this one yet

    while True:
        if state_topic in seen_topics(api, hub_id) or any(
            s["data"].get("topic") == state_topic
            for s in subentries(api, hub_id).values()
        ):
            return False
        try:
            result = api.run_flow(
                SUBENTRY_FLOW,
                {"handler": [hub_id, "sensor"]},
                {"next_step_id": "discovered"},
                choose,
                form_values,
            )
        except NotYet:
            result = listed[-1]
        if result.get("type") == "create_entry":
            return True
        api.abort_flow(SUBENTRY_FLOW, result)
        if time.monotonic() > deadline:
            raise Fatal(f"no device announced on {state_topic}: {result}")
        time.sleep(2)


def add_alert(
    api: HomeAssistantApi, hub_id: str, source: str, rule: dict[str, Any]
) -> None:
    """Add an alert on the sensor source titled `source`.

    The form's three steps: the source, the rule, then the fields of that rule
    (`rule` holds them all; each step is given the ones it shows).
    """

    def choose_source(form: dict[str, Any]) -> dict[str, Any]:
        for option in select_options(form, "source"):
            if option["label"] == source:
                return {"source": option["value"]}
        raise Fatal(f"no sensor source titled {source!r} to put an alert on")

    def settings(form: dict[str, Any]) -> dict[str, Any]:
        shown = {field["name"] for field in form["data_schema"]}
        return {key: value for key, value in rule.items() if key in shown}

    result = api.run_flow(
        SUBENTRY_FLOW,
        {"handler": [hub_id, "alert"]},
        choose_source,
        {"rule": rule["rule"]},
        settings,
    )
    if result.get("type") != "create_entry":
        api.abort_flow(SUBENTRY_FLOW, result)
        raise Fatal(f"adding the alert {rule.get('name')!r} failed: {result}")


def channel_fields(
    fields: dict[str, FieldChoice], *, send_status: bool = False
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The fields step of the channel form (each field's topic).

    Raises NotYet if a topic was not seen yet.
    """

    def fill(form: dict[str, Any]) -> dict[str, Any]:
        options = select_options(form, "field1")
        chosen: dict[str, Any] = {"send_status": send_status}
        for name, choice in fields.items():
            found = [option for option in options if choice.matches_topic(option)]
            if not found:
                raise NotYet(f"{choice.topic} has not been seen yet")
            chosen[name] = found[0]["value"]
        return chosen

    return fill


def channel_statistics(fields: dict[str, FieldChoice]) -> dict[str, Any]:
    """The statistics step of the channel form (what each field carries)."""
    return {name: choice.statistic_choice for name, choice in fields.items()}


def add_channel(
    api: HomeAssistantApi,
    hub_id: str,
    settings: dict[str, Any],
    fields: dict[str, FieldChoice],
) -> None:
    """Add a ThingSpeak channel: its settings, then what each field carries.

    Raises NotYet while a wildcard source has not seen a field's topic.
    """
    start = {"handler": [hub_id, "channel"]}
    opened: dict[str, Any] = {}

    def settings_step(form: dict[str, Any]) -> dict[str, Any]:
        opened.update(form)
        return merge(form_values(form), settings)

    try:
        result = api.run_flow(
            SUBENTRY_FLOW,
            start,
            settings_step,
            channel_fields(fields),
            channel_statistics(fields),
        )
    except NotYet:
        api.abort_flow(SUBENTRY_FLOW, opened)
        raise
    if result.get("type") != "create_entry":
        api.abort_flow(SUBENTRY_FLOW, result)
        if result.get("reason") == "no_statistics":
            raise NotYet("the hub has no statistics yet")
        raise Fatal(
            f"adding ThingSpeak channel {settings.get('name')!r} failed: {result}"
        )


def repoint_channel(
    api: HomeAssistantApi, hub_id: str, subentry_id: str, base_url: str
) -> None:
    """Reconfigure a channel's server URL, keeping everything else."""
    start = {"handler": [hub_id, "channel"], "subentry_id": subentry_id}

    def settings_step(form: dict[str, Any]) -> dict[str, Any]:
        return merge(
            form_values(form),
            {"send_test_row": False, "advanced": {"base_url": base_url}},
        )

    result = api.run_flow(SUBENTRY_FLOW, start, settings_step, form_values)
    if result.get("reason") != "reconfigure_successful":
        api.abort_flow(SUBENTRY_FLOW, result)
        raise Fatal(f"pointing the ThingSpeak channel at {base_url} failed: {result}")


# ---------------------------------------------------------------------------
# State directory


@dataclass
class StateDir:
    """Layout of the state directory."""

    root: Path

    @property
    def config(self) -> Path:
        """Home Assistant's config directory."""
        return self.root / "config"

    @property
    def logs(self) -> Path:
        """Logs of the children (Home Assistant's own log is in config/)."""
        return self.root / "logs"

    @property
    def state_file(self) -> Path:
        """What we remember between runs: ports, provisioning done."""
        return self.root / "state.json"

    def load(self) -> dict[str, Any]:
        """The remembered state, or {} on a first run."""
        try:
            return dict(json.loads(self.state_file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    def save(self, state: dict[str, Any]) -> None:
        """Remember state for the next run."""
        self.state_file.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")

    def reset(self) -> None:
        """Delete the directory, refusing anything that does not look like ours."""
        if not self.root.exists():
            return
        ours = {"config", "logs", "state.json", "mosquitto.conf"}
        strangers = {path.name for path in self.root.iterdir()} - ours
        if self.root in (REPO, Path.home(), Path("/")) or strangers:
            raise Fatal(
                f"--reset: {self.root} does not look like a scripts/develop state "
                f"directory (it holds {sorted(strangers)}); delete it yourself"
            )
        shutil.rmtree(self.root)
        print(f"Deleted {self.root}")

    def prepare_config(self) -> bool:
        """Write configuration.yaml if missing and link the integration.

        Returns whether configuration.yaml was written now (a first run).
        """
        self.config.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        custom = self.config / "custom_components"
        custom.mkdir(exist_ok=True)
        link = custom / "iotitan"
        # A symlink, so edits in the checkout are what Home Assistant runs; remade
        # if it points elsewhere (for example a moved checkout).
        if link.is_symlink() and link.readlink() != INTEGRATION:
            link.unlink()
        if not link.is_symlink():
            if link.exists():
                raise Fatal(f"{link} exists and is not a symlink; remove it")
            link.symlink_to(INTEGRATION, target_is_directory=True)
        configuration = self.config / "configuration.yaml"
        if configuration.exists():
            return False
        configuration.write_text(CONFIGURATION_YAML, encoding="utf-8")
        return True


# ---------------------------------------------------------------------------
# Requirements (scripts/develop installs what this prints)


def find_mosquitto() -> str | None:
    """The mosquitto binary; Debian installs it in /usr/sbin, not on every PATH."""
    return shutil.which("mosquitto") or shutil.which(
        "mosquitto", path="/usr/sbin:/usr/local/sbin"
    )


def broker_kind(choice: str) -> str:
    """`mosquitto` or `amqtt`, from --broker auto|mosquitto|amqtt."""
    if choice == "auto":
        return "mosquitto" if find_mosquitto() else "amqtt"
    if choice == "mosquitto" and not find_mosquitto():
        raise Fatal(
            "--broker mosquitto: mosquitto is not installed "
            "(Debian: apt-get install mosquitto)"
        )
    return choice


def bootstrap_constant(path: Path, name: str) -> list[str]:
    """A set of domains defined in homeassistant/bootstrap.py.

    Read from the source: importing bootstrap takes seconds, and this runs at
    every start.
    """
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == name
        ):
            return sorted(ast.literal_eval(node.value))
    raise Fatal(f"{name} not found in {path}")


def service_schema_integrations(path: Path) -> list[str]:
    """Integrations Home Assistant imports to check `supported_features` filters.

    The frontend asks for every service description at login; Home Assistant
    then validates the `services.yaml` of each loaded integration, and a filter
    such as `todo.TodoListEntityFeature.CREATE_TODO_ITEM` makes it import all of
    `homeassistant.helpers.service._base_components` (ai_task, conversation,
    ...). A missing package there fails that call and the UI never gets past
    "Loading data". Read from the source, like `bootstrap_constant`.
    """
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef) and node.name == "_base_components":
            return sorted(
                alias.name
                for statement in ast.walk(node)
                if isinstance(statement, ast.ImportFrom)
                and statement.module == "homeassistant.components"
                for alias in statement.names
            )
    return []  # a later Home Assistant may validate differently


def demo_requirements(broker: str) -> list[str]:
    """Requirement strings the demo needs beyond scripts/setup, from manifests.

    Walks the integrations Home Assistant will set up (its defaults, ours, their
    dependencies) and collects their pinned requirements, as Home Assistant
    would install them itself at startup if it were not run with --skip-pip;
    plus those of the integrations its service descriptions import (see
    `service_schema_integrations`), which a normal installation ships.
    """
    import homeassistant  # imported late: only this mode needs it

    package = Path(homeassistant.__file__).parent
    components = package / "components"
    todo = [
        *bootstrap_constant(package / "bootstrap.py", "CORE_INTEGRATIONS"),
        *bootstrap_constant(package / "bootstrap.py", "DEFAULT_INTEGRATIONS"),
        *CONFIGURED_INTEGRATIONS,
        *ONBOARDING_INTEGRATIONS,
        *ONBOARDING_PLATFORMS,
        *EXTRA_INTEGRATIONS,
        *service_schema_integrations(package / "helpers" / "service.py"),
    ]
    seen: set[str] = set()
    requirements: list[str] = []
    while todo:
        domain = todo.pop()
        if domain in seen:
            continue
        seen.add(domain)
        manifest_path = components / domain / "manifest.json"
        if domain == "iotitan":
            manifest_path = INTEGRATION / "manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        requirements.extend(manifest.get("requirements", []))
        todo.extend(manifest.get("dependencies", []))
    if broker == "amqtt":
        requirements.append(AMQTT_REQUIREMENT)
    return sorted(set(requirements))


def missing_requirements(broker: str) -> list[str]:
    """The demo's requirements that are not installed yet."""
    from homeassistant.util.package import is_installed

    return [
        requirement
        for requirement in demo_requirements(broker)
        if not is_installed(requirement)
    ]


def print_missing_requirements(broker: str) -> None:
    """Print requirements not installed yet, one a line (none: print nothing)."""
    for requirement in missing_requirements(broker):
        print(requirement)


def install_requirements(requirements: Sequence[str]) -> None:
    """pip-install into this interpreter, pinned by Home Assistant's constraints.

    As scripts/setup does: Requires-Python is relaxed only below 3.13.2.
    """
    import homeassistant

    constraints = Path(homeassistant.__file__).parent / "package_constraints.txt"
    argv = [sys.executable, "-m", "pip", "install", "--quiet", "-c", str(constraints)]
    if sys.version_info[:3] < (3, 13, 2):
        argv.append("--ignore-requires-python")
    print("scripts/develop: installing into .venv: " + " ".join(requirements))
    subprocess.run([*argv, *requirements], check=True)


# ---------------------------------------------------------------------------
# How the children are started (also used by tests/e2e/conftest.py)


def mosquitto_config(port: int) -> str:
    """A Mosquitto configuration: anonymous, in memory, on 127.0.0.1:port only."""
    return (
        f"listener {port} 127.0.0.1\n"
        # Run as whoever runs us. Started as root, mosquitto would switch to its
        # own user, and a change of user clears the "die with parent" signal
        # that cleans up if the parent is killed.
        f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
        "allow_anonymous true\n"
        "persistence false\n"
        # stderr: unbuffered, so the log is current (stdout to a file is not).
        "log_dest stderr\n"
        "connection_messages true\n"
        "log_timestamp_format %Y-%m-%d %H:%M:%S\n"
    )


def home_assistant_argv(config_dir: Path) -> list[str]:
    """The command that runs Home Assistant on `config_dir` without pip.

    Through `--internal-hass` (see `run_home_assistant`) on a Python older
    than Home Assistant's minimum.
    """
    from homeassistant.const import REQUIRED_PYTHON_VER

    args = ["-c", str(config_dir), "--skip-pip"]
    if sys.version_info[:3] >= REQUIRED_PYTHON_VER:
        return [str(Path(sys.executable).parent / "hass"), *args]
    return [sys.executable, str(Path(__file__).resolve()), "--internal-hass", *args]


# ---------------------------------------------------------------------------
# Internal modes: run as a child by the runner itself


def run_home_assistant(argv: list[str]) -> int:
    """Run `hass` on an interpreter older than Home Assistant's minimum.

    Home Assistant 2026.2 refuses to start below Python 3.13.2, yet runs on the
    3.13.0 pyenv offers on these machines (scripts/setup installs it there with
    --ignore-requires-python for the same reason). Only that check is skipped.
    """
    from homeassistant import __main__ as ha_main

    ha_main.validate_python = lambda: None
    sys.argv = ["hass", *argv]
    return ha_main.main()


def run_amqtt_broker(port: int) -> int:
    """An amqtt broker on 127.0.0.1:port until SIGTERM/SIGINT.

    Its own CLI keeps running when the port cannot be bound and ignores
    SIGTERM; this fails fast and stops cleanly instead.
    """
    import asyncio
    import logging

    from amqtt.broker import Broker

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    logging.getLogger("transitions").setLevel(logging.WARNING)
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {
                "allow_anonymous": True
            }
        },
    }

    async def serve() -> int:
        broker = Broker(config)
        try:
            await broker.start()
        except Exception as err:  # amqtt wraps OSError in various ways
            print(f"amqtt: cannot listen on 127.0.0.1:{port}: {err}", flush=True)
            return 1
        print(f"amqtt: listening on 127.0.0.1:{port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await broker.shutdown()
        return 0

    return asyncio.run(serve())


# ---------------------------------------------------------------------------
# The run


@dataclass
class Options:
    """Resolved command line and environment options."""

    state: StateDir
    reset: bool
    broker: str
    mqtt_port: int | None
    ha_port: int | None
    thingspeak_port: int | None
    speed: float
    timeout: float


def env_number[T: (int, float)](name: str, kind: type[T]) -> T | None:
    """A numeric environment variable, or None if unset or empty."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise SystemExit(f"develop: {name}={value!r} is not a number") from None


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, Options]:
    """Flags win over environment variables, which win over defaults."""
    parser = argparse.ArgumentParser(
        prog="scripts/develop",
        description="Run IoTitan for real: MQTT broker, sensor simulator, "
        "fake ThingSpeak and Home Assistant, provisioned through its API.",
    )
    parser.add_argument(
        "--reset", action="store_true", help="delete the state directory first"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("IOTITAN_DEVELOP_DIR") or REPO / ".develop"),
        help="state directory (env IOTITAN_DEVELOP_DIR; default .develop/)",
    )
    parser.add_argument(
        "--mqtt-port",
        type=int,
        default=env_number("IOTITAN_MQTT_PORT", int),
        help="broker port (env IOTITAN_MQTT_PORT; default 1883, another if busy)",
    )
    parser.add_argument(
        "--ha-port",
        type=int,
        default=env_number("IOTITAN_HA_PORT", int),
        help="Home Assistant port (env IOTITAN_HA_PORT; default 8123, another if busy)",
    )
    parser.add_argument(
        "--thingspeak-port",
        type=int,
        default=env_number("IOTITAN_THINGSPEAK_PORT", int),
        help="fake ThingSpeak port (env IOTITAN_THINGSPEAK_PORT; default 8765)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=env_number("IOTITAN_SIM_SPEED", float) or DEFAULT_SPEED,
        help="simulator replay speed, times real time (env IOTITAN_SIM_SPEED; "
        "default 1800: one hourly row every 2 s)",
    )
    parser.add_argument(
        "--broker",
        choices=("auto", "mosquitto", "amqtt"),
        default=os.environ.get("IOTITAN_MQTT_BROKER") or "auto",
        help="MQTT broker (env IOTITAN_MQTT_BROKER; auto: mosquitto if installed)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=env_number("IOTITAN_STARTUP_TIMEOUT", float) or 300,
        help="seconds to wait for Home Assistant to start (default 300)",
    )
    parser.add_argument(
        "--print-requirements",
        action="store_true",
        help=argparse.SUPPRESS,  # used by scripts/develop
    )
    args = parser.parse_args(argv)
    if not args.speed > 0:
        parser.error("--speed must be > 0")
    options = Options(
        state=StateDir(args.state_dir.expanduser().resolve()),
        reset=args.reset,
        broker=args.broker,
        mqtt_port=args.mqtt_port,
        ha_port=args.ha_port,
        thingspeak_port=args.thingspeak_port,
        speed=args.speed,
        timeout=args.timeout,
    )
    return args, options


class Runner:
    """Starts, provisions and supervises everything; stops it on request."""

    def __init__(self, options: Options) -> None:
        """Nothing runs until run()."""
        self.options = options
        self.state_dir = options.state
        self.supervisor = Supervisor()
        self.started = time.monotonic()
        self.hass: Child | None = None

    def run(self) -> int:
        """Start everything, then wait for Ctrl-C. Returns the exit code."""
        try:
            self._start_all()
            self._supervise()
        except StopRequested:
            code = 0
        except Fatal as err:
            print(f"develop: error: {err}", file=sys.stderr, flush=True)
            code = 1
        except (HttpError, OSError, http.client.HTTPException) as err:
            log = self.state_dir.config / "home-assistant.log"
            print(
                f"develop: error: a Home Assistant API call failed: {err}\n"
                f"  last error in {log}:\n    {last_error(log)}",
                file=sys.stderr,
                flush=True,
            )
            code = 1
        finally:
            started = bool(self.supervisor.children)
            self.supervisor.stop_all()
        if started:
            print("Stopped." if code == 0 else "Stopped after an error.")
        return code

    def _start_all(self) -> None:
        options = self.options
        if options.reset:
            self.state_dir.reset()
        first_run = self.state_dir.prepare_config()
        state = self.state_dir.load()
        broker = broker_kind(options.broker)
        mqtt_port = choose_port(
            "MQTT",
            options.mqtt_port,
            "IOTITAN_MQTT_PORT",
            [state.get("mqtt_port"), DEFAULT_MQTT_PORT],
        )
        ha_port = choose_port(
            "Home Assistant",
            options.ha_port,
            "IOTITAN_HA_PORT",
            [state.get("ha_port"), DEFAULT_HA_PORT],
        )
        thingspeak = None
        if FAKE_THINGSPEAK.exists():
            thingspeak = choose_port(
                "fake ThingSpeak",
                options.thingspeak_port,
                "IOTITAN_THINGSPEAK_PORT",
                [state.get("thingspeak_port"), DEFAULT_THINGSPEAK_PORT],
            )
        print(
            f"{'First run: provisioning' if first_run else 'Reusing'} "
            f"{self.state_dir.config}"
        )

        self._start_broker(broker, mqtt_port)
        self._start_simulator(mqtt_port)
        if thingspeak:
            self._start_fake_thingspeak(thingspeak)
        else:
            print("  fake ThingSpeak: skipped (tests/fake_thingspeak.py not there yet)")
        self.hass = self._start_home_assistant(ha_port)
        api = HomeAssistantApi(ha_port)
        self.supervisor.wait_until(
            "Home Assistant's HTTP server", api.is_up, options.timeout, self.hass
        )
        print(f"  Home Assistant answers on {api.base} ({self._elapsed()})")
        self._provision(api, state, mqtt_port, thingspeak)
        state.update(mqtt_port=mqtt_port, ha_port=ha_port)
        if thingspeak:
            state["thingspeak_port"] = thingspeak
        self.state_dir.save(state)
        self._print_ready(api, broker, mqtt_port, thingspeak)

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self.started:.0f} s"

    def _log(self, name: str) -> Path:
        return self.state_dir.logs / f"{name}.log"

    def _start_broker(self, broker: str, port: int) -> None:
        if broker == "mosquitto":
            conf = self.state_dir.root / "mosquitto.conf"
            conf.write_text(
                "# Written by scripts/develop at every start.\n"
                + mosquitto_config(port),
                encoding="utf-8",
            )
            argv = [str(find_mosquitto()), "-c", str(conf)]
        else:
            try:
                import amqtt  # noqa: F401
            except ImportError:
                raise Fatal(
                    "no MQTT broker: install mosquitto (apt-get install mosquitto) "
                    f"or run scripts/develop, which installs {AMQTT_REQUIREMENT}"
                ) from None
            argv = [sys.executable, __file__, "--internal-amqtt", str(port)]
        child = self.supervisor.start(Child(broker, argv, self._log(broker)))
        self.supervisor.wait_until(
            f"{broker} to listen on port {port}", lambda: port_accepts(port), 20, child
        )
        print(f"  {broker} listens on 127.0.0.1:{port}")

    def _start_simulator(self, mqtt_port: int) -> None:
        argv = [
            sys.executable,
            str(REPO / "scripts" / "simulator.py"),
            "--host",
            "127.0.0.1",
            "--port",
            str(mqtt_port),
            "--speed",
            f"{self.options.speed:g}",
        ]
        self.supervisor.start(Child("simulator", argv, self._log("simulator")))
        print(
            f"  simulator publishes under iotitan/home/ (speed {self.options.speed:g}x),"
            f" a Tasmota on {DISCOVERED_TOPIC} and a Zigbee2MQTT sensor on"
            f" {DEMO_ZIGBEE2MQTT_TOPIC}: add that one with Add sensor source >"
            " Add from discovered sensors"
        )

    def _start_fake_thingspeak(self, port: int) -> None:
        argv = [
            sys.executable,
            "-m",
            "tests.fake_thingspeak",
            "--port",
            str(port),
            "--channel",
            f"{THINGSPEAK_CHANNEL}:{THINGSPEAK_KEY}",
            "--open-key",
            THINGSPEAK_OPEN_KEY,
        ]
        child = self.supervisor.start(
            Child("fake ThingSpeak", argv, self._log("thingspeak"), signal.SIGINT)
        )
        self.supervisor.wait_until(
            f"fake ThingSpeak on port {port}", lambda: port_accepts(port), 20, child
        )
        print(f"  fake ThingSpeak listens on http://127.0.0.1:{port}")

    def _start_home_assistant(self, port: int) -> Child:
        child = Child(
            "Home Assistant",
            home_assistant_argv(self.state_dir.config),
            self._log("home-assistant-console"),
            # Shutting down writes the recorder's database; give it time.
            stop_timeout=90,
            env={**os.environ, "IOTITAN_HA_PORT": str(port)},
        )
        self.supervisor.start(child)
        print(
            f"  Home Assistant starting (log: {self.state_dir.config / 'home-assistant.log'})"
        )
        return child

    def _provision(
        self,
        api: HomeAssistantApi,
        state: dict[str, Any],
        mqtt_port: int,
        thingspeak: int | None,
    ) -> None:
        """Onboard and add the integrations, each step only if not done yet.

        Every step checks first, so a run interrupted halfway resumes where it
        stopped; a provisioned config only needs the login (and an MQTT port
        or ThingSpeak URL change if the broker or the fake moved).
        """
        try:
            onboarded_now = onboard(api)
        except LoginFailed as err:
            if state.get("provisioned"):
                print(f"  Note: {err}; skipping the checks that need a login.")
                return
            raise
        if onboarded_now:
            print(f"  onboarding done ({self._elapsed()})")

        self._provision_mqtt(api, state, mqtt_port)
        hub_id, hub_created = self._provision_hub(api)
        if hub_created or not state.get("provisioned"):
            for sensor in SENSOR_SUBENTRIES:
                if add_sensor(api, hub_id, sensor):
                    print(f"  sensor source {sensor['topic']} added")
            # The simulated Tasmota, from what it announces; its Zigbee2MQTT
            # sensor is left for "Add from discovered sensors" in the UI.
            if add_discovered(api, hub_id, DISCOVERED_TOPIC):
                print(f"  sensor source {DISCOVERED_TOPIC} added from discovery")
        if onboarded_now:
            remove_offline_useless(api)
        state["provisioned"] = True
        self.state_dir.save(state)
        self._settle_hub(api, hub_id)

        # The channel first: adding the alert last reloads the hub once more,
        # and an alert entity that exists already would show that reload in
        # its history ("became unavailable") on the device page.
        added = False
        if thingspeak:
            added |= self._provision_channel(api, state, hub_id, thingspeak)
        added |= self._provision_alert(api, state, hub_id)
        if added:
            self._settle_hub(api, hub_id)

    def _settle_hub(self, api: HomeAssistantApi, hub_id: str) -> None:
        """Wait until the hub runs with every subentry; reload it if it does not.

        Each new subentry reloads the hub. One added while such a reload is
        under way can be missed (the hub reads its subentries before it
        registers its update listener): then reload once more, as the UI's
        "Reload" does. Not otherwise: a reload makes every entity unavailable
        for a moment, which shows in its history.
        """
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while time.monotonic() < deadline:
            if api.entries("iotitan")[0]["state"] == "loaded" and hub_is_current(
                api, hub_id
            ):
                return
            self.supervisor.check_children()
            self.supervisor.sleep(0.5)
        reload_entry(api, hub_id)
        self._wait_hub_loaded(api)

    def _wait_hub_loaded(self, api: HomeAssistantApi) -> None:
        self.supervisor.wait_until(
            "the IoTitan config entry to load",
            lambda: api.entries("iotitan")[0]["state"] == "loaded",
            60,
            self.hass,
        )

    def _subentries(self, api: HomeAssistantApi, hub_id: str) -> list[dict[str, Any]]:
        """The hub's subentries; retried while a reload is still under way."""
        found: list[dict[str, Any]] = []

        def read() -> bool:
            try:
                found[:] = [
                    {"id": subentry_id, **subentry}
                    for subentry_id, subentry in subentries(api, hub_id).items()
                ]
            except HttpError:
                return False
            return True

        self.supervisor.wait_until("the hub's diagnostics", read, 30, self.hass)
        return found

    def _provision_alert(
        self, api: HomeAssistantApi, state: dict[str, Any], hub_id: str
    ) -> bool:
        """Add the demo's alert once (not again if the user removed it)."""
        if state.get("alert_provisioned"):
            return False
        existing = self._subentries(api, hub_id)
        added = not any(
            subentry["type"] == "alert" and subentry["title"] == ALERT["name"]
            for subentry in existing
        )
        if added:
            add_alert(api, hub_id, ALERT_SOURCE, ALERT)
            print(
                f"  alert {ALERT['name']!r} added (10-minute mean temperature "
                f"above {ALERT['high']} °C)"
            )
        state["alert_provisioned"] = True
        self.state_dir.save(state)
        return added

    def _provision_channel(
        self, api: HomeAssistantApi, state: dict[str, Any], hub_id: str, port: int
    ) -> bool:
        """Add the demo's ThingSpeak channel once, or point it at a moved fake."""
        base_url = f"http://127.0.0.1:{port}"
        if state.get("channel_provisioned"):
            if state.get("thingspeak_port") not in (None, port):
                for subentry in self._subentries(api, hub_id):
                    data = subentry["data"]
                    if subentry["type"] == "channel" and str(
                        data.get("channel_id")
                    ) == str(THINGSPEAK_CHANNEL):
                        repoint_channel(api, hub_id, subentry["id"], base_url)
                        print(f"  ThingSpeak channel now writes to {base_url}")
            return False
        existing = self._subentries(api, hub_id)
        added = not any(
            subentry["type"] == "channel"
            and str(subentry["data"].get("channel_id")) == str(THINGSPEAK_CHANNEL)
            for subentry in existing
        )
        if added:
            settings = {**CHANNEL_SETTINGS, "advanced": {"base_url": base_url}}
            # Its fields carry statistics of topics the simulator publishes:
            # the wildcard sources offer them once they have been seen, that
            # is once their entities exist. (Not by retrying the flow: each
            # try would send a test row, and the free plan's 15 s spacing
            # would refuse the second.)
            topics = {choice.topic for choice in CHANNEL_FIELDS.values()}
            self.supervisor.wait_until(
                "the simulator's topics to reach Home Assistant",
                lambda: topics <= seen_topics(api, hub_id),
                TOPICS_TIMEOUT,
                self.hass,
            )
            try:
                add_channel(api, hub_id, settings, CHANNEL_FIELDS)
            except NotYet as err:
                raise Fatal(f"cannot add the ThingSpeak channel: {err}") from err
            print(
                f"  ThingSpeak channel {THINGSPEAK_CHANNEL} added (a row every "
                f"{CHANNEL_UPLOAD_INTERVAL} s to the fake ThingSpeak)"
            )
        state["channel_provisioned"] = True
        self.state_dir.save(state)
        return added

    def _provision_mqtt(
        self, api: HomeAssistantApi, state: dict[str, Any], port: int
    ) -> None:
        entries = api.entries("mqtt")
        if not entries:
            add_mqtt(api, port, DEMO_MQTT_PROTOCOL)
            print(
                f"  MQTT integration added (broker 127.0.0.1:{port}, "
                f"MQTT {DEMO_MQTT_PROTOCOL})"
            )
        elif state.get("mqtt_port") != port:
            # The broker moved (1883 was busy, or a new IOTITAN_MQTT_PORT).
            repoint_mqtt(api, entries[0]["entry_id"], port)
            print(f"  MQTT integration now uses port {port}")

    def _provision_hub(self, api: HomeAssistantApi) -> tuple[str, bool]:
        """The hub's entry id, and whether it was created now."""
        entries = api.entries("iotitan")
        if entries:
            return str(entries[0]["entry_id"]), False
        hub_id = add_hub(api)
        print(f"  IoTitan hub {HUB_NAME!r} added")
        return hub_id, True

    def _print_ready(
        self, api: HomeAssistantApi, broker: str, mqtt_port: int, thingspeak: int | None
    ) -> None:
        config = self.state_dir.config
        lines = [
            "",
            f"{READY_MARK} ({self._elapsed()} after start).",
            "",
            f"  Open {api.base} and log in as {DEMO_USER} / {DEMO_PASSWORD}.",
            "  What is configured now (Settings > Devices & services > IoTitan):",
            *configured_lines(api),
            "  Then look at a topic device (its windows' statistics), an alert's",
            "    device, the hub device (payloads rejected by reason, which the",
            "    simulator's junk increments) and a ThingSpeak channel's device",
            "    (rows waiting, last upload).",
            "",
            f"  MQTT broker: {broker} on 127.0.0.1:{mqtt_port}"
            + (
                f"  (watch: mosquitto_sub -p {mqtt_port} -t 'iotitan/#' -v)"
                if shutil.which("mosquitto_sub")
                else ""
            ),
        ]
        if thingspeak:
            lines += [
                f"  Fake ThingSpeak: http://127.0.0.1:{thingspeak}; any channel ID "
                f"takes write key {THINGSPEAK_OPEN_KEY}",
                f"    rows of channel N: http://127.0.0.1:{thingspeak}/channels/"
                "N/feeds.json",
            ]
        lines += [
            f"  Logs: {self.state_dir.logs}/ and {config / 'home-assistant.log'}",
            "  Ctrl-C stops everything; the next run reuses this setup "
            "(--reset starts over).",
            "",
        ]
        print("\n".join(lines), flush=True)

    def _supervise(self) -> None:
        """Wait for Ctrl-C; restart Home Assistant when the UI restarts it."""
        while True:
            self.supervisor.sleep(1)
            hass = self.hass
            # Exit code 100 is Home Assistant's "restart me" (Settings > Restart).
            if hass is not None and hass.poll() == 100:
                print("Home Assistant asked for a restart; restarting it.")
                hass.stop()
                hass.start()
            self.supervisor.check_children()


def main(argv: list[str]) -> int:
    """Entry point; internal modes first, they take no other options."""
    if argv[:1] == ["--internal-hass"]:
        return run_home_assistant(argv[1:])
    if argv[:1] == ["--internal-amqtt"]:
        return run_amqtt_broker(int(argv[1]))
    # Line-buffered even into a pipe, so "ready" reaches a waiting test at once.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    args, options = parse_args(argv)
    try:
        if args.print_requirements:
            print_missing_requirements(broker_kind(options.broker))
            return 0
        return Runner(options).run()
    except Fatal as err:
        print(f"develop: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
