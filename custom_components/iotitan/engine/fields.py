"""Find the numeric fields of sample payloads and guess what each one measures.

The source flow listens to a topic filter for a few seconds and offers the
readings it saw: `discover_fields` takes those payloads and lists every numeric
field (nested objects and arrays included: `AM2301.Temperature`,
`aenergy.by_minute.0`), with a readable name, the last value seen, and a guess
of its Home Assistant unit, device class and state class, and whether it is
diagnostic. A plain payload (ESPHome, ESPEasy: `21.50`) is one field with the
empty path, guessed from the topic (`.../living_room_temperature/state`).

A field is numeric when `MultiPathParser` (with `words_as_numbers=False`) reads
a number from it: JSON numbers and numbers written in strings (OpenMQTTGateway
sends `"hum":"52.6"`), never booleans or on/off words. Skipped: times and other
timestamp-like fields (`Time`, `last_seen`, `minute_ts`, `timer_started_at`, or
an unknown field whose every value lies between 2000 and 2100 in epoch seconds
or milliseconds), identifiers (`id`, `model_id`), and fields a value path cannot
name (a key with a dot, such as Tasmota's `"PM2.5"`, or with surrounding
spaces): those are listed in `FieldDiscovery.unaddressable` instead.

Guesses come from the names Zigbee2MQTT, Tasmota, Shelly Gen2, ESPHome and
OpenMQTTGateway use, compared without case, `_`, `-` or spaces, and then by the
last word of a compound name (`device_temperature`, `battery_voltage`;
`temperature_offset` ends in "offset" and is not a temperature):

| Names | Unit | Device class |
| --- | --- | --- |
| temperature, temp, tempc, tc, dewpoint, heatindex | °C (°F after Tasmota's `"TempUnit":"F"`) | temperature |
| tempf, tf | °F | temperature |
| humidity, hum, rh | % | humidity |
| pressure, pres, seapressure | hPa (Tasmota's `PressureUnit`; without it only for values from 300 to 1100) | atmospheric_pressure |
| battery, batt, battery.percent | % (diagnostic) | battery |
| power, apower, activepower | W | power |
| apparentpower, reactivepower (Tasmota) | VA, var | apparent_power, reactive_power |
| energy; Tasmota ENERGY.Total/Today/Yesterday | kWh (total_increasing) | energy |
| Shelly aenergy.total | Wh (total_increasing) | energy |
| voltage, batteryvoltage | mV when every value is from 1000 to 10000 (Zigbee2MQTT battery devices), V when below 1000, else unknown | voltage |
| volt, battery.V | V | voltage |
| current | A | current |
| illuminance, lux | lx | illuminance |
| co2, eco2, carbondioxide | ppm | carbon_dioxide |
| pm25 / pm2_5, pm10, pm4, pm1 | μg/m³ | pm25, pm10, pm4, pm1 |
| linkquality, lqi | lqi (diagnostic) | none |
| rssi, signal | dBm when every value is 0 or below, else unknown (diagnostic); Tasmota Wifi.RSSI is a percentage | signal_strength |

Everything else is listed with no unit and no device class rather than a
wrong one; a device class is only given with a unit (Home Assistant wants
both). Bounded, as publishers are untrusted: payloads read, their size, the
depth followed, the items of an array, the values visited per payload and the
fields kept all have limits, and `FieldDiscovery.truncated` says when one was
reached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
import json
import re
from typing import Any

from .payload import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    PayloadParser,
    Rejection,
    _parse_json_value,
)
from .topic_names import GENERIC_LEVELS

MAX_PAYLOADS = 50
"""Payloads read; later ones are ignored (and `truncated` is set)."""
MAX_DEPTH = 8
"""Path segments followed into nested objects and arrays."""
MAX_ARRAY_ITEMS = 16
"""Items of one array looked at."""
MAX_VALUES_VISITED = 4096
"""JSON values visited per payload."""
MAX_FIELDS = 64
"""Distinct numeric fields kept."""
MAX_UNADDRESSABLE = 16
"""Unaddressable fields listed."""

# Units and device classes as Home Assistant spells them (homeassistant.const,
# homeassistant.components.sensor.SensorDeviceClass); a test compares them.
CELSIUS = "°C"
FAHRENHEIT = "°F"
PERCENTAGE = "%"
HECTOPASCAL = "hPa"
WATT = "W"
KILOWATT_HOUR = "kWh"
WATT_HOUR = "Wh"
VOLT = "V"
MILLIVOLT = "mV"
AMPERE = "A"
LUX = "lx"
PARTS_PER_MILLION = "ppm"
MICROGRAMS_PER_CUBIC_METER = "μg/m³"  # Greek mu, as Home Assistant writes it
VOLT_AMPERE = "VA"
VOLT_AMPERE_REACTIVE = "var"
LQI = "lqi"  # Zigbee2MQTT's unit of link quality; Home Assistant has no constant
DECIBEL_MILLIWATT = "dBm"

MEASUREMENT = "measurement"
TOTAL_INCREASING = "total_increasing"

# Tasmota's "PressureUnit" values and the Home Assistant units they are.
_PRESSURE_UNITS = {"hpa": HECTOPASCAL, "mmhg": "mmHg", "inhg": "inHg"}
_TEMPERATURE_UNITS = {"c": CELSIUS, "f": FAHRENHEIT}

# Epoch seconds from 2000-01-01 to 2100-01-01: an unknown integer field always in
# this range (or 1000 times it) is a time, not a reading.
_EPOCH_FROM = 946_684_800
_EPOCH_TO = 4_102_444_800

_TIME_NAMES = frozenset(
    {
        "time",
        "timestamp",
        "ts",
        "epoch",
        "date",
        "datetime",
        "lastseen",
        "lastupdate",
        "lastupdated",
        "updatedat",
        "createdat",
    }
)
_TIME_LAST_WORDS = frozenset({"time", "timestamp", "ts", "epoch", "at", "date"})
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


@dataclass(frozen=True, slots=True)
class FieldGuess:
    """What a field probably measures, in Home Assistant's terms."""

    unit: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    diagnostic: bool = False


