"""A sensor source and its topics: the windows a message ends up in.

Each reading of a sensor subentry becomes a `SensorSource` (a subentry of one
reading, as every source before 1.6, becomes one); every concrete topic that
matches its filter becomes a `TopicState` of that reading, holding one sliding
window per configured duration. The readings of one subentry share one parse
of each payload (`PayloadReadings`), and one device per topic.
`SensorSource.ingest` is the one path of a message into the windows,
live and at the journal's replay alike; it returns an `Ingested` saying what
happened, which the hub fans out. Nothing here holds the hub.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import tzinfo
from enum import StrEnum
from hashlib import blake2b
import time
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.util import dt as dt_util

from .const import LOGGER
from .engine.payload import PayloadParser, Rejection, parse_value_path
from .engine.readings import MultiPathParser, Reading, value_paths
from .engine.record import MqttRecord, to_micros
from .engine.sensor_time import TimeRejection, read_payload_time
from .engine.snapshot import SnapshotCapture, TopicSnapshot, source_fingerprint
from .engine.window import SlidingWindow
from .engine.window_statistic import window_diagnostics_key
from .listeners import Listeners
from .models import SensorSourceConfig, source_key

# The longest topic a source keeps state for (MQTT allows 65,535 bytes; real
# sensor topics are a few dozen characters). Longer topics are still logged
# and journalled, but counted and ignored by sources.
MAX_TOPIC_LENGTH = 1024
# Distinct topics over a source's topic cap that are tracked (as 8-byte
# digests) to count them; beyond that only the messages are counted.
MAX_TOPICS_OVER_LIMIT = 10_000
# A retained repeat is recognised by the payload itself when it is this short,
# else by its length and a 16-byte BLAKE2b digest: never the whole payload.
REPEAT_PAYLOAD_KEPT = 64
# A sample stamped later than now (plus the journal's resolution, 1 ms) never
# enters a window: it would stay there until the clock caught up with it.
FUTURE_SLACK = 0.001
# A sensor-dated reading may be this far ahead of its arrival (a sensor's clock
# a little fast) and is then dated on arrival; further ahead it is refused.
SENSOR_TIME_TOLERANCE = 300.0
# Why a sensor-dated reading did not enter the windows, beyond `TimeRejection`.
TIME_TOO_FAR_IN_FUTURE = "too_far_in_future"
TIME_OLDER_THAN_WINDOW = "older_than_window"


class Outcome(StrEnum):
    """What one message did to a source."""

    TOPIC_TOO_LONG = "topic_too_long"
    """A new topic longer than MAX_TOPIC_LENGTH: ignored."""
    OVER_LIMIT = "over_limit"
    """A new topic beyond the source's topic cap: ignored."""
    REPEAT = "repeat"
    """The broker's retained copy of the last payload: not a new reading."""
    REJECTED = "rejected"
    """No reading in the payload (`Ingested.rejection` says why)."""
    FUTURE = "future"
    """A reading stamped in the future: refused."""
    UNDATED = "undated"
    """A sensor-dated reading whose time could not be read or was refused
    (`Ingested.time_refusal` says why)."""
    READING = "reading"
    """A reading, now in every window of the topic."""


@dataclass(slots=True)
class Ingested:
    """The outcome of `SensorSource.ingest` (never changed once made).

    Not frozen: a frozen dataclass's __init__ costs about 1 us more, once per
    message.
    """

    outcome: Outcome
    state: TopicState | None = None
    new_topic: bool = False
    """The message created the topic's state (its entities do not exist yet)."""
    reading: float | None = None
    rejection: Rejection | None = None
    time_refusal: str | None = None


# The outcomes without a topic, shared: a flood of junk topics (the case they
# count) allocates nothing for them.
_TOPIC_TOO_LONG = Ingested(Outcome.TOPIC_TOO_LONG)
_OVER_LIMIT = Ingested(Outcome.OVER_LIMIT)

_new_object = object.__new__
_INGESTED_SETTERS = tuple(
    getattr(Ingested, name).__set__
    for name in (
        "outcome",
        "state",
        "new_topic",
        "reading",
        "rejection",
        "time_refusal",
    )
)


