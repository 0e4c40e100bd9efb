"""Field discovery: the numeric fields of sample payloads and what they measure.

Expected units come from the fixture documents (quoted in device_payloads.py),
written as Home Assistant's constants; a test checks every guess against Home
Assistant's own table of units per device class.
"""

from __future__ import annotations

from collections.abc import Iterable
import json
import math
from typing import Any

from homeassistant.components.sensor.const import (
    DEVICE_CLASS_STATE_CLASSES,
    DEVICE_CLASS_UNITS,
    SensorDeviceClass,
    SensorStateClass,
)
from homeassistant.const import (
    CONCENTRATION_MICROGRAMS_PER_CUBIC_METER,
    CONCENTRATION_PARTS_PER_MILLION,
    LIGHT_LUX,
    PERCENTAGE,
    SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    UnitOfApparentPower,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfPressure,
    UnitOfReactivePower,
    UnitOfTemperature,
)
from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iotitan.engine import fields as fields_module
from custom_components.iotitan.engine.fields import (
    MAX_ARRAY_ITEMS,
    MAX_UNADDRESSABLE,
    MAX_VALUES_VISITED,
    DiscoveredField,
    FieldDiscovery,
    FieldGuess,
    discover_fields,
    field_name,
    guess_field,
)
from custom_components.iotitan.engine.payload import Rejection, parse_value_path
from custom_components.iotitan.engine.readings import MultiPathParser

from . import device_payloads as fixtures

C = UnitOfTemperature.CELSIUS
F = UnitOfTemperature.FAHRENHEIT


def _by_path(discovery: FieldDiscovery) -> dict[str, DiscoveredField]:
    return {field.path: field for field in discovery.fields}


def _summary(discovery: FieldDiscovery) -> dict[str, tuple[Any, ...]]:
    """path -> (unit, device class, diagnostic, example)."""
    return {
        field.path: (
            field.guess.unit,
            field.guess.device_class,
            field.guess.diagnostic,
            field.example,
        )
        for field in discovery.fields
    }


def test_zigbee2mqtt_weather_sensor() -> None:
    """WSDCGQ11LM: every exposed numeric property, voltage in millivolts."""
    discovery = discover_fields([fixtures.Z2M_WEATHER])
    assert _summary(discovery) == {
        "battery": (PERCENTAGE, "battery", True, 97.0),
        "humidity": (PERCENTAGE, "humidity", False, 48.2),
        "linkquality": ("lqi", None, True, 120.0),
        "pressure": (UnitOfPressure.HPA, "atmospheric_pressure", False, 1012.3),
        "temperature": (C, "temperature", False, 21.4),
        "voltage": (UnitOfElectricPotential.MILLIVOLT, "voltage", False, 2995.0),
    }
    assert not discovery.truncated and discovery.payloads == 1


def test_zigbee2mqtt_plug_and_last_seen() -> None:
    """TS011F_plug_1: mains voltage in volts, energy in kWh; words and last_seen skipped."""
    discovery = discover_fields(
        [fixtures.Z2M_PLUG, fixtures.Z2M_WEATHER_LAST_SEEN_EPOCH]
    )
    summary = _summary(discovery)
    assert summary["voltage"] == (UnitOfElectricPotential.VOLT, "voltage", False, 231.0)
    assert summary["energy"][:2] == (UnitOfEnergy.KILO_WATT_HOUR, "energy")
    assert summary["power"][:2] == (UnitOfPower.WATT, "power")
    assert summary["current"][:2] == (UnitOfElectricCurrent.AMPERE, "current")
    assert _by_path(discovery)["energy"].guess.state_class == "total_increasing"
    # "state" is ON/OFF, power_outage_memory an enum, last_seen a time.
    assert not {"state", "power_outage_memory", "last_seen"} & set(summary)
    assert discovery.payloads == 2


