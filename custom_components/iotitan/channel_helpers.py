"""ThingSpeak channel helpers that need Home Assistant but no running part.

The config flows use them (`config_flow.py` imports no runtime module), and so
does the channel runtime (`channel.py`):

* `field_topics`: every reading and topic a field can read, from the device
  registry and the running hub;
* `channel_in_use`: one ThingSpeak channel gets rows from one channel subentry
  of all hubs;
* `async_send_test_row`: the flows' test row is a write too. Its time is kept
  in ``hass.data`` (`DATA_TEST_WRITES`) and given to the senders
  (`ChannelSender.note_write`), so the first upload after adding,
  reconfiguring or reauthenticating a channel keeps the plan's spacing
  instead of meeting a 429; its created_at is a second the running senders
  hold for it (`async_reserve_test_second`), so it never takes the second of
  a row of ours;
* `async_update_write_key`: a new key reaches the running sender and the
  subentry.

Running channels are reached through `DATA_CHANNELS`, which `channel.py`
fills, as `RunningChannel`: their id, settings and engine sender, nothing of
the runtime itself. The write key stays inside `ChannelConfig` (which never
shows it) and the subentry data; nothing here logs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol, cast

from homeassistant.config_entries import ConfigEntry, ConfigEntryState, ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .const import (
    CONF_WRITE_KEY,
    DOMAIN,
    LOGGER,
    SUBENTRY_CHANNEL,
    SUBENTRY_SENSOR,
)
from .device import topics_of_device
from .engine.output import is_wildcard
from .engine.thingspeak import (
    ChannelConfig,
    ChannelSender,
    ResultKind,
    Row,
    ThingSpeakClient,
)
from .models import ChannelSubentryConfig, SensorSourceConfig, source_key

TEST_ROW_STATUS: Final = "IoTitan test row"
TEST_ROW_TIMEOUT: Final = 10.0
TEST_ROW_ERRORS: Final = {
    ResultKind.AUTH: "invalid_auth",
    ResultKind.NOT_FOUND: "channel_not_found",
    ResultKind.QUOTA: "quota_exceeded",
    ResultKind.BAD_REQUEST: "test_row_refused",
    ResultKind.DUPLICATE: "test_row_refused",
}


class RunningChannel(Protocol):
    """What the helpers read of a running channel (`channel.ThingSpeakChannel`)."""

    @property
    def subentry_id(self) -> str:
        """The channel subentry."""

    @property
    def settings(self) -> ChannelSubentryConfig:
        """Its settings."""

    @property
    def sender(self) -> ChannelSender:
        """The engine's sender of its rows."""


DATA_CHANNELS: HassKey[dict[str, Mapping[str, RunningChannel]]] = HassKey(
    f"{DOMAIN}_channels"
)
"""The running channels of every loaded hub, by entry id, then subentry id.

Each hub's mapping is its own `channels`, which `channel.py` keeps.
"""
DATA_TEST_WRITES: HassKey[dict[tuple[str, int], datetime]] = HassKey(
    f"{DOMAIN}_test_writes"
)
"""When the config flow last wrote a test row, by `write_target`."""


def write_target(config: ChannelConfig) -> tuple[str, int]:
    """The channel a configuration writes to: its API's base URL and its id."""
    return (config.base_url, config.channel_id)


def running_channels(hass: HomeAssistant) -> list[RunningChannel]:
    """Every running channel of every hub."""
    return [
        channel
        for channels in hass.data.get(DATA_CHANNELS, {}).values()
        for channel in channels.values()
    ]


class _SeenTopics(Protocol):
    """A running source, as `field_topics` reads it (`source.SensorSource`)."""

    @property
    def subentry_id(self) -> str:
        """Its sensor subentry."""

    @property
    def topics(self) -> Mapping[str, object]:
        """Its topics seen so far."""


class _RunningSources(Protocol):
    """A running hub, as `field_topics` reads it (`hub.IoTitanHub`)."""

    @property
    def sources(self) -> Mapping[str, _SeenTopics]:
        """Its sources, one a reading, by `source_key`."""


@dataclass(frozen=True, slots=True)
class FieldTopic:
    """A topic a ThingSpeak field can read: one reading of one topic of a source."""

    source_id: str
    """The sensor subentry."""
    reading: str
    """The key of its reading."""
    topic: str
    label: str
    """As the fields step lists it: the topic, and the reading's name when the
    source has several."""


@callback
def field_topics(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, FieldTopic]:
    """Every (reading, topic) a field can read, by `FieldSource.topic_choice`.

    A source without wildcards offers its topic; a wildcard source offers the
    topics it has seen (from the device registry, and from the running hub).
    Each reading of a source of several is offered on each topic.
    """
    seen: dict[str, set[str]] = {}
    for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id):
        for subentry_id, topic in topics_of_device(device):
            seen.setdefault(subentry_id, set()).add(topic)
    if entry.state is ConfigEntryState.LOADED:
        hub = cast(_RunningSources, entry.runtime_data)
        for source in hub.sources.values():
            seen.setdefault(source.subentry_id, set()).update(source.topics)
    topics: dict[str, FieldTopic] = {}
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type != SUBENTRY_SENSOR:
            continue
        config = SensorSourceConfig.from_subentry_data(subentry.data)
        found = set(seen.get(subentry_id, ()))
        if not is_wildcard(config.topic):
            found.add(config.topic)
        for topic in sorted(found):
            for reading in config.readings:
                label = topic
                if len(config.readings) > 1:
                    label = f"{topic}: {reading.name or reading.value_path}"
                # The form of `FieldSource.topic_choice`.
                choice = f"{source_key(subentry_id, reading.key)}|{topic}"
                topics[choice] = FieldTopic(subentry_id, reading.key, topic, label)
    return topics


