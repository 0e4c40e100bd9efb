"""Alert rules at run time: one state machine per alert and concrete topic.

Each alert subentry watches one sensor source. With a wildcard source every
concrete topic gets its own :class:`AlertTracker`, which owns an
:class:`~.engine.alerts.AlertMachine` and feeds it:

- on every reading of its topic (the hub's sample listeners), with the raw
  value, one statistic of one window, or the window's change per minute;
- on the hub's update tick, for statistics and rates, whose value also changes
  when old samples leave the window;
- from an exact timer at the machine's ``next_deadline`` (on/off delays and the
  stale rule, which needs no message to fire).

The machine returns at most one transition per call; the tracker handles each
one (entity state, ``iotitan_alert`` event, MQTT output) and drains any that
are already due before scheduling its timer again.

An alert that cannot run (its source was deleted, or no longer has the window
it watches) raises a repair issue for the user while the hub runs; see
:class:`AlertProblem`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
import time
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .const import DOMAIN, EVENT_ALERT, LOGGER, SUBENTRY_ALERT
from .engine.alerts import (
    AlertConfig,
    AlertMachine,
    AlertRule,
    Transition,
    validate_alert_config,
)
from .engine.output import format_duration, is_wildcard
from .engine.window import SlidingWindow, Statistic
from .engine.window_statistic import WindowStatistic
from .listeners import Listeners
from .models import AlertSubentryConfig, SensorSourceConfig, watch_text

if TYPE_CHECKING:
    from .source import SensorSource, TopicState

ATTR_STATE = "state"
ATTR_VALUE = "value"
ATTR_LIMIT = "limit"
ATTR_RULE = "rule"
ATTR_SEVERITY = "severity"
ATTR_SINCE = "since"
ATTR_TOPIC = "topic"
ATTR_WATCH = "watch"

# A call yields at most one transition; a few more can be due at once (a late
# update resolving a delay and changing state again). Bounded for safety.
MAX_TRANSITIONS_PER_CALL = 16


class AlertProblem(StrEnum):
    """Why an alert cannot run; the value is its repair issue's translation key."""

    SOURCE_MISSING = "alert_source_missing"
    WINDOW_MISSING = "alert_window_missing"
    RATE_WITHOUT_WINDOW = "alert_rate_without_window"


PROBLEM_LOG_TEXT: dict[AlertProblem, str] = {
    AlertProblem.SOURCE_MISSING: "its sensor source no longer exists",
    AlertProblem.WINDOW_MISSING: "it watches a window the source no longer has",
    AlertProblem.RATE_WITHOUT_WINDOW: (
        "a rate rule needs a window and the source has none"
    ),
}


def alert_issue_id(entry_id: str, subentry_id: str) -> str:
    """Id of the repair issue of an alert that cannot run."""
    return f"alert_broken_{entry_id}_{subentry_id}"


@callback
def async_delete_alert_issues(
    hass: HomeAssistant, entry_id: str, keep: Collection[str] = ()
) -> None:
    """Delete the alert repair issues of a hub, except those in `keep`.

    By prefix, so that the issues of alerts deleted since go too (entry ids
    hold no `_`).
    """
    prefix = alert_issue_id(entry_id, "")
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain == DOMAIN and issue_id.startswith(prefix) and issue_id not in keep:
            ir.async_delete_issue(hass, DOMAIN, issue_id)


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """An alert subentry's settings, parsed and checked."""

    subentry_id: str
    title: str
    name: str
    """The user's name for the alert; empty for a translated default."""
    source_id: str
    """The sensor subentry."""
    source_key: str
    """The watched reading's source in the hub (`models.source_key`)."""
    watch: WindowStatistic | None
    """The watched statistic; None for the raw value. Its percentile is the source's."""
    config: AlertConfig

    @classmethod
    def from_subentry(cls, subentry: ConfigSubentry) -> AlertSettings:
        """Build from what the alert flow stores (its model); ValueError if unusable."""
        alert = AlertSubentryConfig.from_subentry_data(subentry.data)
        if errors := validate_alert_config(alert.config):
            raise ValueError(f"invalid rule settings {errors}")
        return cls(
            subentry_id=subentry.subentry_id,
            title=subentry.title,
            name=alert.name,
            source_id=alert.source_id,
            source_key=alert.source_key,
            watch=alert.watch,
            config=alert.config,
        )

    @property
    def output_name(self) -> str:
        """The alert's last topic level in the MQTT output."""
        return self.name or str(self.config.rule)

    def rate_window(self, source: SensorSourceConfig) -> float | None:
        """The window whose change per minute a rate rule watches.

        The watched statistic's window; for the raw value, the shortest one.
        """
        if self.watch is not None:
            return self.watch.window
        return min(source.windows, default=None)

    def problem_with(self, source: SensorSourceConfig) -> AlertProblem | None:
        """Why the alert cannot run on this source, or None.

        Only a missing window stops it: a window computes every statistic, so
        one the source no longer shows as a sensor is still watched.
        """
        if self.watch is not None and self.watch.window not in source.windows:
            return AlertProblem.WINDOW_MISSING
        if self.config.rule is AlertRule.RATE and self.rate_window(source) is None:
            return AlertProblem.RATE_WITHOUT_WINDOW
        return None


