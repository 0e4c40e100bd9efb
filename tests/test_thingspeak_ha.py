"""ThingSpeak channels through Home Assistant: schedule, outbox, sender, problems.

Everything talks real HTTP to the fake ThingSpeak on 127.0.0.1 through Home
Assistant's own aiohttp session. Time is frozen (`freezer`) and moved forward
step by step; the sender's clock and the fake's are the event loop's, so the
spacing the fake records is exact.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
import copy
from datetime import datetime, timedelta
import itertools
import json
import logging
from pathlib import Path
import time
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_USER, ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant, State
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MqttMockHAClient,
)

from custom_components.iotitan.channel import ThingSpeakChannel, storage_key
from custom_components.iotitan.const import DOMAIN, SUBENTRY_CHANNEL
from custom_components.iotitan.device import subentry_device_identifier
from custom_components.iotitan.engine.thingspeak import Row
from custom_components.iotitan.engine.window import Statistic
from custom_components.iotitan.models import FieldSource, ReadingConfig

from .alerts_common import alert_subentry
from .common import (
    CHANNEL_ID,
    WRITE_KEY,
    channel_subentry,
    hub_entry,
    sensor_subentry,
    submit_channel_fields,
)
from .fake_thingspeak import FakeThingSpeak

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]

SOURCE_ID = "01SOURCE0000000000000000AA"
TOPIC = "weather/temperature"
INTERVAL = 60
SPACING = 15.0  # free plan


def field(statistic: str, window: float = 3600.0) -> dict[str, Any]:
    """A field mapping to a statistic of TOPIC."""
    return {
        "source": SOURCE_ID,
        "topic": TOPIC,
        "window": window,
        "statistic": statistic,
    }


FIELDS = {
    "1": field("mean"),
    "2": field("value_max"),
    "3": field("count"),
    "4": field("last"),
}


def source(**kwargs: Any) -> dict[str, Any]:
    """The sensor subentry the fields refer to, with a fixed id."""
    kwargs.setdefault("statistics", ["mean", "value_max", "count", "last"])
    return {**sensor_subentry(TOPIC, **kwargs), "subentry_id": SOURCE_ID}


def channel_entry(fake: FakeThingSpeak, **kwargs: Any) -> MockConfigEntry:
    """A hub with the source and one channel writing to the fake."""
    kwargs.setdefault("upload_interval", INTERVAL)
    fields = kwargs.pop("fields", FIELDS)
    return hub_entry(source(), channel_subentry(fields, base_url=fake.url, **kwargs))


def channel_of(entry: MockConfigEntry) -> ThingSpeakChannel:
    """The entry's (only) running channel."""
    channels = list(entry.runtime_data.channels.values())
    assert len(channels) == 1
    return channels[0]


def channel_subentry_id(entry: MockConfigEntry) -> str:
    """Id of the entry's channel subentry."""
    return next(
        subentry_id
        for subentry_id, subentry in entry.subentries.items()
        if subentry.subentry_type == SUBENTRY_CHANNEL
    )


def sensor_state(hass: HomeAssistant, entry: MockConfigEntry, key: str) -> State:
    """State of one of the channel's diagnostic sensors."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{channel_subentry_id(entry)}/{key}"
    )
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state


def stored_times(fake: FakeThingSpeak, channel_id: int = CHANNEL_ID) -> list[datetime]:
    """created_at of every entry the fake stored, in order of storage."""
    return [entry.created_at for entry in fake.stored(channel_id)]


@pytest.fixture
def start(freezer: FrozenDateTimeFactory) -> datetime:
    """Move to 5 s past the next full hour, so rows fall on known boundaries."""
    now = dt_util.utcnow()
    aligned = now.replace(minute=0, second=0, microsecond=0) + timedelta(
        hours=1, seconds=5
    )
    freezer.move_to(aligned)
    return aligned


def deadline() -> Callable[[], bool]:
    """A budget of processor time for busy waits (freezegun patches every clock)."""
    end = time.process_time() + 20.0
    return lambda: time.process_time() < end


async def settle(hass: HomeAssistant, *channels: ThingSpeakChannel) -> None:
    """Wait (in real time) until every sender is parked: HTTP calls are done."""
    in_time = deadline()
    quiet = 0
    while quiet < 3:
        await hass.async_block_till_done()
        if all(channel.sender.idle for channel in channels):
            quiet += 1
        else:
            quiet = 0
        assert in_time(), "sender never settled"
        await asyncio.sleep(0)


async def run(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    seconds: float,
    channels: Iterable[ThingSpeakChannel],
    *,
    step: float = SPACING,
    each: Callable[[], None] | None = None,
) -> None:
    """Let `seconds` pass in steps, firing timers and settling after each."""
    channels = tuple(channels)
    elapsed = 0.0
    while elapsed < seconds:
        if each is not None:
            each()
        tick = min(step, seconds - elapsed)
        freezer.tick(timedelta(seconds=tick))
        async_fire_time_changed(hass)
        await settle(hass, *channels)
        elapsed += tick


async def run_until(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    condition: Callable[[], bool],
    channels: Iterable[ThingSpeakChannel],
    *,
    limit: float = 4 * 3600,
    step: float = SPACING,
    each: Callable[[], None] | None = None,
) -> float:
    """Step until `condition()`; return the time it took."""
    channels = tuple(channels)
    spent = 0.0
    while not condition():
        assert spent < limit, "condition not reached"
        await run(hass, freezer, step, channels, step=step, each=each)
        spent += step
    return spent


def saved(hass_storage: dict[str, Any], entry: MockConfigEntry) -> dict[str, Any]:
    """The channel's saved outbox, as the mocked storage holds it."""
    data: dict[str, Any] = hass_storage[
        storage_key(entry.entry_id, channel_subentry_id(entry))
    ]["data"]
    return data


