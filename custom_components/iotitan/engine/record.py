"""The MQTT record shared by syslog and the journal, and how its text is escaped.

A record is logged as one line of text. Its payload (and topic) are untrusted: a
newline or another control character must not start a second log record, and bytes
that are not UTF-8 must be kept, not dropped or replaced. `escape` turns arbitrary
bytes into a line-safe printable string and `unescape` gives back the exact bytes.

Escapes (the only sequences `escape` ever produces):

    \\\\        a backslash
    \\n \\r \\t    newline, carriage return, tab
    \\xHH       the raw byte 0xHH (lower-case hex), used for

                * the other C0 controls (0x00-0x1F) and DEL (0x7F);
                * every byte of a UTF-8 sequence that is not valid UTF-8;
                * the UTF-8 bytes of the C1 controls (U+0080-U+009F), of the
                  Unicode line and paragraph separators (U+2028, U+2029), which
                  some line splitters treat as line breaks, and of U+FEFF, which
                  a receiver could take for a byte order mark;
                * the characters in ``extra`` (for example ``"`` and ``]`` in an
                  RFC 5424 SD-PARAM value, or a space in a legacy topic field).

Everything else (printable ASCII and valid UTF-8 text) is written as is, so the
common sensor payload (``21.5``, ``{"t": 21.5}``) is logged unchanged.

`unescape` reverses those escapes; a backslash followed by anything else is kept
as it is (so a line written by someone else does not make it fail).

Large payloads are cut (`truncate_payload`, default 8 KiB) and `escape_payload`
then appends a marker ``\\[truncated N bytes]`` (N = original size) that the
escaper can never produce from payload bytes, so a parser can tell it apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import math
import re
from typing import Final

__all__ = [
    "DEFAULT_MAX_PAYLOAD",
    "MqttRecord",
    "escape",
    "escape_payload",
    "escape_text",
    "fast_record",
    "make_text_escaper",
    "split_truncation_marker",
    "to_micros",
    "to_millis",
    "truncate_payload",
    "truncation_marker",
    "unescape",
]

DEFAULT_MAX_PAYLOAD: Final = 8192
"""Payloads longer than this many bytes are truncated before they are logged."""


@dataclass(frozen=True, slots=True)
class MqttRecord:
    """One MQTT message as IoTitan saw it."""

    timestamp: float
    """When it was received, POSIX seconds (UTC)."""
    topic: str
    payload: bytes
    qos: int
    retain: bool


def to_micros(timestamp: float) -> int:
    """POSIX seconds to whole microseconds, as the log lines store them (since 1.4).

    Rounded to the nearest: a record is stamped ``n / 1e6`` (`n` its integer
    microseconds), and ``n / 1e6 * 1e6`` is within a quarter of a microsecond of
    `n` for any date before the year 2200, so this gives `n` back exactly.
    """
    return round(timestamp * 1_000_000)


def to_millis(timestamp: float) -> int:
    """POSIX seconds to whole milliseconds, as the log lines store them.

    Rounded down, except that a value within a microsecond below a millisecond
    counts as that millisecond: ``1.001 * 1000`` is ``1000.9999999999999`` in
    binary floating point, and must not be logged as ``.000``.
    """
    return math.floor(timestamp * 1000 + 1e-3)


_new_object: Final = object.__new__
_SETTERS: Final = tuple(
    getattr(MqttRecord, name).__set__
    for name in ("timestamp", "topic", "payload", "qos", "retain")
)


def fast_record(
    timestamp: float, topic: str, payload: bytes, qos: int, retain: bool
) -> MqttRecord:
    """Build an `MqttRecord` about twice as fast as its (frozen) ``__init__``.

    A frozen dataclass sets each field through ``object.__setattr__``; the journal
    replay builds a million records, so it sets the slots directly instead.
    """
    record = _new_object(MqttRecord)
    set_timestamp, set_topic, set_payload, set_qos, set_retain = _SETTERS
    set_timestamp(record, timestamp)
    set_topic(record, topic)
    set_payload(record, payload)
    set_qos(record, qos)
    set_retain(record, retain)
    return record


def _hex_bytes(data: bytes) -> str:
    return "".join(f"\\x{byte:02x}" for byte in data)


def _build_table(extra: str) -> dict[int, str]:
    """Map each code point that must be escaped to its escape sequence."""
    table: dict[int, str] = {}
    for code in [*range(0x20), 0x7F]:
        table[code] = f"\\x{code:02x}"
    for code in [*range(0x80, 0xA0), 0x2028, 0x2029, 0xFEFF]:
        table[code] = _hex_bytes(chr(code).encode())
    for code in range(0xD800, 0xE000):
        if 0xDC80 <= code <= 0xDCFF:
            # surrogateescape: an undecodable byte 0xHH was mapped to U+DCHH
            table[code] = f"\\x{code - 0xDC00:02x}"
        else:
            # a lone surrogate in a str: log the bytes Python would store for it
            table[code] = _hex_bytes(chr(code).encode("utf-8", "surrogatepass"))
    table.update({0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"})
    for char in extra:
        if ord(char) not in table:
            table[ord(char)] = _hex_bytes(char.encode())
    return table


_BASE_CLASS: Final = "\\x00-\\x1f\\\\\\x7f-\\x9f\\u2028\\u2029\\ufeff\\ud800-\\udfff"


def make_text_escaper(extra: str = "") -> Callable[[str], str]:
    """Return an escaper for `str` that also escapes the characters in `extra`."""
    table = _build_table(extra)
    needs_escape = re.compile(f"[{_BASE_CLASS}{re.escape(extra)}]").search

    def escape_str(text: str) -> str:
        if needs_escape(text) is None:
            return text
        return text.translate(table)

    return escape_str


_TABLE: Final = _build_table("")
_needs_escape: Final = re.compile(f"[{_BASE_CLASS}]").search


def escape_text(text: str) -> str:
    """Escape a `str` (a topic, say) so it is one printable line; see the module doc."""
    if _needs_escape(text) is None:
        return text
    return text.translate(_TABLE)


def escape(data: bytes) -> str:
    """Escape arbitrary bytes into one printable line; `unescape` reverses it."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return escape_text(data.decode("utf-8", "surrogateescape"))
    if _needs_escape(text) is None:  # the common case, checked inline: hot path
        return text
    return text.translate(_TABLE)