@dataclass(frozen=True, slots=True)
class DiscoveredField:
    """A numeric field seen in the sample payloads."""

    path: str
    """Dotted value path, as the source's value path is written; "" is the
    whole payload."""
    name: str
    """A readable name to start from ("AM2301 Temperature")."""
    guess: FieldGuess
    example: float
    """The value in the last payload that had it."""
    count: int
    """How many payloads had a number there."""


@dataclass(frozen=True, slots=True)
class FieldDiscovery:
    """The numeric fields of some payloads, and what limited the search."""

    fields: tuple[DiscoveredField, ...]
    """In the order they first appeared."""
    unaddressable: tuple[tuple[str, ...], ...] = ()
    """Keys leading to numeric fields that a value path cannot name."""
    truncated: bool = False
    """A limit was reached: there may be more fields than listed."""
    payloads: int = 0
    """Payloads read."""
    unreadable: int = 0
    """Payloads read that were neither JSON nor a plain number."""


@dataclass(slots=True)
class _Seen:
    name_keys: tuple[str, ...]
    values: list[float] = field(default_factory=list)
    count: int = 0
    temperature_unit: str | None = None
    pressure_unit: str | None = None


def discover_fields(
    payloads: Iterable[bytes | bytearray | str],
    *,
    topic: str | None = None,
    max_payloads: int = MAX_PAYLOADS,
    max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    max_depth: int = MAX_DEPTH,
    max_fields: int = MAX_FIELDS,
) -> FieldDiscovery:
    """The numeric fields of `payloads` with guesses from their names and values.

    `topic` (one the payloads came from) names a plain payload's field. Never
    raises for any payload.
    """
    plain = PayloadParser((), max_bytes=max_bytes, words_as_numbers=False)
    seen: dict[tuple[str, ...], _Seen] = {}
    unaddressable: dict[tuple[str, ...], None] = {}
    truncated = False
    read = unreadable = 0
    for payload in payloads:
        if read >= max_payloads:
            truncated = True
            break
        read += 1
        document = _document(payload, max_bytes)
        if isinstance(document, Rejection):
            number = plain.parse(payload)
            if isinstance(number, Rejection):
                unreadable += 1
                continue
            leaves: list[tuple[tuple[str, ...], float]] = [((), number)]
            hints: tuple[str | None, str | None] = (None, None)
        else:
            leaves, bad, cut = _numeric_leaves(document, max_depth)
            truncated |= cut
            for keys in bad:
                if len(unaddressable) < MAX_UNADDRESSABLE:
                    unaddressable.setdefault(keys, None)
                else:
                    truncated = True
            hints = _hints(document)
        for path, number in leaves:
            entry = seen.get(path)
            if entry is None:
                if len(seen) >= max_fields:
                    truncated = True
                    continue
                name_keys = path or _topic_keys(topic)
                entry = seen[path] = _Seen(name_keys)
            entry.count += 1
            entry.values.append(number)  # at most one a payload: max_payloads
            if hints[0] is not None:
                entry.temperature_unit = hints[0]
            if hints[1] is not None:
                entry.pressure_unit = hints[1]
    fields: list[DiscoveredField] = []
    for path, entry in seen.items():
        if _timestamp_like(entry.name_keys, entry.values):
            continue
        fields.append(
            DiscoveredField(
                path=".".join(path),
                name=field_name(entry.name_keys),
                guess=guess_field(
                    entry.name_keys,
                    entry.values,
                    temperature_unit=entry.temperature_unit,
                    pressure_unit=entry.pressure_unit,
                ),
                example=entry.values[-1],
                count=entry.count,
            )
        )
    return FieldDiscovery(
        fields=tuple(fields),
        unaddressable=tuple(unaddressable),
        truncated=truncated,
        payloads=read,
        unreadable=unreadable,
    )


