"""Statistics and alerts republished to MQTT, and the loop guard.

Expected topics and payloads follow the issue's shapes: default
`<prefix>/stats/<topic>/<window>/<statistic>` (plain numbers) and
`<prefix>/alerts/<topic>/<alert name>` (JSON, retained); legacy
`<topic>_<statistic>[_<window>]` and `<topic>_alert_hi|lo|stale|rate` (on/off).
"""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
from typing import Any
from unittest.mock import call, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.mqtt.const import MQTT_CONNECTION_STATE
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_mqtt_message,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.iotitan import mqtt_output
from custom_components.iotitan.const import DOMAIN, EVENT_ALERT
from custom_components.iotitan.engine.output import OutputTopics
from custom_components.iotitan.models import ReadingConfig

from .alerts_common import (
    ALERT_ID,
    SOURCE_ID,
    START,
    SetupHub,
    advance as advance_clock,
    alert_subentry,
    iso,
    source_subentry,
)


def output_entry(*subentries: ConfigSubentryData, **output: Any) -> MockConfigEntry:
    """A hub entry with MQTT output options (defaults as the options flow)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="IoTitan",
        data={CONF_NAME: "IoTitan"},
        options={
            "update_interval": 10,
            "output": {
                "enabled": True,
                "prefix": "iotitan",
                "publish_interval": 30,
                "qos": 0,
                "retain": False,
                "legacy_topics": False,
                **output,
            },
        },
        subentries_data=subentries,
    )


def published(mqtt_mock: MqttMockHAClient) -> list[tuple[str, str, int, bool]]:
    """Every (topic, payload, qos, retain) published so far."""
    return [tuple(c.args) for c in mqtt_mock.async_publish.call_args_list]  # type: ignore[misc]


@pytest.fixture(autouse=True)
def start_time(freezer: FrozenDateTimeFactory) -> None:
    """Every test starts at START, on a whole second."""
    freezer.move_to(START)


async def send(
    hass: HomeAssistant, topic: str, payload: str, freezer: FrozenDateTimeFactory
) -> None:
    """A reading now; the clock then moves one second."""
    async_fire_mqtt_message(hass, topic, payload)
    await hass.async_block_till_done()
    freezer.tick(1)


async def advance(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    """Move the clock, run the timers and wait for what they publish."""
    await advance_clock(hass, freezer, seconds)
    await hass.async_block_till_done()


async def test_statistics_published_every_interval(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Every window's statistics as plain numbers; undefined ones are skipped."""
    await setup_hub(
        output_entry(
            source_subentry(
                "home/+/temperature",
                windows=[600.0, 3600.0],
                statistics=["mean", "percentile", "count", "change_second", "variance"],
                percentile=90,
            ),
            prefix="house",
            qos=1,
            retain=True,
        )
    )
    await send(hass, "home/kitchen/temperature", "20", freezer)
    await send(hass, "home/kitchen/temperature", "22.5", freezer)
    await send(hass, "home/attic/temperature", "7", freezer)
    mqtt_mock.async_publish.reset_mock()

    await advance(hass, freezer, 26)  # t=29
    assert published(mqtt_mock) == []
    await advance(hass, freezer, 1)  # t=30: one publish interval after setup
    p90 = statistics.quantiles([20.0, 22.5], n=100, method="exclusive")[89]
    kitchen = "house/stats/home/kitchen/temperature"
    attic = "house/stats/home/attic/temperature"
    expected = []
    for window in ("10m", "1h"):
        expected += [
            (f"{kitchen}/{window}/mean", "21.25", 1, True),
            (f"{kitchen}/{window}/p90", repr(p90), 1, True),
            (f"{kitchen}/{window}/count", "2", 1, True),
            (f"{kitchen}/{window}/change_second", "2.5", 1, True),
            (f"{kitchen}/{window}/variance", "3.125", 1, True),
        ]
    for window in ("10m", "1h"):
        # One sample: no change per second yet, so nothing is published for it.
        expected += [
            (f"{attic}/{window}/mean", "7", 1, True),
            (f"{attic}/{window}/p90", "7", 1, True),
            (f"{attic}/{window}/count", "1", 1, True),
            (f"{attic}/{window}/variance", "0", 1, True),
        ]
    assert published(mqtt_mock) == expected

    mqtt_mock.async_publish.reset_mock()
    await advance(hass, freezer, 30)
    assert len(published(mqtt_mock)) == len(expected)


