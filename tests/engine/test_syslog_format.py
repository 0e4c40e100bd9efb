"""Syslog formatting, framing and payload escaping, checked against the RFCs.

The RFC 5424 grammar below is transcribed from RFC 5424 section 6 (ABNF), not
derived from the formatter, so a formatter bug cannot pass by agreeing with itself.
"""

from __future__ import annotations

import datetime
import os
import re
import time
from typing import TypedDict
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings, strategies as st
import pytest

from custom_components.iotitan.engine.record import (
    DEFAULT_MAX_PAYLOAD,
    MqttRecord,
    escape,
    escape_payload,
    escape_text,
    fast_record,
    make_text_escaper,
    split_truncation_marker,
    truncate_payload,
    unescape,
)
from custom_components.iotitan.engine.syslog import (
    SD_ID,
    Facility,
    RecordTooLarge,
    Severity,
    SyslogFormatter,
    SyslogTarget,
    Transport,
    frame_octet_counting,
)

# -- RFC 5424 section 6, as regular expressions ---------------------------------

PRINTUSASCII = rb"[\x21-\x7e]"
NILVALUE = rb"-"
# SD-NAME = 1*32PRINTUSASCII except '=', SP, ']', %d34
SD_NAME = rb"[\x21\x23-\x3c\x3e-\x5c\x5e-\x7e]{1,32}"
# PARAM-VALUE: UTF-8 where '"', '\' and ']' MUST be escaped (with a backslash)
PARAM_VALUE = rb'(?:[^"\\\]]|\\["\\\]])*'
SD_PARAM = SD_NAME + rb'="' + PARAM_VALUE + rb'"'
SD_ELEMENT = rb"\[" + SD_NAME + rb"(?: " + SD_PARAM + rb")*\]"
TIMESTAMP = rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})"
RFC5424_RE = re.compile(
    rb"<(?P<prival>\d{1,3})>(?P<version>[1-9]\d{0,2}) "
    rb"(?P<timestamp>" + NILVALUE + rb"|" + TIMESTAMP + rb") "
    rb"(?P<hostname>" + NILVALUE + rb"|" + PRINTUSASCII + rb"{1,255}) "
    rb"(?P<app>" + NILVALUE + rb"|" + PRINTUSASCII + rb"{1,48}) "
    rb"(?P<procid>" + NILVALUE + rb"|" + PRINTUSASCII + rb"{1,128}) "
    rb"(?P<msgid>" + NILVALUE + rb"|" + PRINTUSASCII + rb"{1,32}) "
    rb"(?P<sd>" + NILVALUE + rb"|(?:" + SD_ELEMENT + rb")+)"
    rb"(?: (?P<msg>.*))?\Z",
    re.DOTALL,
)
SD_ELEMENT_RE = re.compile(rb"\[(" + SD_NAME + rb")((?: " + SD_PARAM + rb")*)\]")
SD_PARAM_RE = re.compile(rb" (" + SD_NAME + rb')="(' + PARAM_VALUE + rb')"')
BOM = b"\xef\xbb\xbf"

# RFC 3164 section 4.1 (the shape the old scripts' lines have)
RFC3164_RE = re.compile(
    rb"<(?P<prival>\d{1,3})>"
    rb"(?P<month>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    rb"(?P<day>[ 1-3]\d) (?P<time>\d\d:\d\d:\d\d) "
    rb"(?P<hostname>[\x21-\x7e]+) (?P<tag>[A-Za-z0-9_./-]{1,32})"
    rb"(?:\[(?P<pid>[\x21-\x7e]+)\])?: (?P<content>.*)\Z",
    re.DOTALL,
)


def sd_unescape(value: bytes) -> bytes:
    """RFC 5424 6.3.3: a backslash before '"', '\\' or ']' is removed."""
    return re.sub(rb'\\(["\\\]])', rb"\1", value)


class Parsed(TypedDict):
    """The parts of an RFC 5424 message, as the test-side parser reads them."""

    pri: int
    timestamp: str
    hostname: str
    app: str
    procid: str
    msgid: str
    sd: dict[str, dict[str, bytes]]
    msg: bytes | None