def _ingested(
    outcome: Outcome,
    state: TopicState,
    new_topic: bool,
    reading: float | None,
    rejection: Rejection | None,
    time_refusal: str | None = None,
) -> Ingested:
    """An `Ingested`, built about four times as fast as by its frozen ``__init__``.

    `ingest` makes one per message, live and for every journal record at start
    (a frozen dataclass sets each field through ``object.__setattr__``).
    """
    result = _new_object(Ingested)
    set_outcome, set_state, set_new_topic, set_reading, set_rejection, set_time = (
        _INGESTED_SETTERS
    )
    set_outcome(result, outcome)
    set_state(result, state)
    set_new_topic(result, new_topic)
    set_reading(result, reading)
    set_rejection(result, rejection)
    set_time(result, time_refusal)
    return result


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
        self.last_payload: bytes | None = None
        """The last payload if short, else its length and digest (`payload_key`)."""
        self.last_payload_at: float | None = None
        """When `last_payload` came (a snapshot keeps it only if a replay would)."""
        self.last_record_at: float | None = None
        """When the last message on the topic came, a retained repeat too."""
        self.last_value: float | None = None
        self.last_received: float | None = None
        self.future_samples_refused = 0
        self.future_samples_dropped = 0
        self.time_refused: Counter[str] = Counter()
        """Sensor-dated readings left out, by reason (live ones only)."""
        self.late_samples_inserted = 0
        self.dirty = False
        self.capture: SnapshotCapture | None = None
        """A snapshot being taken that has not copied this topic yet."""
        self._listeners: Listeners[[]] = Listeners()

    def add(
        self,
        timestamp: float,
        value: float,
        now: float | None = None,
        later: bool = False,
    ) -> bool:
        """Feed one reading to every window, unless it is from the future.

        A reading stamped later than `now` (default: the clock now) is refused
        and counted: live messages are stamped on arrival, so only a journal
        written before the clock stepped back, or an import, brings one.
        Samples already in a window that lie in the future (the clock stepped
        back since) are dropped first. Return whether the reading was added.
        `later`: queue it (`SlidingWindow.add_later`), for a replay.
        """
        if now is None:
            now = time.time()
        if timestamp > now + FUTURE_SLACK:
            self.future_samples_refused += 1
            return False
        # Every window got the last reading, the newest: one comparison tells
        # whether any window holds the future (the clock stepped back).
        if self.last_received is not None and self.last_received > now + FUTURE_SLACK:
            self.discard_future(now)
        if later:
            for window in self.windows.values():
                window.add_later(timestamp, value)
        else:
            for window in self.windows.values():
                window.add(timestamp, value)
        self.last_value = value
        self.last_received = timestamp
        self.dirty = True
        return True

    def insert(self, timestamp: float, value: float, arrival: float) -> bool:
        """Place a sensor-dated reading at its time in every window that takes it.

        `arrival` is when the message came: the windows are first expired at
        that moment, so a window refuses the same late readings live and at
        the journal's replay (where no tick runs between records). A window
        refuses a reading older than itself; return whether any took it.
        """
        self.expire_windows(arrival)
        added = False
        for window in self.windows.values():
            if window.insert(timestamp, value):
                added = True
        if not added:
            return False
        last = self.last_received
        if last is not None and timestamp < last:
            self.late_samples_inserted += 1
        else:
            self.last_value = value
            self.last_received = timestamp
        self.dirty = True
        return True

    def discard_future(self, now: float) -> int:
        """Drop samples stamped later than `now` from every window; return how many."""
        dropped = 0
        for window in self.windows.values():
            dropped = max(dropped, window.discard_after(now + FUTURE_SLACK))
        if dropped:
            self.future_samples_dropped += dropped
            self.dirty = True
        return dropped

    def is_repeat(self, payload: bytes | bytearray | str, retain: bool) -> bool:
        """Whether a message is the broker's retained copy of the last one.

        The broker sends its retained message to every new subscription (at
        each start, reload and reconnect): the same payload again is not a new
        reading. Live deliveries to an existing subscription carry no retain
        flag; a retained payload that differs was published meanwhile.
        """
        return retain and payload_key(payload) == self.last_payload

    def remember(self, payload: bytes | bytearray | str) -> None:
        """Keep what `is_repeat` compares the next retained message with."""
        if type(payload) is bytes and len(payload) <= REPEAT_PAYLOAD_KEPT:
            self.last_payload = payload  # its own key (`payload_key`), without a call
        else:
            self.last_payload = payload_key(payload)

    def expire(self, now: float) -> int:
        """Drop samples that left their windows; mark the topic dirty if any did.

        Samples from the future of `now` (the clock stepped back) go too;
        return how many of those there were.
        """
        if (
            self.capture is not None
            and self.last_received is not None
            and self.last_received > now + FUTURE_SLACK
        ):
            # A snapshot being taken copies the samples about to be dropped. Mere
            # expiry needs no copy: the restore and every later sample expire alike.
            self.capture.copy(self)
        future = self.discard_future(now)
        self.expire_windows(now)
        return future

    def expire_windows(self, now: float) -> None:
        """Drop samples older than their windows at `now`; mark the topic dirty if any.

        Samples later than `now` stay: for a `now` in the past (a row's time).
        """
        for window in self.windows.values():
            if window.expire(now):
                self.dirty = True

    def export_snapshot(self) -> TopicSnapshot:
        """Copy the windows and what a replay rebuilds (cheap: array copies)."""
        return TopicSnapshot(
            topic=self.topic,
            windows=tuple(
                (seconds, window.export_state())
                for seconds, window in self.windows.items()
            ),
            last_payload=self.last_payload,
            last_payload_at=self.last_payload_at,
            last_record_at=self.last_record_at,
            last_value=self.last_value,
            last_received=self.last_received,
        )

    def restore_snapshot(
        self,
        snapshot: TopicSnapshot,
        windows: dict[float, SlidingWindow],
        since_us: int,
    ) -> None:
        """Take a snapshot's windows and what a replay from `since_us` would rebuild.

        The last payload, reading and times are kept only if they came at or
        after `since_us` (microseconds: the journal's resolution), as a replay
        of the journal from there would have them; older ones would not be
        replayed (a retained message seen before is then a reading again, as
        after a full replay). Run before entities and alerts look at the
        windows: the window objects are replaced.
        """

        def kept(when: float | None) -> bool:
            return when is not None and to_micros(when) >= since_us

        self.windows = windows
        if kept(snapshot.last_payload_at):
            self.last_payload = snapshot.last_payload
            self.last_payload_at = snapshot.last_payload_at
        if kept(snapshot.last_record_at):
            self.last_record_at = snapshot.last_record_at
        if kept(snapshot.last_received):
            self.last_value = snapshot.last_value
            self.last_received = snapshot.last_received
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
            "future_samples_refused": self.future_samples_refused,
            "future_samples_dropped": self.future_samples_dropped,
            "time_refused": dict(self.time_refused),
            "late_samples_inserted": self.late_samples_inserted,
            "window_samples": {
                window_diagnostics_key(seconds): len(window)
                for seconds, window in self.windows.items()
            },
        }


