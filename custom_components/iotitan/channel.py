"""ThingSpeak channels of a hub: the Home Assistant side of the bridge.

Each "channel" subentry becomes a `ThingSpeakChannel` in the hub's `channels`:

* the row schedule: at every multiple of the upload interval (UTC, so a 300 s
  interval writes at :00, :05, ...) one `Row` with every mapped field's current
  statistic, stamped with that exact instant;
* an `Outbox` persisted in a `Store` (``iotitan.<entry id>.<subentry id>``),
  written by the engine's ``save`` callback before every upload call, after
  every answer and whenever rows were added, so a restart loses no row and the
  high-water mark keeps a row from being uploaded twice;
* a `ChannelSender` that uploads it (oldest first, within the plan's batch size
  and spacing, with backoff) through Home Assistant's aiohttp session;
* what needs a person: a refused write key starts a reauthentication flow on the
  hub entry (the subentry id goes in the flow data); a used-up message quota or
  an unknown channel raises a repair issue, deleted once uploads succeed again;
* the config flow's test row is a write too (see `channel_helpers`): a sender
  that starts after one was written keeps the plan's spacing from it;
* one ThingSpeak channel gets rows from one channel subentry of all hubs
  (`channel_in_use`): a repair issue says so for an older installation that
  has two.

The settings are the subentry's model (`models.ChannelSubentryConfig`); the
running channels are listed in `channel_helpers.DATA_CHANNELS`, where the
flows' helpers find their senders.

The write key stays inside `ChannelConfig` (which never shows it) and the
subentry data; nothing here logs it, and diagnostics redact it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
import math
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import (
    CONF_LATITUDE,
    CONF_LONGITUDE,
    EVENT_HOMEASSISTANT_STOP,
)
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    HassJob,
    HomeAssistant,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    device_registry as dr,
    issue_registry as ir,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .channel_helpers import (
    DATA_CHANNELS,
    DATA_TEST_WRITES,
    channel_in_use,
    write_target,
)
from .const import (
    CONF_SUBENTRY_ID,
    CONF_WRITE_KEY,
    DOMAIN,
    LOGGER,
    SUBENTRY_CHANNEL,
)
from .device import (
    build_device_info,
    device_config_entry_ids,
    hub_device_identifier,
    subentry_device_identifier,
)
from .engine.thingspeak import (
    DEFAULT_BASE_URL,
    ChannelSender,
    FieldValue,
    Outbox,
    Problem,
    Row,
    UploadResult,
    parse_created_at,
)
from .engine.window import Statistic
from .listeners import Listeners
from .models import ChannelSubentryConfig, FieldSource

if TYPE_CHECKING:
    from .source import SensorSource, TopicState

STORAGE_VERSION: Final = 1
MAX_STATUS_LENGTH: Final = 255
MODEL: Final = "ThingSpeak channel"
ISSUE_TRANSLATION_KEYS: Final = {
    Problem.QUOTA: "thingspeak_quota",
    Problem.NOT_FOUND: "thingspeak_not_found",
}
TO_REDACT: Final = {CONF_WRITE_KEY, CONF_LATITUDE, CONF_LONGITUDE, "write_key"}


def storage_key(entry_id: str, subentry_id: str) -> str:
    """Key of a channel's outbox in `.storage`."""
    return f"{DOMAIN}.{entry_id}.{subentry_id}"


# -- the runtime --------------------------------------------------------------------------


