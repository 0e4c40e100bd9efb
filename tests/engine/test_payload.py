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