def payload_key(payload: bytes | bytearray | str) -> bytes:
    """A bounded stand-in for a payload: itself if short, else length + digest."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogateescape")
    if len(payload) <= REPEAT_PAYLOAD_KEPT:
        return bytes(payload)
    # The length prefix makes the key longer than any payload kept whole, so
    # a key can never equal a short payload.
    return (
        b"%d:" % len(payload)
        + blake2b(payload, digest_size=16).digest()
        + b"#" * (REPEAT_PAYLOAD_KEPT)
    )


class PayloadReadings:
    """Every reading of a subentry, and its time, from one parse of a payload.

    The hub hands one message to each reading's source in turn; the first
    parses it, the others find the answer here (the same payload object: a
    payload equal to the last one gives the same readings anyway).
    """

    def __init__(self, config: SensorSourceConfig, local_tz: tzinfo) -> None:
        """Parse the subentry's value paths and its time path."""
        self._parser = MultiPathParser(
            value_paths(reading.value_path for reading in config.readings),
            words_as_numbers=config.words_as_numbers,
        )
        self._time_path = (
            parse_value_path(config.time_path) if config.time_path else None
        )
        self._local_tz = local_tz
        self.time_zone = str(local_tz) if config.time_path else ""
        """The zone of sensor times without one, named (for the snapshot fingerprint)."""
        self._payload: bytes | bytearray | str | None = None
        self._readings: tuple[Reading, ...] = ()
        self._time: float | TimeRejection | None = None

    def parse(
        self, payload: bytes | bytearray | str
    ) -> tuple[tuple[Reading, ...], float | TimeRejection | None]:
        """The reading of each value path, and the time (None: arrival time)."""
        if payload is not self._payload:
            if self._time_path is None:
                readings, time_read = self._parser.parse(payload), None
            else:
                readings, document = self._parser.parse_with_document(payload)
                time_read = read_payload_time(
                    document, self._time_path, local_tz=self._local_tz
                )
            self._payload, self._readings, self._time = payload, readings, time_read
        return self._readings, self._time