def parse_rfc5424(line: bytes) -> Parsed:
    """Check `line` against the grammar and return its parts (test-side parser)."""
    match = RFC5424_RE.match(line)
    assert match is not None, f"not RFC 5424: {line[:300]!r}"
    assert int(match["prival"]) <= 191
    line.decode("utf-8")  # the whole message is valid UTF-8 (MSG-UTF8 or ASCII)
    for byte in line:
        assert byte >= 0x20 and byte != 0x7F, f"control byte {byte:#x} in {line!r}"
    assert not re.search("[\x80-\x9f\u2028\u2029]", line.decode())
    stamp = match["timestamp"].decode()
    if stamp != "-":
        datetime.datetime.fromisoformat(stamp)  # a real date and time
    elements = {}
    if match["sd"] != b"-":
        for element in SD_ELEMENT_RE.finditer(match["sd"]):
            params = {
                name.decode(): sd_unescape(value)
                for name, value in SD_PARAM_RE.findall(element[2])
            }
            elements[element[1].decode()] = params
    msg = match["msg"]
    return {
        "pri": int(match["prival"]),
        "timestamp": stamp,
        "hostname": match["hostname"].decode(),
        "app": match["app"].decode(),
        "procid": match["procid"].decode(),
        "msgid": match["msgid"].decode(),
        "sd": elements,
        "msg": msg,
    }


def decoded_record(line: bytes) -> tuple[str, bytes, str, str]:
    """(topic, payload, qos, retain) recovered from a line by the test's parser."""
    parts = parse_rfc5424(line)
    params = parts["sd"][SD_ID]
    topic = unescape(params["topic"]).decode("utf-8", "surrogateescape")
    msg = parts["msg"] or b""
    assert isinstance(msg, bytes)
    if msg.startswith(BOM):
        msg = msg[3:]
    return topic, unescape(msg), params["qos"].decode(), params["retain"].decode()


HOSTILE_PAYLOADS = [
    b"21.5",
    b"",
    b"line one\nline two",
    b"carriage\rreturn",
    b"\r\n<134>1 2026-01-01T00:00:00Z forged - - - - injected",
    b"]",
    b'"quoted"',
    b"back\\slash \\n not a newline",
    b"nul\x00byte",
    b"\xff\xfe invalid utf-8 \xc3\x28 \xed\xa0\x80",
    b"\x7f\x1b[31mansi\x1b[0m",
    "C1 \u0085 NEL, \u2028 LS, \u2029 PS, \ufeff BOM".encode(),
    "unicode ✓ 温度 🌡".encode(),
    b"\\[truncated 5 bytes]",
    b"\t tab",
]

RECORD = MqttRecord(
    # 2026-11-26T22:39:49.123Z: 1795646389 s since the epoch (20,783 days * 86,400 + 81,589 s)
    timestamp=1_795_732_789.123,
    topic="weather/outside/temp",
    payload=b"21.5",
    qos=1,
    retain=False,
)


def formatter(**kwargs: object) -> SyslogFormatter:
    return SyslogFormatter(hostname="pi", procid=4242, **kwargs)  # type: ignore[arg-type]


# -- RFC 5424 lines ------------------------------------------------------------


def test_rfc5424_line_written_out() -> None:
    line, truncated = formatter().format(RECORD)
    assert line == (
        b"<134>1 2026-11-26T22:39:49.123000Z pi iotitan 4242 mqtt "
        b'[mqtt@32473 topic="weather/outside/temp" qos="1" retain="0"] 21.5'
    )
    assert not truncated
    assert parse_rfc5424(line)["pri"] == 16 * 8 + 6


