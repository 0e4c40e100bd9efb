"""Payloads as real devices publish them, written from each project's documentation.

Our own fixtures: the shape, field names and units follow the document named
above each one; the values are ours. Tests derive their expectations from the
documents (the units and field meanings quoted in the comments), never from
the code under test.
"""

from __future__ import annotations

# --- Zigbee2MQTT -------------------------------------------------------------
# zigbee2mqtt.io docs/devices/WSDCGQ11LM.md (Aqara temperature, humidity and
# pressure sensor): exposes battery (%), temperature (°C), humidity (%),
# pressure (hPa), voltage ("Voltage of the battery in millivolts", mV) and
# linkquality (lqi, 0..255), each a property of the state published on
# `zigbee2mqtt/FRIENDLY_NAME`.
Z2M_WEATHER_TOPIC = "zigbee2mqtt/weather_sensor"
Z2M_WEATHER = (
    b'{"battery":97,"humidity":48.2,"linkquality":120,"pressure":1012.3,'
    b'"temperature":21.4,"voltage":2995}'
)
# The same with `advanced.last_seen`: zigbee2mqtt lib/util/utils.ts formatDate:
# ISO_8601 is `new Date(time).toISOString()` ("2019-03-01T15:32:45.941Z"),
# ISO_8601_local has the local offset ("2019-03-01T16:32:45.941+01:00"),
# epoch is the number of milliseconds.
Z2M_WEATHER_LAST_SEEN_ISO = (
    b'{"battery":97,"humidity":48.2,"last_seen":"2024-05-01T10:34:56.789Z",'
    b'"linkquality":120,"pressure":1012.3,"temperature":21.4,"voltage":2995}'
)
Z2M_WEATHER_LAST_SEEN_LOCAL = (
    b'{"humidity":48.2,"last_seen":"2024-05-01T12:34:56.789+02:00","temperature":21.4}'
)
Z2M_WEATHER_LAST_SEEN_EPOCH = (
    b'{"humidity":48.2,"last_seen":1714559696789,"temperature":21.4}'
)
LAST_SEEN_POSIX = 1714559696.789  # 2024-05-01T10:34:56.789Z

# zigbee2mqtt.io docs/devices/TS011F_plug_1.md (TuYa smart plug with power
# monitoring): state (ON/OFF), power (W), current (A), voltage (V: mains, not
# millivolts on this device), energy (kWh), power_outage_memory (enum
# on/off/restore), linkquality (lqi).
Z2M_PLUG_TOPIC = "zigbee2mqtt/kettle_plug"
Z2M_PLUG = (
    b'{"current":0.41,"energy":12.37,"linkquality":87,"power":96,'
    b'"power_outage_memory":"restore","state":"ON","voltage":231}'
)

# zigbee2mqtt.io docs/devices/EFEKTA_Air_Quality_Station.md: co2 (ppm), pm1,
# pm25, pm4, pm10 (µg/m³), temperature (°C), humidity (%), illuminance (lx);
# settings published in the same state: temperature_offset (°C, an offset, not a
# reading), report_delay (sec), auto_brightness (ON/OFF).
Z2M_AIR_TOPIC = "zigbee2mqtt/air_station"
Z2M_AIR = (
    b'{"auto_brightness":"ON","co2":612,"humidity":41.5,"illuminance":230,'
    b'"pm1":3,"pm10":9,"pm25":7,"pm4":8,"report_delay":15,"temperature":22.8,'
    b'"temperature_offset":0}'
)

