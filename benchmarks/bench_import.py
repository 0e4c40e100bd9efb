"""Peak memory of `iotitan.import_syslog`'s reader on large and hostile files.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_import
    .venv/bin/python benchmarks/bench_import.py

Reads, with the action's reader (`SyslogImport`, batches as the action uses
them, each batch dropped as the journal would take it), three files written to a
temporary folder: 100,000 and 1,000,000 legacy lines, and a gzip of 256 MiB
without a newline (a few hundred KB compressed). Prints the peak of traced
Python memory (tracemalloc) for each: it stays at the size of a batch, not of
the file. The journal writer is left out: it flushes each batch before the next.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import gzip
from pathlib import Path
import sys
import tempfile
import time
import tracemalloc

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_components.iotitan.import_syslog import SyslogImport, open_for_import

MiB = 1024 * 1024


def write_lines(path: Path, count: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with path.open("w") as file:
        for index in range(count):
            when = start + timedelta(seconds=index * 10)
            file.write(
                f"{when:%b} {when.day:2d} {when:%H:%M:%S} pi mqtt_logger[411]: "
                f"home/sensor{index % 50}/temperature {index % 40}.{index % 7}\n"
            )


def write_bomb(path: Path) -> None:
    with gzip.open(path, "wb", compresslevel=9) as file:
        block = b"A" * MiB
        for _ in range(256):
            file.write(block)


def measure(path: Path) -> tuple[int, int, float]:
    """Read `path` through the reader; return (records, peak bytes, seconds)."""
    tracemalloc.start()
    started = time.perf_counter()
    fd = open_for_import(str(path), lambda _: True)
    reader = SyslogImport(
        fd,
        gzipped=path.suffix == ".gz",
        year=2026,
        this_year=2026,
        tz=UTC,
        since=0.0,
        now=datetime(2027, 1, 1, tzinfo=UTC).timestamp(),
    )
    records = 0
    try:
        while batch := reader.read_batch():
            records += len(batch)
    finally:
        reader.close()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return records, peak, elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        cases = [
            ("100,000 lines", Path(folder) / "small.log", 100_000),
            ("1,000,000 lines", Path(folder) / "large.log", 1_000_000),
            ("256 MiB line, gzip", Path(folder) / "bomb.log.gz", 0),
        ]
        for name, path, count in cases:
            if count:
                write_lines(path, count)
            else:
                write_bomb(path)
            size = path.stat().st_size
            records, peak, elapsed = measure(path)
            print(
                f"{name:>20}: file {size / MiB:7.1f} MiB, {records:>9,} records, "
                f"peak {peak / MiB:5.1f} MiB traced, {elapsed:5.1f} s"
            )


if __name__ == "__main__":
    main()