def test_timestamp_is_utc_with_microseconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RFC 5424 allows six fractional digits; the nearest microsecond is written."""
    monkeypatch.setenv("TZ", "Australia/Adelaide")
    time.tzset()
    try:
        fmt = formatter()
        for when, expected in [
            (0.0, "1970-01-01T00:00:00.000000Z"),
            (0.9999, "1970-01-01T00:00:00.999900Z"),
            (1_795_732_789.5, "2026-11-26T22:39:49.500000Z"),
            (1_795_732_789.0004, "2026-11-26T22:39:49.000400Z"),
            (1_795_732_789.123457, "2026-11-26T22:39:49.123457Z"),
            (951_825_600.25, "2000-02-29T12:00:00.250000Z"),
            # 1.001 * 1e6 is 1000999.9999999999 in binary: still .001000
            (1.001, "1970-01-01T00:00:01.001000Z"),
            (1.005, "1970-01-01T00:00:01.005000Z"),
            # less than half a microsecond before a second: that second
            (0.9999998, "1970-01-01T00:00:01.000000Z"),
            # a microsecond timestamp as record_now makes it: its digits
            (1_795_732_789_123_457 / 1_000_000, "2026-11-26T22:39:49.123457Z"),
        ]:
            line, _ = fmt.format(MqttRecord(when, "t", b"1", 0, False))
            assert parse_rfc5424(line)["timestamp"] == expected
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_same_second_and_topic_reuse_caches_correctly() -> None:
    fmt = formatter()
    lines = [
        fmt.format(MqttRecord(100.0 + i * 0.3, f"t/{i % 2}", b"x", 0, i % 2 == 1))[0]
        for i in range(8)
    ]
    stamps = [parse_rfc5424(line)["timestamp"] for line in lines]
    assert stamps == [
        "1970-01-01T00:01:40.000000Z",
        "1970-01-01T00:01:40.300000Z",
        "1970-01-01T00:01:40.600000Z",
        "1970-01-01T00:01:40.900000Z",
        "1970-01-01T00:01:41.200000Z",
        "1970-01-01T00:01:41.500000Z",
        "1970-01-01T00:01:41.800000Z",
        "1970-01-01T00:01:42.100000Z",
    ]
    assert [decoded_record(line)[0] for line in lines] == ["t/0", "t/1"] * 4
    assert [decoded_record(line)[3] for line in lines] == ["0", "1"] * 4


def test_topic_cache_keeps_no_long_topics() -> None:
    """The escaped-topic cache is bounded in bytes, not only in topics.

    The soak of broker junk sent 20,000 topics of 1-4 KiB: the cache pinned
    4,096 of them (about 10 MiB per formatter); with MQTT's 65,535-byte topics
    it could pin hundreds of MiB.
    """
    fmt = formatter()
    long_topics = [f"junk/{i}/" + "x]" * 2048 for i in range(50)]
    for i, topic in enumerate(long_topics):
        line, _ = fmt.format(MqttRecord(100.0 + i, topic, b"1", 0, False))
        assert decoded_record(line)[0] == topic
    assert not fmt._topics  # none of them kept
    for i in range(5000):
        fmt.format(MqttRecord(200.0 + i, f"t/{i}", b"1", 0, False))
    assert 0 < len(fmt._topics) <= 4096  # short topics are cached, 4,096 at most
    # a cached topic is still written right
    line, _ = fmt.format(MqttRecord(9000.0, "t/4999", b"1", 0, False))
    assert decoded_record(line)[0] == "t/4999"


@pytest.mark.parametrize("payload", HOSTILE_PAYLOADS)
def test_hostile_payload_stays_one_valid_line(payload: bytes) -> None:
    line, truncated = formatter().format(
        MqttRecord(RECORD.timestamp, RECORD.topic, payload, 0, True)
    )
    assert b"\n" not in line
    assert b"\r" not in line
    assert b"\x00" not in line
    topic, recovered, qos, retain = decoded_record(line)
    assert (topic, recovered, qos, retain) == (RECORD.topic, payload, "0", "1")
    assert not truncated


def test_empty_payload_has_no_msg() -> None:
    line, _ = formatter().format(MqttRecord(0.0, "t", b"", 0, False))
    assert line.endswith(b'retain="0"]')
    assert parse_rfc5424(line)["msg"] is None


@pytest.mark.parametrize(
    "topic",
    [
        "温度/湿度/🌡",
        'quote"/bracket]/backslash\\',
        "new\nline/and\ttab",
        "space in topic/x",
        "\x00nul",
        "C1\u0085",
        '[mqtt@32473 topic="forged"]',
        "lone surrogate \udcff",
    ],
)
def test_hostile_topic_round_trips(topic: str) -> None:
    line, _ = formatter().format(MqttRecord(1.0, topic, b"1", 2, False))
    assert line.count(b"[") - line.count(b"\\[") >= 1
    recovered, payload, qos, _ = decoded_record(line)
    assert recovered == topic
    assert (payload, qos) == (b"1", "2")
    # exactly one SD element: nothing in the topic could close it or start another
    assert list(parse_rfc5424(line)["sd"]) == [SD_ID]


def test_sd_id_is_private_enterprise_form() -> None:
    assert re.fullmatch(r"[^@=\]\" ]+@\d+", SD_ID)
    assert SD_ID == "mqtt@32473"  # RFC 5612's documentation enterprise number


def test_one_mebibyte_payload_is_truncated_with_marker() -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB of every byte value
    line, truncated = formatter().format(MqttRecord(1.0, "big", payload, 0, False))
    assert truncated
    msg = parse_rfc5424(line)["msg"]
    assert isinstance(msg, bytes)
    assert msg.endswith(b"\\[truncated 1048576 bytes]")
    kept, original = split_truncation_marker(msg.decode())
    assert original == 1_048_576
    assert unescape(kept) == payload[:DEFAULT_MAX_PAYLOAD]
    # escaping can at most quadruple a byte (\xHH), so the line stays bounded
    assert len(line) < 4 * DEFAULT_MAX_PAYLOAD + 200


def test_max_payload_is_configurable() -> None:
    line, truncated = formatter(max_payload=4).format(
        MqttRecord(1.0, "t", b"123456", 0, False)
    )
    assert truncated
    assert line.endswith(b"] 1234\\[truncated 6 bytes]")
    line, truncated = formatter(max_payload=6).format(
        MqttRecord(1.0, "t", b"123456", 0, False)
    )
    assert not truncated
    assert line.endswith(b"] 123456")


def test_header_field_limits_and_printusascii() -> None:
    fmt = SyslogFormatter(
        hostname="h" * 300,
        app_name="a" * 60,
        procid="p" * 200,
        msgid="m" * 40,
    )
    parts = parse_rfc5424(fmt.format(RECORD)[0])
    assert parts["hostname"] == "h" * 255
    assert parts["app"] == "a" * 48
    assert parts["procid"] == "p" * 128
    assert parts["msgid"] == "m" * 32

    fmt = SyslogFormatter(hostname="héllo wörld", app_name="my app", procid="1 2")
    parts = parse_rfc5424(fmt.format(RECORD)[0])
    assert parts["hostname"] == "h_llo_w_rld"
    assert parts["app"] == "my_app"
    assert parts["procid"] == "1_2"


def test_nil_values() -> None:
    fmt = SyslogFormatter(hostname="", app_name="", procid="", msgid=None)
    parts = parse_rfc5424(fmt.format(RECORD)[0])
    assert (parts["hostname"], parts["app"], parts["procid"], parts["msgid"]) == (
        "-",
        "-",
        "-",
        "-",
    )


def test_defaults_are_this_host_and_process() -> None:
    parts = parse_rfc5424(SyslogFormatter().format(RECORD)[0])
    assert parts["procid"] == str(os.getpid())
    assert parts["hostname"] not in ("", "-")


@pytest.mark.parametrize(
    ("facility", "severity", "pri"),
    [
        (Facility.LOCAL0, Severity.INFO, 134),
        (Facility.USER, Severity.INFO, 14),
        (Facility.KERN, Severity.EMERG, 0),
        (Facility.LOCAL7, Severity.DEBUG, 191),
    ],
)
def test_pri(facility: Facility, severity: Severity, pri: int) -> None:
    line, _ = formatter(facility=facility, severity=severity).format(RECORD)
    assert parse_rfc5424(line)["pri"] == pri


@pytest.mark.parametrize(
    "kwargs", [{"facility": 24}, {"severity": 8}, {"max_payload": -1}]
)
def test_bad_settings_rejected(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        formatter(**kwargs)


def test_bom_option() -> None:
    line, _ = formatter(bom=True).format(RECORD)
    msg = parse_rfc5424(line)["msg"]
    assert msg == BOM + b"21.5"
    assert decoded_record(line)[1] == b"21.5"


# -- RFC 3164 (legacy) lines ---------------------------------------------------


def test_legacy_line_shape() -> None:
    fmt = formatter(rfc3164=True, tz=datetime.UTC)
    record = MqttRecord(1_794_089_389.9, "weather/outside/temp", b"21.5", 0, False)
    line, truncated = fmt.format(record)  # 2026-11-07T22:09:49.9Z
    assert (
        line == b"<134>Nov  7 22:09:49 pi mqtt_logger[4242]: weather/outside/temp 21.5"
    )
    assert not truncated
    assert RFC3164_RE.match(line)


def test_legacy_line_uses_given_zone_and_escapes() -> None:
    fmt = formatter(
        rfc3164=True, tz=ZoneInfo("Australia/Adelaide"), app_name="my logger"
    )
    record = MqttRecord(1_795_732_789.0, "a topic/x", b"1\n2", 0, False)
    line, _ = fmt.format(record)
    match = RFC3164_RE.match(line)
    assert match, line
    # 22:39:49 UTC is 09:09:49 the next day in Adelaide (UTC+10:30 in summer)
    assert (match["month"], match["day"], match["time"]) == (b"Nov", b"27", b"09:09:49")
    assert match["tag"] == b"my_logger"
    topic, _, payload = match["content"].partition(b" ")
    assert unescape(topic).decode() == "a topic/x"
    assert unescape(payload) == b"1\n2"


def test_legacy_line_local_time_and_no_pid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        line, _ = formatter(rfc3164=True).format(RECORD)
        assert line.startswith(b"<134>Nov 26 22:39:49 pi mqtt_logger[4242]: ")
        line, _ = SyslogFormatter(hostname="pi", procid="", rfc3164=True).format(RECORD)
        assert line.startswith(b"<134>Nov 26 22:39:49 pi mqtt_logger: weather")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


@pytest.mark.parametrize("payload", HOSTILE_PAYLOADS)
def test_legacy_hostile_payload(payload: bytes) -> None:
    line, _ = formatter(rfc3164=True).format(MqttRecord(1.0, "t t", payload, 0, False))
    assert b"\n" not in line
    assert b"\r" not in line
    match = RFC3164_RE.match(line)
    assert match, line
    topic, _, rest = match["content"].partition(b" ")
    assert unescape(topic) == b"t t"
    assert unescape(rest) == payload


# -- framing ---------------------------------------------------------------------


def deframe_octet_counting(stream: bytes) -> list[bytes]:
    """RFC 6587 3.4.1: MSG-LEN SP SYSLOG-MSG, repeated (test-side reader)."""
    messages = []
    while stream:
        length, space, rest = stream.partition(b" ")
        assert space and length.isdigit() and not length.startswith(b"0"), stream[:40]
        size = int(length)
        assert len(rest) >= size
        messages.append(rest[:size])
        stream = rest[size:]
    return messages


def test_octet_counting() -> None:
    assert frame_octet_counting(b"abc") == b"3 abc"
    assert frame_octet_counting("é".encode()) == b"2 \xc3\xa9"
    fmt = formatter()
    lines = [
        fmt.format(MqttRecord(1.0, "t", payload, 0, False))[0]
        for payload in HOSTILE_PAYLOADS
    ]
    stream = b"".join(frame_octet_counting(line) for line in lines)
    assert deframe_octet_counting(stream) == lines


# -- targets ---------------------------------------------------------------------


def test_target_ports_and_description() -> None:
    assert SyslogTarget(Transport.UDP).effective_port == 514
    assert SyslogTarget(Transport.TCP).effective_port == 514
    assert SyslogTarget(Transport.TLS).effective_port == 6514
    assert SyslogTarget(Transport.TLS, port=10514).effective_port == 10514
    assert SyslogTarget(Transport("tcp"), "logs.lan").describe() == "tcp://logs.lan:514"
    assert SyslogTarget(Transport.UNIX).describe() == "unix:/dev/log"
    assert SyslogTarget(Transport.NONE).describe() == "none"


# -- escaping ----------------------------------------------------------------------

FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")


@settings(max_examples=500)
@given(st.binary(max_size=300))
@example(b"\\")
@example(b"\\x41")
@example(b"\xc2\x85\xe2\x80\xa8\xef\xbb\xbf")
@example(b"\\[truncated 3 bytes]")
def test_escape_round_trip(data: bytes) -> None:
    text = escape(data)
    assert FORBIDDEN.search(text) is None
    text.encode("utf-8")  # always encodable: no lone surrogates
    assert unescape(text) == data
    assert unescape(text.encode()) == data
    # the escaper never produces the truncation marker from payload bytes
    assert split_truncation_marker(text) == (text, None)


@given(st.binary(max_size=200))
def test_escape_text_round_trip_for_decoded_bytes(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")
    escaped = escape_text(text)
    assert FORBIDDEN.search(escaped) is None
    assert unescape(escaped).decode("utf-8", "surrogateescape") == text


@given(st.text(max_size=100))
def test_extra_characters_are_escaped(text: str) -> None:
    escaper = make_text_escaper('"] ')
    escaped = escaper(text)
    assert not {'"', "]", " "} & set(escaped)
    assert unescape(escaped).decode("utf-8", "surrogatepass") == text


@given(st.binary(max_size=64), st.integers(min_value=0, max_value=70))
def test_truncation(data: bytes, limit: int) -> None:
    text, truncated = escape_payload(data, limit)
    kept, original = split_truncation_marker(text)
    assert truncated == (len(data) > limit)
    if truncated:
        assert original == len(data)
        prefix = unescape(kept)
        assert data.startswith(prefix)
        assert limit - 3 <= len(prefix) <= limit
    else:
        assert original is None
        assert unescape(kept) == data


def test_truncation_does_not_split_utf8() -> None:
    euro = "€".encode()  # 3 bytes
    assert truncate_payload(euro * 4, 7) == (euro * 2, True)
    assert truncate_payload(euro * 4, 6) == (euro * 2, True)
    assert truncate_payload(euro * 4, 12) == (euro * 4, False)
    # not UTF-8: cut exactly at the limit
    assert truncate_payload(b"\x80" * 10, 5) == (b"\x80" * 5, True)
    assert truncate_payload(b"abc", 0) == (b"", True)


def test_unescape_is_lenient_with_foreign_text() -> None:
    assert unescape("a\\qb") == b"a\\qb"
    assert unescape("end\\") == b"end\\"
    assert unescape("\\xFF\\xfF") == b"\xff\xff"
    assert unescape("\\x4") == b"\\x4"
    assert unescape("plain") == b"plain"


def test_escape_of_common_payloads_is_identity() -> None:
    for payload in (b"21.5", b'{"temperature": 21.5, "unit": "\xc2\xb0C"}', b"ON"):
        assert escape(payload) == payload.decode()


def test_split_marker_ignores_escaped_backslashes() -> None:
    assert split_truncation_marker("abc\\[truncated 9 bytes]") == ("abc", 9)
    assert split_truncation_marker("abc\\\\\\[truncated 9 bytes]") == ("abc\\\\", 9)
    assert split_truncation_marker("abc\\\\[truncated 9 bytes]")[1] is None
    assert split_truncation_marker("abc [truncated 9 bytes]")[1] is None


def test_fast_record_equals_record() -> None:
    record = fast_record(1.5, "t", b"p", 1, True)
    assert record == MqttRecord(1.5, "t", b"p", 1, True)
    assert type(record) is MqttRecord
    with pytest.raises(AttributeError):
        record.topic = "x"  # type: ignore[misc]


def test_many_topics_and_repeated_records() -> None:
    fmt = formatter()
    for index in range(5000):
        line, _ = fmt.format(MqttRecord(1.0, f"t/{index}", b"1", 0, False))
        assert decoded_record(line)[0] == f"t/{index}"
    record = MqttRecord(2.0, "same", b"x", 0, False)
    first = fmt.format(record)
    assert fmt.format(record) is first  # shared by syslog and journal: once
    assert fmt.format(MqttRecord(2.0, "same", b"x", 0, False)) == first


@settings(max_examples=300, deadline=None)
@given(
    topic=st.text(min_size=1, max_size=40),
    payload=st.binary(max_size=300) | st.text(max_size=300).map(str.encode),
    max_payload=st.integers(0, 320),
    max_record=st.none() | st.integers(120, 600),
    app_name=st.sampled_from(["iotitan", "other"]),
    rfc3164=st.booleans(),
)
def test_a_formatter_sharing_the_journals_bytes_writes_what_it_would_alone(
    topic: str,
    payload: bytes,
    max_payload: int,
    max_record: int | None,
    app_name: str,
    rfc3164: bool,
) -> None:
    """Syslog takes the journal's line for a record only when it is exactly the
    line it would have written itself (same fields, nothing cut by either)."""
    journal = formatter(max_payload=256)
    alone = formatter(
        max_payload=max_payload,
        max_record=max_record,
        app_name=app_name,
        rfc3164=rfc3164,
    )
    sharing = formatter(
        max_payload=max_payload,
        max_record=max_record,
        app_name=app_name,
        rfc3164=rfc3164,
    )
    assert sharing.share_from(journal) == (not rfc3164 and app_name == "iotitan")
    record = MqttRecord(1_700_000_000.25, topic, payload, 1, False)
    journal.format(record)
    assert outcome(sharing, record) == outcome(alone, record)


def outcome(formatter: SyslogFormatter, record: MqttRecord) -> object:
    """What formatting gives: the bytes and cut flags, or the error."""
    try:
        return formatter.format(record)
    except RecordTooLarge as err:
        return str(err)


def test_a_whole_record_is_formatted_once_for_journal_and_syslog() -> None:
    """The bytes are the journal's own object: no second formatting."""
    journal = formatter()
    syslog = formatter(max_record=2048)
    assert syslog.share_from(journal)
    record = MqttRecord(1_700_000_000.5, "home/t", b"21.5", 0, False)
    line, _ = journal.format(record)
    assert syslog.format(record)[0] is line
    long = MqttRecord(1_700_000_000.5, "home/t", b"x" * 4000, 0, False)
    journal_line, _ = journal.format(long)
    syslog_line, cut = syslog.format(long)
    assert cut and len(syslog_line) <= 2048 < len(journal_line)
