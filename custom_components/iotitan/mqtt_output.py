"""Statistics and alerts republished to MQTT, as the original scripts did.

Statistics go out every publish interval, alerts on every transition (always
retained, so a consumer that connects later sees the current state). Topic
names and payloads come from :class:`~.engine.output.OutputTopics`, in the
default or the original scripts' legacy shape; the hub's loop guard recognises
both, so nothing published here is ever read back as a reading.

Publishing never blocks the caller: messages are queued and one task
publishes them in order (statistics are skipped for an interval while
earlier messages are still going out, rather than piling up).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
import math
from typing import TYPE_CHECKING, Any, Literal

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_time_interval

from .const import DOMAIN, LOGGER
from .engine.alerts import AlertRule, Transition
from .engine.output import OutputTopics
from .engine.window_statistic import WindowStatistic

# Statistic topic names are built once per topic, statistic and window and
# kept (about 200 bytes each); the cache starts over when it holds this many.
MAX_TOPIC_NAMES = 100_000

if TYPE_CHECKING:
    from .alert_runtime import AlertTracker
    from .models import OutputOptions
    from .source import SensorSource


class MqttOutput:
    """The MQTT publisher of one hub."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        options: OutputOptions,
        sources: Mapping[str, SensorSource],
        connected: Callable[[], bool],
    ) -> None:
        """Take the output options; nothing is published before start.

        `sources` are read at each publish interval; `connected` says whether
        MQTT is up (statistics are not queued while it is down).
        """
        self.hass = hass
        self.entry = entry
        self.options = options
        self.sources = sources
        self._connected = connected
        self.topics: OutputTopics | None = None
        if self.options.enabled:
            try:
                self.topics = OutputTopics(
                    self.options.prefix, self.options.legacy_topics
                )
            except ValueError as err:
                LOGGER.error("MQTT output is disabled: %s", err)
        self.published = 0
        self.failed = 0
        self._failing = False
        self._cancel_interval: CALLBACK_TYPE | None = None
        # One worker publishes everything in order: a retained alert topic
        # must end with the latest state.
        self._queue: deque[tuple[str, str, bool]] = deque()
        self._worker: asyncio.Task[None] | None = None
        # (source topic, label, window, first window, reading key) -> topic
        # name, or None for a name longer than MQTT allows.
        self._topic_names: dict[tuple[str, str, float, bool, str], str | None] = {}

    @callback
    def async_start(self) -> None:
        """Start publishing statistics every publish interval."""
        if self.topics is None:
            return
        self._cancel_interval = async_track_time_interval(
            self.hass,
            self._async_publish_statistics,
            timedelta(seconds=self.options.publish_interval),
            name=f"{DOMAIN} MQTT output {self.entry.title}",
            cancel_on_shutdown=True,
        )

    @callback
    def async_stop(self) -> None:
        """Stop the statistics timer; only a message already going out finishes."""
        if self._cancel_interval is not None:
            self._cancel_interval()
            self._cancel_interval = None
        self._queue.clear()

    # -- statistics -------------------------------------------------------------

    def statistics_messages(self) -> Iterator[tuple[str, str]]:
        """(topic, payload) of every statistic that has a value now."""
        assert self.topics is not None
        for source in self.sources.values():
            config = source.config
            first_window = config.windows[0] if config.windows else None
            published_of = {
                seconds: [
                    WindowStatistic.of_source(seconds, statistic, config.percentile)
                    for statistic in config.statistics
                ]
                for seconds in config.windows
            }
            for topic in source.topics.values():
                for seconds, window in topic.windows.items():
                    for published in published_of[seconds]:
                        value = published.value_in(window)
                        if value is None or not math.isfinite(value):
                            continue
                        name = self._stats_topic(
                            topic.topic,
                            published.label,
                            seconds,
                            first_window,
                            source.reading.key,
                        )
                        if name is None:
                            continue  # longer than MQTT allows
                        yield name, self.topics.stats_payload(value)

    def _stats_topic(
        self,
        topic: str,
        label: str,
        seconds: float,
        first_window: float | None,
        reading: str,
    ) -> str | None:
        """`OutputTopics.stats_topic`, built once (None: too long for MQTT)."""
        key = (topic, label, seconds, seconds == first_window, reading)
        names = self._topic_names
        if key in names:
            return names[key]
        assert self.topics is not None
        name: str | None
        try:
            name = self.topics.stats_topic(
                topic, label, seconds, first_window=key[3], reading=reading
            )
        except ValueError:
            name = None
        if len(names) >= MAX_TOPIC_NAMES:
            names.clear()
        names[key] = name
        return name

    @callback
    def _async_publish_statistics(self, now: datetime) -> None:
        if not self._connected():
            return
        if self._worker is not None and not self._worker.done():
            LOGGER.debug("Earlier messages are still being published; skipping")
            return
        self._enqueue(self.statistics_messages(), retain=self.options.retain)

    # -- alerts -----------------------------------------------------------------

    @callback
    def async_publish_alert(
        self, tracker: AlertTracker, transition: Transition
    ) -> None:
        """Publish one alert transition (retained)."""
        if self.topics is None:
            return
        config = tracker.settings.config
        sides: tuple[Literal["high", "low"], ...] = ("high",)
        if config.rule is AlertRule.RANGE:
            if transition.limit is None:
                sides = ("high", "low")  # no side crossed yet: both are off
            elif transition.limit == config.low:
                sides = ("low",)
        try:
            names = dict.fromkeys(
                self.topics.alert_topic(
                    tracker.topic.topic,
                    tracker.settings.output_name,
                    config.rule,
                    side=side,
                )
                for side in sides
            )
        except ValueError:
            return  # longer than MQTT allows
        payload = self.topics.transition_payload(transition)
        self._enqueue(((name, payload) for name in names), retain=True)

    # -- publishing -------------------------------------------------------------

    @callback
    def _enqueue(self, messages: Iterable[tuple[str, str]], *, retain: bool) -> None:
        """Queue messages; one worker publishes them, in order."""
        self._queue.extend((topic, payload, retain) for topic, payload in messages)
        if self._queue and (self._worker is None or self._worker.done()):
            self._worker = self.entry.async_create_task(
                self.hass,
                self._async_publish_queued(),
                f"{DOMAIN} MQTT output {self.entry.title}",
            )

    async def _async_publish_queued(self) -> None:
        while self._queue:
            topic, payload, retain = self._queue.popleft()
            try:
                await mqtt.async_publish(
                    self.hass, topic, payload, qos=self.options.qos, retain=retain
                )
            except HomeAssistantError as err:
                self.failed += 1
                if not self._failing:
                    self._failing = True
                    LOGGER.warning("Publishing to MQTT failed: %s", err)
                continue
            self.published += 1
            if self._failing:
                self._failing = False
                LOGGER.info("Publishing to MQTT works again")

    def as_diagnostics(self) -> dict[str, Any]:
        """Settings and counters."""
        return {
            "enabled": self.topics is not None,
            "prefix": self.options.prefix,
            "legacy_topics": self.options.legacy_topics,
            "publish_interval": self.options.publish_interval,
            "qos": self.options.qos,
            "retain": self.options.retain,
            "published": self.published,
            "failed": self.failed,
            "queued": len(self._queue),
        }
