"""IoTitan is a good neighbour on the MQTT bus (issue 13, sections 1 and 2).

Home Assistant's real MQTT integration (its real paho client, no mock) talks to
a real Mosquitto on a loopback port. A core MQTT sensor, MQTT-triggered
automations and IoTitan subscribe to identical filter strings (an exact topic and
`#`), in different set-up orders and across reloads of IoTitan; every
subscriber must get its value as it would without IoTitan. The MQTT client
decodes a message once per subscription topic string and hands that object to
every subscriber of the string (`mqtt/client.py`, `_async_mqtt_on_message`),
so a subscriber asking for bytes, if served first, hands bytes to everyone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import logging
from typing import Any

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from custom_components.iotitan.const import CONF_LOG_TOPICS, CONF_LOGGING
from custom_components.iotitan.hub import IoTitanHub

from .common import hub_entry, sensor_subentry
from .e2e.conftest import Mosquitto
from .real_mqtt import settled, setup_mqtt, until

TOPIC = "iotitan/home/adelaide/temperature"
OTHER = "iotitan/home/adelaide/humidity"
EVENT = "iotitan_test_trigger"


async def _add_hub(
    hass: HomeAssistant, title: str, log_topics: list[str]
) -> MockConfigEntry:
    entry = hub_entry(sensor_subentry(TOPIC, title=f"{title} source"), name=title)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_LOGGING: {CONF_LOG_TOPICS: log_topics}}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _setup_core(hass: HomeAssistant) -> None:
    """A YAML MQTT sensor on the exact topic and one on `#`; automations on both."""
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                {
                    "alias": f"on {name}",
                    "triggers": [{"trigger": "mqtt", "topic": topic_filter}],
                    "actions": [
                        {
                            "event": EVENT,
                            "event_data": {
                                "filter": name,
                                "topic": "{{ trigger.topic }}",
                                # bytes would render as "b'...'"
                                "payload": "got {{ trigger.payload }}",
                                "is_str": "{{ trigger.payload is string }}",
                            },
                        }
                    ],
                }
                for name, topic_filter in (("exact", TOPIC), ("all", "#"))
            ]
        },
    )


CONFIGURATION_YAML = f"""
mqtt:
  sensor:
    - name: Core temperature
      state_topic: {TOPIC}
      unique_id: core_temperature
      force_update: true
    - name: Core everything
      state_topic: "#"
      unique_id: core_everything
      force_update: true
