"""Junk from the broker must not grow memory without bound.

Anyone on the network may publish to the broker, and IoTitan listens to `#`
by default: every structure the message path keeps per topic or per message
has a bound, and what was capped or evicted is counted in diagnostics.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import sys

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from custom_components.iotitan import hub as hub_module, source as source_module
from custom_components.iotitan.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.iotitan.engine.payload import Rejection
from custom_components.iotitan.engine.record import MqttRecord
from custom_components.iotitan.source import SensorSource

from .common import hub_entry, sensor_subentry, subentry_id

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]
MIB = 1024 * 1024


def ingest_live(
    source: SensorSource, topic: str, payload: bytes, when: float, *, retain: bool
) -> None:
    """A live message straight into a source, counted as the hub counts it."""
    record = MqttRecord(when, topic, payload, 0, retain)
    source.count_live(source.ingest(record))


async def test_a_rejected_huge_payload_is_not_kept_whole(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """The retained-repeat check keeps a digest of a 1 MiB payload, not the payload.

    200 topics with 1 MiB payloads used to pin about 200 MiB.
    """
    entry = await setup_hub(hub_entry(sensor_subentry("big/#")))
    huge = b"\x01" * MIB
    async_fire_mqtt_message(hass, "big/a", huge)
    await hass.async_block_till_done()
    source = entry.runtime_data.sources[subentry_id(entry)]
    state = source.topics["big/a"]
    assert state.rejected == {Rejection.TOO_LARGE: 1}
    # What the topic keeps of the payload is small, whatever its size.
    assert sys.getsizeof(state.last_payload) < 1024

    # The repeat check still works on the digest: the same payload retained
    # again is a repeat, another payload of the same length is not. (Called
    # directly: Home Assistant's MQTT client drops a second retained copy on
    # one subscription; a reload or reconnect is what brings it.)
    ingest_live(source, "big/a", huge, 2.0, retain=True)
    assert state.retained_repeats == 1
    ingest_live(source, "big/a", b"\x02" + huge[1:], 3.0, retain=True)
    assert state.retained_repeats == 1
    assert state.rejected == {Rejection.TOO_LARGE: 2}


async def test_short_payloads_repeat_exactly(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Short payloads are compared whole; a long one never equals a short one."""
    entry = await setup_hub(hub_entry(sensor_subentry("t/#")))
    source = entry.runtime_data.sources[subentry_id(entry)]
    long_payload = b"1" + b" " * 500
    for when, (payload, retain) in enumerate(
        (
            (b"21.5", False),
            (b"21.5", True),  # repeat
            (b"21.6", True),  # new
            (long_payload, True),  # new (a reading: 1)
            (long_payload, True),  # repeat
            (source_module.payload_key(long_payload), True),  # its key, as a payload
        )
    ):
        ingest_live(source, "t/x", payload, float(when), retain=retain)
    await hass.async_block_till_done()
    state = source.topics["t/x"]
    assert state.retained_repeats == 2
    assert state.messages == 6


async def test_over_cap_topic_bookkeeping_is_bounded(
    hass: HomeAssistant, setup_hub: SetupHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Distinct topics over the cap are tracked up to a bound, then only counted."""
    monkeypatch.setattr(source_module, "MAX_TOPICS_OVER_LIMIT", 50)
    entry = await setup_hub(hub_entry(sensor_subentry("flood/#", max_topics=1)))
    level = "x" * 900
    for index in range(201):
        async_fire_mqtt_message(hass, f"flood/{index}/{level}", "1")
    async_fire_mqtt_message(hass, f"flood/7/{level}", "1")  # tracked: no new count
    async_fire_mqtt_message(hass, f"flood/150/{level}", "1")  # untracked: counted
    await hass.async_block_till_done()
    source = entry.runtime_data.sources[subentry_id(entry)]
    assert len(source.topics_over_limit) == 50
    # Digests, not the topics themselves: a few bytes each, whatever the topic.
    assert all(isinstance(item, int) for item in source.topics_over_limit)
    assert source.messages_over_limit == 202
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    counters = diagnostics["hub"]["sources"][subentry_id(entry)]
    assert counters["topics_over_limit"] == 50
    assert counters["topics_over_limit_untracked"] == 151
    assert counters["messages_over_limit"] == 202


async def test_topics_longer_than_the_cap_are_counted_not_kept(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """MQTT allows 65,535-byte topics; a source keeps state for none that long."""
    entry = await setup_hub(hub_entry(sensor_subentry("long/#")))
    hub = entry.runtime_data
    long_topic = "long/" + "y" * 65_000
    # The edge (README: "longer than 1,024 characters"): exactly the cap is kept.
    at_the_cap = "long/" + "c" * (source_module.MAX_TOPIC_LENGTH - 5)
    assert len(at_the_cap) == source_module.MAX_TOPIC_LENGTH == 1024
    async_fire_mqtt_message(hass, long_topic, "1")
    async_fire_mqtt_message(hass, long_topic, "2")
    async_fire_mqtt_message(hass, "long/ok", "3")
    async_fire_mqtt_message(hass, at_the_cap, "4")
    async_fire_mqtt_message(hass, at_the_cap + "c", "5")
    await hass.async_block_till_done()
    source = hub.sources[subentry_id(entry)]
    assert list(source.topics) == ["long/ok", at_the_cap]
    assert source.messages_topic_too_long == 3
    assert hub.messages_received == 5  # still received (and journalled)
    assert long_topic not in hub._routes
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    counters = diagnostics["hub"]["sources"][subentry_id(entry)]
    assert counters["messages_topic_too_long"] == 3
    assert counters["max_topic_length"] == source_module.MAX_TOPIC_LENGTH


async def test_route_cache_is_bounded_by_topic_length(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """20,000 topics with 4 KiB levels held about 160 MiB of cached routes."""
    entry = await setup_hub(hub_entry(sensor_subentry("s/#")))
    hub = entry.runtime_data
    level = "z" * 4096
    for index in range(1100):
        async_fire_mqtt_message(hass, f"junk/{index}/{level}", "1")
    await hass.async_block_till_done()
    assert hub.messages_received == 1100
    assert sum(map(len, hub._routes)) <= 4 * MIB


async def test_route_cache_is_bounded_by_count_and_chars(
    hass: HomeAssistant, setup_hub: SetupHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub_module, "MAX_ROUTES", 100)
    monkeypatch.setattr(hub_module, "MAX_ROUTE_TOPIC_CHARS", 50_000)
    entry = await setup_hub(hub_entry(sensor_subentry("s/#")))
    hub = entry.runtime_data
    for index in range(250):
        async_fire_mqtt_message(hass, f"junk/{index}", "1")
    await hass.async_block_till_done()
    assert len(hub._routes) <= 100
    level = "w" * 990
    for index in range(200):
        async_fire_mqtt_message(hass, f"junk/{index}/{level}", "1")
    await hass.async_block_till_done()
    assert sum(map(len, hub._routes)) <= 50_000
    assert hub.messages_received == 450
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    cache = diagnostics["hub"]["route_cache"]
    assert cache["topics"] == len(hub._routes)
    assert cache["topic_chars"] == sum(map(len, hub._routes))
    assert cache["clears"] >= 2 + 3  # 250 / 100, then 200,000 chars / 50,000
