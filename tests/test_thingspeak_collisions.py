"""ThingSpeak channels as a good neighbour: no collision with our own rows or others.

* The re-authentication and reconfigure flows' test row never takes the second
  of a row of ours, queued or still to come, even on a 1 s interval.
* One ThingSpeak channel gets rows from one channel subentry of one hub.

Real HTTP to the fake ThingSpeak (which refuses a created_at it holds, as the
documentation says), time frozen and moved by `freezer`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntryState,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iotitan.channel_helpers import TEST_ROW_STATUS
from custom_components.iotitan.const import DOMAIN, SUBENTRY_CHANNEL
from custom_components.iotitan.engine.window import Statistic
from custom_components.iotitan.models import FieldSource

from .common import (
    CHANNEL_ID,
    WRITE_KEY,
    channel_subentry,
    hub_entry,
    submit_channel_fields,
)
from .fake_thingspeak import FakeThingSpeak
from .test_thingspeak_ha import (
    FIELDS,
    SOURCE_ID,
    TOPIC,
    SetupHub,
    channel_entry,
    channel_of,
    publish,
    run,
    run_until,
    source,
    start,
)

__all__ = ["start"]  # the fixture, shared with test_thingspeak_ha

MEAN = FieldSource(SOURCE_ID, TOPIC, 3600.0, Statistic.MEAN)


def split_entries(fake: FakeThingSpeak) -> tuple[list[datetime], list[datetime]]:
    """(created_at of our rows, created_at of test rows) the fake stored."""
    ours, tests = [], []
    for entry in fake.stored(CHANNEL_ID):
        if entry.values.get("status") == TEST_ROW_STATUS:
            tests.append(entry.created_at)
        else:
            ours.append(entry.created_at)
    return ours, tests


async def test_reauth_test_row_on_a_one_second_grid_with_rows_queued(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
) -> None:
    """Paid plan, a row every second, rows queued behind a refused key."""
    fake_thingspeak.channel(CHANNEL_ID).plan = "paid"
    entry = await setup_hub(
        channel_entry(
            fake_thingspeak,
            write_key="OLDKEY0000000000",
            plan="paid",
            upload_interval=1,
        )
    )
    channel = channel_of(entry)
    publish(hass, 20)
    await run(hass, freezer, 5, [channel], step=1)
    assert channel.sender.auth_blocked
    queued = [row.created_at for row in channel.sender.outbox.rows]
    assert len(queued) == 5
    # Now is exactly the second of the newest queued row.
    assert queued[-1] == dt_util.utcnow()

    flow = hass.config_entries.flow.async_progress_by_handler(DOMAIN)[0]
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"write_api_key": WRITE_KEY, "send_test_row": True}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    channel = channel_of(entry)
    await run(hass, freezer, 10, [channel], step=1)
    await run_until(
        hass, freezer, lambda: channel.sender.rows_waiting == 0, [channel], step=1
    )

    ours, [test_row] = split_entries(fake_thingspeak)
    counters = channel.sender.outbox.counters
    assert test_row not in ours
    assert test_row not in queued
    # Every row made reached ThingSpeak, each once, none refused or moved there.
    assert len(ours) == counters.produced == len(set(ours))
    assert ours[:5] == queued
    assert channel.sender.outbox.dead_letters == ()
    assert (counters.dead_lettered, counters.redated) == (0, 0)
    assert fake_thingspeak.duplicates_refused == 0


@pytest.mark.parametrize("interval", [1, 2, 60])
async def test_reconfigure_test_row_takes_no_second_of_a_row(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
    interval: int,
) -> None:
    """The flow runs on the second a row was just made (and uploaded)."""
    fake_thingspeak.channel(CHANNEL_ID).plan = "paid"
    entry = await setup_hub(
        channel_entry(fake_thingspeak, plan="paid", upload_interval=interval)
    )
    channel = channel_of(entry)
    publish(hass, 20)
    # Up to a row time; its row is made then, and its upload meets a 503, so
    # it waits (of unknown outcome) while the flow runs on its second.
    await run(hass, freezer, 3 * interval - 5 % interval - 1, [channel], step=1)
    fake_thingspeak.inject("error", status=503)
    await run(hass, freezer, 1, [channel], step=1)
    [queued] = channel.sender.outbox.rows
    assert queued.created_at == dt_util.utcnow()
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CHANNEL),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": channel.subentry_id},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "channel_id": str(CHANNEL_ID),
            "write_api_key": WRITE_KEY,
            "plan": "paid",
            "upload_interval": interval,
            "send_test_row": True,
            "advanced": {"base_url": fake_thingspeak.url, "max_rows": 5000},
        },
    )
    assert not result.get("errors"), result.get("errors")
    assert result["step_id"] == "fields"
    result = await submit_channel_fields(
        hass, result["flow_id"], {"field1": MEAN, "send_status": False}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    channel = channel_of(entry)
    await run(hass, freezer, 4 * interval, [channel], step=1)
    await run_until(
        hass, freezer, lambda: channel.sender.rows_waiting == 0, [channel], step=1
    )

    ours, [test_row] = split_entries(fake_thingspeak)
    assert test_row not in ours
    assert test_row != queued.created_at
    # Every row made reached ThingSpeak once; nothing was refused as taken.
    assert fake_thingspeak.duplicates_refused == 0
    assert len(ours) == len(set(ours)) == channel.sender.outbox.counters.produced
    assert channel.sender.outbox.dead_letters == ()
    assert channel.sender.outbox.counters.redated == 0
    if interval > 1:
        # A gap between row times: the rows keep their instants.
        assert all(int(at.timestamp()) % interval == 0 for at in ours), (
            ours,
            test_row,
            channel.sender.outbox.counters,
        )


# -- one channel, one sender ---------------------------------------------------------------


def mapped_channel(**kwargs: Any) -> Any:
    """A channel subentry of CHANNEL_ID mapping the source's mean."""
    return channel_subentry({"1": FIELDS["1"]}, **kwargs)