"""


async def _setup_mqtt(hass: HomeAssistant, port: int) -> MockConfigEntry:
    """The MQTT entry; its YAML sensors come from configuration.yaml."""
    return await setup_mqtt(hass, port, CONFIGURATION_YAML)


# (set-up order, IoTitan hubs' log filters). Hub "exact" logs only its source's
# topic, so it subscribes to the very string of the core sensor; hub "all" has
# the default `#` log filter, which covers its source: it subscribes to `#` only.
ORDERS = [
    ("core first", ["core", "exact", "all"]),
    ("iotitan first", ["exact", "all", "core"]),
    ("core between the hubs", ["all", "core", "exact"]),
]


@pytest.mark.parametrize(("label", "order"), ORDERS, ids=[o[0] for o in ORDERS])
async def test_every_subscriber_gets_its_value(
    hass: HomeAssistant,
    broker: Mosquitto,
    caplog: pytest.LogCaptureFixture,
    label: str,
    order: list[str],
) -> None:
    """Same strings, many orders: every subscriber sees the str it asked for."""
    caplog.set_level(logging.WARNING)
    events: list[dict[str, Any]] = []

    @callback
    def seen(event: Event) -> None:
        events.append(dict(event.data))

    hass.bus.async_listen(EVENT, seen)
    mqtt_entry = await _setup_mqtt(hass, broker.port)
    hubs: list[MockConfigEntry] = []
    for part in order:
        if part == "core":
            await _setup_core(hass)
            if hubs:  # IoTitan subscribed first: core's sensors subscribe again
                await _reload_mqtt_yaml(hass)
        else:
            hubs.append(
                await _add_hub(hass, part, [TOPIC] if part == "exact" else ["#"])
            )

    value = 20.0
    for round_ in range(6):
        await settled(broker, {TOPIC, "#"})
        events.clear()
        value += 0.5
        text = f"{value:.1f}"
        await mqtt.async_publish(hass, TOPIC, text, 0, False)
        await mqtt.async_publish(hass, OTHER, "55", 0, False)

        def all_seen(
            text: str = text,
            value: float = value,
            hubs: list[MockConfigEntry] = hubs,
        ) -> bool:
            return (
                _state(hass, "sensor.core_temperature") == text
                and _state(hass, "sensor.core_everything") == "55"
                and len(events) >= 3
                and all(
                    h.runtime_data.sources[next(iter(h.subentries))].topics.get(TOPIC)
                    is not None
                    and h.runtime_data.sources[next(iter(h.subentries))]
                    .topics[TOPIC]
                    .last_value
                    == value
                    for h in hubs
                )
            )

        try:
            await until(f"every subscriber to see {text} ({label})", all_seen, 10)
        except pytest.fail.Exception:
            pytest.fail(
                f"round {round_} ({label}): core sensor "
                f"{_state(hass, 'sensor.core_temperature')!r}, `#` sensor "
                f"{_state(hass, 'sensor.core_everything')!r}, automations {events}, "
                f"log {caplog.text[-2000:]}"
            )
        assert sorted(
            (e["filter"], e["topic"], e["payload"], e["is_str"]) for e in events
        ) == [
            ("all", OTHER, "got 55", True),
            ("all", TOPIC, f"got {text}", True),
            ("exact", TOPIC, f"got {text}", True),
        ]
        # Reload IoTitan: its subscriptions are made anew (a new position in
        # the client's set of exact-topic subscribers, the end of its
        # wildcard ones); every other round core's sensors too.
        if round_ % 2:
            await _reload_mqtt_yaml(hass)
        for hub in hubs:
            assert await hass.config_entries.async_reload(hub.entry_id)
        await hass.async_block_till_done()
        hubs = [hass.config_entries.async_get_entry(h.entry_id) for h in hubs]  # type: ignore[misc]
        assert all(h.state is ConfigEntryState.LOADED for h in hubs)

    assert "Invalid undecoded state message" not in caplog.text
    assert "Can't decode payload" not in caplog.text
    for hub in hubs:
        assert await hass.config_entries.async_unload(hub.entry_id)
    assert await hass.config_entries.async_unload(mqtt_entry.entry_id)
    await hass.async_block_till_done()


def _state(hass: HomeAssistant, entity_id: str) -> str | None:
    state = hass.states.get(entity_id)
    return None if state is None else state.state


async def _reload_mqtt_yaml(hass: HomeAssistant) -> None:
    await hass.services.async_call(mqtt.DOMAIN, "reload", blocking=True)
    await hass.async_block_till_done()


async def test_payloads_that_are_not_utf8(
    hass: HomeAssistant, broker: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    """Counted and journaled by IoTitan, no log line of IoTitan's; others unchanged.

    The core sensor (UTF-8) cannot decode the payload: the MQTT client logs
    that for the sensor's subscription, as it would without IoTitan, and never
    for IoTitan's.
    """
    caplog.set_level(logging.WARNING)
    caplog.set_level(logging.DEBUG, logger="custom_components.iotitan")
    mqtt_entry = await _setup_mqtt(hass, broker.port)
    hubs = [
        await _add_hub(hass, "exact", [TOPIC]),
        await _add_hub(hass, "all", ["#"]),
    ]
    await settled(broker, {TOPIC, "#"})
    await mqtt.async_publish(hass, TOPIC, "21.5", 0, False)
    for _ in range(3):
        await mqtt.async_publish(hass, TOPIC, b"\xff\xfe21", 0, False)
    await mqtt.async_publish(hass, OTHER, "55", 0, False)

    def done() -> bool:
        # Hub "exact" subscribes to TOPIC only; hub "all" to `#`.
        return _state(hass, "sensor.core_everything") == "55" and [
            h.runtime_data.messages_received for h in hubs
        ] == [4, 5]

    await until("every message", done)
    assert _state(hass, "sensor.core_temperature") == "21.5"
    for hub in hubs:
        runtime = hub.runtime_data
        assert runtime.payloads_not_utf8 == 3
        topic = runtime.sources[next(iter(hub.subentries))].topics[TOPIC]
        assert topic.rejected == {"not_utf8": 3}
        assert topic.last_value == 21.5
        assert runtime.as_diagnostics()["payloads_not_utf8"] == 3
        await hass.config_entries.async_unload(hub.entry_id)
        # Journaled as sent (escaped in the file, the exact bytes on replay).
        replayed = await runtime.message_log.async_replay(0)
        assert [r.payload for r in replayed if r.topic == TOPIC] == [
            b"21.5",
            *[b"\xff\xfe21"] * 3,
        ]
    undecodable = [
        r.getMessage() for r in caplog.records if "Can't decode" in r.getMessage()
    ]
    assert undecodable  # the core subscribers' own complaint
    assert not [line for line in undecodable if "IoTitanHub" in line]
    # IoTitan's own word on them: one debug line per hub and topic, not one
    # per message, and nothing at warning level.
    ours = [r for r in caplog.records if r.name.startswith("custom_components.iotitan")]
    assert not [r.getMessage() for r in ours if r.levelno >= logging.WARNING]
    about_utf8 = [r.getMessage() for r in ours if "not_utf8" in r.getMessage()]
    assert len(about_utf8) == len(hubs), about_utf8
    assert await hass.config_entries.async_unload(mqtt_entry.entry_id)
    await hass.async_block_till_done()


async def test_one_message_one_call(
    hass: HomeAssistant,
    setup_hub: Callable[[MockConfigEntry], Awaitable[MockConfigEntry]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Default log filter `#` plus sources: one callback per message, routed to all.

    `#` covers every source filter except one on `$` topics, which `#` never
    matches (MQTT 4.7.2): the hub subscribes to `#` and `$SYS/#` only.
    """
    calls: list[tuple[str, str]] = []
    make_handler = IoTitanHub._message_handler

    def counting(
        self: IoTitanHub, topic_filter: str
    ) -> Callable[[mqtt.ReceiveMessage], None]:
        handle = make_handler(self, topic_filter)

        @callback
        def wrapped(message: mqtt.ReceiveMessage) -> None:
            calls.append((topic_filter, message.topic))
            handle(message)

        return wrapped

    monkeypatch.setattr(IoTitanHub, "_message_handler", counting)
    entry = await setup_hub(
        hub_entry(
            sensor_subentry("home/+/temperature", title="Temperatures"),
            sensor_subentry("home/kitchen/#", title="Kitchen"),
            sensor_subentry("$SYS/broker/#", title="Broker"),
        )
    )
    hub: IoTitanHub = entry.runtime_data
    assert hub.as_diagnostics()["subscriptions"] == ["$SYS/broker/#", "#"]
    async_fire_mqtt_message(hass, "home/kitchen/temperature", "21.5")
    async_fire_mqtt_message(hass, "$SYS/broker/load", "3")
    async_fire_mqtt_message(hass, "garden/rain", "0")
    await hass.async_block_till_done()
    assert sorted(calls) == [
        ("#", "garden/rain"),
        ("#", "home/kitchen/temperature"),
        ("$SYS/broker/#", "$SYS/broker/load"),
    ]
    assert hub.messages_received == 3
    values = {
        source.title: {t: s.last_value for t, s in source.topics.items()}
        for source in hub.sources.values()
    }
    assert values == {
        "Temperatures": {"home/kitchen/temperature": 21.5},
        "Kitchen": {"home/kitchen/temperature": 21.5},
        "Broker": {"$SYS/broker/load": 3.0},
    }