@dataclass(frozen=True, slots=True)
class ChannelUser:
    """A channel subentry that already writes to a ThingSpeak channel."""

    hub: str
    """The hub's title."""
    channel: str
    """The channel subentry's title."""


@callback
def channel_in_use(
    hass: HomeAssistant,
    channel_id: int,
    base_url: str,
    except_subentry_id: str | None,
) -> ChannelUser | None:
    """The channel subentry of any hub that writes to the same channel, if one does.

    Every IoTitan hub is looked at (loaded, disabled or failed alike): two
    writers of one channel would collide on its spacing and its timestamps.
    """
    wanted = base_url.rstrip("/")
    for entry in hass.config_entries.async_entries(DOMAIN):
        for subentry_id, subentry in entry.subentries.items():
            if subentry.subentry_type != SUBENTRY_CHANNEL:
                continue
            if subentry_id == except_subentry_id:
                continue
            other = ChannelSubentryConfig.from_subentry_data(subentry.data)
            if other.channel_id == channel_id and other.base_url.rstrip("/") == wanted:
                return ChannelUser(entry.title, subentry.title)
    return None


@callback
def async_reserve_test_second(
    hass: HomeAssistant,
    config: ChannelConfig,
    at: datetime,
    *,
    subentry_id: str | None = None,
    interval: float | None = None,
) -> datetime:
    """A second for the test row that no queued or later row of ours takes.

    The running senders that write to the channel (and the one of
    ``subentry_id``, whose rows go there after a reconfiguration) each reserve
    it: it is later than every row they hold and, where the row interval
    leaves a gap (2 s or more), no row time of their interval or of
    ``interval`` (a reconfiguration's new one); their later rows keep after it
    (`Outbox.reserve_second`). With no running sender the current second is
    free: rows of a channel being added start after it.
    """
    target = write_target(config)
    senders = [
        channel
        for channel in running_channels(hass)
        if channel.subentry_id == subentry_id
        or write_target(channel.sender.config) == target
    ]
    second = at.replace(microsecond=0)
    for _ in range(len(senders) + 1):
        chosen = second
        for channel in senders:
            intervals = [channel.settings.upload_interval]
            if interval is not None:
                intervals.append(interval)
            chosen = max(chosen, channel.sender.free_second(chosen, intervals))
        if chosen == second:
            break
        second = chosen
    for channel in senders:
        channel.sender.hold_second(second)
    return second


async def async_send_test_row(
    hass: HomeAssistant,
    config: ChannelConfig,
    *,
    subentry_id: str | None = None,
    interval: float | None = None,
) -> str | None:
    """Write one row (a status only) to check the key; None or a flow error key.

    The row's second is reserved with the channel's running sender (see
    `async_reserve_test_second`), so it never takes the second of a row of ours.
    """
    client = ThingSpeakClient(
        async_get_clientsession(hass),
        ChannelConfig(
            config.channel_id,
            config.write_key,
            config.plan,
            config.base_url,
            timeout=TEST_ROW_TIMEOUT,
        ),
    )
    at = dt_util.utcnow()
    second = async_reserve_test_second(
        hass, config, at, subentry_id=subentry_id, interval=interval
    )
    result = await client.bulk_update([Row(second, status=TEST_ROW_STATUS)])
    # Whatever the answer: ThingSpeak may count any call against the spacing.
    async_note_test_write(hass, config, at)
    if result.ok:
        return None
    LOGGER.debug(
        "ThingSpeak channel %s did not take the test row: %s",
        config.channel_id,
        result.detail,
    )
    if result.kind in TEST_ROW_ERRORS:
        return TEST_ROW_ERRORS[result.kind]
    return "rate_limited" if result.status == 429 else "cannot_connect"


@callback
def async_note_test_write(
    hass: HomeAssistant, config: ChannelConfig, at: datetime
) -> None:
    """Remember a test row written at `at`, so that uploads keep the spacing from it.

    A channel started later (added or reconfigured) reads it when it loads; a
    running one (reauthentication) is told now.
    """
    target = write_target(config)
    hass.data.setdefault(DATA_TEST_WRITES, {})[target] = at
    for channel in running_channels(hass):
        if write_target(channel.sender.config) == target:
            channel.sender.note_write(at)


@callback
def async_update_write_key(
    hass: HomeAssistant, entry: ConfigEntry, subentry: ConfigSubentry, write_key: str
) -> None:
    """Use a new write key: the running sender resumes, the subentry keeps it."""
    channels = hass.data.get(DATA_CHANNELS, {}).get(entry.entry_id, {})
    if (channel := channels.get(subentry.subentry_id)) is not None:
        channel.sender.set_write_key(write_key)
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, CONF_WRITE_KEY: write_key}
    )
