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

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
import time
from typing import TYPE_CHECKING, Any

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval

from .alert_runtime import AlertRuntime
from .const import (
    CONF_SOURCE,
    DOMAIN,
    LOGGER,
    SUBENTRY_ALERT,
    SUBENTRY_CHANNEL,
    SUBENTRY_SENSOR,
)
from .device import topics_of_device
from .engine.journal import (
    REPLAY_BATCH,
    JournalReplay,
    ReplayResult,
    UnreadableFile,
)
from .engine.output import OutputGuard, topic_matches, uncovered_filters
from .engine.payload import Rejection
from .engine.record import MqttRecord, to_micros
from .engine.snapshot import SnapshotProblem, write_snapshot
from .hub_snapshot import (
    SNAPSHOT_FILE,
    SNAPSHOT_INTERVAL,
    Restored,
    begin_capture,
    ignored_topics,
    load_snapshot,
    remove_snapshot,
    source_settings,
)
from .listeners import Listeners
from .message_log import MessageLog, record_now
from .models import HubOptions
from .mqtt_encoding import ENCODING, payload_bytes, register as register_encoding
from .mqtt_output import MqttOutput
from .source import (
    MAX_TOPIC_LENGTH,
    Outcome,
    SensorSource,
    TopicState,
    sources_of,
)

if TYPE_CHECKING:
    from .channel import ThingSpeakChannel

type IoTitanConfigEntry = ConfigEntry[IoTitanHub]

# Routes are cached per topic; a `#` log filter can see many topics, so the
# cache is bounded by count and by the length of the topics it keys on, and
# simply starts over when either bound is reached (clear-on-overflow rather
# than LRU: no per-message bookkeeping, and a lost route costs one pass over
# the few topic filters). Topics longer than MAX_TOPIC_LENGTH are routed
# every time, never cached.
MAX_ROUTES = 50_000
MAX_ROUTE_TOPIC_CHARS = 4 * 1024 * 1024
# How often the journal's size on disk is measured.
JOURNAL_SIZE_INTERVAL = 60.0
# Keys of IoTitanHub.future_samples.
FUTURE_REFUSED_LIVE = "refused_live"
FUTURE_REFUSED_REPLAY = "refused_replay"
FUTURE_DROPPED = "dropped_after_clock_step"


def journal_issue_id(entry_id: str) -> str:
    """Id of the repair issue of a hub whose journal could not be read whole."""
    return f"journal_unreadable_{entry_id}"


@callback
def async_delete_journal_issue(hass: HomeAssistant, entry_id: str) -> None:
    """Remove the unreadable-journal repair issue of a hub, if there is one."""
    ir.async_delete_issue(hass, DOMAIN, journal_issue_id(entry_id))


def signal_new_topic(entry_id: str) -> str:
    """Dispatcher signal sent when a source sees a topic for the first time."""
    return f"{DOMAIN}_{entry_id}_new_topic"


def signal_alert_added(entry_id: str) -> str:
    """Dispatcher signal sent with the settings of an alert added while running."""
    return f"{DOMAIN}_{entry_id}_alert_added"


def signal_subentry_replaced(entry_id: str) -> str:
    """Dispatcher signal sent with the id of an alert or channel reconfigured
    while running: its entities go, and new ones come with its new settings."""
    return f"{DOMAIN}_{entry_id}_subentry_replaced"


def signal_channel_added(entry_id: str) -> str:
    """Dispatcher signal sent with a channel added while running."""
    return f"{DOMAIN}_{entry_id}_channel_added"


def _shape(
    entry: ConfigEntry[Any],
) -> tuple[str, Mapping[str, Any], dict[str, tuple[str, str, Mapping[str, Any]]]]:
    """What a hub is built from: title, options, each subentry's kind, title, data.

    Values, not the subentry objects: Home Assistant updates those in place.
    """
    return (
        entry.title,
        entry.options,
        {
            subentry_id: (subentry.subentry_type, subentry.title, subentry.data)
            for subentry_id, subentry in entry.subentries.items()
        },
    )


