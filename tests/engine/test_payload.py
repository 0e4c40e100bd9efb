"""Payload parsing: every accepted shape, and a typed reason for everything else."""

from __future__ import annotations

import json
import math

from hypothesis import given, strategies as st
import pytest

from custom_components.iotitan.engine.payload import (
    PayloadParser,
    Rejection,
    parse_value_path,
)

PLAIN = PayloadParser()


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"23.0", 23.0),
        (b"-4", -4.0),
        (b"1e3", 1000.0),
        (b"+.5", 0.5),
        (b"  7  \n", 7.0),
        (b"0", 0.0),
        (b"1", 1.0),
        (b"on", 1.0),
        (b"ON", 1.0),
        (b"Off", 0.0),
        (b"true", 1.0),
        (b"FALSE", 0.0),
        ("21.5", 21.5),
    ],
)
def test_plain_readings(payload: bytes | str, expected: float) -> None:
    """Numbers and on/off words, as ESPEasy and motion sensors send them."""
    assert PLAIN.parse(payload) == expected


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", Rejection.EMPTY),
        (b"   ", Rejection.EMPTY),
        (b"nan", Rejection.NOT_FINITE),
        (b"NaN", Rejection.NOT_FINITE),
        (b"-inf", Rejection.NOT_FINITE),
        (b"Infinity", Rejection.NOT_FINITE),
        (b"1e999", Rejection.NOT_FINITE),
        (b"\xff\xfe\x00", Rejection.NOT_UTF8),
        (b"hello", Rejection.NOT_A_NUMBER),
        (b"1_000", Rejection.NOT_A_NUMBER),  # float() would accept it
        (b"12 13", Rejection.NOT_A_NUMBER),
        (b"0x10", Rejection.NOT_A_NUMBER),
        pytest.param(b"7" * 9000, Rejection.TOO_LARGE, id="9000-digits"),
        (b'{"temperature": 20}', Rejection.NOT_A_NUMBER),  # JSON without a path
    ],
)
def test_plain_rejections(payload: bytes, reason: Rejection) -> None:
    """Anything else gets a reason, never an exception."""
    assert PLAIN.parse(payload) is reason


def test_size_limit_is_configurable() -> None:
    """The size check counts bytes, before decoding."""
    parser = PayloadParser(max_bytes=4)
    assert parser.parse(b"1234") == 1234.0
    assert parser.parse(b"12345") is Rejection.TOO_LARGE


def test_size_limit_edge_on_every_path() -> None:
    """Exactly `max_bytes` is read on the fast path and the full one alike.

    The default is the README's "8192 bytes, the most IoTitan reads".
    """
    assert PLAIN.parse(b"0" * 8190 + b"21") == 21.0  # 8192 bytes
    assert PLAIN.parse(b"0" * 8191 + b"21") is Rejection.TOO_LARGE
    parser = PayloadParser(max_bytes=4)
    assert parser.parse("1234") == 1234.0  # str and bytearray: the full path
    assert parser.parse(bytearray(b"1234")) == 1234.0
    assert parser.parse(bytearray(b"12345")) is Rejection.TOO_LARGE
    document = PayloadParser(parse_value_path("a"), max_bytes=8)
    assert document.parse(b'{"a": 1}') == 1.0  # 8 bytes
    assert document.parse(b'{"a": 12}') is Rejection.TOO_LARGE


TASMOTA = PayloadParser(parse_value_path("DS18B20.Temperature"))


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            b'{"Time":"2026-01-01T00:00:00","DS18B20":{"Id":"01","Temperature":21.3}}',
            21.3,
        ),
        (b'{"DS18B20":{"Temperature":-2}}', -2.0),
        (b'{"DS18B20":{"Temperature":"19.5"}}', 19.5),
        (b'{"DS18B20":{"Temperature":true}}', 1.0),
        (b'{"DS18B20":{"Temperature":"OFF"}}', 0.0),
    ],
)
def test_json_path_readings(payload: bytes, expected: float) -> None:
    """A dotted path picks one field of a JSON document."""
    assert TASMOTA.parse(payload) == expected


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"21.3", Rejection.PATH_NOT_FOUND),  # valid JSON, but no object
        (b"temperature 21", Rejection.INVALID_JSON),
        (b'{"DS18B20": ', Rejection.INVALID_JSON),
        (b'{"DS18B20":{}}', Rejection.PATH_NOT_FOUND),
        (b'{"DS18B20":21}', Rejection.PATH_NOT_FOUND),
        (b"[]", Rejection.PATH_NOT_FOUND),
        (b'{"DS18B20":{"Temperature":null}}', Rejection.NOT_A_NUMBER),
        (b'{"DS18B20":{"Temperature":[1]}}', Rejection.NOT_A_NUMBER),
        (b'{"DS18B20":{"Temperature":"warm"}}', Rejection.NOT_A_NUMBER),
        (b'{"DS18B20":{"Temperature":""}}', Rejection.EMPTY),
        (b'{"DS18B20":{"Temperature":NaN}}', Rejection.NOT_FINITE),
        (b'{"DS18B20":{"Temperature":1e999}}', Rejection.NOT_FINITE),
    ],
)
def test_json_path_rejections(payload: bytes, reason: Rejection) -> None:
    """Broken JSON and missing or unusable values are reasons, not exceptions."""
    assert TASMOTA.parse(payload) is reason


