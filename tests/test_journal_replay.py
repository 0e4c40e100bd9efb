"""Starting a hub from a damaged journal: the readable rest, a repair issue, counts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
import logging
from pathlib import Path
import shutil
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.iotitan import message_log as message_log_module
from custom_components.iotitan.const import DOMAIN
from custom_components.iotitan.engine.journal import (
    ACTIVE_FILE,
    JournalWriter,
    journal_files,
)
from custom_components.iotitan.engine.record import MqttRecord
from custom_components.iotitan.engine.syslog import SyslogFormatter
from custom_components.iotitan.engine.window import SlidingWindow, Statistic

from .common import (
    assert_same_window,
    count_bulk_adds,
    hub_entry,
    sensor_subentry,
    subentry_id,
)

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]
TOPIC = "room/t"


async def write_journal(
    directory: Path, records: list[MqttRecord], max_file_bytes: int = 2500
) -> None:
    """Write `records` as IoTitan does, in small files (several of them)."""
    writer = JournalWriter(
        directory,
        keep_seconds=10 * 86400,
        formatter=SyslogFormatter(hostname="pi"),
        max_file_bytes=max_file_bytes,
        flush_interval=3600,
    )
    await writer.start()
    for item in records:
        writer.submit(item)
    await writer.stop()


def journal_values(path: Path) -> list[float]:
    """The readings in one journal file, read without IoTitan's reader."""
    values = []
    for line in path.read_bytes().splitlines():
        values.append(float(line.rsplit(b"] ", 1)[1]))
    return values


def new_entry() -> MockConfigEntry:
    return hub_entry(
        sensor_subentry(TOPIC, windows=[3600.0], statistics=["mean", "count"])
    )


