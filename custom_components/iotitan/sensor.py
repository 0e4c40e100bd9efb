"""Statistic sensors per topic and window, and the hub's counters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
import math
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.components.sensor.const import (
    DEVICE_CLASS_STATE_CLASSES,
    DEVICE_CLASS_UNITS,
)
from homeassistant.const import EntityCategory, UnitOfInformation
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util.enum import try_parse_enum

from .channel import ThingSpeakChannel
from .device import device_by_identifier, topic_device_identifier
from .engine.output import statistic_name_placeholders
from .engine.syslog import ConnectionState
from .engine.thingspeak import ResultKind
from .engine.window import Statistic
from .engine.window_statistic import WindowStatistic
from .entity import (
    IoTitanEntity,
    IoTitanHubEntity,
    IoTitanTopicEntity,
    topic_unique_id,
)
from .hub import (
    IoTitanConfigEntry,
    IoTitanHub,
    signal_channel_added,
    signal_new_topic,
)
from .source import SensorSource, TopicState

# Entities only write state when the hub's timer says so; nothing to throttle.
PARALLEL_UPDATES = 0

# As core's statistics sensor: these keep the source's unit (and device class).
STATISTICS_KEEPING_UNIT = frozenset(
    {
        Statistic.MEAN,
        Statistic.MEDIAN,
        Statistic.VALUE_MIN,
        Statistic.VALUE_MAX,
        Statistic.STANDARD_DEVIATION,
        Statistic.PERCENTILE,
        Statistic.AVERAGE_STEP,
        Statistic.AVERAGE_LINEAR,
        Statistic.CHANGE,
        Statistic.SUM,
        Statistic.LAST,
    }
)
# Differences of temperatures must not be converted with the scale's offset
# (a 2 °C spread is 3.6 °F, not 35.6 °F), so these lose the temperature class.
STATISTICS_OF_DIFFERENCES = frozenset({Statistic.STANDARD_DEVIATION, Statistic.CHANGE})
REJECTED_KEY = "rejected_payloads"
# The translation keys of a named reading's entities start with this.
READING_PREFIX = "reading_"


def statistic_unit(statistic: Statistic, unit: str | None) -> str | None:
    """Unit of a statistic of values measured in `unit` (as core computes it)."""
    if not unit:
        return None
    if statistic in STATISTICS_KEEPING_UNIT:
        return unit
    if statistic is Statistic.VARIANCE:
        return f"{unit}²"
    if statistic is Statistic.CHANGE_SECOND:
        return f"{unit}/s"
    return None  # count


def statistic_device_class(
    statistic: Statistic, device_class: str | None, unit: str | None
) -> SensorDeviceClass | None:
    """Device class of a statistic, kept only where it stays meaningful."""
    if statistic not in STATISTICS_KEEPING_UNIT or device_class is None:
        return None
    parsed = try_parse_enum(SensorDeviceClass, device_class)
    if parsed is None:
        return None
    if (
        parsed is SensorDeviceClass.TEMPERATURE
        and statistic in STATISTICS_OF_DIFFERENCES
    ):
        return None
    state_classes = DEVICE_CLASS_STATE_CLASSES.get(parsed)
    if state_classes is not None and SensorStateClass.MEASUREMENT not in state_classes:
        return None
    if parsed not in DEVICE_CLASS_UNITS or unit not in DEVICE_CLASS_UNITS[parsed]:
        return None
    return parsed


def topic_entity_keys(source: SensorSource) -> list[str]:
    """The unique id keys of a reading's entities on each of its topics."""
    config = source.config
    return [
        *(
            WindowStatistic.of_source(
                window, statistic, config.percentile
            ).unique_id_key
            for window in config.windows
            for statistic in config.statistics
        ),
        REJECTED_KEY,
    ]


