"""Benchmark the engine's logging: syslog submit path and journal replay.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_logging
    .venv/bin/python benchmarks/bench_logging.py

1. Syslog: 200,000 MQTT-like records go through ``SyslogWriter.submit`` (called
   as Home Assistant's MQTT callback would be, in bursts of 500 per loop
   iteration) and the writer task to a plain asyncio UDP receiver in the same
   loop. The baseline runs the same loop of callbacks doing nothing. Reported:
   the time the callbacks take (what the event loop pays per message), the time
   until every record has been handed to the kernel, both against the bare loop,
   and how many datagrams the receiver got. Then records one per loop
   iteration with 1 ms of other work between (a receiver process blocked in
   recv() falls asleep meanwhile, as rsyslog does between a home's messages),
   by a writer that wakes for every record and by one with the default linger:
   the event loop thread's CPU per record above the same loop alone (median of
   7 interleaved rounds).
2. Journal: a 1,000,000-record journal (written by ``JournalWriter`` into a temp
   directory, rotated at 16 MiB) is replayed with ``read_since`` against merely
   reading the same files and splitting their lines, and streamed with
   ``JournalReplay`` (batches dropped once counted, as the hub replays it,
   about one file's records in memory), also next to three million other
   objects (a Home Assistant's heap, just built as at its start, and settled)
   with the garbage collector paused during the parse, as it is, and
   collecting as it goes. Also timed: building the
   same number of ``MqttRecord`` objects from ready values (the least any replay
   that hands out records pays, with no parsing at all), the replay's regular
   expression alone over the files (the least a parse that checks every line
   this way pays, converting nothing), rebuilding 1-hour
   windows from the replayed records with the engine alone (payload parser and
   ``SlidingWindow``), and what the hub does at start: every record through
   ``SensorSource.ingest`` with the readings queued in the windows, and the
   same adding them one by one (skipped if Home Assistant is not installed).

Both are measured in one run; the whole run takes well under two minutes on a
slow machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
import contextlib
import gc
import math
import os
from pathlib import Path
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Final

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_components.iotitan.engine import journal as journal_module
from custom_components.iotitan.engine.journal import (
    JournalReplay,
    JournalWriter,
    journal_files,
    read_since,
)
from custom_components.iotitan.engine.payload import PayloadParser, Rejection
from custom_components.iotitan.engine.record import MqttRecord, fast_record
from custom_components.iotitan.engine.syslog import (
    DEFAULT_LINGER,
    SyslogFormatter,
    SyslogTarget,
    SyslogWriter,
    Transport,
)
from custom_components.iotitan.engine.window import SlidingWindow

SYSLOG_RECORDS = 200_000
BURST = 500
ONE_AT_A_TIME = 2_000
ONE_AT_A_TIME_GAP = 0.001  # other work between two messages
ONE_AT_A_TIME_ROUNDS = 7
JOURNAL_RECORDS = 1_000_000
START = 1_795_732_789.0
TOPICS = [f"weather/station{i}/{kind}" for i in range(20) for kind in ("temp", "hum")]
HEAP_OBJECTS = 3_000_000


def make_records(count: int) -> list[MqttRecord]:
    """Realistic records: 40 topics, short numeric payloads, 100 a second."""
    return [
        MqttRecord(
            START + index / 100,
            TOPICS[index % len(TOPICS)],
            b"%.2f" % (15 + (index % 997) / 50),
            0,
            False,
        )
        for index in range(count)
    ]


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.count = 0

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.count += 1


class UdpReceiver:
    """A plain asyncio datagram endpoint, on its own loop in its own thread.

    asyncio reads one datagram per loop iteration, so a receiver sharing the
    writer's loop would fall behind and the kernel would drop datagrams; like a
    real syslog daemon it gets a loop (a thread) of its own.
    """

    def __init__(self) -> None:
        self.protocol = _Receiver()
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Future[None] | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),))

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = self._loop.create_future()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        transport, _ = await self._loop.create_datagram_endpoint(
            lambda: self.protocol, sock=sock
        )
        self._ready.set()
        await self._stop
        transport.close()

    def __enter__(self) -> UdpReceiver:
        self._thread.start()
        self._ready.wait()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join()


async def _drive(
    callback: Callable[[MqttRecord], None], records: list[MqttRecord]
) -> float:
    """Call `callback` for every record in bursts; return the seconds spent in it."""
    spent = 0.0
    for start in range(0, len(records), BURST):
        burst = records[start : start + BURST]
        began = time.perf_counter()
        for record in burst:
            callback(record)
        spent += time.perf_counter() - began
        await asyncio.sleep(0)  # the loop runs other work between bursts
    return spent


async def bench_syslog(port: int, receiver: _Receiver) -> dict[str, float]:
    records = make_records(SYSLOG_RECORDS)

    def nothing(record: MqttRecord) -> None:
        return None

    began = time.perf_counter()
    bare_callbacks = await _drive(nothing, records)
    bare_total = time.perf_counter() - began

    writer = SyslogWriter(
        SyslogTarget(Transport.UDP, host="127.0.0.1", port=port),
        SyslogFormatter(hostname="bench"),
        spool_size=SYSLOG_RECORDS,
    )
    await writer.start()
    began = time.perf_counter()
    submit_callbacks = await _drive(writer.submit, records)
    await writer.stop(flush_timeout=120)  # returns once everything is sent
    total = time.perf_counter() - began
    await asyncio.sleep(0.5)  # let the receiver drain its socket
    stats = writer.stats
    return {
        "bare_callbacks": bare_callbacks,
        "bare_total": bare_total,
        "submit_callbacks": submit_callbacks,
        "total": total,
        "sent": stats.sent,
        "received": receiver.count,
        "dropped": sum(stats.dropped.values()),
    }


_RECEIVER_PROCESS: Final = """
import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
while sock.recv(65536):
    pass