def _document(payload: bytes | bytearray | str, max_bytes: int) -> Any:
    """The JSON object or array of a payload, else the reason it has none."""
    if isinstance(payload, str):
        raw = payload.encode("utf-8", "surrogateescape")
    else:
        raw = bytes(payload)
    if len(raw) > max_bytes:
        return Rejection.TOO_LARGE
    try:
        document = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # includes UnicodeDecodeError
        return Rejection.INVALID_JSON
    if not isinstance(document, dict | list):
        return Rejection.NOT_A_NUMBER  # a scalar: read as a plain payload
    return document


def _addressable(key: str) -> bool:
    """Whether `parse_value_path` gives this key back as one segment."""
    return bool(key) and "." not in key and key == key.strip()


def _numeric_leaves(
    document: Any, max_depth: int
) -> tuple[list[tuple[tuple[str, ...], float]], list[tuple[str, ...]], bool]:
    """Numeric leaves (path, value), unaddressable ones, and whether a bound cut."""
    leaves: list[tuple[tuple[str, ...], float]] = []
    unaddressable: list[tuple[str, ...]] = []
    cut = False
    visited = 0
    # Depth first, in document order: a stack of (keys, value, addressable).
    stack: list[tuple[tuple[str, ...], Any, bool]] = [((), document, True)]
    while stack:
        keys, node, addressable = stack.pop()
        visited += 1
        if visited > MAX_VALUES_VISITED:
            return leaves, unaddressable, True
        if isinstance(node, dict | list):
            if len(keys) >= max_depth:
                cut |= bool(node)
                continue
            if isinstance(node, dict):
                children = [
                    ((*keys, key), value, addressable and _addressable(key))
                    for key, value in node.items()
                ]
            else:
                cut |= len(node) > MAX_ARRAY_ITEMS
                children = [
                    ((*keys, str(index)), value, addressable)
                    for index, value in enumerate(node[:MAX_ARRAY_ITEMS])
                ]
            stack.extend(reversed(children))
            continue
        number = _parse_json_value(node, False)
        if isinstance(number, Rejection):
            continue
        if addressable:
            leaves.append((keys, number))
        else:
            unaddressable.append(keys)
    return leaves, unaddressable, cut


def _hints(document: Any) -> tuple[str | None, str | None]:
    """Tasmota's "TempUnit" and "PressureUnit" at the top of a message."""
    if not isinstance(document, dict):
        return None, None
    temperature = document.get("TempUnit")
    pressure = document.get("PressureUnit")
    return (
        temperature if isinstance(temperature, str) else None,
        pressure if isinstance(pressure, str) else None,
    )


def _topic_keys(topic: str | None) -> tuple[str, ...]:
    """The key a plain payload's topic gives it: its last level that says something."""
    if topic:
        for level in reversed(topic.split("/")):
            if level.strip() and level.strip().lower() not in GENERIC_LEVELS:
                return (level.strip(),)
    return ()


def _compact(text: str) -> str:
    """Lower case without separators: `Dew_Point` -> `dewpoint`."""
    return re.sub(r"[\s_\-:]+", "", text).lower()


def _words(text: str) -> list[str]:
    """The words of a key: `DewPoint` -> [dew, point], `battery_voltage` -> [battery, voltage]."""
    return [word.lower() for word in _WORDS.findall(text)]


def _named_keys(keys: Sequence[str]) -> list[str]:
    """The keys without array indices."""
    return [key for key in keys if not (key.isascii() and key.isdigit())]


