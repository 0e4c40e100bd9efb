"""Syslog output: RFC 5424 (and legacy RFC 3164) lines, framing, asyncio transports.

Line format (RFC 5424, one record, shown wrapped)::

    <134>1 2026-11-26T22:39:49.123456Z pi iotitan 4242 mqtt
        [mqtt@32473 topic="weather/outside/temp" qos="0" retain="0"] 21.5

* PRI = facility * 8 + severity. The default facility is ``local0`` (16) and the
  severity ``info`` (6), so PRI is 134: IoTitan logs every MQTT message, which is
  far more than other programs log, and a local facility lets the receiver route it
  to a file of its own (``local0.* /var/log/iotitan.log`` then ``& stop``). The old
  scripts logged with Python's default facility ``user`` (PRI 14); pass
  ``facility=Facility.USER`` to keep rsyslog rules written for them.
* TIMESTAMP is UTC with microseconds (RFC 5424 allows six fractional digits); HOSTNAME, APP-NAME, PROCID and MSGID are
  PRINTUSASCII, cut to 255/48/128/32 characters, ``-`` when missing.
* The SD element ``mqtt@32473`` (32473 is the documentation enterprise number of
  RFC 5612) carries the topic, qos and retain flag. The topic is escaped as in
  `record` with ``"`` and ``]`` also escaped as ``\\x22``/``\\x5d``, then the
  backslashes are doubled as RFC 5424 requires for SD-PARAM values. So a value
  never holds ``"`` or ``]``, which keeps the journal parser a tight split.
* MSG is the escaped payload (see `record`), truncated with a visible marker
  beyond ``max_payload`` bytes; no BOM by default (``bom=True`` adds one; the
  journal parser accepts both). An empty payload gives no MSG (no trailing space).
* With ``max_record`` no record is longer than that many bytes (a receiver cuts
  longer ones, and rsyslog makes further records of an octet-counted frame's
  rest, which a payload could use to forge one): the payload is cut first, on an
  escape boundary, and ends with the marker; if header and structured data alone
  are too long, the topic is cut too, with the marker (``\\[truncated N bytes``
  then ``]`` written as ``\\x5d``, backslashes doubled, inside the SD-PARAM;
  ``\\[truncated\\x20N\\x20bytes]`` in a legacy topic). `format` says what it cut.

Legacy (``rfc3164=True``) keeps the old scripts' line shape::

    <134>Nov 26 22:39:49 pi mqtt_logger[4242]: weather/outside/temp 21.5

with local time (or the ``tz`` given), the topic escaped with spaces as ``\\x20``
so that the first space still separates topic from payload.

Framing: octet counting (RFC 6587 ``LEN SP MSG``) over TCP and TLS (RFC 5425); one
datagram per record over UDP and unix datagram sockets; over a unix *stream*
socket (a ``/dev/log`` served by a stream listener) each record ends with NUL, as
glibc's ``syslog()`` does.

`SyslogWriter` queues records from a synchronous, non-blocking `submit` and sends
them from its own asyncio task. While the receiver is away it reconnects with
capped, jittered exponential backoff and keeps records in a bounded spool; the
oldest are dropped (and counted) when the spool is full; the backlog goes out in
order once the receiver is back.

What can still be lost (the protocols have no acknowledgement):

* UDP: a datagram sent while nobody listens is dropped by the network without a
  word. On the same host (or when an ICMP "port unreachable" comes back) the
  *next* send fails; the writer then keeps that record and the following ones in
  the spool and reconnects with backoff, so the loss is about one datagram for
  each attempt while the receiver is down, not the whole outage.
* TCP/TLS: records that the kernel accepted just before the receiver died are
  lost with it (the writer hands records to the kernel only as fast as it takes
  them, and checks for the peer's close before each batch, which keeps that to
  what is in flight). The batch whose send fails is sent again after the
  reconnect, so at that edge a record can arrive twice rather than not at all.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping
import contextlib
from dataclasses import dataclass
from datetime import datetime, tzinfo
import enum
import errno
import logging
import os
import random
import re
import socket
import ssl
import time
from typing import Final, Protocol

from .record import (
    DEFAULT_MAX_PAYLOAD,
    MqttRecord,
    escape,
    escape_payload,
    escape_text,
    make_text_escaper,
    to_micros,
    truncate_payload,
    truncation_marker,
    unescape,
)

__all__ = [
    "CUT_PAYLOAD",
    "CUT_RECORD",
    "CUT_TOPIC",
    "DEFAULT_MAX_RECORD",
    "MAX_MAX_RECORD",
    "MIN_MAX_RECORD",
    "SD_ID",
    "UDP_MAX_RECORD",
    "ConnectionState",
    "Facility",
    "RecordTooLarge",
    "Severity",
    "SyslogFormatter",
    "SyslogStats",
    "SyslogTarget",
    "SyslogWriter",
    "Transport",
    "create_ssl_context",
    "frame_octet_counting",
]

_LOGGER = logging.getLogger(__name__)

SD_ID: Final = "mqtt@32473"
"""Our SD-ID; 32473 is the private enterprise number RFC 5612 sets aside for docs."""

MAX_HOSTNAME: Final = 255
MAX_APP_NAME: Final = 48
MAX_PROCID: Final = 128
MAX_MSGID: Final = 32
MAX_TAG: Final = 32  # RFC 3164 TAG

# The largest syslog record (header, structured data and message; not the
# octet-count prefix of a TCP/TLS frame, nor the NUL of a unix stream) that the
# writer sends. Records over it are cut, payload first, with the truncation
# marker. Why 2,048 by default:
# * RFC 5424 section 6.1: receivers SHOULD accept messages up to and including
#   2,048 octets and MAY accept larger ones; 2,048 is the largest size every
#   conforming receiver is expected to take without configuration.
# * rsyslog (Debian 8.2302) accepts 8,096 bytes by default (`maxMessageSize`,
#   counted over the record itself, without the octet-count prefix; measured
#   against the real rsyslogd by tests/engine/test_syslog_rsyslog.py). Beyond it
#   a UDP or unix datagram is cut, and an octet-counted TCP/TLS frame is cut and
#   its rest becomes one or more further records: a payload could forge a record.
# * syslog-ng accepts 65,536 bytes by default (`log-msg-size()`).
# A bigger limit is for receivers configured for it (README: Syslog).
DEFAULT_MAX_RECORD: Final = 2048
MIN_MAX_RECORD: Final = 480
"""RFC 5426 section 3.2: every IPv4 syslog receiver MUST accept 480 octets.