def test_zigbee2mqtt_air_quality_station() -> None:
    """EFEKTA air station: co2, PM and illuminance; settings without a guess."""
    summary = _summary(discover_fields([fixtures.Z2M_AIR]))
    assert summary["co2"][:2] == (CONCENTRATION_PARTS_PER_MILLION, "carbon_dioxide")
    for pm in ("pm1", "pm25", "pm4", "pm10"):
        assert summary[pm][:2] == (
            CONCENTRATION_MICROGRAMS_PER_CUBIC_METER,
            pm,
        )
    assert summary["illuminance"][:2] == (LIGHT_LUX, "illuminance")
    # An offset in °C is a setting, not a temperature reading.
    for unknown in ("temperature_offset", "report_delay"):
        assert summary[unknown][:2] == (None, None), unknown
    assert "auto_brightness" not in summary  # ON/OFF


def test_tasmota_sensors_follow_temp_and_pressure_units() -> None:
    """Tasmota's TempUnit and PressureUnit say the unit of its readings."""
    celsius = _summary(discover_fields([fixtures.TASMOTA_AM2301]))
    assert celsius == {
        "AM2301.Temperature": (C, "temperature", False, 21.4),
        "AM2301.Humidity": (PERCENTAGE, "humidity", False, 48.0),
        "AM2301.DewPoint": (C, "temperature", False, 10.0),
    }
    fahrenheit = _summary(discover_fields([fixtures.TASMOTA_AM2301_FAHRENHEIT]))
    assert fahrenheit["AM2301.Temperature"][:2] == (F, "temperature")
    assert fahrenheit["AM2301.DewPoint"][:2] == (F, "temperature")
    bme = _summary(discover_fields([fixtures.TASMOTA_BME280]))
    assert bme["BME280.Pressure"][:2] == (UnitOfPressure.HPA, "atmospheric_pressure")
    mmhg = fixtures.TASMOTA_BME280.replace(b'"hPa"', b'"mmHg"')
    assert _summary(discover_fields([mmhg]))["BME280.Pressure"][:2] == (
        UnitOfPressure.MMHG,
        "atmospheric_pressure",
    )
    unknown = fixtures.TASMOTA_BME280.replace(b'"hPa"', b'"furlongs"')
    assert _summary(discover_fields([unknown]))["BME280.Pressure"][:2] == (None, None)


def test_tasmota_energy_object() -> None:
    """ENERGY: kWh counters, W, VA, var, V and A; the power factor unguessed."""
    summary = _summary(discover_fields([fixtures.TASMOTA_ENERGY]))
    for counter in ("Total", "Today", "Yesterday"):
        assert summary[f"ENERGY.{counter}"][:2] == (
            UnitOfEnergy.KILO_WATT_HOUR,
            "energy",
        )
    assert summary["ENERGY.Power"][:2] == (UnitOfPower.WATT, "power")
    assert summary["ENERGY.ApparentPower"][:2] == (
        UnitOfApparentPower.VOLT_AMPERE,
        "apparent_power",
    )
    assert summary["ENERGY.ReactivePower"][:2] == (
        UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
        "reactive_power",
    )
    assert summary["ENERGY.Voltage"][:2] == (UnitOfElectricPotential.VOLT, "voltage")
    assert summary["ENERGY.Current"][:2] == (UnitOfElectricCurrent.AMPERE, "current")
    assert summary["ENERGY.Factor"][:2] == (None, None)
    assert "ENERGY.TotalStartTime" not in summary and "Time" not in summary


def test_tasmota_keys_with_a_dot_are_unaddressable() -> None:
    """PMS5003's "PM2.5" cannot be written as a value path: listed apart."""
    discovery = discover_fields([fixtures.TASMOTA_PMS5003])
    summary = _summary(discovery)
    assert summary["PMS5003.PM1"][:2] == (
        CONCENTRATION_MICROGRAMS_PER_CUBIC_METER,
        "pm1",
    )
    assert summary["PMS5003.PM10"][:2] == (
        CONCENTRATION_MICROGRAMS_PER_CUBIC_METER,
        "pm10",
    )
    assert ("PMS5003", "PM2.5") in discovery.unaddressable
    assert not any("2.5" in path or "0.3" in path for path in summary)
    assert set(discovery.unaddressable) == {
        ("PMS5003", key) for key in ("CF2.5", "PM2.5", "PB0.3", "PB0.5", "PB2.5")
    }


