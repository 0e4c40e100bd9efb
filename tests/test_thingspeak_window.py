"""ThingSpeak rows carry the window as it is at the row's time.

The hub's update tick (which also expires old samples) may be an hour apart;
a row must still leave out every sample that left its window before the
row's time, so a sensor that went silent stops uploading its last mean once
its window is empty. Real HTTP to the fake ThingSpeak, frozen time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
import statistics
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from .common import CHANNEL_ID, channel_subentry, hub_entry
from .fake_thingspeak import FakeThingSpeak
from .test_thingspeak_ha import (
    SOURCE_ID,
    TOPIC,
    channel_of,
    field,
    run,
    source,
    start,  # noqa: F401  (fixture: 5 s past a full hour)
)

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]
WINDOW = 300.0
UPLOAD_INTERVAL = 60
READING_EVERY = 30
READINGS = [3.0, 7.0, 1.0, 9.0, 4.0, 8.0, 2.0, 6.0, 5.0, 10.0]  # then silence


async def test_rows_leave_out_samples_that_left_the_window(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,  # noqa: F811
) -> None:
    """An hourly hub tick, a 5-minute window, a row a minute, a source that stops."""
    fields = {
        "1": field("mean", WINDOW),
        "2": field("count", WINDOW),
        "3": field("value_max", WINDOW),
    }
    entry = hub_entry(
        source(windows=[WINDOW], statistics=["mean", "count", "value_max"]),
        channel_subentry(
            fields, base_url=fake_thingspeak.url, upload_interval=UPLOAD_INTERVAL
        ),
        update_interval=3600,
    )
    await setup_hub(entry)
    channel = channel_of(entry)
    sent: list[tuple[float, float]] = []

    def publish_on_schedule() -> None:
        # Every half minute from 0:30 (start is 0:05): those on full minutes
        # are exactly WINDOW old at a row, at the window's edge.
        elapsed = round(dt_util.utcnow().timestamp() - start.timestamp())
        index, rest = divmod(elapsed, READING_EVERY)
        if rest == READING_EVERY - 5 and index < len(READINGS):
            async_fire_mqtt_message(hass, TOPIC, str(READINGS[index]))
            sent.append((dt_util.utcnow().timestamp(), READINGS[index]))

    # Steps of 5 s: rows are made on their boundary. 15 minutes: the last
    # reading is at 5:00, its window ends at 10:00.
    await run(hass, freezer, 15 * 60, [channel], step=5, each=publish_on_schedule)
    await run(hass, freezer, 60, [channel])  # the last rows go out
    assert len(sent) == len(READINGS)

    expected: list[tuple[datetime, dict[str, Any]]] = []
    at_the_edge = 0
    boundary = start - timedelta(seconds=5)  # the full hour
    for minute in range(1, 17):  # 16 minutes have passed
        row_time = boundary + timedelta(minutes=minute)
        now = row_time.timestamp()
        # Independent of the window: the samples at most WINDOW seconds old.
        # A sample exactly WINDOW old is still in, as in core's statistics; a
        # reading at the row's very time is published after the row is made
        # (`run` fires the timers, then calls `each` at the next step).
        values = [value for when, value in sent if now - WINDOW <= when < now]
        at_the_edge += any(when == now - WINDOW for when, _ in sent)
        row: dict[str, Any] = {"field2": len(values)}  # a count of 0 is a value
        if values:
            row["field1"] = round(statistics.fmean(values), 2)
            row["field3"] = max(values)
        expected.append((row_time, row))
    stored = [
        (row.created_at, row.values) for row in fake_thingspeak.stored(CHANNEL_ID)
    ]
    # The readings on full minutes (1:00 to 5:00) are each exactly WINDOW old
    # at a row: the edge is tested five times.
    assert at_the_edge == 5
    assert stored == expected
    # The source went silent at 5:00: after 10:00 its window is empty, and
    # the rows say so rather than repeat the last mean.
    silent = [row for row_time, row in stored if row_time.minute >= 11]
    assert silent == [{"field2": 0}] * 6


async def test_building_a_row_reads_the_windows_without_changing_them(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    start: datetime,  # noqa: F811
) -> None:
    """Expiry is its own step before a row is built; building one only reads."""
    entry = hub_entry(
        source(windows=[WINDOW], statistics=["mean", "count"]),
        channel_subentry(
            {"1": field("mean", WINDOW), "2": field("count", WINDOW)},
            base_url=fake_thingspeak.url,
            upload_interval=UPLOAD_INTERVAL,
        ),
        update_interval=3600,
    )
    await setup_hub(entry)
    async_fire_mqtt_message(hass, TOPIC, "3")
    async_fire_mqtt_message(hass, TOPIC, "7")
    await hass.async_block_till_done()
    channel = channel_of(entry)
    topic = entry.runtime_data.sources[SOURCE_ID].topics[TOPIC]
    topic.dirty = False
    samples = {seconds: list(window) for seconds, window in topic.windows.items()}
    assert [len(kept) for kept in samples.values()] == [2]

    # Both samples left the window by then; the windows still hold them.
    later = dt_util.utcnow() + timedelta(seconds=2 * WINDOW)
    row = channel.build_row(later)
    assert row is not None
    assert row.fields == {1: 5.0, 2: 2}
    assert {seconds: list(window) for seconds, window in topic.windows.items()} == (
        samples
    )
    assert topic.dirty is False

    channel.expire_field_windows(later)
    assert [len(window) for window in topic.windows.values()] == [0]
    assert topic.dirty is True
    row = channel.build_row(later)
    assert row is not None
    assert row.fields == {2: 0}  # a count of 0 is a value