async def test_a_channel_another_hub_sends_to_is_refused(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Adding: the error names the hub and the channel that already send to it."""
    home = hub_entry(source(), mapped_channel(title="Weather"), name="Home")
    home.add_to_hass(hass)  # not even loaded: it would send once it is
    shed = await setup_hub(
        MockConfigEntry(
            domain=DOMAIN,
            version=home.version,
            minor_version=home.minor_version,
            title="Shed",
            data={"name": "Shed"},
            options=dict(home.options),
            subentries_data=[source()],
        )
    )
    result = await hass.config_entries.subentries.async_init(
        (shed.entry_id, SUBENTRY_CHANNEL), context={"source": SOURCE_USER}
    )
    form = {
        "channel_id": str(CHANNEL_ID),
        "write_api_key": WRITE_KEY,
        "plan": "free",
        "upload_interval": 300,
        "send_test_row": False,
        "advanced": {"base_url": "https://api.thingspeak.com/", "max_rows": 5000},
    }
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], form
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"channel_id": "channel_in_use"}
    assert result["description_placeholders"] == {
        "channel_id": str(CHANNEL_ID),
        "other_channel": "Weather",
        "other_hub": "Home",
    }
    # The same id on another server is another channel.
    form["advanced"] = {"base_url": "http://thingspeak.lan:3000", "max_rows": 5000}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], form
    )
    assert result["step_id"] == "fields"


async def test_reconfiguring_onto_another_hubs_channel_is_refused(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    home = hub_entry(source(), mapped_channel(title="Weather"), name="Home")
    home.add_to_hass(hass)
    shed = await setup_hub(
        hub_entry(source(), mapped_channel(channel_id=2002, title="Shed"), name="Shed")
    )
    [own] = [
        subentry_id
        for subentry_id, subentry in shed.subentries.items()
        if subentry.subentry_type == SUBENTRY_CHANNEL
    ]
    result = await hass.config_entries.subentries.async_init(
        (shed.entry_id, SUBENTRY_CHANNEL),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": own},
    )
    form = {
        "channel_id": str(CHANNEL_ID),
        "write_api_key": WRITE_KEY,
        "plan": "free",
        "upload_interval": 300,
        "send_test_row": False,
        "advanced": {"base_url": "https://api.thingspeak.com", "max_rows": 5000},
    }
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], form
    )
    assert result["errors"] == {"channel_id": "channel_in_use"}
    assert result["description_placeholders"]["other_hub"] == "Home"
    assert result["description_placeholders"]["other_channel"] == "Weather"
    # Its own channel stays its own.
    form["channel_id"] = "2002"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], form
    )
    assert result["step_id"] == "fields"


async def test_two_hubs_already_sharing_a_channel_raise_a_repair_issue(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Made before the flows refused it: both run, and a notice says so."""
    home = hub_entry(source(), mapped_channel(title="Weather"), name="Home")
    shed = hub_entry(source(), mapped_channel(title="Shed weather"), name="Shed")
    home.add_to_hass(hass)  # both exist when Home Assistant starts
    await setup_hub(shed)  # sets up the domain: both hubs
    assert home.state is ConfigEntryState.LOADED
    registry = ir.async_get(hass)
    issues = {
        issue.translation_placeholders["hub"]: issue  # type: ignore[index]
        for issue in registry.issues.values()
        if issue.translation_key == "thingspeak_channel_shared"
    }
    assert set(issues) == {"Home", "Shed"}
    assert issues["Shed"].translation_placeholders == {
        "channel": "Shed weather",
        "hub": "Shed",
        "channel_id": str(CHANNEL_ID),
        "other_channel": "Weather",
        "other_hub": "Home",
    }
    assert issues["Shed"].severity is ir.IssueSeverity.WARNING
    # Once one of them goes, the other's notice goes at its next start.
    assert await hass.config_entries.async_remove(home.entry_id)
    assert await hass.config_entries.async_reload(shed.entry_id)
    await hass.async_block_till_done()
    assert not [
        issue
        for issue in registry.issues.values()
        if issue.translation_key == "thingspeak_channel_shared"
    ]


async def test_two_hubs_already_sharing_a_channel_lose_no_row(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,
) -> None:
    """Two hubs from before the refusal, one channel, rows on the same seconds.

    Each hub sees the other as "another writer": ThingSpeak refuses a second
    row at a created_at it holds, so one row of each pair is re-dated by the
    smallest shift. Every row both hubs make is stored, each once.
    """
    minutes = 10
    home = hub_entry(
        source(),
        mapped_channel(
            title="Weather", base_url=fake_thingspeak.url, upload_interval=60
        ),
        name="Home",
    )
    shed = hub_entry(
        source(),
        mapped_channel(
            title="Shed weather", base_url=fake_thingspeak.url, upload_interval=60
        ),
        name="Shed",
    )
    home.add_to_hass(hass)
    await setup_hub(shed)
    channels = [channel_of(home), channel_of(shed)]
    publish(hass, 20)
    await run(hass, freezer, minutes * 60, channels)
    await run_until(
        hass,
        freezer,
        lambda: all(channel.sender.rows_waiting == 0 for channel in channels),
        channels,
    )

    stored = [row.created_at for row in fake_thingspeak.stored(CHANNEL_ID)]
    produced = [channel.sender.outbox.counters.produced for channel in channels]
    # A row a minute from each hub, on the same full minutes.
    assert produced == [minutes, minutes]
    assert len(stored) == len(set(stored)) == sum(produced)
    assert all(channel.sender.outbox.dead_letters == () for channel in channels)
    # Each pair collided once: one of its rows moved, by one second.
    redated = sum(channel.sender.outbox.counters.redated for channel in channels)
    assert redated == minutes
    on_the_minute = [when for when in stored if when.second == start.second - 5]
    assert len(on_the_minute) == minutes
    assert {when.second for when in stored} <= {59, 0, 1}  # the smallest shift