It holds the header (timestamp, a host name up to about 100 characters, app
name, procid, msgid), our structured data with a short topic and the marker."""
MAX_MAX_RECORD: Final = 65536
UDP_MAX_RECORD: Final = 65507
"""The largest UDP payload over IPv4 (65,535 - 8 UDP - 20 IP header bytes)."""

CUT_PAYLOAD: Final = 1
"""`format` flag: the payload was longer than ``max_payload``."""
CUT_RECORD: Final = 2
"""`format` flag: the record was cut to fit ``max_record``."""
CUT_TOPIC: Final = 4
"""`format` flag: even the topic was cut to fit ``max_record``."""

_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
# The formatter remembers escaped topics, at most this many, and only topics of
# at most this many characters: a hostile publisher's long distinct topics
# (MQTT allows 65,535 bytes) would otherwise pin up to 4,096 of them, about a
# quarter of a gigabyte; escaping a long topic again costs little next to its
# record.
_TOPIC_CACHE_SIZE: Final = 4096
_TOPIC_CACHE_MAX_CHARS: Final = 256


class Facility(enum.IntEnum):
    """Syslog facilities (RFC 5424 table 1)."""

    KERN = 0
    USER = 1
    MAIL = 2
    DAEMON = 3
    AUTH = 4
    SYSLOG = 5
    LPR = 6
    NEWS = 7
    UUCP = 8
    CRON = 9
    AUTHPRIV = 10
    FTP = 11
    NTP = 12
    AUDIT = 13
    ALERT = 14
    CLOCK = 15
    LOCAL0 = 16
    LOCAL1 = 17
    LOCAL2 = 18
    LOCAL3 = 19
    LOCAL4 = 20
    LOCAL5 = 21
    LOCAL6 = 22
    LOCAL7 = 23


class Severity(enum.IntEnum):
    """Syslog severities (RFC 5424 table 2)."""

    EMERG = 0
    ALERT = 1
    CRIT = 2
    ERR = 3
    WARNING = 4
    NOTICE = 5
    INFO = 6
    DEBUG = 7


def _header_field(value: str | None, max_len: int) -> str:
    """An RFC 5424 header field: PRINTUSASCII only, at most `max_len`, or ``-``."""
    if not value:
        return "-"
    return "".join(ch if "!" <= ch <= "~" else "_" for ch in value[:max_len])


_TAG_BAD: Final = re.compile(r"[^A-Za-z0-9_.\-/]")

# Topic escapers: in an SD-PARAM value '"' and ']' must not appear raw; in the
# legacy line the first space separates topic and payload.
_escape_sd_topic: Final = make_text_escaper('"]')
_escape_legacy_topic: Final = make_text_escaper(" ")


def _sd_topic(topic: str) -> str:
    """A topic as our SD-PARAM value: escaped, then backslashes doubled (RFC 5424)."""
    return _escape_sd_topic(topic).replace("\\", "\\\\")


class RecordTooLarge(ValueError):
    """Even with payload and topic cut, the header does not fit ``max_record``."""


# Whole escapes and single bytes of other text, as `escape` writes them: a
# match of this over a prefix ends on the last escape boundary in it.
_WHOLE_ESCAPES: Final = re.compile(rb"(?:\\x[0-9a-f]{2}|\\[\\nrt]|[^\\])*")
_ANY_ESCAPE: Final = re.compile(rb"\\(?:x[0-9a-f]{2}|[\\nrt])")


def _fit_payload(payload: bytes, max_payload: int, room: int) -> bytes:
    """The escaped form of the longest payload prefix whose escape fits `room` bytes.

    The prefix ends on a byte of the payload (never inside an escape sequence,
    and not inside a UTF-8 character where the payload is UTF-8), so the text
    unescapes to exactly ``payload[:k]``. Escaping never shrinks a byte, so at
    most `room` bytes are escaped; the cut is then found in C (a regular
    expression over whole escapes, a step back over UTF-8 continuation bytes),
    not byte by byte in Python.
    """
    kept, _ = truncate_payload(payload, min(len(payload), max_payload, room))
    text = escape(kept).encode()
    if len(text) <= room:
        return text
    match = _WHOLE_ESCAPES.match(text, 0, room)
    cut = match.end() if match else 0
    while 0 < cut < len(text) and text[cut] & 0xC0 == 0x80:
        cut -= 1  # inside a literal UTF-8 character: back to its first byte
    size = len(_ANY_ESCAPE.sub(b"-", text[:cut]))  # one byte per escape: in C
    # not between the \xHH escapes of one character (U+0085 is \xc2\x85)
    whole, _ = truncate_payload(payload, size)
    if len(whole) == size:
        return text[:cut]
    return escape(whole).encode()


def _fit_topic(topic: str, escaper: Callable[[str], str], room: int) -> bytes:
    """The escaped form of the longest topic prefix (whole characters) in `room`."""

    def escaped(cut: int) -> bytes:
        return escaper(topic[:cut]).encode()

    low, high, best = 0, min(len(topic), room) + 1, b""
    while high - low > 1:
        middle = (low + high) // 2
        candidate = escaped(middle)
        if len(candidate) <= room:
            low, best = middle, candidate
        else:
            high = middle
    return best


def _topic_size(topic: str) -> int:
    """How many bytes a topic stands for (what its escape unescapes to)."""
    return len(unescape(escape_text(topic)))


class SyslogFormatter:
    """Turn an `MqttRecord` into one syslog message (bytes, without framing).

    Not thread-safe (it keeps small caches); one per writer, used on the loop.
    """

    __slots__ = (
        "_header",
        "_last_record",
        "_last_result",
        "_last_second",
        "_last_stamp",
        "_middle",
        "_sibling",
        "_topics",
        "bom",
        "max_payload",
        "max_record",
        "rfc3164",
        "tz",
    )

    def __init__(
        self,
        *,
        hostname: str | None = None,
        app_name: str | None = None,
        procid: str | int | None = None,
        msgid: str | None = "mqtt",
        facility: int = Facility.LOCAL0,
        severity: int = Severity.INFO,
        rfc3164: bool = False,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        max_record: int | None = None,
        bom: bool = False,
        tz: tzinfo | None = None,
    ) -> None:
        """Set the constant parts of every line.

        `hostname` defaults to this host's name, `app_name` to ``iotitan``
        (``mqtt_logger`` in legacy mode), `procid` to this process id; pass ``""``
        for the nil value ``-``. `tz` is only used by the legacy format (local time
        when None). `max_payload` cuts payloads longer than that many bytes;
        `max_record` (None: no limit) cuts every record to at most that many
        bytes, payload first, then the topic (see `DEFAULT_MAX_RECORD`).
        """
        if not 0 <= facility <= 23:
            raise ValueError(f"facility must be 0..23, not {facility}")
        if not 0 <= severity <= 7:
            raise ValueError(f"severity must be 0..7, not {severity}")
        if max_payload < 0:
            raise ValueError("max_payload must not be negative")
        if max_record is not None and max_record < 1:
            raise ValueError("max_record must be positive")
        host = socket.gethostname() if hostname is None else hostname
        pid = str(os.getpid()) if procid is None else str(procid)
        pri = f"<{facility * 8 + severity}>"
        self.rfc3164 = rfc3164
        self.max_payload = max_payload
        self.max_record = max_record
        self.bom = bom
        self.tz = tz
        self._topics: dict[str, str] = {}
        self._last_second: int | None = None
        self._last_stamp = ""
        self._last_record: MqttRecord | None = None
        self._last_result = (b"", 0)
        self._sibling: SyslogFormatter | None = None
        if rfc3164:
            tag = _TAG_BAD.sub("_", app_name or "mqtt_logger")[:MAX_TAG]
            self._header = pri
            self._middle = f" {_header_field(host, MAX_HOSTNAME)} {tag}" + (
                f"[{_header_field(pid, MAX_PROCID)}]: " if pid else ": "
            )
        else:
            self._header = pri + "1 "
            self._middle = (
                f" {_header_field(host, MAX_HOSTNAME)}"
                f" {_header_field('iotitan' if app_name is None else app_name, MAX_APP_NAME)}"
                f" {_header_field(pid, MAX_PROCID)}"
                f" {_header_field(msgid, MAX_MSGID)}"
                f' [{SD_ID} topic="'
            )

    def format(self, record: MqttRecord) -> tuple[bytes, int]:
        """Return the message bytes and what was cut (0, or `CUT_*` flags or-ed).

        The flags are 0 (false) when the record is whole. The last result is
        kept: a formatter shared by two writers formats each record once.
        Raises `RecordTooLarge` if even the header does not fit ``max_record``.
        """
        if record is self._last_record:
            return self._last_result
        sibling = self._sibling
        if sibling is not None and sibling._last_record is record:
            data, cut = sibling._last_result
            if (
                not cut
                and len(record.payload) <= self.max_payload
                and (self.max_record is None or len(data) <= self.max_record)
            ):
                # Whole there, and whole here: the same bytes.
                self._last_record = record
                self._last_result = (data, 0)
                return self._last_result
        result = (
            self._format_3164(record) if self.rfc3164 else self._format_5424(record)
        )
        self._last_record = record
        self._last_result = result
        return result

    def share_from(self, other: SyslogFormatter) -> bool:
        """Take `other`'s bytes for the record it formatted last, when they are
        what this formatter writes; say whether it can.

        So a record logged to the journal and to syslog is formatted once: two
        RFC 5424 formatters with the same header fields write the same line
        for a record neither cuts (they differ only in their limits).
        """
        if self.rfc3164 or other.rfc3164 or other is self:
            return False
        if (self._header, self._middle, self.bom) != (
            other._header,
            other._middle,
            other.bom,
        ):
            return False
        self._sibling = other
        return True

    def _format_5424(self, record: MqttRecord) -> tuple[bytes, int]:
        second, micros = divmod(to_micros(record.timestamp), 1_000_000)
        if second != self._last_second:
            self._last_stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._last_second = second
        topic = self._topics.get(record.topic)
        if topic is None:
            topic = _sd_topic(record.topic)
            if len(record.topic) <= _TOPIC_CACHE_MAX_CHARS:
                if len(self._topics) >= _TOPIC_CACHE_SIZE:
                    self._topics.clear()
                self._topics[record.topic] = topic
        head = f"{self._header}{self._last_stamp}.{micros:06d}Z{self._middle}"
        tail = f'" qos="{record.qos:d}" retain="{1 if record.retain else 0}"]'
        sep = " \ufeff" if self.bom else " "
        if self._bound_to_cut(record.payload):
            # over the limit whatever its escape is: do not escape all of it
            return self._fit(
                record, head.encode(), topic.encode(), tail.encode(), sep.encode()
            )
        msg, truncated = escape_payload(record.payload, self.max_payload)
        line = f"{head}{topic}{tail}"
        if msg:
            line = f"{line}{sep}{msg}"
        data = line.encode()
        if self.max_record is None or len(data) <= self.max_record:
            return data, CUT_PAYLOAD if truncated else 0
        return self._fit(
            record, head.encode(), topic.encode(), tail.encode(), sep.encode()
        )

    def _format_3164(self, record: MqttRecord) -> tuple[bytes, int]:
        # naive local time when tz is None, as a local syslog daemon would write
        stamp = datetime.fromtimestamp(
            to_micros(record.timestamp) // 1_000_000, self.tz
        )
        head = (
            f"{self._header}{_MONTHS[stamp.month - 1]} {stamp.day:2d} "
            f"{stamp:%H:%M:%S}{self._middle}"
        )
        topic = _escape_legacy_topic(record.topic)
        if self._bound_to_cut(record.payload):
            return self._fit(record, head.encode(), topic.encode(), b"", b" ")
        msg, truncated = escape_payload(record.payload, self.max_payload)
        data = f"{head}{topic} {msg}".encode()
        if self.max_record is None or len(data) <= self.max_record:
            return data, CUT_PAYLOAD if truncated else 0
        return self._fit(record, head.encode(), topic.encode(), b"", b" ")

    def _bound_to_cut(self, payload: bytes) -> bool:
        """Whether a record is over ``max_record`` whatever its escape is.

        Escaping never shrinks a byte, so the payload's own length (cut at
        ``max_payload``) tells: such a record skips escaping all of it.
        """
        limit = self.max_record
        return limit is not None and min(len(payload), self.max_payload) > limit

    def _fit(
        self, record: MqttRecord, head: bytes, topic: bytes, tail: bytes, sep: bytes
    ) -> tuple[bytes, int]:
        """Cut a record that is over ``max_record``: the payload, then the topic.

        The line is ``head topic tail [sep msg]`` (the RFC 5424 form leaves out
        ``sep msg`` when there is no payload; the legacy one always has ``sep``).
        A cut part ends with the truncation marker, on an escape boundary.
        """
        limit = self.max_record
        assert limit is not None
        payload = record.payload
        flags = CUT_RECORD
        if len(payload) > self.max_payload:
            flags |= CUT_PAYLOAD
        marker = truncation_marker(len(payload)).encode() if payload else b""
        fixed = len(head) + len(topic) + len(tail) + len(sep) + len(marker)
        if payload and fixed <= limit:
            kept = _fit_payload(payload, self.max_payload, limit - fixed)
            return head + topic + tail + sep + kept + marker, flags
        # Even the marker alone does not fit: the topic is cut as well.
        msg = sep + marker if payload or self.rfc3164 else b""
        size = _topic_size(record.topic)
        if self.rfc3164:
            escaper = _escape_legacy_topic
            topic_marker = b"\\[truncated\\x20%d\\x20bytes]" % size
        else:
            escaper = _sd_topic
            # the marker as the topic's escaper would write it: ']' is \x5d, and
            # backslashes are doubled inside an SD-PARAM value
            topic_marker = b"\\\\[truncated %d bytes\\\\x5d" % size
        room = limit - len(head) - len(tail) - len(msg) - len(topic_marker)
        if room < 0:
            raise RecordTooLarge(
                f"the record header alone is over the limit of {limit} bytes"
            )
        kept_topic = _fit_topic(record.topic, escaper, room)
        return head + kept_topic + topic_marker + tail + msg, flags | CUT_TOPIC


def frame_octet_counting(message: bytes) -> bytes:
    """RFC 6587 octet-counting frame: ``LEN SP MSG``."""
    return b"%d %b" % (len(message), message)


def _frame_nul(message: bytes) -> bytes:
    return message + b"\0"


class Transport(enum.StrEnum):
    """Where syslog records go."""

    NONE = "none"
    UNIX = "unix"
    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"


_DEFAULT_PORTS: Final = {Transport.UDP: 514, Transport.TCP: 514, Transport.TLS: 6514}


@dataclass(frozen=True, slots=True)
class SyslogTarget:
    """The receiver: transport and address."""

    transport: Transport
    host: str = "localhost"
    port: int | None = None
    """None: 514 for UDP and TCP, 6514 for TLS."""
    path: str = "/dev/log"
    """Unix socket path (datagram; a stream socket there is used as a fallback)."""
    ca_file: str | None = None
    """TLS: PEM file of the CA(s) to trust instead of the system's; None = system."""

    @property
    def effective_port(self) -> int:
        """The port, with the transport's default filled in."""
        if self.port is not None:
            return self.port
        return _DEFAULT_PORTS.get(self.transport, 514)

    def describe(self) -> str:
        """A short human description (for logs and diagnostics)."""
        if self.transport is Transport.UNIX:
            return f"unix:{self.path}"
        if self.transport is Transport.NONE:
            return "none"
        return f"{self.transport.value}://{self.host}:{self.effective_port}"


