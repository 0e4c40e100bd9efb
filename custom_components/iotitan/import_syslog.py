"""Import the original scripts' syslog history into a hub's journal.

Users moving from the `mqtt_logger` scripts keep their history: their syslog
files (plain or gzip) are parsed, the records are appended to the journal in
time order, and the hub is reloaded so its windows are rebuilt from it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import tzinfo
import gzip
from pathlib import Path

from .engine.journal import parse_line
from .engine.record import MqttRecord

# Feed the journal writer in chunks it can hold, flushing between them.
IMPORT_CHUNK = 10_000


@dataclass(slots=True)
class ImportResult:
    """What an import found in a file."""

    lines: int = 0
    records: list[MqttRecord] = field(default_factory=list)
    too_old: int = 0
    unparsed: Counter[str] = field(default_factory=Counter)


def read_syslog_file(
    path: Path, *, year: int, tz: tzinfo, since: float
) -> ImportResult:
    """Parse a syslog file (blocking: run in the executor).

    Records older than `since` (the journal's keep horizon) are counted, not
    kept: the journal would delete them at its next pruning anyway.
    """
    result = ImportResult()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        for line in file:
            result.lines += 1
            parsed = parse_line(line, year=year, tz=tz)
            if isinstance(parsed, str):
                result.unparsed[parsed] += 1
            elif parsed.timestamp < since:
                result.too_old += 1
            else:
                result.records.append(parsed)
    result.records.sort(key=lambda record: record.timestamp)
    return result
