"""Import the original scripts' syslog history into a hub's journal.

Users moving from the `mqtt_logger` scripts keep their history: their syslog
files (plain or gzip) are parsed, the records are appended to the journal in
batches, and the hub is reloaded so its windows are rebuilt from it.

Any file may be named, so the file is handled with care (all blocking: run in
the executor):

- `open_for_import` opens it first, without following a symbolic link in its
  last component and without blocking (a FIFO would otherwise hang an executor
  thread), then checks what was opened: a regular file, whose real path (from
  the descriptor itself) is inside the allowlist and names the same device and
  inode. Everything after reads only from that descriptor, so swapping a link
  between the check and the read changes nothing.
- `SyslogImport` reads it in chunks, never holding more than one line of at
  most `MAX_LINE_BYTES` (longer lines are skipped and counted), and hands the
  records over in batches of at most `IMPORT_BATCH` records.
- Legacy lines carry no year: unless a year is given, each one gets the year
  that puts it at most `YEAR_TOLERANCE` ahead of now (last December's lines
  imported in January are last year's). A record more than `FUTURE_TOLERANCE`
  ahead of now is refused and counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
import errno
import gzip
import os
from pathlib import Path
import stat
from typing import Any, BinaryIO, Final
import zlib

from .engine.journal import REASON_BAD_TIMESTAMP, parse_line
from .engine.record import MqttRecord

# Records handed to the journal writer at a time (it flushes between batches).
IMPORT_BATCH: Final = 10_000
# ... and at most this many payload bytes at a time.
IMPORT_BATCH_BYTES: Final = 16 * 1024 * 1024
# The longest line read: the old scripts' lines are short (rsyslog's default
# limit is 8 KiB); IoTitan's own lines hold a payload of up to 1 MiB, escaped.
MAX_LINE_BYTES: Final = 4 * 1024 * 1024
# Bytes read from the file (decompressed, for gzip) at a time.
READ_CHUNK: Final = 1024 * 1024
# A year-less date up to this far ahead of now is this year's, else last year's
# (time zones and clocks differ by hours, never by a day).
YEAR_TOLERANCE: Final = 86_400.0
# A record further ahead of now than this (clock skew between the logging host
# and Home Assistant) is refused: it would sit in the windows until its time.
FUTURE_TOLERANCE: Final = 60.0

REASON_TOO_LONG: Final = "line too long"
REASON_IN_FUTURE: Final = "in the future"

_GZIP_MAGIC: Final = b"\x1f\x8b"


class ImportRefusedError(Exception):
    """The file may not be imported; `key` names the translated reason."""

    def __init__(self, key: str, detail: str = "") -> None:
        """Remember the translation key and a detail (a path or an error)."""
        super().__init__(key, detail)
        self.key = key
        self.detail = detail


class ImportReadError(Exception):
    """The file could not be read to its end (I/O error, damaged gzip)."""

    def __init__(self, cause: BaseException) -> None:
        """Describe `cause` without a traceback."""
        text = str(cause) or type(cause).__name__
        if isinstance(cause, OSError) and cause.strerror:
            text = cause.strerror
        super().__init__(text)
        self.cause = cause


def _real_path(fd: int, opened: os.stat_result, requested: str) -> str:
    """The path of what `fd` refers to, checked to name that very file.

    The kernel's name for the descriptor (``/proc/self/fd``) where there is
    one, else the requested path with every link resolved. Either must lead to
    the same device and inode as the descriptor: a file removed or replaced
    meanwhile has no trustworthy name and is refused.
    """
    try:
        real = Path(f"/proc/self/fd/{fd}").readlink()
    except OSError:
        real = Path(requested).resolve()
    if not real.is_absolute():
        raise ImportRefusedError("path_not_allowed", requested)
    try:
        named = real.stat()
    except OSError as err:
        raise ImportRefusedError("path_not_allowed", requested) from err
    if (named.st_dev, named.st_ino) != (opened.st_dev, opened.st_ino):
        raise ImportRefusedError("path_not_allowed", requested)
    return str(real)


def open_for_import(path: str, is_allowed: Callable[[str], bool]) -> int:
    """Open `path` for reading if it may be imported; return the descriptor.

    Blocking. `is_allowed` is ``hass.config.is_allowed_path``; it is given the
    real path of what was opened. Raises `ImportRefusedError` (a symbolic link,
    not a regular file, outside the allowlist) or `OSError` (cannot open).
    """
    flags = (
        os.O_RDONLY
        | os.O_NOFOLLOW  # the last component must not be a link
        | os.O_NONBLOCK  # a FIFO opens at once instead of waiting for a writer
        | os.O_NOCTTY
        | os.O_CLOEXEC
    )
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise ImportRefusedError("path_is_link", path) from err
        raise
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise ImportRefusedError("not_a_file", path)
        real = _real_path(fd, opened, path)
        if not is_allowed(real):
            raise ImportRefusedError("path_not_allowed", path)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


@dataclass(slots=True)
class ImportCounts:
    """What an import found, by outcome."""

    lines: int = 0
    imported: int = 0
    too_old: int = 0
    in_future: int = 0
    too_long: int = 0
    unparsed: Counter[str] = field(default_factory=Counter)

    def as_response(self) -> dict[str, Any]:
        """The action's response."""
        return {
            "lines": self.lines,
            "imported": self.imported,
            "too_old": self.too_old,
            "in_future": self.in_future,
            "too_long": self.too_long,
            "unparsed": self.unparsed.total(),
            "unparsed_by_reason": dict(self.unparsed),
        }