class AlertTracker:
    """One alert rule on one concrete topic."""

    def __init__(
        self,
        runtime: AlertRuntime,
        settings: AlertSettings,
        source: SensorSource,
        topic: TopicState,
    ) -> None:
        """Create the machine; it stays unknown until the topic reports."""
        self.runtime = runtime
        self.settings = settings
        self.source = source
        self.topic = topic
        self.machine = AlertMachine(settings.config)
        self.value: float | None = None
        """The watched value at the last transition."""
        self.entity_id: str | None = None
        self.restored_last_seen: float | None = None
        self._state: bool | None = None
        self._primed = False
        self._write_state: CALLBACK_TYPE | None = None
        self._unannounced: Transition | None = None
        self._cancel_timer: CALLBACK_TYPE | None = None
        self._timer_at: float | None = None
        rule = settings.config.rule
        self._follows_windows = rule is AlertRule.RATE or (
            rule is not AlertRule.STALE and settings.watch is not None
        )
        self._window: SlidingWindow | None = None
        # The stored watch leaves a percentile's N to the source.
        self._watched = (
            None
            if settings.watch is None
            else settings.watch.with_source_percentile(source.config.percentile)
        )
        if rule is AlertRule.RATE:
            window = settings.rate_window(source.config)
            self._window = None if window is None else topic.windows[window]
        elif settings.watch is not None:
            self._window = topic.windows[settings.watch.window]

    @property
    def forgotten(self) -> bool:
        """Whether the user removed the topic's device since (see the hub)."""
        return self.source.topics.get(self.topic.topic) is not self.topic

    @property
    def last_seen(self) -> float | None:
        """When the topic last had a reading (restored if not seen since)."""
        if self.topic.last_received is not None:
            return self.topic.last_received
        return self.restored_last_seen

    def watched(self) -> float | None:
        """The quantity the rule compares now: value, statistic or rate."""
        config = self.settings.config
        if config.rule is AlertRule.RATE:
            assert self._window is not None
            rate = self._window.value(Statistic.CHANGE_SECOND)
            return None if rate is None else rate * 60
        if self._window is None:
            return self.topic.last_value
        assert self._watched is not None
        return self._watched.value_in(self._window)

    # -- inputs -----------------------------------------------------------------

    @callback
    def async_restore(
        self,
        state: bool,
        since: float | None,
        *,
        value: float | None,
        limit: float | None,
        last_seen: float | None,
    ) -> None:
        """Restore the state saved before a restart (before any evaluation)."""
        self.restored_last_seen = last_seen
        self.machine.restore(state, since, limit=limit, last_seen=self.last_seen)
        self._state = state
        self.value = value

    @callback
    def async_prime(self, now: float) -> None:
        """Evaluate once from the windows the journal rebuilt (at startup)."""
        if self._primed:
            return
        self._primed = True
        if self.settings.config.rule is AlertRule.STALE:
            last_seen = self.last_seen
            if self.machine.state is None and last_seen is not None:
                self._process(self.machine.update(last_seen), now)
            self._process(self.machine.tick(now), now)
        else:
            self._process(self.machine.update(now, self.watched()), now)

    @callback
    def async_sample(self, timestamp: float) -> None:
        """A reading arrived on the topic (the windows already have it)."""
        self._primed = True
        if self.settings.config.rule is AlertRule.STALE:
            transition = self.machine.update(timestamp)
        else:
            transition = self.machine.update(timestamp, self.watched())
        self._process(transition, timestamp)

    @callback
    def async_tick(self, now: float) -> None:
        """The hub's update tick: statistics and rates change as samples expire."""
        if self._follows_windows:
            self._process(self.machine.update(now, self.watched()), now)

    @callback
    def _async_timer(self, _point: datetime) -> None:
        deadline, self._timer_at = self._timer_at, None
        self._cancel_timer = None
        if self.forgotten:
            return
        # The exact deadline, not the timer's rounded datetime: a call a hair
        # before it would resolve nothing and re-arm the same instant forever.
        now = time.time() if deadline is None else max(time.time(), deadline)
        self._process(self.machine.tick(now), now)

    # -- outputs ----------------------------------------------------------------

    def _process(self, transition: Transition | None, now: float) -> None:
        """Handle a transition and every further one already due, then re-arm."""
        for _ in range(MAX_TRANSITIONS_PER_CALL):
            if transition is not None:
                self._emit(transition)
            deadline = self.machine.next_deadline()
            if deadline is None or deadline > now:
                break
            transition = self.machine.tick(now)
        self._schedule()

    def _schedule(self) -> None:
        deadline = self.machine.next_deadline()
        if deadline == self._timer_at:
            return
        self.async_cancel_timer()
        if deadline is not None:
            self._timer_at = deadline
            self._cancel_timer = async_track_point_in_utc_time(
                self.runtime.hass,
                self._async_timer,
                dt_util.utc_from_timestamp(deadline),
            )

    @callback
    def async_cancel_timer(self) -> None:
        """Stop the timer (unload)."""
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None
        self._timer_at = None

    def _emit(self, transition: Transition) -> None:
        previous, self._state = self._state, transition.state
        self.value = transition.value
        if self._write_state is not None:
            self._write_state()
        # Becoming known as "off" is no change for anyone watching the alert.
        if previous is not None or transition.state:
            if self.entity_id is None:
                # A new topic's entity is added right after its first reading:
                # the event waits for it.
                self._unannounced = transition
            else:
                self._fire_event(transition)
        self.runtime.transition_listeners(self, transition)

    def _fire_event(self, transition: Transition) -> None:
        self._unannounced = None
        self.runtime.hass.bus.async_fire(EVENT_ALERT, self.event_data(transition))

    def event_data(self, transition: Transition) -> dict[str, Any]:
        """The `iotitan_alert` event's data for a transition."""
        return {
            ATTR_ENTITY_ID: self.entity_id,
            ATTR_STATE: STATE_ON if transition.state else STATE_OFF,
            ATTR_VALUE: transition.value,
            ATTR_LIMIT: transition.limit,
            ATTR_RULE: str(transition.rule),
            ATTR_SEVERITY: str(transition.severity),
            ATTR_TOPIC: self.topic.topic,
            ATTR_SINCE: dt_util.utc_from_timestamp(transition.at).isoformat(),
        }

    @callback
    def async_attach(
        self, entity_id: str, write_state: Callable[[], None]
    ) -> CALLBACK_TYPE:
        """Let an entity show the alert; returns the function that detaches it."""
        self.entity_id = entity_id
        self._write_state = write_state
        if self._unannounced is not None:
            self._fire_event(self._unannounced)

        @callback
        def detach() -> None:
            if self._write_state is write_state:
                self.entity_id = None
                self._write_state = None

        return detach

    def as_diagnostics(self) -> dict[str, Any]:
        """The machine's state and the entity showing it."""
        return {"entity_id": self.entity_id, **self.machine.as_dict()}


