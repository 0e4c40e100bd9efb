"""Test helpers that are not fixtures: builders of hub entries and subentries.

Fixtures stay in conftest.py; tests import these with `from .common import ...`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigSubentryData
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iotitan.const import (
    CONF_DEVICE,
    CONF_DEVICE_CLASS,
    CONF_UNIT,
    CONF_UPDATE_INTERVAL,
    CONF_WORDS_AS_NUMBERS,
    CONFIG_ENTRY_MINOR_VERSION,
    CONFIG_ENTRY_VERSION,
    DOMAIN,
    SUBENTRY_CHANNEL,
    SUBENTRY_SENSOR,
)
from custom_components.iotitan.engine.thingspeak import Plan
from custom_components.iotitan.engine.window import SlidingWindow, Statistic
from custom_components.iotitan.models import (
    ChannelSubentryConfig,
    FieldSource,
    ReadingConfig,
    SensorSourceConfig,
    default_words_as_numbers,
)


def sensor_subentry(
    topic: str = "home/+/temperature",
    *,
    title: str | None = None,
    windows: list[float] | None = None,
    statistics: list[str] | None = None,
    value_path: str = "",
    unit: str | None = "°C",
    device_class: str | None = "temperature",
    percentile: int = 95,
    precision: int = 2,
    max_samples: int | None = None,
    max_topics: int = 500,
    name_template: str = "",
    area_level: int | None = None,
    words_as_numbers: bool | None = None,
    readings: tuple[ReadingConfig, ...] | None = None,
    time_path: str = "",
) -> ConfigSubentryData:
    """Subentry data as the sensor subentry flow stores it (through its model).

    Without `readings`: one reading of key "" (`value_path`, `unit`,
    `device_class`), as every source before 1.6.
    """
    if readings is None:
        readings = (
            ReadingConfig(
                key="", value_path=value_path, unit=unit, device_class=device_class
            ),
        )
    config = SensorSourceConfig(
        topic=topic,
        readings=readings,
        time_path=time_path,
        windows=tuple(windows or [3600.0]),
        statistics=tuple(
            Statistic(name) for name in statistics or ["mean", "value_min", "value_max"]
        ),
        percentile=percentile,
        precision=precision,
        max_samples=max_samples,
        max_topics=max_topics,
        words_as_numbers=(
            default_words_as_numbers({CONF_UNIT: unit, CONF_DEVICE_CLASS: device_class})
            if words_as_numbers is None
            else words_as_numbers
        ),
        name_template=name_template,
        area_level=area_level,
    )
    return ConfigSubentryData(
        subentry_type=SUBENTRY_SENSOR,
        title=title or topic,
        unique_id=None,
        data=config.to_subentry_data(),
    )


async def start_sensor_flow(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    """Open "Add sensor source" and choose "Enter a topic filter"."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_SENSOR), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    return await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "topic"}
    )


async def configure_sensor(
    hass: HomeAssistant, flow_id: str, user_input: dict[str, Any] | None = None
) -> Any:
    """Submit a step of the source flow; if it listens, the step after listening."""
    result = await hass.config_entries.subentries.async_configure(flow_id, user_input)
    if result["type"] is FlowResultType.SHOW_PROGRESS:
        await hass.async_block_till_done()
        result = await hass.config_entries.subentries.async_configure(flow_id)
    return result


# What each entry minor version added to sensor subentries' data.
SENSOR_KEYS_ADDED = {4: CONF_WORDS_AS_NUMBERS, 5: CONF_DEVICE}


def sensor_data_of_shape(data: Mapping[str, Any], minor: int) -> dict[str, Any]:
    """Sensor subentry data as entry version 1.`minor` stored it.

    Before 1.6 a source had one value path, unit and device class at the top
    (a source of one reading of key "").
    """
    shaped = {
        key: value
        for key, value in data.items()
        if key not in {k for v, k in SENSOR_KEYS_ADDED.items() if v > minor}
    }
    if minor < 6:
        (reading,) = shaped.pop("readings")
        assert reading["key"] == "", "sources before 1.6 had one reading of key ''"
        del shaped["time_path"]
        shaped["value_path"] = reading["value_path"]
        shaped[CONF_UNIT] = reading[CONF_UNIT]
        shaped[CONF_DEVICE_CLASS] = reading[CONF_DEVICE_CLASS]
    return shaped


def hub_entry(
    *subentries: ConfigSubentryData,
    name: str = "IoTitan",
    update_interval: int = 10,
    entry_id: str | None = None,
) -> MockConfigEntry:
    """A hub config entry of today's shape with the given subentries."""
    return MockConfigEntry(
        domain=DOMAIN,
        entry_id=entry_id,
        version=CONFIG_ENTRY_VERSION,
        minor_version=CONFIG_ENTRY_MINOR_VERSION,
        title=name,
        data={CONF_NAME: name},
        options={CONF_UPDATE_INTERVAL: update_interval},
        subentries_data=subentries,
    )


