"""SyslogWriter against a real rsyslogd, and against small local receivers.

The rsyslog tests need the Debian packages ``rsyslog`` (and ``rsyslog-gnutls`` for
TLS); they are skipped, saying so, only when rsyslogd is not installed.

Measurements (records lost when the receiver is killed) are printed (see them
with ``pytest -s`` or ``-rP``) and attached to the test report as properties.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
import contextlib
import logging
from pathlib import Path
import re
import socket
import ssl
import time
from typing import Any

import pytest
import pytest_socket  # type: ignore[import-untyped]

from custom_components.iotitan.engine import syslog
from custom_components.iotitan.engine.record import MqttRecord
from custom_components.iotitan.engine.syslog import (
    ConnectionState,
    SyslogFormatter,
    SyslogTarget,
    SyslogWriter,
    Transport,
    _DatagramConnection,
    create_ssl_context,
)

from ..rsyslog import Rsyslog, TlsFiles, gtls_available, make_tls_files, rsyslogd_path
from .test_syslog_format import HOSTILE_PAYLOADS, decoded_record, deframe_octet_counting

needs_rsyslog = pytest.mark.skipif(
    rsyslogd_path() is None,
    reason="rsyslogd is not installed (Debian package rsyslog; CI installs it)",
)
needs_gtls = pytest.mark.skipif(
    rsyslogd_path() is None or not gtls_available(),
    reason="rsyslog's TLS driver is not installed (Debian package rsyslog-gnutls)",
)

SEQ_RE = re.compile(rb"seq=(\d{6})")
FAST_BACKOFF: dict[str, Any] = {"backoff_initial": 0.02, "backoff_max": 0.2}


# -- fixtures and helpers ----------------------------------------------------------


@pytest.fixture
def allow_unix_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let sockets connect to unix paths.

    Home Assistant's harness allows creating unix sockets but its host allow-list
    blocks connect() to a path; the unix transport needs exactly that.
    """
    guarded = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family == socket.AF_UNIX:
            return pytest_socket._true_connect(sock, address)  # type: ignore[no-any-return]
        return guarded(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def rsyslog(socket_enabled: None, tmp_path: Path) -> Iterator[Rsyslog]:
    """An rsyslogd with UDP, TCP and a unix socket, stopped after the test."""
    receiver = Rsyslog(tmp_path / "rsyslog", unix_socket=True)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def tls_files(tmp_path: Path) -> TlsFiles:
    folder = tmp_path / "tls"
    folder.mkdir()
    return make_tls_files(folder)


@pytest.fixture
def rsyslog_tls(
    socket_enabled: None, tmp_path: Path, tls_files: TlsFiles
) -> Iterator[Rsyslog]:
    """An rsyslogd whose TCP input speaks TLS (RFC 5425)."""
    receiver = Rsyslog(tmp_path / "rsyslog-tls", tls=tls_files)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


async def blocking(func: Callable[..., Any], *args: Any) -> Any:
    """Run a blocking helper (rsyslog start/stop/wait) off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


async def wait_until(predicate: Callable[[], bool], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def target_for(receiver: Rsyslog, transport: str) -> SyslogTarget:
    if transport == "unix":
        return SyslogTarget(Transport.UNIX, path=str(receiver.unix_socket))
    return SyslogTarget(Transport(transport), host="127.0.0.1", port=receiver.port)


def seq_record(seq: int, payload: bytes = b"") -> MqttRecord:
    """A record numbered `seq`; the number at both ends tells a complete record."""
    return MqttRecord(
        time.time(), "test/seq", b"seq=%06d %s end=%06d" % (seq, payload, seq), 0, False
    )


COMPLETE_RE = re.compile(rb"seq=(\d{6}) .*end=\1\Z", re.DOTALL)


def received_seqs(data: bytes) -> list[int]:
    """Sequence numbers of the complete records in the receiver's output.

    A receiver killed while writing can leave half a line, with the next line
    glued on after its restart: records are split at their PRI, and one counts
    only if it ends with its own end marker.
    """
    seqs = []
    for line in data.split(b"\n"):
        for piece in line.split(b"<134>1 ")[1:]:
            match = COMPLETE_RE.search(piece)
            if match:
                seqs.append(int(match[1]))
    return seqs


def hostile_records(count: int) -> list[MqttRecord]:
    big = bytes(range(256)) * 80  # 20 KiB: truncated to 8 KiB, escaped to ~30 KiB
    records = []
    for index in range(count):
        payload = HOSTILE_PAYLOADS[index % len(HOSTILE_PAYLOADS)]
        if index % 50 == 49:
            payload = big
        topic = ["weather/out/temp", "温度/🌡", 'odd "topic"]\\ x', "a\nb"][index % 4]
        records.append(
            MqttRecord(
                1_795_732_789.0 + index / 1000,
                topic,
                payload,
                index % 3,
                index % 2 == 0,
            )
        )
    return records


def expected_payload(record: MqttRecord) -> bytes:
    """The payload as a receiver recovers it: cut at 8 KiB and marked if longer."""
    if len(record.payload) <= 8192:
        return record.payload
    return record.payload[:8192] + b"\\[truncated %d bytes]" % len(record.payload)


def report(
    record_property: Callable[[str, object], None],
    name: str,
    text: str,
    **values: object,
) -> None:
    """Print a measurement and attach it to the test report."""
    print(f"\n[{name}] {text}")  # noqa: T201
    record_property(name, text)
    for key, value in values.items():
        record_property(f"{name}.{key}", value)


# -- real rsyslog -----------------------------------------------------------------


@needs_rsyslog
@pytest.mark.parametrize("transport", ["udp", "tcp", "unix"])
async def test_every_record_arrives_intact_and_separate(
    rsyslog: Rsyslog, transport: str, allow_unix_connect: None
) -> None:
    records = hostile_records(300)
    writer = SyslogWriter(
        target_for(rsyslog, transport), SyslogFormatter(hostname="testhost")
    )
    await writer.start()
    for index, record in enumerate(records):
        writer.submit(record)
        if index % 10 == 9:
            # UDP has no flow control: a burst of 30 KiB datagrams can overflow
            # the receiver's socket buffer, which is not what this test is about.
            await asyncio.sleep(0.005)
    await wait_until(lambda: writer.stats.sent == len(records))
    data = await blocking(
        rsyslog.wait_for, lambda d: d.count(b"\n") >= len(records), 20.0, 0.2
    )
    await writer.stop()

    lines = data.split(b"\n")
    assert lines.pop() == b""
    assert len(lines) == len(records), f"{len(lines)} lines for {len(records)} records"
    got = [decoded_record(line) for line in lines]
    expected = [
        (
            r.topic,
            expected_payload(r),
            str(r.qos),
            str(int(r.retain)),
        )
        for r in records
    ]
    big = [line for line in lines if b"\\[truncated 20480 bytes]" in line]
    assert len(big) == len(records) // 50
    assert got == expected
    stats = writer.stats
    assert stats.state is ConnectionState.DISCONNECTED
    assert (stats.submitted, stats.sent, stats.truncated) == (300, 300, 6)
    assert stats.dropped == {}


@needs_gtls
async def test_tls_records_arrive_intact(
    rsyslog_tls: Rsyslog, tls_files: TlsFiles
) -> None:
    records = hostile_records(200)
    target = SyslogTarget(
        Transport.TLS,
        host="127.0.0.1",
        port=rsyslog_tls.port,
        ca_file=str(tls_files.ca_cert),
    )
    writer = SyslogWriter(target, SyslogFormatter(hostname="testhost"))
    await writer.start()
    for record in records:
        writer.submit(record)
    await wait_until(lambda: writer.stats.sent == len(records))
    data = await blocking(
        rsyslog_tls.wait_for, lambda d: d.count(b"\n") >= len(records), 20.0, 0.2
    )
    await writer.stop()
    lines = data.split(b"\n")[:-1]
    assert [decoded_record(line)[:2] for line in lines] == [
        (r.topic, expected_payload(r)) for r in records
    ]


@needs_gtls
async def test_tls_refuses_an_unknown_certificate(
    rsyslog_tls: Rsyslog, tmp_path: Path
) -> None:
    other = tmp_path / "other-ca"
    other.mkdir()
    wrong_ca = make_tls_files(other).ca_cert
    target = SyslogTarget(
        Transport.TLS, host="127.0.0.1", port=rsyslog_tls.port, ca_file=str(wrong_ca)
    )
    writer = SyslogWriter(target, **FAST_BACKOFF)
    await writer.start()
    writer.submit(seq_record(1))
    await wait_until(lambda: writer.stats.last_error is not None)
    assert "CERTIFICATE_VERIFY_FAILED" in (writer.stats.last_error or "")
    await writer.stop(flush_timeout=0.1)
    assert writer.stats.sent == 0
    assert writer.stats.dropped == {"shutdown": 1}
    assert await blocking(rsyslog_tls.read) == b""


@needs_rsyslog
@pytest.mark.parametrize("transport", ["tcp", "unix"])
async def test_backlog_arrives_in_order_after_receiver_restart(
    rsyslog: Rsyslog,
    transport: str,
    allow_unix_connect: None,
    record_property: Callable[[str, object], None],
) -> None:
    states: list[ConnectionState] = []
    writer = SyslogWriter(
        target_for(rsyslog, transport), on_state_change=states.append, **FAST_BACKOFF
    )
    await writer.start()
    for seq in range(100):
        writer.submit(seq_record(seq))
    await wait_until(lambda: writer.stats.sent == 100)
    await blocking(rsyslog.wait_for, lambda d: len(received_seqs(d)) >= 100)

    await blocking(rsyslog.stop)
    for seq in range(100, 200):  # the receiver is down
        writer.submit(seq_record(seq))
        await asyncio.sleep(0.001)
    await wait_until(lambda: writer.state is not ConnectionState.CONNECTED)
    await asyncio.sleep(0.3)  # several reconnect attempts fail meanwhile
    stats = writer.stats
    assert stats.queued > 0
    assert stats.last_error

    await blocking(rsyslog.start)
    for seq in range(200, 300):
        writer.submit(seq_record(seq))
    await wait_until(lambda: writer.stats.queued == 0 and writer.stats.sent >= 300)
    data = await blocking(
        rsyslog.wait_for, lambda d: len(received_seqs(d)) >= 300, 20.0, 0.2
    )
    await writer.stop()

    seqs = received_seqs(data)
    report(
        record_property,
        f"{transport}_restart",
        f"{transport}: receiver stopped (SIGTERM) while idle and restarted: "
        f"{300 - len(set(seqs))} of 300 lost, {len(seqs) - len(set(seqs))} duplicated, "
        f"{writer.stats.connects} connections",
    )
    assert seqs == list(range(300))
    assert writer.stats.connects >= 2
    assert ConnectionState.CONNECTING in states
    assert ConnectionState.DISCONNECTED in states


@needs_rsyslog
async def test_udp_receiver_restart_loss_is_bounded(
    rsyslog: Rsyslog, record_property: Callable[[str, object], None]
) -> None:
    writer = SyslogWriter(target_for(rsyslog, "udp"), **FAST_BACKOFF)
    await writer.start()
    for seq in range(100):
        writer.submit(seq_record(seq))
    await blocking(rsyslog.wait_for, lambda d: len(received_seqs(d)) >= 100)
    await blocking(rsyslog.stop)
    for seq in range(100, 200):
        writer.submit(seq_record(seq))
        await asyncio.sleep(0.002)
    await asyncio.sleep(0.2)
    await blocking(rsyslog.start)
    await wait_until(lambda: writer.stats.queued == 0)
    for seq in range(200, 300):
        writer.submit(seq_record(seq))
    await wait_until(lambda: writer.stats.queued == 0)
    data = await blocking(
        rsyslog.wait_for, lambda d: 299 in received_seqs(d), 20.0, 0.2
    )
    await writer.stop()

    seqs = received_seqs(data)
    lost = sorted(set(range(300)) - set(seqs))
    report(
        record_property,
        "udp_restart",
        f"udp: receiver down for 100 records: {len(lost)} lost ({lost}), "
        f"{writer.stats.connects} connections in all (UDP 'connects' even to nobody)",
        lost=len(lost),
    )
    assert seqs == sorted(set(seqs))  # in order, no duplicates
    assert set(range(100)) | set(range(200, 300)) <= set(seqs)
    # The first datagram to the stopped receiver, then at most one per reconnect
    # attempt while it is down, reveals the refusal and is lost.
    assert len(lost) <= writer.stats.connects


@needs_rsyslog
async def test_tcp_receiver_killed_mid_stream(
    rsyslog: Rsyslog, record_property: Callable[[str, object], None]
) -> None:
    """kill -9 the receiver while records stream in; measure what is lost."""
    total = 3000
    kill_at, restart_at = 1000, 2000
    writer = SyslogWriter(target_for(rsyslog, "tcp"), **FAST_BACKOFF)
    await writer.start()
    loop = asyncio.get_running_loop()
    kill: asyncio.Future[Any] | None = None
    restart: asyncio.Future[Any] | None = None
    for seq in range(total):
        writer.submit(seq_record(seq, b"x" * 100))
        if seq == kill_at:
            kill = loop.run_in_executor(None, rsyslog.kill)
        if seq == restart_at:
            assert kill is not None
            await kill
            restart = loop.run_in_executor(None, rsyslog.start)
        if seq % 10 == 0:
            await asyncio.sleep(0.001)  # a steady stream, ~10 records a millisecond
    assert restart is not None
    await restart
    await wait_until(
        lambda: writer.stats.queued == 0 and writer.state is ConnectionState.CONNECTED
    )
    data = await blocking(
        rsyslog.wait_for, lambda d: total - 1 in received_seqs(d), 20.0, 0.3
    )
    await writer.stop()

    seqs = received_seqs(data)
    lost = sorted(set(range(total)) - set(seqs))
    duplicates = len(seqs) - len(set(seqs))
    report(
        record_property,
        "tcp_kill9",
        f"tcp: receiver killed (kill -9) after {kill_at} of {total} records: "
        f"{len(lost)} lost"
        + (f" (seq {lost[0]}..{lost[-1]})" if lost else "")
        + f", {duplicates} duplicated; writer counted {writer.stats.sent} sent",
        lost=len(lost),
        duplicates=duplicates,
    )
    # What is lost went out just before the receiver died; everything submitted
    # once it was back arrived, and in order.
    assert all(seq < restart_at for seq in lost)
    assert set(range(restart_at, total)) <= set(seqs)
    first_seen = list(dict.fromkeys(seqs))
    assert first_seen == sorted(first_seen)
    assert len(lost) < kill_at


# -- local receivers (no rsyslog needed) ---------------------------------------------


class TcpSink:
    """A TCP (or TLS) receiver collecting raw bytes; can pause reading."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.data = b""
        self.ssl_context = ssl_context
        self.server: asyncio.Server | None = None
        self.port = 0
        self.pause = False
        self.connections = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, ssl=self.ssl_context
        )
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        if self.pause:
            transport = writer.transport
            assert isinstance(transport, asyncio.Transport)
            transport.pause_reading()
        with contextlib.suppress(OSError):
            while chunk := await reader.read(65536):
                self.data += chunk
        writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server.close_clients()
            await self.server.wait_closed()
            self.server = None