def test_tasmota_state_wifi() -> None:
    """Wifi.RSSI is a percentage, Wifi.Signal the dBm; both diagnostic."""
    summary = _summary(discover_fields([fixtures.TASMOTA_STATE]))
    assert summary["Wifi.RSSI"][:3] == (PERCENTAGE, None, True)
    assert summary["Wifi.Signal"][:3] == (
        SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
        "signal_strength",
        True,
    )
    assert summary["UptimeSec"][:2] == (None, None)


def test_shelly_switch_status() -> None:
    """Switch status: W, V, A, aenergy.total in Wh, tC/tF; timestamps skipped."""
    discovery = discover_fields([fixtures.SHELLY_SWITCH])
    summary = _summary(discovery)
    assert summary["apower"][:2] == (UnitOfPower.WATT, "power")
    assert summary["voltage"][:2] == (UnitOfElectricPotential.VOLT, "voltage")
    assert summary["current"][:2] == (UnitOfElectricCurrent.AMPERE, "current")
    assert summary["aenergy.total"][:2] == (UnitOfEnergy.WATT_HOUR, "energy")
    assert summary["temperature.tC"][:2] == (C, "temperature")
    assert summary["temperature.tF"][:2] == (F, "temperature")
    # by_minute is milliwatt-hours per minute, not a total: no guess.
    assert summary["aenergy.by_minute.0"][:2] == (None, None)
    assert {"id", "aenergy.minute_ts", "output", "source"}.isdisjoint(summary)
    assert _by_path(discovery)["temperature.tC"].name == "Temperature"
    notify = _summary(discover_fields([fixtures.SHELLY_NOTIFY_STATUS]))
    assert set(notify) == {"params.switch:0.apower"}  # params.ts is a time


def test_shelly_ht_components() -> None:
    """H&T: tC, rh, battery.percent and battery.V (diagnostic)."""
    discovery = discover_fields(
        [
            fixtures.SHELLY_HT_TEMPERATURE,
            fixtures.SHELLY_HT_HUMIDITY,
            fixtures.SHELLY_HT_DEVICEPOWER,
        ]
    )
    assert _summary(discovery) == {
        "tC": (C, "temperature", False, 21.6),
        "tF": (F, "temperature", False, 70.9),
        "rh": (PERCENTAGE, "humidity", False, 54.2),
        "battery.V": (UnitOfElectricPotential.VOLT, "voltage", True, 5.91),
        "battery.percent": (PERCENTAGE, "battery", True, 84.0),
    }


def test_openmqttgateway_ble() -> None:
    """LYWSD03MMC: tempc, tempf, hum, batt, volt (V), rssi (dBm); numbers in strings."""
    summary = _summary(discover_fields([fixtures.OMG_LYWSD03MMC]))
    assert summary["tempc"] == (C, "temperature", False, 14.2)
    assert summary["tempf"] == (F, "temperature", False, 57.56)
    assert summary["hum"] == (PERCENTAGE, "humidity", False, 56.0)
    assert summary["batt"] == (PERCENTAGE, "battery", True, 75.0)
    assert summary["volt"] == (UnitOfElectricPotential.VOLT, "voltage", False, 2.887)
    assert summary["rssi"] == (
        SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
        "signal_strength",
        True,
        -91.0,
    )
    assert "id" not in summary and "model_id" not in summary
    strings = discover_fields([fixtures.OMG_MIJIA])
    assert _summary(strings)["hum"][3] == 52.6  # "52.6" in the payload
    assert [field.name for field in strings.fields] == [
        "Humidity",
        "Temperature",
        "Temperature °F",
    ]


def test_esphome_plain_payload_named_by_its_topic() -> None:
    """A plain number is the whole payload; its topic says what it is."""
    discovery = discover_fields(
        [fixtures.ESPHOME_TEMPERATURE, b"21.75"],
        topic=fixtures.ESPHOME_TEMPERATURE_TOPIC,
    )
    (field,) = discovery.fields
    assert field.path == ""
    assert field.name == "Living room temperature"
    assert (field.guess.unit, field.guess.device_class) == (C, "temperature")
    assert (field.example, field.count) == (21.75, 2)
    no_topic = discover_fields([b"3.5"])
    assert no_topic.fields[0].name == "Value"
    assert no_topic.fields[0].guess == FieldGuess()