# --- Tasmota -----------------------------------------------------------------
# tasmota/docs docs/AM2301.md: `tele/%topic%/SENSOR` sends
# {"Time":"2019-01-01T00:00:00","AM2301":{"Temperature":24.6,"Humidity":58.2},
# "TempUnit":"C"}; Tasmota's ResponseAppendTHD adds "DewPoint" after Humidity.
# "Time" is local time without a zone (docs/Commands.md `Time`, SetOption52).
TASMOTA_AM2301_TOPIC = "tele/tasmota_A1B2C3/SENSOR"
TASMOTA_AM2301 = (
    b'{"Time":"2024-05-01T12:34:56","AM2301":{"Temperature":21.4,"Humidity":48.0,'
    b'"DewPoint":10.0},"TempUnit":"C"}'
)
TASMOTA_AM2301_FAHRENHEIT = (
    b'{"Time":"2024-05-01T12:34:56","AM2301":{"Temperature":70.5,"Humidity":48.0,'
    b'"DewPoint":50.0},"TempUnit":"F"}'
)
# docs/DeepSleep.md shows "Time" with SetOption52 1: "2021-06-27T15:03:44+02:00".
TASMOTA_AM2301_WITH_OFFSET = (
    b'{"Time":"2024-05-01T12:34:56+02:00","AM2301":{"Temperature":21.4,'
    b'"Humidity":48.0},"TempUnit":"C"}'
)
# Tasmota support.ino ResponseGetTime: `Time 2` (docs/Commands.md "JSON message
# timestamp in Epoch format") writes "Time" as UTC epoch seconds; `Time 1`
# adds "Epoch" beside the local "Time".
TASMOTA_AM2301_EPOCH = (
    b'{"Time":1714559696,"AM2301":{"Temperature":21.4,"Humidity":48.0},"TempUnit":"C"}'
)

# docs/BME280.md: {"Time":"2019-11-03T19:34:28","BME280":{"Temperature":21.7,
# "Humidity":66.6,"Pressure":988.6},"PressureUnit":"hPa","TempUnit":"C"}
TASMOTA_BME280 = (
    b'{"Time":"2024-05-01T12:34:56","BME280":{"Temperature":21.7,"Humidity":66.6,'
    b'"DewPoint":15.1,"Pressure":988.6},"PressureUnit":"hPa","TempUnit":"C"}'
)

# The ENERGY object of power-monitoring plugs (Tasmota xdrv_12_home_assistant
# comments: "ENERGY":{"TotalStartTime","Total","Yesterday","Today","Power",
# "ApparentPower","ReactivePower","Factor","Voltage","Current"}; Total, Today
# and Yesterday in kWh, Power in W, Voltage in V, Current in A; docs/Teleinfo.md
# shows the same object in a real tele/SENSOR message).
TASMOTA_ENERGY_TOPIC = "tele/tasmota_plug/SENSOR"
TASMOTA_ENERGY = (
    b'{"Time":"2024-05-01T12:34:56","ENERGY":{"TotalStartTime":"2023-01-15T10:00:00",'
    b'"Total":153.214,"Yesterday":1.204,"Today":0.512,"Power":96,'
    b'"ApparentPower":101,"ReactivePower":31,"Factor":0.95,"Voltage":231,'
    b'"Current":0.437}}'
)

# docs/JSON-Status-Responses.md "PMS5003 and HTU21": keys with a dot
# ("PM2.5", "CF2.5", "PB0.3") next to addressable ones ("PM1", "PM10").
TASMOTA_PMS5003 = (
    b'{"Time":"2024-05-01T12:34:56","HTU21":{"Temperature":24.7,"Humidity":32.1},'
    b'"PMS5003":{"CF1":1,"CF2.5":2,"CF10":2,"PM1":1,"PM2.5":2,"PM10":2,'
    b'"PB0.3":423,"PB0.5":116,"PB1":17,"PB2.5":1,"PB5":0,"PB10":0},'
    b'"TempUnit":"C"}'
)

# docs/DeepSleep.md `tele/demo-sensor/STATE`: Wifi "RSSI" is a percentage
# (86), "Signal" the dBm (-57).
TASMOTA_STATE = (
    b'{"Time":"2024-05-01T12:34:56+02:00","Uptime":"0T00:00:13","UptimeSec":13,'
    b'"Heap":28,"SleepMode":"Dynamic","Sleep":50,"LoadAvg":19,"MqttCount":1,'
    b'"POWER":"ON","Wifi":{"AP":1,"SSId":"DEMOAP","BSSId":"XX:XX:XX:XX:XX:XX",'
    b'"Channel":1,"Mode":"11n","RSSI":86,"Signal":-57,"LinkCount":1,'
    b'"Downtime":"0T00:00:07"}}'
)

