"""Base entities for IoTitan: device info, unique ids and names."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity

from .const import DOMAIN
from .hub import IoTitanHub, SensorSource, TopicState, topic_device_identifier


def hub_device_info(hub: IoTitanHub) -> DeviceInfo:
    """The hub's own device, parent of every topic device."""
    return DeviceInfo(
        identifiers={(DOMAIN, hub.entry.entry_id)},
        name=hub.entry.title,
        manufacturer="IoTitan",
        model="MQTT statistics hub",
        entry_type=DeviceEntryType.SERVICE,
    )


class IoTitanEntity(Entity):
    """Common attributes of every IoTitan entity."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, hub: IoTitanHub) -> None:
        """Remember the hub the entity belongs to."""
        self.hub = hub

    @property
    def available(self) -> bool:
        """Entities follow the MQTT connection: without it their data is stale."""
        return self.hub.mqtt_connected


class IoTitanHubEntity(IoTitanEntity):
    """An entity of the hub device (counters, connection state)."""

    def __init__(self, hub: IoTitanHub, key: str) -> None:
        """Attach to the hub device."""
        super().__init__(hub)
        self._attr_unique_id = f"{hub.entry.entry_id}/{key}"
        self._attr_device_info = hub_device_info(hub)

    async def async_added_to_hass(self) -> None:
        """Write state when the hub's counters change (throttled by the hub)."""
        self.async_on_remove(
            self.hub.async_add_diagnostic_listener(self.async_write_ha_state)
        )


class IoTitanTopicEntity(IoTitanEntity):
    """An entity of one concrete MQTT topic's device."""

    def __init__(self, source: SensorSource, topic: TopicState, key: str) -> None:
        """Attach to the topic's device, itself attached to the hub device."""
        super().__init__(source.hub)
        self.source = source
        self.topic = topic
        self._attr_unique_id = f"{source.subentry_id}/{topic.topic}/{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={topic_device_identifier(source.subentry_id, topic.topic)},
            name=topic.topic,
            manufacturer="IoTitan",
            model="MQTT topic",
            via_device=(DOMAIN, source.hub.entry.entry_id),
        )

    async def async_added_to_hass(self) -> None:
        """Write state when the hub says the topic changed."""
        self.async_on_remove(self.topic.async_add_listener(self.async_write_ha_state))