async def test_non_finite_statistics_are_not_published(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """A variance beyond the float range has no portable payload."""
    entry = await setup_hub(
        output_entry(source_subentry(statistics=["mean", "variance"]))
    )
    state = entry.runtime_data.sources[SOURCE_ID].topic_state("room/x")
    assert state is not None
    # Both in the past of the frozen clock: a window refuses future samples.
    state.add(START.timestamp() - 1, 1e300)
    state.add(START.timestamp(), -1e300)
    assert list(entry.runtime_data.output.statistics_messages()) == [
        ("iotitan/stats/room/x/1h/mean", "0")
    ]


async def test_alerts_published_on_every_transition(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """JSON with state, value, limit, rule, severity and since; always retained."""
    await setup_hub(
        output_entry(
            source_subentry(),
            alert_subentry(high=30),
            alert_subentry(
                "low", subentry_id="alert0named", low=5, name="Too cold/ #1"
            ),
            publish_interval=3600,
            qos=2,
        )
    )
    for payload in ("29", "31", "31.5", "28"):
        await send(hass, "room/t", payload, freezer)
    alerts = [p for p in published(mqtt_mock) if p[0].startswith("iotitan/alerts/")]
    payload = {"limit": 30.0, "rule": "high", "severity": "warning"}
    assert [
        (topic, json.loads(body), qos, retain) for topic, body, qos, retain in alerts
    ] == [
        (
            "iotitan/alerts/room/t/high",
            {"state": "off", "value": 29.0, "since": iso(0), **payload},
            2,
            True,
        ),
        (
            "iotitan/alerts/room/t/Too_cold___1",
            {
                "state": "off",
                "value": 29.0,
                "limit": 5.0,
                "rule": "low",
                "severity": "warning",
                "since": iso(0),
            },
            2,
            True,
        ),
        (
            "iotitan/alerts/room/t/high",
            {"state": "on", "value": 31.0, "since": iso(1), **payload},
            2,
            True,
        ),
        (
            "iotitan/alerts/room/t/high",
            {"state": "off", "value": 28.0, "since": iso(3), **payload},
            2,
            True,
        ),
    ]


async def test_legacy_topic_shape(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The original scripts' shape: `_mean`, `_mean_1h`, `_alert_hi`/`_alert_lo`."""
    await setup_hub(
        output_entry(
            source_subentry(
                "room/t", windows=[600.0, 3600.0], statistics=["mean", "value_max"]
            ),
            alert_subentry("range", low=10, high=20),
            legacy_topics=True,
        )
    )
    await send(hass, "room/t", "15", freezer)
    await send(hass, "room/t", "9", freezer)
    await send(hass, "room/t", "15", freezer)
    await send(hass, "room/t", "21", freezer)
    assert published(mqtt_mock) == [
        # Known as off before any side was crossed: both sides are off.
        ("room/t_alert_hi", "off", 0, True),
        ("room/t_alert_lo", "off", 0, True),
        ("room/t_alert_lo", "on", 0, True),
        ("room/t_alert_lo", "off", 0, True),
        ("room/t_alert_hi", "on", 0, True),
    ]
    mqtt_mock.async_publish.reset_mock()
    await advance(hass, freezer, 26)  # t=30
    assert published(mqtt_mock) == [
        ("room/t_mean", "15", 0, False),
        ("room/t_value_max", "21", 0, False),
        ("room/t_mean_1h", "15", 0, False),
        ("room/t_value_max_1h", "21", 0, False),
    ]


async def test_legacy_stale_and_rate_suffixes(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Stale and rate alerts have their own legacy suffixes."""
    await setup_hub(
        output_entry(
            source_subentry(windows=[60.0]),
            alert_subentry("stale", stale_after=60),
            alert_subentry("rate", subentry_id="alert0rate", rate_limit=1),
            legacy_topics=True,
            publish_interval=3600,
        )
    )
    await send(hass, "room/t", "1", freezer)
    await send(hass, "room/t", "5", freezer)
    await advance(hass, freezer, 60)
    assert published(mqtt_mock) == [
        ("room/t_alert_stale", "off", 0, True),
        ("room/t_alert_rate", "on", 0, True),  # 4 per second is 240 per minute
        ("room/t_alert_stale", "on", 0, True),
    ]


@pytest.mark.parametrize(
    "output",
    [
        {"enabled": False},
        {"prefix": "bad/+/prefix"},
    ],
)
async def test_output_off_publishes_nothing(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    output: dict[str, Any],
) -> None:
    """Disabled (or unusable) output publishes neither statistics nor alerts."""
    entry = await setup_hub(
        output_entry(source_subentry(), alert_subentry(high=30), **output)
    )
    await send(hass, "room/t", "31", freezer)
    await advance(hass, freezer, 60)
    assert published(mqtt_mock) == []
    assert entry.runtime_data.output.as_diagnostics()["enabled"] is False
    if "prefix" in output:
        assert "MQTT output is disabled" in caplog.text


async def test_no_statistics_while_mqtt_is_disconnected(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Nothing is queued for a broker that is away."""
    await setup_hub(output_entry(source_subentry()))
    await send(hass, "room/t", "20", freezer)
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, False)
    await hass.async_block_till_done()
    await advance(hass, freezer, 30)
    assert published(mqtt_mock) == []


async def test_statistics_of_topics_too_long_for_mqtt_are_skipped(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An output topic MQTT would refuse is skipped, not an error.

    A source keeps no topic over 1,024 characters, and the prefix is at most
    1,024 bytes, so no real topic reaches MQTT's 65,535 bytes today; the
    engine's refusal (`ValueError` from `OutputTopics`) is made for one topic
    here, so that the publisher's handling of it stays tested. The cache of
    topic names is cut to two entries, so it also starts over.
    """
    refused = "x/refused"
    stats_topic, alert_topic = OutputTopics.stats_topic, OutputTopics.alert_topic

    def refusing_stats(self: OutputTopics, topic: str, *args: Any, **kw: Any) -> str:
        if topic == refused:
            raise ValueError("longer than MQTT allows")
        return stats_topic(self, topic, *args, **kw)

    def refusing_alert(self: OutputTopics, topic: str, *args: Any, **kw: Any) -> str:
        if topic == refused:
            raise ValueError("longer than MQTT allows")
        return alert_topic(self, topic, *args, **kw)

    monkeypatch.setattr(OutputTopics, "stats_topic", refusing_stats)
    monkeypatch.setattr(OutputTopics, "alert_topic", refusing_alert)
    monkeypatch.setattr(mqtt_output, "MAX_TOPIC_NAMES", 2)
    long_topic = "x/" + "y" * 65_520  # not kept by the source at all
    await setup_hub(
        output_entry(
            source_subentry("x/#", statistics=["mean"]), alert_subentry(high=30)
        )
    )
    await send(hass, long_topic, "31", freezer)
    await send(hass, refused, "31", freezer)
    await send(hass, "x/short", "31", freezer)
    await send(hass, "x/other", "20", freezer)
    await advance(hass, freezer, 30)
    await advance(hass, freezer, 30)
    topics = [p[0] for p in published(mqtt_mock)]
    # Each kept topic's alert (its first reading sets it, on or off) and its
    # mean at both intervals; nothing of the refused topic, nor an error.
    assert sorted(set(topics)) == [
        "iotitan/alerts/x/other/high",
        "iotitan/alerts/x/short/high",
        "iotitan/stats/x/other/1h/mean",
        "iotitan/stats/x/short/1h/mean",
    ]
    assert topics.count("iotitan/stats/x/short/1h/mean") == 2  # both intervals


async def test_publish_failures_are_counted_and_logged_once(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failing broker costs a warning, not a log flood; recovery is logged."""
    caplog.set_level(logging.INFO, logger="custom_components.iotitan")
    entry = await setup_hub(
        output_entry(source_subentry(statistics=["mean", "value_max"]))
    )
    await send(hass, "room/t", "20", freezer)
    with patch(
        "custom_components.iotitan.mqtt_output.mqtt.async_publish",
        side_effect=HomeAssistantError("not connected"),
    ):
        await advance(hass, freezer, 30)
        await advance(hass, freezer, 30)
    output = entry.runtime_data.output
    assert output.failed == 4  # two batches of two statistics
    assert caplog.text.count("Publishing to MQTT failed: not connected") == 1

    await advance(hass, freezer, 30)
    assert output.as_diagnostics()["published"] == 2
    assert "Publishing to MQTT works again" in caplog.text


async def test_slow_broker_skips_an_interval(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Statistics still going out when the next are due: that interval is skipped."""
    caplog.set_level(logging.DEBUG, logger="custom_components.iotitan")
    await setup_hub(output_entry(source_subentry(statistics=["mean"])))
    await send(hass, "room/t", "20", freezer)
    release = asyncio.Event()
    calls: list[str] = []

    async def slow_publish(
        hass: HomeAssistant, topic: str, *args: Any, **kwargs: Any
    ) -> None:
        calls.append(topic)
        await release.wait()

    async def interval() -> None:
        freezer.tick(30)
        async_fire_time_changed(hass)
        for _ in range(3):
            await asyncio.sleep(0)

    with patch(
        "custom_components.iotitan.mqtt_output.mqtt.async_publish", slow_publish
    ):
        await interval()
        await interval()
        assert calls == ["iotitan/stats/room/t/1h/mean"]
        assert "still being published; skipping" in caplog.text
        release.set()
        await hass.async_block_till_done()
        await advance(hass, freezer, 30)
    assert calls == ["iotitan/stats/room/t/1h/mean"] * 2


# -- the loop guard ------------------------------------------------------------------

OWN_RETAINED = {
    False: [
        ("iotitan/stats/home/kitchen/temperature/1m/mean", "20"),
        ("iotitan/stats/home/kitchen/temperature/1h/value_max", "25"),
        ("iotitan/alerts/home/kitchen/temperature/high", '{"state":"on"}'),
    ],
    True: [
        ("home/kitchen/temperature_mean", "20"),
        ("home/kitchen/temperature_value_max_1h", "25"),
        ("home/kitchen/temperature_alert_hi", "on"),
        # A previous run in the default shape left these behind.
        ("iotitan/stats/home/kitchen/temperature/1m/mean", "20"),
        ("iotitan/alerts/home/kitchen/temperature/high", '{"state":"on"}'),
    ],
}


@pytest.mark.parametrize("legacy", [False, True], ids=["default", "legacy"])
async def test_own_output_is_never_read_back(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
    legacy: bool,
) -> None:
    """Output fed back (retained, or as published) creates nothing at all.

    The source filter is `#` and every message is logged: only the loop guard
    stands between IoTitan and its own output.
    """
    events = async_capture_events(hass, EVENT_ALERT)
    entry = await setup_hub(
        output_entry(
            source_subentry(
                "#", windows=[60.0, 3600.0], statistics=["mean", "value_max"]
            ),
            alert_subentry(high=30),
            legacy_topics=legacy,
            retain=True,
        )
    )
    hub = entry.runtime_data
    with patch.object(
        hub.message_log, "submit", wraps=hub.message_log.submit
    ) as submit:
        # Retained output of an earlier run arrives before anything is published.
        for topic, payload in OWN_RETAINED[legacy]:
            async_fire_mqtt_message(hass, topic, payload, retain=True)
        await hass.async_block_till_done()
        assert hub.messages_ignored_own == len(OWN_RETAINED[legacy])

        # One real reading: an alert, then statistics, both looped back by the
        # mocked broker to IoTitan's own `#` subscription.
        await send(hass, "home/kitchen/temperature", "31", freezer)
        await advance(hass, freezer, 30)
        await hass.async_block_till_done()

        # The mocked broker echoes what IoTitan publishes (deduplicating
        # retained topics); feed every published message back once more.
        own = published(mqtt_mock)
        ignored = hub.messages_ignored_own
        assert ignored > len(OWN_RETAINED[legacy])  # the echo reached the hub
        for topic, payload, _qos, _retain in own:
            async_fire_mqtt_message(hass, topic, payload)
        await hass.async_block_till_done()
        assert hub.messages_ignored_own == ignored + len(own)
        await advance(hass, freezer, 30)

    alert_topic = (
        "home/kitchen/temperature_alert_hi"
        if legacy
        else "iotitan/alerts/home/kitchen/temperature/high"
    )
    mean_topic = (
        "home/kitchen/temperature_mean"
        if legacy
        else "iotitan/stats/home/kitchen/temperature/1m/mean"
    )
    assert (alert_topic, "on" if legacy else own[0][1], 0, True) in own
    assert (mean_topic, "31", 0, True) in own
    assert len(own) == 5  # the alert and four statistics

    # Nothing but the real reading got through.
    assert hub.messages_received == 1
    # One record for the journal, and for syslog (the log filter is `#`).
    assert [(c.args[0].topic, c.kwargs) for c in submit.call_args_list] == [
        ("home/kitchen/temperature", {"to_syslog": True})
    ]
    source = hub.sources[SOURCE_ID]
    assert list(source.topics) == ["home/kitchen/temperature"]
    assert source.topics["home/kitchen/temperature"].messages == 1
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert sorted(device.name or "" for device in devices) == [
        "Home kitchen temperature",  # the topic's device: every level under `#`
        "IoTitan",
        "high alert",  # the alert subentry's own device
    ]
    assert list(hub.alerts.trackers) == [(ALERT_ID, "home/kitchen/temperature")]
    assert [event.data["state"] for event in events] == ["on"]
    assert mqtt_mock.async_publish.call_args_list[0] == call(
        alert_topic, own[0][1], 0, True
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert hub.message_log.journal.stats.records_written == 1


async def test_each_reading_of_a_payload_has_its_own_topics(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    readings = (
        ReadingConfig("temperature", "temperature", "Temperature", "°C", "temperature"),
        ReadingConfig("humidity", "humidity", "Humidity", "%", "humidity"),
    )
    await setup_hub(
        output_entry(
            source_subentry(
                "zigbee2mqtt/weather", readings=readings, statistics=["mean"]
            )
        )
    )
    await send(hass, "zigbee2mqtt/weather", '{"temperature":20,"humidity":40}', freezer)
    await send(hass, "zigbee2mqtt/weather", '{"temperature":21,"humidity":44}', freezer)
    mqtt_mock.async_publish.reset_mock()
    await advance(hass, freezer, 30)
    assert sorted(published(mqtt_mock)) == [
        ("iotitan/stats/zigbee2mqtt/weather/humidity/1h/mean", "42", 0, False),
        ("iotitan/stats/zigbee2mqtt/weather/temperature/1h/mean", "20.5", 0, False),
    ]