def test_fields_merge_across_payloads() -> None:
    """Counts, last values and first-seen order across samples."""
    discovery = discover_fields(
        [
            b'{"temperature": 20, "humidity": 50}',
            b'{"temperature": 21}',
            b"not json",
            '{"humidity": null, "battery": 90, "temperature": "22.5"}',  # str
        ]
    )
    assert [(f.path, f.count, f.example) for f in discovery.fields] == [
        ("temperature", 3, 22.5),
        ("humidity", 1, 50.0),
        ("battery", 1, 90.0),
    ]
    assert (discovery.payloads, discovery.unreadable) == (4, 1)


@pytest.mark.parametrize(
    ("values", "unit"),
    [
        ([2995.0, 3010.0], UnitOfElectricPotential.MILLIVOLT),  # battery in mV
        ([1000.0], UnitOfElectricPotential.MILLIVOLT),
        ([231.0, 229.5], UnitOfElectricPotential.VOLT),  # mains
        ([3.3], UnitOfElectricPotential.VOLT),  # a cell in volts
        ([0.0], UnitOfElectricPotential.VOLT),
        ([999.9], UnitOfElectricPotential.VOLT),
        ([230.0, 3000.0], None),  # mixed: no guess
        ([999.0, 1000.0], None),
        ([9999.0], UnitOfElectricPotential.MILLIVOLT),
        ([10000.0], None),
        ([12000.0], None),
        ([-5.0], None),
        ([], None),
    ],
)
def test_voltage_by_magnitude(values: list[float], unit: str | None) -> None:
    """Zigbee2MQTT says `voltage` in mV on battery devices and in V on plugs."""
    guess = guess_field(["voltage"], values)
    assert guess.unit == unit
    assert guess.device_class == ("voltage" if unit else None)


@pytest.mark.parametrize(
    ("keys", "values", "expected"),
    [
        (
            ["rssi"],
            [-70.0, 0.0],
            (SIGNAL_STRENGTH_DECIBELS_MILLIWATT, "signal_strength"),
        ),
        (["rssi"], [70.0], (None, None)),  # a quality figure, not dBm
        (["pressure"], [101325.0], (None, None)),  # pascals? not guessed
        (["pressure"], [1013.0, 299.0], (None, None)),
        (["pressure"], [300.0, 1100.0], (UnitOfPressure.HPA, "atmospheric_pressure")),
        (["pressure"], [1100.5], (None, None)),
        (["Pressure"], [1013.0], (UnitOfPressure.HPA, "atmospheric_pressure")),
        (["device_temperature"], [40.0], (C, "temperature")),
        (["battery_voltage"], [2900.0], (UnitOfElectricPotential.MILLIVOLT, "voltage")),
        (["TEMPERATURE"], [1.0], (C, "temperature")),
        (["Temperature-Max"], [1.0], (None, None)),
        (["sensors", "3", "humidity"], [40.0], (PERCENTAGE, "humidity")),
        ([], [1.0], (None, None)),
        (["1", "2"], [1.0], (None, None)),
    ],
)
def test_guesses(
    keys: list[str], values: list[float], expected: tuple[str | None, str | None]
) -> None:
    """Names are compared without case or separators; compounds by their last word."""
    guess = guess_field(keys, values)
    assert (guess.unit, guess.device_class) == expected


def test_guess_with_unknown_temperature_unit() -> None:
    """A TempUnit other than C or F leaves the unit (and so the class) unknown."""
    assert guess_field(["Temperature"], [1.0], temperature_unit="K") == FieldGuess(
        None, None, "measurement", False
    )
    assert guess_field(["Temperature"], [1.0], temperature_unit=" f ").unit == F


def test_timestamps_and_identifiers_are_skipped() -> None:
    """Times by name or by epoch-like values; identifiers by name."""
    payload = json.dumps(
        {
            "Time": 1714559696,
            "ts": 1714559696.5,
            "timer_started_at": 1714559000,
            "updated_at": 1,
            "counter": 1714559696789,  # unknown name, epoch milliseconds
            "pulses": 1714559696,  # unknown name, epoch seconds
            "Id": 5,
            "sensor_id": 7,
            "temperature": 1714559696,  # known name: kept whatever the value
            "count": 12,
        }
    )
    assert [field.path for field in discover_fields([payload]).fields] == [
        "temperature",
        "count",
    ]
    # The epoch range's edges: 2000-01-01 is in it, 2100-01-01 is not.
    edges = discover_fields(
        [b'{"a": 946684800, "b": 946684799, "c": 4102444799, "d": 4102444800}']
    )
    assert [field.path for field in edges.fields] == ["b", "d"]
    # A field counts as a time only if every value seen looks like one.
    mixed = discover_fields([b'{"pulses": 1714559696}', b'{"pulses": 5}'])
    assert [field.path for field in mixed.fields] == ["pulses"]