def test_pathologically_nested_json() -> None:
    """Nesting deep enough to exhaust the decoder's recursion is invalid, not fatal."""
    parser = PayloadParser(parse_value_path("a"), max_bytes=1_000_000)
    assert parser.parse(b"[" * 200_000 + b"]" * 200_000) is Rejection.INVALID_JSON


def test_list_indices_in_paths() -> None:
    """Numeric segments index JSON arrays."""
    parser = PayloadParser(parse_value_path("sensors.1.value"))
    payload = json.dumps({"sensors": [{"value": 1}, {"value": 2.5}]}).encode()
    assert parser.parse(payload) == 2.5
    assert parser.parse(b'{"sensors": [{"value": 1}]}') is Rejection.PATH_NOT_FOUND


@pytest.mark.parametrize("path", ["", " ", "a..b", ".a", "a."])
def test_invalid_value_paths(path: str) -> None:
    """Empty paths and empty segments are refused when configured."""
    with pytest.raises(ValueError, match="invalid value path"):
        parse_value_path(path)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(payload: bytes) -> None:
    """Whatever arrives, the answer is a finite number or a Rejection."""
    for parser in (PLAIN, TASMOTA):
        result = parser.parse(payload)
        assert isinstance(result, Rejection) or math.isfinite(result)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_finite_float_round_trips(value: float) -> None:
    """repr() of any finite float is read back exactly, plain or in JSON."""
    assert PLAIN.parse(repr(value).encode()) == value
    document = json.dumps({"DS18B20": {"Temperature": value}}).encode()
    assert TASMOTA.parse(document) == value


NUMBERISH = st.text(
    alphabet="0123456789+-.eE_ \t\n\r\x0b\x0c\x1c\xa0٣infatyINFATY",
    max_size=12,
).map(lambda text: text.encode())


@given(st.one_of(NUMBERISH, st.binary(max_size=40)))
def test_fast_path_agrees_with_the_full_parser(payload: bytes) -> None:
    """The float() shortcut for plain numbers accepts nothing the full parser refuses.

    The generated text mixes digits, signs, exponents, underscores, every kind
    of whitespace, a non-ASCII digit and the letters of "nan"/"infinity": the
    spellings where float() and the strict grammar could disagree.
    """
    assert PLAIN.parse(payload) == PLAIN._parse_full(payload)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"1_000", Rejection.NOT_A_NUMBER),
        (b"nan", Rejection.NOT_FINITE),
        (b"-inf", Rejection.NOT_FINITE),
        (b"1e999", Rejection.NOT_FINITE),
        (b"\x0c12", 12.0),
        ("٣".encode(), 3.0),
    ],
)
def test_fast_path_edges(payload: bytes, expected: float | Rejection) -> None:
    """Spellings float() reads differently from the grammar get the grammar's answer."""
    assert PLAIN.parse(payload) == expected


@pytest.mark.parametrize(
    ("payload", "value_path"),
    [
        (b"on", ()),
        (b"OFF", ()),
        (b" true\n", ()),
        (b"False", ()),
        (b'{"state": "on"}', ("state",)),
        (b'{"state": true}', ("state",)),
        (b'{"state": false}', ("state",)),
    ],
)
def test_words_are_not_numbers_unless_asked_for(
    payload: bytes, value_path: tuple[str, ...]
) -> None:
    """A source that does not read words as numbers rejects on/off/true/false."""
    words = PayloadParser(value_path, words_as_numbers=True).parse(payload)
    assert words in (0.0, 1.0)
    assert (
        PayloadParser(value_path, words_as_numbers=False).parse(payload)
        is Rejection.NOT_A_NUMBER
    )
    # Numbers are read either way.
    assert PayloadParser(words_as_numbers=False).parse(b"21.5") == 21.5


