"""Numeric sensors announced through Home Assistant's MQTT discovery.

Zigbee2MQTT, ESPHome, OpenMQTTGateway (and Tasmota with SetOption19 1)
publish retained `homeassistant/<component>/[<node_id>/]<object_id>/config`
messages; newer ones may announce a whole device at once on
`homeassistant/device/<object_id>/config` with its entities under `cmps`.
`parse_discovery_message` reads one such message as Home Assistant's MQTT
integration does (`homeassistant/components/mqtt/discovery.py` and the sensor
platform's schema in the pinned release):

- abbreviations are expanded (`stat_t`, `val_tpl`, `unit_of_meas`, `dev_cla`,
  `stat_cla`, `uniq_id`, `dev` with `ids`, `cns`, `name`, `mf`, `mdl`, `sa`...;
  an abbreviation wins over the full key, as there);
- `~` at the start or end of `state_topic` is replaced by the config's `~`;
- in a device message, each component takes the device and the device's
  shared `state_topic` unless it has its own (the device's `~` is not shared);
- device and state classes are read without case; a blank unit is no unit;
  units with the micro sign are spelled with the Greek mu, as Home Assistant
  does (`AMBIGUOUS_UNITS`);
- a sensor is numeric as Home Assistant decides (`_numeric_state_expected`):
  not of device class date, enum or timestamp, and with a state class, a unit,
  a display precision or a device class.

For each numeric `sensor` the result is a `DiscoveredSensor` with the state
topic, the value path derived from the value template (`value_path_of`), unit,
device and state class and the device's name and identifiers. Everything else
is a `RefusedDiscovery` with a `DiscoveryRefusal` reason a UI can translate.
Payloads are untrusted: sizes are bounded, and a malformed config gives a
refusal, never an exception. Home Assistant also refuses a unit that does not
fit the device class; that check needs its unit tables and is left to the
integration.

Value templates: `value_path_of` accepts exactly one expression that reads
`value` (the whole payload) or `value_json` followed by `.name`, `.0`,
`['key']`, `["key"]` or `[0]` accessors, then any of the filters `float`,
`float(default)`, `round`, `round(n)` (its digits become the suggested display
precision) and `is_defined` (OpenMQTTGateway's), which do not change which
value is read. A missing template is the whole payload. Refused:
`template_condition` (`{% if %}`, `if`/`else`, `is defined`, comparisons,
`and`/`or`/`not`), `template_arithmetic` (`+ - * / // % ** ~`),
`template_filter` (any other filter: `int`, `default`, `multiply`...),
`template_multiple` (text around the expression, several expressions,
statements), `template_not_a_path` (a key a dotted value path cannot hold: one
with a dot or surrounding spaces, a negative index, a dict method such as
`.items`), `template_unsupported` (anything else: functions, other variables,
syntax errors) and `template_too_long`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
import json
import re
from typing import Any

DEFAULT_DISCOVERY_PREFIX = "homeassistant"
MAX_DISCOVERY_BYTES = 65_536
"""Larger discovery payloads are refused (a Zigbee2MQTT sensor's is under 1 KiB)."""
MAX_TOPIC_LENGTH = 1024
"""Longest discovery or state topic, in characters (IoTitan's own topic bound)."""
MAX_TEXT_LENGTH = 255
"""Longest name, unit, class, identifier or other label read from a config."""
MAX_TEMPLATE_LENGTH = 1024
MAX_COMPONENTS = 256
"""Components of one device message."""
MAX_IDENTIFIERS = 16
"""Device identifiers or connections kept (more are a refusal)."""
MAX_PATH_SEGMENTS = 16
MAX_DISPLAY_PRECISION = 20
"""More digits than a double holds are refused."""


class DiscoveryRefusal(StrEnum):
    """Why an announcement gives no numeric sensor IoTitan can read."""

    NOT_A_DISCOVERY_TOPIC = "not_a_discovery_topic"
    REMOVED = "removed"
    """An empty payload: the device withdrew the entity."""
    TOO_LARGE = "too_large"
    NOT_UTF8 = "not_utf8"
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    TOO_MANY_COMPONENTS = "too_many_components"
    NOT_A_SENSOR = "not_a_sensor"
    """Another component: binary_sensor, switch, number..."""
    NO_STATE_TOPIC = "no_state_topic"
    INVALID_STATE_TOPIC = "invalid_state_topic"
    INVALID_FIELD = "invalid_field"
    """A field Home Assistant would refuse too (wrong type, unknown class) or
    one over IoTitan's size bounds."""
    NOT_NUMERIC = "not_numeric"
    """A text, enum, date or timestamp sensor."""
    TEMPLATE_TOO_LONG = "template_too_long"
    TEMPLATE_MULTIPLE = "template_multiple"
    TEMPLATE_CONDITION = "template_condition"
    TEMPLATE_ARITHMETIC = "template_arithmetic"
    TEMPLATE_FILTER = "template_filter"
    TEMPLATE_NOT_A_PATH = "template_not_a_path"
    TEMPLATE_UNSUPPORTED = "template_unsupported"


@dataclass(frozen=True, slots=True)
class TemplatePath:
    """What a value template reads: a value path, and the digits it rounds to."""

    path: tuple[str, ...]
    """Segments of the value path; `()` is the whole payload."""
    round_digits: int | None = None

    @property
    def value_path(self) -> str:
        """The dotted path, as a source's value path is written ("" for the payload)."""
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class AnnouncedDevice:
    """The device an announcement names (never IoTitan's own: a label to copy)."""

    name: str | None = None
    identifiers: tuple[str, ...] = ()
    connections: tuple[tuple[str, str], ...] = ()
    """(kind, value) pairs such as ("mac", "A4:C1:38:6E:4A:E8")."""
    manufacturer: str | None = None
    model: str | None = None
    suggested_area: str | None = None


@dataclass(frozen=True, slots=True)
class DiscoveredSensor:
    """A numeric sensor announced through MQTT discovery."""

    discovery_topic: str
    component: str
    node_id: str | None
    object_id: str
    state_topic: str
    """`~` expanded; may be a filter (OpenMQTTGateway announces `+/+/BTtoMQTT/<mac>`)."""
    value_path: str
    """Dotted value path; "" reads the whole payload."""
    name: str | None
    """The entity's announced name; None when absent or null (Home Assistant
    then names it after its device class or device)."""
    unit: str | None
    device_class: str | None
    state_class: str | None
    entity_category: str | None
    suggested_display_precision: int | None
    """Announced, or the digits of a `round(n)` filter."""
    enabled_by_default: bool
    unique_id: str | None
    device: AnnouncedDevice

    @property
    def diagnostic(self) -> bool:
        """Whether the device files it under diagnostics."""
        return self.entity_category == "diagnostic"


@dataclass(frozen=True, slots=True)
class RefusedDiscovery:
    """An announcement IoTitan does not offer, and why."""

    discovery_topic: str
    reason: DiscoveryRefusal
    component: str | None = None
    node_id: str | None = None
    object_id: str | None = None
    name: str | None = None
    device_name: str | None = None


type DiscoveryResult = DiscoveredSensor | RefusedDiscovery

# Home Assistant's abbreviations (homeassistant/components/mqtt/abbreviations.py)
# of the keys read here; a test compares them with Home Assistant's table.
ABBREVIATIONS = {
    "cmps": "components",
    "dev": "device",
    "dev_cla": "device_class",
    "en": "enabled_by_default",
    "ent_cat": "entity_category",
    "name": "name",
    "o": "origin",
    "p": "platform",
    "stat_cla": "state_class",
    "stat_t": "state_topic",
    "sug_dsp_prc": "suggested_display_precision",
    "uniq_id": "unique_id",
    "unit_of_meas": "unit_of_measurement",
    "val_tpl": "value_template",
}
DEVICE_ABBREVIATIONS = {
    "cns": "connections",
    "ids": "identifiers",
    "mdl": "model",
    "mf": "manufacturer",
    "name": "name",
    "sa": "suggested_area",
}
# homeassistant.components.sensor.const.AMBIGUOUS_UNITS
AMBIGUOUS_UNITS = {
    "\u00b5Sv/h": "\u03bcSv/h",
    "\u00b5S/cm": "\u03bcS/cm",
    "\u00b5V": "\u03bcV",
    "\u00b5g/ft³": "\u03bcg/ft³",
    "\u00b5g/m³": "\u03bcg/m³",
    "\u00b5mol/s⋅m²": "\u03bcmol/s⋅m²",
    "\u00b5g": "\u03bcg",
    "\u00b5s": "\u03bcs",
    "mVAr": "mvar",
    "VAr": "var",
    "kVAr": "kvar",
    "VArh": "varh",
    "kVArh": "kvarh",
}
# homeassistant.components.sensor.SensorDeviceClass (Home Assistant 2026.2).
SENSOR_DEVICE_CLASSES = frozenset(
    {
        "absolute_humidity",
        "apparent_power",
        "aqi",
        "area",
        "atmospheric_pressure",
        "battery",
        "blood_glucose_concentration",
        "carbon_dioxide",
        "carbon_monoxide",
        "conductivity",
        "current",
        "data_rate",
        "data_size",
        "date",
        "distance",
        "duration",
        "energy",
        "energy_distance",
        "energy_storage",
        "enum",
        "frequency",
        "gas",
        "humidity",
        "illuminance",
        "irradiance",
        "moisture",
        "monetary",
        "nitrogen_dioxide",
        "nitrogen_monoxide",
        "nitrous_oxide",
        "ozone",
        "ph",
        "pm1",
        "pm10",
        "pm25",
        "pm4",
        "power",
        "power_factor",
        "precipitation",
        "precipitation_intensity",
        "pressure",
        "reactive_energy",
        "reactive_power",
        "signal_strength",
        "sound_pressure",
        "speed",
        "sulphur_dioxide",
        "temperature",
        "temperature_delta",
        "timestamp",
        "volatile_organic_compounds",
        "volatile_organic_compounds_parts",
        "voltage",
        "volume",
        "volume_flow_rate",
        "volume_storage",
        "water",
        "weight",
        "wind_direction",
        "wind_speed",
    }
)
NON_NUMERIC_DEVICE_CLASSES = frozenset({"date", "enum", "timestamp"})
SENSOR_STATE_CLASSES = frozenset(
    {"measurement", "measurement_angle", "total", "total_increasing"}
)
ENTITY_CATEGORIES = frozenset({"config", "diagnostic"})

# Home Assistant's TOPIC_MATCHER, matched against the whole rest of the topic.
_DISCOVERY_TOPIC = re.compile(
    r"(?P<component>\w+)/(?:(?P<node_id>[a-zA-Z0-9_-]+)/)"
    r"?(?P<object_id>[a-zA-Z0-9_-]+)/config"
)
_TOPIC_BASE = "~"


class _Refused(Exception):
    """Internal: a config refused for `reason`."""

    def __init__(self, reason: DiscoveryRefusal) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_discovery_message(
    topic: str,
    payload: bytes | bytearray | str,
    *,
    prefix: str = DEFAULT_DISCOVERY_PREFIX,
    max_bytes: int = MAX_DISCOVERY_BYTES,
) -> tuple[DiscoveryResult, ...]:
    """The sensors one discovery message announces, or why each is refused.

    A component message gives one result; a device message one per component
    (or one refusal for the whole message). `prefix` is the discovery prefix
    the MQTT integration is configured with.
    """
    rest = topic[len(prefix) + 1 :] if topic.startswith(f"{prefix}/") else None
    match = (
        _DISCOVERY_TOPIC.fullmatch(rest)
        if rest is not None and len(topic) <= MAX_TOPIC_LENGTH
        else None
    )
    if match is None:
        return (RefusedDiscovery(topic, DiscoveryRefusal.NOT_A_DISCOVERY_TOPIC),)
    component, node_id, object_id = match.group("component", "node_id", "object_id")

    def refused(reason: DiscoveryRefusal) -> tuple[DiscoveryResult, ...]:
        return (RefusedDiscovery(topic, reason, component, node_id, object_id),)

    config = _load(payload, max_bytes)
    if isinstance(config, DiscoveryRefusal):
        return refused(config)
    if not config:  # `{}` removes the entity, as an empty payload does
        return refused(DiscoveryRefusal.REMOVED)
    if component != "device":
        _expand(config, ABBREVIATIONS)
        return (_sensor(topic, component, node_id, object_id, config),)

    _expand(config, ABBREVIATIONS)
    components = config.get("components")
    device = config.get("device")
    if not isinstance(components, dict):
        return refused(DiscoveryRefusal.INVALID_FIELD)
    if len(components) > MAX_COMPONENTS:
        return refused(DiscoveryRefusal.TOO_MANY_COMPONENTS)
    if not components:  # the device withdrew all its entities
        return refused(DiscoveryRefusal.REMOVED)
    results: list[DiscoveryResult] = []
    for component_id, component_config in components.items():
        if not isinstance(component_config, dict) or len(component_id) > (
            MAX_TEXT_LENGTH
        ):
            results.append(
                RefusedDiscovery(
                    topic, DiscoveryRefusal.INVALID_FIELD, None, object_id, component_id
                )
            )
            continue
        entity = dict(component_config)
        _expand(entity, ABBREVIATIONS)
        platform = entity.pop("platform", None)
        if not isinstance(platform, str):
            results.append(
                RefusedDiscovery(
                    topic, DiscoveryRefusal.INVALID_FIELD, None, object_id, component_id
                )
            )
            continue
        if not entity:
            results.append(
                RefusedDiscovery(
                    topic, DiscoveryRefusal.REMOVED, platform, object_id, component_id
                )
            )
            continue
        entity["device"] = device
        if "state_topic" in config and "state_topic" not in entity:
            entity["state_topic"] = config["state_topic"]
        results.append(_sensor(topic, platform, object_id, component_id, entity))
    return tuple(results)


def _load(payload: bytes | bytearray | str, max_bytes: int) -> Any:
    """The config object of a payload, or why there is none."""
    if isinstance(payload, str):
        raw = payload.encode("utf-8", "surrogateescape")
    else:
        raw = bytes(payload)
    if not raw:
        return DiscoveryRefusal.REMOVED
    if len(raw) > max_bytes:
        return DiscoveryRefusal.TOO_LARGE
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return DiscoveryRefusal.NOT_UTF8
    try:
        config = json.loads(text)
    except (ValueError, RecursionError):
        return DiscoveryRefusal.INVALID_JSON
    if not isinstance(config, dict):
        return DiscoveryRefusal.NOT_AN_OBJECT
    return config


def _expand(config: dict[str, Any], abbreviations: dict[str, str]) -> None:
    """Replace abbreviated keys, as Home Assistant does (the abbreviation wins)."""
    for short in abbreviations.keys() & config.keys():
        config[abbreviations[short]] = config.pop(short)


def _sensor(
    topic: str,
    component: str,
    node_id: str | None,
    object_id: str,
    config: dict[str, Any],
) -> DiscoveryResult:
    name = config.get("name")
    name = name if isinstance(name, str) and len(name) <= MAX_TEXT_LENGTH else None
    device = config.get("device")
    device_name = device.get("name") if isinstance(device, dict) else None
    device_name = (
        device_name
        if isinstance(device_name, str) and len(device_name) <= MAX_TEXT_LENGTH
        else None
    )

    def refused(reason: DiscoveryRefusal) -> RefusedDiscovery:
        return RefusedDiscovery(
            topic, reason, component, node_id, object_id, name, device_name
        )

    if component != "sensor":
        return refused(DiscoveryRefusal.NOT_A_SENSOR)
    try:
        return _read_sensor(topic, component, node_id, object_id, config, name)
    except _Refused as refusal:
        return refused(refusal.reason)


def _read_sensor(
    topic: str,
    component: str,
    node_id: str | None,
    object_id: str,
    config: dict[str, Any],
    name: str | None,
) -> DiscoveredSensor:
    if _TOPIC_BASE in config:
        base = config.pop(_TOPIC_BASE)
        state = config.get("state_topic")
        if isinstance(state, str) and state:
            if not isinstance(base, str):
                raise _Refused(DiscoveryRefusal.INVALID_STATE_TOPIC)
            if state[0] == _TOPIC_BASE:
                config["state_topic"] = f"{base}{state[1:]}"
            if state[-1] == _TOPIC_BASE:
                config["state_topic"] = f"{state[:-1]}{base}"
    if "state_topic" not in config:
        raise _Refused(DiscoveryRefusal.NO_STATE_TOPIC)
    state_topic = config["state_topic"]
    if not _valid_subscribe_topic(state_topic):
        raise _Refused(DiscoveryRefusal.INVALID_STATE_TOPIC)
    if "name" in config and config["name"] is not None and name is None:
        raise _Refused(DiscoveryRefusal.INVALID_FIELD)

    unit = _optional_text(config, "unit_of_measurement")
    if unit is not None:
        unit = AMBIGUOUS_UNITS.get(unit, unit) if unit.strip() else None
    device_class = _optional_text(config, "device_class")
    if device_class is not None:
        device_class = device_class.lower()
        if device_class not in SENSOR_DEVICE_CLASSES:
            raise _Refused(DiscoveryRefusal.INVALID_FIELD)
    state_class = _optional_text(config, "state_class")
    if state_class is not None:
        state_class = state_class.lower()
        if state_class not in SENSOR_STATE_CLASSES:
            raise _Refused(DiscoveryRefusal.INVALID_FIELD)
    entity_category = _optional_text(config, "entity_category")
    if entity_category is not None and entity_category not in ENTITY_CATEGORIES:
        raise _Refused(DiscoveryRefusal.INVALID_FIELD)
    precision = config.get("suggested_display_precision")
    if isinstance(precision, str) and precision.strip().isdigit():
        digits = precision.strip()  # cv.positive_int reads "2" too
        precision = int(digits) if len(digits) <= 3 else None
        if precision is None:
            raise _Refused(DiscoveryRefusal.INVALID_FIELD)
    if precision is not None and not (
        type(precision) is int and 0 <= precision <= MAX_DISPLAY_PRECISION
    ):
        raise _Refused(DiscoveryRefusal.INVALID_FIELD)
    enabled = _boolean(config.get("enabled_by_default", True))
    unique_id = _optional_text(config, "unique_id", coerce=True)
    device = _device(config.get("device"))

    if device_class in NON_NUMERIC_DEVICE_CLASSES or not (
        state_class is not None
        or unit is not None
        or precision is not None
        or device_class is not None
    ):
        raise _Refused(DiscoveryRefusal.NOT_NUMERIC)

    template = config.get("value_template")
    if template is not None and not isinstance(template, str):
        raise _Refused(DiscoveryRefusal.INVALID_FIELD)
    read = value_path_of(template)
    if isinstance(read, DiscoveryRefusal):
        raise _Refused(read)
    if precision is None:
        precision = read.round_digits
    return DiscoveredSensor(
        discovery_topic=topic,
        component=component,
        node_id=node_id,
        object_id=object_id,
        state_topic=state_topic,
        value_path=read.value_path,
        name=name,
        unit=unit,
        device_class=device_class,
        state_class=state_class,
        entity_category=entity_category,
        suggested_display_precision=precision,
        enabled_by_default=enabled,
        unique_id=unique_id,
        device=device,
    )


def _optional_text(
    config: dict[str, Any], key: str, *, coerce: bool = False
) -> str | None:
    """A string field (None if absent or null); anything else is refused.

    With `coerce`, numbers are read as text (Home Assistant's `cv.string`).
    """
    value = config.get(key)
    if value is None:
        return None
    if not coerce and not isinstance(value, str):
        raise _Refused(DiscoveryRefusal.INVALID_FIELD)
    return _text(value)


def _boolean(value: Any) -> bool:
    """Home Assistant's `cv.boolean`."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        word = value.lower().strip()
        if word in ("1", "true", "yes", "on", "enable"):
            return True
        if word in ("0", "false", "no", "off", "disable"):
            return False
    raise _Refused(DiscoveryRefusal.INVALID_FIELD)


def _device(device: Any) -> AnnouncedDevice:
    """The announced device's name, identifiers and labels."""
    if device is None:
        return AnnouncedDevice()
    if not isinstance(device, dict):
        raise _Refused(DiscoveryRefusal.INVALID_FIELD)
    device = dict(device)
    _expand(device, DEVICE_ABBREVIATIONS)
    identifiers = device.get("identifiers", [])
    if not isinstance(identifiers, list):
        identifiers = [identifiers]  # cv.ensure_list
    connections = device.get("connections", [])
    if not isinstance(connections, list):
        connections = [connections]
    if len(identifiers) > MAX_IDENTIFIERS or len(connections) > MAX_IDENTIFIERS:
        raise _Refused(DiscoveryRefusal.INVALID_FIELD)
    pairs: list[tuple[str, str]] = []
    for connection in connections:
        if not isinstance(connection, list) or len(connection) != 2:
            raise _Refused(DiscoveryRefusal.INVALID_FIELD)
        pairs.append((_text(connection[0]), _text(connection[1])))
    return AnnouncedDevice(
        name=_optional_text(device, "name", coerce=True),
        identifiers=tuple(_text(identifier) for identifier in identifiers),
        connections=tuple(pairs),
        manufacturer=_optional_text(device, "manufacturer", coerce=True),
        model=_optional_text(device, "model", coerce=True),
        suggested_area=_optional_text(device, "suggested_area", coerce=True),
    )


def _text(value: Any) -> str:
    """A required label: text, or a number read as text (`cv.string`)."""
    if type(value) in (int, float):
        value = str(value)
    if not isinstance(value, str) or len(value) > MAX_TEXT_LENGTH:
        raise _Refused(DiscoveryRefusal.INVALID_FIELD)
    return value


def _valid_subscribe_topic(topic: Any) -> bool:
    """Home Assistant's `valid_subscribe_topic`, within IoTitan's length bound."""
    if not isinstance(topic, str) or not topic or len(topic) > MAX_TOPIC_LENGTH:
        return False
    try:
        topic.encode("utf-8")
    except UnicodeError:
        return False
    for char in topic:
        if char <= "\u001f" or "\u007f" <= char <= "\u009f":
            return False  # NUL and control characters
        if "\ufdd0" <= char <= "\ufdef" or (ord(char) & 0xFFFF) in (0xFFFE, 0xFFFF):
            return False  # non-characters
    levels = topic.split("/")
    for index, level in enumerate(levels):
        if "+" in level and level != "+":
            return False
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return False
    return True


# --- Value templates ----------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    |(?P<string>'[^'\\]*'|"[^"\\]*")
    |(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op>\*\*|//|==|!=|<=|>=|[+\-*/%~<>=])
    |(?P<punct>[.\[\](),|])
    """,
    re.VERBOSE,
)
_ARITHMETIC = frozenset({"+", "-", "*", "/", "//", "%", "**", "~"})
_COMPARISONS = frozenset({"==", "!=", "<", ">", "<=", ">="})
_CONDITION_WORDS = frozenset({"if", "else", "elif", "is", "and", "or", "not", "in"})
# Attributes Jinja reads before keys: `value_json.items` is dict.items.
_METHODS = frozenset(
    name for name in (*dir(dict), *dir(list), *dir(str)) if not name.startswith("_")
)
_NEUTRAL_FILTERS = frozenset({"float", "round", "is_defined"})


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str


def value_path_of(template: str | None) -> TemplatePath | DiscoveryRefusal:
    """The value path a simple value template reads, or why it is not simple.

    `None` (no template) and `{{ value }}` read the whole payload.
    """
    if template is None:
        return TemplatePath(())
    if len(template) > MAX_TEMPLATE_LENGTH:
        return DiscoveryRefusal.TEMPLATE_TOO_LONG
    text = template.strip()
    if "{%" in text:
        statement = text.split("{%", 1)[1].lstrip("-+ \t\r\n")
        word = re.match(r"\w*", statement)
        if word is not None and word.group() in ("if", "elif", "else"):
            return DiscoveryRefusal.TEMPLATE_CONDITION
        return DiscoveryRefusal.TEMPLATE_MULTIPLE
    if (
        not text.startswith("{{")
        or not text.endswith("}}")
        or text.count("{{") != 1
        or text.count("}}") != 1
        or "{#" in text
    ):
        return DiscoveryRefusal.TEMPLATE_MULTIPLE
    inner = text[2:-2]
    if inner.startswith("-"):  # whitespace control: `{{- ... -}}`
        inner = inner[1:]
    if inner.endswith("-"):
        inner = inner[:-1]
    tokens = _tokenize(inner)
    if tokens is None:
        return DiscoveryRefusal.TEMPLATE_UNSUPPORTED
    previous = ""
    for token in tokens:
        if token.text in _COMPARISONS or (
            token.kind == "name" and token.text in _CONDITION_WORDS
        ):
            return DiscoveryRefusal.TEMPLATE_CONDITION
        if (
            token.kind == "op"
            and token.text in _ARITHMETIC
            and not (token.text == "-" and previous in ("(", ",", "=", "["))
        ):
            return DiscoveryRefusal.TEMPLATE_ARITHMETIC
        previous = token.text
    return _parse_expression(tokens)


def _tokenize(text: str) -> list[_Token] | None:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            return None
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group()))
        position = match.end()
    return tokens


def _parse_expression(tokens: list[_Token]) -> TemplatePath | DiscoveryRefusal:
    if not tokens or tokens[0].kind != "name":
        return DiscoveryRefusal.TEMPLATE_UNSUPPORTED
    variable = tokens[0].text
    index = 1
    path: list[str] = []
    if variable == "value_json":
        while index < len(tokens) and tokens[index].text in (".", "["):
            segment, index = _accessor(tokens, index)
            if isinstance(segment, DiscoveryRefusal):
                return segment
            path.append(segment)
        if not path or len(path) > MAX_PATH_SEGMENTS:
            return DiscoveryRefusal.TEMPLATE_NOT_A_PATH
    elif variable != "value":
        return DiscoveryRefusal.TEMPLATE_UNSUPPORTED
    digits: int | None = None
    while index < len(tokens):
        if tokens[index].text != "|":
            return DiscoveryRefusal.TEMPLATE_UNSUPPORTED
        result, index = _filter(tokens, index + 1)
        if isinstance(result, DiscoveryRefusal):
            return result
        if result is not None:
            digits = result
    return TemplatePath(tuple(path), digits)


def _accessor(tokens: list[_Token], index: int) -> tuple[str | DiscoveryRefusal, int]:
    """One `.name`, `.0`, `['key']` or `[0]` at `index`: the segment and what follows."""
    if tokens[index].text == ".":
        if index + 1 >= len(tokens):
            return DiscoveryRefusal.TEMPLATE_UNSUPPORTED, index + 1
        token = tokens[index + 1]
        if token.kind == "name":
            if token.text in _METHODS:
                return DiscoveryRefusal.TEMPLATE_NOT_A_PATH, index + 2
            return token.text, index + 2
        if token.kind == "number" and token.text.isdigit():
            return token.text, index + 2
        return DiscoveryRefusal.TEMPLATE_UNSUPPORTED, index + 2
    # "[" key "]"
    if index + 2 >= len(tokens):
        return DiscoveryRefusal.TEMPLATE_UNSUPPORTED, index + 1
    key, close = tokens[index + 1], tokens[index + 2]
    if key.text == "-":
        return DiscoveryRefusal.TEMPLATE_NOT_A_PATH, index + 2  # a negative index
    if close.text != "]":
        return DiscoveryRefusal.TEMPLATE_UNSUPPORTED, index + 3
    if key.kind == "string":
        segment = key.text[1:-1]
        if not segment or "." in segment or segment != segment.strip():
            return DiscoveryRefusal.TEMPLATE_NOT_A_PATH, index + 3
        return segment, index + 3
    if key.kind == "number" and key.text.isdigit():
        return key.text, index + 3
    return DiscoveryRefusal.TEMPLATE_UNSUPPORTED, index + 3


def _filter(
    tokens: list[_Token], index: int
) -> tuple[int | None | DiscoveryRefusal, int]:
    """One filter at `index`: the digits it rounds to (None if it does not), and what follows."""
    if index >= len(tokens) or tokens[index].kind != "name":
        return DiscoveryRefusal.TEMPLATE_UNSUPPORTED, index
    name = tokens[index].text
    if name not in _NEUTRAL_FILTERS:
        return DiscoveryRefusal.TEMPLATE_FILTER, index
    index += 1
    arguments: list[str] = []
    if index < len(tokens) and tokens[index].text == "(":
        index += 1
        while index < len(tokens) and tokens[index].text != ")":
            arguments.append(tokens[index].text)
            index += 1
        if index >= len(tokens):
            return DiscoveryRefusal.TEMPLATE_UNSUPPORTED, index
        index += 1
    text = "".join(arguments)
    if name == "is_defined":
        ok = not text
        digits = None
    elif name == "float":
        # float, float(0), float(-1.5), float(default=0): only the default varies.
        ok = not text or re.fullmatch(r"(?:default=)?-?\d+(?:\.\d+)?", text) is not None
        digits = None
    else:  # round, round(2), round(2, 'common'), round(precision=2)
        match = re.fullmatch(
            r"(?:(?:precision=)?(\d{1,2})(?:,(?:method=)?(['\"])common\2)?)?", text
        )
        ok = match is not None
        digits = int(match.group(1)) if match is not None and match.group(1) else 0
    if not ok:
        return DiscoveryRefusal.TEMPLATE_FILTER, index
    return digits, index
