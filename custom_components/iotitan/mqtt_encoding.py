"""The encoding IoTitan subscribes with: UTF-8, lossless for any other bytes.

Home Assistant's MQTT client decodes a message once per subscription *topic
string* and hands that one `ReceiveMessage` to every subscriber of the string,
whatever encoding each asked for (`mqtt/client.py`, `_async_mqtt_on_message`,
`msg_cache_by_subscription_topic`; unchanged up to 2026.11). A subscriber that
asked for raw bytes (`encoding=None`) and happens to be served first hands bytes
to a core MQTT sensor of the same string, which then logs "Invalid undecoded
state message" and stays `unknown`. Subscribing with the default `"utf-8"`
instead has the client log a warning for every payload that is not UTF-8 (and
drop it for IoTitan, so it would be neither journaled nor counted).

So IoTitan subscribes with `ENCODING`, a codec registered here that decodes
UTF-8 exactly as the `"utf-8"` codec does (same `str`, for every valid UTF-8
payload: what a default subscriber of the same string would have received) and
maps any byte that is not UTF-8 to a lone surrogate (``surrogateescape``), so
it never fails: no warning, and IoTitan gets every payload. Other subscribers
decode with their own encoding first and only then share the cached message, so
a payload that is not UTF-8 never reaches a `"utf-8"` subscriber through
IoTitan. `payload_bytes` turns what IoTitan received back into the exact bytes.
"""

from __future__ import annotations

import codecs
from collections.abc import Buffer
from typing import Final

ENCODING: Final = "iotitan_utf_8_lossless"
"""The subscription encoding (a name the codec registry looks up as is)."""


def _decode(data: Buffer, errors: str = "strict", /) -> tuple[str, int]:
    # `errors` is what the caller asked for; this codec is lossless by design.
    return codecs.utf_8_decode(data, "surrogateescape", True)


def _encode(text: str, errors: str = "strict", /) -> tuple[bytes, int]:
    return codecs.utf_8_encode(text, "surrogateescape")


_CODEC: Final = codecs.CodecInfo(_encode, _decode, name=ENCODING)


def _search(name: str) -> codecs.CodecInfo | None:
    return _CODEC if name == ENCODING else None


def register() -> None:
    """Register the codec once per process (idempotent)."""
    try:
        codecs.lookup(ENCODING)
    except LookupError:
        codecs.register(_search)


def payload_bytes(payload: bytes | bytearray | str) -> tuple[bytes, bool]:
    """The payload's bytes as sent, and whether they are valid UTF-8.

    IoTitan normally receives the `str` its codec (or another subscriber's
    `"utf-8"`) decoded; raw bytes when a subscriber of the same topic string
    that asked for bytes was served first. A `str` decoded by another encoding
    (a subscriber's `latin-1`, say) cannot be told apart: it is re-encoded as
    UTF-8.
    """
    if isinstance(payload, str):
        try:
            return payload.encode(), True
        except UnicodeEncodeError:  # lone surrogates: bytes that were not UTF-8
            try:
                return payload.encode("utf-8", "surrogateescape"), False
            except UnicodeEncodeError:  # not from surrogateescape: keep them all
                return payload.encode("utf-8", "surrogatepass"), False
    data = bytes(payload)
    if data.isascii():
        return data, True
    try:
        data.decode()
    except UnicodeDecodeError:
        return data, False
    return data, True