@pytest.mark.parametrize(
    ("keys", "name"),
    [
        (("AM2301", "Temperature"), "AM2301 Temperature"),
        (("temperature", "tC"), "Temperature"),
        (("AM2301", "DewPoint"), "AM2301 Dew point"),
        (("aenergy", "by_minute", "0"), "Aenergy by minute 0"),
        (("linkquality",), "Link quality"),
        (("  ",), "Value"),
        ((), "Value"),
    ],
)
def test_field_names(keys: tuple[str, ...], name: str) -> None:
    """Readable names to start from."""
    assert field_name(keys) == name


# --- Bounds ------------------------------------------------------------------


def test_depth_bound() -> None:
    """Fields deeper than max_depth are not followed, and the result says so."""
    deep = json.dumps({"a": {"b": {"c": {"d": 1}}}, "x": 2})
    shallow = discover_fields([deep], max_depth=3)
    assert [f.path for f in shallow.fields] == ["x"] and shallow.truncated
    exact = discover_fields([deep], max_depth=4)
    assert [f.path for f in exact.fields] == ["a.b.c.d", "x"] and not exact.truncated
    # An empty container at the limit hides nothing.
    assert not discover_fields([b'{"a": {}, "b": 1}'], max_depth=1).truncated


def test_array_bound() -> None:
    """Only the first items of an array are looked at."""
    payload = json.dumps({"v": list(range(MAX_ARRAY_ITEMS + 5))})
    discovery = discover_fields([payload])
    assert len(discovery.fields) == MAX_ARRAY_ITEMS and discovery.truncated
    assert discovery.fields[-1].path == f"v.{MAX_ARRAY_ITEMS - 1}"
    exact = discover_fields([json.dumps({"v": list(range(MAX_ARRAY_ITEMS))})])
    assert len(exact.fields) == MAX_ARRAY_ITEMS and not exact.truncated


def test_field_and_payload_bounds() -> None:
    """At most max_fields fields and max_payloads payloads."""
    wide = json.dumps({f"k{index}": index for index in range(10)})
    limited = discover_fields([wide], max_fields=4)
    assert [f.path for f in limited.fields] == ["k0", "k1", "k2", "k3"]
    assert limited.truncated
    assert not discover_fields([wide], max_fields=10).truncated

    many = discover_fields(
        (b'{"a": %d}' % index for index in range(10)), max_payloads=3
    )
    assert many.payloads == 3 and many.truncated
    assert many.fields[0].count == 3 and many.fields[0].example == 2.0


def test_size_bound() -> None:
    """A payload over max_bytes is not read; exactly max_bytes is."""
    assert [f.path for f in discover_fields([b'{"a": 1}'], max_bytes=8).fields] == ["a"]
    refused = discover_fields([b'{"a": 1}', b"12345678"], max_bytes=7)
    assert refused.fields == () and refused.unreadable == 2


def test_default_bounds() -> None:
    """The defaults the documentation states: 64 fields, 16 unaddressable ones."""
    wide = {f"k{index}": index for index in range(65)}
    assert len(discover_fields([json.dumps(wide)]).fields) == 64
    del wide["k64"]
    assert not discover_fields([json.dumps(wide)]).truncated
    dotted = {f"k.{index}": index for index in range(17)}
    assert len(discover_fields([json.dumps(dotted)]).unaddressable) == 16
    assert FieldDiscovery(()) == FieldDiscovery((), (), False, 0, 0)


def test_visit_bound() -> None:
    """A payload with more values than MAX_VALUES_VISITED is read only so far."""
    wide = json.dumps({f"k{index}": [] for index in range(MAX_VALUES_VISITED + 10)})
    discovery = discover_fields([wide], max_bytes=1_000_000)
    assert discovery.truncated and discovery.fields == ()


