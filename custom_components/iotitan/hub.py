"""The IoTitan hub: wires MQTT messages through the engine to entities.

One `IoTitanHub` lives in a config entry's `runtime_data`. Each sensor subentry
becomes a `SensorSource`; every concrete topic that matches it becomes a
`TopicState` holding one sliding window per configured duration.

A message flows one way: Home Assistant's MQTT integration calls us in the
event loop -> the loop guard drops IoTitan's own output -> the record is queued
for the journal (and syslog, if a log filter matches) -> each matching source
parses the payload and updates its windows in O(log n). Entities are written at
most once per update interval by a timer, which also expires old samples.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
import time
from typing import TYPE_CHECKING, Any

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval

from .alert_runtime import AlertRuntime
from .const import DOMAIN, LOGGER, SUBENTRY_SENSOR
from .engine.output import OutputGuard, filter_covers, topic_matches
from .engine.payload import PayloadParser, Rejection, parse_value_path
from .engine.record import MqttRecord
from .engine.window import SlidingWindow
from .listeners import Listeners
from .message_log import MessageLog, record_now
from .models import HubOptions, SensorSourceConfig
from .mqtt_output import MqttOutput

if TYPE_CHECKING:
    from .channel import ThingSpeakChannel

type IoTitanConfigEntry = ConfigEntry[IoTitanHub]

# Routes are cached per topic; a `#` log filter can see many topics, so the
# cache is bounded and simply starts over when full.
MAX_ROUTES = 50_000
# How often the journal's size on disk is measured.
JOURNAL_SIZE_INTERVAL = 60.0


def signal_new_topic(entry_id: str) -> str:
    """Dispatcher signal sent when a source sees a topic for the first time."""
    return f"{DOMAIN}_{entry_id}_new_topic"


def topic_device_identifier(subentry_id: str, topic: str) -> tuple[str, str]:
    """Device registry identifier of one concrete topic of one source.

    Subentry ids are ULIDs (no `/`), so the first `/` separates the two parts.
    """
    return (DOMAIN, f"{subentry_id}/{topic}")


class TopicState:
    """Windows and counters of one concrete MQTT topic."""

    def __init__(self, topic: str, config: SensorSourceConfig) -> None:
        """Create empty windows for every configured duration."""
        self.topic = topic
        self.windows = {
            seconds: SlidingWindow(seconds, config.max_samples)
            for seconds in config.windows
        }
        self.messages = 0
        self.retained_repeats = 0
        self.rejected: Counter[Rejection] = Counter()
        self.last_payload: bytes | bytearray | str | None = None
        self.last_value: float | None = None
        self.last_received: float | None = None
        self.dirty = False
        self._listeners: Listeners[[]] = Listeners()

    def add(self, timestamp: float, value: float) -> None:
        """Feed one reading to every window."""
        for window in self.windows.values():
            window.add(timestamp, value)
        self.last_value = value
        self.last_received = timestamp
        self.dirty = True

    def is_repeat(self, payload: bytes | bytearray | str, retain: bool) -> bool:
        """Whether a message is the broker's retained copy of the last one.

        The broker sends its retained message to every new subscription (at
        each start, reload and reconnect): the same payload again is not a new
        reading. Live deliveries to an existing subscription carry no retain
        flag; a retained payload that differs was published meanwhile.
        """
        return retain and payload == self.last_payload

    def expire(self, now: float) -> None:
        """Drop samples that left their windows; mark the topic dirty if any did."""
        for window in self.windows.values():
            if window.expire(now):
                self.dirty = True

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `listener` whenever the topic's entities should write state."""
        return self._listeners.add(listener)

    @callback
    def async_notify(self) -> None:
        """Let the entities write their state now."""
        self.dirty = False
        self._listeners()

    def as_diagnostics(self) -> dict[str, Any]:
        """Counters and window sizes for diagnostics."""
        return {
            "messages": self.messages,
            "retained_repeats_ignored": self.retained_repeats,
            "rejected": dict(self.rejected),
            "last_value": self.last_value,
            "last_received": self.last_received,
            "window_samples": {
                str(seconds): len(window) for seconds, window in self.windows.items()
            },
        }