def publish(hass: HomeAssistant, value: float) -> None:
    """A reading on the source topic."""
    async_fire_mqtt_message(hass, TOPIC, str(value))


# -- the happy path ------------------------------------------------------------------


async def test_rows_on_the_interval_with_the_statistics(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
) -> None:
    """One row per interval at its exact boundary, all mapped fields in it."""
    entry = await setup_hub(
        channel_entry(fake_thingspeak, latitude=-34.93, longitude=138.6)
    )
    channel = channel_of(entry)
    await settle(hass, channel)
    # No reading yet: no row (nothing to say), counted.
    await run(hass, freezer, INTERVAL, [channel])
    assert fake_thingspeak.stored(CHANNEL_ID) == []
    assert channel.rows_skipped == 1

    for value in (20, 22.5, 24):
        publish(hass, value)
    await run(hass, freezer, 2 * INTERVAL, [channel])

    stored = fake_thingspeak.stored(CHANNEL_ID)
    assert len(stored) == 2
    first_boundary = start - timedelta(seconds=5) + timedelta(seconds=2 * INTERVAL)
    assert [entry.created_at for entry in stored] == [
        first_boundary,
        first_boundary + timedelta(seconds=INTERVAL),
    ]
    assert stored[0].values == {
        "field1": 22.17,  # mean, at the source's precision (2)
        "field2": 24.0,
        "field3": 3,  # count: a whole number
        "field4": 24.0,
        "latitude": -34.93,
        "longitude": 138.6,
    }
    # One call per row, never closer than the plan allows.
    assert len(fake_thingspeak.calls) == 2
    assert fake_thingspeak.min_spacing(CHANNEL_ID) == INTERVAL

    # Its device hangs below the hub's, with its diagnostic sensors.
    device = dr.async_get(hass).async_get_device(
        identifiers={subentry_device_identifier(channel.subentry_id)}
    )
    assert device is not None
    assert device.model == "ThingSpeak channel"
    assert device.name == f"ThingSpeak {CHANNEL_ID}"
    hub_device = dr.async_get(hass).async_get_device(
        identifiers={(DOMAIN, entry.entry_id)}
    )
    assert hub_device is not None
    assert device.via_device_id == hub_device.id
    assert device.config_entries_subentries[entry.entry_id] == {channel.subentry_id}
    assert sensor_state(hass, entry, "rows_waiting").state == "0"
    uploaded = sensor_state(hass, entry, "rows_uploaded")
    assert uploaded.state == "2"
    assert uploaded.attributes["state_class"] == "total_increasing"
    assert channel.last_success is not None
    assert (
        dt_util.parse_datetime(uploaded.attributes["last_upload"])
        == channel.last_success
    )
    # Nothing went wrong: "None", not Home Assistant's "Unknown".
    assert sensor_state(hass, entry, "last_error").state == "none"

    # The outbox is saved, with the time of the last success, never the key.
    stored_outbox = saved(hass_storage, entry)
    assert stored_outbox["outbox"]["rows"] == []
    assert stored_outbox["outbox"]["counters"]["uploaded"] == 2
    assert dt_util.parse_datetime(stored_outbox["last_success"]) == (
        channel.last_success
    )
    assert (
        repr(channel) == f"ThingSpeakChannel('ThingSpeak {CHANNEL_ID}', {CHANNEL_ID})"
    )


# -- failures that only need time ------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("error", 429),
        ("error", 500),
        ("error", 503),
        ("zero", 200),
        ("unsuccessful", 200),
        ("drop", None),
    ],
)
async def test_retryable_failures_keep_rows(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
    caplog: pytest.LogCaptureFixture,
    kind: Any,
    status: int | None,
) -> None:
    """429, 5xx, `0`, `{"success": false}`, a dropped connection: rows stay."""
    entry = await setup_hub(channel_entry(fake_thingspeak))
    channel = channel_of(entry)
    publish(hass, 20)
    fake_thingspeak.inject(kind, None, status=status or 500)
    await run(hass, freezer, 3 * INTERVAL, [channel])

    assert fake_thingspeak.stored(CHANNEL_ID) == []
    assert channel.sender.rows_waiting == 3
    assert sensor_state(hass, entry, "rows_waiting").state == "3"
    last_error = sensor_state(hass, entry, "last_error")
    assert last_error.state == "retry"
    assert last_error.attributes["status"] == status
    assert caplog.text.count("upload failing") == 1  # logged once

    fake_thingspeak.clear_faults()
    produced = channel.sender.outbox.counters.produced
    await run_until(hass, freezer, lambda: channel.sender.rows_waiting == 0, [channel])
    assert len(stored_times(fake_thingspeak)) == len(set(stored_times(fake_thingspeak)))
    assert len(stored_times(fake_thingspeak)) >= produced
    assert fake_thingspeak.min_spacing(CHANNEL_ID) >= SPACING
    assert "uploads recovered" in caplog.text
    assert sensor_state(hass, entry, "rows_waiting").state == "0"