class ThingSpeakChannel:
    """Runtime of one channel subentry: its schedule, outbox and sender."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        subentry: ConfigSubentry,
        sources: Mapping[str, SensorSource],
        alerts_on: Callable[[], list[str]],
    ) -> None:
        """Parse the settings; `async_load` reads the outbox.

        Rows are built from `sources`; `alerts_on` names the alerts that are
        on (the status field).
        """
        self.hass = hass
        self.entry = entry
        self.sources = sources
        self._alerts_on = alerts_on
        self.subentry_id = subentry.subentry_id
        self.title = subentry.title
        self.settings = ChannelSubentryConfig.from_subentry_data(subentry.data)
        self.store: Store[dict[str, Any]] = Store(
            hass,
            STORAGE_VERSION,
            storage_key(self.entry.entry_id, self.subentry_id),
            atomic_writes=True,
        )
        self._sender: ChannelSender | None = None
        self.restored_last_success: datetime | None = None
        self.next_row_at: datetime | None = None
        self.rows_skipped = 0
        """Rows not made because no mapped statistic had a value."""
        self._listeners: Listeners[[]] = Listeners()
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._stop_listener: CALLBACK_TYPE | None = None
        self._stopped = False

    def __repr__(self) -> str:
        """Describe the channel without its key."""
        return f"ThingSpeakChannel({self.title!r}, {self.settings.channel_id})"

    @property
    def sender(self) -> ChannelSender:
        """The engine's sender (after `async_load`)."""
        if self._sender is None:
            raise RuntimeError("channel not loaded")
        return self._sender

    @property
    def last_success(self) -> datetime | None:
        """When rows were last uploaded, also from before a restart."""
        return self.sender.last_success or self.restored_last_success

    @property
    def device_info(self) -> DeviceInfo:
        """The channel's device, below the hub's."""
        extra: dict[str, Any] = {"entry_type": DeviceEntryType.SERVICE}
        if self.settings.base_url == DEFAULT_BASE_URL:
            extra["configuration_url"] = (
                f"https://thingspeak.mathworks.com/channels/{self.settings.channel_id}"
            )
        return build_device_info(
            self.hass,
            self.entry.entry_id,
            identifier=subentry_device_identifier(self.subentry_id),
            name=self.title,
            model=MODEL,
            via=hub_device_identifier(self.entry.entry_id),
            **extra,
        )

    # -- lifecycle ---------------------------------------------------------------------

    async def async_load(self) -> None:
        """Read the saved outbox and build the sender."""
        outbox = Outbox(max_rows=self.settings.max_rows)
        data = await self.store.async_load()
        if data is not None:
            try:
                outbox = Outbox.from_dict(
                    data["outbox"], max_rows=self.settings.max_rows
                )
                last_success = data.get("last_success")
                if last_success is not None:
                    self.restored_last_success = parse_created_at(last_success)
            except (AttributeError, KeyError, TypeError, ValueError) as err:
                LOGGER.error(
                    "ThingSpeak channel %s: the saved outbox cannot be read (%s); "
                    "starting with an empty one",
                    self.title,
                    err,
                )
        self._sender = ChannelSender(
            async_get_clientsession(self.hass),
            self.settings.channel_config(),
            outbox,
            save=self._async_save,
            on_problem=self._on_problem,
            on_problem_cleared=self._on_problem_cleared,
            clock=self.hass.loop.time,
            utcnow=dt_util.utcnow,
            row_interval=self.settings.upload_interval,
        )
        test_writes = self.hass.data.get(DATA_TEST_WRITES, {})
        if (at := test_writes.get(write_target(self._sender.config))) is not None:
            self._sender.note_write(at)

    async def async_start(self) -> None:
        """Start uploading and the row schedule."""
        # Issues of a previous run: still true, they come back at the next call.
        self._delete_issues()
        self._check_shared()
        self.async_check_fields()
        await self.sender.start(create_task=self._create_task)
        self._schedule_next_row(dt_util.utcnow())
        self._stop_listener = self.hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_STOP, self._async_home_assistant_stop
        )

    def _create_task(
        self, coro: Coroutine[Any, Any, None], name: str
    ) -> asyncio.Task[None]:
        return self.entry.async_create_background_task(self.hass, coro, name)

    async def async_stop(self) -> None:
        """Stop the schedule and the sender (which saves the outbox)."""
        if self._stopped:
            return
        self._stopped = True
        if self._stop_listener is not None:
            self._stop_listener()
            self._stop_listener = None
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None
        if self._sender is not None:
            await self._sender.stop()
        self._delete_issues()
        if self.subentry_id not in self.entry.subentries:
            # The user removed the channel: its rows go with it.
            await self.store.async_remove()

    async def _async_home_assistant_stop(self, event: Event) -> None:
        """Save the outbox when Home Assistant stops (entries are not unloaded)."""
        self._stop_listener = None  # fired, hence already removed
        await self.async_stop()

    # -- rows ------------------------------------------------------------------------------

    @callback
    def _schedule_next_row(self, after: datetime) -> None:
        """Schedule the next row at the first multiple of the interval after `after`."""
        interval = self.settings.upload_interval
        base = max(after.timestamp(), dt_util.utcnow().timestamp())
        self.next_row_at = dt_util.utc_from_timestamp(
            (math.floor(base / interval) + 1) * interval
        )
        self._unsub_timer = async_track_point_in_utc_time(
            self.hass,
            HassJob(
                self._async_row_due,
                f"{DOMAIN} thingspeak row {self.title}",
                cancel_on_shutdown=True,
            ),
            self.next_row_at,
        )

    @callback
    def _async_row_due(self, when: datetime) -> None:
        """Make the row of `when` (an exact multiple of the interval)."""
        self._schedule_next_row(when)
        self.expire_field_windows(when)
        row = self.build_row(when)
        if row is None:
            self.rows_skipped += 1
        else:
            self.sender.add(row)
        self.async_notify()

    def expire_field_windows(self, when: datetime) -> None:
        """Drop the samples that left the fields' windows by the row's time.

        The hub's tick, which also expires, may be an hour apart; a row must
        not carry a sample that left its window before the row's time. Samples
        stamped after `when` stay (the timer ran late: they are not from the
        future, and the next rows need them).
        """
        timestamp = when.timestamp()
        for field_source in self.settings.fields.values():
            if (state := self._field_topic(field_source)) is not None:
                state.expire_windows(timestamp)

    def build_row(self, when: datetime) -> Row | None:
        """The row for `when`: every mapped statistic that has a value now.

        Reads the windows as they are, changing nothing: `expire_field_windows`
        first brings them to the row's time.
        """
        values: dict[int, FieldValue] = {}
        for number, source in self.settings.fields.items():
            value = self._field_value(source)
            if value is not None:
                values[number] = value
        status: str | None = None
        if self.settings.send_status:
            status = ", ".join(self._alerts_on())[:MAX_STATUS_LENGTH] or None
        if not values and status is None:
            return None
        return Row.with_fields(
            when,
            values,
            status=status,
            latitude=self.settings.latitude,
            longitude=self.settings.longitude,
        )

    def _field_topic(self, field_source: FieldSource) -> TopicState | None:
        """The topic a field reads, if its source has seen it."""
        source = self.sources.get(field_source.source_key)
        return None if source is None else source.topics.get(field_source.topic)

    def _field_value(self, field_source: FieldSource) -> FieldValue:
        state = self._field_topic(field_source)
        if state is None:
            return None
        source = self.sources[field_source.source_key]
        window = state.windows.get(field_source.window)
        if window is None:
            return None
        carried = field_source.window_statistic
        value = carried.with_source_percentile(source.config.percentile).value_in(
            window
        )
        if value is None or not math.isfinite(value):
            return None
        if field_source.statistic is Statistic.COUNT or source.config.precision == 0:
            return round(value)
        return round(value, source.config.precision)

    # -- control ---------------------------------------------------------------------------

    @callback
    def async_push_now(self) -> None:
        """Upload the rows waiting now, skipping any backoff (spacing still holds)."""
        if self.sender.auth_blocked:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="channel_key_refused",
                translation_placeholders={"channel": self.title},
            )
        self.sender.push_now()

    # -- callbacks from the sender ---------------------------------------------------------

    async def _async_save(self, outbox: dict[str, Any]) -> None:
        last_success = self.last_success
        await self.store.async_save(
            {
                "outbox": outbox,
                "last_success": None
                if last_success is None
                else last_success.isoformat(),
            }
        )
        self.async_notify()

    @callback
    def _on_problem(self, problem: Problem, result: UploadResult) -> None:
        if problem is Problem.AUTH:
            self.entry.async_start_reauth(
                self.hass, data={CONF_SUBENTRY_ID: self.subentry_id}
            )
        else:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self._issue_id(problem),
                is_fixable=False,
                is_persistent=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_TRANSLATION_KEYS[problem],
                translation_placeholders={
                    "channel": self.title,
                    "channel_id": str(self.settings.channel_id),
                },
            )
        self.async_notify()

    @callback
    def _on_problem_cleared(self, problem: Problem) -> None:
        if problem in ISSUE_TRANSLATION_KEYS:
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(problem))
        self.async_notify()

    def _issue_id(self, problem: Problem) -> str:
        return f"thingspeak_{problem}_{self.subentry_id}"

    @callback
    def _delete_issues(self) -> None:
        for problem in ISSUE_TRANSLATION_KEYS:
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(problem))
        ir.async_delete_issue(self.hass, DOMAIN, self._shared_issue_id)
        ir.async_delete_issue(self.hass, DOMAIN, self._fields_issue_id)

    @property
    def _shared_issue_id(self) -> str:
        return f"thingspeak_shared_{self.subentry_id}"

    @property
    def _fields_issue_id(self) -> str:
        return f"thingspeak_fields_{self.subentry_id}"

    @callback
    def async_check_fields(self) -> None:
        """Raise a repair issue while fields read a source or window that is gone.

        A source deleted, or reconfigured without the field's window, leaves
        the field empty in every row until the channel's fields are edited.
        Checked at start and whenever the hub's sources change.
        """
        missing = [
            f"field{number}"
            for number, field_source in sorted(self.settings.fields.items())
            if (source := self.sources.get(field_source.source_key)) is None
            or field_source.window not in source.config.windows
        ]
        if not missing:
            ir.async_delete_issue(self.hass, DOMAIN, self._fields_issue_id)
            return
        LOGGER.warning(
            "ThingSpeak channel %s: %s read a sensor source or window that no "
            "longer exists and stay empty until the channel's fields are edited",
            self.title,
            ", ".join(missing),
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._fields_issue_id,
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="thingspeak_fields_missing",
            translation_placeholders={
                "channel": self.title,
                "hub": self.entry.title,
                "fields": ", ".join(missing),
            },
        )

    @callback
    def _check_shared(self) -> None:
        """Raise a repair issue when another channel subentry sends to this channel.

        The flows refuse that; an installation made before they did may have it.
        """
        other = channel_in_use(
            self.hass,
            self.settings.channel_id,
            self.settings.base_url,
            self.subentry_id,
        )
        if other is None:
            return
        LOGGER.warning(
            "ThingSpeak channel %s of hub %s sends to channel %s, and so does %s of "
            "hub %s: the two collide on its rate limit and timestamps",
            self.title,
            self.entry.title,
            self.settings.channel_id,
            other.channel,
            other.hub,
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._shared_issue_id,
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="thingspeak_channel_shared",
            translation_placeholders={
                "channel": self.title,
                "hub": self.entry.title,
                "channel_id": str(self.settings.channel_id),
                "other_channel": other.channel,
                "other_hub": other.hub,
            },
        )

    # -- entities and diagnostics ------------------------------------------------------------

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `listener` when the channel's state may have changed."""
        return self._listeners.add(listener)

    @callback
    def async_notify(self) -> None:
        """Let the channel's entities write their state."""
        self._listeners()

    def as_diagnostics(self) -> dict[str, Any]:
        """Settings, schedule, sender state and dead letters; no key, no location."""
        sender = self.sender
        return async_redact_data(
            {
                "title": self.title,
                "settings": self.settings.as_diagnostics(),
                "next_row_at": None
                if self.next_row_at is None
                else self.next_row_at.isoformat(),
                "rows_skipped_no_value": self.rows_skipped,
                "sender": sender.diagnostics(),
                "dead_letters": [
                    letter.to_dict() for letter in sender.outbox.dead_letters
                ],
            },
            TO_REDACT,
        )