class SensorSource:
    """One sensor subentry: a topic filter and the topics seen under it."""

    def __init__(self, hub: IoTitanHub, subentry: ConfigSubentry) -> None:
        """Parse the subentry's settings."""
        self.hub = hub
        self.subentry_id = subentry.subentry_id
        self.title = subentry.title
        self.config = SensorSourceConfig.from_subentry_data(subentry.data)
        self.parser = PayloadParser(
            parse_value_path(self.config.value_path) if self.config.value_path else ()
        )
        self.topics: dict[str, TopicState] = {}
        self.topics_over_limit: set[str] = set()
        self.messages_over_limit = 0
        self._logged_reasons: set[tuple[str, Rejection]] = set()

    def topic_state(self, topic: str) -> TopicState | None:
        """Return the topic's state, creating it unless the topic cap is reached."""
        if (state := self.topics.get(topic)) is not None:
            return state
        if len(self.topics) >= self.config.max_topics:
            if not self.topics_over_limit:
                LOGGER.warning(
                    "Source %s reached its limit of %d topics; messages on further "
                    "topics such as %s are counted and ignored",
                    self.title,
                    self.config.max_topics,
                    topic,
                )
            self.topics_over_limit.add(topic)
            return None
        state = self.topics[topic] = TopicState(topic, self.config)
        return state

    @callback
    def async_handle_payload(
        self,
        topic: str,
        payload: bytes | bytearray | str,
        timestamp: float,
        retain: bool = False,
    ) -> None:
        """Route one live message to its topic's windows."""
        known = topic in self.topics
        state = self.topic_state(topic)
        if state is None:
            self.messages_over_limit += 1
            return
        state.messages += 1
        if state.is_repeat(payload, retain):
            state.retained_repeats += 1
            return
        state.last_payload = payload
        reading = self.parser.parse(payload)
        if isinstance(reading, Rejection):
            state.rejected[reading] += 1
            self.hub.payloads_rejected[reading] += 1
            if (topic, reading) not in self._logged_reasons:
                self._logged_reasons.add((topic, reading))
                LOGGER.debug(
                    "Ignoring payload on %s: %s (logged once per topic and reason)",
                    topic,
                    reading,
                )
        else:
            state.add(timestamp, reading)
            for listener in self.hub.sample_listeners:
                listener(self, state, timestamp, reading)
        if not known:
            # The platform creates the topic's device and entities with its
            # first state; later updates go through the throttled tick.
            async_dispatcher_send(
                self.hub.hass, signal_new_topic(self.hub.entry.entry_id), self, state
            )

    def replay(self, record: MqttRecord) -> None:
        """Feed one journal record to the windows (at startup, before entities)."""
        state = self.topic_state(record.topic)
        # The same rule as live, so a rebuilt window equals the live one.
        if state is None or state.is_repeat(record.payload, record.retain):
            return
        state.last_payload = record.payload
        reading = self.parser.parse(record.payload)
        if not isinstance(reading, Rejection):  # counted when it arrived live
            state.add(record.timestamp, reading)

    def as_diagnostics(self) -> dict[str, Any]:
        """Settings and per-topic counters for diagnostics."""
        return {
            "title": self.title,
            "topic_filter": self.config.topic,
            "value_path": self.config.value_path,
            "windows": list(self.config.windows),
            "statistics": [str(stat) for stat in self.config.statistics],
            "max_topics": self.config.max_topics,
            "topics_over_limit": len(self.topics_over_limit),
            "messages_over_limit": self.messages_over_limit,
            "topics": {
                topic: state.as_diagnostics() for topic, state in self.topics.items()
            },
        }


@dataclass(frozen=True, slots=True)
class Route:
    """What to do with messages on one topic, worked out once per topic."""

    owner: str | None
    """The subscription that handles it: a topic can match several."""
    own: bool
    """IoTitan's own output: never logged, never a reading."""
    log: bool
    sources: tuple[SensorSource, ...]


type SampleListener = Callable[[SensorSource, TopicState, float, float], None]


