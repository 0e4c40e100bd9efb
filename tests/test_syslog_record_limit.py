"""The hub's "largest syslog record" at a stock rsyslog; the journal keeps payloads whole."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from custom_components.iotitan.const import DEFAULT_MAX_RECORD_BYTES
from custom_components.iotitan.engine.journal import read_since

from .common import hub_entry, restart_hub, sensor_subentry
from .rsyslog import Rsyslog, rsyslogd_path

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]

FORGED_5424 = (
    b"<38>1 2026-01-01T00:00:00Z router sshd 77 - - "
    b"Accepted password for root from 203.0.113.9"
)
FORGED_3164 = b"<38>Jan  1 00:00:00 router sshd[77]: Accepted password for root"


def hostile_payloads() -> list[bytes]:
    """The issue's sizes (8,058 and 8,099 bytes) and padding around rsyslog's 8,096."""
    payloads = [
        b"A" * (8058 - len(FORGED_5424)) + FORGED_5424,
        b"A" * (8099 - len(FORGED_3164)) + FORGED_3164,
    ]
    for total in range(7900, 8200, 13):
        for suffix in (FORGED_5424, b"\n" + FORGED_3164, b"\x00\xff" + FORGED_5424):
            payloads.append(b"A" * (total - len(suffix)) + suffix)
    return payloads


@pytest.mark.skipif(rsyslogd_path() is None, reason="rsyslogd is not installed")
@pytest.mark.parametrize("record_format", ["rfc5424", "rfc3164"])
async def test_hub_default_gives_one_record_per_message_at_a_stock_rsyslog(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    socket_enabled: None,
    tmp_path: Path,
    record_format: str,
) -> None:
    """The hub's default options, rsyslog's default maxMessageSize, over TCP."""
    receiver = Rsyslog(
        tmp_path / "rsyslog",
        max_message_size=None,  # as installed
        template="%programname% %rawmsg%\\n",
    )
    await hass.async_add_executor_job(receiver.start)
    payloads = hostile_payloads()
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
                    "syslog_format": record_format,
                }
            },
        )
        await setup_hub(entry)
        for payload in payloads:
            async_fire_mqtt_message(hass, "attack/x", payload)
        await hass.async_block_till_done()
        output = await hass.async_add_executor_job(
            receiver.wait_for, lambda data: data.count(b"\n") >= len(payloads), 20, 0.5
        )
        message_log = entry.runtime_data.message_log
        await message_log.journal.flush()
        directory = message_log.directory
        stats = message_log.syslog.stats
        cut = message_log.records_cut()
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_add_executor_job(receiver.stop)

    lines = output.splitlines()
    programs = {line.partition(b" ")[0] for line in lines}
    assert b"sshd" not in programs
    assert len(lines) == len(payloads)
    assert programs == {b"iotitan"}  # the app name, also the RFC 3164 tag
    assert max(len(line.partition(b" ")[2]) for line in lines) <= 2048
    assert DEFAULT_MAX_RECORD_BYTES == 2048
    assert stats.cut_to_fit == len(payloads)
    assert cut["syslog_cut_to_fit"] == len(payloads)
    # ... while the journal has every payload whole
    records = await hass.async_add_executor_job(read_since, directory, 0.0)
    assert [r.payload for r in records if r.topic == "attack/x"] == payloads


async def test_journal_keeps_payloads_whole_and_replays_them(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Longer than both syslog limits, still whole in the journal and after a restart.

    A JSON reading of 20,000 bytes is beyond what the payload parser reads (it
    is rejected as too long) but its record is whole: importable, readable.
    """
    entry = await setup_hub(hub_entry(sensor_subentry("room/t")))
    big = b'{"v": 21.5, "pad": "' + b"\xc3\xa9\\\n\x00" * 4000 + b'"}'
    assert len(big) > 8192 + DEFAULT_MAX_RECORD_BYTES
    async_fire_mqtt_message(hass, "room/t", b"20.5")
    async_fire_mqtt_message(hass, "log/big", big)
    await hass.async_block_till_done()
    message_log = entry.runtime_data.message_log
    await message_log.journal.flush()
    assert message_log.journal.stats.truncated == 0

    await restart_hub(hass, entry, from_snapshot=False)  # the journal is read
    records = await hass.async_add_executor_job(
        read_since, entry.runtime_data.message_log.directory, 0.0
    )
    assert [r.payload for r in records if r.topic == "log/big"] == [big]
    assert entry.runtime_data.records_replayed >= 1


async def test_udp_records_never_exceed_a_datagram(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Over UDP the largest record is capped at 65,507 bytes (IPv4's payload)."""
    entry = hub_entry()
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry,
        options={
            "logging": {
                "syslog_transport": "udp",
                "syslog_host": "127.0.0.1",
                "max_record_bytes": 65536,
            }
        },
    )
    await setup_hub(entry)
    assert entry.runtime_data.message_log.syslog.formatter.max_record == 65507