@pytest.fixture
async def tcp_sink(socket_enabled: None) -> AsyncIterator[TcpSink]:
    sink = TcpSink()
    await sink.start()
    yield sink
    await sink.close()


class UdpSink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.datagrams: list[bytes] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.datagrams.append(data)


@pytest.fixture
async def udp_sink(socket_enabled: None) -> AsyncIterator[tuple[UdpSink, int]]:
    loop = asyncio.get_running_loop()
    transport, sink = await loop.create_datagram_endpoint(
        UdpSink, local_addr=("127.0.0.1", 0)
    )
    yield sink, transport.get_extra_info("sockname")[1]
    transport.close()


def tcp_target(port: int) -> SyslogTarget:
    return SyslogTarget(Transport.TCP, host="127.0.0.1", port=port)


async def test_octet_counted_frames_over_tcp(tcp_sink: TcpSink) -> None:
    fmt = SyslogFormatter(hostname="h")
    writer = SyslogWriter(tcp_target(tcp_sink.port), SyslogFormatter(hostname="h"))
    records = hostile_records(120)
    await writer.start()
    for record in records:
        writer.submit(record)
    await wait_until(lambda: writer.stats.sent == len(records))
    await writer.stop()
    await wait_until(lambda: len(deframe_octet_counting(tcp_sink.data)) == len(records))
    assert deframe_octet_counting(tcp_sink.data) == [fmt.format(r)[0] for r in records]


