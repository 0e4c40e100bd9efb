"""Alert entities and the alert runtime, through Home Assistant's harness.

Expected states come from the rules (ISA-18.2 style, see engine/alerts.py):
high turns on when the value rises strictly above the limit and clears only at
limit minus deadband; low mirrors it; delays need the condition to hold for
the whole delay; stale fires when no reading came for `stale_after`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.mqtt.const import MQTT_CONNECTION_STATE
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigFlowResult,
    ConfigSubentry,
    ConfigSubentryDataWithId,
)
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, State
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_mqtt_message,
    mock_restore_cache,
    mock_restore_cache_with_extra_data,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MqttMockHAClient,
)

from custom_components.iotitan.alert_runtime import AlertProblem, AlertSettings
from custom_components.iotitan.const import DOMAIN, EVENT_ALERT, SUBENTRY_ALERT
from custom_components.iotitan.device import device_by_identifier, device_subentry_ids
from custom_components.iotitan.engine.alerts import AlertConfig, AlertRule
from custom_components.iotitan.engine.window import Statistic
from custom_components.iotitan.engine.window_statistic import WindowStatistic
from custom_components.iotitan.models import (
    SensorSourceConfig,
    parse_watch,
    watch_text,
)

from .alerts_common import (
    ALERT_ID,
    SOURCE_ID,
    START,
    SetupHub,
    advance,
    alert_entity_id,
    alert_state,
    alert_subentry,
    iso,
    setup_with_known_topics,
    source_subentry,
)
from .common import hub_entry

# Titles as the alert flow makes them for an unnamed alert on the `room/t` source
# (the alert's device, and its entity on a one-topic source, take that name).
TITLE_ABOVE_30 = "room/t: above 30"
TITLE_STALE_10M = "room/t: no reading for 10m"


async def send(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    payload: str,
    *,
    after: float = 0,
    topic: str = "room/t",
) -> None:
    """Publish a reading `after` seconds from now (without running timers)."""
    if after:
        freezer.tick(timedelta(seconds=after))
    async_fire_mqtt_message(hass, topic, payload)
    await hass.async_block_till_done()


@pytest.fixture(autouse=True)
def start_time(freezer: FrozenDateTimeFactory) -> None:
    """Every test starts at START, on a whole second."""
    freezer.move_to(START)


async def test_high_deadband_exact_boundaries(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """On strictly above 30; off only at 30 - 2 = 28, not above it."""
    events = async_capture_events(hass, EVENT_ALERT)
    await setup_hub(
        hub_entry(
            source_subentry(),
            alert_subentry(high=30, deadband=2, title=TITLE_ABOVE_30),
        )
    )
    steps = [
        ("29", STATE_OFF),
        ("30", STATE_OFF),  # at the limit is not above it
        ("30.001", STATE_ON),
        ("28.001", STATE_ON),  # inside the deadband
        ("28", STATE_OFF),  # limit minus deadband clears
        ("30", STATE_OFF),
    ]
    for second, (payload, expected) in enumerate(steps):
        await send(hass, freezer, payload, after=1 if second else 0)
        assert alert_state(hass).state == expected, payload

    entity_id = "binary_sensor.room_t_above_30"
    assert alert_entity_id(hass) == entity_id
    # Becoming known as "off" (the first reading) is no transition to report.
    assert [event.data for event in events] == [
        {
            "entity_id": entity_id,
            "state": "on",
            "value": 30.001,
            "limit": 30.0,
            "rule": "high",
            "severity": "warning",
            "topic": "room/t",
            "since": iso(2),
        },
        {
            "entity_id": entity_id,
            "state": "off",
            "value": 28.0,
            "limit": 30.0,
            "rule": "high",
            "severity": "warning",
            "topic": "room/t",
            "since": iso(4),
        },
    ]
    state = alert_state(hass)
    assert state.attributes["device_class"] == "problem"
    assert state.attributes["value"] == 28.0  # the value of the last change
    assert state.attributes["limit"] == 30.0
    assert state.attributes["rule"] == "high"
    assert state.attributes["severity"] == "warning"
    assert state.attributes["watch"] == "Raw value"
    assert state.attributes["since"] == iso(4)


async def test_low_deadband_exact_boundaries(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """On strictly below 5; off only at 5 + 1 = 6."""
    events = async_capture_events(hass, EVENT_ALERT)
    await setup_hub(
        hub_entry(
            source_subentry(),
            alert_subentry("low", low=5, deadband=1, severity="critical"),
        )
    )
    for payload, expected in [
        ("6", STATE_OFF),
        ("5", STATE_OFF),
        ("4.5", STATE_ON),
        ("5.999", STATE_ON),
        ("6", STATE_OFF),
    ]:
        await send(hass, freezer, payload)
        assert alert_state(hass).state == expected, payload
    assert [
        (e.data["state"], e.data["value"], e.data["limit"], e.data["severity"])
        for e in events
    ] == [("on", 4.5, 5.0, "critical"), ("off", 6.0, 5.0, "critical")]


async def test_range_remembers_the_side_crossed(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """Out of 10..20: the limit crossed is reported, and its deadband clears."""
    events = async_capture_events(hass, EVENT_ALERT)
    await setup_hub(
        hub_entry(
            source_subentry(), alert_subentry("range", low=10, high=20, deadband=1)
        )
    )
    await send(hass, freezer, "15")
    assert alert_state(hass).state == STATE_OFF
    await send(hass, freezer, "21")
    assert alert_state(hass).state == STATE_ON
    assert alert_state(hass).attributes["limit"] == 20.0
    await send(hass, freezer, "19.5")  # inside the high deadband
    assert alert_state(hass).state == STATE_ON
    await send(hass, freezer, "9")  # beyond the other limit: still on, low side
    await advance(hass, freezer, 10)  # the next update writes the new side
    assert alert_state(hass).attributes["limit"] == 10.0
    await send(hass, freezer, "10.5")  # inside the low deadband (needs 11)
    assert alert_state(hass).state == STATE_ON
    await send(hass, freezer, "11")
    assert alert_state(hass).state == STATE_OFF
    assert [(e.data["state"], e.data["limit"]) for e in events] == [
        ("on", 20.0),
        ("off", 10.0),
    ]


async def test_on_and_off_delays(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """The condition must hold for the whole delay; an interruption restarts it."""
    events = async_capture_events(hass, EVENT_ALERT)
    await setup_hub(
        hub_entry(
            source_subentry(),
            alert_subentry(high=30, on_delay=60, off_delay=120),
        )
    )
    await send(hass, freezer, "31")  # t=0: on-delay starts
    assert alert_state(hass).state == STATE_OFF
    await send(hass, freezer, "29", after=30)  # t=30: interrupted
    await send(hass, freezer, "31", after=10)  # t=40: starts again, due t=100
    await advance(hass, freezer, 59)  # t=99
    assert alert_state(hass).state == STATE_OFF
    await advance(hass, freezer, 1)  # t=100: held for 60 s, without a message
    assert alert_state(hass).state == STATE_ON
    assert alert_state(hass).attributes["since"] == iso(100)

    await send(hass, freezer, "25", after=10)  # t=110: off-delay, due t=230
    await advance(hass, freezer, 119)  # t=229
    assert alert_state(hass).state == STATE_ON
    await advance(hass, freezer, 1)  # t=230
    assert alert_state(hass).state == STATE_OFF
    assert alert_state(hass).attributes["since"] == iso(230)
    assert [(e.data["state"], e.data["since"], e.data["value"]) for e in events] == [
        ("on", iso(100), 31.0),
        ("off", iso(230), 25.0),
    ]


async def test_stale_fires_on_a_timer_without_messages(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """No reading for 10 minutes turns the alert on; the next reading clears it."""
    events = async_capture_events(hass, EVENT_ALERT)
    await setup_hub(
        hub_entry(
            source_subentry(),
            alert_subentry("stale", stale_after=600, title=TITLE_STALE_10M),
        )
    )
    await send(hass, freezer, "20")
    assert alert_state(hass).state == STATE_OFF
    await advance(hass, freezer, 599)
    assert alert_state(hass).state == STATE_OFF
    await advance(hass, freezer, 1)
    state = alert_state(hass)
    assert state.state == STATE_ON
    assert state.entity_id == "binary_sensor.room_t_no_reading_for_10m"
    assert state.attributes["since"] == iso(600)
    assert state.attributes["value"] == 600.0  # age of the newest reading
    assert state.attributes["limit"] == 600.0

    await send(hass, freezer, "21", after=100)
    assert alert_state(hass).state == STATE_OFF
    assert [(e.data["state"], e.data["since"]) for e in events] == [
        ("on", iso(600)),
        ("off", iso(700)),
    ]


async def test_an_alert_deleted_while_running_stops_at_once(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """Deleted without a reload: its stale timer never fires, its entity goes.

    The hub keeps running (no reload): the source's statistics stay available.
    """
    events = async_capture_events(hass, EVENT_ALERT)
    entry = await setup_hub(
        hub_entry(
            source_subentry(),
            alert_subentry("stale", stale_after=600, title=TITLE_STALE_10M),
        )
    )
    await send(hass, freezer, "20")
    entity_id = alert_state(hass).entity_id
    hub = entry.runtime_data
    assert hass.config_entries.async_remove_subentry(entry, ALERT_ID)
    await hass.async_block_till_done()
    assert entry.runtime_data is hub  # not rebuilt
    assert hub.alerts.trackers == {}
    assert hass.states.get(entity_id) is None
    await advance(hass, freezer, 900)
    assert events == []
    await send(hass, freezer, "21")  # readings still reach the (empty) alerts
    assert events == []


async def test_rate_of_change_per_minute(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """The rate is the window's change per second times 60; unknown before two."""
    events = async_capture_events(hass, EVENT_ALERT)
    await setup_hub(
        hub_entry(
            source_subentry(windows=[60.0]),
            alert_subentry("rate", rate_limit=10, deadband=2),
        )
    )
    await send(hass, freezer, "20")
    assert alert_state(hass).state == STATE_UNAVAILABLE  # one sample: no rate
    await send(hass, freezer, "21", after=30)  # (21-20)/30 s = 2/min
    assert alert_state(hass).state == STATE_OFF
    await send(hass, freezer, "31", after=10)  # (31-20)/40 s = 16.5/min
    assert alert_state(hass).state == STATE_ON
    await send(hass, freezer, "30.9", after=10)  # (30.9-20)/50 s = 13.08/min
    assert alert_state(hass).state == STATE_ON
    # t=100: 20 and 21 left the window; (31-31)/60 s = 0 <= 10 - 2.
    await send(hass, freezer, "31", after=50)
    assert alert_state(hass).state == STATE_OFF
    assert [
        (e.data["state"], pytest.approx(e.data["value"]), e.data["limit"])
        for e in events
    ] == [("on", 16.5, 10.0), ("off", 0.0, 10.0)]