def create_ssl_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A client context that verifies the server (blocking: loads CA files)."""
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)


class ConnectionState(enum.StrEnum):
    """The writer's connection to the receiver."""

    DISABLED = "disabled"
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"


DROP_SPOOL_OVERFLOW: Final = "spool_overflow"
DROP_OVERSIZE: Final = "oversize"
DROP_FORMAT_ERROR: Final = "format_error"
DROP_SHUTDOWN: Final = "shutdown"


@dataclass(frozen=True, slots=True)
class SyslogStats:
    """A snapshot of a writer's counters."""

    state: ConnectionState
    submitted: int
    """Records accepted by `submit` (formatted and spooled)."""
    sent: int
    """Records handed to the kernel (see the module doc for what that promises)."""
    queued: int
    """Records waiting in the spool right now."""
    truncated: int
    """Records whose payload was over ``max_payload`` (cut, and still sent)."""
    cut_to_fit: int
    """Records cut to fit ``max_record``, the largest record (still sent)."""
    topics_cut: int
    """Of those, records whose topic had to be cut as well."""
    dropped: Mapping[str, int]
    """Records not sent, by reason: spool_overflow, oversize, format_error, shutdown."""
    connects: int
    """Successful connections so far (1 + reconnects)."""
    last_error: str | None


