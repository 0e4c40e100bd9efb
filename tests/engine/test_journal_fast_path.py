"""The journal replay's fast path against the generic RFC 5424 parser.

`read_since` reads lines of our own format with one regular expression per
chunk of lines and assembles the records itself; every other line goes to the
generic parser (`_parse_generic_5424`). Whatever the fast path accepts must give
exactly what the generic parser gives for the same line, and a whole replay must
equal parsing every line generically: checked here on generated records (odd
topics, payloads with every byte, truncated payloads, both stamp precisions,
BOM or not) and on randomly damaged lines and files.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import operator
from pathlib import Path
import tempfile
from unittest import mock

from hypothesis import HealthCheck, given, settings, strategies as st

from custom_components.iotitan.engine import journal as journal_module
from custom_components.iotitan.engine.journal import ACTIVE_FILE, read_since
from custom_components.iotitan.engine.record import MqttRecord
from custom_components.iotitan.engine.syslog import SyslogFormatter

from .test_syslog_format import HOSTILE_PAYLOADS

generic = journal_module._parse_generic_5424  # the reference parser
EVERYTHING = -(2**63)  # `since` in microseconds before any record

# Up to the year 2200 (`to_micros` is exact there), stamped as record_now does.
timestamps = st.integers(0, 7_258_118_399_999_999).map(lambda n: n / 1_000_000)
SPECIAL_BYTES = [
    b"\x00",
    b"\n",
    b"\r",
    b"\t",
    b"]",
    b'"',
    b"\\",
    b" ",
    b"=",
    b"[",
    b"\xff",
    b"\xc3",
    b"\xef\xbb\xbf",  # a BOM
    "é".encode(),
    "\u2028".encode(),
    b"\\x41",
    b"\\n",
    b" bytes]",
    b"\\[truncated 5 bytes]",
    b'"] ',
    b"1",
]
payloads = st.one_of(
    st.binary(max_size=40),
    st.sampled_from(HOSTILE_PAYLOADS),
    st.lists(st.sampled_from(SPECIAL_BYTES), max_size=12).map(b"".join),
)
topics = st.text(
    st.one_of(
        st.characters(),
        st.characters(categories=["Cs"]),  # lone surrogates
        st.sampled_from('"]\\\n\x00 =[\u2028\ufeff/#+'),
    ),
    max_size=24,
)
records = st.builds(
    MqttRecord,
    timestamp=timestamps,
    topic=topics,
    payload=payloads,
    qos=st.integers(0, 2),
    retain=st.booleans(),
)
header_text = st.one_of(st.none(), st.text(max_size=6))
formatters = st.builds(
    SyslogFormatter,
    hostname=header_text,
    app_name=header_text,
    procid=header_text,
    msgid=header_text,
    facility=st.integers(0, 23),
    severity=st.integers(0, 7),
    max_payload=st.sampled_from([4, 16, 8192]),
    bom=st.booleans(),
)


def millisecond_stamp(line: bytes) -> bytes:
    """The line as a journal written before 1.4 has it: stamped to the millisecond."""
    fraction_end = line.index(b"Z ")
    return line[: fraction_end - 3] + line[fraction_end:]


def fast_path(data: bytes) -> list[MqttRecord] | None:
    """What the fast path alone makes of whole lines: records, or None if it declines."""
    out: list[MqttRecord] = []
    parser = journal_module._Parser()
    if not parser._parse_chunk(data, 0, len(data), EVERYTHING, out):
        assert out == []  # a declined chunk leaves nothing behind
        return None
    return out


def reference_replay(data: bytes) -> tuple[list[MqttRecord], int]:
    """Every line through the generic parser: the records in time order, skipped."""
    found: list[MqttRecord] = []
    skipped = 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        record = generic(line)
        if isinstance(record, str):
            skipped += 1
        else:
            found.append(record)
    found.sort(key=operator.attrgetter("timestamp"))
    return found, skipped


@contextlib.contextmanager
def journal_of(data: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="iotitan-fast-path-") as folder:
        (Path(folder) / ACTIVE_FILE).write_bytes(data)
        yield Path(folder)


@st.composite
def damaged(draw: st.DrawFn, line: bytes) -> bytes:
    """`line` with a few random edits: bytes changed, cut out, put in; cut short."""
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(line)))
        edit = draw(st.sampled_from(["replace", "delete", "insert", "cut"]))
        if edit == "replace" and at < len(line):
            byte = draw(
                st.one_of(
                    st.sampled_from(SPECIAL_BYTES), st.binary(min_size=1, max_size=1)
                )
            )
            line = line[:at] + byte + line[at + 1 :]
        elif edit == "delete":
            line = line[:at] + line[at + draw(st.integers(1, 8)) :]
        elif edit == "insert":
            line = line[:at] + draw(st.sampled_from(SPECIAL_BYTES)) + line[at:]
        else:
            line = line[:at]
    return line


@settings(max_examples=400, deadline=None)
@given(formatters, records, st.booleans())
def test_fast_path_gives_what_the_generic_parser_gives(
    formatter: SyslogFormatter, record: MqttRecord, milliseconds: bool
) -> None:
    """Every line our formatter writes takes the fast path, and agrees exactly."""
    line, _ = formatter.format(record)
    if milliseconds:
        line = millisecond_stamp(line)
    expected = generic(line)
    assert isinstance(expected, MqttRecord)
    assert fast_path(line + b"\n") == [expected]
    # ...byte for byte, and of the same types
    (found,) = fast_path(line + b"\n") or []
    assert (type(found.timestamp), type(found.qos), type(found.retain)) == (
        float,
        int,
        bool,
    )
    assert found.payload == expected.payload and found.topic == expected.topic


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), formatters, records)
def test_damaged_lines_give_the_same_outcome(
    data: st.DataObject, formatter: SyslogFormatter, record: MqttRecord
) -> None:
    """A damaged line the fast path still accepts gives what the generic parser gives."""
    line, _ = formatter.format(record)
    line = data.draw(damaged(line))
    if b"\n" in line:
        return  # two lines: the file-level test covers those
    found = fast_path(line + b"\n")
    if found is not None:
        assert found == [generic(line)]


def test_a_topic_that_is_not_an_sd_param_value_is_left_to_the_generic_parser() -> None:
    """A raw ']' or a backslash before the closing quote: not an SD-PARAM value."""
    line, _ = SyslogFormatter(hostname="pi").format(
        MqttRecord(1.5, "a]b", b"1", 0, False)
    )
    assert b"a\\\\x5db" in line  # escaped as the formatter writes it
    for damage in (b"a]b", b"ab\\", b"a\\"):
        bad = line.replace(b"a\\\\x5db", damage)
        assert fast_path(bad + b"\n") is None
        with journal_of(bad + b"\n") as directory:
            result = read_since(directory, float("-inf"))
        assert (result.records, result.skipped) == reference_replay(bad)
    # an escaped quote is an SD-PARAM value the generic parser reads; ours never
    # writes one (it writes \x22), so the fast path leaves it to that parser
    quoted = line.replace(b"a\\\\x5db", b'a\\"b')
    assert fast_path(quoted + b"\n") is None
    with journal_of(quoted + b"\n") as directory:
        assert read_since(directory, float("-inf")).records == [
            MqttRecord(1.5, 'a"b', b"1", 0, False)
        ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.data(),
    formatters,
    st.lists(records, min_size=1, max_size=30),
    st.sampled_from([1, 90, 1_000_000]),
    st.booleans(),
)
def test_replay_equals_parsing_every_line_generically(
    data: st.DataObject,
    formatter: SyslogFormatter,
    items: list[MqttRecord],
    chunk_bytes: int,
    torn: bool,
) -> None:
    """A journal file with damaged, blank and torn lines, parsed in any chunking."""
    lines = []
    for item in items:
        line, _ = formatter.format(item)
        match data.draw(st.sampled_from(["whole", "milliseconds", "damaged", "blank"])):
            case "milliseconds":
                line = millisecond_stamp(line)
            case "damaged":
                line = data.draw(damaged(line))
            case "blank":
                lines.append(data.draw(st.sampled_from([b"", b" ", b"\t"])))
        lines.append(line)
    content = b"\n".join(lines) + (b"" if torn else b"\n")
    with (
        mock.patch.object(journal_module, "_CHUNK_BYTES", chunk_bytes),
        journal_of(content) as directory,
    ):
        result = read_since(directory, float("-inf"))
    expected, skipped = reference_replay(content)
    assert result.records == expected
    assert result.skipped == skipped


def test_a_bom_after_the_bom_is_payload() -> None:
    """Only the first BOM after the SD element is the MSG's; a second one is data.

    (The fast path once dropped a second BOM from a payload that had escapes.)
    """
    line = (
        b"<134>1 2026-11-26T22:39:49.123456Z pi iotitan 1 mqtt"
        b' [mqtt@32473 topic="t" qos="0" retain="0"] \xef\xbb\xbf\xef\xbb\xbfa\\nb'
    )
    expected = MqttRecord(
        1_795_732_789_123_456 / 1e6, "t", b"\xef\xbb\xbfa\nb", 0, False
    )
    assert generic(line) == expected
    assert fast_path(line + b"\n") == [expected]


def test_a_declined_stamp_goes_to_the_generic_parser() -> None:
    """Hour 24 and impossible dates: the generic parser decides, line by line."""
    good, _ = SyslogFormatter(hostname="pi").format(
        MqttRecord(1.5, "t", b"1", 0, False)
    )
    bad_hour = good.replace(b"T00:00:01", b"T24:00:00")
    bad_day = good.replace(b"1970-01-01", b"1970-02-30")
    content = b"\n".join([good, bad_hour, good, bad_day, good]) + b"\n"
    assert fast_path(content) is None
    with journal_of(content) as directory:
        result = read_since(directory, float("-inf"))
    assert (result.records, result.skipped) == reference_replay(content)
    assert len(result.records) == 3


def test_a_bad_line_costs_its_chunk_only() -> None:
    """Chunks without a bad line still take the fast path (counted by a spy)."""
    formatter = SyslogFormatter(hostname="pi")
    lines = [
        formatter.format(MqttRecord(index / 4, "t", b"%d" % index, 0, False))[0]
        for index in range(40)
    ]
    lines[25] = b"garbage"
    content = b"\n".join(lines) + b"\n"
    calls: list[bool] = []
    parse_chunk = journal_module._Parser._parse_chunk

    def spy(self: object, *args: object) -> bool:
        handled: bool = parse_chunk(self, *args)  # type: ignore[arg-type]
        calls.append(handled)
        return handled

    with (
        mock.patch.object(journal_module, "_CHUNK_BYTES", len(content) // 8),
        mock.patch.object(journal_module._Parser, "_parse_chunk", spy),
        journal_of(content) as directory,
    ):
        result = read_since(directory, float("-inf"))
    assert calls.count(False) == 1 and calls.count(True) >= 5
    assert [r.payload for r in result] == [b"%d" % i for i in range(40) if i != 25]
    assert result.skipped == 1
