"""Every message to syslog and the journal; windows rebuilt from the journal."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
import gzip
from pathlib import Path
import random

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)

from custom_components.iotitan.const import DOMAIN
from custom_components.iotitan.engine.journal import (
    journal_files,
    parse_line,
    read_since,
)
from custom_components.iotitan.engine.record import MqttRecord
from custom_components.iotitan.engine.syslog import SyslogFormatter
from custom_components.iotitan.engine.window import Statistic
from custom_components.iotitan.message_log import record_now

from .common import (
    FROM_SNAPSHOT_OR_JOURNAL,
    hub_entry,
    restart_hub,
    sensor_subentry,
    subentry_id,
)
from .rsyslog import Rsyslog, rsyslogd_path

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]
ALL_STATISTICS = [str(statistic) for statistic in Statistic]


def statistic_states(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, str]:
    """Every statistic sensor of a hub by `<topic>/<window>/<statistic>`."""
    registry = er.async_get(hass)
    states: dict[str, str] = {}
    for registry_entry in er.async_entries_for_config_entry(registry, entry.entry_id):
        key = registry_entry.unique_id.split("/", 1)[1]
        name = key.rsplit("/", 1)[-1]
        if registry_entry.domain == "sensor" and (name in Statistic or name == "p90"):
            state = hass.states.get(registry_entry.entity_id)
            assert state is not None
            states[key] = state.state
    return states


async def tick(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    """Advance frozen time and run the hubs' timers."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


@FROM_SNAPSHOT_OR_JOURNAL
async def test_restart_equivalence_for_every_statistic(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    from_snapshot: bool,
) -> None:
    """A hub restarted mid-stream shows what an uninterrupted one shows.

    Two hubs watch the same topics; only one is restarted (its entry reloaded).
    Every statistic of every window must match afterwards, because windows are
    rebuilt from the journal with the same millisecond timestamps.
    """
    source = {"windows": [60.0, 600.0], "statistics": ALL_STATISTICS, "percentile": 90}
    control = await setup_hub(
        hub_entry(sensor_subentry("plant/+/value", **source), name="Control")  # type: ignore[arg-type]
    )
    restarted = await setup_hub(
        hub_entry(sensor_subentry("plant/+/value", **source), name="Restarted")  # type: ignore[arg-type]
    )
    feed = Feeder(hass, freezer)
    await feed(150)
    await restart_hub(hass, restarted, from_snapshot=from_snapshot)
    replayed = restarted.runtime_data.records_replayed
    assert replayed == 0 if from_snapshot else replayed > 0
    await feed(60)
    await tick(hass, freezer, 10)

    expected = statistic_states(hass, control)
    assert len(expected) == 2 * 2 * len(ALL_STATISTICS)
    unknown = {key for key, value in expected.items() if value == "unknown"}
    assert unknown == set(), expected
    assert statistic_states(hass, restarted) == expected


@FROM_SNAPSHOT_OR_JOURNAL
async def test_home_assistant_stop_flushes_the_journal(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    from_snapshot: bool,
) -> None:
    """On Home Assistant's stop event the journal is flushed and a snapshot
    written; a start restores all, from either."""
    entry = await setup_hub(
        hub_entry(sensor_subentry("plant/+/value", statistics=ALL_STATISTICS))
    )
    await Feeder(hass, freezer)(80)
    await tick(hass, freezer, 10)
    before = statistic_states(hass, entry)

    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    journal = entry.runtime_data.message_log.journal
    assert journal.stats.records_written == 80
    assert journal.stats.buffered == 0
    snapshot = entry.runtime_data.snapshot_path
    assert entry.runtime_data.snapshot_writes["written"] == 1
    assert snapshot.exists()
    if not from_snapshot:
        snapshot.unlink()

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.snapshot_report["restored"] is from_snapshot
    assert entry.runtime_data.records_replayed == (0 if from_snapshot else 80)
    assert statistic_states(hass, entry) == before