class SensorSource:
    """One reading of a sensor subentry: a topic filter, a value path, the topics
    seen under it.

    It knows nothing of the hub: `ingest` says what a message did, and the hub
    fans that out (hub counters, sample listeners, new-topic signal).
    """

    def __init__(
        self,
        subentry_id: str,
        title: str,
        config: SensorSourceConfig,
        readings: PayloadReadings | None = None,
        index: int = 0,
    ) -> None:
        """Parse the source's settings.

        `config` has one reading (`SensorSourceConfig.for_reading`). A reading
        of a subentry with several, or one dated by the sensor, reads its
        value from the subentry's shared `readings`, at `index`.
        """
        self.subentry_id = subentry_id
        self.title = title
        self.config = config
        self.reading = config.reading
        self.key = source_key(subentry_id, self.reading.key)
        self.parser = PayloadParser(
            parse_value_path(config.value_path) if config.value_path else (),
            words_as_numbers=config.words_as_numbers,
        )
        if readings is None and config.time_path:
            readings = PayloadReadings(config, dt_util.get_default_time_zone())
        self._readings = readings
        self._index = index
        self._sensor_dated = bool(config.time_path)
        self.topics: dict[str, TopicState] = {}
        self.topics_over_limit: set[int] = set()
        """Digests of distinct topics over the cap (at most MAX_TOPICS_OVER_LIMIT)."""
        self.topics_over_limit_untracked = 0
        """Messages on over-cap topics not tracked because the set is full."""
        self.messages_over_limit = 0
        self.messages_topic_too_long = 0
        self._logged_reasons: set[tuple[str, str]] = set()
        self.replaying = False
        """Set while the hub replays the journal: readings are queued in the
        windows and added in bulk (`SlidingWindow.add_later`): the same windows
        for about a third of the windows' work."""

    @classmethod
    def from_subentry(cls, subentry: ConfigSubentry) -> SensorSource:
        """The source of a sensor subentry of one reading (tests; see `sources_of`)."""
        (source,) = sources_of(subentry)
        return source

    def fingerprint(self, ignored: str) -> bytes:
        """The settings that decide what the windows hold (see `source_fingerprint`).

        `ignored` describes the topics the hub never feeds to sources.
        """
        config = self.config
        return source_fingerprint(
            topic_filter=config.topic,
            value_path=config.value_path,
            words_as_numbers=config.words_as_numbers,
            windows=config.windows,
            max_samples=config.max_samples,
            max_topics=config.max_topics,
            ignored=ignored,
            time_path=config.time_path,
            time_zone=self._readings.time_zone if self._readings is not None else "",
        )

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
            if len(self.topics_over_limit) < MAX_TOPICS_OVER_LIMIT:
                self.topics_over_limit.add(_topic_digest(topic))
            elif _topic_digest(topic) not in self.topics_over_limit:
                self.topics_over_limit_untracked += 1
            return None
        state = self.topics[topic] = TopicState(topic, self.config)
        return state

    def ingest(self, record: MqttRecord, now: float | None = None) -> Ingested:
        """Feed one message to its topic's windows; say what happened.

        The one path of live messages and of the journal's replay at start,
        so that a rebuilt window equals the live one (restart equivalence).
        Counts nothing: live counters are `count_live`'s. A reading stamped
        later than `now` (default: the clock now) is refused.
        """
        topic = record.topic
        state = self.topics.get(topic)
        new_topic = state is None
        if state is None:
            if len(topic) > MAX_TOPIC_LENGTH:
                return _TOPIC_TOO_LONG
            state = self.topic_state(topic)
            if state is None:
                return _OVER_LIMIT
        elif state.capture is not None:  # a snapshot being taken copies it first
            state.capture.copy(state)
        payload = record.payload
        state.last_record_at = record.timestamp
        if state.is_repeat(payload, record.retain):
            return _ingested(Outcome.REPEAT, state, False, None, None)
        state.remember(payload)
        state.last_payload_at = record.timestamp
        if self._readings is None:
            reading = self.parser.parse(payload)
        else:
            readings, read_time = self._readings.parse(payload)
            reading = readings[self._index]
        if isinstance(reading, Rejection):
            return _ingested(Outcome.REJECTED, state, new_topic, None, reading)
        if self._sensor_dated:
            return self._insert_dated(state, record, read_time, reading, new_topic, now)
        if not state.add(record.timestamp, reading, now, self.replaying):
            return _ingested(Outcome.FUTURE, state, new_topic, None, None)
        return _ingested(Outcome.READING, state, new_topic, reading, None)

    def _insert_dated(
        self,
        state: TopicState,
        record: MqttRecord,
        read_time: float | TimeRejection | None,
        reading: float,
        new_topic: bool,
        now: float | None,
    ) -> Ingested:
        """A sensor-dated reading into its windows at its own time, or why not.

        A time up to SENSOR_TIME_TOLERANCE after the arrival is the arrival
        (a window holds nothing from the future); later, it is refused. Every
        decision depends only on the record, so the journal's replay decides
        alike: the journal keeps the payload, with the sensor's time, and the
        arrival time.
        """
        arrival = record.timestamp
        if now is None:
            now = time.time()
        if arrival > now + FUTURE_SLACK:
            state.future_samples_refused += 1
            return _ingested(Outcome.FUTURE, state, new_topic, None, None)
        if not isinstance(read_time, float):
            refusal = str(read_time or TimeRejection.MISSING)
            return _ingested(Outcome.UNDATED, state, new_topic, None, None, refusal)
        if read_time > arrival + SENSOR_TIME_TOLERANCE:
            return _ingested(
                Outcome.UNDATED, state, new_topic, None, None, TIME_TOO_FAR_IN_FUTURE
            )
        if not state.insert(min(read_time, arrival), reading, arrival):
            return _ingested(
                Outcome.UNDATED, state, new_topic, None, None, TIME_OLDER_THAN_WINDOW
            )
        return _ingested(Outcome.READING, state, new_topic, reading, None)

    def count_live(self, result: Ingested) -> None:
        """Count a live message's outcome (replayed ones were counted live)."""
        state = result.state
        match result.outcome:
            case Outcome.TOPIC_TOO_LONG:
                self.messages_topic_too_long += 1
                return
            case Outcome.OVER_LIMIT:
                self.messages_over_limit += 1
                return
        assert state is not None
        state.messages += 1
        if result.outcome is Outcome.REPEAT:
            state.retained_repeats += 1
        elif result.time_refusal is not None:
            state.time_refused[result.time_refusal] += 1
            if (state.topic, result.time_refusal) not in self._logged_reasons:
                self._logged_reasons.add((state.topic, result.time_refusal))
                LOGGER.debug(
                    "Ignoring a reading on %s dated by the sensor: %s (logged once "
                    "per topic and reason)",
                    state.topic,
                    result.time_refusal,
                )
        elif result.rejection is not None:
            state.rejected[result.rejection] += 1
            if (state.topic, result.rejection) not in self._logged_reasons:
                self._logged_reasons.add((state.topic, result.rejection))
                LOGGER.debug(
                    "Ignoring payload on %s: %s (logged once per topic and reason)",
                    state.topic,
                    result.rejection,
                )

    def as_diagnostics(self) -> dict[str, Any]:
        """Settings and per-topic counters for diagnostics."""
        return {
            "title": self.title,
            "topic_filter": self.config.topic,
            "name_template": self.config.name_template,
            "area_level": self.config.area_level,
            "reading": self.reading.key,
            "value_path": self.config.value_path,
            "time_path": self.config.time_path,
            "windows": list(self.config.windows),
            "statistics": [str(stat) for stat in self.config.statistics],
            "max_topics": self.config.max_topics,
            "topics_over_limit": len(self.topics_over_limit),
            "topics_over_limit_untracked": self.topics_over_limit_untracked,
            "messages_over_limit": self.messages_over_limit,
            "max_topic_length": MAX_TOPIC_LENGTH,
            "messages_topic_too_long": self.messages_topic_too_long,
            "topics": {
                topic: state.as_diagnostics() for topic, state in self.topics.items()
            },
        }


def _topic_digest(topic: str) -> int:
    return int.from_bytes(
        blake2b(topic.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    )


def sources_of(
    subentry: ConfigSubentry, local_tz: tzinfo | None = None
) -> list[SensorSource]:
    """One source per reading of a sensor subentry, sharing one parse per payload.

    `local_tz` reads sensor times written without a zone (Tasmota's); by
    default Home Assistant's configured time zone.
    """
    config = SensorSourceConfig.from_subentry_data(subentry.data)
    shared = None
    if len(config.readings) > 1 or config.time_path:
        shared = PayloadReadings(config, local_tz or dt_util.get_default_time_zone())
    return [
        SensorSource(
            subentry.subentry_id,
            subentry.title,
            config.for_reading(reading),
            shared,
            index,
        )
        for index, reading in enumerate(config.readings)
    ]
