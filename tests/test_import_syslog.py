"""`iotitan.import_syslog` with hostile files: links, FIFOs, bombs, damage, dates."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
import gzip
import os
from pathlib import Path
import tracemalloc
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.iotitan import import_syslog
from custom_components.iotitan.const import DOMAIN
from custom_components.iotitan.diagnostics import async_get_config_entry_diagnostics
from custom_components.iotitan.engine.journal import read_since
from custom_components.iotitan.engine.record import MqttRecord
from custom_components.iotitan.engine.syslog import SyslogFormatter
from custom_components.iotitan.engine.window import SlidingWindow, Statistic
from custom_components.iotitan.services import DATA_LAST_IMPORT

from .common import hub_entry, sensor_subentry, subentry_id

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]
TOPIC = "home/kitchen/temperature"
MiB = 1024 * 1024


def rfc5424(topic: str, when: float, payload: bytes) -> bytes:
    """One line as IoTitan's journal writes it."""
    line, _ = SyslogFormatter(hostname="pi").format(
        MqttRecord(when, topic, payload, 0, False)
    )
    return line + b"\n"


def legacy(when: datetime, topic: str, payload: str) -> str:
    """One line of the old mqtt_logger scripts (RFC 3164, local time, no year)."""
    return f"{when:%b} {when.day:2d} {when:%H:%M:%S} pi mqtt_logger[411]: {topic} {payload}\n"


async def import_file(
    hass: HomeAssistant, entry: MockConfigEntry, path: Path | str, **data: Any
) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        "import_syslog",
        {"config_entry_id": entry.entry_id, "path": str(path), **data},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    return dict(response)


def journal_topics(hass: HomeAssistant, entry: MockConfigEntry) -> list[str]:
    directory = Path(hass.config.path("iotitan", entry.entry_id))
    return [record.topic for record in read_since(directory, 0)]


def window_of(entry: MockConfigEntry, seconds: float = 3600.0) -> SlidingWindow:
    source = entry.runtime_data.sources[subentry_id(entry)]
    return source.topics[TOPIC].windows[seconds]


@pytest.fixture
def folders(hass: HomeAssistant, tmp_path: Path) -> tuple[Path, Path]:
    """An allowlisted folder and one outside the allowlist with a secret file."""
    allowed = tmp_path / "allowed"
    outside = tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    now = dt_util.utcnow().timestamp()
    (outside / "syslog.log").write_bytes(rfc5424("secret/t", now - 60, b"s3cret"))
    hass.config.allowlist_external_dirs = {str(allowed)}
    return allowed, outside


# -- what is opened ------------------------------------------------------------------


