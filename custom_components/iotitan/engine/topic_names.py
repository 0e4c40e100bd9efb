"""Readable names for the devices of concrete MQTT topics.

A source on `iotitan/home/+/temperature/value` gets one device per matching topic.
Named by the raw topic, every device, entity and history legend reads
"iotitan/home/kitchen/temperature/value ..." and is cut off everywhere. Instead:

- by default a device is named by the levels that tell its topics apart: those
  from the filter's first wildcard on (`kitchen/temperature/value`), without
  generic levels (`value`, `state`, ...), with `_` and `-` read as spaces and
  the first letter capitalised: "Kitchen temperature". A filter without
  wildcards has one topic: its last two levels that are not generic
  (`home/office/temperature/value` gives "Office temperature").
- a template names levels by position: `{3}` is the third level, `{-1}` the
  last, `{topic}` the whole topic: `{3} climate` gives "Kitchen climate".

A level can also suggest the device's area (`area_from_level`).
"""

from __future__ import annotations

from dataclasses import dataclass
import re

# Levels that name the kind of payload, not the thing measured: Tasmota's
# `tele/<device>/SENSOR`, `<thing>/temperature/value`, `<thing>/state`.
GENERIC_LEVELS = frozenset({"value", "state", "status", "data", "sensor", "tele"})

MAX_NAME_CHARS = 100
"""Longer names are cut (topics may be 65,535 bytes; a device name is a label)."""

FALLBACK_NAME = "MQTT topic"
"""For a topic of nothing but spaces."""

MAX_LEVEL = 32
"""Highest level position a template or area level may name."""

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class NameTemplateError(ValueError):
    """A device name template that cannot be used, with the reason."""

    UNBALANCED = "unbalanced"
    """A `{` without its `}` or the other way round."""
    UNKNOWN = "unknown"
    """Something in braces that is neither a level position nor `topic`."""
    BEYOND_FILTER = "beyond_filter"
    """A level the topic filter does not have (a filter without `#`)."""

    def __init__(self, reason: str, text: str) -> None:
        """Remember why and what."""
        super().__init__(f"{reason}: {text}")
        self.reason = reason
        self.text = text


@dataclass(frozen=True, slots=True)
class _Level:
    position: int  # 1-based from the start, or negative from the end


def _parse(template: str) -> list[str | _Level | None]:
    """Literal text, level positions and None for `{topic}`."""
    parts: list[str | _Level | None] = []
    end = 0
    for match in _PLACEHOLDER.finditer(template):
        literal = template[end : match.start()]
        if "{" in literal or "}" in literal:
            raise NameTemplateError(NameTemplateError.UNBALANCED, literal)
        parts.append(literal)
        name = match.group(1).strip()
        if name == "topic":
            parts.append(None)
        else:
            try:
                position = int(name)
            except ValueError:
                raise NameTemplateError(NameTemplateError.UNKNOWN, name) from None
            if position == 0 or abs(position) > MAX_LEVEL:
                raise NameTemplateError(NameTemplateError.UNKNOWN, name)
            parts.append(_Level(position))
        end = match.end()
    rest = template[end:]
    if "{" in rest or "}" in rest:
        raise NameTemplateError(NameTemplateError.UNBALANCED, rest)
    parts.append(rest)
    return parts


def check_name_template(template: str, topic_filter: str) -> None:
    """Raise `NameTemplateError` if `template` cannot name the filter's topics.

    A level position must exist in every topic of the filter: within its depth,
    or anywhere when it ends in `#` (missing levels then read as empty).
    """
    depth = len(topic_filter.split("/"))
    open_ended = topic_filter.endswith("#")
    for part in _parse(template):
        if isinstance(part, _Level) and not open_ended and abs(part.position) > depth:
            raise NameTemplateError(NameTemplateError.BEYOND_FILTER, str(part.position))


def check_area_level(level: int, topic_filter: str) -> bool:
    """Whether a 1-based level position exists in the filter's topics."""
    return 1 <= level <= MAX_LEVEL and (
        topic_filter.endswith("#") or level <= len(topic_filter.split("/"))
    )


def readable(text: str) -> str:
    """A topic level as words: `living_room` -> `living room`."""
    return " ".join(text.replace("_", " ").replace("-", " ").split())


def _bounded(text: str) -> str:
    """Spaces collapsed, at most `MAX_NAME_CHARS` characters."""
    text = " ".join(text.split())
    if len(text) > MAX_NAME_CHARS:
        text = text[: MAX_NAME_CHARS - 1].rstrip() + "…"
    return text


def _capitalised(text: str) -> str:
    """First letter upper case, the rest as written (`CO2`, `iPhone` stay)."""
    text = _bounded(text)
    return text[:1].upper() + text[1:]


def _level(levels: list[str], position: int) -> str:
    index = position - 1 if position > 0 else len(levels) + position
    return levels[index] if 0 <= index < len(levels) else ""


def default_device_name(topic_filter: str, topic: str) -> str:
    """The levels that tell the filter's topics apart, as words."""
    levels = topic.split("/")
    wildcards = [
        index
        for index, level in enumerate(topic_filter.split("/"))
        if level in ("+", "#")
    ]
    chosen = levels[wildcards[0] :] if wildcards else levels
    words = [
        readable(level)
        for level in chosen
        if readable(level) and level.lower() not in GENERIC_LEVELS
    ]
    if not wildcards:
        words = words[-2:]
    if not words:  # every level generic or empty: the topic as it is
        words = [readable(topic) or topic]
    return _capitalised(" ".join(words)) or FALLBACK_NAME


def device_name(topic_filter: str, topic: str, template: str = "") -> str:
    """A concrete topic's device name: from `template`, else the default.

    A template that renders empty (levels missing from this topic) or that is
    invalid (checked by the flow; stored data may predate a check) gives the
    default name. A template of literal text only (a device's announced name,
    `weather_sensor`) is the name as written, not capitalised.
    """
    if template.strip():
        levels = topic.split("/")
        try:
            parts = _parse(template)
        except NameTemplateError:
            parts = []
        if len(parts) == 1 and isinstance(parts[0], str):
            return _bounded(parts[0])
        text = "".join(
            part
            if isinstance(part, str)
            else topic
            if part is None
            else readable(_level(levels, part.position))
            for part in parts
        )
        if text.strip():
            return _capitalised(text)
    return default_device_name(topic_filter, topic)


def area_from_level(topic: str, level: int | None) -> str | None:
    """The area a topic suggests: its `level`-th level as words, if any."""
    if level is None:
        return None
    text = readable(_level(topic.split("/"), level))
    return _capitalised(text) if text else None
