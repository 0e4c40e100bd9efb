"""Narrowed "Topic filters to log": what is not matched never reaches syslog.

Checked at a real receiver: rsyslogd (TCP) where it is installed, as CI has
it, and always a plain UDP socket in the test. Sensor sources whose topics the
filters do not match are still journaled and still make readings; they must
not reach syslog by any path: live, through a second source's subscription, or
through the journal replay of a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
import re
from typing import Any, Protocol

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from custom_components.iotitan.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.iotitan.engine.journal import read_since

from .common import FROM_SNAPSHOT_OR_JOURNAL, hub_entry, restart_hub, sensor_subentry
from .rsyslog import Rsyslog, rsyslogd_path

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]
TOPIC_RE = re.compile(rb'\[mqtt@32473 topic="([^"]*)"')
LOG_TOPICS = ["logged/#", "room/u"]


class Receiver(Protocol):
    transport: str
    port: int

    async def records(self, done: Callable[[list[bytes]], bool]) -> list[bytes]:
        """Records received (one each), once `done(records)` or after a timeout."""


class RsyslogReceiver:
    transport = "tcp"

    def __init__(self, hass: HomeAssistant, directory: Path) -> None:
        self.hass = hass
        self.rsyslog = Rsyslog(directory)
        self.port = self.rsyslog.port

    async def records(self, done: Callable[[list[bytes]], bool]) -> list[bytes]:
        data = await self.hass.async_add_executor_job(
            self.rsyslog.wait_for, lambda data: done(data.splitlines())
        )
        return data.splitlines()


class UdpReceiver(asyncio.DatagramProtocol):
    transport = "udp"

    def __init__(self) -> None:
        self.datagrams: list[bytes] = []
        self.port = 0
        self.received = asyncio.Event()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.datagrams.append(data)
        self.received.set()

    async def records(self, done: Callable[[list[bytes]], bool]) -> list[bytes]:
        async with asyncio.timeout(20):
            while not done(self.datagrams):
                self.received.clear()
                await self.received.wait()
        return list(self.datagrams)


@pytest.fixture(
    params=[
        pytest.param(
            "rsyslogd",
            marks=pytest.mark.skipif(
                rsyslogd_path() is None,
                reason="rsyslogd is not installed (Debian package rsyslog; CI has it)",
            ),
        ),
        "udp socket",
    ]
)
async def receiver(
    request: pytest.FixtureRequest,
    hass: HomeAssistant,
    socket_enabled: None,
    tmp_path: Path,
) -> AsyncIterator[Receiver]:
    if request.param == "rsyslogd":
        rsyslog = RsyslogReceiver(hass, tmp_path / "rsyslog")
        await hass.async_add_executor_job(rsyslog.rsyslog.start)
        try:
            yield rsyslog
        finally:
            await hass.async_add_executor_job(rsyslog.rsyslog.stop)
        return
    udp = UdpReceiver()
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: udp, local_addr=("127.0.0.1", 0)
    )
    udp.port = transport.get_extra_info("sockname")[1]
    try:
        yield udp
    finally:
        transport.close()


def topics_of(records: list[bytes]) -> list[str]:
    topics = []
    for record in records:
        match = TOPIC_RE.search(record)
        assert match is not None, record
        topics.append(match.group(1).decode())
    return topics


def has_marker(marker: bytes) -> Callable[[list[bytes]], bool]:
    return lambda records: any(record.endswith(marker) for record in records)


@FROM_SNAPSHOT_OR_JOURNAL
async def test_narrowed_filters_keep_other_topics_out_of_syslog(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    receiver: Receiver,
    tmp_path: Path,
    from_snapshot: bool,
) -> None:
    """Only topics the log filters match reach the receiver, before and after a restart."""
    entry = hub_entry(
        sensor_subentry("room/+", title="Rooms"),
        sensor_subentry("+/t", title="Any t"),
    )
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry,
        options={
            "update_interval": 10,
            "logging": {
                "log_topics": LOG_TOPICS,
                "syslog_transport": receiver.transport,
                "syslog_host": "127.0.0.1",
                "syslog_port": receiver.port,
            },
        },
    )
    await setup_hub(entry)
    try:
        for topic, payload in [
            ("room/t", "21"),  # two sources, no log filter
            ("room/u", "22"),  # a source and a log filter
            ("other/t", "23"),  # the second source only
            ("logged/a", "hello"),  # a log filter only
            ("logged/a/b", "world"),
            ("room/t", "24"),
            ("logged/marker", "first"),
        ]:
            async_fire_mqtt_message(hass, topic, payload)
        await hass.async_block_till_done()
        await receiver.records(has_marker(b"first"))

        # A restart replays the journal (which holds room/t and other/t), or
        # restores the snapshot of the stop (nothing after it to replay)...
        await restart_hub(hass, entry, from_snapshot=from_snapshot)
        assert entry.runtime_data.records_replayed == (0 if from_snapshot else 7)
        # ...and live messages go on as before.
        async_fire_mqtt_message(hass, "room/t", "25")
        async_fire_mqtt_message(hass, "other/t", "26")
        async_fire_mqtt_message(hass, "logged/marker", "second")
        await hass.async_block_till_done()
        records = await receiver.records(has_marker(b"second"))
        diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    finally:
        await hass.config_entries.async_unload(entry.entry_id)

    assert topics_of(records) == [
        "room/u",
        "logged/a",
        "logged/a/b",
        "logged/marker",
        "logged/marker",
    ]
    # Not vacuous: the unlogged topics were readings, and journaled.
    rooms, any_t = diagnostics["hub"]["sources"].values()
    assert rooms["topics"]["room/t"]["window_samples"] == {"3600.0": 3}
    assert any_t["topics"]["other/t"]["window_samples"] == {"3600.0": 2}
    journal = await hass.async_add_executor_job(
        read_since, tmp_path / "iotitan" / entry.entry_id, 0.0
    )
    assert [record.topic for record in journal].count("room/t") == 3
