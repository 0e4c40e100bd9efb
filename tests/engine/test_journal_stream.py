"""The streamed replay: read_since's records and order, about one file in memory."""

from __future__ import annotations

from collections.abc import Callable
import gc
from pathlib import Path
import random
import sys
import tracemalloc

import pytest

from custom_components.iotitan.engine.journal import (
    ACTIVE_FILE,
    JournalReplay,
    read_since,
)
from custom_components.iotitan.engine.record import MqttRecord
from custom_components.iotitan.engine.syslog import SyslogFormatter

T0 = 1_795_732_789.0  # 2026-11-26T22:39:49Z
FORMATTER = SyslogFormatter(hostname="pi")


def write_files(directory: Path, files: list[list[MqttRecord]]) -> None:
    """One journal file per list, oldest first, the last one the active file."""
    directory.mkdir(parents=True, exist_ok=True)
    for number, records in enumerate(files, start=1):
        name = ACTIVE_FILE if number == len(files) else f"journal.{number:06d}.log"
        lines = [FORMATTER.format(record)[0] + b"\n" for record in records]
        (directory / name).write_bytes(b"".join(lines))


def stable_sorted(files: list[list[MqttRecord]]) -> list[MqttRecord]:
    """What the replay must give: time order, ties in file then line order."""
    return sorted(
        (record for records in files for record in records),
        key=lambda record: record.timestamp,
    )


def stamp(seconds: float, index: int) -> MqttRecord:
    return MqttRecord(T0 + seconds, f"sensor/{index % 4}", b"%d" % index, 0, False)


@pytest.mark.parametrize("seed", range(12))
def test_stream_order_across_clock_steps(tmp_path: Path, seed: int) -> None:
    """Files sorted inside, the clock stepping back or forth between them.

    Timestamps on a coarse grid tie across files; every record comes out in
    the global stable order, in batches of the size asked for.
    """
    rng = random.Random(seed)
    files: list[list[MqttRecord]] = []
    clock = 0.0
    index = 0
    for _ in range(rng.randint(1, 7)):
        clock += rng.choice([-30.0, -5.0, -0.5, 0.0, 0.25, 10.0])  # a step
        records = []
        for _ in range(rng.randint(0, 40)):
            clock += rng.choice([0.0, 0.0, 0.125, 0.5])
            records.append(stamp(clock, index))
            index += 1
        files.append(records)
    write_files(tmp_path, files)
    batch = rng.choice([1, 3, 7, 1000])
    replay = JournalReplay(tmp_path, 0, batch_records=batch)
    batches = list(replay.batches())
    assert all(0 < len(item) <= batch for item in batches)
    streamed = [record for item in batches for record in item]
    assert streamed == stable_sorted(files)
    assert replay.out_of_order == 0
    assert replay.records == len(streamed)
    assert replay.files_read == len(files)
    assert read_since(tmp_path, 0).records == streamed


def test_stream_of_a_file_written_before_the_clock_stepped_back(
    tmp_path: Path,
) -> None:
    """A newer file entirely older than the one before: merged, not appended."""
    old = [stamp(100 + second, second) for second in range(10)]
    new = [stamp(50 + second, 100 + second) for second in range(10)]
    newest = [stamp(200 + second, 200 + second) for second in range(3)]
    write_files(tmp_path, [old, new, newest])
    replay = JournalReplay(tmp_path, 0)
    assert list(replay) == new + old + newest
    assert replay.out_of_order == 0
    # From a `since`: the newest file whose first record is older is the last read.
    assert list(JournalReplay(tmp_path, T0 + 205)) == []
    assert list(JournalReplay(tmp_path, T0 + 201)) == newest[1:]
    # (As read_since always did: `old` is before `new`, whose first record is
    # older than `since`: it is not read.)
    assert list(JournalReplay(tmp_path, T0 + 55)) == new[5:] + newest
    assert read_since(tmp_path, T0 + 55).records == new[5:] + newest


def test_stream_with_the_clock_stepped_back_inside_a_file(tmp_path: Path) -> None:
    """Records older than the file's first one, and than records handed out.

    They come out when the file is parsed, counted; read_since sorts them.
    """
    old = [stamp(second, second) for second in range(10)]
    stepped = [stamp(20, 20), stamp(21, 21), stamp(5.5, 22), stamp(30, 23)]
    write_files(tmp_path, [old, stepped])
    replay = JournalReplay(tmp_path, 0)
    streamed = list(replay)
    assert streamed == [*old, stepped[2], *stepped[:2], *stepped[3:]]
    assert replay.out_of_order == 1
    assert read_since(tmp_path, 0).records == stable_sorted([old, stepped])


