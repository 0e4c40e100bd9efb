"""The largest syslog record: no frame over it, nothing forged at a stock rsyslog.

rsyslog's default ``maxMessageSize`` accepts 8,096 bytes of record (measured:
the octet-count prefix does not count). A longer UDP or unix datagram is cut; a
longer octet-counted TCP/TLS frame is cut and the rest of it becomes further
records, so a payload padded to that boundary and followed by a syslog line used
to forge a record attributed to any program (issue 12). Here rsyslogd runs with
its *default* size (the test configuration does not set it) and gets hostile
payloads over every transport in both record formats.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
import re
import time

from hypothesis import HealthCheck, example, given, settings, strategies as st
import pytest

from custom_components.iotitan.engine.record import (
    MqttRecord,
    split_truncation_marker,
    unescape,
)
from custom_components.iotitan.engine.syslog import (
    CUT_PAYLOAD,
    CUT_RECORD,
    CUT_TOPIC,
    DEFAULT_MAX_RECORD,
    MAX_MAX_RECORD,
    MIN_MAX_RECORD,
    SD_ID,
    RecordTooLarge,
    SyslogFormatter,
    SyslogTarget,
    SyslogWriter,
    Transport,
    frame_octet_counting,
)

from ..rsyslog import Rsyslog, TlsFiles, gtls_available, make_tls_files, rsyslogd_path
from .test_syslog_format import RFC3164_RE, deframe_octet_counting, parse_rfc5424
from .test_syslog_rsyslog import allow_unix_connect, blocking, wait_until

__all__ = ["allow_unix_connect"]  # a fixture, used by name

RSYSLOG_DEFAULT_LIMIT = 8096
"""What a stock rsyslogd (Debian 8.2302, no maxMessageSize) accepts whole."""

FORGED_5424 = (
    b"<38>1 2026-01-01T00:00:00Z router sshd 77 - - "
    b"Accepted password for root from 203.0.113.9"
)
FORGED_3164 = b"<38>Jan  1 00:00:00 router sshd[77]: Accepted password for root"
SUFFIXES = [
    FORGED_5424,
    FORGED_3164,
    b"\n" + FORGED_5424,
    b"123 <13>1 - - - - - - " + FORGED_5424,
    b"\x00" + FORGED_3164,
    b"\xff\xfe\xc3" + FORGED_5424,
]
TOPIC = "home/attack/x"


def make_formatter(rfc3164: bool, max_record: int | None) -> SyslogFormatter:
    return SyslogFormatter(
        hostname="hub", procid=4242, rfc3164=rfc3164, max_record=max_record
    )


def header_size(rfc3164: bool) -> int:
    """Bytes of one of our records before its payload (measured, not assumed)."""
    line, _ = make_formatter(rfc3164, None).format(
        MqttRecord(1_767_225_600.0, TOPIC, b"x", 0, False)
    )
    return len(line) - 1


def hostile_payloads(rfc3164: bool, limit: int) -> list[bytes]:
    """Padding up to (around) a boundary, then a complete syslog line.

    Boundaries: the option's limit and rsyslog's own; the forged line starts
    exactly at the boundary for offset 0, and within 64 bytes either side.
    Also the exact payload lengths the issue reported (8,058 and 8,099 bytes).
    """
    header = header_size(rfc3164)
    offsets = sorted({*range(-64, 65, 8), -2, -1, 1, 2})
    payloads = []
    for boundary in sorted({limit, RSYSLOG_DEFAULT_LIMIT}):
        for offset in offsets:
            for suffix in SUFFIXES:
                pad = boundary - header + offset
                payloads.append(b"A" * max(pad, 0) + suffix)
    for total in (8058, 8099):
        payloads.append(b"A" * (total - len(FORGED_5424)) + FORGED_5424)
        payloads.append(b"A" * (total - len(FORGED_3164)) + FORGED_3164)
    return payloads


def recovered_payload(line: bytes, rfc3164: bool) -> tuple[bytes, int | None]:
    """(payload prefix, original size if it was cut) from a received record."""
    if rfc3164:
        match = RFC3164_RE.match(line)
        assert match is not None, line[:200]
        topic, _, msg = match["content"].partition(b" ")
        assert unescape(topic) == TOPIC.encode()
    else:
        parts = parse_rfc5424(line)
        assert unescape(parts["sd"][SD_ID]["topic"]) == TOPIC.encode()
        msg = parts["msg"] or b""
    text, size = split_truncation_marker(msg.decode("utf-8", "surrogateescape"))
    return unescape(text), size


@pytest.fixture
def tls_files(tmp_path: Path) -> TlsFiles:
    folder = tmp_path / "tls"
    folder.mkdir()
    return make_tls_files(folder)


@pytest.fixture
def stock_rsyslog(
    request: pytest.FixtureRequest, socket_enabled: None, tmp_path: Path
) -> Iterator[tuple[Rsyslog, TlsFiles | None]]:
    """rsyslogd with its default maxMessageSize; TLS on its TCP port if asked."""
    transport = request.param
    tls = make_tls_files(tmp_path) if transport == "tls" else None
    receiver = Rsyslog(
        tmp_path / "rsyslog",
        tls=tls,
        unix_socket=transport == "unix",
        max_message_size=None,  # rsyslog's own default, as installed
        template="%programname% %rawmsg%\\n",
    )
    assert "maxMessageSize" not in receiver.config_text()
    receiver.start()
    try:
        yield receiver, tls
    finally:
        receiver.stop()


def target(receiver: Rsyslog, transport: str, tls: TlsFiles | None) -> SyslogTarget:
    if transport == "unix":
        return SyslogTarget(Transport.UNIX, path=str(receiver.unix_socket))
    return SyslogTarget(
        Transport(transport),
        host="127.0.0.1",
        port=receiver.port,
        ca_file=str(tls.ca_cert) if tls else None,
    )


async def send_all(writer: SyslogWriter, records: list[MqttRecord]) -> None:
    await writer.start()
    for index, record in enumerate(records):
        writer.submit(record)
        if index % 10 == 9:
            # UDP has no flow control: pace the burst so that no datagram is
            # lost to a full socket buffer (not what this test is about).
            await asyncio.sleep(0.005)
    try:
        await wait_until(lambda: writer.stats.sent == len(records), 60)
    except AssertionError:
        raise AssertionError(f"not all sent: {writer.stats}") from None


needs_rsyslog = pytest.mark.skipif(
    rsyslogd_path() is None, reason="rsyslogd is not installed (Debian rsyslog)"
)
TRANSPORTS = [
    "udp",
    "tcp",
    pytest.param(
        "tls",
        marks=pytest.mark.skipif(
            rsyslogd_path() is None or not gtls_available(),
            reason="rsyslog's TLS driver is not installed (rsyslog-gnutls)",
        ),
    ),
    "unix",
]


@needs_rsyslog
@pytest.mark.parametrize("limit", [DEFAULT_MAX_RECORD, RSYSLOG_DEFAULT_LIMIT])
@pytest.mark.parametrize("rfc3164", [False, True], ids=["rfc5424", "rfc3164"])
@pytest.mark.parametrize("stock_rsyslog", TRANSPORTS, indirect=True)
async def test_hostile_payloads_give_one_record_each_at_a_stock_rsyslog(
    stock_rsyslog: tuple[Rsyslog, TlsFiles | None],
    request: pytest.FixtureRequest,
    rfc3164: bool,
    limit: int,
    allow_unix_connect: None,
) -> None:
    receiver, tls = stock_rsyslog
    transport = request.node.callspec.params["stock_rsyslog"]
    payloads = hostile_payloads(rfc3164, limit)
    records = [
        MqttRecord(1_767_225_600.0 + index / 1000, TOPIC, payload, 0, False)
        for index, payload in enumerate(payloads)
    ]
    writer = SyslogWriter(
        target(receiver, transport, tls), make_formatter(rfc3164, limit)
    )
    await send_all(writer, records)
    data = await blocking(
        receiver.wait_for, lambda d: d.count(b"\n") >= len(records), 30.0, 0.5
    )
    await writer.stop()

    lines = data.split(b"\n")
    assert lines.pop() == b""
    program = b"mqtt_logger" if rfc3164 else b"iotitan"
    if rfc3164 and transport == "unix":
        # imuxsock expects local lines without a HOSTNAME (as glibc's syslog()
        # writes them), so it takes our host name for the program name
        program = b"hub"
    programs = [line.partition(b" ")[0] for line in lines]
    raws = [line.partition(b" ")[2] for line in lines]
    assert b"sshd" not in programs
    assert len(lines) == len(records), f"{len(lines)} records for {len(records)}"
    assert set(programs) == {program}
    assert max(map(len, raws)) <= limit
    cut = 0
    for raw, payload in zip(raws, payloads, strict=True):
        assert raw.startswith(b"<134>")
        kept, size = recovered_payload(raw, rfc3164)
        assert payload.startswith(kept)
        assert size == (len(payload) if kept != payload else None)
        cut += size is not None
    stats = writer.stats
    assert stats.dropped == {}
    assert stats.cut_to_fit == cut > 0


# -- the formatter: property tests ---------------------------------------------------


def frames(message: bytes, transport: str) -> bytes:
    """What goes on the wire for one record (the limit applies to the record)."""
    if transport in ("tcp", "tls"):
        return frame_octet_counting(message)
    return message


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    payload=st.one_of(
        st.binary(max_size=3000),
        st.builds(
            lambda text, pad: pad * b"A" + text,
            st.binary(max_size=200),
            st.integers(0, 2200),
        ),
        st.text(max_size=1500).map(lambda text: text.encode("utf-8", "surrogatepass")),
    ),
    topic=st.one_of(st.text(max_size=60), st.text(min_size=300, max_size=1200)),
    rfc3164=st.booleans(),
    bom=st.booleans(),
    limit=st.integers(MIN_MAX_RECORD, 2600),
    max_payload=st.integers(64, 4096),
)
@example(
    payload=b"\\" * 900,
    topic="t",
    rfc3164=False,
    bom=False,
    limit=480,
    max_payload=4096,
)
@example(
    payload="\u0085".encode() * 300,
    topic="t",
    rfc3164=True,
    bom=False,
    limit=481,
    max_payload=4096,
)
@example(
    payload=b"", topic="]" * 500, rfc3164=False, bom=False, limit=480, max_payload=64
)
def test_a_record_never_exceeds_the_limit_and_its_prefix_round_trips(
    payload: bytes,
    topic: str,
    rfc3164: bool,
    bom: bool,
    limit: int,
    max_payload: int,
) -> None:
    fmt = SyslogFormatter(
        hostname="hub",
        procid=4242,
        rfc3164=rfc3164,
        bom=bom and not rfc3164,
        max_payload=max_payload,
        max_record=limit,
    )
    record = MqttRecord(1_767_225_600.5, topic, payload, 1, True)
    line, cut = fmt.format(record)
    assert len(line) <= limit
    # octet counting adds only its prefix; the record inside stays within limit
    assert deframe_octet_counting(frames(line, "tcp")) == [line]
    whole, whole_cut = SyslogFormatter(
        hostname="hub",
        procid=4242,
        rfc3164=rfc3164,
        bom=bom and not rfc3164,
        max_payload=max_payload,
    ).format(record)
    if len(whole) <= limit:
        assert (line, cut) == (whole, whole_cut)
        return
    assert cut & CUT_RECORD
    assert bool(cut & CUT_PAYLOAD) == (len(payload) > max_payload)
    # still one valid record of the format, with the cut parts recoverable
    if rfc3164:
        match = RFC3164_RE.match(line)
        assert match is not None, line
        raw_topic, _, msg = match["content"].partition(b" ")
    else:
        parts = parse_rfc5424(line)
        raw_topic = parts["sd"][SD_ID]["topic"]
        msg = parts["msg"] or b""
        if bom and msg:
            assert msg.startswith(b"\xef\xbb\xbf")
            msg = msg[3:]
    assert b"\n" not in line and b"\x00" not in line
    text, size = split_truncation_marker(msg.decode("utf-8", "surrogateescape"))
    kept = unescape(text)
    assert payload.startswith(kept)  # the un-cut prefix round-trips
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:  # a UTF-8 payload is cut between characters, never inside one
        kept.decode("utf-8")
    if payload:
        assert size == len(payload)
    topic_text = raw_topic.decode("utf-8", "surrogateescape")
    if cut & CUT_TOPIC:
        assert kept == b""  # payload first: nothing of it is left
        marker = re.search(
            r"(\\+)\[truncated(?: |\\x20)(\d+)(?: |\\x20)bytes", topic_text
        )
        assert marker is not None, topic_text
        assert len(marker[1]) % 2 == 1, topic_text
        assert int(marker[2]) == len(topic.encode())
        topic_prefix = unescape(topic_text[: marker.start() + len(marker[1]) - 1])
        assert topic.encode().startswith(topic_prefix)
    else:
        assert unescape(topic_text) == topic.encode()


@pytest.mark.parametrize("rfc3164", [False, True])
def test_cut_lands_on_escape_boundaries(rfc3164: bool) -> None:
    """Every cut length of an all-escapes payload ends on a whole escape."""
    payload = "\u0085".encode() * 100 + b"\x00\\\n" * 100  # \xc2\x85, \x00, \\, \n
    header = header_size(rfc3164)
    for limit in range(header + 30, header + 130):
        line, cut = make_formatter(rfc3164, limit).format(
            MqttRecord(1_767_225_600.0, TOPIC, payload, 0, False)
        )
        assert cut == CUT_RECORD
        assert len(line) <= limit
        msg = line[header:]
        text, size = split_truncation_marker(msg.decode())
        assert size == len(payload)
        # no broken escape at the end: a lone backslash or a partial \xH
        assert re.fullmatch(r"(?:\\x[0-9a-f]{2}|\\\\|\\n|[^\\])*", text), text[-12:]
        assert payload.startswith(unescape(text))
        # nor between the escapes of one character (\xc2 without its \x85)
        unescape(text).decode("utf-8")
        # and the cut is as late as the limit allows (within one escape)
        assert limit - len(line) < len("\\xc2\\x85")


def test_long_topic_is_cut_with_a_marker_and_counted() -> None:
    topic = "sensors/" + "x" * 3000
    fmt = make_formatter(False, 1024)
    line, cut = fmt.format(MqttRecord(1.0, topic, b"21.5", 0, False))
    assert cut == CUT_RECORD | CUT_TOPIC
    assert len(line) <= 1024
    parts = parse_rfc5424(line)
    value = parts["sd"][SD_ID]["topic"]
    assert value.startswith(b"sensors/xxx")
    assert value.endswith(b"\\[truncated 3008 bytes\\x5d")
    assert parts["msg"] == b"\\[truncated 4 bytes]"
    legacy, cut = make_formatter(True, 1024).format(
        MqttRecord(1.0, topic, b"21.5", 0, False)
    )
    assert cut == CUT_RECORD | CUT_TOPIC
    assert len(legacy) <= 1024
    assert legacy.endswith(b"\\[truncated\\x203008\\x20bytes] \\[truncated 4 bytes]")


def test_a_header_too_long_for_the_limit_is_refused_not_sent() -> None:
    fmt = SyslogFormatter(
        hostname="h" * 255,
        app_name="a" * 48,
        max_record=480,
        procid="p" * 128,
        msgid="m" * 32,
    )
    with pytest.raises(RecordTooLarge):
        fmt.format(MqttRecord(1.0, "t", b"x", 0, False))


async def test_writer_counts_cuts_and_never_sends_more(socket_enabled: None) -> None:
    received = bytearray()

    async def handle(reader: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            received.extend(chunk)
        w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    writer = SyslogWriter(
        SyslogTarget(Transport.TCP, host="127.0.0.1", port=port),
        SyslogFormatter(hostname="hub", max_record=600, max_payload=1000),
    )
    records = [
        MqttRecord(time.time(), "t", b"21.5", 0, False),  # whole
        MqttRecord(time.time(), "t", b"y" * 700, 0, False),  # cut to fit
        MqttRecord(time.time(), "t", b"z" * 5000, 0, False),  # over both
        MqttRecord(time.time(), "t" * 900, b"1", 0, False),  # topic cut
    ]
    await writer.start()
    for record in records:
        writer.submit(record)
    await wait_until(lambda: writer.stats.sent == 4)
    await writer.stop()
    await wait_until(lambda: len(deframe_octet_counting(bytes(received))) == 4)
    server.close()
    await server.wait_closed()
    messages = deframe_octet_counting(bytes(received))
    assert [len(m) <= 600 for m in messages] == [True] * 4
    stats = writer.stats
    assert (stats.truncated, stats.cut_to_fit, stats.topics_cut) == (1, 3, 1)
    # the default writer keeps to RFC 5424's 2,048 bytes
    assert SyslogWriter(SyslogTarget(Transport.UDP)).formatter.max_record == 2048


def test_limits() -> None:
    assert (MIN_MAX_RECORD, DEFAULT_MAX_RECORD, MAX_MAX_RECORD) == (480, 2048, 65536)
    with pytest.raises(ValueError):
        SyslogFormatter(max_record=0)