def test_unaddressable_bound() -> None:
    """At most MAX_UNADDRESSABLE unaddressable fields are listed."""
    payload = json.dumps(
        {f"k.{index}": index for index in range(MAX_UNADDRESSABLE + 3)}
    )
    discovery = discover_fields([payload])
    assert len(discovery.unaddressable) == MAX_UNADDRESSABLE and discovery.truncated
    spaced = discover_fields([b'{" a": 1, "b ": 2, "": 3, "ok": 4}'])
    assert [f.path for f in spaced.fields] == ["ok"]
    assert spaced.unaddressable == ((" a",), ("b ",), ("",))


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\xff\xfe",
        b"[" * 100_000,
        b"[" * 5000 + b"]" * 5000,
        b'"21.5"',
        b"true",
        b"null",
        b"on",
        b"x" * 9000,
    ],
)
def test_unreadable_payloads(payload: bytes) -> None:
    """Empty, binary, broken, too deep, too large or not numeric: no field, no error."""
    discovery = discover_fields([payload], max_bytes=200_000)
    assert discovery.fields == ()


# --- Home Assistant's own tables ---------------------------------------------


def _all_guesses() -> Iterable[FieldGuess]:
    for name in dir(fixtures):
        payload = getattr(fixtures, name)
        if isinstance(payload, bytes):
            for field in discover_fields([payload]).fields:
                yield field.guess
    values_tried = ([], [0.0], [-50.0], [3.3], [231.0], [1013.0], [2995.0], [20000.0])
    hints = (None, "C", "F", "K", "hPa", "mmHg", "inHg", "bar")
    for rule_name in (
        *fields_module._RULES,
        *(key for _, key in fields_module._CONTEXT_RULES),
    ):
        for values in values_tried:
            for hint in hints:
                yield guess_field(
                    [rule_name], values, temperature_unit=hint, pressure_unit=hint
                )
    for parent, key in fields_module._CONTEXT_RULES:
        yield guess_field([parent, key])


def test_every_guess_is_valid_in_home_assistant() -> None:
    """Units, device classes and state classes as Home Assistant defines them."""
    device_classes = {member.value for member in SensorDeviceClass}
    state_classes = {member.value for member in SensorStateClass}
    checked = 0
    for guess in _all_guesses():
        checked += 1
        if guess.state_class is not None:
            assert guess.state_class in state_classes, guess
        if guess.device_class is None:
            continue
        assert guess.unit is not None, guess
        assert guess.device_class in device_classes, guess
        device_class = SensorDeviceClass(guess.device_class)
        assert guess.unit in DEVICE_CLASS_UNITS[device_class], guess
        allowed = DEVICE_CLASS_STATE_CLASSES.get(device_class)
        if allowed is not None and guess.state_class is not None:
            assert guess.state_class in allowed, guess
    assert checked > 500


def test_unit_constants_are_home_assistants() -> None:
    """The module's unit strings are Home Assistant's (μ is the Greek letter)."""
    assert fields_module.CELSIUS == UnitOfTemperature.CELSIUS
    assert fields_module.FAHRENHEIT == UnitOfTemperature.FAHRENHEIT
    assert fields_module.PERCENTAGE == PERCENTAGE
    assert fields_module.HECTOPASCAL == UnitOfPressure.HPA
    assert fields_module.WATT == UnitOfPower.WATT
    assert fields_module.KILOWATT_HOUR == UnitOfEnergy.KILO_WATT_HOUR
    assert fields_module.WATT_HOUR == UnitOfEnergy.WATT_HOUR
    assert fields_module.VOLT == UnitOfElectricPotential.VOLT
    assert fields_module.MILLIVOLT == UnitOfElectricPotential.MILLIVOLT
    assert fields_module.AMPERE == UnitOfElectricCurrent.AMPERE
    assert fields_module.LUX == LIGHT_LUX
    assert fields_module.PARTS_PER_MILLION == CONCENTRATION_PARTS_PER_MILLION
    assert (
        fields_module.MICROGRAMS_PER_CUBIC_METER
        == CONCENTRATION_MICROGRAMS_PER_CUBIC_METER
    )
    assert fields_module.DECIBEL_MILLIWATT == SIGNAL_STRENGTH_DECIBELS_MILLIWATT
    assert fields_module.VOLT_AMPERE == UnitOfApparentPower.VOLT_AMPERE
    assert (
        fields_module.VOLT_AMPERE_REACTIVE == UnitOfReactivePower.VOLT_AMPERE_REACTIVE
    )