_SIMPLE_UNESCAPES: Final[dict[bytes, bytes]] = {
    b"\\\\": b"\\",
    b"\\n": b"\n",
    b"\\r": b"\r",
    b"\\t": b"\t",
}
_UNESCAPE_RE: Final = re.compile(rb"\\(?:x[0-9a-fA-F]{2}|[\\nrt])")


def _unescape_match(match: re.Match[bytes]) -> bytes:
    sequence = match.group()
    simple = _SIMPLE_UNESCAPES.get(sequence)
    if simple is not None:
        return simple
    return bytes((int(sequence[2:], 16),))


def unescape(text: str | bytes) -> bytes:
    """Reverse `escape`: return the original bytes.

    Accepts the escaped text as `str` or as its UTF-8 bytes (the journal reader
    passes bytes straight from the file). Unknown escapes are kept as they are.
    """
    data = (
        text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    )
    # 0x5C is a backslash. An int is looked up with memchr; a bytes needle
    # (b"\\") is first tried as an int, which costs a TypeError: ten times slower.
    if 0x5C not in data:
        return data
    return _UNESCAPE_RE.sub(_unescape_match, data)


def truncate_payload(payload: bytes, max_bytes: int) -> tuple[bytes, bool]:
    """Cut `payload` to at most `max_bytes` bytes; return it and whether it was cut.

    The cut is moved back (by at most 3 bytes) so that it does not split a UTF-8
    sequence in two.
    """
    if len(payload) <= max_bytes:
        return payload, False
    cut = max(max_bytes, 0)
    # 0b10xxxxxx is a continuation byte: the character started before the cut.
    while cut > 0 and cut > max_bytes - 3 and payload[cut] & 0xC0 == 0x80:
        cut -= 1
    if cut > 0 and payload[cut] & 0xC0 == 0x80:
        cut = max(max_bytes, 0)  # not UTF-8 anyway: cut exactly at the limit
    return payload[:cut], True


def truncation_marker(size: int) -> str:
    """The marker that ends a cut payload: ``\\[truncated N bytes]``, N = original size."""
    return f"\\[truncated {size} bytes]"


_marker: Final = truncation_marker


_MARKER_RE: Final = re.compile(r"(\\+)\[truncated (\d+) bytes\]\Z")


def escape_payload(payload: bytes, max_bytes: int) -> tuple[str, bool]:
    """Escape a payload, truncated to `max_bytes` with a marker; also say if cut."""
    if len(payload) <= max_bytes:
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            return escape_text(payload.decode("utf-8", "surrogateescape")), False
        if _needs_escape(text) is None:  # the common case, checked inline: hot path
            return text, False
        return text.translate(_TABLE), False
    kept, _ = truncate_payload(payload, max_bytes)
    return escape(kept) + _marker(len(payload)), True


def split_truncation_marker(text: str) -> tuple[str, int | None]:
    """Split escaped payload text into (text without marker, original size or None).

    The marker is recognised only where `escape_payload` put it: at the end, with
    an odd run of backslashes before ``[`` (an even run is escaped backslashes
    followed by literal payload text).
    """
    if not text.endswith(" bytes]"):
        return text, None
    match = _MARKER_RE.search(text)
    if match is None or len(match.group(1)) % 2 == 0:
        return text, None
    return text[: match.start() + len(match.group(1)) - 1], int(match.group(2))
