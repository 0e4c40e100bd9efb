"""IoTitan end to end on the real stack a user runs, with nothing mocked.

Mosquitto, Home Assistant as its own process with its real MQTT client (no
`mqtt_mock`), a real rsyslogd receiving IoTitan's syslog over TCP and the fake
ThingSpeak as a server process; a real MQTT client (paho) publishes, another
subscribes to IoTitan's output. Home Assistant is provisioned only through its
HTTP API (onboarding, config flows, options flow), as `scripts/develop` does.

Each test takes well under a minute; every wait is bounded and nothing asserts
how fast anything is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
import json
import math
import statistics
import time
from typing import Any
import urllib.parse

import pytest

from custom_components.iotitan.engine.record import unescape
from tests.rsyslog import Rsyslog

from .conftest import (
    FakeThingSpeakProcess,
    HomeAssistant,
    Mosquitto,
    MqttClient,
    develop,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PROBE = "e2e/probe"
CHANNEL_ID = 4242
WRITE_KEY = "E2EWRITEKEY00001"
ADVANCED = {"percentile": 95, "precision": 3, "max_topics": 10}


def sensor(name: str, topic: str, statistics_: list[str]) -> dict[str, Any]:
    """A sensor source as the "Add sensor source" form submits it."""
    return {
        "name": name,
        "topic": topic,
        "unit_of_measurement": "°C",
        "device_class": "temperature",
        "windows": ["1h"],
        "statistics": statistics_,
        "advanced": ADVANCED,
    }


def hub_options(**logging: Any) -> dict[str, Any]:
    """Options flow changes: tick every second, output every second."""
    return {
        "update_interval": 1,
        "logging": {"log_topics": ["e2e/#"], **logging},
        "output": {
            "enabled": True,
            "prefix": "iotitan",
            "publish_interval": 1,
            "qos": 0,
            "retain": False,
            "legacy_topics": False,
        },
    }


def number(state: str) -> float:
    """A state as a number (NaN for unknown/unavailable)."""
    try:
        return float(state)
    except ValueError:
        return math.nan


def near(expected: float, tolerance: float = 5e-4) -> Callable[[str], bool]:
    """A state condition: within `tolerance` (statistics show 3 decimals)."""
    return lambda state: abs(number(state) - expected) <= tolerance


def publish_values(
    client: MqttClient, topic: str, values: list[float], pause: float = 0.05
) -> None:
    """Publish readings as the ESP8266 sensors do: plain numbers, QoS 1."""
    for value in values:
        client.publish(topic, f"{value:g}")
        time.sleep(pause)  # distinct timestamps, in order


def syslog_records(output: bytes, topic: str) -> list[bytes]:
    """rsyslog's records (one a line) of one topic."""
    marker = f'[mqtt@32473 topic="{topic}"'.encode()
    return [line for line in output.splitlines() if marker in line]


def syslog_payload(record: bytes) -> bytes:
    """The MQTT payload a record carries: its MSG after the SD, unescaped."""
    _, sd_end, msg = record.partition(b'retain="0"]')
    assert sd_end, record
    return unescape(msg.removeprefix(b" "))


# -- test 1 -----------------------------------------------------------------------------

LAB = "e2e/lab/temperature"
LAB_DEVICE = "Lab temperature"  # a topic without wildcards: its last two levels
RAW = "e2e/lab/raw"
# Readings across the alert's limit (30, deadband 2: on above 30, off at 28).
BEFORE_ALERT = [21.5, 22.25, 19.75, 24.0]
ALERT_ON = [31.5]
STILL_ON = [29.0]  # above limit - deadband: the alert holds
ALERT_OFF = [27.5]
# Payloads that are logged but are no reading, and log-only payloads that
# would break a line-based log if written raw.
JUNK = [b"err", b"nan"]
RAW_PAYLOADS = [b'line one\nline two "quoted" ]', b"\xff\xfe not utf-8", b""]


# MQTT 5 is the MQTT integration's default from 2026.6 and its only protocol from
# 2027.1; 3.1.1 stays tested while Home Assistant supports it. Only the main test
# runs on both (each run costs about a minute); the others use 5.
# Mosquitto logs its own protocol numbers: p2 is MQTT 3.1.1, p5 is MQTT 5.
MQTT_LEVEL = {"5": 5, "3.1.1": 2}


