"""Helpers shared by the alert, MQTT output, device trigger and blueprint tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.iotitan.const import DOMAIN, SUBENTRY_ALERT
from custom_components.iotitan.engine.alerts import AlertConfig, AlertRule, Severity
from custom_components.iotitan.models import AlertSubentryConfig, parse_watch

from .common import sensor_subentry

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]

SOURCE_ID = "source0temperature"
ALERT_ID = "alert0first"
# Whole seconds: readings are stamped to the millisecond, and delays and stale
# deadlines then fall on exact instants the tests can step to.
START = datetime.fromisoformat("2026-01-15T12:00:00+00:00")


def source_subentry(
    topic: str = "room/t",
    *,
    subentry_id: str = SOURCE_ID,
    **kwargs: Any,
) -> ConfigSubentryDataWithId:
    """A sensor subentry with a known id; no unit unless given."""
    kwargs.setdefault("unit", None)
    kwargs.setdefault("device_class", None)
    return ConfigSubentryDataWithId(
        **sensor_subentry(topic, **kwargs), subentry_id=subentry_id
    )


def alert_subentry(
    rule: str = "high",
    *,
    subentry_id: str = ALERT_ID,
    source: str = SOURCE_ID,
    title: str | None = None,
    name: str = "",
    watch: str = "value",
    high: float | None = None,
    low: float | None = None,
    deadband: float = 0.0,
    stale_after: float | None = None,
    rate_limit: float | None = None,
    on_delay: float = 0.0,
    off_delay: float = 0.0,
    severity: str = "warning",
) -> ConfigSubentryDataWithId:
    """Alert subentry data as the alert flow stores it (through its model).

    Numbers are stored as floats, as the flow stores them; the rule is not
    checked, so that tests can store one that cannot run.
    """

    def number(value: float | None) -> float | None:
        return None if value is None else float(value)

    alert = AlertSubentryConfig(
        source_id=source,
        name=name,
        watch=parse_watch(watch),
        config=AlertConfig(
            rule=AlertRule(rule),
            high=number(high),
            low=number(low),
            deadband=float(deadband),
            stale_after=number(stale_after),
            rate_limit=number(rate_limit),
            on_delay=float(on_delay),
            off_delay=float(off_delay),
            severity=Severity(severity),
        ),
    )
    return ConfigSubentryDataWithId(
        subentry_type=SUBENTRY_ALERT,
        subentry_id=subentry_id,
        title=title or name or f"{rule} alert",
        unique_id=None,
        data=alert.to_subentry_data(),
    )


async def setup_with_known_topics(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    *topics: str,
    source_id: str = SOURCE_ID,
) -> MockConfigEntry:
    """Set up a hub whose topics were seen before a restart (devices exist).

    Needs MQTT (the `mqtt_mock` fixture).
    """
    entry.add_to_hass(hass)
    registry = dr.async_get(hass)
    for topic in topics:
        registry.async_get_or_create(
            config_entry_id=entry.entry_id,
            config_subentry_id=source_id,
            identifiers={(DOMAIN, f"{source_id}/{topic}")},
            name=topic,
        )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def alert_entity_id(
    hass: HomeAssistant,
    topic: str = "room/t",
    alert_id: str = ALERT_ID,
    source_id: str = SOURCE_ID,
) -> str:
    """The entity id of an alert on a topic."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{source_id}/{topic}/alert/{alert_id}"
    )
    assert entity_id is not None, f"no alert entity for {alert_id} on {topic}"
    return entity_id


def alert_state(
    hass: HomeAssistant,
    topic: str = "room/t",
    alert_id: str = ALERT_ID,
    source_id: str = SOURCE_ID,
) -> State:
    """The state of an alert on a topic."""
    state = hass.states.get(alert_entity_id(hass, topic, alert_id, source_id))
    assert state is not None
    return state


async def advance(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    """Move the clock and run every timer that came due."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def iso(seconds_after_start: float) -> str:
    """The ISO time `seconds_after_start` after START, as attributes show it."""
    return (START + timedelta(seconds=seconds_after_start)).isoformat()
