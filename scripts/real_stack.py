"""A real Mosquitto and a real Home Assistant with an IoTitan hub, for scripts.

Used by `scripts/soak_broker_junk.py` and `scripts/crash_loss.py`. Processes
are started the way `scripts/develop` starts them (its functions are imported,
not copied; see also tests/e2e/conftest.py): Mosquitto on a free loopback port,
`hass -c DIR --skip-pip` with scripts/develop's configuration.yaml, onboarded
and provisioned through the HTTP API (the MQTT integration and one hub that
logs `#`). Children die with this process (`develop.Child`).
"""

from __future__ import annotations

from collections.abc import Callable
import importlib.util
import os
from pathlib import Path
import signal
import sys
import time
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _load_develop() -> ModuleType:
    name = "iotitan_develop"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / "develop.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


develop = _load_develop()


def wait_for[T](what: str, probe: Callable[[], T | None], timeout: float) -> T:
    """Poll `probe` until truthy; raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.25)


class RealStack:
    """Mosquitto + Home Assistant + an IoTitan hub under `directory`."""

    def __init__(self, directory: Path) -> None:
        """Write configurations (nothing runs yet)."""
        if develop.missing_requirements("mosquitto"):
            develop.install_requirements(develop.missing_requirements("mosquitto"))
        binary = develop.find_mosquitto()
        if binary is None:
            raise SystemExit("mosquitto is not installed (apt-get install mosquitto)")
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.mqtt_port = int(develop.any_free_port())
        config = directory / "mosquitto.conf"
        config.write_text(develop.mosquitto_config(self.mqtt_port), encoding="utf-8")
        self.mosquitto = develop.Child(
            "mosquitto", [binary, "-c", str(config)], directory / "mosquitto.log"
        )
        self.state_dir = develop.StateDir(directory / "home-assistant")
        self.state_dir.prepare_config()
        self.ha_port = int(develop.any_free_port())
        self.api = develop.HomeAssistantApi(self.ha_port)
        self.hub_id: str | None = None
        self.hass = self._hass_child()

    def _hass_child(self) -> Any:
        return develop.Child(
            "Home Assistant",
            develop.home_assistant_argv(self.state_dir.config),
            self.state_dir.logs / "home-assistant-console.log",
            stop_timeout=60,
            env={**os.environ, "IOTITAN_HA_PORT": str(self.ha_port)},
        )

    @property
    def journal(self) -> Path:
        """The hub's journal directory."""
        assert self.hub_id is not None
        return self.state_dir.config / "iotitan" / self.hub_id

    @property
    def hass_pid(self) -> int:
        """Home Assistant's process id."""
        assert self.hass.popen is not None
        return int(self.hass.popen.pid)

    def start_mosquitto(self) -> None:
        """Start the broker and wait until it listens."""
        self.mosquitto.start()
        wait_for("mosquitto", lambda: develop.port_accepts(self.mqtt_port), timeout=20)

    def start_hass(self, timeout: float = 300) -> None:
        """Start Home Assistant; provision it on the first start; wait for the hub."""
        if self.hass.popen is not None:
            self.hass = self._hass_child()  # a restart: a new process
        self.hass.start()

        def up() -> bool:
            if self.hass.poll() is not None:
                raise RuntimeError(f"Home Assistant exited:\n{self.hass.log_tail()}")
            return bool(self.api.is_up())

        wait_for("Home Assistant's HTTP API", up, timeout)
        if self.hub_id is None:
            develop.onboard(self.api)
            develop.remove_offline_useless(self.api)
            develop.add_mqtt(self.api, self.mqtt_port, develop.DEMO_MQTT_PROTOCOL)
            self.hub_id = str(develop.add_hub(self.api))
            # Home Assistant saves config entries and users a little later: a
            # clean restart makes sure they are on disk before any kill -9.
            self.hass.stop()
            self.start_hass(timeout)
            return
        self.api.login(develop.DEMO_USER, develop.DEMO_PASSWORD)
        wait_for("the hub to load", self.hub_loaded, timeout)

    def hub_loaded(self) -> bool:
        """Whether the hub's config entry is loaded."""
        entries = self.api.request("GET", "/api/config/config_entries/entry")
        return any(
            e["entry_id"] == self.hub_id and e["state"] == "loaded" for e in entries
        )

    def add_sensor(self, topic: str, max_topics: int, value_path: str = "") -> None:
        """Add a sensor source on `topic` (waits until the hub runs it)."""
        assert self.hub_id is not None
        user_input: dict[str, Any] = {
            "name": f"Source {topic}",
            "topic": topic,
            "windows": ["10m"],
            "statistics": ["mean"],
            "advanced": {**develop.ADVANCED_DEFAULTS, "max_topics": max_topics},
        }
        if value_path:
            user_input["value_path"] = value_path
        develop.add_sensor(self.api, self.hub_id, user_input)
        wait_for(
            "the hub to run the new source",
            lambda: develop.hub_is_current(self.api, self.hub_id),
            timeout=120,
        )

    def diagnostics(self) -> dict[str, Any]:
        """The hub's diagnostics (the `hub` part)."""
        data = self.api.request("GET", f"/api/diagnostics/config_entry/{self.hub_id}")[
            "data"
        ]
        return dict(data["hub"])

    def kill_hass(self) -> float:
        """kill -9 Home Assistant; the time.time() of the kill."""
        assert self.hass.popen is not None
        when = time.time()
        os.kill(self.hass.popen.pid, signal.SIGKILL)
        self.hass.popen.wait()
        return when

    def stop(self) -> None:
        """Stop everything that runs."""
        self.hass.stop()
        self.mosquitto.stop()
