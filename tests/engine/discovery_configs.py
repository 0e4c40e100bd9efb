"""Retained MQTT discovery configs as devices announce them (topic, payload).

Our own fixtures, shaped after the source or documentation named above each;
values are ours. Expectations in the tests come from these documents.
"""

from __future__ import annotations

import json

# --- Zigbee2MQTT -------------------------------------------------------------
# zigbee2mqtt lib/extension/homeassistant.ts and its test
# (test/extensions/homeassistant.test.ts, WSDCGQ11LM "weather_sensor"):
# `homeassistant/sensor/<ieee>/<property>/config`, full key names, value
# template `{{ value_json["<property>"] }}`, state topic
# `zigbee2mqtt/<friendly name>`, device identifiers ["zigbee2mqtt_<ieee>"];
# battery is diagnostic, linkquality diagnostic with unit "lqi" and disabled by
# default, voltage in mV (docs/devices/WSDCGQ11LM.md). last_seen is a
# timestamp sensor (device_class timestamp with ISO_8601, nothing with epoch).
_Z2M_DEVICE = {
    "identifiers": ["zigbee2mqtt_0x0017880104e45522"],
    "name": "weather_sensor",
    "model": "Temperature and humidity sensor",
    "model_id": "WSDCGQ11LM",
    "manufacturer": "Aqara",
    "via_device": "zigbee2mqtt_bridge_0x00124b00120144ae",
}
_Z2M_ORIGIN = {
    "name": "Zigbee2MQTT",
    "sw": "2.1.0",
    "url": "https://www.zigbee2mqtt.io",
}
_Z2M_AVAILABILITY = [
    {"topic": "zigbee2mqtt/bridge/state", "value_template": "{{ value_json.state }}"}
]


def _z2m(property_: str, **extra: object) -> tuple[str, bytes]:
    config = {
        **extra,
        "value_template": f'{{{{ value_json["{property_}"] }}}}',
        "state_topic": "zigbee2mqtt/weather_sensor",
        "object_id": f"weather_sensor_{property_}",
        "default_entity_id": f"sensor.weather_sensor_{property_}",
        "unique_id": f"0x0017880104e45522_{property_}_zigbee2mqtt",
        "origin": _Z2M_ORIGIN,
        "device": _Z2M_DEVICE,
        "availability": _Z2M_AVAILABILITY,
    }
    topic = f"homeassistant/sensor/0x0017880104e45522/{property_}/config"
    return topic, json.dumps(config, ensure_ascii=False).encode()


Z2M_TEMPERATURE = _z2m(
    "temperature",
    unit_of_measurement="°C",
    device_class="temperature",
    state_class="measurement",
    enabled_by_default=True,
)
Z2M_HUMIDITY = _z2m(
    "humidity",
    unit_of_measurement="%",
    device_class="humidity",
    state_class="measurement",
)
Z2M_PRESSURE = _z2m(
    "pressure",
    unit_of_measurement="hPa",
    device_class="atmospheric_pressure",
    state_class="measurement",
)
Z2M_BATTERY = _z2m(
    "battery",
    unit_of_measurement="%",
    device_class="battery",
    state_class="measurement",
    entity_category="diagnostic",
)
Z2M_VOLTAGE = _z2m(
    "voltage",
    unit_of_measurement="mV",
    device_class="voltage",
    state_class="measurement",
)
Z2M_LINKQUALITY = _z2m(
    "linkquality",
    icon="mdi:signal",
    enabled_by_default=False,
    entity_category="diagnostic",
    unit_of_measurement="lqi",
    state_class="measurement",
    name="Linkquality",
)
Z2M_LAST_SEEN_ISO = _z2m(
    "last_seen",
    name="Last seen",
    icon="mdi:clock",
    enabled_by_default=False,
    entity_category="diagnostic",
    device_class="timestamp",
)
Z2M_LAST_SEEN_EPOCH = _z2m(
    "last_seen",
    name="Last seen",
    icon="mdi:clock",
    enabled_by_default=False,
    entity_category="diagnostic",
)
Z2M_REMOVED = ("homeassistant/sensor/0x0017880104e45522/battery/config", b"")
# The same test's switch of a wall switch: another component.
Z2M_SWITCH = (
    "homeassistant/switch/0x0017880104e45542/switch_left/config",
    json.dumps(
        {
            "command_topic": "zigbee2mqtt/wall_switch_double/left/set",
            "state_topic": "zigbee2mqtt/wall_switch_double",
            "value_template": '{{ value_json["state_left"] }}',
            "payload_on": "ON",
            "payload_off": "OFF",
            "name": "Left",
            "unique_id": "0x0017880104e45542_switch_left_zigbee2mqtt",
            "device": {"identifiers": ["zigbee2mqtt_0x0017880104e45542"]},
        }
    ).encode(),
)

