"""Alert entities: one per alert and concrete topic, on the alert's own device.

Each alert subentry owns one device, named after the subentry and linked below the
hub device; the topic's device stays with its sensor subentry (a device belongs to
one subentry).
"""

from __future__ import annotations

import time
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
)
from homeassistant.const import STATE_OFF, STATE_ON, Platform
from homeassistant.core import HomeAssistant, State, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import (
    ExtraStoredData,
    RestoredExtraData,
    RestoreEntity,
)
from homeassistant.util import dt as dt_util

from .alert_runtime import (
    ATTR_LIMIT,
    ATTR_RULE,
    ATTR_SEVERITY,
    ATTR_SINCE,
    ATTR_VALUE,
    ATTR_WATCH,
    AlertSettings,
    AlertTracker,
)
from .const import SUBENTRY_ALERT
from .device import alert_device_info
from .engine.alerts import AlertRule
from .engine.output import format_duration, format_number
from .engine.topic_names import device_name
from .entity import IoTitanTopicEntity
from .hub import (
    IoTitanConfigEntry,
    IoTitanHub,
    signal_alert_added,
    signal_new_topic,
)
from .models import watch_text
from .names import async_raw_value_name, async_statistic_names
from .source import SensorSource, TopicState

# State is written by the alert runtime on transitions; nothing to throttle.
PARALLEL_UPDATES = 0

RESTORE_LAST_SEEN = "last_seen"


def alert_unique_id(settings: AlertSettings, source: SensorSource, topic: str) -> str:
    """Unique id of an alert's entity on one topic."""
    return f"{source.subentry_id}/{topic}/alert/{settings.subentry_id}"


def name_placeholders(settings: AlertSettings, unit: str | None) -> dict[str, str]:
    """The limits as the translated default names show them."""
    config = settings.config
    suffix = f" {unit}" if unit else ""

    def limit(value: float | None) -> str:
        return "" if value is None else f"{format_number(value)}{suffix}"

    return {
        "high": limit(config.high),
        "low": limit(config.low),
        "rate_limit": limit(config.rate_limit),
        "stale_after": ""
        if config.stale_after is None
        else format_duration(config.stale_after),
    }


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IoTitanConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add an alert entity for every alert and topic, now and as topics appear."""
    runtime = entry.runtime_data.alerts

    @callback
    def add_topic(source: SensorSource, topic: TopicState) -> None:
        for settings in runtime.alerts_for(source.key):
            async_add_entities(
                [
                    IoTitanAlertBinarySensor(
                        entry.runtime_data, runtime.tracker(settings, source, topic)
                    )
                ],
                config_subentry_id=settings.subentry_id,
            )

    @callback
    def add_alert(settings: AlertSettings) -> None:
        """An alert added while the hub runs: an entity per topic seen so far."""
        source = entry.runtime_data.sources[settings.source_key]
        for topic in source.topics.values():
            async_add_entities(
                [
                    IoTitanAlertBinarySensor(
                        entry.runtime_data, runtime.tracker(settings, source, topic)
                    )
                ],
                config_subentry_id=settings.subentry_id,
            )

    entry.async_on_unload(
        async_dispatcher_connect(hass, signal_alert_added(entry.entry_id), add_alert)
    )
    async_remove_stale_alert_entities(hass, entry)
    for source in entry.runtime_data.sources.values():
        for topic in source.topics.values():
            add_topic(source, topic)
    entry.async_on_unload(
        async_dispatcher_connect(hass, signal_new_topic(entry.entry_id), add_topic)
    )


@callback
def async_remove_stale_alert_entities(
    hass: HomeAssistant, entry: IoTitanConfigEntry
) -> None:
    """Drop alert entities of topics whose alert now watches another source."""
    hub = entry.runtime_data
    wanted = {
        alert_unique_id(settings, source, topic)
        for settings in hub.alerts.alerts.values()
        if (source := hub.sources.get(settings.source_key)) is not None
        for topic in source.topics
    }
    registry = er.async_get(hass)
    for registry_entry in alert_registry_entries(hass, entry):
        if registry_entry.unique_id not in wanted:
            registry.async_remove(registry_entry.entity_id)


@callback
def alert_registry_entries(
    hass: HomeAssistant, entry: IoTitanConfigEntry
) -> list[er.RegistryEntry]:
    """The registered alert entities of a hub: its alert subentries' binary sensors."""
    alert_subentries = {
        subentry_id
        for subentry_id, subentry in entry.subentries.items()
        if subentry.subentry_type == SUBENTRY_ALERT
    }
    return [
        registry_entry
        for registry_entry in er.async_entries_for_config_entry(
            er.async_get(hass), entry.entry_id
        )
        if registry_entry.domain == Platform.BINARY_SENSOR
        and registry_entry.config_subentry_id in alert_subentries
    ]


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