# -- setup from the hub entry -------------------------------------------------------------


async def async_setup_channels(
    hass: HomeAssistant,
    entry: ConfigEntry[Any],
    sources: Mapping[str, SensorSource],
    alerts_on: Callable[[], list[str]],
) -> dict[str, ThingSpeakChannel]:
    """Load and start every channel subentry of a hub; stop them on unload.

    Returns them by subentry id (the hub's `channels`, which
    `async_add_channel` and `async_remove_channel` are given); they are also
    listed in `DATA_CHANNELS` (the flows of every hub look there for senders
    writing to a ThingSpeak channel) until the entry unloads.
    """
    channels: dict[str, ThingSpeakChannel] = {}
    hass.data.setdefault(DATA_CHANNELS, {})[entry.entry_id] = channels

    @callback
    def forget() -> None:
        hass.data.get(DATA_CHANNELS, {}).pop(entry.entry_id, None)

    entry.async_on_unload(forget)
    for subentry in entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_CHANNEL:
            await async_add_channel(hass, entry, subentry, channels, sources, alerts_on)
    return channels


async def async_add_channel(
    hass: HomeAssistant,
    entry: ConfigEntry[Any],
    subentry: ConfigSubentry,
    channels: dict[str, ThingSpeakChannel],
    sources: Mapping[str, SensorSource],
    alerts_on: Callable[[], list[str]],
) -> ThingSpeakChannel:
    """Load and start one channel subentry (at setup, or added while running).

    It joins `channels`, the hub's (see `async_setup_channels`).
    """
    channel = ThingSpeakChannel(hass, entry, subentry, sources, alerts_on)
    await channel.async_load()
    channels[subentry.subentry_id] = channel
    entry.async_on_unload(channel.async_stop)
    await channel.async_start()
    return channel