def assert_home_assistant_speaks(mosquitto: Mosquitto, protocol: str) -> None:
    """The broker saw Home Assistant's client connect with `protocol`."""
    # The test's own paho clients are named e2e-*; Home Assistant's is not.
    levels = {
        level
        for client, level in mosquitto.client_protocols().items()
        if not client.startswith("e2e-")
    }
    assert levels == {MQTT_LEVEL[protocol]}, mosquitto.client_protocols()


def assert_no_deprecation_reported(log: str) -> None:
    """Home Assistant's report_usage (frame.py) logs "Detected that custom
    integration 'iotitan' ..." for every deprecated use it sees: none here."""
    reported = [
        line for line in log.splitlines() if "custom integration 'iotitan'" in line
    ]
    assert reported == []


@pytest.mark.usefixtures("socket_enabled")
@pytest.mark.parametrize("mqtt_protocol", ["5", "3.1.1"])
def test_readings_flow_to_statistics_alerts_outputs_syslog_and_thingspeak(
    home_assistant: HomeAssistant,
    mosquitto: Mosquitto,
    rsyslog: Rsyslog,
    fake_thingspeak_process: Callable[..., FakeThingSpeakProcess],
    mqtt_clients: Callable[[int, str], MqttClient],
    mqtt_protocol: str,
) -> None:
    """Published readings become statistics, an alert, MQTT output, syslog and rows."""
    fake = fake_thingspeak_process(f"{CHANNEL_ID}:{WRITE_KEY}:paid")
    hass = home_assistant
    api = hass.api
    hub = hass.provision(mosquitto.port, mqtt_protocol)
    develop.set_hub_options(
        api,
        hub,
        hub_options(
            syslog_transport="tcp",
            syslog_host="127.0.0.1",
            syslog_port=rsyslog.port,
            syslog_hostname="e2e-host",
        ),
    )
    assert develop.add_sensor(
        api, hub, sensor("Lab", LAB, ["mean", "value_min", "value_max", "count"])
    )
    develop.add_alert(
        api,
        hub,
        "Lab",
        {
            "name": "Too hot",
            "watch": "value",
            "rule": "high",
            "high": 30,
            "deadband": 2,
            "severity": "critical",
        },
    )
    develop.add_channel(
        api,
        hub,
        {
            "name": "E2E channel",
            "channel_id": str(CHANNEL_ID),
            "write_api_key": WRITE_KEY,
            "plan": "paid",
            "upload_interval": 2,
            "send_test_row": False,
            "advanced": {"base_url": fake.url},
        },
        {
            "field1": develop.FieldChoice(LAB, 3600.0, "mean"),
            "field2": develop.FieldChoice(LAB, 3600.0, "count"),
        },
    )
    develop.reload_entry(api, hub)
    hass.wait_loaded(hub)

    subscriber = mqtt_clients(mosquitto.port, "e2e-output-subscriber")
    subscriber.subscribe("iotitan/#")
    publisher = mqtt_clients(mosquitto.port, "e2e-publisher")
    # The lab topic rides on the log filter e2e/#, not a subscription of its own:
    # over MQTT 5 overlapping subscriptions would deliver every reading twice.
    mosquitto.wait_subscribed({"e2e/#"})
    assert LAB not in mosquitto.subscriptions()[1]

    # A topic's device and entities appear with its first message.
    published: list[float] = []
    publish_values(publisher, LAB, BEFORE_ALERT)
    published += BEFORE_ALERT
    count = hass.entity_id(f"{LAB_DEVICE} Count 1h")
    mean = hass.entity_id(f"{LAB_DEVICE} Mean 1h")
    low = hass.entity_id(f"{LAB_DEVICE} Minimum 1h")
    high = hass.entity_id(f"{LAB_DEVICE} Maximum 1h")
    # The alert's device is named after it; on a one-topic source its entity
    # is the device's main one and has that name.
    alert = hass.entity_id("Too hot")
    hass.wait_state(count, near(len(published)), f"{len(published)} readings")

    def publish(values: list[float]) -> None:
        publish_values(publisher, LAB, values)
        published.extend(values)
        hass.wait_state(count, near(len(published)), f"{len(published)} readings")

    for junk in JUNK:  # counted as rejected, never a reading
        publisher.publish(LAB, junk)
    hass.wait_state(alert, lambda state: state == "off", "off")
    publish(ALERT_ON)
    on = hass.wait_state(alert, lambda state: state == "on", "on")
    assert on["attributes"]["value"] == 31.5
    assert on["attributes"]["limit"] == 30
    assert on["attributes"]["severity"] == "critical"
    publish(STILL_ON)
    assert hass.state(alert)["state"] == "on"  # within the deadband
    publish(ALERT_OFF)
    hass.wait_state(alert, lambda state: state == "off", "off again")

    # Statistics as computed from what was published (junk excluded).
    expected_mean = statistics.fmean(published)
    hass.wait_state(mean, near(expected_mean), f"the mean {expected_mean}")
    assert number(hass.state(low)["state"]) == min(published)
    assert number(hass.state(high)["state"]) == max(published)
    # The hub's total, by reason (the topic's own counter is disabled by default).
    rejected = hass.entity_id(f"{develop.HUB_NAME} Payloads rejected")
    counted = hass.wait_state(rejected, near(len(JUNK), 0), f"{len(JUNK)} rejected")
    assert counted["attributes"]["not_a_number"] == 1, counted  # b"err"
    assert counted["attributes"]["not_finite"] == 1, counted  # b"nan"

    # Log-only topic: payloads a line-based log could be broken by.
    for payload in RAW_PAYLOADS:
        publisher.publish(RAW, payload)

    # MQTT output, seen by a real subscriber: statistics every second...
    stats = "iotitan/stats/e2e/lab/temperature/1h"

    def latest(topic: str) -> float | None:
        messages = subscriber.messages(topic)
        return float(messages[-1].payload) if messages else None

    wait_for(
        "the mean on the MQTT output",
        lambda: latest(f"{stats}/mean") == pytest.approx(expected_mean),
        details=lambda: str(subscriber.messages("iotitan/stats/")[-10:]),
    )
    wait_for(
        "count, min and max on the MQTT output",
        lambda: (
            latest(f"{stats}/count"),
            latest(f"{stats}/value_min"),
            latest(f"{stats}/value_max"),
        )
        == (len(published), min(published), max(published)),
    )
    # ... and each alert transition (retained, JSON).
    transitions = [
        json.loads(message.payload)
        for message in subscriber.messages("iotitan/alerts/e2e/lab/temperature/Too_hot")
    ]
    states = [transition["state"] for transition in transitions]
    assert states[-2:] == ["on", "off"], transitions
    assert states.count("on") == 1, transitions  # 29.0 did not clear and re-raise
    turned_on = transitions[states.index("on")]
    assert (turned_on["value"], turned_on["limit"]) == (31.5, 30)
    assert turned_on["rule"] == "high"
    assert turned_on["severity"] == "critical"

    # rsyslog got one intact RFC 5424 record per published message.
    junk_count = len(JUNK)
    output = rsyslog.wait_for(
        lambda data: (
            len(syslog_records(data, LAB)) >= len(published) + junk_count
            and len(syslog_records(data, RAW)) >= len(RAW_PAYLOADS)
        ),
        timeout=30,
        settle=1.0,
    )
    lines = output.splitlines()
    assert all(line.startswith(b"<134>1 ") for line in lines), lines  # local0.info
    assert all(b" e2e-host iotitan " in line for line in lines), lines
    lab = syslog_records(output, LAB)
    sent = [f"{value:g}".encode() for value in published[:4]] + JUNK
    sent += [f"{value:g}".encode() for value in published[4:]]
    assert [syslog_payload(record) for record in lab] == sent
    raw = syslog_records(output, RAW)
    # Each is one record (a raw newline would have split one in two lines,
    # caught above), and unescaping gives back the exact bytes.
    assert [syslog_payload(record) for record in raw] == RAW_PAYLOADS

    # The fake ThingSpeak stored rows; the newest ones carry the final values.
    def final_row() -> dict[str, Any] | None:
        for row in reversed(fake.feed(CHANNEL_ID)):
            if row["field2"] is not None and float(row["field2"]) == len(published):
                return row
        return None

    row = wait_for("a ThingSpeak row with every reading", final_row, timeout=30)
    assert float(row["field1"]) == pytest.approx(expected_mean, abs=5e-4)
    rows = fake.feed(CHANNEL_ID)
    stamps = [entry["created_at"] for entry in rows]
    assert len(set(stamps)) == len(stamps)  # created_at unique in the channel
    counts = [float(entry["field2"]) for entry in rows if entry["field2"] is not None]
    assert counts == sorted(counts)  # rows arrive in order
    errors = [line for line in hass.log_text().splitlines() if " ERROR " in line]
    assert not [line for line in errors if "iotitan" in line], errors
    assert_home_assistant_speaks(mosquitto, mqtt_protocol)
    assert_no_deprecation_reported(hass.log_text())