async def test_spool_overflow_drops_oldest(tcp_sink: TcpSink) -> None:
    writer = SyslogWriter(tcp_target(tcp_sink.port), spool_size=5)
    for seq in range(8):  # not started yet: everything waits in the spool
        writer.submit(seq_record(seq))
    stats = writer.stats
    assert (stats.submitted, stats.queued, stats.dropped) == (
        8,
        5,
        {"spool_overflow": 3},
    )
    await writer.start()
    await wait_until(lambda: writer.stats.sent == 5)
    await writer.stop()
    assert received_seqs_from_frames(tcp_sink.data) == [3, 4, 5, 6, 7]


def received_seqs_from_frames(stream: bytes) -> list[int]:
    return [int(SEQ_RE.search(m)[1]) for m in deframe_octet_counting(stream)]  # type: ignore[index]


async def test_spool_byte_bound(tcp_sink: TcpSink) -> None:
    writer = SyslogWriter(tcp_target(tcp_sink.port), spool_bytes=1000)
    for seq in range(20):
        writer.submit(seq_record(seq, b"y" * 100))
    stats = writer.stats
    assert 1 <= stats.queued < 20
    assert stats.dropped["spool_overflow"] == 20 - stats.queued
    # a single record larger than the bound is still kept (never an empty spool)
    writer.submit(seq_record(99, b"z" * 5000))
    assert writer.stats.queued == 1