class AlertRuntime:
    """Every alert of one hub."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        sources: Mapping[str, SensorSource],
    ) -> None:
        """Parse the entry's alert subentries on the given sources.

        The hub wires the runtime: it feeds `async_sample` and `async_tick`
        and subscribes to `transition_listeners` (MQTT output).
        """
        self.hass = hass
        self.entry = entry
        self.transition_listeners: Listeners[[AlertTracker, Transition]] = Listeners()
        """Called with each tracker's transitions (after its state is written)."""
        self.alerts: dict[str, AlertSettings] = {}
        self.trackers: dict[tuple[str, str], AlertTracker] = {}
        self._by_source: dict[str, list[AlertSettings]] = {}
        self.issue_ids: list[str] = []
        """Repair issues raised for the alerts that cannot run."""
        self._sources = sources
        for subentry in entry.subentries.values():
            if subentry.subentry_type == SUBENTRY_ALERT:
                self.async_add_alert(subentry)
        # Issues of a previous run whose alert works again or was deleted.
        async_delete_alert_issues(hass, entry.entry_id, keep=self.issue_ids)

    @callback
    def async_add_alert(self, subentry: ConfigSubentry) -> AlertSettings | None:
        """Run an alert subentry (at setup, or added while the hub runs).

        None if it cannot run: it is logged and, where the person can fix it,
        a repair issue says why.
        """
        try:
            settings = AlertSettings.from_subentry(subentry)
        except (KeyError, TypeError, ValueError) as err:
            LOGGER.error("Alert %s is skipped: %s", subentry.title, err)
            return None
        source = self._sources.get(settings.source_key)
        problem = (
            AlertProblem.SOURCE_MISSING
            if source is None
            else settings.problem_with(source.config)
        )
        if problem is not None:
            LOGGER.warning(
                "Alert %s is skipped: %s", subentry.title, PROBLEM_LOG_TEXT[problem]
            )
            self._async_raise_issue(settings, source, problem)
            return None
        self.alerts[subentry.subentry_id] = settings
        self._by_source.setdefault(settings.source_key, []).append(settings)
        return settings

    @callback
    def async_remove_alert(self, subentry_id: str) -> None:
        """Stop an alert whose subentry was deleted while the hub runs.

        Home Assistant removes its device and entities with the subentry.
        """
        settings = self.alerts.pop(subentry_id, None)
        if settings is not None:
            self._by_source[settings.source_key].remove(settings)
        for key in [key for key in self.trackers if key[0] == subentry_id]:
            self.trackers.pop(key).async_cancel_timer()
        issue_id = alert_issue_id(self.entry.entry_id, subentry_id)
        if issue_id in self.issue_ids:
            self.issue_ids.remove(issue_id)
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)

    @callback
    def _async_raise_issue(
        self,
        settings: AlertSettings,
        source: SensorSource | None,
        problem: AlertProblem,
    ) -> None:
        """Tell the user that an alert cannot run, until it is fixed or deleted."""
        issue_id = alert_issue_id(self.entry.entry_id, settings.subentry_id)
        placeholders = {"alert": settings.title, "hub": self.entry.title}
        if source is not None:
            placeholders["source"] = source.title
        if problem is AlertProblem.WINDOW_MISSING:
            assert settings.watch is not None
            placeholders["window"] = format_duration(settings.watch.window)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=problem.value,
            translation_placeholders=placeholders,
        )
        self.issue_ids.append(issue_id)

    def names_on(self) -> list[str]:
        """Names of the alerts that are on now (a ThingSpeak channel's status).

        An alert on a wildcard source names the topic too: ``High (home/den/t)``.
        """
        names: set[str] = set()
        for tracker in self.trackers.values():
            if tracker.machine.state:
                title = tracker.settings.title
                if is_wildcard(tracker.source.config.topic):
                    title = f"{title} ({tracker.topic.topic})"
                names.add(title)
        return sorted(names)

    def alerts_for(self, source_key: str) -> list[AlertSettings]:
        """The alerts watching a source (by `SensorSource.key`)."""
        return self._by_source.get(source_key, [])

    @callback
    def tracker(
        self, settings: AlertSettings, source: SensorSource, topic: TopicState
    ) -> AlertTracker:
        """The tracker of an alert on a topic, created when first needed."""
        key = (settings.subentry_id, topic.topic)
        tracker = self.trackers.get(key)
        if tracker is None or tracker.topic is not topic:
            # New, or the topic was forgotten and came back with new windows.
            if tracker is not None:
                tracker.async_cancel_timer()
            tracker = self.trackers[key] = AlertTracker(self, settings, source, topic)
        return tracker

    @callback
    def async_sample(
        self, source: SensorSource, topic: TopicState, timestamp: float, value: float
    ) -> None:
        """A reading reached a topic's windows: its alerts look at it."""
        for settings in self._by_source.get(source.key, ()):
            self.tracker(settings, source, topic).async_sample(timestamp)

    @callback
    def async_tick(self, now: float) -> None:
        """Forget trackers of forgotten topics; let the others see the time."""
        for key, tracker in list(self.trackers.items()):
            if tracker.forgotten:
                tracker.async_cancel_timer()
                del self.trackers[key]
            else:
                tracker.async_tick(now)

    @callback
    def async_stop(self) -> None:
        """Stop every timer and listener."""
        for tracker in self.trackers.values():
            tracker.async_cancel_timer()
        # Raised again at the next setup if still true (as the channels do).
        async_delete_alert_issues(self.hass, self.entry.entry_id)

    def as_diagnostics(self) -> dict[str, Any]:
        """Every alert's settings and the machine of each of its topics."""
        return {
            subentry_id: {
                "title": settings.title,
                "source": settings.source_id,
                "watch": watch_text(settings.watch),
                "topics": {
                    topic: tracker.as_diagnostics()
                    for (alert_id, topic), tracker in self.trackers.items()
                    if alert_id == subentry_id
                },
            }
            for subentry_id, settings in self.alerts.items()
        }