async def test_rate_falling_counts_too(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """A fall faster than the limit alerts as a rise does."""
    await setup_hub(
        hub_entry(
            source_subentry(windows=[60.0]), alert_subentry("rate", rate_limit=10)
        )
    )
    await send(hass, freezer, "30")
    await send(hass, freezer, "20", after=30)  # -20/min
    assert alert_state(hass).state == STATE_ON


async def test_rate_uses_the_watched_statistics_window(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """Watching a statistic of the 60 s window, the rate is over that window."""
    await setup_hub(
        hub_entry(
            source_subentry(windows=[10.0, 60.0]),
            alert_subentry("rate", watch="60/mean", rate_limit=10),
        )
    )
    await send(hass, freezer, "20")
    await send(hass, freezer, "26", after=20)  # 60 s window: 6/20 s = 18/min
    assert alert_state(hass).state == STATE_ON
    # The 10 s window holds only the 26 (no rate): the 60 s one is watched.
    await send(hass, freezer, "26", after=20)  # (26-20)/40 s = 9/min
    assert alert_state(hass).state == STATE_OFF


async def test_late_message_resolves_every_change_in_order(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """A delay that ran out unseen turns the alert on, then the reading clears it."""
    events = async_capture_events(hass, EVENT_ALERT)
    await setup_hub(hub_entry(source_subentry(), alert_subentry(high=30, on_delay=60)))
    await send(hass, freezer, "31")
    # The clock jumps past the deadline without the timer running (a busy
    # loop): the next reading settles the history exactly.
    await send(hass, freezer, "20", after=100)
    assert alert_state(hass).state == STATE_OFF
    assert [(e.data["state"], e.data["since"]) for e in events] == [
        ("on", iso(60)),
        ("off", iso(100)),
    ]


async def test_statistic_watch_follows_expiry(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """A watched mean changes when samples leave the window, without messages."""
    events = async_capture_events(hass, EVENT_ALERT)
    await setup_hub(
        hub_entry(
            source_subentry(windows=[60.0], statistics=["mean"]),
            alert_subentry(watch="60/mean", high=25),
        )
    )
    await send(hass, freezer, "40")  # mean 40: on from the first reading
    await send(hass, freezer, "20", after=10)  # mean 30
    assert alert_state(hass).state == STATE_ON
    # As the person reads it, named like the statistic's entity.
    assert alert_state(hass).attributes["watch"] == "Mean 1m"
    for _ in range(5):  # t=20..60: the 40 is still in the window (60 s old)
        await advance(hass, freezer, 10)
        assert alert_state(hass).state == STATE_ON
    await advance(hass, freezer, 10)  # t=70: only the 20 is left
    assert alert_state(hass).state == STATE_OFF
    assert [(e.data["state"], e.data["value"]) for e in events] == [
        ("on", 40.0),
        ("off", 20.0),
    ]


async def test_unavailable_before_first_value_and_without_mqtt(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    """A known topic that has not reported yet is unavailable, not off."""
    await setup_with_known_topics(
        hass, hub_entry(source_subentry(), alert_subentry(high=30)), "room/t"
    )
    assert alert_state(hass).state == STATE_UNAVAILABLE
    await advance(hass, freezer, 30)
    assert alert_state(hass).state == STATE_UNAVAILABLE

    await send(hass, freezer, "31")
    assert alert_state(hass).state == STATE_ON
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, False)
    await hass.async_block_till_done()
    assert alert_state(hass).state == STATE_UNAVAILABLE
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, True)
    await hass.async_block_till_done()
    assert alert_state(hass).state == STATE_ON


async def test_restored_on_stays_on_inside_the_deadband(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    """A restored "on" keeps its since, and clears only at limit minus deadband."""
    entity_id = "binary_sensor.room_t_above_30"
    mock_restore_cache(
        hass,
        [
            State(
                entity_id,
                STATE_ON,
                {"since": iso(-3600), "rule": "high", "limit": "?", "value": 33},
            )
        ],
    )
    events = async_capture_events(hass, EVENT_ALERT)
    await setup_with_known_topics(
        hass,
        hub_entry(
            source_subentry(), alert_subentry(high=30, deadband=2, title=TITLE_ABOVE_30)
        ),
        "room/t",
    )
    state = alert_state(hass)
    assert state.entity_id == entity_id
    assert state.state == STATE_ON
    assert state.attributes["since"] == iso(-3600)
    assert state.attributes["value"] == 33

    await send(hass, freezer, "29", after=5)  # above 28: a restored "on" holds
    assert alert_state(hass).state == STATE_ON
    assert events == []
    await send(hass, freezer, "28", after=5)
    assert alert_state(hass).state == STATE_OFF
    assert [(e.data["state"], e.data["since"]) for e in events] == [("off", iso(10))]


async def test_restored_state_for_another_rule_is_ignored(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """A state saved by a different rule says nothing about this one."""
    mock_restore_cache(
        hass,
        [State("binary_sensor.room_t_above_30", STATE_ON, {"rule": "low"})],
    )
    await setup_with_known_topics(
        hass,
        hub_entry(source_subentry(), alert_subentry(high=30, title=TITLE_ABOVE_30)),
        "room/t",
    )
    assert alert_state(hass).state == STATE_UNAVAILABLE


async def test_restart_re_evaluates_from_the_journal(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """A restored "on" whose replayed reading is below the deadband clears."""
    entry = await setup_hub(
        hub_entry(source_subentry(), alert_subentry(high=30, deadband=2))
    )
    await send(hass, freezer, "25")
    entity_id = alert_entity_id(hass)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    mock_restore_cache(
        hass,
        [State(entity_id, STATE_ON, {"since": iso(-60), "rule": "high", "value": 31})],
    )
    events = async_capture_events(hass, EVENT_ALERT)
    freezer.tick(timedelta(seconds=30))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    state = alert_state(hass)
    assert state.state == STATE_OFF
    assert state.attributes["since"] == iso(30)
    assert [(e.data["state"], e.data["value"]) for e in events] == [("off", 25.0)]


async def test_reload_keeps_the_state_silently(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    mqtt_mock: MqttMockHAClient,
) -> None:
    """A reload restores "on" with its since: no event, nothing republished."""
    entry = await setup_hub(hub_entry(source_subentry(), alert_subentry(high=30)))
    await send(hass, freezer, "31")
    events = async_capture_events(hass, EVENT_ALERT)
    mqtt_mock.async_publish.reset_mock()
    await advance(hass, freezer, 5)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    state = alert_state(hass)
    assert state.state == STATE_ON
    assert state.attributes["since"] == iso(0)
    assert events == []
    assert not [
        call
        for call in mqtt_mock.async_publish.call_args_list
        if "alerts" in call[0][0]
    ]


async def test_stale_restored_with_last_seen_fires_without_messages(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, freezer: FrozenDateTimeFactory
) -> None:
    """After a restart the stale timer runs from the last reading before it."""
    entity_id = "binary_sensor.room_t_no_reading_for_10m"
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(entity_id, STATE_OFF, {"since": iso(-300), "rule": "stale"}),
                {"last_seen": (START - timedelta(seconds=300)).timestamp()},
            )
        ],
    )
    events = async_capture_events(hass, EVENT_ALERT)
    await setup_with_known_topics(
        hass,
        hub_entry(
            source_subentry(),
            alert_subentry("stale", stale_after=600, title=TITLE_STALE_10M),
        ),
        "room/t",
    )
    assert alert_state(hass).state == STATE_OFF
    await advance(hass, freezer, 299)
    assert alert_state(hass).state == STATE_OFF
    await advance(hass, freezer, 1)
    assert alert_state(hass).state == STATE_ON
    assert [(e.data["state"], e.data["since"]) for e in events] == [("on", iso(300))]


async def test_stale_restarts_from_the_journal(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """A new stale alert on a topic the journal knows starts from its last reading."""
    entry = await setup_hub(hub_entry(source_subentry()))
    await send(hass, freezer, "20")
    await advance(hass, freezer, 100)
    hass.config_entries.async_add_subentry(
        entry, ConfigSubentry(**alert_subentry("stale", stale_after=600))
    )
    await hass.async_block_till_done()
    assert alert_state(hass).state == STATE_OFF
    await advance(hass, freezer, 499)  # t=599
    assert alert_state(hass).state == STATE_OFF
    await advance(hass, freezer, 1)  # t=600: 600 s after the reading
    assert alert_state(hass).state == STATE_ON
    assert alert_state(hass).attributes["since"] == iso(600)


async def test_wildcard_topics_get_their_own_alert_on_the_alert_device(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """One entity per concrete topic, named after it, on the alert's own device.

    The topic's device stays with its sensor subentry alone: a device belongs to
    one subentry (the newest Home Assistant warns otherwise, and will refuse it).
    """
    entry = await setup_hub(
        hub_entry(
            source_subentry("home/+/temperature", unit="°C"),
            alert_subentry(high=30, title="Too warm"),
        )
    )
    await send(hass, freezer, "31", topic="home/kitchen/temperature")
    await send(hass, freezer, "20", topic="home/garage/temperature")
    kitchen = alert_state(hass, "home/kitchen/temperature")
    garage = alert_state(hass, "home/garage/temperature")
    assert kitchen.state == STATE_ON
    assert garage.state == STATE_OFF
    # Each topic's entity is named as the topic's own device is.
    assert kitchen.entity_id == "binary_sensor.too_warm_kitchen_temperature"
    assert kitchen.name == "Too warm Kitchen temperature"

    devices = dr.async_get(hass)
    entities = er.async_get(hass)
    alert_devices = set()
    for state in (kitchen, garage):
        registry_entry = entities.async_get(state.entity_id)
        assert registry_entry is not None
        assert registry_entry.config_subentry_id == ALERT_ID
        alert_devices.add(registry_entry.device_id)
    assert len(alert_devices) == 1
    device = devices.async_get(alert_devices.pop() or "")
    assert device is not None
    assert device.identifiers == {(DOMAIN, ALERT_ID)}
    assert device.name == "Too warm"
    assert device_subentry_ids(device, entry.entry_id) == {ALERT_ID}
    hub = device_by_identifier(devices, (DOMAIN, entry.entry_id), entry.entry_id)
    assert hub is not None
    assert device.via_device_id == hub.id
    topic_device = device_by_identifier(
        devices, (DOMAIN, f"{SOURCE_ID}/home/kitchen/temperature"), entry.entry_id
    )
    assert topic_device is not None
    assert device_subentry_ids(topic_device, entry.entry_id) == {SOURCE_ID}


@pytest.mark.parametrize(
    ("alert", "name"),
    [
        (
            alert_subentry(high=30.5, title="room/t: above 30.5 °C"),
            "room/t: above 30.5 °C",
        ),
        (alert_subentry(high=30, name="Too warm"), "Too warm"),
    ],
)
async def test_one_topic_alert_takes_the_alert_name(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    alert: dict[str, object],
    name: str,
) -> None:
    """On a source without wildcards the alert is its device's main entity.

    It shows the alert subentry's title: the user's name, or the flow's default.
    """
    await setup_hub(hub_entry(source_subentry(unit="°C"), alert))  # type: ignore[arg-type]
    await send(hass, freezer, "20")
    await send(hass, freezer, "21", after=1)
    assert alert_state(hass).name == name


async def test_alerts_that_cannot_run_are_skipped(
    hass: HomeAssistant, setup_hub: SetupHub, caplog: pytest.LogCaptureFixture
) -> None:
    """A missing source, a missing window or broken data: logged, no entity."""
    entry = await setup_hub(
        hub_entry(
            source_subentry(windows=[60.0]),
            alert_subentry(high=30, subentry_id="nosource", source="gone"),
            alert_subentry(high=30, subentry_id="nowindow", watch="120/mean"),
            alert_subentry("high", subentry_id="nolimit", title="Broken"),
        )
    )
    async_fire_mqtt_message(hass, "room/t", "31")
    await hass.async_block_till_done()
    assert entry.runtime_data.alerts.alerts == {}
    assert not er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{SOURCE_ID}/room/t/alert/nowindow"
    )
    assert "its sensor source no longer exists" in caplog.text
    assert "watches a window the source no longer has" in caplog.text
    assert "Alert Broken is skipped: invalid rule settings" in caplog.text


def test_alert_settings_checks_against_the_source() -> None:
    """Rates need a window; a watched window must exist."""
    source = SensorSourceConfig.from_subentry_data(
        {**source_subentry(windows=[60.0, 600.0])["data"], "windows": []}
    )
    settings = AlertSettings(
        subentry_id="a",
        title="a",
        name="",
        source_id="s",
        source_key="s",
        watch=None,
        config=AlertConfig(AlertRule.RATE, rate_limit=1),
    )
    assert settings.rate_window(source) is None
    assert settings.problem_with(source) is AlertProblem.RATE_WITHOUT_WINDOW
    assert watch_text(WindowStatistic(600.0, Statistic.MEAN)) == "600/mean"
    assert watch_text(None) == "value"
    assert parse_watch("value") is None
    assert parse_watch("0.5/percentile") == WindowStatistic(0.5, Statistic.PERCENTILE)
    assert settings.output_name == "rate"


async def test_alert_moved_to_another_source_drops_its_old_entities(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """Reconfiguring the source removes the entities of the old topics."""
    entry = await setup_hub(
        hub_entry(
            source_subentry("room/t"),
            source_subentry("room/u", subentry_id="source0other"),
            alert_subentry(high=30),
        )
    )
    await send(hass, freezer, "31", topic="room/t")
    await send(hass, freezer, "31", topic="room/u")
    alert_entity_id(hass)  # the alert's entity on room/t exists

    subentry = entry.subentries[ALERT_ID]
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, "source": "source0other"}
    )
    await hass.async_block_till_done()
    # Gone by unique id (its entity id, the alert's name, passes to the new one).
    assert (
        er.async_get(hass).async_get_entity_id(
            "binary_sensor", DOMAIN, f"{SOURCE_ID}/room/t/alert/{ALERT_ID}"
        )
        is None
    )
    moved = alert_state(hass, "room/u", source_id="source0other")
    assert moved.state == STATE_ON  # re-evaluated from the journal


async def test_sensor_changes_keep_alert_entities(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """The sensor platform's clean-up leaves the alerts on a topic's device alone."""
    entry = await setup_hub(hub_entry(source_subentry(), alert_subentry(high=30)))
    await send(hass, freezer, "31")
    entity_id = alert_entity_id(hass)
    source = entry.subentries[SOURCE_ID]
    hass.config_entries.async_update_subentry(
        entry, source, data={**source.data, "statistics": ["mean"]}
    )
    await hass.async_block_till_done()
    assert alert_entity_id(hass) == entity_id
    assert alert_state(hass).state == STATE_ON


async def test_forgotten_topic_starts_a_new_alert(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """A topic whose device was deleted comes back with a fresh alert."""
    entry = await setup_hub(hub_entry(source_subentry(), alert_subentry(high=30)))
    await send(hass, freezer, "31")
    hub = entry.runtime_data
    first = hub.alerts.trackers[(ALERT_ID, "room/t")]
    hub.async_forget_topic(SOURCE_ID, "room/t")
    await send(hass, freezer, "20", after=1)
    second = hub.alerts.trackers[(ALERT_ID, "room/t")]
    assert second is not first
    assert second.machine.state is False


async def test_forgotten_topic_stops_its_timers(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """A stale alert of a deleted topic device does not fire afterwards."""
    events = async_capture_events(hass, EVENT_ALERT)
    entry = await setup_hub(
        hub_entry(source_subentry(), alert_subentry("stale", stale_after=5))
    )
    await send(hass, freezer, "20")
    hub = entry.runtime_data
    hub.async_forget_topic(SOURCE_ID, "room/t")
    await advance(hass, freezer, 5)  # its stale timer comes first
    await advance(hass, freezer, 5)  # then the update tick drops it
    assert events == []
    assert hub.alerts.trackers == {}


async def test_alert_diagnostics(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
) -> None:
    """Diagnostics show each alert's machine per topic."""
    entry = await setup_hub(
        hub_entry(
            source_subentry(),
            alert_subentry(high=30, on_delay=60, title=TITLE_ABOVE_30),
        )
    )
    await send(hass, freezer, "31")
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    alert = diagnostics["alerts"][ALERT_ID]
    assert alert["source"] == SOURCE_ID
    assert alert["watch"] == "value"
    machine = alert["topics"]["room/t"]
    assert machine["entity_id"] == "binary_sensor.room_t_above_30"
    assert machine["state"] is False
    assert machine["pending"] is True
    assert machine["next_deadline"] == START.timestamp() + 60
    assert diagnostics["mqtt_output"]["enabled"] is True


# -- the alert subentry flow ---------------------------------------------------------


def rule_form(**overrides: object) -> dict[str, object]:
    """What a user submits in the rule step, with sensible values."""
    form: dict[str, object] = {
        "watch": "value",
        "rule": "high",
        "high": 30.0,
        "deadband": 0.5,
        "severity": "warning",
    }
    form.update(overrides)
    return form


def suggested_values(schema: dict[Any, Any]) -> dict[str, Any]:
    """The values a form shows pre-filled."""
    return {
        str(key): key.description["suggested_value"]
        for key in schema
        if key.description and "suggested_value" in key.description
    }


def select_options(schema: dict[Any, Any], field: str) -> list[Any]:
    """The options of a select field of a form."""
    selector = next(value for key, value in schema.items() if str(key) == field)
    return list(selector.config["options"])


async def submit_alert(
    hass: HomeAssistant, flow_id: str, form: dict[str, object]
) -> ConfigFlowResult:
    """Choose the form's rule, then submit the fields the rule's settings show.

    `rule_form` holds every field; the settings step asks only for the chosen
    rule's (test_alert_form_asks_only_for_what_the_rule_uses pins which).
    """
    result = await hass.config_entries.subentries.async_configure(
        flow_id, {"rule": form["rule"]}
    )
    if result["type"] is not FlowResultType.FORM or result["step_id"] != "settings":
        return result
    return await submit_settings(hass, result, form)


async def submit_settings(
    hass: HomeAssistant, result: ConfigFlowResult, form: dict[str, object]
) -> ConfigFlowResult:
    """Submit the settings step with the form's values of the fields it shows."""
    shown = {str(key) for key in result["data_schema"].schema}
    return await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {key: value for key, value in form.items() if key in shown},
    )


async def start_alert_flow(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """Start the alert flow and choose the first source; return the flow id."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_ALERT), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"source": SOURCE_ID}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "rule"
    return result["flow_id"]


async def test_alert_flow_needs_a_sensor_source(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Without a sensor source there is nothing to watch."""
    entry = await setup_hub(hub_entry())
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_ALERT), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_sources"


async def test_alert_flow_offers_sources_and_their_statistics(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Sources by title, then the raw value and each window's statistics."""
    entry = await setup_hub(
        hub_entry(
            source_subentry(
                windows=[600.0, 3600.0],
                statistics=["mean", "value_max"],
                title="Room",
                unit="°C",
            ),
            source_subentry("room/u", subentry_id="source0other", title="Other"),
        )
    )
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_ALERT), context={"source": SOURCE_USER}
    )
    schema = result["data_schema"].schema
    assert select_options(schema, "source") == [
        {"value": SOURCE_ID, "label": "Room"},
        {"value": "source0other", "label": "Other"},
    ]
    assert suggested_values(schema) == {"source": SOURCE_ID}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"source": SOURCE_ID}
    )
    assert result["description_placeholders"] == {"source": "Room"}
    assert result["step_id"] == "rule"
    schema = result["data_schema"].schema
    assert suggested_values(schema) == {"rule": "high"}
    assert select_options(schema, "rule") == ["high", "low", "range", "stale", "rate"]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"rule": "rate"}
    )
    assert result["step_id"] == "settings"
    assert result["description_placeholders"] == {"source": "Room"}
    schema = result["data_schema"].schema
    assert select_options(schema, "watch") == [
        {"value": "value", "label": "Raw value"},
        {"value": "600/mean", "label": "Mean 10m"},
        {"value": "600/value_max", "label": "Maximum 10m"},
        {"value": "3600/mean", "label": "Mean 1h"},
        {"value": "3600/value_max", "label": "Maximum 1h"},
    ]
    assert suggested_values(schema) == {
        "watch": "value",
        "deadband": 0,
        "severity": "warning",
    }
    rate = next(value for key, value in schema.items() if str(key) == "rate_limit")
    assert rate.config["unit_of_measurement"] == "°C/min"