async def async_remove_channel(
    channels: dict[str, ThingSpeakChannel], subentry_id: str
) -> None:
    """Stop a channel whose subentry was deleted (its outbox goes with it).

    It leaves `channels`, the hub's (see `async_setup_channels`).
    """
    if (channel := channels.pop(subentry_id, None)) is not None:
        await channel.async_stop()


async def async_remove_channel_stores(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Delete the outboxes of a hub the user removed."""
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type == SUBENTRY_CHANNEL:
            await Store[dict[str, Any]](
                hass, STORAGE_VERSION, storage_key(entry.entry_id, subentry_id)
            ).async_remove()


@callback
def async_get_channel(hass: HomeAssistant, device_id: str) -> ThingSpeakChannel:
    """The running channel of a device; ServiceValidationError otherwise."""
    device = dr.async_get(hass).async_get(device_id)
    if device is not None:
        for domain, identifier in device.identifiers:
            if domain != DOMAIN:
                continue
            for entry_id in device_config_entry_ids(device):
                entry = hass.config_entries.async_get_entry(entry_id)
                if entry is None or entry.domain != DOMAIN:
                    continue
                subentry = entry.subentries.get(identifier)
                if subentry is None or subentry.subentry_type != SUBENTRY_CHANNEL:
                    continue
                channels = hass.data.get(DATA_CHANNELS, {}).get(entry_id, {})
                # Only channel.py lists channels there, all ThingSpeakChannels.
                if isinstance(channel := channels.get(identifier), ThingSpeakChannel):
                    return channel
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="channel_not_loaded",
                    translation_placeholders={"channel": subentry.title},
                )
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="not_a_channel_device",
        translation_placeholders={"device_id": device_id},
    )
