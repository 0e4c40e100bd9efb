"""Several readings from one payload: the same answers as one PayloadParser per path."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iotitan.engine.payload import (
    PayloadParser,
    Rejection,
    parse_value_path,
)
from custom_components.iotitan.engine.readings import (
    MultiPathParser,
    ValuePath,
    value_paths,
)

from . import device_payloads as fixtures


def _exact(
    results: tuple[float | Rejection, ...] | list[float | Rejection],
) -> list[str]:
    """Results compared exactly: -0.0 is not 0.0, a reason is not a number."""
    return [repr(result) for result in results]


def test_zigbee2mqtt_readings_in_one_parse() -> None:
    """Every exposed property of the WSDCGQ11LM state, as its document lists them."""
    parser = MultiPathParser(
        value_paths(
            ["temperature", "humidity", "pressure", "battery", "voltage", "linkquality"]
        )
    )
    assert parser.parse(fixtures.Z2M_WEATHER) == (
        21.4,
        48.2,
        1012.3,
        97.0,
        2995.0,
        120.0,
    )


def test_tasmota_nested_readings() -> None:
    """`AM2301.Temperature` and `AM2301.Humidity` of one `tele/.../SENSOR` message."""
    parser = MultiPathParser(
        value_paths(["AM2301.Temperature", "AM2301.Humidity", "AM2301.DewPoint"])
    )
    assert parser.parse(fixtures.TASMOTA_AM2301) == (21.4, 48.0, 10.0)


def test_shelly_and_omg_shapes() -> None:
    """Nested objects, component keys with a colon, arrays by index, numbers in strings."""
    shelly = MultiPathParser(
        value_paths(
            [
                "apower",
                "aenergy.total",
                "aenergy.by_minute.2",
                "temperature.tC",
                "output",
            ]
        ),
        words_as_numbers=False,
    )
    assert shelly.parse(fixtures.SHELLY_SWITCH) == (
        8.9,
        6.532,
        88.397,
        23.5,
        Rejection.NOT_A_NUMBER,  # a JSON boolean, and words were not asked for
    )
    notify = MultiPathParser(value_paths(["params.switch:0.apower", "params.ts"]))
    assert notify.parse(fixtures.SHELLY_NOTIFY_STATUS) == (9.4, 1714559696.42)
    omg = MultiPathParser(value_paths(["tempc", "hum", "id"]))
    assert omg.parse(fixtures.OMG_MIJIA) == (19.2, 52.6, Rejection.PATH_NOT_FOUND)


def test_missing_and_unusable_fields_each_get_their_reason() -> None:
    """One bad field does not spoil the others."""
    parser = MultiPathParser(
        value_paths(["temperature", "missing", "state", "power_outage_memory", "power"])
    )
    assert parser.parse(fixtures.Z2M_PLUG) == (
        Rejection.PATH_NOT_FOUND,
        Rejection.PATH_NOT_FOUND,
        1.0,  # "ON", read as 1 as PayloadParser does when words are numbers
        Rejection.NOT_A_NUMBER,
        96.0,
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", Rejection.EMPTY),
        (b" \n", Rejection.EMPTY),
        (b"\xff{}", Rejection.NOT_UTF8),
        (b'{"a": 1' + b" " * 9000 + b"}", Rejection.TOO_LARGE),
    ],
)
def test_payload_level_rejections_apply_to_every_path(
    payload: bytes, reason: Rejection
) -> None:
    """Size, encoding and blank payloads are refused once, for all readings."""
    parser = MultiPathParser(((), ("a",), ("b", "c")))
    assert parser.parse(payload) == (reason, reason, reason)


def test_invalid_json_spares_the_plain_reading() -> None:
    """A payload that is not JSON is refused for the paths; the empty path reads it."""
    parser = MultiPathParser(((), ("a",)))
    assert parser.parse(b"21.5 ") == (21.5, Rejection.PATH_NOT_FOUND)
    assert parser.parse(b"on") == (1.0, Rejection.INVALID_JSON)
    assert parser.parse(b'{"a": 3}') == (Rejection.NOT_A_NUMBER, 3.0)
    assert MultiPathParser(((),)).parse(fixtures.ESPHOME_TEMPERATURE) == (21.5,)


def test_size_limit_edge() -> None:
    """Exactly `max_bytes` is read; one byte more is too large."""
    parser = MultiPathParser((("a",), ()), max_bytes=8)
    assert parser.parse(b'{"a": 1}') == (1.0, Rejection.NOT_A_NUMBER)  # 8 bytes
    assert parser.parse(b'{"a": 12}') == (Rejection.TOO_LARGE, Rejection.TOO_LARGE)
    assert parser.parse("12345678") == (Rejection.PATH_NOT_FOUND, 12345678.0)


def test_mapping_document_and_order() -> None:
    """Results come in the order of the paths; the mapping and the document agree."""
    paths = value_paths(["humidity", "temperature", "humidity"])
    parser = MultiPathParser(paths)
    assert parser.parse(fixtures.Z2M_WEATHER) == (48.2, 21.4, 48.2)
    assert parser.parse_mapping(fixtures.Z2M_WEATHER) == {
        ("humidity",): 48.2,
        ("temperature",): 21.4,
    }
    readings, document = parser.parse_with_document(fixtures.Z2M_WEATHER)
    assert readings == (48.2, 21.4, 48.2)
    assert document == json.loads(fixtures.Z2M_WEATHER)
    # Not JSON, or refused before decoding: no document.
    assert parser.parse_with_document(b"garbage")[1] is None
    assert parser.parse_with_document(b"")[1] is None
    # A plain-only parser still decodes the document when asked for it.
    plain = MultiPathParser(((),))
    assert plain.parse_with_document(b'{"Time": "x"}') == (
        (Rejection.NOT_A_NUMBER,),
        {"Time": "x"},
    )
    assert plain.parse_with_document(b"7") == ((7.0,), 7)


def test_paths_are_kept_as_tuples() -> None:
    """Paths given as lists are stored as tuples, so they can key the mapping."""
    parser = MultiPathParser([["a"], []])  # type: ignore[arg-type]
    assert parser.paths == (("a",), ())
    assert parser.parse_mapping(b'{"a": 2}') == {
        ("a",): 2.0,
        (): Rejection.NOT_A_NUMBER,
    }


def test_no_paths_and_invalid_paths() -> None:
    """No paths read nothing; an empty segment is refused when configured."""
    assert MultiPathParser(()).parse(b"1") == ()
    assert value_paths(["", "  ", "a.0.b"]) == ((), (), ("a", "0", "b"))
    with pytest.raises(ValueError, match="invalid value path"):
        value_paths(["a..b"])
    with pytest.raises(ValueError, match="invalid value path"):
        MultiPathParser((("a", ""),))
    with pytest.raises(ValueError, match="invalid value path"):
        MultiPathParser((("a", 1),))  # type: ignore[arg-type]


def test_pathologically_nested_json() -> None:
    """Nesting that exhausts the decoder is invalid JSON, not a crash."""
    parser = MultiPathParser((("a",), ()), max_bytes=1_000_000)
    deep = b"[" * 200_000 + b"]" * 200_000
    assert parser.parse(deep) == (Rejection.INVALID_JSON, Rejection.NOT_A_NUMBER)


# --- Property tests: agreement with PayloadParser, path by path --------------

_KEYS = st.sampled_from(["a", "b", "0", "1", "2", "T", "x y", " a", "é"])
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(),  # includes nan and ±inf, which json.dumps writes as NaN/Infinity
    st.sampled_from(["on", "OFF", "21.5", " 7 ", "", " ", "1e999", "nan", "1_0", "x"]),
    st.text(max_size=8),
)
_JSON: st.SearchStrategy[Any] = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(_KEYS, children, max_size=4),
    ),
    max_leaves=16,
)
_PATHS = st.lists(
    st.one_of(
        st.just(()),
        st.lists(_KEYS, min_size=1, max_size=4).map(tuple),
    ),
    min_size=1,
    max_size=6,
)


@st.composite
def _payloads(draw: st.DrawFn) -> bytes | bytearray | str:
    document = draw(_JSON)
    text = json.dumps(document, ensure_ascii=draw(st.booleans()))
    choice = draw(st.integers(min_value=0, max_value=5))
    if choice == 0:  # cut short: invalid JSON
        text = text[: draw(st.integers(min_value=0, max_value=len(text)))]
    elif choice == 1:  # surrounding whitespace
        text = draw(st.sampled_from([" ", "\n", "\t", "\x1c"])) + text + " "
    raw = text.encode()
    if choice == 2:  # arbitrary bytes instead
        raw = draw(st.binary(max_size=40))
    form = draw(st.sampled_from(["bytes", "bytearray", "str"]))
    if form == "bytearray":
        return bytearray(raw)
    if form == "str":
        return raw.decode("utf-8", "surrogateescape")
    return raw


@settings(max_examples=400)
@given(
    payload=_payloads(),
    paths=_PATHS,
    words=st.booleans(),
    max_bytes=st.one_of(st.just(8192), st.integers(min_value=0, max_value=80)),
)
def test_every_path_agrees_with_payload_parser(
    payload: bytes | bytearray | str,
    paths: list[ValuePath],
    words: bool,
    max_bytes: int,
) -> None:
    """For any JSON (or not), each path's answer is exactly PayloadParser's."""
    parser = MultiPathParser(tuple(paths), max_bytes=max_bytes, words_as_numbers=words)
    expected = [
        PayloadParser(path, max_bytes=max_bytes, words_as_numbers=words).parse(payload)
        for path in paths
    ]
    assert _exact(parser.parse(payload)) == _exact(expected)
    readings, _document = parser.parse_with_document(payload)
    assert _exact(readings) == _exact(expected)


@given(
    document=st.dictionaries(
        st.sampled_from(["temperature", "humidity", "battery", "Time"]),
        st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers()),
        min_size=1,
    )
)
def test_finite_numbers_round_trip(document: dict[str, float]) -> None:
    """Every finite JSON number is read back exactly, through any of the paths."""
    paths = tuple(parse_value_path(key) for key in document)
    readings = MultiPathParser(paths, max_bytes=10_000).parse(json.dumps(document))
    for (key, value), reading in zip(document.items(), readings, strict=True):
        if isinstance(value, int) and abs(value) > 1e308:
            assert reading is Rejection.NOT_FINITE, key
        else:
            assert isinstance(reading, float) and math.isfinite(reading)
            assert reading == float(value), key