@pytest.mark.parametrize(
    ("form", "title", "stored"),
    [
        (
            rule_form(low=3.0, rate_limit=9.0, stale_after="1h"),
            "room/t: above 30",
            {"high": 30.0, "low": None, "deadband": 0.5},
        ),
        (
            rule_form(rule="low", low=5.0, high=99.0),
            "room/t: below 5",
            {"name": "", "high": None, "low": 5.0},
        ),
        (
            rule_form(name="  Too warm ", severity="critical"),
            "Too warm",
            {"name": "Too warm", "severity": "critical"},
        ),
        (
            rule_form(rule="range", low=10.0, high=20.0, watch="3600/mean"),
            "room/t: outside 10 to 20",
            {"high": 20.0, "low": 10.0, "watch": "3600/mean"},
        ),
        (
            rule_form(rule="stale", stale_after=" 10m ", deadband=3.0),
            "room/t: no reading for 10m",
            {"stale_after": 600.0, "deadband": 0.0, "high": None},
        ),
        (
            rule_form(rule="rate", rate_limit=2.5, on_delay="30s", off_delay="0"),
            "room/t: changing faster than 2.5/min",
            {"rate_limit": 2.5, "on_delay": 30.0, "off_delay": 0.0},
        ),
    ],
)
async def test_alert_flow_creates_plain_data(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    form: dict[str, object],
    title: str,
    stored: dict[str, object],
) -> None:
    """Only the rule's own limits are stored; durations in seconds."""
    entry = await setup_hub(hub_entry(source_subentry(windows=[3600.0])))
    flow_id = await start_alert_flow(hass, entry)
    result = await submit_alert(hass, flow_id, form)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == title
    data = result["data"]
    assert data["source"] == SOURCE_ID
    assert data["rule"] == form["rule"]
    for key, value in stored.items():
        assert data[key] == value, key
    assert data["reading"] == ""  # the source's one reading
    assert set(data) == {
        "name",
        "source",
        "reading",
        "watch",
        "rule",
        "high",
        "low",
        "deadband",
        "stale_after",
        "rate_limit",
        "on_delay",
        "off_delay",
        "severity",
    }
    await hass.async_block_till_done()
    # The hub reloaded with the alert running.
    assert list(entry.runtime_data.alerts.alerts) == [
        subentry_id
        for subentry_id, subentry in entry.subentries.items()
        if subentry.subentry_type == SUBENTRY_ALERT
    ]


