"""The import reader on its own: line splitting with a length cap, years, batches.

(`import_syslog.py` lives in the HA layer but imports nothing from Home
Assistant at run time: these tests need no `hass`.)
"""

from __future__ import annotations

from datetime import UTC, datetime
import gzip
import os
from pathlib import Path

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iotitan import import_syslog
from custom_components.iotitan.import_syslog import SyslogImport, open_for_import

NOW = datetime(2027, 1, 1, 0, 30, tzinfo=UTC).timestamp()


def reader_for(path: Path, **kwargs: object) -> SyslogImport:
    options: dict[str, object] = {
        "gzipped": False,
        "year": None,
        "this_year": 2027,
        "tz": UTC,
        "since": 0.0,
        "now": NOW,
    }
    options.update(kwargs)
    fd = open_for_import(str(path), lambda _: True)
    return SyslogImport(fd, **options)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(st.sampled_from([b"a", b"b", b"\n", b"\r"]), max_size=60).map(
        b"".join
    ),
    chunk=st.integers(min_value=1, max_value=9),
    longest=st.integers(min_value=1, max_value=12),
)
def test_lines_split_across_chunks_with_a_cap(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, chunk: int, longest: int
) -> None:
    """Whatever the chunking, the lines are the file's; longer ones are counted."""
    path = tmp_path_factory.mktemp("lines") / "file.log"
    path.write_bytes(data)
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    expected = [line for line in lines if len(line) <= longest]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(import_syslog, "READ_CHUNK", chunk)
        patch.setattr(import_syslog, "MAX_LINE_BYTES", longest)
        reader = reader_for(path)
        try:
            got = list(reader._lines)
        finally:
            reader.close()
    assert got == expected
    assert reader.counts.too_long == len(lines) - len(expected)


def legacy(month: str, day: int, hms: str, value: str) -> bytes:
    return f"{month} {day:2d} {hms} pi mqtt_logger[1]: t/x {value}\n".encode()


def test_year_is_the_one_not_in_the_future(tmp_path: Path) -> None:
    """Without a year: December read on New Year's Day is last year's."""
    path = tmp_path / "syslog"
    path.write_bytes(
        legacy("Dec", 31, "23:59:00", "1")  # last year
        + legacy("Jan", 1, "00:10:00", "2")  # this year, 20 minutes ago
        + legacy("Jan", 1, "10:00:00", "3")  # ahead, but less than a day: refused
        + legacy("Feb", 29, "12:00:00", "4")  # 2027 has none: 2026 has none either
    )
    reader = reader_for(path)
    try:
        records = reader.read_batch()
    finally:
        reader.close()
    assert [
        datetime.fromtimestamp(record.timestamp, UTC).isoformat() for record in records
    ] == ["2026-12-31T23:59:00+00:00", "2027-01-01T00:10:00+00:00"]
    assert reader.counts.in_future == 1
    assert reader.counts.unparsed == {"bad timestamp": 1}


def test_batches_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records come in batches of at most IMPORT_BATCH, then an empty one."""
    monkeypatch.setattr(import_syslog, "IMPORT_BATCH", 7)
    path = tmp_path / "syslog.gz"
    with gzip.open(path, "wb") as file:
        for second in range(50):
            file.write(legacy("Dec", 30, f"12:00:{second:02d}", str(second)))
    reader = reader_for(path, gzipped=True)
    try:
        sizes = []
        while batch := reader.read_batch():
            sizes.append(len(batch))
    finally:
        reader.close()
    assert sizes == [7] * 7 + [1]
    assert reader.counts.imported == reader.counts.lines == 50


def test_gzip_recognised_by_content(tmp_path: Path) -> None:
    """A gzip file without the .gz suffix is still read as gzip."""
    path = tmp_path / "syslog.1"
    path.write_bytes(gzip.compress(legacy("Dec", 30, "12:00:00", "1")))
    reader = reader_for(path)
    try:
        assert len(reader.read_batch()) == 1
    finally:
        reader.close()


def test_open_closes_what_it_refuses(tmp_path: Path) -> None:
    """A refused file leaves no descriptor open."""
    path = tmp_path / "syslog"
    path.write_bytes(b"x\n")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        with pytest.raises(import_syslog.ImportRefusedError):
            open_for_import(str(path), lambda _: False)
        with pytest.raises(import_syslog.ImportRefusedError):
            open_for_import(str(tmp_path), lambda _: True)
    assert len(os.listdir("/proc/self/fd")) == before


def test_read_error_names_the_cause_without_a_traceback() -> None:
    """An OSError reads as its strerror; anything else by its text or its type."""
    assert str(import_syslog.ImportReadError(OSError(5, "Input/output error"))) == (
        "Input/output error"
    )
    assert str(import_syslog.ImportReadError(EOFError("ran out"))) == "ran out"
    assert str(import_syslog.ImportReadError(EOFError())) == "EOFError"


def test_real_path_without_proc_follows_the_requested_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where /proc is not mounted, the requested path (links resolved) must name
    the very file the descriptor holds; a file replaced meanwhile is refused."""
    path = tmp_path / "syslog"
    path.write_bytes(b"x\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        opened = os.fstat(fd)
        real_readlink = Path.readlink

        def no_proc(self: Path) -> Path:
            if str(self).startswith("/proc/self/fd/"):
                raise OSError(2, "No such file or directory")
            return real_readlink(self)

        monkeypatch.setattr(Path, "readlink", no_proc)
        assert import_syslog._real_path(fd, opened, str(path)) == str(path.resolve())
        # Replaced under the same name: another inode, so refused.
        path.unlink()
        path.write_bytes(b"y\n")
        with pytest.raises(import_syslog.ImportRefusedError):
            import_syslog._real_path(fd, opened, str(path))
        # Removed: nothing to name it by, refused.
        path.unlink()
        with pytest.raises(import_syslog.ImportRefusedError):
            import_syslog._real_path(fd, opened, str(path))
    finally:
        os.close(fd)


def test_real_path_refuses_a_descriptor_without_a_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """/proc names an anonymous file like "pipe:[123]": not a path, refused."""
    read, write = os.pipe()
    try:
        with pytest.raises(import_syslog.ImportRefusedError):
            import_syslog._real_path(read, os.fstat(read), "/somewhere/pipe")
    finally:
        os.close(read)
        os.close(write)


def test_a_failing_first_read_closes_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If peeking at the gzip magic fails, the descriptor is closed, not leaked."""
    path = tmp_path / "syslog"
    path.write_bytes(b"x\n")
    fd = open_for_import(str(path), lambda _: True)

    def failing_pread(*args: object) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(import_syslog.os, "pread", failing_pread)
    with pytest.raises(OSError, match="Input/output error"):
        SyslogImport(
            fd, gzipped=False, year=None, this_year=2027, tz=UTC, since=0.0, now=NOW
        )
    with pytest.raises(OSError):
        os.fstat(fd)  # closed