@dataclass(slots=True)
class SubentryChanges:
    """Subentries added, reconfigured or deleted since the hub was built (a
    reconfigured one is in `replaced` and removed, then added)."""

    added_sources: list[ConfigSubentry] = field(default_factory=list)
    removed_sources: list[str] = field(default_factory=list)
    added_alerts: list[ConfigSubentry] = field(default_factory=list)
    removed_alerts: list[str] = field(default_factory=list)
    added_channels: list[ConfigSubentry] = field(default_factory=list)
    removed_channels: list[str] = field(default_factory=list)
    title: str | None = None
    """The hub's new title, if it was renamed."""
    options: bool = False
    """The hub's options changed."""
    replaced: list[str] = field(default_factory=list)
    """Subentries reconfigured, and alerts on a source reconfigured or deleted:
    their entities leave, and new ones come with the new settings."""

    def add(self, kind: str, subentry: ConfigSubentry) -> None:
        """Note a subentry to start (added, or the new form of a replaced one)."""
        {
            SUBENTRY_SENSOR: self.added_sources,
            SUBENTRY_ALERT: self.added_alerts,
            SUBENTRY_CHANNEL: self.added_channels,
        }[kind].append(subentry)

    def remove(self, kind: str, subentry_id: str) -> None:
        """Note a subentry to stop (deleted, or the old form of a replaced one)."""
        {
            SUBENTRY_SENSOR: self.removed_sources,
            SUBENTRY_ALERT: self.removed_alerts,
            SUBENTRY_CHANNEL: self.removed_channels,
        }[kind].append(subentry_id)


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
        # One source per reading of each sensor subentry, by `source.key`.
        self.sources: dict[str, SensorSource] = {
            source.key: source
            for subentry in entry.subentries.values()
            if subentry.subentry_type == SUBENTRY_SENSOR
            for source in sources_of(subentry)
        }
        self.longest_window = self._longest_window()
        self.guard = OutputGuard(
            self.options.output.prefix, self.options.output.legacy_topics
        )
        self.message_log = self._message_log()
        # One subscription per filter that no other filter of the hub covers
        # (the default log filter `#` covers every source filter but `$` ones),
        # so a message normally reaches one callback, which routes it to the
        # log and to every source. Where two filters overlap without either
        # covering the other (`a/+`, `+/b`), a message is handled by the first
        # one in this order (sources first, then log filters) that matches.
        # Overlap matters beyond the one call: over MQTT 5 the broker sends a
        # message once per matching subscription, and Home Assistant 2026.2 gives
        # every copy to every matching subscriber (it has no MQTT 5 subscription
        # identifiers), so a covered filter subscribed as well counted it twice.
        self._filters = self._wanted_filters()
        self._subscriptions: dict[str, CALLBACK_TYPE] = {}
        self._subscribe_lock = asyncio.Lock()
        self._catching_up: dict[str, list[MqttRecord]] = {}
        """Live records of sources added while the hub runs, held until the
        journal's records before them are in their windows."""
        self._routes: dict[str, Route] = {}
        self._route_chars = 0
        self.route_cache_clears = 0
        self.messages_received = 0
        self.messages_ignored_own = 0
        self.payloads_rejected: Counter[Rejection] = Counter()
        self.payloads_not_utf8 = 0
        self.records_replayed = 0
        self.future_samples: Counter[str] = Counter()
        self.replay_report: dict[str, Any] = {}
        self.snapshot_report: dict[str, Any] = {}
        """How the windows were rebuilt at start: from the snapshot or not, why."""
        self.snapshot_writes: dict[str, Any] = {
            "written": 0,
            "skipped": 0,
            "failures": 0,
            "last_error": None,
            "last_taken_at": None,
            "last_size_bytes": None,
            "last_topics": None,
            "last_samples": None,
            "last_copied_on_write": None,
            "last_write_seconds": None,
            "disabled": None,
        }
        self._snapshot_lock = asyncio.Lock()
        self.mqtt_connected = True
        self.sample_listeners: list[SampleListener] = []
        # ThingSpeak channel subentries, set by async_setup_entry.
        self.channels: dict[str, ThingSpeakChannel] = {}
        self._tick_listeners: Listeners[[float]] = Listeners()
        self._diagnostic_listeners: Listeners[[]] = Listeners()
        self._unsubscribers: list[CALLBACK_TYPE] = []
        self._cancel_tick: CALLBACK_TYPE | None = None
        self._stop_listener: CALLBACK_TYPE | None = None
        self._next_journal_size = 0.0
        self._stopped = False
        self.alerts = AlertRuntime(hass, entry, self.sources)
        self.output = self._mqtt_output()
        # The wiring of the parts, in one place: readings and ticks reach the
        # alerts, alert transitions the MQTT output.
        # Wired even without alerts: one can be added while the hub runs.
        self._unwire: list[CALLBACK_TYPE] = [
            self.async_add_tick_listener(self.alerts.async_tick),
        ]
        self._unwire_output = self.alerts.transition_listeners.add(
            self.output.async_publish_alert
        )
        self.sample_listeners.append(self.alerts.async_sample)
        # What the hub was built from: changes beyond added or deleted alerts
        # and channels rebuild it (see `in_place_changes`).
        self._built_from = _shape(entry)

    def _message_log(self) -> MessageLog:
        """Syslog and journal writers for the hub's options (not started)."""
        message_log = MessageLog(
            self.hass,
            self.entry.entry_id,
            self.options,
            keep_seconds=max(self.options.journal.retention, self.longest_window),
        )
        # The syslog connection state shows at once, not on the next tick.
        message_log.async_add_listener(self._notify_diagnostics)
        return message_log

    def _mqtt_output(self) -> MqttOutput:
        """The MQTT output for the hub's options (not started)."""
        return MqttOutput(
            self.hass,
            self.entry,
            self.options.output,
            self.sources,
            lambda: self.mqtt_connected,
        )

    # -- setup ------------------------------------------------------------------

    @callback
    def async_restore_topics(self) -> None:
        """Recreate the topics seen before a restart from the device registry."""
        registry = dr.async_get(self.hass)
        for device in dr.async_entries_for_config_entry(registry, self.entry.entry_id):
            for subentry_id, topic in topics_of_device(device):
                for source in self.sources_of(subentry_id):
                    source.topic_state(topic)

    def sources_of(self, subentry_id: str) -> list[SensorSource]:
        """The sources of a sensor subentry's readings, in their order."""
        return [
            source
            for source in self.sources.values()
            if source.subentry_id == subentry_id
        ]

    @callback
    def in_place_changes(self) -> SubentryChanges | None:
        """What changed in the subentries since the hub was built, if it can be
        applied without rebuilding the hub (None: rebuild).

        Sources, alerts and channels added, deleted or reconfigured, a new
        title and new options are applied while the hub runs, so that the other
        entities do not go unavailable and back (Home Assistant logs both).
        Alerts watching a source that changed or went are replaced with it.
        """
        title, options, subentries = self._built_from
        entry = self.entry
        now_title, now_options, now_subentries = _shape(entry)
        changes = SubentryChanges(
            title=now_title if now_title != title else None,
            options=now_options != options,
        )
        sources_changed: set[str] = set()
        for subentry_id in subentries.keys() | now_subentries.keys():
            before = subentries.get(subentry_id)
            now = now_subentries.get(subentry_id)
            if before == now:
                continue
            if before is not None and now is not None and before[0] != now[0]:
                return None  # not something a flow does
            kind = (now or before or ("",))[0]
            if kind not in (SUBENTRY_SENSOR, SUBENTRY_ALERT, SUBENTRY_CHANNEL):
                return None
            if kind == SUBENTRY_SENSOR:
                sources_changed.add(subentry_id)
            if before is not None and now is not None:
                changes.replaced.append(subentry_id)
            if before is not None:
                changes.remove(kind, subentry_id)
            if now is not None:
                changes.add(kind, entry.subentries[subentry_id])
        # An alert on a changed source runs again on the new one (or, on a
        # deleted source, stops with a repair issue saying so).
        for subentry_id, subentry in entry.subentries.items():
            if (
                subentry.subentry_type == SUBENTRY_ALERT
                and subentry.data.get(CONF_SOURCE) in sources_changed
                and subentry_id not in changes.replaced
                and subentry_id in subentries
            ):
                changes.replaced.append(subentry_id)
                changes.remove(SUBENTRY_ALERT, subentry_id)
                changes.add(SUBENTRY_ALERT, subentry)
        return changes

    @callback
    def async_applied(self) -> None:
        """The entry as it is now is what the hub runs (its changes applied or
        being applied): later changes are diffed against it."""
        self._built_from = _shape(self.entry)
        self._notify_diagnostics()

    def _longest_window(self) -> float:
        return max((max(s.config.windows) for s in self.sources.values()), default=0.0)

    def _wanted_filters(self) -> list[str]:
        return uncovered_filters(
            [s.config.topic for s in self.sources.values()]
            + list(self.options.logging.log_topics)
        )

    async def _async_subscribe(self) -> None:
        """Subscribe to the filters that no other filter of the hub covers.

        Run at start and when sources change: new subscriptions are made
        before the ones no longer wanted go, so that no message on a topic
        both cover is missed meanwhile (one handler takes it: `Route.owner`).
        """
        async with self._subscribe_lock:
            wanted = self._wanted_filters()
            for topic_filter in wanted:
                if topic_filter not in self._subscriptions:
                    self._subscriptions[topic_filter] = await mqtt.async_subscribe(
                        self.hass,
                        topic_filter,
                        self._message_handler(topic_filter),
                        qos=0,
                        # UTF-8 like every default subscriber (the MQTT client
                        # hands one decoded message to all subscribers of a
                        # topic string), lossless for payloads that are not
                        # UTF-8: see mqtt_encoding.
                        encoding=ENCODING,
                    )
            self._filters = wanted
            self._clear_routes()
            for topic_filter in [f for f in self._subscriptions if f not in wanted]:
                self._subscriptions.pop(topic_filter)()

    async def async_change_sources(
        self, removed: Sequence[str], added: Sequence[ConfigSubentry]
    ) -> None:
        """Stop and start sensor sources while the hub runs.

        A new source's windows are rebuilt from the journal as at a restart;
        messages arriving meanwhile wait, and follow the journal's records in
        the order they came (the journal holds every message the hub
        received, so a window is the same as after a restart). Its topics'
        entities are then added; the devices of topics seen before (a
        reconfigured source) keep their entities' ids and history.
        """
        for subentry_id in removed:
            for source in self.sources_of(subentry_id):
                del self.sources[source.key]
        new = [source for subentry in added for source in sources_of(subentry)]
        registry = dr.async_get(self.hass)
        devices = dr.async_entries_for_config_entry(registry, self.entry.entry_id)
        for source in new:
            self.sources[source.key] = source
            self._catching_up[source.key] = []
            for device in devices:
                for subentry_id, topic in topics_of_device(device):
                    if subentry_id == source.subentry_id:
                        source.topic_state(topic)
        self.longest_window = self._longest_window()
        self.message_log.journal.set_keep_seconds(
            max(self.options.journal.retention, self.longest_window)
        )
        self._clear_routes()
        try:
            await self._async_subscribe()
            if new:
                await self._async_catch_up(new)
        finally:
            for source in new:
                self._catching_up.pop(source.key, None)
        self._notify_diagnostics()

    async def _async_catch_up(self, new: Sequence[SensorSource]) -> None:
        """Fill new sources' windows from the journal, then from what waited."""
        now = time.time()
        await self.message_log.journal.flush()
        result = await self.message_log.async_replay(
            now - max(max(source.config.windows) for source in new)
        )
        for source in new:
            waiting = self._catching_up[source.key]
            # Records that arrived since the source was added are in the
            # journal too if it was written meanwhile: they are taken from the
            # waiting list, in the order they came, not twice.
            first = (waiting[0].timestamp, waiting[0].topic) if waiting else None
            source.replaying = True
            try:
                for record in result:
                    if (record.timestamp, record.topic) == first:
                        break
                    if (
                        topic_matches(source.config.topic, record.topic)
                        and source.ingest(record, now).outcome is Outcome.FUTURE
                    ):
                        self.future_samples[FUTURE_REFUSED_REPLAY] += 1
            finally:
                source.replaying = False
            for state in source.topics.values():
                # Also adds what the replay queued in the windows.
                state.expire(now)
                async_dispatcher_send(
                    self.hass, signal_new_topic(self.entry.entry_id), source, state
                )
            del self._catching_up[source.key]
            for record in waiting:
                self._async_ingest_live(source, record)

    @callback
    def _clear_routes(self) -> None:
        """Forget every topic's route (filters or sources changed)."""
        self._routes.clear()
        self._route_chars = 0

    async def async_replay_journal(self) -> None:
        """Rebuild every window from the journal, before subscribing.

        A journal file that cannot be read is skipped: the hub starts with the
        rest, a repair issue names the file and why (it goes at the next start
        that reads everything), and one warning per start gives the counts of
        unreadable files and lines and of records from the future.
        """
        if not self.sources:
            # Nothing is rebuilt from the journal, so nothing is missing.
            async_delete_journal_issue(self.hass, self.entry.entry_id)
            return
        now = time.time()
        since = now - self.longest_window
        restored = await self._async_restore_snapshot(now, since)
        result: ReplayResult | JournalReplay
        if restored is not None:
            result = restored.records
            batches = _async_slices(result.records, REPLAY_BATCH)
        else:
            # Streamed: one executor call per batch, about one journal file's
            # records in memory, the loop free between batches.
            result = self.message_log.replay(since)
            batches = self.message_log.async_batches(result)
        # One pass over up to millions of records: lookups bound once, the
        # refused count added at the end (nothing reads it in between).
        route = self._route
        refused_outcome = Outcome.FUTURE
        refused = 0
        replayed = 0
        sources = list(self.sources.values())
        for source in sources:
            source.replaying = True
        try:
            async for batch in batches:
                replayed += len(batch)
                for record in batch:
                    for source in route(record.topic).sources:
                        if source.ingest(record, now).outcome is refused_outcome:
                            refused += 1
        finally:
            for source in sources:
                source.replaying = False
        if refused:
            self.future_samples[FUTURE_REFUSED_REPLAY] += refused
        self.records_replayed = replayed
        for source in self.sources.values():
            for state in source.topics.values():
                # Also adds what the replay queued in the windows.
                state.expire(now)
        future = self.future_samples[FUTURE_REFUSED_REPLAY]
        self.replay_report = {
            "files_read": result.files_read,
            "files_unreadable": [
                {"file": str(item.path), "error": item.error}
                for item in result.unreadable
            ],
            "lines_unreadable": result.skipped,
            "future_samples_refused": future,
        }
        if result.unreadable:
            self._async_raise_journal_issue(result.unreadable)
            # A snapshot of windows missing those files' records would keep
            # them missing once the files are readable again: none this run.
            await self.async_drop_snapshot("journal files could not be read")
        else:
            async_delete_journal_issue(self.hass, self.entry.entry_id)
        log = (
            LOGGER.warning
            if result.unreadable or result.skipped or future
            else LOGGER.debug
        )
        log(
            "Hub %s replayed %d journal records from %d files: %d files could "
            "not be read%s, %d lines were unreadable, %d samples from the "
            "future were refused",
            self.entry.title,
            replayed,
            result.files_read,
            len(result.unreadable),
            "".join(
                f"; {item.path.name}: {item.error}" for item in result.unreadable[:5]
            ),
            result.skipped,
            future,
        )

    @property
    def snapshot_path(self) -> Path:
        """The hub's snapshot file, in its journal folder."""
        return self.message_log.directory / SNAPSHOT_FILE

    async def _async_restore_snapshot(
        self, now: float, since: float
    ) -> Restored | None:
        """Restore the windows from the snapshot; None (and why, logged once) if not.

        The snapshot, the windows and the journal after it are read and built
        in the executor; here the windows are handed to their topics (topics
        known from the device registry first, then the snapshot's in its
        order, as the live hub had them), keeping only what a replay from
        `since` would rebuild.
        """
        ignored = ignored_topics(
            self.options.output.prefix, self.options.output.legacy_topics
        )
        loaded = await self.hass.async_add_executor_job(
            load_snapshot,
            self.snapshot_path,
            self.message_log.directory,
            source_settings(self.sources, ignored),
            now,
            since,
        )
        if isinstance(loaded, str):
            self.snapshot_report = {"restored": False, "reason": loaded}
            LOGGER.info(
                "Hub %s replays its whole journal: %s", self.entry.title, loaded
            )
            return None
        since_us = to_micros(since)
        topics = 0
        for source_snapshot in loaded.snapshot.sources:
            source = self.sources.get(source_snapshot.source_id)
            if source is None:
                continue  # deleted since: its windows are not needed
            windows = loaded.windows[source.key]
            for topic in source_snapshot.topics:
                state = source.topics.get(topic.topic)
                if state is None:
                    # A replay from `since` creates the topic only if a
                    # message on it came since.
                    if topic.last_record_at is None or (
                        to_micros(topic.last_record_at) < since_us
                    ):
                        continue
                    state = source.topic_state(topic.topic)
                    if state is None:
                        continue
                state.restore_snapshot(topic, windows[topic.topic], since_us)
                topics += 1
        snapshot = loaded.snapshot
        self.snapshot_report = {
            "restored": True,
            "reason": None,
            "age_seconds": round(now - snapshot.taken_at, 3),
            "size_bytes": loaded.size,
            "topics_restored": topics,
            "samples_restored": loaded.samples,
            "records_replayed_after": len(loaded.records),
            "load_seconds": round(loaded.seconds, 3),
        }
        LOGGER.debug(
            "Hub %s restored %d topics (%d samples) from its snapshot of %.0f s "
            "ago (%d bytes, %.3f s) and replays %d journal records after it",
            self.entry.title,
            topics,
            loaded.samples,
            now - snapshot.taken_at,
            loaded.size,
            loaded.seconds,
            len(loaded.records),
        )
        return loaded

    async def async_drop_snapshot(self, reason: str) -> None:
        """Delete the snapshot and write none until the next start.

        For a journal that no longer matches the windows: records written
        into it that the windows never saw (an import), or files that could
        not be read at start. The next start replays the whole journal.
        """
        async with self._snapshot_lock:
            self.snapshot_writes["disabled"] = reason
            await self.hass.async_add_executor_job(remove_snapshot, self.snapshot_path)

    async def async_write_snapshot(self) -> None:
        """Save the windows: at a clean journal moment, written in the executor.

        Skipped (and counted) while a source added meanwhile is catching up,
        or if the journal could not reach a moment with nothing waiting
        (writes failing, or a steady stream of records during every flush).
        """
        async with self._snapshot_lock:
            stats = self.snapshot_writes
            if not self.sources or stats["disabled"]:
                return
            journal = self.message_log.journal
            position = await journal.clean_position()
            # No await between the position and arming the capture: the
            # journal up to the position holds exactly the records in the
            # windows it copies.
            if position is None or self._catching_up:
                stats["skipped"] += 1
                return
            taken_at = time.time()
            sources = dict(self.sources)
            capture = begin_capture(
                sources,
                ignored_topics(
                    self.options.output.prefix, self.options.output.legacy_topics
                ),
                position,
                taken_at,
            )
            # A few topics per loop iteration: a large home's windows are
            # tens of milliseconds of copying.
            try:
                done = capture.copy_some()
                while not done:
                    await asyncio.sleep(0)  # messages meanwhile copy their topic first
                    done = capture.copy_some()
            except BaseException:  # cancelled (the hub stops): topics let go
                capture.cancel()
                raise
            if self.sources != sources or self._catching_up:
                # A source changed meanwhile: its copy may not match its settings.
                stats["skipped"] += 1
                return
            snapshot = capture.snapshot()
            began = time.monotonic()
            writing = self.hass.async_add_executor_job(
                write_snapshot, self.snapshot_path, snapshot
            )
            try:
                result = await asyncio.shield(writing)
            except asyncio.CancelledError:
                # Cancelled (the entry unloading): the thread writes on, so
                # the lock is kept until it is done. Else the write at stop
                # would fill the same temporary file at the same time.
                await asyncio.wait([writing])
                raise
            if isinstance(result, SnapshotProblem):
                stats["failures"] += 1
                if stats["last_error"] != result.detail:
                    LOGGER.warning(
                        "Hub %s could not write its snapshot %s: %s",
                        self.entry.title,
                        self.snapshot_path,
                        result.detail,
                    )
                stats["last_error"] = result.detail
                return
            stats["written"] += 1
            stats["last_error"] = None
            stats["last_taken_at"] = taken_at
            stats["last_size_bytes"] = result
            stats["last_topics"] = snapshot.topics
            stats["last_samples"] = snapshot.samples
            stats["last_copied_on_write"] = capture.copied_on_write
            stats["last_write_seconds"] = round(time.monotonic() - began, 3)

    @callback
    def _async_snapshot_tick(self, now: datetime) -> None:
        self.entry.async_create_background_task(
            self.hass,
            self.async_write_snapshot(),
            f"{DOMAIN} snapshot {self.entry.title}",
        )

    @callback
    def _async_raise_journal_issue(self, unreadable: Sequence[UnreadableFile]) -> None:
        """Tell the user which journal files could not be read, and why."""
        shown = [f"{item.path.name} ({item.error})" for item in unreadable[:5]]
        if len(unreadable) > len(shown):
            shown.append(f"{len(unreadable) - len(shown)} more")
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            journal_issue_id(self.entry.entry_id),
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="journal_unreadable",
            translation_placeholders={
                "hub": self.entry.title,
                "files": ", ".join(shown),
                "directory": str(self.message_log.directory),
            },
        )

    async def async_start(self) -> None:
        """Start the writers, subscribe, and start the update timer."""
        await self.message_log.async_start()
        register_encoding()
        await self._async_subscribe()
        self._start_tick()
        self.mqtt_connected = mqtt.is_connected(self.hass)
        self._unsubscribers.append(
            mqtt.async_subscribe_connection_status(
                self.hass, self._async_connection_changed
            )
        )
        self._stop_listener = self.hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_STOP, self._async_home_assistant_stop
        )
        self._unsubscribers.append(
            async_track_time_interval(
                self.hass,
                self._async_snapshot_tick,
                timedelta(seconds=SNAPSHOT_INTERVAL),
                name=f"{DOMAIN} snapshot {self.entry.title}",
                cancel_on_shutdown=True,
            )
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
        if self._cancel_tick is not None:
            self._cancel_tick()
            self._cancel_tick = None
        while self._subscriptions:
            self._subscriptions.popitem()[1]()
        self.sample_listeners.clear()
        while self._unwire:
            self._unwire.pop()()
        self._unwire_output()
        self.alerts.async_stop()
        self.output.async_stop()
        await self.message_log.async_stop()
        # After the journal's last flush: the next start replays nothing.
        await self.async_write_snapshot()

    @callback
    def _start_tick(self) -> None:
        if self._cancel_tick is not None:
            self._cancel_tick()
        self._cancel_tick = async_track_time_interval(
            self.hass,
            self._async_tick,
            self.update_interval,
            name=f"{DOMAIN} update {self.entry.title}",
            cancel_on_shutdown=True,
        )

    async def async_apply_options(self) -> None:
        """Take the hub's new options while it runs.

        Only the parts whose options changed are rebuilt: the update timer,
        the MQTT output, the syslog and journal writers (the old ones are
        flushed and closed first; records arriving meanwhile wait in the new
        ones, in order), and the subscriptions for new log filters. Sources,
        alerts and channels, and their entities, run on untouched.
        """
        old = self.options
        options = self.options = HubOptions.from_options(self.entry.options)
        if options.update_interval != old.update_interval:
            self.update_interval = timedelta(seconds=options.update_interval)
            self._start_tick()
        if options.output != old.output:
            self._unwire_output()
            self.output.async_stop()
            self.guard = OutputGuard(
                options.output.prefix, options.output.legacy_topics
            )
            self.output = self._mqtt_output()
            self._unwire_output = self.alerts.transition_listeners.add(
                self.output.async_publish_alert
            )
            self.output.async_start()
        if options.logging != old.logging or options.journal != old.journal:
            replaced = self.message_log
            self.message_log = self._message_log()
            await replaced.async_stop()
            await self.message_log.async_start()
        # New log filters, or a new output prefix for the loop guard.
        await self._async_subscribe()
        self._notify_diagnostics()

    async def _async_home_assistant_stop(self, event: Event) -> None:
        """Flush the journal when Home Assistant stops (entries are not unloaded)."""
        self._stop_listener = None  # fired, hence already removed
        await self.async_stop()

    # -- the message path ----------------------------------------------------------

    def _route(self, topic: str) -> Route:
        route = self._routes.get(topic)
        if route is None:
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
            if len(topic) <= MAX_TOPIC_LENGTH:
                if (
                    len(self._routes) >= MAX_ROUTES
                    or self._route_chars + len(topic) > MAX_ROUTE_TOPIC_CHARS
                ):
                    self._routes.clear()
                    self._route_chars = 0
                    self.route_cache_clears += 1
                self._routes[topic] = route
                self._route_chars += len(topic)
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
            payload, utf8 = payload_bytes(message.payload)
            if not utf8:
                # Journaled and logged escaped like any payload; sources count
                # it as a rejection. No log line per message.
                self.payloads_not_utf8 += 1
            record = record_now(message.topic, payload, message.qos, message.retain)
            self.message_log.submit(record, to_syslog=route.log)
            for source in route.sources:
                self._async_ingest_live(source, record)

        return handle

    @callback
    def _async_ingest_live(self, source: SensorSource, record: MqttRecord) -> None:
        """Feed a live message to a source; fan out what it did."""
        if (
            self._catching_up
            and (waiting := self._catching_up.get(source.key)) is not None
        ):
            waiting.append(record)
            return
        result = source.ingest(record)
        source.count_live(result)
        if result.outcome is Outcome.READING:
            assert result.state is not None and result.reading is not None
            for listener in self.sample_listeners:
                listener(source, result.state, record.timestamp, result.reading)
        elif result.rejection is not None:
            self.payloads_rejected[result.rejection] += 1
        elif result.outcome is Outcome.FUTURE:
            self.future_samples[FUTURE_REFUSED_LIVE] += 1
        if result.new_topic:
            # The platform creates the topic's device and entities with its
            # first state; later updates go through the throttled tick.
            async_dispatcher_send(
                self.hass, signal_new_topic(self.entry.entry_id), source, result.state
            )

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
        for source in self.sources_of(subentry_id):
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
            "payloads_not_utf8": self.payloads_not_utf8,
            "records_replayed": self.records_replayed,
            "journal_replay": self.replay_report,
            "snapshot": {
                "file": str(self.snapshot_path),
                "interval_seconds": SNAPSHOT_INTERVAL,
                "at_start": self.snapshot_report,
                "writes": dict(self.snapshot_writes),
            },
            "future_samples": {
                FUTURE_REFUSED_LIVE: self.future_samples[FUTURE_REFUSED_LIVE],
                FUTURE_REFUSED_REPLAY: self.future_samples[FUTURE_REFUSED_REPLAY],
                FUTURE_DROPPED: sum(
                    state.future_samples_dropped
                    for source in self.sources.values()
                    for state in source.topics.values()
                ),
            },
            "route_cache": {
                "topics": len(self._routes),
                "topic_chars": self._route_chars,
                "max_topics": MAX_ROUTES,
                "max_topic_chars": MAX_ROUTE_TOPIC_CHARS,
                "clears": self.route_cache_clears,
            },
            **self.message_log.as_diagnostics(),
            "sources": {
                subentry_id: source.as_diagnostics()
                for subentry_id, source in self.sources.items()
            },
        }


async def _async_slices(
    records: list[MqttRecord], size: int
) -> AsyncIterator[list[MqttRecord]]:
    """`records` in lists of `size`, the loop free to run between them."""
    for start in range(0, len(records), size):
        if start:
            await asyncio.sleep(0)
        yield records[start : start + size]