def topic_entities(
    hub: IoTitanHub, source: SensorSource, topic: TopicState
) -> list[SensorEntity]:
    """Every entity of one topic: its statistics and its rejected-payload counter."""
    entities: list[SensorEntity] = [
        IoTitanStatisticSensor(hub, source, topic, window, statistic)
        for window in source.config.windows
        for statistic in source.config.statistics
    ]
    entities.append(IoTitanRejectedPayloadsSensor(hub, source, topic))
    return entities


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IoTitanConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the hub's sensors, then every topic's as topics appear."""
    hub = entry.runtime_data
    async_add_entities(
        IoTitanHubSensor(hub, description) for description in HUB_SENSORS
    )

    @callback
    def add_channel(channel: ThingSpeakChannel) -> None:
        async_add_entities(
            (
                IoTitanChannelSensor(hub, channel, description)
                for description in CHANNEL_SENSORS
            ),
            config_subentry_id=channel.subentry_id,
        )

    for channel in hub.channels.values():
        add_channel(channel)
    # A channel added while the hub runs.
    entry.async_on_unload(
        async_dispatcher_connect(
            hass, signal_channel_added(entry.entry_id), add_channel
        )
    )

    @callback
    def add_topic(source: SensorSource, topic: TopicState) -> None:
        entities = topic_entities(hub, source, topic)
        _remove_entities_no_longer_configured(
            hass,
            entry.entry_id,
            source,
            topic,
            # Every reading of the subentry has entities on the topic's device.
            {
                topic_unique_id(reading_source, topic.topic, key)
                for reading_source in hub.sources_of(source.subentry_id)
                for key in topic_entity_keys(reading_source)
            },
        )
        async_add_entities(entities, config_subentry_id=source.subentry_id)

    for source in hub.sources.values():
        for topic in source.topics.values():
            add_topic(source, topic)
    entry.async_on_unload(
        async_dispatcher_connect(hass, signal_new_topic(entry.entry_id), add_topic)
    )


@callback
def _remove_entities_no_longer_configured(
    hass: HomeAssistant,
    entry_id: str,
    source: SensorSource,
    topic: TopicState,
    wanted: set[str],
) -> None:
    """Drop a topic's registry entries for windows or statistics removed since."""
    device = device_by_identifier(
        dr.async_get(hass),
        topic_device_identifier(source.subentry_id, topic.topic),
        entry_id,
    )
    if device is None:
        return
    registry = er.async_get(hass)
    for registry_entry in er.async_entries_for_device(
        registry, device.id, include_disabled_entities=True
    ):
        # Alert entities of installs before 1.3 sat on the topic's device.
        if (
            registry_entry.config_subentry_id == source.subentry_id
            and registry_entry.unique_id not in wanted
        ):
            registry.async_remove(registry_entry.entity_id)


def reading_translation(
    source: SensorSource, key: str, placeholders: dict[str, str]
) -> tuple[str, dict[str, str]]:
    """The translation key and placeholders of a reading's entity.

    A named reading's entities carry its name first ("Humidity mean 1h":
    `reading_<key>`); an unnamed one's are named as a source of one reading.
    """
    if not source.reading.name:
        return key, placeholders
    return f"{READING_PREFIX}{key}", {**placeholders, "reading": source.reading.name}


class IoTitanStatisticSensor(IoTitanTopicEntity, SensorEntity):
    """One statistic of one window of one topic, e.g. the 1 h mean."""

    _attr_state_class = SensorStateClass.MEASUREMENT

    def __init__(
        self,
        hub: IoTitanHub,
        source: SensorSource,
        topic: TopicState,
        window: float,
        statistic: Statistic,
    ) -> None:
        """Describe the statistic; values come from the topic's window."""
        config = source.config
        self.window_statistic = WindowStatistic.of_source(
            window, statistic, config.percentile
        )
        super().__init__(hub, source, topic, self.window_statistic.unique_id_key)
        self._window = topic.windows[window]
        self._attr_translation_key, self._attr_translation_placeholders = (
            reading_translation(
                source,
                str(statistic),
                statistic_name_placeholders(window, config.percentile),
            )
        )
        if source.reading.diagnostic:
            self._attr_entity_category = EntityCategory.DIAGNOSTIC
        self._attr_native_unit_of_measurement = statistic_unit(statistic, config.unit)
        self._attr_device_class = statistic_device_class(
            statistic, config.device_class, self._attr_native_unit_of_measurement
        )
        self._attr_suggested_display_precision = (
            0 if statistic is Statistic.COUNT else config.precision
        )

    def _shown(self) -> float | None:
        """The statistic over the samples now in the window (None if undefined)."""
        value = self.window_statistic.value_in(self._window)
        # The variance of values near ±1e300 overflows; a sensor state cannot
        # be infinite, so it shows as unknown.
        self._attr_native_value = (
            value if value is None or math.isfinite(value) else None
        )
        return self._attr_native_value


