"""Base entities for IoTitan: device info, unique ids and names."""

from __future__ import annotations

from collections.abc import Awaitable

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity

from .device import (
    build_device_info,
    hub_device_identifier,
    hub_device_info,
    topic_device_identifier,
)
from .engine.topic_names import area_from_level, device_name
from .hub import IoTitanHub, signal_subentry_replaced
from .source import SensorSource, TopicState


def topic_device_info(hub: IoTitanHub, source: SensorSource, topic: str) -> DeviceInfo:
    """A concrete topic's device: owned by its sensor subentry, below the hub.

    Named by the source's template (by default the topic levels the wildcards
    matched: "Kitchen temperature"); the raw topic is its model, shown on the
    device page. The suggested area applies when the device is first created.
    """
    entry_id = hub.entry.entry_id
    config = source.config
    extra = {}
    if (area := area_from_level(topic, config.area_level)) is not None:
        extra["suggested_area"] = area
    return build_device_info(
        hub.hass,
        entry_id,
        identifier=topic_device_identifier(source.subentry_id, topic),
        name=device_name(config.topic, topic, config.name_template),
        model=topic,
        via=hub_device_identifier(entry_id),
        **extra,
    )


def topic_unique_id(source: SensorSource, topic: str, key: str) -> str:
    """The unique id of a reading's entity on a topic.

    A reading of key "" (every source before 1.6) has none in its unique ids;
    the others end in `#<reading key>` (a published topic cannot hold `#`).
    """
    unique_id = f"{source.subentry_id}/{topic}/{key}"
    return f"{unique_id}#{source.reading.key}" if source.reading.key else unique_id


class IoTitanEntity(Entity):
    """Common attributes of every IoTitan entity."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    # What the entity showed when it last wrote state through
    # `async_write_if_changed` (None: not yet).
    _last_shown: tuple[object, ...] | None = None

    def __init__(self, hub: IoTitanHub) -> None:
        """Remember the hub the entity belongs to."""
        self.hub = hub

    @property
    def available(self) -> bool:
        """Entities follow the MQTT connection: without it their data is stale."""
        return self.hub.mqtt_connected

    def _shown(self) -> object:
        """Recompute what the entity shows (its value and attributes).

        Entities that keep their value in `_attr_*` update it here, so each
        tick computes every statistic once.
        """
        raise NotImplementedError

    @callback
    def async_leave_when_replaced(self, subentry_id: str) -> None:
        """Remove this entity when its subentry is reconfigured while running.

        The registry entry stays: the entity that replaces it has its unique id,
        so its entity id, name and history. Its state is removed rather than
        made unavailable, so the logbook has no "became unavailable" and no
        line when the new entity writes its first state (Home Assistant's
        logbook leaves out a state that has no previous one).
        """

        @callback
        def replaced(replaced_id: str, removals: list[Awaitable[None]]) -> None:
            # Awaited by the sender before it adds the new entities: the same
            # unique id cannot be added while this entity still has it.
            if replaced_id == subentry_id:
                removals.append(self.async_remove(force_remove=True))

        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, signal_subentry_replaced(self.hub.entry.entry_id), replaced
            )
        )

    @callback
    def async_remember_shown(self) -> None:
        """Note what the entity shows now (called before its first write)."""
        self._last_shown = (self.available, self._shown())

    @callback
    def async_write_if_changed(self) -> None:
        """Write state only if what the entity shows changed since its last write.

        A tick marks a whole topic dirty, but most of its statistics (minimum,
        maximum, median, the rejected count) do not move with each reading,
        and an unchanged write still costs a state-machine update and a
        `state_reported` event.
        """
        shown = (self.available, self._shown())
        if shown != self._last_shown:
            self._last_shown = shown
            self.async_write_ha_state()


class IoTitanHubEntity(IoTitanEntity):
    """An entity of the hub device (counters, connection state)."""

    def __init__(self, hub: IoTitanHub, key: str) -> None:
        """Attach to the hub device."""
        super().__init__(hub)
        self._attr_unique_id = f"{hub.entry.entry_id}/{key}"
        self._attr_device_info = hub_device_info(
            hub.hass, hub.entry.entry_id, hub.entry.title
        )

    async def async_added_to_hass(self) -> None:
        """Write state when the hub's counters change (throttled by the hub)."""
        self.async_on_remove(
            self.hub.async_add_diagnostic_listener(self.async_write_if_changed)
        )
        self.async_remember_shown()


class IoTitanTopicEntity(IoTitanEntity):
    """An entity of one concrete MQTT topic's device."""

    def __init__(
        self,
        hub: IoTitanHub,
        source: SensorSource,
        topic: TopicState,
        key: str,
        device_info: DeviceInfo | None = None,
    ) -> None:
        """Attach to the topic's device (by default), below the hub device.

        Each device belongs to one subentry: entities of another subentry that
        follow this topic (alerts) bring their own subentry's device.
        """
        super().__init__(hub)
        self.source = source
        self.topic = topic
        self._attr_unique_id = topic_unique_id(source, topic.topic, key)
        self._attr_device_info = device_info or topic_device_info(
            hub, source, topic.topic
        )

    async def async_added_to_hass(self) -> None:
        """Write state when the hub says the topic changed."""
        self.async_on_remove(self.topic.async_add_listener(self.async_write_if_changed))
        # A reconfigured source comes back with new windows and settings.
        self.async_leave_when_replaced(self.source.subentry_id)
        self.async_remember_shown()
