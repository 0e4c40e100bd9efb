"""Several readings from one payload, with one JSON parse.

Zigbee2MQTT, Tasmota, Shelly and OpenMQTTGateway publish one JSON document with
several readings (`{"temperature":21.4,"humidity":48,"battery":97}`). A source
that reads several of them asks `MultiPathParser` for all its value paths at
once: the payload is checked and decoded once, the JSON parsed once, and each
path is then followed in the same document.

Each path gets exactly the answer `PayloadParser(path, max_bytes,
words_as_numbers).parse(payload)` would give (the property tests compare them
on arbitrary JSON): the same size limit, the same strict number grammar, JSON
booleans and on/off words only when asked, non-finite numbers refused, numbers
in strings read as `PayloadParser` reads them, and the same `Rejection`
reasons. The empty path `()` reads the whole payload as a plain value, as
`PayloadParser()` does (including its fast path for plain numbers).

Cost: one `json.loads` per message instead of one per reading; following a
path is a few dictionary lookups. `benchmarks/bench_readings.py` measures it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
import json
from typing import Any

from .payload import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    PayloadParser,
    Rejection,
    _follow_path,
    _parse_json_value,
    parse_value_path,
)

type ValuePath = tuple[str, ...]
"""A value path split into segments, as `parse_value_path` returns it; `()` is
the whole payload."""

type Reading = float | Rejection
"""A reading, or the reason a path gave none."""


def value_paths(paths: Iterable[str]) -> tuple[ValuePath, ...]:
    """Split dotted paths; `""` (or blanks) is the whole payload.

    Raises ValueError for a path with an empty segment (`a..b`), as
    `parse_value_path` does.
    """
    return tuple(parse_value_path(path) if path.strip() else () for path in paths)


@dataclass(frozen=True, slots=True)
class MultiPathParser:
    """Read several value paths of one payload; cheap to call once per message."""

    paths: tuple[ValuePath, ...]
    max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    words_as_numbers: bool = True
    """Read `on`/`off`/`true`/`false` (and JSON booleans) as 1/0; else not a number."""

    _plain: PayloadParser | None = field(init=False, repr=False, compare=False)
    _json: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Check the paths and decide which halves of the work a payload needs."""
        paths = tuple(tuple(path) for path in self.paths)
        for path in paths:
            if any(not isinstance(segment, str) or not segment for segment in path):
                raise ValueError(f"invalid value path {path!r}")
        object.__setattr__(self, "paths", paths)
        plain = any(not path for path in paths)
        object.__setattr__(
            self,
            "_plain",
            PayloadParser((), self.max_bytes, self.words_as_numbers) if plain else None,
        )
        object.__setattr__(self, "_json", any(paths))

    def parse(self, payload: bytes | bytearray | str) -> tuple[Reading, ...]:
        """The reading of each path, in the order of `paths`."""
        return self._parse(payload, self._json)[0]

    def parse_mapping(
        self, payload: bytes | bytearray | str
    ) -> dict[ValuePath, Reading]:
        """The reading of each path, by path (a path listed twice appears once)."""
        return dict(zip(self.paths, self.parse(payload), strict=True))

    def parse_with_document(
        self, payload: bytes | bytearray | str
    ) -> tuple[tuple[Reading, ...], Any]:
        """The readings and the decoded JSON document, to read more from it.

        The document is what `json.loads` made of the payload, or None when the
        payload is not JSON (or was refused before decoding). JSON `null` is
        None too: a document without fields either way. The sensor's own time
        is read from it (`sensor_time.read_payload_time`) without a second parse.
        """
        return self._parse(payload, True)

    def _parse(
        self, payload: bytes | bytearray | str, decode_json: bool
    ) -> tuple[tuple[Reading, ...], Any]:
        # The whole payload as a plain value, for the empty path (if any): the
        # placeholder is never read, as only an empty path reads `plain`.
        plain: Reading = (
            self._plain.parse(payload) if self._plain is not None else Rejection.EMPTY
        )
        if not decode_json:
            return tuple([plain] * len(self.paths)), None
        # The checks before JSON, in PayloadParser's order: size, UTF-8, blank.
        if isinstance(payload, str):
            raw = payload.encode("utf-8", "surrogateescape")
        else:
            raw = bytes(payload)
        if len(raw) > self.max_bytes:
            return tuple([Rejection.TOO_LARGE] * len(self.paths)), None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return tuple([Rejection.NOT_UTF8] * len(self.paths)), None
        if not text.strip():
            return tuple([Rejection.EMPTY] * len(self.paths)), None
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: `[[[[...` nesting
            return (
                tuple(Rejection.INVALID_JSON if path else plain for path in self.paths),
                None,
            )
        words = self.words_as_numbers
        readings: list[Reading] = []
        for path in self.paths:
            if not path:
                readings.append(plain)
                continue
            found, value = _follow_path(document, path)
            readings.append(
                _parse_json_value(value, words) if found else Rejection.PATH_NOT_FOUND
            )
        return tuple(readings), document