# --- Property tests ----------------------------------------------------------

_ANY_KEYS = st.one_of(
    st.sampled_from(["a", "b", "0", "1", "Time", "id", "temperature", "x.y", " s", ""]),
    st.text(max_size=6),
)
_ANY_JSON: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(),
        st.text(max_size=6),
        st.sampled_from(["21.5", "on", "1e999", " 3 "]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=20),
        st.dictionaries(_ANY_KEYS, children, max_size=6),
    ),
    max_leaves=60,
)


@settings(max_examples=300)
@given(
    documents=st.lists(_ANY_JSON, max_size=4),
    junk=st.lists(st.binary(max_size=30), max_size=2),
    max_depth=st.integers(min_value=1, max_value=8),
    max_fields=st.integers(min_value=1, max_value=64),
)
def test_any_payloads_are_bounded_and_consistent(
    documents: list[Any], junk: list[bytes], max_depth: int, max_fields: int
) -> None:
    """Never raises; bounded; every field's path reads its example from the last payload."""
    payloads = [json.dumps(document).encode() for document in documents] + junk
    discovery = discover_fields(payloads, max_depth=max_depth, max_fields=max_fields)
    assert discovery.payloads == len(payloads)
    assert len(discovery.fields) <= max_fields
    assert len(discovery.unaddressable) <= MAX_UNADDRESSABLE
    assert len({field.path for field in discovery.fields}) == len(discovery.fields)
    for field in discovery.fields:
        assert math.isfinite(field.example)
        assert 1 <= field.count <= len(payloads)
        path = parse_value_path(field.path) if field.path else ()
        assert len(path) <= max_depth
        readings = [
            MultiPathParser((path,), words_as_numbers=False).parse(payload)[0]
            for payload in payloads
        ]
        numbers = [
            reading for reading in readings if not isinstance(reading, Rejection)
        ]
        assert numbers and numbers[-1] == field.example
        assert len(numbers) >= field.count


_PLAIN_KEYS = st.sampled_from(["a", "b", "c", "temperature", "humidity", "x_y"])
_CLEAN_JSON: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.floats(min_value=-1e6, max_value=1e6),
        st.integers(min_value=-(10**6), max_value=10**6),
        st.sampled_from([None, True, False, "on", "text", "", "12.5"]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=MAX_ARRAY_ITEMS),
        st.dictionaries(_PLAIN_KEYS, children, max_size=5),
    ),
    max_leaves=40,
)


def _reference_leaves(node: Any, keys: tuple[str, ...] = ()) -> list[tuple[str, float]]:
    """Every numeric leaf, by plain recursion (depth at most 8 here by construction)."""
    if isinstance(node, dict):
        return [
            leaf
            for key, value in node.items()
            for leaf in _reference_leaves(value, (*keys, key))
        ]
    if isinstance(node, list):
        return [
            leaf
            for index, value in enumerate(node)
            for leaf in _reference_leaves(value, (*keys, str(index)))
        ]
    if isinstance(node, bool) or node is None:
        return []
    if isinstance(node, str):
        try:
            return [(".".join(keys), float(node))] if node.strip() else []
        except ValueError:
            return []
    return [(".".join(keys), float(node))]


@settings(max_examples=300)
@given(document=st.dictionaries(_PLAIN_KEYS, _CLEAN_JSON, min_size=1, max_size=5))
def test_every_numeric_field_is_found(document: dict[str, Any]) -> None:
    """On documents without time-like names or values, nothing numeric is missed."""
    expected = _reference_leaves(document)
    if any(len(path.split(".")) > 8 for path, _ in expected):
        return  # deeper than the default bound: the bound's own test covers it
    discovery = discover_fields([json.dumps(document)], max_fields=10_000)
    assert [(field.path, field.example) for field in discovery.fields] == expected
    assert not discovery.unaddressable