# A form each rule accepts, to correct a form that had errors.
VALID_FORMS = {
    "high": rule_form(),
    "low": rule_form(rule="low", low=5.0),
    "range": rule_form(rule="range", low=5.0, high=30.0, deadband=0.5),
    "stale": rule_form(rule="stale", stale_after="10m"),
    "rate": rule_form(rule="rate", rate_limit=2.0, deadband=0.5),
}


@pytest.mark.parametrize(
    ("rule", "fields"),
    [
        ("high", ["name", "watch", "high", "deadband", "on_delay", "off_delay"]),
        ("low", ["name", "watch", "low", "deadband", "on_delay", "off_delay"]),
        (
            "range",
            ["name", "watch", "low", "high", "deadband", "on_delay", "off_delay"],
        ),
        ("stale", ["name", "stale_after", "on_delay", "off_delay"]),
        ("rate", ["name", "watch", "rate_limit", "deadband", "on_delay", "off_delay"]),
    ],
)
async def test_alert_form_asks_only_for_what_the_rule_uses(
    hass: HomeAssistant, setup_hub: SetupHub, rule: str, fields: list[str]
) -> None:
    """The rule first; then its own fields (and severity), never all eleven."""
    entry = await setup_hub(hub_entry(source_subentry(windows=[600.0])))
    flow_id = await start_alert_flow(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        flow_id, {"rule": rule}
    )
    assert result["step_id"] == "settings"
    assert [str(key) for key in result["data_schema"].schema] == [*fields, "severity"]