# --- Shelly Gen2 -------------------------------------------------------------
# Shelly Gen2 API, Switch component status (shelly-api-docs.shelly.cloud
# gen2/ComponentsAndServices/Switch): apower (W), voltage (V), current (A), pf,
# aenergy.total ("total energy consumed in Watt-hours"), aenergy.by_minute
# (milliwatt-hours), aenergy.minute_ts (unix timestamp), temperature.tC (°C)
# and temperature.tF (°F). Published on `<topic_prefix>/status/switch:0`.
SHELLY_SWITCH_TOPIC = "shellyplus1pm-a8032ab12345/status/switch:0"
SHELLY_SWITCH = (
    b'{"id":0,"source":"init","output":true,"apower":8.9,"voltage":237.5,'
    b'"current":0.068,"pf":0.56,"aenergy":{"total":6.532,'
    b'"by_minute":[45.199,47.141,88.397],"minute_ts":1714559640},'
    b'"temperature":{"tC":23.5,"tF":74.4}}'
)
# The NotifyStatus notification on `<topic_prefix>/events/rpc` (Gen2 API,
# Notifications): "params" holds "ts" (unix time, seconds with a fraction) and
# the changed component under its key "switch:0".
SHELLY_NOTIFY_STATUS = (
    b'{"src":"shellyplus1pm-a8032ab12345","dst":"shellyplus1pm-a8032ab12345/events",'
    b'"method":"NotifyStatus","params":{"ts":1714559696.42,'
    b'"switch:0":{"id":0,"apower":9.4}}}'
)
# Shelly Plus H&T: Temperature component status (tC °C, tF °F), Humidity (rh,
# %) and DevicePower (battery.V volts, battery.percent %, external.present).
SHELLY_HT_TEMPERATURE = b'{"id":0,"tC":21.6,"tF":70.9}'
SHELLY_HT_HUMIDITY = b'{"id":0,"rh":54.2}'
SHELLY_HT_DEVICEPOWER = (
    b'{"id":0,"battery":{"V":5.91,"percent":84},"external":{"present":false}}'
)

# --- OpenMQTTGateway / Theengs -----------------------------------------------
# OpenMQTTGateway docs/use/ble.md and the Theengs decoder's LYWSD03MMC_ATC
# example: `home/OpenMQTTGateway/BTtoMQTT/<MAC>` with tempc (°C), tempf (°F),
# hum (%), batt (%), volt (V: 2.887) and rssi (dBm).
OMG_LYWSD03MMC_TOPIC = "home/OpenMQTTGateway/BTtoMQTT/A4C1386E4AE8"
OMG_LYWSD03MMC = (
    b'{"id":"A4:C1:38:6E:4A:E8","mac_type":0,"name":"ATC_6E4AE8","rssi":-91,'
    b'"brand":"Xiaomi","model":"LYWSD03MMC","model_id":"LYWSD03MMC_ATC",'
    b'"tempc":14.2,"tempf":57.56,"hum":56,"batt":75,"volt":2.887}'
)
# docs/use/ble.md (Mi Flora / Mi Jia): numbers as strings.
OMG_MIJIA = b'{"hum":"52.6","tempc":"19.2","tempf":"66.56"}'
# docs/use/ble.md, a beacon: rssi and distance only.
OMG_BEACON = (
    b'{"id":"45:e1:74:12:6e:00","rssi":-89,"distance":21.51847,'
    b'"servicedata":"fe0000000000000000000000000000000000000000"}'
)

# --- ESPHome -----------------------------------------------------------------
# esphome-docs components/mqtt.rst: a sensor's state goes to
# `<TOPIC_PREFIX>/<COMPONENT_TYPE>/<COMPONENT_NAME>/state` as a plain value.
ESPHOME_TEMPERATURE_TOPIC = "livingroom/sensor/living_room_temperature/state"
ESPHOME_TEMPERATURE = b"21.50"