class IoTitanAlertBinarySensor(IoTitanTopicEntity, BinarySensorEntity, RestoreEntity):
    """An alert rule on one topic: on while the rule is violated."""

    _attr_device_class = BinarySensorDeviceClass.PROBLEM

    def __init__(self, hub: IoTitanHub, tracker: AlertTracker) -> None:
        """Show the tracker's state on the alert's device.

        The device is named after the alert; on a source without wildcards (one
        topic) the entity is the device's main feature and takes its name, on a
        wildcard source each topic's entity is named after the topic.
        """
        settings = tracker.settings
        source = tracker.source
        super().__init__(
            hub,
            source,
            tracker.topic,
            f"alert/{settings.subentry_id}",
            alert_device_info(
                hub.hass, hub.entry.entry_id, settings.subentry_id, settings.title
            ),
        )
        self.tracker = tracker
        self._watch_name = watch_text(tracker.settings.watch)
        self._attr_translation_key = str(settings.config.rule)
        self._attr_translation_placeholders = name_placeholders(
            settings, source.config.unit
        )
        # One alert device, one entity per topic of a wildcard source: each
        # named as the topic's own device is ("Kitchen temperature").
        config = source.config
        self._attr_name = (
            None
            if tracker.topic.topic == config.topic
            else device_name(config.topic, tracker.topic.topic, config.name_template)
        )

    @property
    def available(self) -> bool:
        """Unavailable without MQTT, and until the topic first reported."""
        return super().available and self.tracker.machine.state is not None

    @property
    def is_on(self) -> bool | None:
        """Whether the rule is violated."""
        return self.tracker.machine.state

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The value and limit of the last change, the rule and since when."""
        machine = self.tracker.machine
        since = machine.since
        return {
            ATTR_VALUE: self.tracker.value,
            ATTR_LIMIT: machine.limit,
            ATTR_RULE: str(machine.config.rule),
            ATTR_SEVERITY: str(machine.config.severity),
            ATTR_WATCH: self._watch_name,
            ATTR_SINCE: None
            if since is None
            else dt_util.utc_from_timestamp(since).isoformat(),
        }

    @property
    def extra_restore_state_data(self) -> ExtraStoredData:
        """Also keep when the topic last reported, for the stale rule."""
        return RestoredExtraData({RESTORE_LAST_SEEN: self.tracker.last_seen})

    async def async_added_to_hass(self) -> None:
        """Restore the state, then re-evaluate it from the restored windows."""
        await super().async_added_to_hass()
        self._watch_name = await self._async_watch_name()
        if self.tracker.machine.state is None and (
            last_state := await self.async_get_last_state()
        ):
            extra = await self.async_get_last_extra_data()
            self._restore(last_state, {} if extra is None else extra.as_dict())
        self.async_on_remove(
            self.tracker.async_attach(self.entity_id, self.async_write_if_changed)
        )
        self.async_leave_when_replaced(self.tracker.settings.subentry_id)
        self.tracker.async_prime(time.time())
        self.async_remember_shown()

    async def _async_watch_name(self) -> str:
        """What the alert watches, as a person reads it ("Mean 10m")."""
        watch = self.tracker.settings.watch
        if watch is None:
            return await async_raw_value_name(self.hass)
        config = self.tracker.source.config
        names = await async_statistic_names(self.hass, config)
        # A watched statistic the source no longer shows has no entity name.
        return names.get(
            watch.with_source_percentile(config.percentile), watch.watch_value
        )

    def _shown(self) -> tuple[bool | None, dict[str, Any]]:
        return self.is_on, self.extra_state_attributes

    def _restore(self, last_state: State, extra: dict[str, Any]) -> None:
        attributes = last_state.attributes
        rule = self.tracker.settings.config.rule
        if last_state.state not in (STATE_ON, STATE_OFF) or attributes.get(
            ATTR_RULE
        ) != str(rule):
            return  # unknown, or saved for another rule: evaluate afresh
        since_text = attributes.get(ATTR_SINCE)
        since = (
            dt_util.parse_datetime(since_text) if isinstance(since_text, str) else None
        ) or last_state.last_changed
        limit = _float(attributes.get(ATTR_LIMIT))
        self.tracker.async_restore(
            last_state.state == STATE_ON,
            since.timestamp(),
            value=_float(attributes.get(ATTR_VALUE)),
            limit=limit if rule is AlertRule.RANGE else None,
            last_seen=_float(extra.get(RESTORE_LAST_SEEN)),
        )
