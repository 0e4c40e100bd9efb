"""IoTitan's subscription encoding: UTF-8 as everyone's, lossless for other bytes."""

from __future__ import annotations

from hypothesis import given, strategies as st

from custom_components.iotitan.mqtt_encoding import ENCODING, payload_bytes, register


@given(st.binary(max_size=64))
def test_decodes_like_utf8_and_keeps_every_byte(data: bytes) -> None:
    register()
    text = data.decode(ENCODING)  # never raises: the MQTT client must not warn
    try:
        expected = data.decode("utf-8")
    except UnicodeDecodeError:
        assert payload_bytes(text) == (data, False)
    else:
        assert text == expected  # what a default ("utf-8") subscriber gets
        assert payload_bytes(text) == (data, True)
    # Handed bytes (a bytes subscriber of the same string was served first).
    assert payload_bytes(data) == (data, data.isascii() or _is_utf8(data))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_register_is_idempotent_and_odd_strings_never_raise() -> None:
    register()
    register()
    assert b"\xff21".decode(ENCODING) == "\udcff21"
    # A str with a lone surrogate not made by surrogateescape (another
    # subscriber's decoding): kept, not an exception in the event loop.
    assert payload_bytes("a\ud800") == (
        "a\ud800".encode("utf-8", "surrogatepass"),
        False,
    )
    assert payload_bytes(bytearray(b"21.5")) == (b"21.5", True)