class IoTitanRejectedPayloadsSensor(IoTitanTopicEntity, SensorEntity):
    """How many payloads on this topic carried no usable reading.

    Disabled by default: there is one per topic, and the hub's *Payloads
    rejected* already counts every rejection by reason.
    """

    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_entity_registry_enabled_default = False
    _attr_state_class = SensorStateClass.TOTAL_INCREASING
    _attr_translation_key = REJECTED_KEY

    def __init__(
        self, hub: IoTitanHub, source: SensorSource, topic: TopicState
    ) -> None:
        """Count the topic's rejections."""
        super().__init__(hub, source, topic, REJECTED_KEY)
        self._attr_translation_key, self._attr_translation_placeholders = (
            reading_translation(source, REJECTED_KEY, {})
        )

    @property
    def native_value(self) -> int:
        """Rejected payloads since the hub started."""
        return self.topic.rejected.total()

    def _shown(self) -> int:
        # Counts by reason only change with the total.
        return self.native_value

    @property
    def extra_state_attributes(self) -> dict[str, int]:
        """Rejections by reason, so users see why without opening diagnostics."""
        return {str(reason): count for reason, count in self.topic.rejected.items()}


@dataclass(frozen=True, kw_only=True)
class IoTitanHubSensorEntityDescription(SensorEntityDescription):
    """A counter or state of the hub itself."""

    value_fn: Callable[[IoTitanHub], StateType]
    attributes_fn: Callable[[IoTitanHub], dict[str, int]] | None = None


# Messages received, records logged and journal size move with every message
# and are rarely looked at (diagnostics and system health show them too), so
# they are disabled by default; what a user acts on (payloads rejected,
# records dropped, the syslog connection) stays enabled.
HUB_SENSORS: tuple[IoTitanHubSensorEntityDescription, ...] = (
    IoTitanHubSensorEntityDescription(
        key="messages_received",
        translation_key="messages_received",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda hub: hub.messages_received,
    ),
    IoTitanHubSensorEntityDescription(
        key="payloads_rejected",
        translation_key="payloads_rejected",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda hub: hub.payloads_rejected.total(),
        attributes_fn=lambda hub: {
            str(reason): count for reason, count in hub.payloads_rejected.items()
        },
    ),
    IoTitanHubSensorEntityDescription(
        key="records_logged",
        translation_key="records_logged",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda hub: hub.message_log.journal.stats.records_written,
    ),
    IoTitanHubSensorEntityDescription(
        key="records_dropped",
        translation_key="records_dropped",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda hub: sum(hub.message_log.dropped().values()),
        attributes_fn=lambda hub: hub.message_log.dropped(),
    ),
    IoTitanHubSensorEntityDescription(
        key="syslog_records_cut",
        translation_key="syslog_records_cut",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda hub: hub.message_log.syslog.stats.cut_to_fit,
        attributes_fn=lambda hub: hub.message_log.records_cut(),
    ),
    IoTitanHubSensorEntityDescription(
        key="syslog_connection",
        translation_key="syslog_connection",
        entity_category=EntityCategory.DIAGNOSTIC,
        device_class=SensorDeviceClass.ENUM,
        options=[str(state) for state in ConnectionState],
        value_fn=lambda hub: str(hub.message_log.syslog.state),
    ),
    IoTitanHubSensorEntityDescription(
        key="journal_size",
        translation_key="journal_size",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.DATA_SIZE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.MEBIBYTES,
        suggested_display_precision=1,
        value_fn=lambda hub: hub.message_log.journal_size,
    ),
)