def _timestamp_like(keys: Sequence[str], values: Sequence[float]) -> bool:
    named = _named_keys(keys)
    if named:
        key = named[-1]
        words = _words(key)
        if _compact(key) in _TIME_NAMES or (words and words[-1] in _TIME_LAST_WORDS):
            return True
        if words and words[-1] == "id":
            return True  # an identifier, not a reading
    if values and _guess_known(keys, values, None, None) is None:
        return all(
            float(value).is_integer()
            and (
                _EPOCH_FROM <= value < _EPOCH_TO
                or _EPOCH_FROM * 1000 <= value < _EPOCH_TO * 1000
            )
            for value in values
        )
    return False


def field_name(keys: Sequence[str]) -> str:
    """A readable name for a path: `AM2301.Temperature` -> "AM2301 Temperature".

    Abbreviations devices use for the last key read as words (`tempc` ->
    "Temperature", `hum` -> "Humidity"), and a word repeated next to itself is
    said once (Shelly's `temperature.tC` -> "Temperature").
    """
    parts = [key.replace("_", " ").strip() for key in keys if key.strip()]
    if parts and (label := _LABELS.get(_compact(keys[-1]))) is not None:
        parts[-1] = label
    words: list[str] = []
    for word in " ".join(parts).split():
        if not words or word.lower() != words[-1].lower():
            words.append(word)
    if not words:
        return "Value"
    text = " ".join(words)
    return text[0].upper() + text[1:]


_LABELS = {
    "tempc": "Temperature",
    "tc": "Temperature",
    "temp": "Temperature",
    "tempf": "Temperature °F",
    "tf": "Temperature °F",
    "dewpoint": "Dew point",
    "heatindex": "Heat index",
    "hum": "Humidity",
    "rh": "Humidity",
    "batt": "Battery",
    "volt": "Voltage",
    "apower": "Power",
    "co2": "CO2",
    "eco2": "eCO2",
    "pm25": "PM2.5",
    "pm10": "PM10",
    "pm1": "PM1",
    "pm4": "PM4",
    "linkquality": "Link quality",
    "lqi": "LQI",
    "rssi": "RSSI",
}


def guess_field(
    keys: Sequence[str],
    values: Sequence[float] = (),
    *,
    temperature_unit: str | None = None,
    pressure_unit: str | None = None,
) -> FieldGuess:
    """What the field at `keys` probably measures, from its name and values.

    `values` are numbers seen there (some units are told apart by magnitude);
    `temperature_unit` and `pressure_unit` are Tasmota's "TempUnit" and
    "PressureUnit" from the same message. Unknown: an empty guess.
    """
    known = _guess_known(keys, values, temperature_unit, pressure_unit)
    if known is None:
        return FieldGuess()
    if known.unit is None and known.device_class is not None:
        # Home Assistant wants a unit with a numeric device class.
        return FieldGuess(None, None, known.state_class, known.diagnostic)
    return known


def _guess_known(
    keys: Sequence[str],
    values: Sequence[float],
    temperature_unit: str | None,
    pressure_unit: str | None,
) -> FieldGuess | None:
    named = _named_keys(keys)
    if not named:
        return None
    key = named[-1]
    parent = _compact(named[-2]) if len(named) > 1 else ""
    compact = _compact(key)
    words = _words(key)
    candidates = [compact]
    if len(words) > 1:
        candidates += ["".join(words[-2:]), words[-1]]
    context = (parent, compact)
    if context in _CONTEXT_RULES:
        return _CONTEXT_RULES[context]
    for candidate in candidates:
        rule = _RULES.get(candidate)
        if rule is not None:
            return rule(values, temperature_unit, pressure_unit)
    return None


type _Rule = Callable[[Sequence[float], str | None, str | None], FieldGuess]
"""A guess from the values seen, Tasmota's TempUnit and its PressureUnit."""


def _fixed(
    unit: str | None,
    device_class: str | None,
    state_class: str | None = MEASUREMENT,
    diagnostic: bool = False,
) -> _Rule:
    guess = FieldGuess(unit, device_class, state_class, diagnostic)
    return lambda values, temperature_unit, pressure_unit: guess


def _temperature(
    values: Sequence[float], temperature_unit: str | None, pressure_unit: str | None
) -> FieldGuess:
    unit = (
        _TEMPERATURE_UNITS.get(temperature_unit.strip().lower())
        if temperature_unit is not None
        else CELSIUS
    )
    return FieldGuess(unit, "temperature", MEASUREMENT)


def _pressure(
    values: Sequence[float], temperature_unit: str | None, pressure_unit: str | None
) -> FieldGuess:
    if pressure_unit is not None:
        unit = _PRESSURE_UNITS.get(pressure_unit.strip().lower())
    elif values and all(300 <= value <= 1100 for value in values):
        unit = HECTOPASCAL
    else:
        unit = None
    return FieldGuess(unit, "atmospheric_pressure", MEASUREMENT)