"""


@contextlib.contextmanager
def receiver_process() -> Iterator[int]:
    """A UDP receiver in a process of its own, blocked in recv() between
    datagrams as a syslog daemon is; yields its port."""
    process = subprocess.Popen(
        [sys.executable, "-c", _RECEIVER_PROCESS], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield int(process.stdout.readline())
    finally:
        process.kill()
        process.wait()


async def _one_at_a_time(
    writer: SyslogWriter | None, records: list[MqttRecord]
) -> float:
    """Submit one record per loop iteration with ONE_AT_A_TIME_GAP of other work
    in between (the receiver falls asleep meanwhile, as a local rsyslog does
    between a home's messages); return the event loop thread's CPU seconds
    besides that work, the writer's sends included (the kernel charges waking
    the receiver to the sender)."""
    if writer is not None:
        await writer.start()
        writer.submit(records[0])  # connected before the timing
        await writer.flush()
    thread_time = time.thread_time
    working = 0.0
    began = thread_time()
    for record in records:
        if writer is not None:
            writer.submit(record)
        await asyncio.sleep(0)
        work_began = thread_time()
        until = time.perf_counter() + ONE_AT_A_TIME_GAP
        while time.perf_counter() < until:
            pass
        working += thread_time() - work_began
    if writer is not None:
        await writer.flush()
    spent = thread_time() - began - working
    if writer is not None:
        await writer.stop()
    return spent


async def bench_one_at_a_time(port: int) -> dict[str, float]:
    """The loop alone, a writer that wakes for every record (no linger) and one
    with the default linger, interleaved ONE_AT_A_TIME_ROUNDS times: the
    median CPU seconds of each."""
    records = make_records(ONE_AT_A_TIME)

    def writer(linger: float) -> SyslogWriter:
        return SyslogWriter(
            SyslogTarget(Transport.UDP, host="127.0.0.1", port=port),
            SyslogFormatter(hostname="bench"),
            linger=linger,
        )

    runs: dict[str, list[float]] = {"bare": [], "no_linger": [], "linger": []}
    for _ in range(ONE_AT_A_TIME_ROUNDS):
        runs["bare"].append(await _one_at_a_time(None, records))
        runs["no_linger"].append(await _one_at_a_time(writer(0.0), records))
        runs["linger"].append(await _one_at_a_time(writer(DEFAULT_LINGER), records))
    return {name: statistics.median(values) for name, values in runs.items()}


async def write_journal(directory: Path, records: list[MqttRecord]) -> None:
    writer = JournalWriter(
        directory,
        keep_seconds=10 * 365 * 86400,
        formatter=SyslogFormatter(hostname="bench"),
        flush_interval=3600,
        max_buffered=200_000,
    )
    await writer.start()
    for start in range(0, len(records), 100_000):
        for record in records[start : start + 100_000]:
            writer.submit(record)
        await writer.flush()
    await writer.stop()


def bare_read(directory: Path) -> int:
    lines = 0
    for path in journal_files(directory):
        lines += len(path.read_bytes().split(b"\n")) - 1
    return lines


def hub_sources() -> Callable[[], Any] | None:
    """A factory of the hub's source for the benchmark topics, if HA is installed."""
    try:
        from custom_components.iotitan.const import (
            CONF_STATISTICS,
            CONF_TOPIC,
            CONF_WINDOWS,
        )
        from custom_components.iotitan.models import (
            SensorSourceConfig,
        )
        from custom_components.iotitan.source import SensorSource
    except ImportError:
        return None
    config = SensorSourceConfig.from_subentry_data(
        {CONF_TOPIC: "weather/#", CONF_WINDOWS: [3600], CONF_STATISTICS: ["mean"]}
    )
    return lambda: SensorSource("bench", "bench", config)