@pytest.mark.parametrize(
    ("form", "errors"),
    [
        (rule_form(high=None), {"high": "limit_required"}),
        (rule_form(high=float("inf")), {"high": "not_finite"}),
        (rule_form(rule="low"), {"low": "limit_required"}),
        (
            rule_form(rule="range", low=20.0, high=20.0),
            {"low": "low_above_high"},
        ),
        (
            rule_form(rule="range", low=10.0, high=20.0, deadband=10.0),
            {"deadband": "deadband_too_wide"},
        ),
        (rule_form(deadband=-1.0), {"deadband": "negative_deadband"}),
        (rule_form(rule="stale"), {"stale_after": "limit_required"}),
        (
            rule_form(rule="stale", stale_after="soon"),
            {"stale_after": "invalid_duration"},
        ),
        (rule_form(rule="stale", stale_after="0"), {"stale_after": "must_be_positive"}),
        (
            rule_form(rule="stale", stale_after="0s"),
            {"stale_after": "must_be_positive"},
        ),
        (rule_form(rule="rate"), {"rate_limit": "limit_required"}),
        (rule_form(rule="rate", rate_limit=0.0), {"rate_limit": "must_be_positive"}),
        (
            rule_form(rule="rate", rate_limit=2.0, deadband=2.0),
            {"deadband": "deadband_too_wide"},
        ),
        (rule_form(on_delay="later"), {"on_delay": "invalid_duration"}),
        (rule_form(off_delay="-5s"), {"off_delay": "negative_delay"}),
        (rule_form(on_delay="-1m"), {"on_delay": "negative_delay"}),
    ],
)
async def test_alert_flow_field_errors(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    form: dict[str, object],
    errors: dict[str, str],
) -> None:
    """Each problem is shown on its field, and the form can then be corrected."""
    entry = await setup_hub(hub_entry(source_subentry()))
    flow_id = await start_alert_flow(hass, entry)
    form = {key: value for key, value in form.items() if value is not None}
    result = await submit_alert(hass, flow_id, form)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "settings"
    assert result["errors"] == errors
    # What the user typed stays in the form.
    shown = suggested_values(result["data_schema"].schema)
    assert all(shown[key] == form[key] for key in shown), (shown, form)
    result = await submit_settings(hass, result, VALID_FORMS[str(form["rule"])])
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_alert_flow_rate_needs_a_window(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """A source without windows cannot give a rate: the flow says so."""
    entry = hub_entry(
        ConfigSubentryDataWithId(
            **{
                **source_subentry(),
                "data": {**source_subentry()["data"], "windows": []},
            }
        )
    )
    entry.add_to_hass(hass)  # not set up: a hub needs a window to start
    flow_id = await start_alert_flow(hass, entry)
    result = await submit_alert(hass, flow_id, rule_form(rule="rate", rate_limit=1.0))
    assert result["step_id"] == "rule"
    assert result["errors"] == {"rule": "rate_needs_window"}


async def test_alert_flow_reconfigure(hass: HomeAssistant, setup_hub: SetupHub) -> None:
    """Reconfigure shows the stored values, and may move to another source."""
    entry = await setup_hub(
        hub_entry(
            source_subentry(windows=[60.0], statistics=["mean"]),
            source_subentry("room/u", subentry_id="source0other", title="Other"),
            alert_subentry(
                "stale",
                watch="60/mean",
                stale_after=5400,
                on_delay=30,
                off_delay=0,
                name="Quiet",
            ),
        )
    )
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_ALERT),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": ALERT_ID},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert suggested_values(result["data_schema"].schema) == {"source": SOURCE_ID}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"source": SOURCE_ID}
    )
    assert result["step_id"] == "rule"
    assert suggested_values(result["data_schema"].schema) == {"rule": "stale"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"rule": "stale"}
    )
    assert suggested_values(result["data_schema"].schema) == {
        "name": "Quiet",
        "stale_after": "90m",
        "on_delay": "30s",
        "severity": "warning",
    }
    result = await submit_settings(
        hass,
        result,
        rule_form(rule="stale", stale_after="2h", name="Quiet", on_delay="30s"),
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.subentries[ALERT_ID].data["stale_after"] == 7200.0
    # The stale form does not ask what to watch: what was stored stays.
    assert entry.subentries[ALERT_ID].data["watch"] == "60/mean"

    # Another rule: its own fields, pre-filled where the stored alert has them.
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_ALERT),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": ALERT_ID},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"source": SOURCE_ID}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"rule": "high"}
    )
    assert suggested_values(result["data_schema"].schema) == {
        "name": "Quiet",
        "watch": "60/mean",
        "deadband": 0.0,
        "on_delay": "30s",
        "severity": "warning",
    }
    result = await submit_settings(
        hass, result, rule_form(rule="high", high=25.0, name="", watch="60/mean")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    subentry = entry.subentries[ALERT_ID]
    assert subentry.title == "room/t: above 25"
    assert subentry.data["rule"] == "high"
    assert subentry.data["stale_after"] is None
    assert entry.runtime_data.alerts.alerts[ALERT_ID].config.high == 25.0

    # Moving to a source without the watched statistic suggests the raw value.
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_ALERT),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": ALERT_ID},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"source": "source0other"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"rule": "high"}
    )
    suggested = suggested_values(result["data_schema"].schema)
    assert suggested["watch"] == "value"
    assert suggested["high"] == 25.0
    result = await submit_settings(hass, result, rule_form(high=25.0))
    assert result["reason"] == "reconfigure_successful"
    assert entry.subentries[ALERT_ID].data["source"] == "source0other"