async def test_connection_refused_backs_off_and_stop_is_prompt(
    socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    states: list[ConnectionState] = []
    writer = SyslogWriter(
        tcp_target(port), on_state_change=states.append, **FAST_BACKOFF
    )
    await writer.start()
    await writer.start()  # idempotent
    writer.submit(seq_record(1))
    await wait_until(lambda: states.count(ConnectionState.CONNECTING) >= 3)
    stats = writer.stats
    assert stats.state in (ConnectionState.DISCONNECTED, ConnectionState.CONNECTING)
    assert stats.last_error and "connect" in stats.last_error
    assert stats.connects == 0
    # one warning per distinct error, not one per attempt
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    started = time.monotonic()
    await writer.stop(flush_timeout=5.0)
    assert time.monotonic() - started < 4.0  # did not wait for the receiver
    writer.submit(seq_record(2))
    assert writer.stats.dropped == {"shutdown": 2}
    assert writer.state is ConnectionState.DISCONNECTED
    await writer.stop()  # idempotent


async def test_stop_gives_up_on_a_stuck_receiver(socket_enabled: None) -> None:
    sink = TcpSink()
    sink.pause = True  # accepts, never reads: the kernel buffers fill up
    await sink.start()
    writer = SyslogWriter(tcp_target(sink.port), SyslogFormatter(max_payload=65536))
    await writer.start()
    for seq in range(500):  # 30 MB: more than the kernel buffers on both ends
        writer.submit(seq_record(seq, b"a" * 60_000))
    await asyncio.sleep(0.3)
    assert writer.stats.queued > 0
    started = time.monotonic()
    await writer.stop(flush_timeout=0.3)
    assert time.monotonic() - started < 3
    stats = writer.stats
    assert stats.dropped["shutdown"] > 0
    # every record is accounted for: sent, or dropped (including the batch
    # whose send was cut short)
    assert stats.sent + sum(stats.dropped.values()) == 500
    assert stats.queued == 0
    await sink.close()


async def test_peer_close_is_noticed_before_writing(tcp_sink: TcpSink) -> None:
    writer = SyslogWriter(tcp_target(tcp_sink.port), **FAST_BACKOFF)
    await writer.start()
    writer.submit(seq_record(0))
    await wait_until(lambda: writer.stats.sent == 1)
    tcp_sink.server.close_clients()  # type: ignore[union-attr]  # the receiver hangs up
    await asyncio.sleep(0.1)
    for seq in range(1, 4):
        writer.submit(seq_record(seq))
    await wait_until(lambda: writer.stats.sent == 4 and writer.stats.connects == 2)
    await writer.stop()
    await wait_until(lambda: len(deframe_octet_counting(tcp_sink.data)) == 4)
    assert received_seqs_from_frames(tcp_sink.data) == [0, 1, 2, 3]


async def test_disabled_transport(socket_enabled: None) -> None:
    writer = SyslogWriter(SyslogTarget(Transport.NONE))
    await writer.start()
    writer.submit(seq_record(1))
    await writer.stop()
    stats = writer.stats
    assert stats.state is ConnectionState.DISABLED
    assert (stats.submitted, stats.sent, stats.queued, stats.dropped) == (0, 0, 0, {})


def test_spool_must_hold_a_record() -> None:
    with pytest.raises(ValueError):
        SyslogWriter(SyslogTarget(Transport.UDP), spool_size=0)


async def test_bad_record_is_counted_not_raised(tcp_sink: TcpSink) -> None:
    writer = SyslogWriter(tcp_target(tcp_sink.port))
    await writer.start()
    writer.submit(MqttRecord(1.0, "t", b"x", "not a number", False))  # type: ignore[arg-type]
    writer.submit(MqttRecord(1.0, "t", "not bytes", 0, False))  # type: ignore[arg-type]
    writer.submit(seq_record(7))
    await wait_until(lambda: writer.stats.sent == 1)
    await writer.stop()
    assert writer.stats.dropped == {"format_error": 2}
    assert writer.stats.last_error and writer.stats.last_error.startswith("format")


async def test_state_listener_errors_are_contained(
    tcp_sink: TcpSink, caplog: pytest.LogCaptureFixture
) -> None:
    def listener(state: ConnectionState) -> None:
        raise RuntimeError("listener bug")

    writer = SyslogWriter(tcp_target(tcp_sink.port), on_state_change=listener)
    await writer.start()
    writer.submit(seq_record(1))
    await wait_until(lambda: writer.stats.sent == 1)
    await writer.stop()
    assert "Error in syslog state listener" in caplog.text


async def test_unexpected_send_error_keeps_records(
    tcp_sink: TcpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = syslog._StreamConnection.send
    calls = 0

    async def flaky(self: Any, batch: list[bytes]) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("bug")
        return await original(self, batch)

    monkeypatch.setattr(syslog._StreamConnection, "send", flaky)
    writer = SyslogWriter(tcp_target(tcp_sink.port), **FAST_BACKOFF)
    await writer.start()
    for seq in range(3):
        writer.submit(seq_record(seq))
    await wait_until(lambda: writer.stats.sent == 3)
    await writer.stop()
    assert writer.stats.connects == 2
    assert received_seqs_from_frames(tcp_sink.data) == [0, 1, 2]


async def test_udp_datagrams_and_oversize(udp_sink: tuple[UdpSink, int]) -> None:
    sink, port = udp_sink
    writer = SyslogWriter(
        SyslogTarget(Transport.UDP, host="127.0.0.1", port=port),
        SyslogFormatter(max_payload=200_000),
    )
    await writer.start()
    writer.submit(seq_record(1))
    writer.submit(seq_record(2, b"q" * 70_000))  # larger than any UDP datagram
    writer.submit(seq_record(3))
    await wait_until(lambda: writer.stats.queued == 0 and writer.stats.sent == 2)
    await wait_until(lambda: len(sink.datagrams) == 2)
    await writer.stop()
    assert [int(SEQ_RE.search(d)[1]) for d in sink.datagrams] == [1, 3]  # type: ignore[index]
    assert writer.stats.dropped == {"oversize": 1}


async def test_records_linger_to_share_the_writers_wake_up(
    udp_sink: tuple[UdpSink, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records that arrive one per loop iteration wait for each other: the
    writer wakes and sends once per linger, not once per record. A full batch
    goes at once; `flush` and `stop` do not wait for the linger."""
    sink, port = udp_sink
    sends: list[int] = []
    original = _DatagramConnection.send

    async def counted(self: _DatagramConnection, batch: list[bytes]) -> int:
        sends.append(len(batch))
        return await original(self, batch)

    monkeypatch.setattr(_DatagramConnection, "send", counted)
    target = SyslogTarget(Transport.UDP, host="127.0.0.1", port=port)
    writer = SyslogWriter(target, linger=0.3)
    await writer.start()
    writer.submit(seq_record(0))
    await writer.flush()  # connected
    sends.clear()
    for seq in range(1, 11):  # one per loop iteration, well within the linger
        writer.submit(seq_record(seq))
        await asyncio.sleep(0.005)
    assert writer.stats.sent == 1
    await wait_until(lambda: writer.stats.sent == 11)
    assert sends == [10]

    sends.clear()
    writer.submit(seq_record(11))
    await writer.flush()  # now, not after the linger
    assert sends == [1]
    for seq in range(12, 12 + 100):  # a full batch does not linger
        writer.submit(seq_record(seq))
    await asyncio.sleep(0.05)
    assert writer.stats.sent == 112
    writer.submit(seq_record(112))
    await writer.stop()  # sends what lingers
    assert writer.stats.sent == 113
    await wait_until(lambda: len(sink.datagrams) == 113)
    assert [int(SEQ_RE.search(d)[1]) for d in sink.datagrams] == list(range(113))  # type: ignore[index]


async def test_without_linger_every_loop_iteration_sends(
    udp_sink: tuple[UdpSink, int],
) -> None:
    sink, port = udp_sink
    writer = SyslogWriter(
        SyslogTarget(Transport.UDP, host="127.0.0.1", port=port), linger=0
    )
    await writer.start()
    writer.submit(seq_record(1))
    await writer.flush()  # connected
    writer.submit(seq_record(2))
    for _ in range(5):
        await asyncio.sleep(0)
    assert writer.stats.sent == 2
    await writer.stop()
    await writer.flush()  # stopped with nothing spooled: returns
    await wait_until(lambda: len(sink.datagrams) == 2)


async def test_unix_datagram_socket_appearing_later(
    tmp_path: Path, allow_unix_connect: None
) -> None:
    path = tmp_path / "dev-log"
    writer = SyslogWriter(SyslogTarget(Transport.UNIX, path=str(path)), **FAST_BACKOFF)
    await writer.start()
    writer.submit(seq_record(1))
    await wait_until(lambda: writer.stats.last_error is not None)
    assert writer.stats.sent == 0
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(path))
    receiver.setblocking(False)
    try:
        writer.submit(seq_record(2))
        await wait_until(lambda: writer.stats.sent == 2)
        await writer.stop()
        datagrams = [receiver.recv(65536), receiver.recv(65536)]
    finally:
        receiver.close()
    assert [int(SEQ_RE.search(d)[1]) for d in datagrams] == [1, 2]  # type: ignore[index]


async def test_datagrams_wait_for_a_full_receiver_queue(
    tmp_path: Path, allow_unix_connect: None
) -> None:
    """A receiver that falls behind makes the writer wait, not drop.

    A unix datagram socket holds only a few hundred datagrams; past that the
    sender's send() fails with EAGAIN until the receiver reads.
    """
    path = tmp_path / "dev-log"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(path))
    receiver.setblocking(False)
    writer = SyslogWriter(SyslogTarget(Transport.UNIX, path=str(path)), **FAST_BACKOFF)
    total = 3000
    try:
        await writer.start()
        for seq in range(total):
            writer.submit(seq_record(seq))
        # The writer fills the receiver's queue and then waits on the loop.
        await asyncio.sleep(0.2)
        assert writer.stats.sent < total
        assert writer.stats.last_error is None
        received: list[int] = []
        while len(received) < total:
            try:
                datagram = receiver.recv(65536)
            except BlockingIOError:
                await asyncio.sleep(0.001)
                continue
            received.append(int(SEQ_RE.search(datagram)[1]))  # type: ignore[index]
        await writer.stop()
    finally:
        receiver.close()
    assert received == list(range(total))
    assert writer.stats.dropped == {}


async def test_unix_stream_socket_fallback(
    tmp_path: Path, allow_unix_connect: None
) -> None:
    path = tmp_path / "stream.sock"
    received = bytearray()

    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while chunk := await reader.read(65536):
            received.extend(chunk)
        writer.close()

    server = await asyncio.start_unix_server(handle, str(path))
    writer = SyslogWriter(SyslogTarget(Transport.UNIX, path=str(path)))
    await writer.start()
    records = hostile_records(20)
    for record in records:
        writer.submit(record)
    await wait_until(lambda: writer.stats.sent == 20)
    await writer.stop()
    await wait_until(lambda: received.count(0) == 20)
    server.close()
    await server.wait_closed()
    messages = bytes(received).split(b"\0")
    assert messages.pop() == b""
    assert [decoded_record(m)[:2] for m in messages] == [
        (r.topic, expected_payload(r)) for r in records
    ]


async def test_tls_to_local_server_with_context_and_bad_ca_file(
    socket_enabled: None, tls_files: TlsFiles, tmp_path: Path
) -> None:
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    await asyncio.get_running_loop().run_in_executor(
        None, server_context.load_cert_chain, tls_files.cert, tls_files.key
    )
    sink = TcpSink(server_context)
    await sink.start()
    target = SyslogTarget(
        Transport.TLS,
        host="127.0.0.1",
        port=sink.port,
        ca_file=str(tmp_path / "missing.pem"),
    )
    # a CA file that does not exist: reported, retried, records kept
    writer = SyslogWriter(target, **FAST_BACKOFF)
    await writer.start()
    writer.submit(seq_record(1))
    await wait_until(lambda: "connect" in (writer.stats.last_error or ""))
    assert writer.stats.sent == 0
    await writer.stop(flush_timeout=0.1)

    # a context given by the caller (the HA layer can pass its own)
    client_context = await asyncio.get_running_loop().run_in_executor(
        None, create_ssl_context, str(tls_files.ca_cert)
    )
    writer = SyslogWriter(target, ssl_context=client_context)
    await writer.start()
    for seq in range(5):
        writer.submit(seq_record(seq))
    await wait_until(lambda: writer.stats.sent == 5)
    await writer.stop()
    await wait_until(lambda: len(deframe_octet_counting(sink.data)) == 5)
    await sink.close()
    assert received_seqs_from_frames(sink.data) == [0, 1, 2, 3, 4]