def stream_next_to_a_heap(directory: Path) -> dict[str, float]:
    """The streamed replay next to HEAP_OBJECTS other objects (CPU seconds).

    A running Home Assistant's heap, which a full collection walks: "fresh"
    just built before each replay (as at Home Assistant's start, when the hub
    replays, its objects still young), "settled" collected once into the
    oldest generation. Each with the parse pausing the garbage collector, as
    it does, and collecting as it goes; interleaved, best of two.
    """

    def stream() -> float:
        began = time.process_time()
        for _ in JournalReplay(directory, 0).batches():
            pass
        return time.process_time() - began

    def build() -> list[Any]:
        return [
            {"state": [i], "attributes": (i, [i])} for i in range(HEAP_OBJECTS // 4)
        ]

    pause = journal_module._COLLECTOR_PAUSE
    times: dict[str, list[float]] = {}
    heap = build()
    for regime in ("fresh", "settled"):
        for _ in range(2):
            for paused in (True, False):
                if regime == "fresh":
                    del heap
                    heap = build()
                else:
                    gc.collect()
                if not paused:
                    journal_module._COLLECTOR_PAUSE = contextlib.nullcontext()  # type: ignore[assignment]
                try:
                    seconds = stream()
                finally:
                    journal_module._COLLECTOR_PAUSE = pause
                key = f"{regime} {'paused' if paused else 'collected'}"
                times.setdefault(key, []).append(seconds)
    del heap
    return {key: min(values) for key, values in times.items()}


def find_lines(directory: Path) -> tuple[float, float]:
    """Seconds (wall, CPU) for `_OURS_RE` alone over the journal, as `_Parser.parse` calls it."""
    pattern = journal_module._OURS_RE
    chunk = journal_module._CHUNK_BYTES
    found = 0
    began, began_cpu = time.perf_counter(), time.process_time()
    with journal_module._COLLECTOR_PAUSE:
        for path in journal_files(directory):
            data = path.read_bytes()
            position, end_of_lines = 0, data.rfind(b"\n") + 1
            while position < end_of_lines:
                end = data.find(b"\n", position + chunk, end_of_lines)
                end = end_of_lines if end < 0 else end + 1
                found += len(pattern.findall(data, position, end))
                position = end
    seconds, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    assert found == JOURNAL_RECORDS, found
    return seconds, cpu


def bench_journal(directory: Path) -> dict[str, float]:
    new_source = hub_sources()  # imports Home Assistant: before any timing
    records = make_records(JOURNAL_RECORDS)
    began = time.perf_counter()
    asyncio.run(write_journal(directory, records))
    write_time = time.perf_counter() - began
    files = journal_files(directory)
    size = sum(path.stat().st_size for path in files)

    began, began_cpu = time.perf_counter(), time.process_time()
    lines = bare_read(directory)
    bare = time.perf_counter() - began
    bare_cpu = time.process_time() - began_cpu
    # The floor of any replay that hands out records: building them, nothing
    # else (with the garbage collector paused, as the replay's parse pauses it).
    gc.disable()
    began, began_cpu = time.perf_counter(), time.process_time()
    built = [
        fast_record(r.timestamp, r.topic, r.payload, r.qos, r.retain) for r in records
    ]
    floor = time.perf_counter() - began
    floor_cpu = time.process_time() - began_cpu
    gc.enable()
    del built
    # The other part of that floor: the replay's regular expression finding and
    # checking every line, chunk by chunk as the parser calls it, the matches
    # converted to nothing.
    regex, regex_cpu = find_lines(directory)
    # The hub's way: streamed in batches, each dropped once handled.
    began, began_cpu = time.perf_counter(), time.process_time()
    streamed_count = 0
    for batch in JournalReplay(directory, 0).batches():
        streamed_count += len(batch)
    del batch
    streamed = time.perf_counter() - began
    streamed_cpu = time.process_time() - began_cpu
    assert streamed_count == JOURNAL_RECORDS, streamed_count
    heap = stream_next_to_a_heap(directory)
    began, began_cpu = time.perf_counter(), time.process_time()
    result = read_since(directory, 0)
    replay = time.perf_counter() - began
    replay_cpu = time.process_time() - began_cpu
    assert len(result) == JOURNAL_RECORDS == lines, (len(result), lines)
    assert result.records[-1] == records[-1]
    # What the hub does next at startup: parse every payload and rebuild a
    # 1-hour window per topic (SensorSource.replay's work).
    began, began_cpu = time.perf_counter(), time.process_time()
    parser = PayloadParser()
    windows = {topic: SlidingWindow(3600.0) for topic in TOPICS}
    for record in result:
        reading = parser.parse(record.payload)
        if not isinstance(reading, Rejection):
            windows[record.topic].add(record.timestamp, reading)
    rebuild = time.perf_counter() - began
    rebuild_cpu = time.process_time() - began_cpu
    # 100 records/s over the last hour, plus each topic's sample exactly 1 h old
    assert 360_000 <= sum(map(len, windows.values())) <= 360_000 + len(TOPICS)
    del windows
    # The hub's own replay loop: every record through SensorSource.ingest,
    # the readings queued in the windows (as the hub replays) and, to compare,
    # added one by one; the expiry after the loop adds what is queued.
    ingest: dict[bool, tuple[float, float]] = {}
    if new_source is not None:
        now = records[-1].timestamp + 1
        for queued in (True, False):
            source = new_source()
            source.replaying = queued
            began, began_cpu = time.perf_counter(), time.process_time()
            for record in result:
                source.ingest(record, now)
            for state in source.topics.values():
                state.expire(records[-1].timestamp)  # what the last add expired
            ingest[queued] = (
                time.perf_counter() - began,
                time.process_time() - began_cpu,
            )
            samples = sum(
                len(state.windows[3600.0]) for state in source.topics.values()
            )
            assert 360_000 <= samples <= 360_000 + len(TOPICS), samples
            del source
    # the last hour only: reads just the newest file(s)
    began = time.perf_counter()
    recent = read_since(directory, records[-1].timestamp - 3600)
    recent_time = time.perf_counter() - began
    return {
        "write": write_time,
        "files": len(files),
        "mib": size / 2**20,
        "bare": bare,
        "bare_cpu": bare_cpu,
        "floor": floor,
        "floor_cpu": floor_cpu,
        "regex": regex,
        "regex_cpu": regex_cpu,
        "ingest": ingest[True][0] if ingest else math.nan,
        "ingest_cpu": ingest[True][1] if ingest else math.nan,
        "ingest_one_by_one": ingest[False][0] if ingest else math.nan,
        "ingest_one_by_one_cpu": ingest[False][1] if ingest else math.nan,
        "replay": replay,
        "streamed": streamed,
        **{f"heap {key}": value for key, value in heap.items()},
        "streamed_cpu": streamed_cpu,
        "replay_cpu": replay_cpu,
        "rebuild": rebuild,
        "rebuild_cpu": rebuild_cpu,
        "recent": recent_time,
        "recent_records": len(recent),
        "recent_files": recent.files_read,
    }


def main() -> None:
    began = time.perf_counter()
    print(
        f"Load average before the run: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)"
    )
    with UdpReceiver() as receiver:
        syslog = asyncio.run(bench_syslog(receiver.port, receiver.protocol))
    with receiver_process() as port:
        one = asyncio.run(bench_one_at_a_time(port))
    n = SYSLOG_RECORDS
    print(f"Syslog over UDP, {n:,} records in bursts of {BURST}:")
    print(
        f"  callbacks doing nothing : {syslog['bare_callbacks']:.3f} s in callbacks"
        f" ({syslog['bare_callbacks'] / n * 1e9:,.0f} ns/record),"
        f" {syslog['bare_total']:.3f} s for the loop"
    )
    print(
        f"  SyslogWriter.submit     : {syslog['submit_callbacks']:.3f} s in callbacks"
        f" ({syslog['submit_callbacks'] / n * 1e6:,.2f} us/record,"
        f" x{syslog['submit_callbacks'] / syslog['bare_callbacks']:.1f} the bare callbacks)"
    )
    print(
        f"  to the kernel           : {syslog['total']:.3f} s,"
        f" {n / syslog['total']:,.0f} records/s end to end"
        f" (x{syslog['total'] / syslog['bare_total']:.1f} the bare loop);"
        f" sent {syslog['sent']:,}, received {syslog['received']:,},"
        f" dropped {syslog['dropped']:,}"
    )
    m = ONE_AT_A_TIME
    no_linger = (one["no_linger"] - one["bare"]) / m * 1e6
    linger = (one["linger"] - one["bare"]) / m * 1e6
    print(
        f"Syslog over UDP to a receiver process, {m:,} records one per loop"
        f" iteration, {ONE_AT_A_TIME_GAP * 1000:.0f} ms of other work between"
        f" (event loop thread's CPU above the same loop without a writer,"
        f" {one['bare'] / m * 1e6:.1f} us):"
    )
    print(
        f"  waking for every record : {no_linger:.1f} us/record;"
        f" lingering {DEFAULT_LINGER * 1000:.0f} ms (default): {linger:.1f} us/record"
        f" (x{linger / no_linger:.2f})"
    )

    with tempfile.TemporaryDirectory(prefix="iotitan-bench-") as folder:
        journal = bench_journal(Path(folder))
    m = JOURNAL_RECORDS
    print(
        f"Journal replay, {m:,} records in {journal['files']:.0f} files"
        f" ({journal['mib']:.0f} MiB, written in {journal['write']:.1f} s):"
    )
    print(
        f"  read + split lines      : {journal['bare']:.3f} s"
        f" ({journal['bare_cpu']:.3f} s CPU)"
    )
    print(
        f"  MqttRecord objects only : {journal['floor']:.3f} s"
        f" ({journal['floor_cpu']:.3f} s CPU) to build {m:,} records from ready"
        f" values, no parsing; x{journal['floor'] / journal['bare']:.1f} read + split"
    )
    print(
        f"  finding the lines only  : {journal['regex']:.3f} s"
        f" ({journal['regex_cpu']:.3f} s CPU), the replay's regular expression"
        f" alone (it reads and checks every line, converts nothing);"
        f" x{journal['regex'] / journal['bare']:.1f} read + split"
    )
    least = journal["floor"] + journal["regex"]
    print(
        f"  the two floors together : x{least / journal['bare']:.1f} read + split"
        f" (x{(journal['floor_cpu'] + journal['regex_cpu']) / journal['bare_cpu']:.1f}"
        f" in CPU time), the least a replay that checks every line and hands"
        f" out records pays (target: x5)"
    )
    print(
        f"  read_since (all)        : {journal['replay']:.3f} s"
        f" ({journal['replay_cpu']:.3f} s CPU), {m / journal['replay']:,.0f} records/s;"
        f" x{journal['replay'] / journal['bare']:.1f} read + split"
        f" (x{journal['replay_cpu'] / journal['bare_cpu']:.1f} in CPU time)"
    )
    print(
        f"  JournalReplay (streamed): {journal['streamed']:.3f} s"
        f" ({journal['streamed_cpu']:.3f} s CPU), {m / journal['streamed']:,.0f}"
        f" records/s, batches dropped once counted (the hub's replay);"
        f" x{journal['streamed'] / journal['bare']:.1f} read + split"
        f" (x{journal['streamed_cpu'] / journal['bare_cpu']:.1f} in CPU time)"
    )
    for regime in ("fresh", "settled"):
        paused = journal[f"heap {regime} paused"]
        collected = journal[f"heap {regime} collected"]
        print(
            f"  next to {HEAP_OBJECTS:,} objects, {regime:7s}: streamed"
            f" {paused:.3f} s CPU with the collector paused during the parse,"
            f" {collected:.3f} s collecting as it goes (x{paused / collected:.2f})"
        )
    total = journal["replay"] + journal["rebuild"]
    total_cpu = journal["replay_cpu"] + journal["rebuild_cpu"]
    print(
        f"  + rebuild 1 h windows   : {journal['rebuild']:.3f} s"
        f" ({journal['rebuild_cpu']:.3f} s CPU); replay and rebuild together"
        f" x{total / journal['bare']:.1f} read + split"
        f" (x{total_cpu / journal['bare_cpu']:.1f} in CPU time)"
    )
    if not math.isnan(journal["ingest"]):
        total = journal["replay"] + journal["ingest"]
        total_cpu = journal["replay_cpu"] + journal["ingest_cpu"]
        print(
            f"  + SensorSource.ingest   : {journal['ingest']:.3f} s"
            f" ({journal['ingest_cpu']:.3f} s CPU), the hub's replay loop, readings"
            f" queued in the windows; replay and ingest together"
            f" x{total / journal['bare']:.1f} read + split"
            f" (x{total_cpu / journal['bare_cpu']:.1f} in CPU time)"
        )
        one_by_one = journal["ingest_one_by_one"]
        print(
            f"    readings added one by one: {one_by_one:.3f} s"
            f" ({journal['ingest_one_by_one_cpu']:.3f} s CPU); queued"
            f" x{journal['ingest'] / one_by_one:.2f} of that"
        )
    print(
        f"  read_since (last hour)  : {journal['recent']:.3f} s for"
        f" {journal['recent_records']:,.0f} records from {journal['recent_files']:.0f} file(s)"
    )
    print(f"Total benchmark time: {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
