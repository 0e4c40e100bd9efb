"""SyslogWriter when a send fails: the record stays queued and goes out, in order,
after the reconnection.

No rsyslogd needed: the receivers are sockets in the test that close and come
back on the same address, so this holds on any machine.
"""

from __future__ import annotations

from pathlib import Path
import socket

import pytest

from custom_components.iotitan.engine import syslog
from custom_components.iotitan.engine.syslog import (
    ConnectionState,
    SyslogTarget,
    SyslogWriter,
    Transport,
)

from .test_syslog_rsyslog import (
    FAST_BACKOFF,
    SEQ_RE,
    TcpSink,
    allow_unix_connect,  # noqa: F401  (fixture)
    received_seqs_from_frames,
    seq_record,
    tcp_sink,  # noqa: F401  (fixture)
    tcp_target,
    wait_until,
)


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of three records, so that records wait behind the failed batch.

    With the usual 100 or 1,000 records a batch, the ten records of an outage
    would all be in the one batch that fails, and a writer that put that batch
    back *behind* the queue would still send them in order.
    """
    monkeypatch.setattr(syslog._StreamConnection, "batch_records", 3)
    monkeypatch.setattr(syslog._DatagramConnection, "batch_records", 3)


def unix_receiver(path: Path) -> socket.socket:
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(path))
    receiver.setblocking(False)
    return receiver


async def read_seqs(receiver: socket.socket, count: int) -> list[int]:
    seqs: list[int] = []

    def read() -> bool:
        while True:
            try:
                datagram = receiver.recv(65536)
            except BlockingIOError:
                return len(seqs) >= count
            match = SEQ_RE.search(datagram)
            assert match is not None, datagram
            seqs.append(int(match[1]))

    await wait_until(read)
    return seqs


async def test_failed_datagram_send_keeps_records_in_order(
    tmp_path: Path,
    allow_unix_connect: None,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A unix datagram receiver goes away: every send fails until it is back.

    Nothing is lost here (a unix socket refuses at once, unlike UDP over a
    network): the failed record and those behind it are all sent afterwards.
    """
    path = tmp_path / "dev-log"
    receiver = unix_receiver(path)
    writer = SyslogWriter(SyslogTarget(Transport.UNIX, path=str(path)), **FAST_BACKOFF)
    await writer.start()
    try:
        for seq in range(10):
            writer.submit(seq_record(seq))
        assert await read_seqs(receiver, 10) == list(range(10))
        assert writer.stats.sent == 10

        receiver.close()  # the receiver goes away ...
        path.unlink()
        for seq in range(10, 20):
            writer.submit(seq_record(seq))
        await wait_until(lambda: "send" in caplog.text)  # the send failed
        await wait_until(
            lambda: writer.stats.connects == 1
            and "connect" in (writer.stats.last_error or "")
        )
        stats = writer.stats
        assert (stats.sent, stats.queued, stats.dropped) == (10, 10, {})
        assert stats.state is not ConnectionState.CONNECTED

        receiver = unix_receiver(path)  # ... and comes back at the same path
        assert await read_seqs(receiver, 10) == list(range(10, 20))
        await wait_until(lambda: writer.stats.queued == 0)
        stats = writer.stats
        assert (stats.sent, stats.dropped, stats.connects) == (20, {}, 2)
    finally:
        await writer.stop()
        receiver.close()


async def test_failed_stream_send_keeps_records_in_order(
    tcp_sink: TcpSink,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A TCP receiver closes (and refuses connections), then listens again."""
    writer = SyslogWriter(tcp_target(tcp_sink.port), **FAST_BACKOFF)
    await writer.start()
    try:
        for seq in range(10):
            writer.submit(seq_record(seq))
        await wait_until(lambda: writer.stats.sent == 10)

        await tcp_sink.close()  # stops listening, hangs up on the writer
        await wait_until(lambda: tcp_sink.connections == 1)
        for seq in range(10, 20):
            writer.submit(seq_record(seq))
        await wait_until(lambda: "send" in caplog.text)
        await wait_until(lambda: "connect" in (writer.stats.last_error or ""))
        stats = writer.stats
        assert (stats.sent, stats.queued, stats.dropped) == (10, 10, {})

        await tcp_sink.start()  # the same port again
        await wait_until(lambda: writer.stats.sent == 20)
        await wait_until(lambda: len(received_seqs_from_frames(tcp_sink.data)) >= 20)
    finally:
        await writer.stop()
    assert received_seqs_from_frames(tcp_sink.data) == list(range(20))
    assert writer.stats.connects == 2