class SyslogImport:
    """Reads a syslog file from a descriptor, in batches, with bounded memory.

    Blocking: call `read_batch` in the executor until it returns an empty list,
    then `close` (also after an error). `since`: records older are counted as
    too old, not returned (the journal would delete them at its next pruning).
    `year`: the year of legacy lines; None picks it per line (see the module).
    """

    def __init__(
        self,
        fd: int,
        *,
        gzipped: bool,
        year: int | None,
        this_year: int,
        tz: tzinfo,
        since: float,
        now: float,
    ) -> None:
        """Take over `fd` (closed by `close`, or here if this raises). Blocking."""
        raw: BinaryIO = os.fdopen(fd, "rb", buffering=0)
        try:
            if not gzipped:
                gzipped = os.pread(fd, 2, 0) == _GZIP_MAGIC
        except BaseException:
            raw.close()
            raise
        self._file: BinaryIO | gzip.GzipFile = (
            gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
        )
        self._raw = raw
        self._year = year
        self._this_year = this_year
        self._tz = tz
        self._since = since
        self._latest = now + FUTURE_TOLERANCE
        self._year_latest = now + YEAR_TOLERANCE
        self.counts = ImportCounts()
        self._lines = self._read_lines()

    def close(self) -> None:
        """Close the file (and its descriptor)."""
        try:
            self._file.close()
        finally:
            self._raw.close()

    def _read_lines(self) -> Iterator[bytes]:
        """Yield the file's lines (without ``\\n``), skipping and counting long ones.

        Reads `READ_CHUNK` bytes at a time and keeps at most `MAX_LINE_BYTES` of
        an unfinished line: a gigabyte without a newline costs a chunk and a
        line's worth of memory, not a gigabyte.
        """
        pending = bytearray()
        discarding = False  # inside a line already too long
        read = self._file.read
        while chunk := read(READ_CHUNK):
            start = 0
            while True:
                end = chunk.find(b"\n", start)
                stop = len(chunk) if end < 0 else end
                if not discarding:
                    if len(pending) + stop - start > MAX_LINE_BYTES:
                        discarding = True
                        pending.clear()
                    elif end >= 0 and not pending:
                        yield chunk[start:end]
                    else:
                        pending += chunk[start:stop]
                if end < 0:
                    break
                if discarding:
                    self.counts.lines += 1
                    self.counts.too_long += 1
                    discarding = False
                elif pending:
                    line = bytes(pending)
                    pending.clear()
                    yield line
                start = end + 1
        if discarding:
            self.counts.lines += 1
            self.counts.too_long += 1
        elif pending:
            yield bytes(pending)

    def _parse(self, line: bytes) -> MqttRecord | str:
        if self._year is not None:
            return parse_line(line, year=self._year, tz=self._tz)
        parsed = parse_line(line, year=self._this_year, tz=self._tz)
        if (
            isinstance(parsed, MqttRecord) and parsed.timestamp > self._year_latest
        ) or parsed == REASON_BAD_TIMESTAMP:  # e.g. Feb 29 of last year
            # A year-less date ahead of now is last year's. (A line that
            # carries its year parses the same again and stays ahead.)
            earlier = parse_line(line, year=self._this_year - 1, tz=self._tz)
            if isinstance(earlier, MqttRecord):
                return earlier
        return parsed

    def read_batch(self) -> list[MqttRecord]:
        """The next records (at most `IMPORT_BATCH`), in time order; [] at the end.

        Raises `ImportReadError` if the file cannot be read on (an I/O error, a
        truncated or corrupt gzip stream); the batches returned before stay valid.
        """
        counts = self.counts
        batch: list[MqttRecord] = []
        size = 0
        try:
            for line in self._lines:
                counts.lines += 1
                parsed = self._parse(line)
                if isinstance(parsed, str):
                    counts.unparsed[parsed] += 1
                elif parsed.timestamp < self._since:
                    counts.too_old += 1
                elif parsed.timestamp > self._latest:
                    counts.in_future += 1
                else:
                    batch.append(parsed)
                    size += len(parsed.payload)
                    if len(batch) >= IMPORT_BATCH or size >= IMPORT_BATCH_BYTES:
                        break
        except (OSError, EOFError, zlib.error) as err:
            # gzip.BadGzipFile is an OSError; a truncated stream is an EOFError.
            raise ImportReadError(err) from err
        counts.imported += len(batch)
        batch.sort(key=lambda record: record.timestamp)
        return batch