async def test_timeout_keeps_rows_and_stores_them_once(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
) -> None:
    """A call that hangs past the client timeout (after ThingSpeak stored it)."""
    entry = await setup_hub(channel_entry(fake_thingspeak))
    channel = channel_of(entry)
    publish(hass, 20)
    fake_thingspeak.inject("hang", 1, store=True)
    await run(hass, freezer, INTERVAL - 15, [channel])
    freezer.tick(timedelta(seconds=10))  # the row is made, and its call hangs
    async_fire_time_changed(hass)
    in_time = deadline()
    while not fake_thingspeak.calls:
        assert in_time()
        await asyncio.sleep(0)
    assert not channel.sender.idle  # waiting for an answer
    assert channel.sender.outbox.in_flight == 1
    freezer.tick(timedelta(seconds=31))  # past the 30 s client timeout
    async_fire_time_changed(hass)
    await settle(hass, channel)
    assert channel.sender.rows_waiting == 1
    assert channel.sender.last_error is not None
    assert not channel.sender.last_error.outcome_known
    assert sensor_state(hass, entry, "last_error").state == "retry"

    # ThingSpeak had stored it: the re-send is refused, and taken as stored.
    await run_until(hass, freezer, lambda: channel.sender.rows_waiting == 0, [channel])
    await run(hass, freezer, 2 * INTERVAL, [channel])
    times = stored_times(fake_thingspeak)
    assert len(times) == len(set(times)) == 3
    assert channel.sender.outbox.counters.delivered_after_unknown == 1
    assert fake_thingspeak.duplicates_refused >= 1


# -- failures that need a person ---------------------------------------------------------


async def test_refused_key_starts_reauth_and_the_new_key_resumes(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
) -> None:
    """401: uploads stop, a reauth flow asks for the key, rows are kept."""
    entry = await setup_hub(
        channel_entry(fake_thingspeak, write_key="OLDKEY0000000000")
    )
    channel = channel_of(entry)
    publish(hass, 20)
    await run(hass, freezer, 3 * INTERVAL, [channel])

    assert channel.sender.auth_blocked
    assert channel.sender.rows_waiting == 3
    assert len(fake_thingspeak.calls) == 1  # no hammering with a refused key
    assert sensor_state(hass, entry, "last_error").state == "auth"
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert len(flows) == 1
    flow = flows[0]
    assert flow["context"]["source"] == SOURCE_REAUTH
    assert flow["context"]["entry_id"] == entry.entry_id
    assert flow["step_id"] == "reauth_confirm"
    form = await hass.config_entries.flow.async_configure(flow["flow_id"])
    assert form["description_placeholders"]["channel"] == f"ThingSpeak {CHANNEL_ID}"
    assert form["description_placeholders"]["channel_id"] == str(CHANNEL_ID)
    # Pushing cannot help until the key is replaced.
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "push_now",
            {ATTR_DEVICE_ID: [channel_device(hass, channel)]},
            blocking=True,
        )
    assert err.value.translation_key == "channel_key_refused"

    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"write_api_key": WRITE_KEY, "send_test_row": False}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    subentry = entry.subentries[channel.subentry_id]
    assert subentry.data["write_api_key"] == WRITE_KEY
    # The hub reloaded with the new key; the rows waiting were kept.
    assert entry.state is ConfigEntryState.LOADED
    channel = channel_of(entry)
    assert channel.sender.config.write_key == WRITE_KEY
    await run_until(hass, freezer, lambda: channel.sender.rows_waiting == 0, [channel])
    assert len(stored_times(fake_thingspeak)) >= 3
    assert fake_thingspeak.min_spacing(CHANNEL_ID) >= SPACING


async def test_set_write_key_resumes_the_running_sender(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
) -> None:
    """The reauth flow gives the running sender the key before the reload."""
    entry = await setup_hub(
        channel_entry(fake_thingspeak, write_key="OLDKEY0000000000")
    )
    channel = channel_of(entry)
    publish(hass, 20)
    await run(hass, freezer, INTERVAL, [channel])
    assert channel.sender.auth_blocked
    flow = hass.config_entries.flow.async_progress_by_handler(DOMAIN)[0]
    with patch.object(hass.config_entries, "async_update_subentry") as update:
        await hass.config_entries.flow.async_configure(
            flow["flow_id"], {"write_api_key": WRITE_KEY, "send_test_row": False}
        )
    update.assert_called_once()
    assert not channel.sender.auth_blocked
    assert channel.sender.config.write_key == WRITE_KEY
    await run(hass, freezer, SPACING, [channel])
    assert channel.sender.rows_waiting == 0