def _voltage(diagnostic: bool) -> _Rule:
    def rule(
        values: Sequence[float], temperature_unit: str | None, pressure_unit: str | None
    ) -> FieldGuess:
        if values and all(1000 <= value < 10000 for value in values):
            unit: str | None = MILLIVOLT
        elif values and all(0 <= value < 1000 for value in values):
            unit = VOLT
        else:
            unit = None
        return FieldGuess(unit, "voltage", MEASUREMENT, diagnostic)

    return rule


def _signal(
    values: Sequence[float], temperature_unit: str | None, pressure_unit: str | None
) -> FieldGuess:
    if values and all(value <= 0 for value in values):
        return FieldGuess(DECIBEL_MILLIWATT, "signal_strength", MEASUREMENT, True)
    return FieldGuess(None, None, MEASUREMENT, True)


_BATTERY = _fixed(PERCENTAGE, "battery", diagnostic=True)
_ENERGY_KWH = _fixed(KILOWATT_HOUR, "energy", TOTAL_INCREASING)
_RULES: dict[str, _Rule] = {
    **dict.fromkeys(
        ("temperature", "temp", "tempc", "temperaturec", "tc", "dewpoint", "heatindex"),
        _temperature,
    ),
    **dict.fromkeys(("tempf", "temperaturef", "tf"), _fixed(FAHRENHEIT, "temperature")),
    **dict.fromkeys(
        ("humidity", "hum", "rh", "relativehumidity"), _fixed(PERCENTAGE, "humidity")
    ),
    **dict.fromkeys(("pressure", "pres", "seapressure"), _pressure),
    **dict.fromkeys(("battery", "batt", "batterylevel"), _BATTERY),
    **dict.fromkeys(("power", "apower", "activepower"), _fixed(WATT, "power")),
    # Tasmota's ENERGY.ApparentPower and ReactivePower: not active power.
    "apparentpower": _fixed(VOLT_AMPERE, "apparent_power"),
    "reactivepower": _fixed(VOLT_AMPERE_REACTIVE, "reactive_power"),
    "energy": _ENERGY_KWH,
    "voltage": _voltage(diagnostic=False),
    "batteryvoltage": _voltage(diagnostic=True),
    "volt": _fixed(VOLT, "voltage"),
    "current": _fixed(AMPERE, "current"),
    **dict.fromkeys(("illuminance", "lux"), _fixed(LUX, "illuminance")),
    **dict.fromkeys(
        ("co2", "eco2", "carbondioxide"), _fixed(PARTS_PER_MILLION, "carbon_dioxide")
    ),
    "pm25": _fixed(MICROGRAMS_PER_CUBIC_METER, "pm25"),  # also pm2_5, PM2-5
    "pm10": _fixed(MICROGRAMS_PER_CUBIC_METER, "pm10"),
    "pm1": _fixed(MICROGRAMS_PER_CUBIC_METER, "pm1"),
    "pm4": _fixed(MICROGRAMS_PER_CUBIC_METER, "pm4"),
    **dict.fromkeys(("linkquality", "lqi"), _fixed(LQI, None, diagnostic=True)),
    **dict.fromkeys(("rssi", "signal"), _signal),
}
_CONTEXT_RULES: dict[tuple[str, str], FieldGuess] = {
    # Shelly Gen2: aenergy.total is in watt-hours; by_minute in milliwatt-hours
    # per minute (not a total: left unknown).
    ("aenergy", "total"): FieldGuess(WATT_HOUR, "energy", TOTAL_INCREASING),
    ("retaenergy", "total"): FieldGuess(WATT_HOUR, "energy", TOTAL_INCREASING),
    # Tasmota's ENERGY object: kWh counters.
    **dict.fromkeys(
        (("energy", "total"), ("energy", "today"), ("energy", "yesterday")),
        FieldGuess(KILOWATT_HOUR, "energy", TOTAL_INCREASING),
    ),
    # Shelly DevicePower: battery.percent and battery.V.
    ("battery", "percent"): FieldGuess(PERCENTAGE, "battery", MEASUREMENT, True),
    ("battery", "v"): FieldGuess(VOLT, "voltage", MEASUREMENT, True),
    # Tasmota's Wifi.RSSI is a percentage of signal quality, not dBm.
    ("wifi", "rssi"): FieldGuess(PERCENTAGE, None, MEASUREMENT, True),
}