def test_stream_skips_garbage_and_reports_unreadable_files(tmp_path: Path) -> None:
    files = [
        [stamp(index, index) for index in range(start, start + 5)]
        for start in (0, 10, 20)
    ]
    write_files(tmp_path, files)
    with (tmp_path / "journal.000002.log").open("ab") as file:
        file.write(b"garbage\n<134>1 2026-11-26T22:39:49.1")  # and a torn line
    (tmp_path / "journal.000001.log").unlink()
    (tmp_path / "journal.000001.log").mkdir()
    replay = JournalReplay(tmp_path, 0)
    assert list(replay) == files[1] + files[2]
    assert (replay.files_read, replay.skipped) == (2, 2)
    assert [item.path.name for item in replay.unreadable] == ["journal.000001.log"]


def test_stream_closes_its_files_when_stopped_early(tmp_path: Path) -> None:
    files = [
        [stamp(index, index) for index in range(start, start + 5)]
        for start in (0, 10, 20)
    ]
    write_files(tmp_path, files)
    replay = JournalReplay(tmp_path, 0, batch_records=2)
    batches = replay.batches()
    assert next(batches) == files[0][:2]
    with _NoResourceWarning():
        batches.close()
        gc.collect()
    with pytest.raises(RuntimeError):
        next(replay.batches())


class _NoResourceWarning:
    def __enter__(self) -> None:
        import warnings

        self._catcher = warnings.catch_warnings(record=True)
        self._caught = self._catcher.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *args: object) -> None:
        self._catcher.__exit__(*args)
        assert not [w for w in self._caught if w.category is ResourceWarning]


def test_stream_holds_about_one_file_of_records(tmp_path: Path) -> None:
    """Peak memory while streaming: about one file's, however many files.

    Streaming 30 files peaks about as high as streaming 10 (read_since's
    peak grows with the files), and far below holding every record.
    """

    def journal(count: int) -> Path:
        directory = tmp_path / str(count)
        write_files(
            directory,
            [
                [stamp(number * 1000 + index / 8, index) for index in range(2000)]
                for number in range(count)
            ],
        )
        return directory

    def peak(action: Callable[[], object]) -> int:
        gc.collect()
        tracemalloc.start()
        try:
            action()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def stream(directory: Path) -> None:
        # Batches smaller than a file, as in a real journal (16 MiB files);
        # each is handed to the windows, then dropped.
        for batch in JournalReplay(directory, 0, batch_records=500).batches():
            del batch

    ten, thirty = journal(10), journal(30)
    streamed_ten = peak(lambda: stream(ten))
    streamed_thirty = peak(lambda: stream(thirty))
    held_thirty = peak(lambda: read_since(thirty, 0))
    assert streamed_thirty < 1.3 * streamed_ten, (streamed_ten, streamed_thirty)
    assert streamed_thirty < held_thirty / 4, (streamed_thirty, held_thirty)


def test_the_collector_is_paused_while_lines_are_parsed(tmp_path: Path) -> None:
    """No garbage collection during a parse (it would walk Home Assistant's
    whole heap for records that hold no cycles), only the one its allocations
    are due as it resumes; it runs again afterwards, and stays off if it was
    off before."""
    write_files(tmp_path, [[stamp(i * 0.01, i) for i in range(30_000)]])
    collections: list[str] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase != "start":
            return
        frame = sys._getframe(1)
        while frame is not None:  # inside a parse of journal lines?
            if frame.f_code.co_qualname == "_Parser.parse":
                collections.append(f"during a parse (generation {info['generation']})")
                return
            frame = frame.f_back
        collections.append("elsewhere")

    gc.callbacks.append(seen)
    try:
        assert gc.isenabled()
        assert len(read_since(tmp_path, 0)) == 30_000
        assert gc.isenabled()
        garbage = [[i] for i in range(50_000)]  # tracked allocations: collections
        assert "elsewhere" in collections
        del garbage
        gc.disable()
        try:
            read_since(tmp_path, 0)
            assert not gc.isenabled()
        finally:
            gc.enable()
    finally:
        gc.callbacks.remove(seen)
    during = [seen for seen in collections if seen.startswith("during a parse")]
    assert len(during) <= 1  # the one due when it resumes: without the pause, dozens


def test_overlapping_parses_resume_the_collector_once_both_are_done() -> None:
    from custom_components.iotitan.engine.journal import _COLLECTOR_PAUSE as pause

    assert gc.isenabled()
    pause.__enter__()
    pause.__enter__()  # a second hub's replay, in another executor thread
    pause.__exit__(None, None, None)
    assert not gc.isenabled()
    pause.__exit__(None, None, None)
    assert gc.isenabled()
    with pytest.raises(ValueError), pause:
        raise ValueError("a parse that fails")
    assert gc.isenabled()