# --- ESPHome -----------------------------------------------------------------
# esphome/components/mqtt/mqtt_component.cpp send_discovery_ (abbreviations are
# on by default, esphome-docs components/mqtt.rst `discovery_abbreviations`):
# `homeassistant/sensor/<node_name>/<object_id>/config`, unique_id
# "ESP" + component type + object id, device identifiers = the MAC address as
# one string, no value template (the state topic carries the plain value,
# `<topic_prefix>/sensor/<name>/state`).
ESPHOME_TEMPERATURE = (
    "homeassistant/sensor/livingroom/living_room_temperature/config",
    json.dumps(
        {
            "dev_cla": "temperature",
            "unit_of_meas": "°C",
            "stat_cla": "measurement",
            "name": "Living Room Temperature",
            "stat_t": "livingroom/sensor/living_room_temperature/state",
            "avty_t": "livingroom/status",
            "uniq_id": "ESPsensorliving_room_temperature",
            "dev": {
                "ids": "240ac4aabbcc",
                "name": "livingroom",
                "sw": "esphome v2024.10.0 Oct 24 2024",
                "mdl": "esp32dev",
                "mf": "espressif",
                "sa": "Living Room",
            },
        },
        ensure_ascii=False,
    ).encode(),
)

# --- Tasmota (legacy MQTT discovery, SetOption19 1) --------------------------
# Tasmota xdrv_12_home_assistant.ino: HASS_DISCOVER_SENSOR with "stat_t"
# tele/<topic>/SENSOR, "dev":{"ids":[...]}, and value templates
# `{{value_json['%s'].%s}}` ("SI7021-14":{"Humidity":...} ->
# {{ value_json['SI7021-14'].Humidity }}); HASS_DISCOVER_SENSOR_KWH gives kWh.
TASMOTA_HUMIDITY = (
    "homeassistant/sensor/A1B2C3_SI7021-14_Humidity/config",
    json.dumps(
        {
            "name": "Tasmota SI7021-14 Humidity",
            "stat_t": "tele/tasmota_A1B2C3/SENSOR",
            "avty_t": "tele/tasmota_A1B2C3/LWT",
            "pl_avail": "Online",
            "pl_not_avail": "Offline",
            "uniq_id": "A1B2C3_SI7021-14_Humidity",
            "dev": {"ids": ["A1B2C3"]},
            "unit_of_meas": "%",
            "val_tpl": "{{value_json['SI7021-14'].Humidity}}",
            "dev_cla": "humidity",
        }
    ).encode(),
)
TASMOTA_ENERGY_TOTAL = (
    "homeassistant/sensor/A1B2C3_ENERGY_Total/config",
    json.dumps(
        {
            "name": "Tasmota ENERGY Total",
            "stat_t": "tele/tasmota_A1B2C3/SENSOR",
            "uniq_id": "A1B2C3_ENERGY_Total",
            "dev": {"ids": ["A1B2C3"]},
            "unit_of_meas": "kWh",
            "val_tpl": "{{value_json['ENERGY'].Total}}",
        }
    ).encode(),
)