class Feeder:
    """Publishes readings with large offsets and small noise at irregular times."""

    def __init__(self, hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
        """Use a fixed seed: the same stream every run."""
        self.hass = hass
        self.freezer = freezer
        self.rng = random.Random(42)

    async def __call__(self, count: int) -> None:
        """Send `count` messages on two topics."""
        for _ in range(count):
            topic = f"plant/{self.rng.choice(['a', 'b'])}/value"
            payload = repr(1e9 + self.rng.gauss(0, 0.5))
            async_fire_mqtt_message(self.hass, topic, payload)
            await self.hass.async_block_till_done()  # received at this frozen time
            self.freezer.tick(timedelta(seconds=self.rng.uniform(0.3, 7)))


async def test_journal_holds_every_message_in_order(
    hass: HomeAssistant, setup_hub: SetupHub, tmp_path: Path
) -> None:
    """Every message, logged topic or source topic, is one journal record."""
    entry = await setup_hub(hub_entry(sensor_subentry("room/t")))
    payloads = [b"1", b"two", b"\xff\x00binary", b"line\nbreak", b"3"]
    for payload in payloads:
        async_fire_mqtt_message(hass, "room/t", payload)
    async_fire_mqtt_message(hass, "other/topic", "logged through #")
    await hass.async_block_till_done()
    await entry.runtime_data.message_log.journal.flush()

    directory = tmp_path / "iotitan" / entry.entry_id
    records = await hass.async_add_executor_job(read_since, directory, 0.0)
    assert [r.payload for r in records if r.topic == "room/t"] == payloads
    assert [r.topic for r in records].count("other/topic") == 1
    # One line per record: the newline in a payload did not split it.
    lines = (directory / "journal.log").read_bytes().splitlines()
    assert len(lines) == len(payloads) + 1


async def test_own_output_is_never_logged_or_ingested(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Retained output of an earlier run neither logs nor creates topics."""
    entry = await setup_hub(hub_entry(sensor_subentry("#")))
    async_fire_mqtt_message(hass, "iotitan/stats/room/t/1h/mean", "20", retain=True)
    async_fire_mqtt_message(hass, "iotitan/alerts/room/t/too_hot", '{"state":"on"}')
    async_fire_mqtt_message(hass, "room/t", "21")
    await hass.async_block_till_done()
    hub = entry.runtime_data
    assert hub.messages_ignored_own == 2
    assert hub.messages_received == 1
    assert list(hub.sources[subentry_id(entry)].topics) == ["room/t"]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_hub_logging_sensors(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """Records logged, dropped, syslog state and journal size are visible."""
    entry = await setup_hub(hub_entry(sensor_subentry("room/t")))
    for value in range(5):
        async_fire_mqtt_message(hass, "room/t", str(value))
    await hass.async_block_till_done()
    await entry.runtime_data.message_log.journal.flush()
    await tick(hass, freezer, 61)  # past the journal-size interval
    await hass.async_block_till_done()

    assert hass.states.get("sensor.iotitan_records_logged").state == "5"  # type: ignore[union-attr]
    assert hass.states.get("sensor.iotitan_records_dropped").state == "0"  # type: ignore[union-attr]
    assert hass.states.get("sensor.iotitan_syslog_connection").state == "disabled"  # type: ignore[union-attr]
    directory = Path(hass.config.path("iotitan", entry.entry_id))
    on_disk = sum(path.stat().st_size for path in journal_files(directory))
    assert on_disk > 0
    assert entry.runtime_data.message_log.journal_size == on_disk
    size = hass.states.get("sensor.iotitan_journal_size")
    assert size is not None
    assert size.attributes["unit_of_measurement"] == "MiB"


@pytest.mark.skipif(rsyslogd_path() is None, reason="rsyslogd is not installed")
async def test_messages_reach_a_real_rsyslog(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    socket_enabled: None,
    tmp_path: Path,
) -> None:
    """Over TCP, every message becomes one intact RFC 5424 record at rsyslog."""
    receiver = Rsyslog(tmp_path / "rsyslog")
    await hass.async_add_executor_job(receiver.start)
    try:
        entry = hub_entry(sensor_subentry("room/t"))
        entry.add_to_hass(hass)
        hass.config_entries.async_update_entry(
            entry,
            options={
                "logging": {
                    "log_topics": ["#"],
                    "syslog_transport": "tcp",
                    "syslog_host": "127.0.0.1",
                    "syslog_port": receiver.port,
                    "syslog_hostname": "testhost",
                }
            },
        )
        await setup_hub(entry)
        for index in range(20):
            async_fire_mqtt_message(hass, f"room/{index % 2}", f'value {index}]"\n')
        await hass.async_block_till_done()
        output = await hass.async_add_executor_job(
            receiver.wait_for, lambda data: data.count(b"\n") >= 20
        )
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_add_executor_job(receiver.stop)
    lines = output.splitlines()
    assert len(lines) == 20
    for index, line in enumerate(lines):
        assert line.startswith(b"<134>1 ")  # local0.info
        assert b" testhost iotitan " in line
        assert f'[mqtt@32473 topic="room/{index % 2}"'.encode() in line
        assert line.endswith(f'value {index}]"\\n'.encode())


async def test_import_legacy_syslog(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    tmp_path: Path,
) -> None:
    """The old scripts' lines join the journal and the windows after a reload."""
    await hass.config.async_set_time_zone("Australia/Adelaide")
    freezer.move_to(
        datetime(2023, 7, 1, 12, 30, tzinfo=dt_util.get_default_time_zone())
    )
    entry = await setup_hub(
        hub_entry(
            sensor_subentry(
                "home/+/temperature", windows=[3600.0], statistics=["mean", "count"]
            )
        )
    )
    legacy = [
        "Jul  1 12:00:00 pi mqtt_logger[411]: home/kitchen/temperature 10",
        "Jul  1 12:10:00 pi mqtt_logger[411]: home/kitchen/temperature 20",
        "Jul  1 12:20:00 pi mqtt_logger[411]: home/kitchen/temperature 30",
        "Jul  1 12:21:00 pi kernel: something unrelated",
        "garbage",
        "Jan  1 00:00:00 pi mqtt_logger[411]: home/kitchen/temperature 99",  # too old
    ]
    path = tmp_path / "imports" / "syslog.1.gz"
    path.parent.mkdir()
    with gzip.open(path, "wt") as file:
        file.write("\n".join(legacy) + "\n")
    hass.config.allowlist_external_dirs = {str(path.parent)}

    response = await hass.services.async_call(
        DOMAIN,
        "import_syslog",
        {"config_entry_id": entry.entry_id, "path": str(path), "year": 2023},
        blocking=True,
        return_response=True,
    )
    assert response == {
        "lines": 6,
        "imported": 3,
        "too_old": 1,
        "in_future": 0,
        "too_long": 0,
        "unparsed": 2,
        "unparsed_by_reason": {
            "not a line of the expected program": 1,
            "not a syslog line": 1,
        },
    }
    await hass.async_block_till_done()
    source = entry.runtime_data.sources[subentry_id(entry)]
    window = source.topics["home/kitchen/temperature"].windows[3600.0]
    assert window.value(Statistic.MEAN) == 20.0
    assert window.value(Statistic.COUNT) == 3
    # Adelaide is UTC+9:30 in July: 12:00 local is 02:30 UTC.
    assert (
        window.first_timestamp
        == datetime(2023, 7, 1, 2, 30, tzinfo=dt_util.UTC).timestamp()
    )


async def test_import_refusals(
    hass: HomeAssistant, setup_hub: SetupHub, tmp_path: Path
) -> None:
    """Unknown hubs, paths outside the allowlist and unreadable files are errors."""
    entry = await setup_hub(hub_entry(sensor_subentry()))
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    calls = [
        (
            {"config_entry_id": "nope", "path": str(tmp_path / "x")},
            ServiceValidationError,
            "hub_not_found",
        ),
        (
            {"config_entry_id": entry.entry_id, "path": "/etc/passwd"},
            ServiceValidationError,
            "path_not_allowed",
        ),
        (
            {"config_entry_id": entry.entry_id, "path": str(tmp_path / "missing.log")},
            HomeAssistantError,
            "import_failed",
        ),
    ]
    for data, error, key in calls:
        with pytest.raises(error) as raised:
            await hass.services.async_call(
                DOMAIN, "import_syslog", data, blocking=True, return_response=True
            )
        assert raised.value.translation_key == key
    await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(
            DOMAIN,
            "import_syslog",
            {"config_entry_id": entry.entry_id, "path": str(tmp_path / "x")},
            blocking=True,
            return_response=True,
        )
    assert raised.value.translation_key == "hub_not_loaded"


async def test_journal_removed_with_the_hub(
    hass: HomeAssistant, setup_hub: SetupHub, tmp_path: Path
) -> None:
    """Deleting a hub deletes its journal."""
    entry = await setup_hub(hub_entry(sensor_subentry("room/t")))
    async_fire_mqtt_message(hass, "room/t", "1")
    await hass.async_block_till_done()
    await entry.runtime_data.message_log.journal.flush()
    directory = tmp_path / "iotitan" / entry.entry_id
    assert journal_files(directory)
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert not directory.exists()


async def test_journal_flushes_within_the_flush_interval(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Without any stop, records reach the disk within one flush interval."""
    entry = await setup_hub(hub_entry(sensor_subentry("room/t")))
    async_fire_mqtt_message(hass, "room/t", "1")
    await hass.async_block_till_done()
    journal = entry.runtime_data.message_log.journal
    interval = journal.flush_interval
    # Real time, not frozen time: the writer waits on the event loop's clock.
    for _ in range(int(interval * 20) + 20):
        if journal.stats.records_written:
            break
        await asyncio.sleep(0.1)
    assert journal.stats.records_written == 1


@pytest.mark.parametrize(
    "now",
    [1_700_000_000.0, 1_700_000_000.001, 1_700_000_000.0009999, 1_799_999_999.999]
    + [random.Random(seed).uniform(1.6e9, 1.9e9) for seed in range(50)],
)
def test_live_timestamp_survives_the_journal(
    now: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live record's timestamp is bit-identical to the one replay reads back.

    Windows keep the live timestamp and are rebuilt from the journal after a
    restart; a last-bit difference would move a sample across a window edge.
    """
    monkeypatch.setattr("time.time", lambda: now)
    record = record_now("room/t", b"21.5", 0, False)
    line, _ = SyslogFormatter().format(record)
    parsed = parse_line(line)
    assert isinstance(parsed, MqttRecord)
    assert parsed.timestamp == record.timestamp
    assert parsed.payload == record.payload