class IoTitanHub:
    """Runtime of one IoTitan config entry."""

    def __init__(self, hass: HomeAssistant, entry: IoTitanConfigEntry) -> None:
        """Build sources and writers from the entry's options and subentries."""
        self.hass = hass
        self.entry = entry
        self.options = HubOptions.from_options(entry.options)
        self.update_interval = timedelta(seconds=self.options.update_interval)
        self.sources: dict[str, SensorSource] = {
            subentry_id: SensorSource(self, subentry)
            for subentry_id, subentry in entry.subentries.items()
            if subentry.subentry_type == SUBENTRY_SENSOR
        }
        self.longest_window = max(
            (max(s.config.windows) for s in self.sources.values()), default=0.0
        )
        self.guard = OutputGuard(
            self.options.output.prefix, self.options.output.legacy_topics
        )
        self.message_log = MessageLog(
            hass,
            entry.entry_id,
            self.options,
            keep_seconds=max(self.options.journal.retention, self.longest_window),
        )
        # The syslog connection state shows at once, not on the next tick.
        self.message_log.async_add_listener(self._notify_diagnostics)
        # Subscriptions in a fixed order: sources first, then log filters. A
        # message is handled by the first one whose filter matches its topic.
        # A filter another one covers is not subscribed: over MQTT 5 the broker
        # sends a message once per matching subscription, and Home Assistant
        # 2026.2 gives every copy to every matching subscriber (it has no MQTT 5
        # subscription identifiers), so overlapping filters counted it twice.
        wanted = list(
            dict.fromkeys(
                [s.config.topic for s in self.sources.values()]
                + list(self.options.logging.log_topics)
            )
        )
        self._filters = [
            f
            for f in wanted
            if not any(other != f and filter_covers(other, f) for other in wanted)
        ]
        self._routes: dict[str, Route] = {}
        self.messages_received = 0
        self.messages_ignored_own = 0
        self.payloads_rejected: Counter[Rejection] = Counter()
        self.records_replayed = 0
        self.mqtt_connected = True
        self.sample_listeners: list[SampleListener] = []
        # ThingSpeak channel subentries, filled by channel.async_setup_channels.
        self.channels: dict[str, ThingSpeakChannel] = {}
        self._tick_listeners: Listeners[[float]] = Listeners()
        self._diagnostic_listeners: Listeners[[]] = Listeners()
        self._unsubscribers: list[CALLBACK_TYPE] = []
        self._stop_listener: CALLBACK_TYPE | None = None
        self._next_journal_size = 0.0
        self._stopped = False
        self.alerts = AlertRuntime(self)
        self.output = MqttOutput(self)

    # -- setup ------------------------------------------------------------------

    @callback
    def async_restore_topics(self) -> None:
        """Recreate the topics seen before a restart from the device registry."""
        registry = dr.async_get(self.hass)
        for device in dr.async_entries_for_config_entry(registry, self.entry.entry_id):
            for domain, identifier in device.identifiers:
                if domain != DOMAIN or "/" not in identifier:
                    continue
                subentry_id, topic = identifier.split("/", 1)
                if (source := self.sources.get(subentry_id)) is not None:
                    source.topic_state(topic)

    async def async_replay_journal(self) -> None:
        """Rebuild every window from the journal, before subscribing."""
        if not self.sources:
            return
        now = time.time()
        result = await self.message_log.async_replay(now - self.longest_window)
        for record in result:
            route = self._route(record.topic)
            for source in route.sources:
                source.replay(record)
        self.records_replayed = len(result)
        for source in self.sources.values():
            for state in source.topics.values():
                state.expire(now)
        LOGGER.debug(
            "Replayed %d journal records (%d unreadable lines) from %d files",
            len(result),
            result.skipped,
            result.files_read,
        )

    async def async_start(self) -> None:
        """Start the writers, subscribe, and start the update timer."""
        await self.message_log.async_start()
        for topic_filter in self._filters:
            self._unsubscribers.append(
                await mqtt.async_subscribe(
                    self.hass,
                    topic_filter,
                    self._message_handler(topic_filter),
                    qos=0,
                    # Raw bytes: the parser reports non-UTF-8 payloads itself
                    # instead of the MQTT integration dropping them with a warning.
                    encoding=None,
                )
            )
        self._unsubscribers.append(
            async_track_time_interval(
                self.hass,
                self._async_tick,
                self.update_interval,
                name=f"{DOMAIN} update {self.entry.title}",
                cancel_on_shutdown=True,
            )
        )
        self.mqtt_connected = mqtt.is_connected(self.hass)
        self._unsubscribers.append(
            mqtt.async_subscribe_connection_status(
                self.hass, self._async_connection_changed
            )
        )
        self._stop_listener = self.hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_STOP, self._async_home_assistant_stop
        )
        self.output.async_start()

    async def async_stop(self) -> None:
        """Unsubscribe, stop the timer and flush the writers."""
        if self._stopped:
            return
        self._stopped = True
        if self._stop_listener is not None:
            self._stop_listener()
            self._stop_listener = None
        while self._unsubscribers:
            self._unsubscribers.pop()()
        self.alerts.async_stop()
        self.output.async_stop()
        await self.message_log.async_stop()

    async def _async_home_assistant_stop(self, event: Event) -> None:
        """Flush the journal when Home Assistant stops (entries are not unloaded)."""
        self._stop_listener = None  # fired, hence already removed
        await self.async_stop()

    # -- the message path ----------------------------------------------------------

    def _route(self, topic: str) -> Route:
        route = self._routes.get(topic)
        if route is None:
            if len(self._routes) >= MAX_ROUTES:
                self._routes.clear()
            owner = next((f for f in self._filters if topic_matches(f, topic)), None)
            if self.guard.is_own(topic):
                route = Route(owner, True, False, ())
            else:
                route = Route(
                    owner,
                    False,
                    any(
                        topic_matches(f, topic) for f in self.options.logging.log_topics
                    ),
                    tuple(
                        source
                        for source in self.sources.values()
                        if topic_matches(source.config.topic, topic)
                    ),
                )
            self._routes[topic] = route
        return route

    def _message_handler(
        self, topic_filter: str
    ) -> Callable[[mqtt.ReceiveMessage], None]:
        @callback
        def handle(message: mqtt.ReceiveMessage) -> None:
            route = self._route(message.topic)
            if route.owner != topic_filter:
                return  # another subscription matching this topic handles it
            if route.own:
                self.messages_ignored_own += 1
                return
            self.messages_received += 1
            payload = message.payload
            record = record_now(
                message.topic,
                payload.encode() if isinstance(payload, str) else bytes(payload),
                message.qos,
                message.retain,
            )
            self.message_log.submit(record, to_syslog=route.log)
            for source in route.sources:
                source.async_handle_payload(
                    record.topic, record.payload, record.timestamp, record.retain
                )

        return handle

    # -- timers ---------------------------------------------------------------------

    @callback
    def _async_tick(self, now: datetime) -> None:
        """Expire old samples and write the state of topics that changed."""
        timestamp = now.timestamp()
        for source in self.sources.values():
            for state in source.topics.values():
                state.expire(timestamp)
                if state.dirty:
                    state.async_notify()
        self._tick_listeners(timestamp)
        if time.monotonic() >= self._next_journal_size:
            self._next_journal_size = time.monotonic() + JOURNAL_SIZE_INTERVAL
            self.entry.async_create_task(
                self.hass,
                self._async_refresh_journal_size(),
                f"{DOMAIN} journal size {self.entry.title}",
            )
        self._notify_diagnostics()

    async def _async_refresh_journal_size(self) -> None:
        await self.message_log.async_update_journal_size()
        self._notify_diagnostics()

    @callback
    def _notify_diagnostics(self) -> None:
        self._diagnostic_listeners()

    @callback
    def _async_connection_changed(self, connected: bool) -> None:
        """Write availability of every entity at once when MQTT (dis)connects."""
        if connected == self.mqtt_connected:
            return
        self.mqtt_connected = connected
        if connected:
            LOGGER.info("MQTT connection is back; IoTitan entities are available")
        else:
            LOGGER.warning("MQTT connection lost; IoTitan entities are unavailable")
        for source in self.sources.values():
            for state in source.topics.values():
                state.async_notify()
        self._notify_diagnostics()

    # -- hooks for entities and other parts --------------------------------------------

    @callback
    def async_add_diagnostic_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `listener` on every update tick (hub counters may have changed)."""
        return self._diagnostic_listeners.add(listener)

    @callback
    def async_add_tick_listener(
        self, listener: Callable[[float], None]
    ) -> CALLBACK_TYPE:
        """Call `listener(now)` on every update tick, after windows expired."""
        return self._tick_listeners.add(listener)

    @callback
    def async_forget_topic(self, subentry_id: str, topic: str) -> None:
        """Drop a topic whose device the user removed."""
        if (source := self.sources.get(subentry_id)) is not None:
            source.topics.pop(topic, None)

    def as_diagnostics(self) -> dict[str, Any]:
        """Hub counters, writers and every source for diagnostics."""
        return {
            "update_interval": self.update_interval.total_seconds(),
            "mqtt_connected": self.mqtt_connected,
            "subscriptions": list(self._filters),
            "messages_received": self.messages_received,
            "messages_ignored_own_output": self.messages_ignored_own,
            "payloads_rejected": dict(self.payloads_rejected),
            "records_replayed": self.records_replayed,
            **self.message_log.as_diagnostics(),
            "sources": {
                subentry_id: source.as_diagnostics()
                for subentry_id, source in self.sources.items()
            },
        }
