"""Every logged MQTT message goes to syslog and to the local journal.

The journal (`<config>/iotitan/<entry id>/`) is also the durable record behind
the windows: at startup the hub replays the newest records that cover its
longest window before it subscribes, so a restart loses nothing but the last
flush interval. Both writers queue in memory and do their I/O off the event
loop (asyncio sockets for syslog, the executor for files).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import contextlib
from dataclasses import asdict
from pathlib import Path
import shutil
import time
from typing import Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback

from .engine.journal import (
    JOURNAL_MAX_PAYLOAD,
    REPLAY_BATCH,
    JournalReplay,
    JournalWriter,
    ReplayResult,
    journal_files,
    read_since,
)
from .engine.record import MqttRecord, fast_record
from .engine.syslog import (
    UDP_MAX_RECORD,
    ConnectionState,
    Facility,
    SyslogFormatter,
    SyslogTarget,
    SyslogWriter,
    Transport,
)
from .listeners import Listeners
from .models import HubOptions

JOURNAL_DIRECTORY = "iotitan"


def journal_directory(hass: HomeAssistant, entry_id: str) -> Path:
    """Where a hub keeps its journal."""
    return Path(hass.config.path(JOURNAL_DIRECTORY, entry_id))


def remove_journal(directory: Path) -> None:
    """Delete a removed hub's journal (blocking: run in the executor)."""
    shutil.rmtree(directory, ignore_errors=True)


def _journal_size(directory: Path) -> int:
    total = 0
    try:
        paths = journal_files(directory)
    except OSError:  # an unreadable folder: the replay reports it
        return 0
    for path in paths:
        try:
            total += path.stat().st_size
        except OSError:  # removed by retention meanwhile, or unreadable
            continue
    return total


class MessageLog:
    """Syslog and journal writers of one hub."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        options: HubOptions,
        keep_seconds: float,
    ) -> None:
        """Configure both writers; nothing is opened until `async_start`."""
        self.hass = hass
        self.directory = journal_directory(hass, entry_id)
        log = options.logging
        self.target = SyslogTarget(
            transport=Transport(log.transport),
            host=log.host,
            port=log.port,
            path=log.path,
            ca_file=log.ca_file,
        )
        hostname = log.hostname or hass.config.location_name or None
        # The journal keeps every payload whole (up to JOURNAL_MAX_PAYLOAD): it
        # is local and IoTitan reads it back. Syslog cuts payloads over the
        # "largest payload" option and every record to the "largest record".
        journal_formatter = SyslogFormatter(
            hostname=hostname,
            app_name=log.app_name,
            facility=Facility[log.facility.upper()],
            max_payload=JOURNAL_MAX_PAYLOAD,
        )
        max_record = log.max_record_bytes
        if self.target.transport is Transport.UDP:
            max_record = min(max_record, UDP_MAX_RECORD)
        syslog_formatter = SyslogFormatter(
            hostname=hostname,
            app_name=log.app_name,
            facility=Facility[log.facility.upper()],
            rfc3164=log.legacy_format,
            max_payload=log.max_payload_bytes,
            max_record=max_record,
        )
        # A record goes to the journal first: syslog reuses its bytes if whole.
        syslog_formatter.share_from(journal_formatter)
        self.syslog = SyslogWriter(
            self.target,
            syslog_formatter,
            spool_size=log.spool_size,
            on_state_change=self._syslog_state_changed,
        )
        self.journal = JournalWriter(
            self.directory,
            keep_seconds=keep_seconds,
            formatter=journal_formatter,
            max_file_bytes=options.journal.max_file_bytes,
            flush_interval=options.journal.flush_interval,
            run_blocking=hass.async_add_executor_job,
        )
        self.journal_size: int | None = None
        self._listeners: Listeners[[]] = Listeners()

    async def async_replay(self, since: float) -> ReplayResult:
        """Read the journal's records from `since` on, oldest first, all at once."""
        return await self.hass.async_add_executor_job(read_since, self.directory, since)

    def replay(self, since: float) -> JournalReplay:
        """The journal's records from `since` on, to stream with `async_batches`."""
        return JournalReplay(self.directory, since, batch_records=REPLAY_BATCH)

    async def async_batches(
        self, replay: JournalReplay
    ) -> AsyncIterator[list[MqttRecord]]:
        """The replay's batches, oldest first, each read in the executor.

        The loop gets one batch (`REPLAY_BATCH` records) at a time, so that
        handling a batch blocks it briefly, and at most about one journal
        file's records are in memory; the replay's counters are final once
        the batches are exhausted.
        """
        batches = replay.batches()
        empty: list[MqttRecord] = []
        try:
            while batch := await self.hass.async_add_executor_job(next, batches, empty):
                yield batch
        finally:
            # Closes the files still open if the caller stopped early (unless
            # a cancelled read still runs it: its files close with it then).
            with contextlib.suppress(ValueError):
                batches.close()

    async def async_start(self) -> None:
        """Start flushing the journal and connecting to the syslog receiver."""
        await self.journal.start()
        await self.syslog.start()
        await self.async_update_journal_size()

    async def async_stop(self) -> None:
        """Flush and close both writers."""
        await self.syslog.stop()
        await self.journal.stop()

    @callback
    def submit(self, record: MqttRecord, *, to_syslog: bool) -> None:
        """Queue one record (never blocks, never raises)."""
        self.journal.submit(record)
        if to_syslog:
            self.syslog.submit(record)

    async def async_update_journal_size(self) -> None:
        """Measure the journal's size on disk (in the executor)."""
        self.journal_size = await self.hass.async_add_executor_job(
            _journal_size, self.directory
        )

    @callback
    def _syslog_state_changed(self, state: ConnectionState) -> None:
        # The writer itself logs once when the receiver goes away and once
        # when it is back; the hub only updates its connection sensor.
        self._listeners()

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `listener` when the syslog connection state changes."""
        return self._listeners.add(listener)

    def as_diagnostics(self) -> dict[str, Any]:
        """Configuration and counters of both writers."""
        syslog = asdict(self.syslog.stats)
        journal = asdict(self.journal.stats)
        return {
            "syslog": {"target": self.target.describe(), **syslog},
            "journal": {
                "directory": str(self.directory),
                "keep_seconds": self.journal.keep_seconds,
                "size_bytes": self.journal_size,
                **journal,
            },
        }

    def records_cut(self) -> dict[str, int]:
        """Syslog records cut: payloads over the largest payload, records to fit."""
        stats = self.syslog.stats
        return {
            "syslog_payload_over_limit": stats.truncated,
            "syslog_cut_to_fit": stats.cut_to_fit,
            "syslog_topic_cut": stats.topics_cut,
            "journal_payload_over_limit": self.journal.stats.truncated,
        }

    def dropped(self) -> dict[str, int]:
        """Records lost by reason, across both writers."""
        dropped = {
            f"syslog_{reason}": count
            for reason, count in self.syslog.stats.dropped.items()
        }
        dropped.update(
            (f"journal_{reason}", count)
            for reason, count in self.journal.stats.dropped.items()
        )
        return dropped


def record_now(topic: str, payload: bytes, qos: int, retain: bool) -> MqttRecord:
    """A record stamped with the current time, to the microsecond.

    Windows use the same microsecond timestamp the journal stores (and the
    same division by 1,000,000 its reader does), so a window rebuilt from the
    journal after a restart is identical to the live one. Core's `statistics`
    dates its samples to the microsecond too.
    """
    return fast_record(time.time_ns() // 1000 / 1_000_000, topic, payload, qos, retain)