async def test_hub_starts_without_an_unreadable_journal_file(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    hass_client: ClientSessionGenerator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A folder in place of a rotated file: setup succeeds with the rest.

    The windows hold exactly the readings of the readable files, a repair
    issue names the file and the cause, the diagnostics count it and the
    unreadable lines, one warning says so; a later clean start clears the issue.
    """
    entry = new_entry()
    directory = tmp_path / "iotitan" / entry.entry_id
    now = time.time()
    # Whole milliseconds, 10 s apart, within the last hour.
    start = int(now) - 1200
    records = [
        MqttRecord(float(start + 10 * index), TOPIC, b"%d" % index, 0, False)
        for index in range(100)
    ]
    await write_journal(directory, records)
    files = journal_files(directory)
    assert len(files) >= 3
    bad = files[1]
    readable = [
        value for path in files if path != bad for value in journal_values(path)
    ]
    bad_content = bad.read_bytes()
    bad.unlink()
    bad.mkdir()
    with (directory / ACTIVE_FILE).open("ab") as file:  # garbage and a torn tail
        file.write(b"\x00\xffgarbage\n<134>1 2026-11-26T22:39:50.0")

    caplog.set_level(logging.WARNING)
    await setup_hub(entry)
    assert entry.state is ConfigEntryState.LOADED
    window = (
        entry.runtime_data.sources[subentry_id(entry)].topics[TOPIC].windows[3600.0]
    )
    assert window.value(Statistic.COUNT) == len(readable) < len(records)
    assert window.value(Statistic.MEAN) == pytest.approx(sum(readable) / len(readable))

    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"journal_unreadable_{entry.entry_id}"
    )
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_key == "journal_unreadable"
    assert issue.translation_placeholders is not None
    assert bad.name in issue.translation_placeholders["files"]
    assert "Is a directory" in issue.translation_placeholders["files"]

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    replay = diagnostics["hub"]["journal_replay"]
    assert replay["files_unreadable"] == [{"file": str(bad), "error": "Is a directory"}]
    assert replay["lines_unreadable"] == 2
    # Every file but the folder, the active file with the garbage included.
    assert replay["files_read"] == len(journal_files(directory)) - 1

    warnings = [
        record
        for record in caplog.records
        if record.levelno == logging.WARNING and "journal" in record.getMessage()
    ]
    assert len(warnings) == 1, [record.getMessage() for record in warnings]
    assert bad.name in warnings[0].getMessage()

    # The file is put back: the next start reads everything, the issue goes.
    await hass.config_entries.async_unload(entry.entry_id)
    bad.rmdir()
    bad.write_bytes(bad_content)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    window = (
        entry.runtime_data.sources[subentry_id(entry)].topics[TOPIC].windows[3600.0]
    )
    assert window.value(Statistic.COUNT) == len(records)
    assert (
        ir.async_get(hass).async_get_issue(
            DOMAIN, f"journal_unreadable_{entry.entry_id}"
        )
        is None
    )


async def test_unreadable_journal_folder_and_removal(
    hass: HomeAssistant, setup_hub: SetupHub, tmp_path: Path
) -> None:
    """A file where the journal's folder should be: the hub starts empty.

    The issue names the folder; removing the hub removes its issue.
    """
    entry = new_entry()
    directory = tmp_path / "iotitan" / entry.entry_id
    directory.parent.mkdir(parents=True)
    directory.write_bytes(b"not a folder")
    await setup_hub(entry)
    assert entry.state is ConfigEntryState.LOADED
    issue_id = f"journal_unreadable_{entry.entry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert entry.entry_id in issue.translation_placeholders["files"]
    assert "Not a directory" in issue.translation_placeholders["files"]
    await hass.config_entries.async_unload(entry.entry_id)
    directory.unlink()
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    shutil.rmtree(directory, ignore_errors=True)


# -- no window holds a sample from the future --------------------------------------------


async def test_replay_refuses_records_from_the_future(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A journal written before the clock stepped back holds later records.

    They stay in the journal but never enter a window, and are counted.
    """
    now = datetime(2027, 5, 4, 12, 0, tzinfo=UTC)
    freezer.move_to(now)
    entry = new_entry()
    directory = tmp_path / "iotitan" / entry.entry_id
    stamp = now.timestamp()
    past = [
        MqttRecord(stamp - 600 + 60 * index, TOPIC, b"%d" % index, 0, False)
        for index in range(10)
    ]
    future = [
        MqttRecord(stamp + 600, TOPIC, b"1000", 0, False),
        MqttRecord(stamp + 7200, TOPIC, b"2000", 0, False),
    ]
    await write_journal(directory, past + future)
    await setup_hub(entry)
    window = (
        entry.runtime_data.sources[subentry_id(entry)].topics[TOPIC].windows[3600.0]
    )
    assert [value for _, value in window] == [float(index) for index in range(10)]
    assert window.last_timestamp is not None
    assert window.last_timestamp <= stamp
    # (The diagnostics' "hub" part; the download's login expires in 2027.)
    diagnostics = entry.runtime_data.as_diagnostics()
    assert diagnostics["future_samples"]["refused_replay"] == 2
    assert diagnostics["journal_replay"]["future_samples_refused"] == 2
    topic = diagnostics["sources"][subentry_id(entry)]["topics"][TOPIC]
    assert topic["future_samples_refused"] == 2


async def test_clock_stepped_back_drops_samples_now_in_the_future(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Samples taken before the clock stepped back leave the windows.

    On the next tick, and on the next message before it is added (otherwise
    it would be clamped to the later sample's time).
    """
    now = datetime(2027, 5, 4, 12, 0, tzinfo=UTC)
    freezer.move_to(now)
    entry = await setup_hub(new_entry())
    for value in ("1", "2"):
        async_fire_mqtt_message(hass, TOPIC, value)
        await hass.async_block_till_done()
        freezer.tick(timedelta(seconds=30))
    window = (
        entry.runtime_data.sources[subentry_id(entry)].topics[TOPIC].windows[3600.0]
    )
    assert len(window) == 2
    freezer.move_to(now - timedelta(minutes=20))  # the clock steps back
    async_fire_mqtt_message(hass, TOPIC, "3")
    await hass.async_block_till_done()
    assert list(window) == [((now - timedelta(minutes=20)).timestamp(), 3.0)]
    # Step back again; this time the tick notices first.
    freezer.move_to(now - timedelta(minutes=40))
    # The loop's timers run on its own clock, which did not step: fire them.
    async_fire_time_changed(hass, fire_all=True)
    await hass.async_block_till_done()
    assert len(window) == 0
    diagnostics = entry.runtime_data.as_diagnostics()
    assert diagnostics["future_samples"]["dropped_after_clock_step"] == 3


async def test_live_message_stamped_ahead_is_refused(
    hass: HomeAssistant, setup_hub: SetupHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message stamped ahead of now is logged but never enters a window."""
    entry = await setup_hub(new_entry())

    def ahead(topic: str, payload: bytes, qos: int, retain: bool) -> MqttRecord:
        return MqttRecord(time.time() + 3600, topic, payload, qos, retain)

    monkeypatch.setattr("custom_components.iotitan.hub.record_now", ahead)
    async_fire_mqtt_message(hass, TOPIC, "5")
    await hass.async_block_till_done()
    state = entry.runtime_data.sources[subentry_id(entry)].topics[TOPIC]
    assert len(state.windows[3600.0]) == 0
    assert entry.runtime_data.future_samples["refused_live"] == 1
    assert entry.runtime_data.message_log.journal.stats.buffered == 1


async def test_a_hub_with_no_source_left_drops_the_journal_issue(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Nothing is rebuilt from the journal without a source: nothing is missing.

    The issue was raised at an earlier start (unreadable files); the hub now
    starts with no sensor source, so the notice would only mislead.
    """
    entry = hub_entry()
    entry.add_to_hass(hass)
    issue_id = f"journal_unreadable_{entry.entry_id}"
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key="journal_unreadable",
        translation_placeholders={"hub": "IoTitan", "files": "x", "directory": "y"},
    )
    await setup_hub(entry)
    assert entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_replay_is_streamed_in_batches(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The hub takes the journal batch by batch, each read in the executor.

    The windows and counts are those of the whole journal, in its order.
    """
    monkeypatch.setattr(message_log_module, "REPLAY_BATCH", 7)
    entry = new_entry()
    directory = tmp_path / "iotitan" / entry.entry_id
    start = int(time.time()) - 1200
    records = [
        MqttRecord(float(start + 10 * index), TOPIC, b"%d" % index, 0, False)
        for index in range(100)
    ]
    await write_journal(directory, records)
    assert len(journal_files(directory)) >= 3
    batches: list[int] = []
    real_next = next

    def spy_next(iterator: Any, default: Any) -> Any:
        batch = real_next(iterator, default)
        batches.append(len(batch))
        return batch

    real_job = hass.async_add_executor_job

    def add_job(target: Any, *args: Any) -> Any:
        if target is next:
            return real_job(spy_next, *args)
        return real_job(target, *args)

    monkeypatch.setattr(hass, "async_add_executor_job", add_job)
    await setup_hub(entry)
    assert batches == [7] * 14 + [2, 0]
    hub = entry.runtime_data
    window = hub.sources[subentry_id(entry)].topics[TOPIC].windows[3600.0]
    assert [value for _, value in window] == [float(index) for index in range(100)]
    assert hub.records_replayed == 100
    assert hub.replay_report["files_read"] == len(journal_files(directory))


async def test_replayed_readings_are_added_to_the_windows_in_bulk(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The replay queues each reading and the windows take them in bulk.

    The windows are those `SlidingWindow.add` builds from the same readings one
    by one, expired at the same moment: the same samples, the same exact sums
    and scales. No reading goes through `add` itself.
    """
    now = datetime(2027, 5, 4, 12, 0, tzinfo=UTC)
    freezer.move_to(now)
    stamp = now.timestamp()
    entry = hub_entry(
        sensor_subentry("room/+", windows=[3600.0, 600.0], statistics=["mean"])
    )
    topics = ["room/a", "room/b"]
    records = [
        MqttRecord(
            stamp - 3000 + 2 * index + (index % 7) / 8,
            topics[index % 2],
            b"%.2f" % (20 + (index % 13) / 3),
            0,
            False,
        )
        for index in range(1500)
    ]
    await write_journal(
        tmp_path / "iotitan" / entry.entry_id, records, max_file_bytes=1 << 20
    )

    def no_add(*args: Any) -> None:
        raise AssertionError("a replayed reading went through add()")

    with monkeypatch.context() as patched:
        bulk_adds = count_bulk_adds(patched)
        patched.setattr(SlidingWindow, "add", no_add)
        await setup_hub(entry)
    assert bulk_adds[0] >= 4  # two windows of two topics
    source = entry.runtime_data.sources[subentry_id(entry)]
    assert not source.replaying
    for topic in topics:
        for seconds in (3600.0, 600.0):
            reference = SlidingWindow(seconds)
            for record in records:
                if record.topic == topic:
                    reference.add(record.timestamp, float(record.payload))
            reference.expire(stamp)
            window = source.topics[topic].windows[seconds]
            assert len(window) == len(reference) > 100
            assert_same_window(window, reference)