def subentry_id(entry: MockConfigEntry, index: int = 0) -> str:
    """Id of the entry's `index`-th subentry."""
    return list(entry.subentries)[index]


# -- ThingSpeak channels -------------------------------------------------------------

CHANNEL_ID = 1001
WRITE_KEY = "WRITEKEY0SECRET1"


def channel_subentry(
    fields: dict[str, dict[str, Any]],
    *,
    channel_id: int = CHANNEL_ID,
    write_key: str = WRITE_KEY,
    base_url: str = "https://api.thingspeak.com",
    plan: str = "free",
    upload_interval: int = 300,
    send_status: bool = False,
    latitude: float | None = None,
    longitude: float | None = None,
    max_rows: int = 20_000,
    title: str | None = None,
) -> ConfigSubentryData:
    """Subentry data as the channel subentry flow stores it (through its model).

    `fields` maps "1".."8" to {"source": subentry id, "topic", "window",
    "statistic"}; give the sensor subentry a fixed "subentry_id" to refer to it.
    """
    config = ChannelSubentryConfig(
        channel_id=channel_id,
        write_key=write_key,
        plan=Plan(plan),
        upload_interval=upload_interval,
        fields={
            int(number): FieldSource.from_data(source)
            for number, source in fields.items()
        },
        send_status=send_status,
        latitude=latitude,
        longitude=longitude,
        base_url=base_url,
        max_rows=max_rows,
    )
    return ConfigSubentryData(
        subentry_type=SUBENTRY_CHANNEL,
        title=title or f"ThingSpeak {channel_id}",
        unique_id=None,
        data=config.to_subentry_data(),
    )


async def submit_channel_fields(
    hass: HomeAssistant, flow_id: str, choices: dict[str, Any]
) -> Any:
    """The channel flow's two field steps: each field's topic, then its statistic.

    `choices` maps `fieldN` to a FieldSource, and may hold `send_status`.
    """
    topics = {
        key: value.topic_choice if isinstance(value, FieldSource) else value
        for key, value in choices.items()
    }
    result = await hass.config_entries.subentries.async_configure(flow_id, topics)
    if result.get("step_id") != "statistics" or result["type"] != "form":
        return result
    return await hass.config_entries.subentries.async_configure(
        flow_id,
        {
            key: value.statistic_choice
            for key, value in choices.items()
            if isinstance(value, FieldSource)
        },
    )


FROM_SNAPSHOT_OR_JOURNAL = pytest.mark.parametrize(
    "from_snapshot", [True, False], ids=["snapshot", "full_replay"]
)
"""Run a restart test both ways: windows restored from the hub's snapshot, and
rebuilt by replaying the whole journal (the snapshot deleted first)."""


async def restart_hub(
    hass: HomeAssistant, entry: MockConfigEntry, *, from_snapshot: bool
) -> None:
    """Reload a hub: from the snapshot its stop wrote, or (deleted) from the journal.

    Asserts that the way asked for is the way taken.
    """
    from custom_components.iotitan.hub_snapshot import SNAPSHOT_FILE
    from custom_components.iotitan.message_log import journal_directory

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    if not from_snapshot:
        path = journal_directory(hass, entry.entry_id) / SNAPSHOT_FILE
        await hass.async_add_executor_job(path.unlink)  # the stop wrote it
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    report = entry.runtime_data.snapshot_report
    assert report["restored"] is from_snapshot, report


# -- windows -------------------------------------------------------------------------


def count_bulk_adds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, count the windows' bulk adds of queued readings (in `[0]`)."""
    calls = [0]
    real_bulk = SlidingWindow._add_bulk

    def counting_bulk(window: SlidingWindow, *args: Any) -> bool:
        calls[0] += 1
        return real_bulk(window, *args)

    monkeypatch.setattr(SlidingWindow, "_add_bulk", counting_bulk)
    return calls


def assert_same_window(window: SlidingWindow, reference: SlidingWindow) -> None:
    """The two windows hold the same samples, sorted values, scales and sums."""
    got, expected = window.export_state(), reference.export_state()
    assert got.times.tobytes() == expected.times.tobytes()
    assert got.values.tobytes() == expected.values.tobytes()
    assert got.sorted_values.tobytes() == expected.sorted_values.tobytes()
    assert (got.time_scale, got.value_scale, got.sums) == (
        expected.time_scale,
        expected.value_scale,
        expected.sums,
    )