# --- OpenMQTTGateway ---------------------------------------------------------
# OpenMQTTGateway main/ZmqttDiscovery.ino createDiscovery and
# main/config_mqttDiscovery.h: topic `homeassistant/sensor/<unique id>/config`,
# BLE sensors' state topic "+/+" + "/BTtoMQTT/<MAC>" (any gateway), abbreviated
# and full keys mixed ("stat_t", "dev_cla", "unit_of_meas", "uniq_id",
# "val_tpl", "state_class", "device" with "ids", "cns", "mf", "mdl", "name"),
# value templates such as jsonTempc "{{ value_json.tempc | is_defined }}",
# jsonPa "{{ float(value_json.pa) * 0.01 | is_defined }}" and jsonVoltBM2
# "{% if value_json.uuid is not defined and value_json.volt is defined -%}
# {{value_json.volt}} {%- endif %}".
_OMG_DEVICE = {
    "ids": ["A4C1386E4AE8"],
    "cns": [["mac", "A4C1386E4AE8"]],
    "mf": "Xiaomi",
    "mdl": "LYWSD03MMC_ATC",
    "name": "LYWSD03MMC_ATC-6E4AE8",
    "via_device": "OMG_ESP32_BLE",
}


def _omg(key: str, template: str, **extra: object) -> tuple[str, bytes]:
    config = {
        "stat_t": "+/+/BTtoMQTT/A4C1386E4AE8",
        **extra,
        "name": key,
        "uniq_id": f"A4C1386E4AE8-{key}",
        "val_tpl": template,
        "state_class": "measurement",
        "device": _OMG_DEVICE,
    }
    topic = f"homeassistant/sensor/A4C1386E4AE8-{key}/config"
    return topic, json.dumps(config, ensure_ascii=False).encode()


OMG_TEMPC = _omg(
    "tempc",
    "{{ value_json.tempc | is_defined }}",
    dev_cla="temperature",
    unit_of_meas="°C",
)
OMG_PA = _omg(
    "pa",
    "{{ float(value_json.pa) * 0.01 | is_defined }}",
    dev_cla="pressure",
    unit_of_meas="hPa",
)
OMG_VOLT_BM2 = _omg(
    "volt",
    "{% if value_json.uuid is not defined and value_json.volt is defined -%} "
    "{{value_json.volt}} {%- endif %}",
    dev_cla="voltage",
    unit_of_meas="V",
)

# --- Device-based discovery --------------------------------------------------
# homeassistant/components/mqtt/discovery.py (pinned 2026.2.3): a message on
# `homeassistant/device/<object_id>/config` with "dev", "o" and "cmps" (each
# component with its platform "p"); the device's "state_topic" is shared with
# components that have none of their own.
DEVICE_BEDROOM = (
    "homeassistant/device/0AFFD2/config",
    json.dumps(
        {
            "dev": {"ids": "0AFFD2", "name": "Bedroom sensor", "mf": "Bla2mqtt"},
            "o": {"name": "bla2mqtt", "sw": "2.1"},
            "cmps": {
                "temp01": {
                    "p": "sensor",
                    "device_class": "temperature",
                    "unit_of_measurement": "°C",
                    "value_template": "{{ value_json.temperature}}",
                    "unique_id": "temp01ae_t",
                },
                "hum01": {
                    "p": "sensor",
                    "device_class": "humidity",
                    "unit_of_measurement": "%",
                    "value_template": "{{ value_json.humidity }}",
                    "unique_id": "temp01ae_h",
                    "state_topic": "sensorBedroom/humidity",
                },
                "motion01": {
                    "p": "binary_sensor",
                    "device_class": "motion",
                    "unique_id": "temp01ae_m",
                },
                "gone01": {"p": "sensor"},
            },
            "state_topic": "sensorBedroom/state",
            "qos": 2,
        },
        ensure_ascii=False,
    ).encode(),
)

# --- Base topic ----------------------------------------------------------------
# Home Assistant's MQTT docs ("Using abbreviations and base topic"): "~" in a
# *_topic value stands for the config's "~".
BASE_TOPIC = (
    "homeassistant/sensor/garden/air/config",
    json.dumps(
        {
            "~": "garden/air",
            "name": "Garden PM2.5",
            "stat_t": "~/state",
            "unit_of_meas": "\u00b5g/m³",
            "dev_cla": "PM25",
            "val_tpl": "{{ value_json.pm25 | float(0) | round(1) }}",
        },
        ensure_ascii=False,
    ).encode(),
)