class IoTitanHubSensor(IoTitanHubEntity, SensorEntity):
    """A counter or state of the hub, written on the update tick."""

    entity_description: IoTitanHubSensorEntityDescription

    def __init__(
        self, hub: IoTitanHub, description: IoTitanHubSensorEntityDescription
    ) -> None:
        """Attach to the hub device."""
        super().__init__(hub, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> StateType:
        """The value right now."""
        return self.entity_description.value_fn(self.hub)

    @property
    def extra_state_attributes(self) -> dict[str, int] | None:
        """Counts by reason, where the sensor has them."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.hub)

    def _shown(self) -> tuple[StateType, dict[str, int] | None]:
        return self.native_value, self.extra_state_attributes


# -- ThingSpeak channels ------------------------------------------------------------


NO_ERROR = "none"
"""The last error's state while nothing has gone wrong (not "unknown")."""


def _last_error(channel: ThingSpeakChannel) -> str:
    error = channel.sender.last_error
    return NO_ERROR if error is None else str(error.kind)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _last_error_attributes(channel: ThingSpeakChannel) -> dict[str, Any]:
    error = channel.sender.last_error
    if error is None:
        return {}
    return {"status": error.status, "detail": error.detail}


@dataclass(frozen=True, kw_only=True)
class IoTitanChannelSensorEntityDescription(SensorEntityDescription):
    """A state of a ThingSpeak channel's uploads."""

    value_fn: Callable[[ThingSpeakChannel], StateType | datetime]
    attributes_fn: Callable[[ThingSpeakChannel], dict[str, Any]] | None = None


CHANNEL_SENSORS: tuple[IoTitanChannelSensorEntityDescription, ...] = (
    IoTitanChannelSensorEntityDescription(
        key="rows_waiting",
        translation_key="rows_waiting",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda channel: channel.sender.rows_waiting,
        attributes_fn=lambda channel: {
            "dead_letters": len(channel.sender.outbox.dead_letters),
            "dropped_overflow": channel.sender.outbox.counters.dropped_overflow,
        },
    ),
    # Counts what each upload did; a counter (it has a state class) stays out
    # of the logbook, where a timestamp changing at every upload would write a
    # line each time.
    IoTitanChannelSensorEntityDescription(
        key="rows_uploaded",
        translation_key="rows_uploaded",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda channel: channel.sender.outbox.counters.uploaded,
        attributes_fn=lambda channel: {"last_upload": _iso(channel.last_success)},
    ),
    # A timestamp sensor may have no state class, so the logbook lists each
    # of its changes: off for new channels (existing entities keep their
    # setting); "Rows uploaded" says the same in its attribute.
    IoTitanChannelSensorEntityDescription(
        key="last_upload",
        translation_key="last_upload",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda channel: channel.last_success,
    ),
    IoTitanChannelSensorEntityDescription(
        key="last_error",
        translation_key="last_error",
        entity_category=EntityCategory.DIAGNOSTIC,
        device_class=SensorDeviceClass.ENUM,
        options=[
            NO_ERROR,
            *(str(kind) for kind in ResultKind if kind is not ResultKind.SUCCESS),
        ],
        value_fn=_last_error,
        attributes_fn=_last_error_attributes,
    ),
)


class IoTitanChannelSensor(IoTitanEntity, SensorEntity):
    """Rows waiting or uploaded, last upload or last error of a ThingSpeak channel."""

    entity_description: IoTitanChannelSensorEntityDescription
    _unrecorded_attributes = frozenset({"detail"})

    def __init__(
        self,
        hub: IoTitanHub,
        channel: ThingSpeakChannel,
        description: IoTitanChannelSensorEntityDescription,
    ) -> None:
        """Attach to the channel's device."""
        super().__init__(hub)
        self.channel = channel
        self.entity_description = description
        self._attr_unique_id = f"{channel.subentry_id}/{description.key}"
        self._attr_device_info = channel.device_info

    @property
    def available(self) -> bool:
        """Uploads do not depend on the MQTT connection."""
        return True

    @property
    def native_value(self) -> StateType | datetime:
        """The value right now."""
        return self.entity_description.value_fn(self.channel)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Details, where the sensor has them."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.channel)

    def _shown(self) -> tuple[StateType | datetime, dict[str, Any] | None]:
        return self.native_value, self.extra_state_attributes

    async def async_added_to_hass(self) -> None:
        """Write state when the channel changes, and on the hub's tick."""
        self.async_on_remove(
            self.channel.async_add_listener(self.async_write_if_changed)
        )
        self.async_leave_when_replaced(self.channel.subentry_id)
        self.async_on_remove(
            self.hub.async_add_diagnostic_listener(self.async_write_if_changed)
        )
        self.async_remember_shown()