async def test_alert_flow_reconfigure_after_its_source_was_removed(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """An alert whose source is gone is offered the remaining sources."""
    entry = await setup_hub(
        hub_entry(
            source_subentry(),
            alert_subentry(high=30, source="removed"),
        )
    )
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_ALERT),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": ALERT_ID},
    )
    assert suggested_values(result["data_schema"].schema) == {"source": SOURCE_ID}


async def test_removing_a_topic_device_removes_its_alert_entities(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    hass_ws_client: Any,
) -> None:
    """The alert's entity of a deleted topic goes too, and comes back with it.

    It sits on the alert's device, not the topic's, so Home Assistant does not
    remove it with the topic's device.
    """
    entry = await setup_hub(
        hub_entry(
            source_subentry("home/+/temperature"),
            alert_subentry(high=30, title="Too warm"),
        )
    )
    await send(hass, freezer, "31", topic="home/old/temperature")
    await send(hass, freezer, "20", topic="home/new/temperature")
    old = alert_entity_id(hass, "home/old/temperature")
    new = alert_entity_id(hass, "home/new/temperature")
    topic_device = device_by_identifier(
        dr.async_get(hass),
        (DOMAIN, f"{SOURCE_ID}/home/old/temperature"),
        entry.entry_id,
    )
    assert topic_device is not None

    assert await async_setup_component(hass, "config", {})
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "config/device_registry/remove_config_entry",
            "config_entry_id": entry.entry_id,
            "device_id": topic_device.id,
        }
    )
    response = await client.receive_json()
    assert response["success"], response
    await hass.async_block_till_done()
    assert er.async_get(hass).async_get(old) is None
    assert hass.states.get(old) is None
    assert hass.states.get(new) is not None  # the other topic's alert stays

    # The topic reports again: a new device and alert entity, no id clash.
    await send(hass, freezer, "32", topic="home/old/temperature", after=1)
    assert alert_state(hass, "home/old/temperature").state == STATE_ON


async def test_unnamed_alert_is_named_after_its_source_rule_and_unit(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """The flow's default title carries the unit; the one-topic entity takes it."""
    entry = await setup_hub(hub_entry(source_subentry(unit="°C")))
    result = await submit_alert(
        hass, await start_alert_flow(hass, entry), rule_form(high=30.0)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "room/t: above 30 °C"
    await hass.async_block_till_done()
    await send(hass, freezer, "31")
    (alert_id,) = [
        subentry_id
        for subentry_id, subentry in entry.subentries.items()
        if subentry.subentry_type == SUBENTRY_ALERT
    ]
    state = alert_state(hass, alert_id=alert_id)
    assert state.entity_id == "binary_sensor.room_t_above_30_degc"
    assert state.name == "room/t: above 30 °C"