async def test_link_swapped_after_the_check_imports_nothing_outside(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    folders: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The allowlist check passes on a plain file, then it becomes a link outside.

    The swap happens right after the first allowlist check, wherever the code
    makes it: checking a name and then opening it again would read the secret.
    """
    allowed, outside = folders
    entry = await setup_hub(hub_entry(sensor_subentry(TOPIC)))
    target = allowed / "syslog.log"
    now = dt_util.utcnow().timestamp()
    target.write_bytes(rfc5424(TOPIC, now - 30, b"21.5"))
    real_check = hass.config.is_allowed_path
    swapped = []

    def check_then_swap(path: str) -> bool:
        allowed_now = real_check(path)
        if not swapped:
            swapped.append(path)
            target.unlink()
            target.symlink_to(outside / "syslog.log")
        return allowed_now

    monkeypatch.setattr(hass.config, "is_allowed_path", check_then_swap)
    response = await import_file(hass, entry, target)
    assert swapped
    await hass.async_block_till_done()  # the reload the import schedules
    await entry.runtime_data.message_log.journal.flush()
    # What was checked is what was read: the plain file, opened before the swap.
    assert journal_topics(hass, entry) == [TOPIC]
    assert response["imported"] == 1


@pytest.mark.parametrize("swap", ["file", "folder"])
async def test_link_swapped_just_before_the_open_is_refused(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    folders: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    swap: str,
) -> None:
    """The file (or its folder) becomes a link outside the instant before opening."""
    allowed, outside = folders
    entry = await setup_hub(hub_entry(sensor_subentry(TOPIC)))
    folder = allowed / "logs"
    folder.mkdir()
    target = folder / "syslog.log"
    now = dt_util.utcnow().timestamp()
    target.write_bytes(rfc5424(TOPIC, now - 30, b"21.5"))
    real_open = os.open
    swapped = []

    def swap_then_open(path: Any, *args: Any, **kwargs: Any) -> int:
        if os.fspath(path) == str(target) and not swapped:
            swapped.append(path)
            if swap == "file":
                target.unlink()
                target.symlink_to(outside / "syslog.log")
            else:
                target.unlink()
                folder.rmdir()
                folder.symlink_to(outside)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", swap_then_open)
    with pytest.raises(ServiceValidationError) as raised:
        await import_file(hass, entry, target)
    monkeypatch.undo()
    assert raised.value.translation_key == (
        "path_is_link" if swap == "file" else "path_not_allowed"
    )
    await entry.runtime_data.message_log.journal.flush()
    assert "secret/t" not in journal_topics(hass, entry)


async def test_links_out_of_the_allowlist_are_refused(
    hass: HomeAssistant, setup_hub: SetupHub, folders: tuple[Path, Path]
) -> None:
    """A link to a file outside, or a linked folder leading outside: refused."""
    allowed, outside = folders
    entry = await setup_hub(hub_entry(sensor_subentry(TOPIC)))
    (allowed / "link.log").symlink_to(outside / "syslog.log")
    (allowed / "elsewhere").symlink_to(outside)
    for path in (allowed / "link.log", allowed / "elsewhere" / "syslog.log"):
        with pytest.raises(ServiceValidationError):
            await import_file(hass, entry, path)
    await entry.runtime_data.message_log.journal.flush()
    assert "secret/t" not in journal_topics(hass, entry)


async def test_fifo_is_refused_without_blocking(
    hass: HomeAssistant, setup_hub: SetupHub, folders: tuple[Path, Path]
) -> None:
    """A FIFO is not a regular file: refused at once, no executor thread hangs."""
    allowed, _ = folders
    entry = await setup_hub(hub_entry(sensor_subentry(TOPIC)))
    fifo = allowed / "pipe.log"
    os.mkfifo(fifo)
    call = hass.async_create_task(import_file(hass, entry, fifo))
    done, _ = await asyncio.wait({call}, timeout=20)
    if not done:  # let the blocked reader go before failing
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        await asyncio.wait({call})
        pytest.fail("importing a FIFO blocked")
    with pytest.raises(ServiceValidationError) as raised:
        call.result()
    assert raised.value.translation_key == "not_a_file"
    # A folder is not a regular file either.
    with pytest.raises(ServiceValidationError) as raised:
        await import_file(hass, entry, allowed)
    assert raised.value.translation_key == "not_a_file"


# -- bounded memory -------------------------------------------------------------------


async def traced_import(
    hass: HomeAssistant, entry: MockConfigEntry, path: Path, **data: Any
) -> tuple[dict[str, Any], int]:
    """Import `path`; return the response and the peak of traced memory."""
    tracemalloc.start()
    try:
        response = await import_file(hass, entry, path, **data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return response, peak


async def test_gzip_bomb_of_one_long_line_is_bounded(
    hass: HomeAssistant, setup_hub: SetupHub, folders: tuple[Path, Path]
) -> None:
    """256 MiB without a newline (a few hundred KB of gzip): skipped, counted, small.

    Memory is bounded by the longest line read (4 MiB) and a read chunk, not
    by the line: the peak stays under 32 MiB, an eighth of the line.
    """
    allowed, _ = folders
    entry = await setup_hub(hub_entry(sensor_subentry(TOPIC)))
    bomb = allowed / "bomb.log.gz"
    now = dt_util.utcnow().timestamp()

    def write_bomb() -> None:
        with gzip.open(bomb, "wb", compresslevel=9) as file:
            file.write(rfc5424(TOPIC, now - 30, b"1"))
            block = b"A" * MiB
            for _ in range(256):
                file.write(block)
            file.write(b"\n")
            file.write(rfc5424(TOPIC, now - 20, b"2"))

    await hass.async_add_executor_job(write_bomb)
    assert bomb.stat().st_size < 2 * MiB
    response, peak = await traced_import(hass, entry, bomb)
    assert peak < 32 * MiB, f"peak {peak / MiB:.1f} MiB"
    assert (response["lines"], response["imported"], response["too_long"]) == (3, 2, 1)
    await hass.async_block_till_done()
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["last_import"]["too_long"] == 1
    assert diagnostics["last_import"]["file"] == "bomb.log.gz"


async def test_many_lines_stream_in_batches(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    folders: tuple[Path, Path],
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three times the lines take about the same peak memory, not three times.

    The records go to the journal a batch at a time, so the peak is set by a
    batch; holding the whole file would make it grow with the file. (Batches
    of 1,000 records here, to keep the test quick: six and eighteen batches.)
    The two imports run the same code in the same process, so what Home
    Assistant itself allocates meanwhile is the same in both.
    """
    monkeypatch.setattr(import_syslog, "IMPORT_BATCH", 1000, raising=False)
    # Reads of 16 KiB too (both files would fit in one 1 MiB read).
    monkeypatch.setattr(import_syslog, "READ_CHUNK", 16 * 1024, raising=False)
    allowed, _ = folders
    await hass.config.async_set_time_zone("UTC")
    freezer.move_to(datetime(2023, 7, 10, 12, 0, tzinfo=dt_util.UTC))
    entry = await setup_hub(hub_entry(sensor_subentry(TOPIC)))
    start = datetime(2023, 7, 9, 0, 0, tzinfo=dt_util.UTC)

    def write(path: Path, count: int) -> None:
        with path.open("w") as file:
            for index in range(count):
                when = start + timedelta(seconds=index)
                file.write(legacy(when, TOPIC, f"{index % 40}.{index % 7}"))

    # Only the import is measured, not the reload that replays the journal.
    monkeypatch.setattr(hass.config_entries, "async_schedule_reload", lambda _: None)
    small, large = allowed / "small.log", allowed / "large.log"
    await hass.async_add_executor_job(write, small, 6_000)
    await hass.async_add_executor_job(write, large, 18_000)
    small_response, small_peak = await traced_import(hass, entry, small, year=2023)
    await hass.async_block_till_done()
    large_response, large_peak = await traced_import(hass, entry, large, year=2023)
    assert small_response["imported"] == 6_000
    assert large_response["imported"] == 18_000
    assert large_peak < 1.25 * small_peak, (small_peak, large_peak)


# -- damaged files --------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
async def test_damaged_gzip_gives_the_clear_error(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    folders: tuple[Path, Path],
    damage: str,
) -> None:
    """A cut or corrupted gzip stream: "could not read", records before it kept."""
    allowed, _ = folders
    entry = await setup_hub(hub_entry(sensor_subentry(TOPIC)))
    now = dt_util.utcnow().timestamp()
    lines = [
        rfc5424(TOPIC, now - 3000 + index / 10, b"%d" % index)
        for index in range(25_000)
    ]
    data = gzip.compress(b"".join(lines), compresslevel=1)
    if damage == "truncated":
        data = data[: len(data) * 3 // 4]
    else:
        middle = len(data) * 3 // 4
        data = (
            data[:middle]
            + bytes(byte ^ 0x55 for byte in data[middle : middle + 64])
            + data[middle + 64 :]
        )
    path = allowed / "syslog.1.gz"
    path.write_bytes(data)
    with pytest.raises(HomeAssistantError) as raised:
        await import_file(hass, entry, path)
    assert raised.value.translation_key == "import_damaged"
    assert raised.value.translation_placeholders is not None
    imported = int(raised.value.translation_placeholders["imported"])
    await hass.async_block_till_done()
    last_import = (await async_get_config_entry_diagnostics(hass, entry))["last_import"]
    assert (last_import["outcome"], last_import["imported"]) == ("damaged", imported)
    await entry.runtime_data.message_log.journal.flush()
    # What was imported is exactly the file's first records, in order.
    directory = Path(hass.config.path("iotitan", entry.entry_id))
    payloads = [record.payload for record in read_since(directory, 0)]
    assert payloads == [b"%d" % index for index in range(imported)]
    assert 0 < imported < len(lines)


# -- dates ---------------------------------------------------------------------------


async def test_january_import_of_december(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    folders: tuple[Path, Path],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Last December's lines imported in January are last year's, not this year's.

    Dated this year they would lie eleven months ahead and never leave a window.
    """
    allowed, _ = folders
    await hass.config.async_set_time_zone("Europe/Berlin")
    tz = dt_util.get_default_time_zone()
    now = datetime(2027, 1, 1, 0, 30, tzinfo=tz)
    freezer.move_to(now)
    entry = await setup_hub(
        hub_entry(
            sensor_subentry(TOPIC, windows=[7200.0], statistics=["mean", "count"])
        )
    )
    lines = [
        legacy(datetime(2026, 12, 31, 23, 0, tzinfo=tz), TOPIC, "10"),
        legacy(datetime(2026, 12, 31, 23, 50, tzinfo=tz), TOPIC, "20"),
        legacy(datetime(2027, 1, 1, 0, 10, tzinfo=tz), TOPIC, "30"),
    ]
    path = allowed / "syslog.1"
    path.write_text("".join(lines))
    response = await import_file(hass, entry, path)
    await hass.async_block_till_done()
    window = window_of(entry, 7200.0)
    assert (
        window.first_timestamp == datetime(2026, 12, 31, 23, 0, tzinfo=tz).timestamp()
    )
    assert window.value(Statistic.MEAN) == 20.0
    assert (response["imported"], response["in_future"]) == (3, 0)
    # Three hours later the two-hour window has let them all go.
    freezer.tick(timedelta(hours=3))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert len(window) == 0


async def test_records_from_the_future_are_refused_and_counted(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    folders: tuple[Path, Path],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Beyond the tolerance ahead of now: refused, counted in the response."""
    allowed, _ = folders
    await hass.config.async_set_time_zone("UTC")
    now = datetime(2027, 3, 10, 12, 0, tzinfo=dt_util.UTC)
    freezer.move_to(now)
    entry = await setup_hub(hub_entry(sensor_subentry(TOPIC)))
    stamp = now.timestamp()
    path = allowed / "mixed.log"
    path.write_bytes(
        rfc5424(TOPIC, stamp - 600, b"1")
        + rfc5424(TOPIC, stamp + 3600, b"2")  # an hour ahead
        + rfc5424(TOPIC, stamp + 30, b"3")  # within the minute of clock skew
        + legacy(now + timedelta(hours=5), TOPIC, "4").encode()  # ahead, same day
        + legacy(now - timedelta(minutes=5), TOPIC, "5").encode()
    )
    response = await import_file(hass, entry, path)
    assert response["lines"] == 5
    assert response["imported"] == 3
    assert response["in_future"] == 2
    await hass.async_block_till_done()  # the reload that rebuilds the windows
    # Diagnostics keep the last import's counts (the reload does not lose them).
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["last_import"] == {
        "finished": now.isoformat(),
        "file": "mixed.log",
        "outcome": "complete",
        "lines": 5,
        "imported": 3,
        "too_old": 0,
        "in_future": 2,
        "too_long": 0,
        "unparsed": 0,
        "unparsed_by_reason": {},
    }
    # An explicit year is taken at its word: this year's dates in the future
    # are refused too.
    path.write_text(legacy(now + timedelta(days=40), TOPIC, "6"))
    response = await import_file(hass, entry, path, year=2027)
    assert (response["imported"], response["in_future"]) == (0, 1)
    # Removing the hub forgets its last import.
    assert entry.entry_id in hass.data[DATA_LAST_IMPORT]
    await hass.async_block_till_done()
    assert await hass.config_entries.async_remove(entry.entry_id)
    assert entry.entry_id not in hass.data[DATA_LAST_IMPORT]