@pytest.mark.parametrize(
    ("problem", "translation_key"),
    [("quota", "thingspeak_quota"), ("not_found", "thingspeak_not_found")],
)
async def test_quota_and_unknown_channel_raise_repair_issues(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
    problem: str,
    translation_key: str,
) -> None:
    """402 and 404: a repair issue while it lasts, rows kept and retried hourly."""
    channel_id = CHANNEL_ID
    if problem == "quota":
        fake_thingspeak.channel(CHANNEL_ID).quota = 0
    else:
        channel_id = 4242  # not on the fake
    entry = await setup_hub(channel_entry(fake_thingspeak, channel_id=channel_id))
    channel = channel_of(entry)
    publish(hass, 20)
    await run(hass, freezer, 2 * INTERVAL, [channel])

    issue_id = f"thingspeak_{problem}_{channel.subentry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == translation_key
    assert not issue.is_fixable
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {
        "channel": f"ThingSpeak {channel_id}",
        "channel_id": str(channel_id),
    }
    assert channel.sender.rows_waiting == 2
    assert sensor_state(hass, entry, "last_error").state == problem

    # Fixed on ThingSpeak's side: the next hourly attempt succeeds.
    if problem == "quota":
        fake_thingspeak.channel(CHANNEL_ID).quota = None
    else:
        fake_thingspeak.add_channel(4242, WRITE_KEY)
    await run_until(
        hass,
        freezer,
        lambda: channel.sender.rows_waiting == 0,
        [channel],
        step=INTERVAL,
    )
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert len(fake_thingspeak.stored(channel_id)) >= 2


async def test_issue_of_a_previous_run_is_cleared_at_start(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    start: datetime,
) -> None:
    """After a restart the sender does not know old problems: it starts clean."""
    entry = channel_entry(fake_thingspeak)
    channel_id = channel_subentry_id(entry)
    ir.async_create_issue(
        hass,
        DOMAIN,
        f"thingspeak_quota_{channel_id}",
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="thingspeak_quota",
    )
    await setup_hub(entry)
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"thingspeak_quota_{channel_id}")
        is None
    )


@pytest.mark.parametrize("status", [400, 422])
async def test_refused_rows_become_dead_letters(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
    hass_client: ClientSessionGenerator,
    status: int,
) -> None:
    """400/422 for a row: it moves to the dead letters, the rest goes on."""
    entry = await setup_hub(channel_entry(fake_thingspeak))
    channel = channel_of(entry)
    publish(hass, 20)
    # A bare 400 may mean a taken second: the row is tried at two other seconds.
    fake_thingspeak.inject("error", 3 if status == 400 else 1, status=status)
    await run(hass, freezer, 3 * INTERVAL, [channel])

    assert channel.sender.rows_waiting == 0
    assert len(fake_thingspeak.stored(CHANNEL_ID)) == 2
    assert len(channel.sender.outbox.dead_letters) == 1
    assert sensor_state(hass, entry, "rows_waiting").attributes["dead_letters"] == 1
    assert sensor_state(hass, entry, "last_error").state == "bad_request"

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    thingspeak = diagnostics["thingspeak"][channel.subentry_id]
    [letter] = thingspeak["dead_letters"]
    assert letter["reason"].startswith(f"HTTP {status}")
    assert letter["row"]["field1"] == 20.0
    assert thingspeak["sender"]["counters"]["dead_lettered"] == 1
    assert thingspeak["sender"]["channel"]["write_key"] == "**REDACTED**"


def channel_device(hass: HomeAssistant, channel: ThingSpeakChannel) -> str:
    """Device id of a channel."""
    device = dr.async_get(hass).async_get_device(
        identifiers={subentry_device_identifier(channel.subentry_id)}
    )
    assert device is not None
    return device.id


# -- push_now ------------------------------------------------------------------------------


async def test_push_now_skips_the_wait_within_the_spacing(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
) -> None:
    """After a 402 the next try is an hour away; push_now tries at once."""
    fake_thingspeak.channel(CHANNEL_ID).quota = 0
    entry = await setup_hub(channel_entry(fake_thingspeak))
    channel = channel_of(entry)
    publish(hass, 20)
    await run(hass, freezer, INTERVAL, [channel])
    assert channel.sender.rows_waiting == 1
    fake_thingspeak.channel(CHANNEL_ID).quota = None

    await hass.services.async_call(
        DOMAIN,
        "push_now",
        {ATTR_DEVICE_ID: channel_device(hass, channel)},
        blocking=True,
    )
    await run(hass, freezer, SPACING, [channel])
    assert channel.sender.rows_waiting == 0
    assert len(fake_thingspeak.stored(CHANNEL_ID)) == 1
    assert fake_thingspeak.min_spacing(CHANNEL_ID) >= SPACING


async def test_push_now_refuses_other_targets(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    start: datetime,
) -> None:
    """Only channel devices of a loaded hub can be pushed."""
    entry = await setup_hub(channel_entry(fake_thingspeak))
    channel = channel_of(entry)
    hub_device = dr.async_get(hass).async_get_device(
        identifiers={(DOMAIN, entry.entry_id)}
    )
    assert hub_device is not None
    for device_id in ("no-such-device", hub_device.id):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN, "push_now", {ATTR_DEVICE_ID: device_id}, blocking=True
            )
        assert err.value.translation_key == "not_a_channel_device"
        assert err.value.translation_placeholders == {"device_id": device_id}

    channel_device_id = channel_device(hass, channel)
    assert await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "push_now", {ATTR_DEVICE_ID: [channel_device_id]}, blocking=True
        )
    assert err.value.translation_key == "channel_not_loaded"


# -- the flow's test row ---------------------------------------------------------------------


def statuses(fake: FakeThingSpeak) -> Counter[int | None]:
    """How many calls the fake answered with each status."""
    return Counter(call.status for call in fake.calls)