class _SendError(Exception):
    """A send failed after `sent` records of the batch went out."""

    def __init__(self, sent: int, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.sent = sent
        self.cause = cause


class _Connection(Protocol):
    batch_records: int
    """At most this many records a batch (the writer yields between batches)."""
    proven_by_connect: bool
    """Whether a successful connect shows the receiver is there (not for UDP)."""

    async def send(self, batch: list[bytes]) -> int:
        """Send a batch; return how many were dropped as oversize."""

    async def close(self) -> None:
        """Close, never raising."""


class _StreamConnection:
    """TCP, TLS or unix stream: frames joined into one write, then drained."""

    batch_records = 1000
    proven_by_connect = True

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        frame: Callable[[bytes], bytes],
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._frame = frame
        # drain() then waits until everything is with the kernel, not merely
        # below asyncio's default 64 KiB high-water mark. Over TLS, asyncio
        # pauses the writer while its buffer is >= the high-water mark, so 0
        # would pause it for good once idle (drain() then never returns, and
        # the writer stalled after a batch or two): 1 pauses only while
        # encrypted data waits for the socket transport.
        tls = writer.transport.get_extra_info("ssl_object") is not None
        writer.transport.set_write_buffer_limits(high=1 if tls else 0, low=0)

    async def send(self, batch: list[bytes]) -> int:
        if self._reader.at_eof() or self._writer.is_closing():
            raise _SendError(0, ConnectionResetError("connection closed by receiver"))
        frame = self._frame
        try:
            self._writer.write(b"".join([frame(message) for message in batch]))
            await self._writer.drain()
        except OSError as err:
            raise _SendError(0, err) from err
        return 0

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()


class _DatagramConnection:
    """UDP or unix datagram: one datagram per record on a connected socket."""

    # A datagram that does not fit the receiver's buffer is dropped, so send in
    # small bursts and let the loop (and a receiver sharing the CPU) run between.
    batch_records = 100
    # connect() on a datagram socket succeeds whether or not anyone listens
    proven_by_connect = False

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    async def send(self, batch: list[bytes]) -> int:
        loop = asyncio.get_running_loop()
        sock = self._sock
        oversize = 0
        for index, message in enumerate(batch):
            try:
                try:
                    # A datagram leaves whole or not at all; only a full socket
                    # buffer needs the loop's help (no coroutine per record).
                    sock.send(message)
                except BlockingIOError:
                    await loop.sock_sendall(sock, message)
            except OSError as err:
                if err.errno != errno.EMSGSIZE:
                    raise _SendError(index, err) from err
                oversize += 1
        return oversize

    async def close(self) -> None:
        self._sock.close()


async def _connect_datagram(
    family: int, address: str | tuple[object, ...], proto: int = 0
) -> _DatagramConnection:
    loop = asyncio.get_running_loop()
    sock = socket.socket(family, socket.SOCK_DGRAM, proto)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, address)
    except BaseException:
        sock.close()
        raise
    return _DatagramConnection(sock)


