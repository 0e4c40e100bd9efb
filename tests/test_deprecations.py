"""IoTitan uses no API that the pinned Home Assistant reports as deprecated.

Home Assistant reports a custom integration's use of deprecated API in two ways:
its frame helper (`homeassistant.helpers.frame.report_usage`) and deprecation helpers
(`homeassistant.helpers.deprecation`) log a warning naming the integration, and
some code raises a Python DeprecationWarning. A hub goes through its whole life
here (setup with a sensor subentry, messages, entity updates, diagnostics, system
health, an options change, reload, unload, setup again, removal) while both are
recorded, and nothing may name `iotitan`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
import logging
from pathlib import Path
import warnings

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import frame
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
    get_system_health_info,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.iotitan.const import CONF_UPDATE_INTERVAL, DOMAIN

from .common import hub_entry, sensor_subentry

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]
INTEGRATION = Path(__file__).resolve().parents[1] / "custom_components" / "iotitan"
DEPRECATION_CATEGORIES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


@dataclass
class DeprecationReports:
    """What Home Assistant and Python reported about IoTitan while recording."""

    log_records: list[logging.LogRecord] = field(default_factory=list)
    python_warnings: list[warnings.WarningMessage] = field(default_factory=list)

    def __bool__(self) -> bool:
        """True when anything was reported."""
        return bool(self.log_records or self.python_warnings)

    def describe(self) -> str:
        """The reports, one a line, for an assertion message."""
        return "\n".join(
            [f"log {r.name}: {r.getMessage()}" for r in self.log_records]
            + [
                f"{w.category.__name__} at {w.filename}:{w.lineno}: {w.message}"
                for w in self.python_warnings
            ]
        )


def _names_iotitan(record: logging.LogRecord) -> bool:
    """A log record of Home Assistant's deprecation reporting that names us."""
    message = record.getMessage()
    lowered = message.lower()
    if f"integration '{DOMAIN}'" in message:
        return True  # frame helper: "Detected that custom integration 'iotitan' ..."
    if record.name == frame.__name__ and DOMAIN in message:
        return True
    # Deprecation helpers: "The deprecated constant X was used from iotitan ...",
    # or a deprecated property named after our module.
    return "deprecated" in lowered and (
        DOMAIN in message or record.name.startswith(f"custom_components.{DOMAIN}")
    )


@contextmanager
def record_deprecations(
    caplog: pytest.LogCaptureFixture,
) -> Iterator[DeprecationReports]:
    """Collect deprecation reports about IoTitan made inside the block."""
    reports = DeprecationReports()
    first = len(caplog.records)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield reports
    reports.log_records.extend(
        record for record in caplog.records[first:] if _names_iotitan(record)
    )
    reports.python_warnings.extend(
        warning
        for warning in caught
        if issubclass(warning.category, DEPRECATION_CATEGORIES)
        and Path(warning.filename).resolve().is_relative_to(INTEGRATION)
    )


async def test_hub_lifecycle_reports_no_deprecation(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    hass_client: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Setup, messages, reload, options change, unload and removal report nothing."""
    caplog.set_level(logging.INFO)
    assert await async_setup_component(hass, "system_health", {})
    with record_deprecations(caplog) as reports:
        entry = await setup_hub(
            hub_entry(
                sensor_subentry(
                    statistics=[
                        "mean",
                        "median",
                        "value_min",
                        "value_max",
                        "standard_deviation",
                        "percentile",
                        "average_linear",
                        "change_second",
                        "count",
                    ]
                )
            )
        )
        for second, value in enumerate(("20.5", "21", "not a number", "22.25")):
            async_fire_mqtt_message(hass, "home/kitchen/temperature", value)
            async_fire_mqtt_message(hass, f"home/room{second}/temperature", value)
            freezer.tick(timedelta(seconds=1))
        freezer.tick(timedelta(seconds=10))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        assert hass.states.async_entity_ids("sensor")

        await get_diagnostics_for_config_entry(hass, hass_client, entry)
        await get_system_health_info(hass, DOMAIN)

        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        async_fire_mqtt_message(hass, "home/kitchen/temperature", "23")
        await hass.async_block_till_done()

        # An options change reloads the hub through its update listener.
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_UPDATE_INTERVAL: 5}
        )
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED

        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.NOT_LOADED
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        await hass.config_entries.async_remove(entry.entry_id)
        await hass.async_block_till_done()

    assert not reports, reports.describe()


async def test_the_recorder_sees_reports(
    hass: HomeAssistant, setup_hub: SetupHub, caplog: pytest.LogCaptureFixture
) -> None:
    """The check is not vacuous: a frame report and a warning from our code count."""
    await setup_hub(hub_entry(sensor_subentry()))
    with record_deprecations(caplog) as reports:
        frame.report_usage(
            "calls a deprecated thing",
            breaks_in_ha_version="2099.1",
            integration_domain=DOMAIN,
        )
        warnings.warn_explicit(
            "old API",
            DeprecationWarning,
            filename=str(INTEGRATION / "hub.py"),
            lineno=1,
        )
        # Someone else's warning is not ours.
        warnings.warn_explicit(
            "old API", DeprecationWarning, filename="/elsewhere/x.py", lineno=1
        )
        logging.getLogger("homeassistant.helpers.deprecation").warning(
            "The deprecated constant X was used from other_integration"
        )
    assert len(reports.log_records) == 1
    assert "custom integration 'iotitan' calls a deprecated thing" in (
        reports.log_records[0].getMessage()
    )
    assert len(reports.python_warnings) == 1
    assert reports.python_warnings[0].filename.endswith("hub.py")
    assert "old API" in reports.describe()