# -- test 2 -----------------------------------------------------------------------------

RESTART = "e2e/restart/temperature"
RESTART_DEVICE = "Restart temperature"
BEFORE_OUTAGE = [18.0, 18.5, 19.0, 19.5, 20.0]
DURING_OUTAGE = [99.0, 98.0, 97.0]
AFTER_OUTAGE = [21.0, 21.5, 22.0, 22.5]


def history(hass: HomeAssistant, entity_id: str, start: datetime) -> list[str]:
    """The entity's recorded states since `start`, oldest first (REST history)."""
    query = urllib.parse.urlencode(
        {"filter_entity_id": entity_id, "minimal_response": "", "no_attributes": ""}
    )
    answer = hass.api.request("GET", f"/api/history/period/{start.isoformat()}?{query}")
    return [state["state"] for state in (answer[0] if answer else [])]


@pytest.mark.usefixtures("socket_enabled")
def test_broker_restart_mid_stream_shows_a_gap_and_recovers(
    home_assistant: HomeAssistant,
    mosquitto: Mosquitto,
    mqtt_clients: Callable[[int, str], MqttClient],
) -> None:
    """Entities go unavailable while the broker is down; readings resume after."""
    started = datetime.now(UTC)
    hass = home_assistant
    api = hass.api
    hub = hass.provision(mosquitto.port)
    develop.set_hub_options(api, hub, hub_options())
    assert develop.add_sensor(api, hub, sensor("Restart", RESTART, ["mean", "count"]))
    develop.reload_entry(api, hub)
    hass.wait_loaded(hub)
    mosquitto.wait_subscribed({"e2e/#"})  # RESTART rides on the log filter
    publisher = mqtt_clients(mosquitto.port, "e2e-publisher")
    publish_values(publisher, RESTART, BEFORE_OUTAGE)
    count = hass.entity_id(f"{RESTART_DEVICE} Count 1h")
    mean = hass.entity_id(f"{RESTART_DEVICE} Mean 1h")
    hass.wait_state(count, near(len(BEFORE_OUTAGE)), "counting the first readings")

    # The broker goes away: Home Assistant's client notices, IoTitan's
    # entities say so rather than keep showing the last numbers as current.
    mosquitto.stop()
    for entity in (count, mean):
        hass.wait_state(entity, lambda state: state == "unavailable", "unavailable")
    wait_for("the publisher to notice", lambda: not publisher.client.is_connected())
    for value in DURING_OUTAGE:  # nowhere to go: refused, not queued (QoS 0)
        info = publisher.client.publish(RESTART, f"{value:g}", qos=0)
        assert info.rc != 0, "published while the broker was down?"

    # Same port again: Home Assistant reconnects (its client retries every
    # 10 s) and resubscribes; so does the publisher.
    since = mosquitto.log_size()
    mosquitto.start()
    for entity in (count, mean):
        hass.wait_state(entity, lambda state: state != "unavailable", "available again")
    mosquitto.wait_subscribed({"e2e/#"}, since)
    wait_for("the publisher to reconnect", publisher.client.is_connected)

    # The windows kept what came before; what was published during the
    # outage never arrived and is not counted; new readings count again.
    assert number(hass.state(count)["state"]) == len(BEFORE_OUTAGE)
    publish_values(publisher, RESTART, AFTER_OUTAGE)
    received = BEFORE_OUTAGE + AFTER_OUTAGE
    hass.wait_state(count, near(len(received)), "counting after the reconnect")
    hass.wait_state(mean, near(statistics.fmean(received)), "the mean of what arrived")

    # The recorded history shows the gap: numbers, unavailable, numbers.
    def recorded() -> list[str] | None:
        states = history(hass, count, started)
        return states if states and number(states[-1]) == len(received) else None

    states = wait_for("the history to reach the recorder", recorded, timeout=30)
    gap = states.index("unavailable")
    assert any(number(s) == len(BEFORE_OUTAGE) for s in states[:gap]), states
    assert all(
        number(s) >= len(BEFORE_OUTAGE) for s in states[gap + 1 :] if s != "unavailable"
    ), states
    log = hass.log_text()
    assert "MQTT connection lost; IoTitan entities are unavailable" in log
    assert_home_assistant_speaks(mosquitto, "5")
    assert_no_deprecation_reported(log)