async def test_first_upload_keeps_the_spacing_from_the_test_row(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
) -> None:
    """A channel added with a test row 10 s before its first row: no 429."""
    entry = await setup_hub(hub_entry(source()))
    freezer.tick(timedelta(seconds=45))  # HH:00:50, the first row is at HH:01:00
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CHANNEL), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "channel_id": str(CHANNEL_ID),
            "write_api_key": WRITE_KEY,
            "plan": "free",
            "upload_interval": INTERVAL,
            "send_test_row": True,
            "advanced": {"base_url": fake_thingspeak.url, "max_rows": 5000},
        },
    )
    assert result["step_id"] == "fields"
    result = await submit_channel_fields(
        hass,
        result["flow_id"],
        {"field1": FieldSource(SOURCE_ID, TOPIC, 3600.0, Statistic.MEAN)},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    channel = channel_of(entry)
    publish(hass, 20)
    # Small steps: the row is due at HH:01:00, 10 s after the test row.
    await run(hass, freezer, 30, [channel], step=5)

    assert [entry.created_at for entry in fake_thingspeak.stored(CHANNEL_ID)] == [
        start + timedelta(seconds=45),  # the test row
        start - timedelta(seconds=5) + timedelta(seconds=INTERVAL),
    ]
    assert statuses(fake_thingspeak) == {202: 2}
    assert fake_thingspeak.min_spacing(CHANNEL_ID) == SPACING
    assert channel.sender.consecutive_failures == 0


async def test_reauth_test_row_holds_back_the_running_sender(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
) -> None:
    """The sender resumed with the new key waits for the spacing after the test row."""
    entry = await setup_hub(
        channel_entry(fake_thingspeak, write_key="OLDKEY0000000000")
    )
    channel = channel_of(entry)
    publish(hass, 20)
    await run(hass, freezer, INTERVAL, [channel])
    assert channel.sender.auth_blocked
    # The refused call is 10 s old: alone, it would hold the sender for 5 s more.
    freezer.tick(timedelta(seconds=10))
    flow = hass.config_entries.flow.async_progress_by_handler(DOMAIN)[0]
    with patch.object(hass.config_entries, "async_update_subentry"):
        result = await hass.config_entries.flow.async_configure(
            flow["flow_id"], {"write_api_key": WRITE_KEY, "send_test_row": True}
        )
    assert result["reason"] == "reauth_successful"
    await run(hass, freezer, 10, [channel], step=5)
    assert channel.sender.rows_waiting == 1  # not yet: the test row was 10 s ago
    await run(hass, freezer, 5, [channel])
    assert channel.sender.rows_waiting == 0
    assert statuses(fake_thingspeak) == {401: 1, 202: 2}
    test_row, upload = (c.arrival for c in fake_thingspeak.calls if c.status == 202)
    assert upload - test_row == SPACING


# -- restarts ------------------------------------------------------------------------------


async def test_two_hour_outage_with_a_restart(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The issue's outage test: every row exactly once, spacing always kept.

    Two hours of faults (5xx, 5xx after storing, dropped connections before
    and after storing, `0` and `{"success": false}` answers, 429s) with a Home
    Assistant restart in the middle (unload, three minutes down, set up again
    from the same storage).
    """
    entry = await setup_hub(channel_entry(fake_thingspeak))
    produced: list[Row] = []

    def record(channel: ThingSpeakChannel) -> ThingSpeakChannel:
        add = channel.sender.add

        def recording_add(row: Row) -> Row:
            queued = add(row)
            produced.append(queued)
            return queued

        channel.sender.add = recording_add  # type: ignore[method-assign]
        return channel

    readings = itertools.count()

    def each() -> None:
        publish(hass, next(readings) / 10)

    channel = record(channel_of(entry))
    await run(hass, freezer, 1800, [channel], each=each)
    assert channel.sender.rows_waiting == 0
    before_outage = len(produced)

    phases: list[tuple[Any, int, bool]] = [
        ("error", 503, False),
        ("error", 500, True),  # stored, then failed: outcome unknown
        ("drop", 500, True),
        ("zero", 500, False),
        ("error", 429, False),
        ("unsuccessful", 500, False),
        ("drop", 500, False),
        ("error", 502, True),
    ]
    rows_kept_over_restart = None
    for index, (kind, status, store) in enumerate(phases):
        fake_thingspeak.clear_faults()
        fake_thingspeak.inject(kind, None, status=status, store=store)
        if index == len(phases) // 2:
            waiting = channel.sender.rows_waiting
            assert await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
            assert not channel.sender.running
            freezer.tick(timedelta(minutes=3))  # down: no rows are made
            async_fire_time_changed(hass)
            await hass.async_block_till_done()
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            channel = record(channel_of(entry))
            rows_kept_over_restart = channel.sender.rows_waiting
            assert rows_kept_over_restart == waiting
        await run(hass, freezer, 900, [channel], each=each)
    during_outage = len(produced) - before_outage
    waiting_at_end = channel.sender.rows_waiting
    fake_thingspeak.clear_faults()
    recovery = await run_until(
        hass, freezer, lambda: channel.sender.rows_waiting == 0, [channel], each=each
    )
    await run(hass, freezer, 2 * INTERVAL, [channel], each=each)
    assert channel.sender.rows_waiting == 0

    stored = fake_thingspeak.stored(CHANNEL_ID)
    times = [entry.created_at for entry in stored]
    duplicates = len(times) - len(set(times))
    spacing = fake_thingspeak.min_spacing(CHANNEL_ID)
    counters = channel.sender.outbox.counters
    with capsys.disabled():
        print(  # noqa: T201
            "\nThingSpeak outage test: "
            f"rows produced {len(produced)} ({during_outage} during the 2 h outage, "
            f"{waiting_at_end} waiting when it ended, {rows_kept_over_restart} kept "
            f"over the restart), stored {len(times)}, duplicates {duplicates}, "
            f"minimum spacing {spacing:g} s (plan: {SPACING:g} s), "
            f"calls {len(fake_thingspeak.calls)}, duplicate timestamps refused by "
            f"the server {fake_thingspeak.duplicates_refused}, rows delivered by "
            f"an attempt whose answer was lost {counters.delivered_after_unknown}, "
            f"rows taken as stored {counters.assumed_stored}, "
            f"recovery {recovery / 60:g} min"
        )

    assert duplicates == 0
    assert sorted(times) == [row.created_at for row in produced]
    by_time = {entry.created_at: entry.values for entry in stored}
    for row in produced:
        expected = row.to_dict()
        del expected["created_at"]
        assert by_time[row.created_at] == expected
    # Exact boundaries: one row a minute, except while Home Assistant was down.
    assert all(row.created_at.timestamp() % INTERVAL == 0 for row in produced)
    gaps = [
        (later.created_at - earlier.created_at).total_seconds()
        for earlier, later in itertools.pairwise(produced)
    ]
    assert sorted(set(gaps)) == [INTERVAL, 4 * INTERVAL]
    assert gaps.count(4 * INTERVAL) == 1  # the 3 minutes down
    assert spacing is not None
    assert spacing >= SPACING
    assert during_outage >= 115
    assert counters.produced == len(produced)
    assert (
        counters.uploaded + counters.assumed_stored + counters.delivered_after_unknown
        == len(produced)
    )
    assert counters.dropped_overflow == counters.dead_lettered == 0


async def test_restart_between_upload_and_save_uploads_nothing_twice(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ThingSpeak stored a batch, then Home Assistant died before saving."""
    entry = await setup_hub(channel_entry(fake_thingspeak))
    channel = channel_of(entry)
    key = storage_key(entry.entry_id, channel.subentry_id)
    snapshots: list[dict[str, Any]] = []
    store = fake_thingspeak._store

    def snapshot_then_store(*args: Any) -> int:
        # What is on disk while ThingSpeak stores the batch.
        snapshots.append(copy.deepcopy(hass_storage[key]))
        return store(*args)

    monkeypatch.setattr(fake_thingspeak, "_store", snapshot_then_store)
    publish(hass, 20)
    fake_thingspeak.inject("error", None, status=503)
    await run(hass, freezer, 3 * INTERVAL, [channel])
    assert channel.sender.rows_waiting == 3
    fake_thingspeak.clear_faults()
    # Home Assistant dies right after ThingSpeak stored the first batch.
    await run_until(hass, freezer, lambda: bool(snapshots), [channel])
    on_disk = snapshots[0]  # taken when ThingSpeak stored the first batch
    saved_rows = on_disk["data"]["outbox"]["rows"]
    uncertain = on_disk["data"]["outbox"]["uncertain_through"]
    in_flight = sum(row["created_at"] <= uncertain for row in saved_rows)
    assert len(saved_rows) >= 3
    assert in_flight >= 1
    assert len(fake_thingspeak.stored(CHANNEL_ID)) == in_flight

    # "Crash": the save after the success never happened.
    assert await hass.config_entries.async_unload(entry.entry_id)
    hass_storage[key] = on_disk
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    channel = channel_of(entry)
    assert channel.sender.rows_waiting == len(saved_rows)
    await run_until(hass, freezer, lambda: channel.sender.rows_waiting == 0, [channel])
    await run(hass, freezer, 2 * INTERVAL, [channel])

    times = stored_times(fake_thingspeak)
    assert len(times) == len(set(times)) >= len(saved_rows) + 2
    # The batch of the lost answer is refused as a whole: delivered at once.
    counters = channel.sender.outbox.counters
    assert counters.delivered_after_unknown == in_flight
    assert (counters.assumed_stored, counters.redated) == (0, 0)
    assert fake_thingspeak.duplicates_refused >= 1
    assert fake_thingspeak.min_spacing(CHANNEL_ID) >= SPACING


async def test_home_assistant_stop_saves_the_outbox(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
) -> None:
    """Entries are not unloaded at shutdown: the stop event stops the channel."""
    entry = await setup_hub(channel_entry(fake_thingspeak))
    channel = channel_of(entry)
    publish(hass, 20)
    fake_thingspeak.inject("error", None, status=503)
    await run(hass, freezer, 2 * INTERVAL, [channel])
    channel.sender.outbox.dirty = True  # as if a row had just been added
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert not channel.sender.running
    assert not channel.sender.outbox.dirty
    assert len(saved(hass_storage, entry)["outbox"]["rows"]) == 2
    await channel.async_stop()  # idempotent


async def test_last_upload_survives_a_restart(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
) -> None:
    """The last successful upload is saved with the outbox."""
    entry = await setup_hub(channel_entry(fake_thingspeak))
    channel = channel_of(entry)
    publish(hass, 20)
    await run(hass, freezer, INTERVAL, [channel])
    last_success = channel.last_success
    assert last_success is not None
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    channel = channel_of(entry)
    assert channel.sender.last_success is None
    assert channel.last_success == last_success
    uploaded = sensor_state(hass, entry, "rows_uploaded")
    assert uploaded.state == "1"
    assert dt_util.parse_datetime(uploaded.attributes["last_upload"]) == last_success


async def test_unreadable_outbox_starts_empty(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A saved outbox that cannot be read is reported, and uploads go on."""
    entry = channel_entry(fake_thingspeak)
    key = storage_key(entry.entry_id, channel_subentry_id(entry))
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {"outbox": {"version": 99}},
    }
    await setup_hub(entry)
    assert "the saved outbox cannot be read" in caplog.text
    channel = channel_of(entry)
    publish(hass, 20)
    await run(hass, freezer, INTERVAL, [channel])
    assert len(fake_thingspeak.stored(CHANNEL_ID)) == 1


async def test_outbox_is_bounded(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
    hass_client: ClientSessionGenerator,
) -> None:
    """Past its size the outbox drops the oldest rows, and counts them."""
    entry = await setup_hub(
        channel_entry(fake_thingspeak, plan="paid", upload_interval=1, max_rows=100)
    )
    channel = channel_of(entry)
    publish(hass, 20)
    fake_thingspeak.inject("error", None, status=503)
    await run(hass, freezer, 110, [channel], step=1)
    assert channel.sender.rows_waiting == 100
    assert channel.sender.outbox.counters.produced == 110
    attributes = sensor_state(hass, entry, "rows_waiting").attributes
    assert attributes["dropped_overflow"] == 10
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    sender = diagnostics["thingspeak"][channel.subentry_id]["sender"]
    assert sender["max_rows"] == 100
    assert sender["counters"]["dropped_overflow"] == 10


# -- removal ---------------------------------------------------------------------------------


async def test_removing_a_channel_deletes_its_outbox(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
) -> None:
    """The subentry's rows, device and entities go with it."""
    entry = await setup_hub(channel_entry(fake_thingspeak))
    channel = channel_of(entry)
    publish(hass, 20)
    fake_thingspeak.inject("error", None, status=503)
    await run(hass, freezer, INTERVAL, [channel])
    key = storage_key(entry.entry_id, channel.subentry_id)
    assert key in hass_storage

    assert hass.config_entries.async_remove_subentry(entry, channel.subentry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage
    assert entry.runtime_data.channels == {}
    assert (
        dr.async_get(hass).async_get_device(
            identifiers={subentry_device_identifier(channel.subentry_id)}
        )
        is None
    )


async def test_removing_the_hub_deletes_the_outboxes(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
) -> None:
    """Removing the hub removes every channel's saved rows."""
    entry = await setup_hub(channel_entry(fake_thingspeak))
    channel = channel_of(entry)
    publish(hass, 20)
    fake_thingspeak.inject("error", None, status=503)
    await run(hass, freezer, INTERVAL, [channel])
    key = storage_key(entry.entry_id, channel.subentry_id)
    assert key in hass_storage
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage


# -- what a row holds ------------------------------------------------------------------------


async def test_status_lists_the_alerts_that_are_on(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
) -> None:
    """With "send alert status", the status names the alerts that are on."""
    entry = await setup_hub(
        hub_entry(
            source(),
            alert_subentry("high", source=SOURCE_ID, title="Too hot", high=30.0),
            channel_subentry(
                FIELDS,
                base_url=fake_thingspeak.url,
                upload_interval=INTERVAL,
                send_status=True,
            ),
        )
    )
    channel = channel_of(entry)
    publish(hass, 20)
    await run(hass, freezer, INTERVAL, [channel])
    publish(hass, 35)
    await run(hass, freezer, INTERVAL, [channel])
    first, second = fake_thingspeak.stored(CHANNEL_ID)
    assert "status" not in first.values
    assert second.values["status"] == "Too hot"
    assert entry.runtime_data.alerts.names_on() == ["Too hot"]


async def test_status_alone_makes_a_row(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
) -> None:
    """A wildcard alert names its topic; an alert alone is worth a row."""
    wildcard = {
        **sensor_subentry("home/+/temperature", statistics=["mean"]),
        "subentry_id": SOURCE_ID,
    }
    entry = await setup_hub(
        hub_entry(
            wildcard,
            alert_subentry("high", source=SOURCE_ID, title="Too hot", high=30.0),
            channel_subentry(
                {"1": {**field("mean"), "topic": "home/attic/temperature"}},
                base_url=fake_thingspeak.url,
                upload_interval=INTERVAL,
                send_status=True,
            ),
        )
    )
    channel = channel_of(entry)
    async_fire_mqtt_message(hass, "home/den/temperature", "40")
    await run(hass, freezer, INTERVAL, [channel])
    [row] = fake_thingspeak.stored(CHANNEL_ID)
    assert row.values == {"status": "Too hot (home/den/temperature)"}


async def test_fields_without_a_value_are_left_out(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
) -> None:
    """A removed source, an unseen topic or an unknown window sends nothing."""
    fields = {
        "1": field("mean"),
        "2": {**field("mean"), "source": "01GONE00000000000000000000"},
        "3": {**field("mean"), "topic": "weather/other"},
        "4": field("mean", window=60.0),
        "5": field("value_max"),
        "6": field("change_second"),  # undefined for one sample
    }
    entry = await setup_hub(
        hub_entry(
            source(precision=0, statistics=["mean", "value_max"]),
            channel_subentry(
                fields, base_url=fake_thingspeak.url, upload_interval=INTERVAL
            ),
        )
    )
    channel = channel_of(entry)
    publish(hass, 20.4)
    await run(hass, freezer, INTERVAL, [channel])
    [row] = fake_thingspeak.stored(CHANNEL_ID)
    assert row.values == {"field1": 20, "field5": 20}  # precision 0: whole numbers


async def test_channel_runtime_details(
    hass: HomeAssistant, setup_hub: SetupHub, fake_thingspeak: FakeThingSpeak
) -> None:
    """The sender exists only once loaded; the device links to ThingSpeak."""
    entry = hub_entry(source(), channel_subentry(FIELDS))
    entry.add_to_hass(hass)
    subentry = entry.subentries[channel_subentry_id(entry)]
    channel = ThingSpeakChannel(hass, entry, subentry, {}, list)
    with pytest.raises(RuntimeError):
        _ = channel.sender
    assert channel.device_info["configuration_url"] == (
        f"https://thingspeak.mathworks.com/channels/{CHANNEL_ID}"
    )
    await channel.async_stop()  # never started: nothing to do


# -- the write key ---------------------------------------------------------------------------


async def test_the_write_key_never_leaks(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
    caplog: pytest.LogCaptureFixture,
    hass_client: ClientSessionGenerator,
    hass_storage: dict[str, Any],
    mqtt_mock: MqttMockHAClient,
) -> None:
    """Not in logs, the journal, MQTT output, states, the outbox or diagnostics."""
    caplog.set_level(logging.DEBUG)
    entry = await setup_hub(hub_entry(source()))
    # Set up through the flow, with a test row.
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CHANNEL), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "channel_id": str(CHANNEL_ID),
            "write_api_key": WRITE_KEY,
            "plan": "free",
            "upload_interval": INTERVAL,
            "send_test_row": True,
            "advanced": {"base_url": fake_thingspeak.url, "max_rows": 1000},
        },
    )
    result = await submit_channel_fields(
        hass,
        result["flow_id"],
        {"field1": FieldSource(SOURCE_ID, TOPIC, 3600.0, Statistic.MEAN)},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    channel = channel_of(entry)
    readings = itertools.count()

    def each() -> None:
        publish(hass, next(readings))

    await run(hass, freezer, 2 * INTERVAL, [channel], each=each)
    fake_thingspeak.inject("error", 3, status=400)  # a dead letter, with details
    await run(hass, freezer, INTERVAL, [channel], each=each)
    fake_thingspeak.inject("error", 1, status=401)  # refused: reauth
    await run(hass, freezer, INTERVAL, [channel], each=each)
    assert channel.sender.auth_blocked
    assert len(channel.sender.outbox.dead_letters) == 1
    assert len(fake_thingspeak.stored(CHANNEL_ID)) >= 3  # test row and uploads
    await run(hass, freezer, 5, [channel])
    # The journal writes from an executor job that async_block_till_done does
    # not wait for (it starts from an untracked task): wait for its writes.
    await entry.runtime_data.message_log.journal.flush()

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    journal = "".join(
        path.read_text(errors="replace")
        for path in Path(hass.config.path("iotitan")).rglob("*")
        if path.is_file()
    )
    assert TOPIC in journal  # the journal was written
    published = repr(mqtt_mock.async_publish.call_args_list)
    assert "iotitan/stats" in published  # so was the MQTT output
    states = repr([state.as_dict() for state in hass.states.async_all()])
    outbox = json.dumps(saved(hass_storage, entry))
    places = {
        "logs": caplog.text,
        "journal": journal,
        "mqtt": published,
        "diagnostics": json.dumps(diagnostics),
        "states": states,
        "outbox": outbox,
    }
    for place, text in places.items():
        assert WRITE_KEY not in text, f"the write key is in the {place}"
    # Where it belongs, it is.
    assert entry.subentries[channel.subentry_id].data["write_api_key"] == WRITE_KEY
    assert "**REDACTED**" in places["diagnostics"]


async def test_fields_read_the_readings_of_one_payload(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
) -> None:
    """Temperature and humidity of one Zigbee2MQTT payload in two fields, each
    at its reading's precision."""
    readings = (
        ReadingConfig("temperature", "temperature", "Temperature", "°C", "temperature"),
        ReadingConfig("humidity", "humidity", "Humidity", "%", "humidity", precision=0),
    )
    fields = {
        "1": {**field("mean"), "reading": "temperature"},
        "2": {**field("mean"), "reading": "humidity"},
    }
    entry = await setup_hub(
        hub_entry(
            source(readings=readings),
            channel_subentry(
                fields, base_url=fake_thingspeak.url, upload_interval=INTERVAL
            ),
        )
    )
    channel = channel_of(entry)
    await settle(hass, channel)
    for temperature, humidity in ((20.0, 40.0), (21.0, 41.0), (22.5, 44.0)):
        async_fire_mqtt_message(
            hass, TOPIC, f'{{"temperature": {temperature}, "humidity": {humidity}}}'
        )
    await run(hass, freezer, 2 * INTERVAL, [channel])
    stored = fake_thingspeak.stored(CHANNEL_ID)
    assert stored
    # Means written out: (20 + 21 + 22.5) / 3 = 21.1666.. at 2 decimals, and
    # (40 + 41 + 44) / 3 = 41.666.. at the humidity's 0 decimals.
    assert stored[0].values == {"field1": 21.17, "field2": 42}