_BATCH_BYTES: Final = 256 * 1024

DEFAULT_LINGER: Final = 0.1
"""Seconds a record waits for others before the writer sends them together.

Each wake-up of the writer costs a task step, and the first datagram after a
pause wakes the receiver (rsyslog on the same machine, asleep between
messages), which the kernel charges to the sender: about 40 us of the event
loop's CPU a record when records arrive one per loop iteration and each is
sent on its own, 8 us with the linger (`benchmarks/bench_logging.py`, "one per
loop iteration"). A tenth of a second is not a delay a person reading the log
notices; stopping, `send_now` and `flush` skip it.
"""
_LINGER_RECORDS: Final = 100
"""A spool this long is sent at once, linger or not."""


class SyslogWriter:
    """Send records to a syslog receiver from an asyncio task.

    Use it from the event loop thread only: `submit` from any callback, `start`
    and `stop` from the integration's setup and unload.
    """

    def __init__(
        self,
        target: SyslogTarget,
        formatter: SyslogFormatter | None = None,
        *,
        spool_size: int = 100_000,
        spool_bytes: int = 64 * 1024 * 1024,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        connect_timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        on_state_change: Callable[[ConnectionState], None] | None = None,
        linger: float = DEFAULT_LINGER,
    ) -> None:
        """Configure; nothing is opened until `start`.

        `linger`: seconds a record waits for others to share the writer's
        wake-up (0: the writer wakes for every loop iteration with records).
        `spool_size`/`spool_bytes` bound what waits while the receiver is away.
        `formatter` None: RFC 5424 with records of at most `DEFAULT_MAX_RECORD`.
        `ssl_context` (TLS): None builds a verifying one from ``target.ca_file``
        (or the system CAs) in the default executor at `start`.
        `on_state_change` is called (on the loop) when the connection state changes.
        """
        if spool_size < 1 or spool_bytes < 1:
            raise ValueError("the spool must hold at least one record")
        self.target = target
        self.formatter = formatter or SyslogFormatter(max_record=DEFAULT_MAX_RECORD)
        self._spool_size = spool_size
        self._spool_bytes_max = spool_bytes
        self._backoff_initial = backoff_initial
        self._backoff_max = max(backoff_max, backoff_initial)
        self._connect_timeout = connect_timeout
        self._ssl_context = ssl_context
        self._on_state_change = on_state_change

        self._spool: deque[bytes] = deque()
        self._spool_bytes = 0
        self._in_flight: list[bytes] = []  # taken from the spool, being sent
        self._wakeup = asyncio.Event()
        self._linger = linger
        self._linger_timer: asyncio.TimerHandle | None = None
        self._drained: list[asyncio.Future[None]] = []  # `flush` calls waiting
        self._task: asyncio.Task[None] | None = None
        self._conn: _Connection | None = None
        self._closing = False
        self._enabled = target.transport is not Transport.NONE
        self._state = (
            ConnectionState.DISCONNECTED if self._enabled else ConnectionState.DISABLED
        )

        self._submitted = 0
        self._sent = 0
        self._truncated = 0
        self._cut_to_fit = 0
        self._topics_cut = 0
        self._connects = 0
        self._dropped: dict[str, int] = {}
        self._last_error: str | None = None

    # -- the hot path -------------------------------------------------------

    def submit(self, record: MqttRecord) -> None:
        """Queue one record; never blocks, never raises."""
        if not self._enabled:
            return
        if self._closing:
            self._drop(DROP_SHUTDOWN)
            return
        try:
            message, cut = self.formatter.format(record)
        except RecordTooLarge as err:
            self._drop(DROP_OVERSIZE)
            self._last_error = f"format: {err}"
            return
        except Exception as err:  # a bad record must not break the caller
            self._drop(DROP_FORMAT_ERROR)
            self._last_error = f"format: {err!r}"
            return
        if cut:
            if cut & CUT_PAYLOAD:
                self._truncated += 1
            if cut & CUT_RECORD:
                self._cut_to_fit += 1
            if cut & CUT_TOPIC:
                self._topics_cut += 1
        limit = self.formatter.max_record
        if limit is not None and len(message) > limit:  # never: the formatter cuts
            self._drop(DROP_OVERSIZE)
            return
        self._submitted += 1
        spool = self._spool
        spool.append(message)
        self._spool_bytes += len(message)
        if len(spool) > self._spool_size or self._spool_bytes > self._spool_bytes_max:
            self._trim_spool()
        if self._wakeup.is_set():
            return  # the writer is at it: it takes this one too
        if self._linger <= 0 or self._task is None or len(spool) >= _LINGER_RECORDS:
            self.send_now()
        elif self._linger_timer is None:
            self._linger_timer = asyncio.get_running_loop().call_later(
                self._linger, self.send_now
            )

    def send_now(self) -> None:
        """Wake the writer to send what is spooled, without lingering."""
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        self._wakeup.set()

    async def flush(self) -> None:
        """Send what is spooled now and wait until the writer has handed it all
        to the kernel (while the receiver is away, until it is back)."""
        if not self._spool and not self._in_flight:
            return
        if self._task is None:
            raise RuntimeError("the syslog writer is not running")
        drained = asyncio.get_running_loop().create_future()
        self._drained.append(drained)
        self.send_now()
        await drained

    def _trim_spool(self) -> None:
        spool = self._spool
        while len(spool) > 1 and (
            len(spool) > self._spool_size or self._spool_bytes > self._spool_bytes_max
        ):
            self._spool_bytes -= len(spool.popleft())
            self._drop(DROP_SPOOL_OVERFLOW)

    def _drop(self, reason: str, count: int = 1) -> None:
        self._dropped[reason] = self._dropped.get(reason, 0) + count

    # -- lifecycle ------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """The connection state right now."""
        return self._state

    @property
    def stats(self) -> SyslogStats:
        """A snapshot of the counters."""
        return SyslogStats(
            state=self._state,
            submitted=self._submitted,
            sent=self._sent,
            queued=len(self._spool),
            truncated=self._truncated,
            cut_to_fit=self._cut_to_fit,
            topics_cut=self._topics_cut,
            dropped=dict(self._dropped),
            connects=self._connects,
            last_error=self._last_error,
        )

    async def start(self) -> None:
        """Start the writer task (connecting happens there, with retries)."""
        if not self._enabled or self._task is not None:
            return
        self._closing = False
        if self.target.transport is Transport.TLS and self._ssl_context is None:
            loop = asyncio.get_running_loop()
            try:
                self._ssl_context = await loop.run_in_executor(
                    None, create_ssl_context, self.target.ca_file
                )
            except (OSError, ValueError) as err:
                # A missing or bad CA file: keep spooling, report the error; the
                # task retries building the context with its backoff.
                self._last_error = f"TLS context: {err}"
                _LOGGER.warning("Syslog TLS setup failed: %s", err)
        self._task = asyncio.create_task(
            self._run(), name=f"iotitan syslog {self.target.describe()}"
        )

    async def stop(self, flush_timeout: float = 5.0) -> None:
        """Send what can be sent within `flush_timeout` seconds, then close.

        Records still queued after that are dropped and counted as ``shutdown``.
        """
        task = self._task
        if task is None:
            return
        self._closing = True
        self.send_now()
        _, pending = await asyncio.wait({task}, timeout=flush_timeout)
        if pending:
            task.cancel()
            # wait() does not raise the task's CancelledError, but does raise ours
            # if whoever called stop() is cancelled meanwhile.
            await asyncio.wait(pending)
        self._task = None
        await self._disconnect()
        # what is still queued, and a batch whose send was cut short
        unsent = len(self._spool) + len(self._in_flight)
        if unsent:
            self._drop(DROP_SHUTDOWN, unsent)
        self._spool.clear()
        self._spool_bytes = 0
        self._in_flight = []
        self._release_flushes()

    def _release_flushes(self) -> None:
        """Let every `flush` waiting return: the spool is empty."""
        drained, self._drained = self._drained, []
        for waiter in drained:
            if not waiter.done():
                waiter.set_result(None)

    # -- the writer task --------------------------------------------------------

    def _set_state(self, state: ConnectionState) -> None:
        if state is self._state:
            return
        if state is ConnectionState.CONNECTED and self._last_error is not None:
            _LOGGER.info("Syslog %s is reachable again", self.target.describe())
        self._state = state
        if self._on_state_change is not None:
            try:
                self._on_state_change(state)
            except Exception:
                _LOGGER.exception("Error in syslog state listener")

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
        if self._enabled:
            self._set_state(ConnectionState.DISCONNECTED)

    async def _connect(self) -> _Connection:
        target = self.target
        async with asyncio.timeout(self._connect_timeout):
            if target.transport is Transport.UNIX:
                try:
                    return await _connect_datagram(socket.AF_UNIX, target.path)
                except OSError as err:
                    if err.errno != errno.EPROTOTYPE:
                        raise
                reader, writer = await asyncio.open_unix_connection(target.path)
                return _StreamConnection(reader, writer, _frame_nul)
            port = target.effective_port
            if target.transport is Transport.UDP:
                loop = asyncio.get_running_loop()
                infos = await loop.getaddrinfo(
                    target.host, port, type=socket.SOCK_DGRAM
                )
                family, _, proto, _, address = infos[0]
                return await _connect_datagram(family, address, proto)
            context: ssl.SSLContext | None = None
            if target.transport is Transport.TLS:
                if self._ssl_context is None:
                    loop = asyncio.get_running_loop()
                    self._ssl_context = await loop.run_in_executor(
                        None, create_ssl_context, target.ca_file
                    )
                context = self._ssl_context
            reader, writer = await asyncio.open_connection(
                target.host,
                port,
                ssl=context,
                server_hostname=target.host if context else None,
            )
            return _StreamConnection(reader, writer, frame_octet_counting)

    def _error(self, what: str, err: BaseException) -> None:
        text = f"{what}: {err}" if str(err) else f"{what}: {type(err).__name__}"
        if text != self._last_error:
            _LOGGER.warning("Syslog %s %s", self.target.describe(), text)
        self._last_error = text

    async def _backoff(self, delay: float) -> float:
        if self._closing:
            return delay  # stopping: one immediate reconnect attempt, no waiting
        await asyncio.sleep(random.uniform(delay / 2, delay))
        return min(delay * 2, self._backoff_max)

    async def _run(self) -> None:
        delay = self._backoff_initial
        spool = self._spool
        while True:
            if not spool:
                if self._drained:
                    self._release_flushes()
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if self._conn is None:
                self._set_state(ConnectionState.CONNECTING)
                try:
                    self._conn = await self._connect()
                except Exception as err:  # any failure: retry later
                    self._error("connect", err)
                    self._set_state(ConnectionState.DISCONNECTED)
                    if self._closing:
                        return  # stopping: do not wait for a receiver that is away
                    delay = await self._backoff(delay)
                    continue
                self._connects += 1
                if self._conn.proven_by_connect:
                    self._set_state(ConnectionState.CONNECTED)
            batch = self._in_flight = self._take_batch(self._conn.batch_records)
            try:
                oversize = await self._conn.send(batch)
            except _SendError as err:
                self._sent += err.sent
                self._requeue(batch[err.sent :])
                self._error("send", err.cause)
                await self._disconnect()
                delay = await self._backoff(delay)
                continue
            except Exception as err:  # unexpected: keep the records
                self._requeue(batch)
                self._error("send", err)
                await self._disconnect()
                delay = await self._backoff(delay)
                continue
            self._in_flight = []
            if oversize:
                self._drop(DROP_OVERSIZE, oversize)
            self._sent += len(batch) - oversize
            self._set_state(ConnectionState.CONNECTED)
            delay = self._backoff_initial
            if spool:
                await asyncio.sleep(0)  # let the loop breathe between batches

    def _take_batch(self, max_records: int) -> list[bytes]:
        spool = self._spool
        batch = [spool.popleft()]
        size = len(batch[0])
        while spool and len(batch) < max_records and size < _BATCH_BYTES:
            message = spool.popleft()
            batch.append(message)
            size += len(message)
        self._spool_bytes -= size
        return batch

    def _requeue(self, batch: list[bytes]) -> None:
        self._in_flight = []
        self._spool.extendleft(reversed(batch))
        self._spool_bytes += sum(map(len, batch))
        self._trim_spool()