def test_huge_json_integer_is_not_finite() -> None:
    """A JSON integer beyond float's range is refused like "1e999", not raised.

    float() of a 400-digit int raises OverflowError; the same digits as a plain
    payload are already "not_finite" (they overflow to inf).
    """
    parser = PayloadParser(parse_value_path("a.b"))
    assert parser.parse(b'{"a":{"b":1' + b"0" * 400 + b"}}") is Rejection.NOT_FINITE
    assert PLAIN.parse(b"1" + b"0" * 400) is Rejection.NOT_FINITE
    big = str(2**1100).encode()
    assert parser.parse(b'{"a":{"b":-' + big + b"}}") is Rejection.NOT_FINITE
    # Beyond Python's 4,300-digit limit for int(str) the decoder itself refuses.
    assert parser.parse(
        b'{"a":{"b":' + b"9" * 5000 + b"}}",
    ) in (
        Rejection.INVALID_JSON,
        Rejection.TOO_LARGE,
    )


@pytest.mark.parametrize(
    "segment",
    ["²", "٣", "9" * 5000, "0" * 5000 + "7"],
    ids=["superscript", "arabic", "5000 digits", "5000 zeros"],
)
def test_odd_index_segments_do_not_raise(segment: str) -> None:
    """A path segment that only looks like an index finds nothing, never raises."""
    parser = PayloadParser(parse_value_path(f"a.{segment}"), max_bytes=100_000)
    assert parser.parse(b'{"a":[1,2,3]}') is Rejection.PATH_NOT_FOUND
    # Leading zeros still name an index, as they did before.
    assert PayloadParser(("a", "0001")).parse(b'{"a":[1,2,3]}') == 2.0


_HUGE_NUMBER_TEXT = st.one_of(
    # integers of any size (up to the decoder's own digit limit and beyond)
    st.integers(min_value=0, max_value=6000).map(lambda n: "1" + "0" * n),
    st.integers().map(str),
    st.builds(lambda e: f"-{2**e}", st.integers(min_value=1000, max_value=4000)),
    # floats and exponents far outside the range of a double
    st.builds(
        lambda m, e, sign: f"{m}e{sign}{e}",
        st.sampled_from(["1", "-1", "9.99", "0.0", "123456789012345678901234567890"]),
        st.integers(min_value=0, max_value=10**6),
        st.sampled_from(["", "+", "-"]),
    ),
    st.floats(allow_nan=False).map(lambda f: json.dumps(f)),
)


@st.composite
def _documents_with_huge_numbers(draw: st.DrawFn) -> tuple[tuple[str, ...], bytes]:
    depth = draw(st.integers(min_value=1, max_value=6))
    keys = draw(
        st.lists(
            st.sampled_from(["a", "b", "0", "1", "x y"]), min_size=depth, max_size=depth
        )
    )
    number = draw(_HUGE_NUMBER_TEXT)
    inner = number
    for key in reversed(keys):
        if key.isdigit() and draw(st.booleans()):
            inner = "[" + ", ".join(["0"] * int(key) + [inner]) + "]"
        else:
            inner = json.dumps({key: None})[:-5] + inner + "}"
    # Sometimes ask for the path to the number, sometimes for a prefix of it
    # (the value is then an object or array) or a sibling (path not found).
    path = tuple(keys[: draw(st.integers(min_value=1, max_value=depth))])
    if draw(st.booleans()):
        path = (*path, "missing")
    return path, inner.encode()


@given(_documents_with_huge_numbers())
def test_huge_numbers_in_json_never_raise(case: tuple[tuple[str, ...], bytes]) -> None:
    """Huge ints, floats and exponents anywhere on a JSON path: a reading or a reason."""
    path, document = case
    parser = PayloadParser(path, max_bytes=len(document))
    result = parser.parse(document)
    assert isinstance(result, Rejection) or math.isfinite(result)
    # The same number as a plain payload, or as a JSON string, is no different.
    number = document.split(b"[")[-1].split(b":")[-1].rstrip(b"]} ").split(b",")[-1]
    plain = PayloadParser(max_bytes=len(document)).parse(number.strip())
    assert isinstance(plain, Rejection) or math.isfinite(plain)
