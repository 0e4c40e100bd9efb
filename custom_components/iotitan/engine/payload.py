"""Turn a raw MQTT payload into a number, or say exactly why it is not one.

Sensors publish plain numbers (`23.0`, `-4`, `1e3`), on/off words for binary
sensors such as PIR motion (read as 1/0 only where the source asks for it:
`words_as_numbers`), or JSON documents (Tasmota, ESPHome, Zigbee2MQTT)
from which a dotted value path picks one field (`DS18B20.Temperature`).
Payloads are untrusted: parsing never raises, it returns a `Rejection`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
import json
import math
import re
from typing import Any

DEFAULT_MAX_PAYLOAD_BYTES = 8192

# Strict decimal/scientific notation. Python's float() also accepts "1_000",
# "infinity" and surrounding junk such as "\x0c"; sensors never send those.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NON_FINITE = frozenset({"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity"})
_BINARY_WORDS = {
    "on": 1.0,
    "off": 0.0,
    "true": 1.0,
    "false": 0.0,
}


class Rejection(StrEnum):
    """Why a payload produced no reading."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    NOT_UTF8 = "not_utf8"
    NOT_A_NUMBER = "not_a_number"
    NOT_FINITE = "not_finite"
    INVALID_JSON = "invalid_json"
    PATH_NOT_FOUND = "path_not_found"


def parse_value_path(path: str) -> tuple[str, ...]:
    """Split a dotted JSON value path such as `sensors.0.value`.

    Raises ValueError for an empty path or an empty segment (`a..b`).
    """
    segments = tuple(segment.strip() for segment in path.strip().split("."))
    if not path.strip() or any(not segment for segment in segments):
        raise ValueError(f"invalid value path {path!r}")
    return segments


@dataclass(frozen=True, slots=True)
class PayloadParser:
    """Parse payloads of one source; cheap to call once per message."""

    value_path: tuple[str, ...] = field(default=())
    max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    words_as_numbers: bool = True
    """Read `on`/`off`/`true`/`false` (and JSON booleans) as 1/0; else not a number."""

    def parse(self, payload: bytes | bytearray | str) -> float | Rejection:
        """Return the reading carried by `payload`, or the reason there is none."""
        if (
            not self.value_path
            and type(payload) is bytes
            and len(payload) <= self.max_bytes
            and 0x5F not in payload  # "_" (an int: a bytes needle costs 10x)
        ):
            # Fast path for the common plain number. float() on bytes takes
            # ASCII only and strips only whitespace the full path strips too;
            # it also takes "1_000" (excluded above) and "nan"/"inf" (not
            # finite: left to the full path, which names the rejection).
            try:
                number = float(payload)
            except ValueError:
                pass
            else:
                if math.isfinite(number):
                    return number
        return self._parse_full(payload)

    def _parse_full(self, payload: bytes | bytearray | str) -> float | Rejection:
        if isinstance(payload, str):
            raw = payload.encode("utf-8", "surrogateescape")
        else:
            raw = bytes(payload)
        if len(raw) > self.max_bytes:
            return Rejection.TOO_LARGE
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return Rejection.NOT_UTF8
        if not text.strip():
            return Rejection.EMPTY
        if not self.value_path:
            return _parse_scalar_text(text, self.words_as_numbers)
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: `[[[[...` nesting
            return Rejection.INVALID_JSON
        found, value = _follow_path(document, self.value_path)
        if not found:
            return Rejection.PATH_NOT_FOUND
        return _parse_json_value(value, self.words_as_numbers)


def _parse_scalar_text(text: str, words: bool) -> float | Rejection:
    word = text.strip()
    if _NUMBER.fullmatch(word):
        number = float(word)
        # "1e999" overflows to inf: finite notation, infinite value.
        return number if math.isfinite(number) else Rejection.NOT_FINITE
    lowered = word.lower()
    if lowered in _BINARY_WORDS:
        return _BINARY_WORDS[lowered] if words else Rejection.NOT_A_NUMBER
    if lowered in _NON_FINITE:
        return Rejection.NOT_FINITE
    return Rejection.NOT_A_NUMBER


def _follow_path(document: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    node = document
    for segment in path:
        if isinstance(node, dict):
            if segment not in node:
                return False, None
            node = node[segment]
        elif (
            isinstance(node, list)
            and (index := _list_index(segment, len(node))) is not None
        ):
            node = node[index]
        else:
            return False, None
    return True, node


def _list_index(segment: str, length: int) -> int | None:
    """The list index a path segment names, if it is one within `length`."""
    # ASCII digits only: "²".isdigit() is true but int("²") raises. Leading
    # zeros go first: int() refuses more than 4,300 digits, zeros included.
    if not (segment.isascii() and segment.isdigit()):
        return None
    digits = segment.lstrip("0") or "0"
    if len(digits) > len(str(length)):
        return None
    index = int(digits)
    return index if index < length else None


def _parse_json_value(value: Any, words: bool) -> float | Rejection:
    if isinstance(value, bool):
        if not words:
            return Rejection.NOT_A_NUMBER
        return 1.0 if value else 0.0
    if isinstance(value, float):
        # json.loads reads "1e999" as inf (and "NaN"/"Infinity" literally).
        return value if math.isfinite(value) else Rejection.NOT_FINITE
    if isinstance(value, int):
        # float() of an int beyond about 1.8e308 raises OverflowError: the
        # same number written as plain text ("1000...0") overflows to inf and
        # is "not_finite", so this is too.
        try:
            return float(value)
        except OverflowError:
            return Rejection.NOT_FINITE
    if isinstance(value, str):
        if not value.strip():
            return Rejection.EMPTY
        return _parse_scalar_text(value, words)
    return Rejection.NOT_A_NUMBER
