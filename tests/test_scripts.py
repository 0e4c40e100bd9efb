"""The newcomer's scripts work before anything is set up."""

from __future__ import annotations

import importlib.util
from pathlib import Path
import shutil
import subprocess
import sys
from types import ModuleType
from typing import Any

from custom_components.iotitan.engine.window import Statistic
from custom_components.iotitan.engine.window_statistic import WindowStatistic
from custom_components.iotitan.models import (
    AlertSubentryConfig,
    ChannelSubentryConfig,
    SensorSourceConfig,
)

ROOT = Path(__file__).resolve().parent.parent


def test_develop_help_works_on_a_fresh_clone(tmp_path: Path) -> None:
    """`scripts/develop --help` without .venv finds Python 3.13 as setup does.

    On a fresh clone the system python3 may be older than the runner's syntax
    (3.11 on these machines), which gave a SyntaxError instead of the help.
    """
    clone = tmp_path / "clone"
    (clone / "scripts").mkdir(parents=True)
    for name in ("develop", "develop.py", "find_python"):
        shutil.copy2(ROOT / "scripts" / name, clone / "scripts" / name)
    result = subprocess.run(
        ["bash", str(clone / "scripts" / "develop"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: scripts/develop")
    assert "--reset" in result.stdout
    assert not (clone / ".venv").exists()


def load_develop() -> ModuleType:
    """`scripts/develop.py` as a module (it runs without the integration)."""
    spec = importlib.util.spec_from_file_location(
        "develop", ROOT / "scripts" / "develop.py"
    )
    assert spec is not None and spec.loader is not None
    develop = importlib.util.module_from_spec(spec)
    sys.modules["develop"] = develop  # dataclasses look their module up
    try:
        spec.loader.exec_module(develop)
    finally:
        del sys.modules["develop"]
    return develop


def test_develop_chooses_channel_statistics_as_the_flow_spells_them() -> None:
    """`scripts/develop.py` runs without the integration's packages, so it
    spells a channel's statistic choice itself; it must match the flow's."""
    develop = load_develop()
    for window, statistic in [
        (600.0, Statistic.MEAN),
        (5400.5, Statistic.PERCENTILE),
        (2592000.0, Statistic.VALUE_MAX),
    ]:
        choice = develop.FieldChoice("room/t", window, str(statistic))
        assert (
            choice.statistic_choice == WindowStatistic(window, statistic).channel_choice
        )


def _over(defaults: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    """A form's values over its defaults, one level into sections (as
    develop.py's `merge` fills a form)."""
    merged = dict(defaults)
    for key, value in form.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def test_develop_fills_the_forms_as_the_models_read_them() -> None:
    """The demo adds its subentries through the flows, which store them through
    the models; each form the demo submits passes the models' checks."""
    develop = load_develop()
    for sensor in develop.SENSOR_SUBENTRIES:
        form = _over(SensorSourceConfig.form_defaults(), sensor)
        assert SensorSourceConfig.from_form(form, topic_valid=True)[1] == {}, sensor
    assert SensorSourceConfig.form_defaults()["advanced"] == develop.ADVANCED_DEFAULTS
    assert AlertSubentryConfig.from_form(develop.ALERT, source_id="s")[1] == {}
    channel = _over(
        ChannelSubentryConfig.form_defaults(),
        {**develop.CHANNEL_SETTINGS, "advanced": {"base_url": "http://127.0.0.1:1"}},
    )
    assert ChannelSubentryConfig.from_form(channel)[1] == {}


def test_a_hub_running_every_reading_of_a_source_is_current() -> None:
    """The demo reloads a hub it finds missing a subentry; a source of several
    readings is listed in the diagnostics once per reading (`<id>:<key>`)."""
    develop = load_develop()

    class Api:
        def __init__(self, sources: list[str]) -> None:
            self.sources = sources

        def request(self, method: str, path: str) -> dict[str, Any]:
            return {
                "data": {
                    "entry": {"state": "loaded", "subentries": {"s1": {}, "s2": {}}},
                    "hub": {"sources": {key: {} for key in self.sources}},
                }
            }

    assert develop.hub_is_current(Api(["s1", "s2:temperature", "s2:humidity"]), "h")
    assert not develop.hub_is_current(Api(["s1", "s3:temperature"]), "h")
