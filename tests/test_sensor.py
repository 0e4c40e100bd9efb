"""Statistic sensors created from MQTT messages, through Home Assistant's harness."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
import json
from pathlib import Path
import statistics

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.mqtt.const import MQTT_CONNECTION_STATE
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import (
    RELOAD_AFTER_UPDATE_DELAY,
    ConfigSubentryDataWithId,
)
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)

from custom_components.iotitan.const import DOMAIN
from custom_components.iotitan.engine.window import Statistic
from custom_components.iotitan.sensor import statistic_device_class, statistic_unit

from .alerts_common import ALERT_ID, SOURCE_ID, alert_subentry, source_subentry
from .common import channel_subentry, hub_entry, sensor_subentry, subentry_id

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]


def state_of(hass: HomeAssistant, entry: MockConfigEntry, unique_id_tail: str) -> str:
    """State of the sensor whose unique id is `<subentry id>/<tail>`."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{subentry_id(entry)}/{unique_id_tail}"
    )
    assert entity_id is not None, f"no entity for {unique_id_tail}"
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


async def tick(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = 10
) -> None:
    """Advance time past one update interval and let the hub write states."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def test_wildcard_topics_become_devices_with_statistics(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """Each concrete topic under a wildcard gets a device and its statistics."""
    entry = await setup_hub(
        hub_entry(
            sensor_subentry(
                statistics=["mean", "value_min", "value_max", "count", "percentile"],
                percentile=50,
            )
        )
    )
    kitchen = [20.0, 22.5, 24.0, 21.0]
    for value in kitchen:
        async_fire_mqtt_message(hass, "home/kitchen/temperature", str(value))
        freezer.tick(timedelta(seconds=1))
    async_fire_mqtt_message(hass, "home/garage/temperature", "5")
    await tick(hass, freezer)

    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    # Named by the level the wildcard matched and those after it; the raw
    # topic is the model.
    names = {(device.name, device.model) for device in devices}
    assert {
        ("Kitchen temperature", "home/kitchen/temperature"),
        ("Garage temperature", "home/garage/temperature"),
    } <= names
    hub_device = next(d for d in devices if d.name == "IoTitan")
    kitchen_device = next(d for d in devices if d.name == "Kitchen temperature")
    assert kitchen_device.via_device_id == hub_device.id
    assert kitchen_device.config_entries_subentries[entry.entry_id] == {
        subentry_id(entry)
    }

    tail = "home/kitchen/temperature/3600"
    assert float(state_of(hass, entry, f"{tail}/mean")) == pytest.approx(
        sum(kitchen) / len(kitchen)
    )
    assert float(state_of(hass, entry, f"{tail}/value_min")) == min(kitchen)
    assert float(state_of(hass, entry, f"{tail}/value_max")) == max(kitchen)
    assert float(state_of(hass, entry, f"{tail}/count")) == len(kitchen)
    # Core's percentile: statistics.quantiles(n=100, method="exclusive").
    expected_p50 = statistics.quantiles(kitchen, n=100, method="exclusive")[49]
    assert float(state_of(hass, entry, f"{tail}/p50")) == pytest.approx(expected_p50)
    assert float(state_of(hass, entry, "home/garage/temperature/3600/mean")) == 5.0


async def test_entity_names_units_and_classes(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Names are translated with the window; units follow core's rules."""
    entry = await setup_hub(
        hub_entry(
            sensor_subentry(
                "home/office/temperature",
                windows=[600.0],
                statistics=["mean", "variance", "change_second", "count"],
            )
        )
    )
    async_fire_mqtt_message(hass, "home/office/temperature", "21.5")
    await hass.async_block_till_done()

    registry = er.async_get(hass)
    base = f"{subentry_id(entry)}/home/office/temperature/600"
    mean_id = registry.async_get_entity_id("sensor", DOMAIN, f"{base}/mean")
    # A topic without wildcards: its last two levels name the device.
    assert mean_id == "sensor.office_temperature_mean_10m"
    mean = hass.states.get(mean_id)
    assert mean is not None
    assert mean.attributes[ATTR_UNIT_OF_MEASUREMENT] == "°C"
    assert mean.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.TEMPERATURE
    assert mean.attributes["state_class"] == SensorStateClass.MEASUREMENT

    variance = hass.states.get(
        registry.async_get_entity_id("sensor", DOMAIN, f"{base}/variance") or ""
    )
    assert variance is not None
    assert variance.attributes[ATTR_UNIT_OF_MEASUREMENT] == "°C²"
    assert ATTR_DEVICE_CLASS not in variance.attributes
    assert variance.state == "0.0"  # core's statistics sensor: 0 for one sample

    change = hass.states.get(
        registry.async_get_entity_id("sensor", DOMAIN, f"{base}/change_second") or ""
    )
    assert change is not None
    assert change.attributes[ATTR_UNIT_OF_MEASUREMENT] == "°C/s"

    count = hass.states.get(
        registry.async_get_entity_id("sensor", DOMAIN, f"{base}/count") or ""
    )
    assert count is not None
    assert ATTR_UNIT_OF_MEASUREMENT not in count.attributes
    assert count.state == "1"


@pytest.mark.parametrize(
    ("percentile", "name"),
    [
        (1, "1st percentile 1m"),
        (2, "2nd percentile 1m"),
        (3, "3rd percentile 1m"),
        (4, "4th percentile 1m"),
        (11, "11th percentile 1m"),
        (12, "12th percentile 1m"),
        (13, "13th percentile 1m"),
        (21, "21st percentile 1m"),
        (42, "42nd percentile 1m"),
        (73, "73rd percentile 1m"),
        (95, "95th percentile 1m"),
    ],
)
async def test_percentile_names_use_english_ordinals(
    hass: HomeAssistant, setup_hub: SetupHub, percentile: int, name: str
) -> None:
    """No "2th percentile": every percentile reads as a person would write it."""
    entry = await setup_hub(
        hub_entry(
            sensor_subentry(
                "home/office/temperature",
                windows=[60.0],
                statistics=["percentile"],
                percentile=percentile,
            )
        )
    )
    async_fire_mqtt_message(hass, "home/office/temperature", "21.5")
    await hass.async_block_till_done()
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor",
        DOMAIN,
        f"{subentry_id(entry)}/home/office/temperature/60/p{percentile}",
    )
    state = hass.states.get(entity_id or "")
    assert state is not None
    assert state.attributes["friendly_name"] == f"Office temperature {name}"


def test_every_statistic_has_its_own_icon() -> None:
    """No statistic falls back to the frontend's generic eye icon."""
    icons = json.loads(
        (
            Path(__file__).parent.parent / "custom_components/iotitan/icons.json"
        ).read_text()
    )["entity"]["sensor"]
    missing = [str(s) for s in Statistic if str(s) not in icons]
    assert missing == []
    assert all(icons[str(s)]["default"].startswith("mdi:") for s in Statistic)


@pytest.mark.parametrize(
    ("statistic", "unit", "expected"),
    [
        (Statistic.MEAN, "W", "W"),
        (Statistic.VARIANCE, "W", "W²"),
        (Statistic.CHANGE_SECOND, "W", "W/s"),
        (Statistic.COUNT, "W", None),
        (Statistic.MEAN, None, None),
    ],
)
def test_statistic_unit(
    statistic: Statistic, unit: str | None, expected: str | None
) -> None:
    """Derived units, as core's statistics sensor derives them."""
    assert statistic_unit(statistic, unit) == expected


@pytest.mark.parametrize(
    ("statistic", "device_class", "unit", "expected"),
    [
        (Statistic.MEAN, "power", "W", SensorDeviceClass.POWER),
        (Statistic.STANDARD_DEVIATION, "power", "W", SensorDeviceClass.POWER),
        # A spread of temperatures converts without the scale's offset.
        (Statistic.STANDARD_DEVIATION, "temperature", "°C", None),
        (Statistic.CHANGE, "temperature", "°C", None),
        (Statistic.MEAN, "temperature", "°C", SensorDeviceClass.TEMPERATURE),
        (Statistic.MEAN, "power", "°C", None),  # unit not valid for the class
        (Statistic.SUM, "energy", "kWh", None),  # energy is never a measurement
        (Statistic.MEAN, "not_a_class", "W", None),
        (Statistic.COUNT, "power", "W", None),
    ],
)
def test_statistic_device_class(
    statistic: Statistic,
    device_class: str,
    unit: str,
    expected: SensorDeviceClass | None,
) -> None:
    """Device classes are kept only where they remain meaningful."""
    assert statistic_device_class(statistic, device_class, unit) is expected


async def test_state_written_at_most_once_per_interval(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """A busy topic does not write a state per message."""
    entry = await setup_hub(
        hub_entry(sensor_subentry("room/t", unit=None, device_class=None))
    )
    async_fire_mqtt_message(hass, "room/t", "10")
    await hass.async_block_till_done()
    assert state_of(hass, entry, "room/t/3600/mean") == "10.0"

    for value in (20, 30, 40):
        async_fire_mqtt_message(hass, "room/t", str(value))
        await hass.async_block_till_done()
    # Still the first state: the next write waits for the update interval.
    assert state_of(hass, entry, "room/t/3600/mean") == "10.0"

    await tick(hass, freezer)
    assert float(state_of(hass, entry, "room/t/3600/mean")) == 25.0


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_unchanged_statistics_are_not_rewritten(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """A tick writes only the statistics whose value moved.

    Home Assistant stamps `last_reported` on every write, even an unchanged
    one, so it tells whether the sensor was written.
    """
    entry = await setup_hub(
        hub_entry(
            sensor_subentry(
                "room/t",
                statistics=["mean", "value_max"],
                unit=None,
                device_class=None,
            )
        )
    )
    registry = er.async_get(hass)

    def state(tail: str) -> State:
        entity_id = registry.async_get_entity_id(
            "sensor", DOMAIN, f"{subentry_id(entry)}/room/t/{tail}"
        )
        assert entity_id is not None
        state = hass.states.get(entity_id)
        assert state is not None
        return state

    async_fire_mqtt_message(hass, "room/t", "10")
    await tick(hass, freezer)
    tails = ("3600/mean", "3600/value_max", "rejected_payloads")
    # An unchanged write updates the same State object: keep copies.
    before = {tail: (state(tail).state, state(tail).last_reported) for tail in tails}

    async_fire_mqtt_message(hass, "room/t", "4")  # the maximum stays 10
    await tick(hass, freezer)

    assert float(state("3600/mean").state) == 7.0
    assert state("3600/mean").last_reported > before["3600/mean"][1]
    for tail in ("3600/value_max", "rejected_payloads"):
        assert (state(tail).state, state(tail).last_reported) == before[tail], tail

    async_fire_mqtt_message(hass, "room/t", "12")  # now it moves
    await tick(hass, freezer)
    assert float(state("3600/value_max").state) == 12.0


async def test_samples_expire_on_the_timer(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """Without new messages, old samples still leave the window."""
    entry = await setup_hub(
        hub_entry(
            sensor_subentry("room/t", windows=[60.0], unit=None, device_class=None)
        )
    )
    async_fire_mqtt_message(hass, "room/t", "10")
    freezer.tick(timedelta(seconds=30))
    async_fire_mqtt_message(hass, "room/t", "20")
    await tick(hass, freezer, 10)
    assert float(state_of(hass, entry, "room/t/60/mean")) == 15.0

    await tick(hass, freezer, 25)  # the first sample is now 65 s old
    assert float(state_of(hass, entry, "room/t/60/mean")) == 20.0
    await tick(hass, freezer, 40)  # both gone
    assert state_of(hass, entry, "room/t/60/mean") == STATE_UNKNOWN


async def test_json_value_path(hass: HomeAssistant, setup_hub: SetupHub) -> None:
    """A value path reads one field of a JSON payload."""
    entry = await setup_hub(
        hub_entry(
            sensor_subentry(
                "tele/sonoff/SENSOR",
                value_path="DS18B20.Temperature",
                statistics=["last"],
            )
        )
    )
    async_fire_mqtt_message(
        hass,
        "tele/sonoff/SENSOR",
        '{"Time":"2026-11-26T10:00:00","DS18B20":{"Temperature":21.3}}',
    )
    await hass.async_block_till_done()
    assert state_of(hass, entry, "tele/sonoff/SENSOR/3600/last") == "21.3"


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_rejected_payloads_are_counted_not_fatal(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Junk is counted per topic and reason, and readings keep flowing."""
    caplog.set_level("DEBUG", logger="custom_components.iotitan")
    entry = await setup_hub(
        hub_entry(sensor_subentry("pir/hall", unit=None, device_class=None))
    )
    for payload in (b"ON", b"garbage", b"\xff\xfe", b"", b"nan", b"garbage", b"OFF"):
        async_fire_mqtt_message(hass, "pir/hall", payload)
    await tick(hass, freezer)

    assert float(state_of(hass, entry, "pir/hall/3600/mean")) == 0.5
    rejected_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{subentry_id(entry)}/pir/hall/rejected_payloads"
    )
    rejected = hass.states.get(rejected_id or "")
    assert rejected is not None
    assert rejected.state == "5"
    assert rejected.attributes["not_a_number"] == 2
    assert rejected.attributes["not_utf8"] == 1
    assert rejected.attributes["empty"] == 1
    assert rejected.attributes["not_finite"] == 1
    # Logged once per topic and reason, at debug level.
    assert caplog.text.count("not_a_number") == 1

    hub_rejected = hass.states.get("sensor.iotitan_payloads_rejected")
    assert hub_rejected is not None
    assert hub_rejected.state == "5"
    hub_received = hass.states.get("sensor.iotitan_messages_received")
    assert hub_received is not None
    assert hub_received.state == "7"


async def test_topic_cap_counts_what_it_rejects(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A topic flood stops at the cap; the rest is counted, with one warning."""
    entry = await setup_hub(hub_entry(sensor_subentry("flood/#", max_topics=3)))
    for index in range(10):
        async_fire_mqtt_message(hass, f"flood/{index}", "1")
        async_fire_mqtt_message(hass, f"flood/{index}", "2")
    await tick(hass, freezer)

    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert len([d for d in devices if (d.model or "").startswith("flood/")]) == 3
    source = entry.runtime_data.sources[subentry_id(entry)]
    assert len(source.topics_over_limit) == 7
    assert source.messages_over_limit == 14
    assert caplog.text.count("reached its limit of 3 topics") == 1


async def test_availability_follows_mqtt_connection(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Entities become unavailable at once when MQTT disconnects, and back."""
    entry = await setup_hub(
        hub_entry(sensor_subentry("room/t", unit=None, device_class=None))
    )
    async_fire_mqtt_message(hass, "room/t", "10")
    await hass.async_block_till_done()

    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, False)
    await hass.async_block_till_done()
    assert state_of(hass, entry, "room/t/3600/mean") == STATE_UNAVAILABLE
    assert (
        hass.states.get("sensor.iotitan_payloads_rejected").state == STATE_UNAVAILABLE
    )  # type: ignore[union-attr]

    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, True)
    await hass.async_block_till_done()
    assert state_of(hass, entry, "room/t/3600/mean") == "10.0"


async def test_topics_recreated_after_reload(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Topics seen before a reload get their entities and values back at once."""
    entry = await setup_hub(hub_entry(sensor_subentry()))
    async_fire_mqtt_message(hass, "home/attic/temperature", "30")
    await hass.async_block_till_done()
    assert state_of(hass, entry, "home/attic/temperature/3600/mean") == "30.0"

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    # The journal rebuilt the window before the entity came back.
    assert state_of(hass, entry, "home/attic/temperature/3600/mean") == "30.0"
    async_fire_mqtt_message(hass, "home/attic/temperature", "31")
    await hass.async_block_till_done()
    assert (
        entry.runtime_data.sources[subentry_id(entry)]
        .topics["home/attic/temperature"]
        .last_value
        == 31.0
    )


async def test_unload_unsubscribes(hass: HomeAssistant, setup_hub: SetupHub) -> None:
    """After unload, messages no longer reach the hub."""
    entry = await setup_hub(hub_entry(sensor_subentry("room/t")))
    hub = entry.runtime_data
    async_fire_mqtt_message(hass, "room/t", "10")
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, "room/t", "10")
    await hass.async_block_till_done()
    assert hub.messages_received == 1
    assert state_of(hass, entry, "room/t/3600/mean") == STATE_UNAVAILABLE


async def test_removing_a_statistic_removes_its_entity(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Reconfiguring a source drops entities of statistics no longer wanted."""
    entry = await setup_hub(
        hub_entry(sensor_subentry("room/t", statistics=["mean", "value_max"]))
    )
    async_fire_mqtt_message(hass, "room/t", "10")
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    max_unique_id = f"{subentry_id(entry)}/room/t/3600/value_max"
    assert registry.async_get_entity_id("sensor", DOMAIN, max_unique_id)

    subentry = entry.subentries[subentry_id(entry)]
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, "statistics": ["mean"]}
    )
    await hass.async_block_till_done()
    assert registry.async_get_entity_id("sensor", DOMAIN, max_unique_id) is None
    assert state_of(hass, entry, "room/t/3600/mean") == "10.0"


async def test_user_can_remove_a_topic_device(
    hass: HomeAssistant, setup_hub: SetupHub, hass_ws_client: object
) -> None:
    """A stale topic's device can be deleted; the hub device cannot."""
    entry = await setup_hub(hub_entry(sensor_subentry()))
    async_fire_mqtt_message(hass, "home/old/temperature", "1")
    await hass.async_block_till_done()
    registry = dr.async_get(hass)
    topic_device = registry.async_get_device(
        identifiers={(DOMAIN, f"{subentry_id(entry)}/home/old/temperature")}
    )
    hub_device = registry.async_get_device(identifiers={(DOMAIN, entry.entry_id)})
    assert topic_device is not None
    assert hub_device is not None

    assert await async_setup_component(hass, "config", {})
    client = await hass_ws_client(hass)  # type: ignore[operator]
    await client.send_json_auto_id(
        {
            "type": "config/device_registry/remove_config_entry",
            "config_entry_id": entry.entry_id,
            "device_id": hub_device.id,
        }
    )
    response = await client.receive_json()
    assert not response["success"]
    assert response["error"]["code"] == "home_assistant_error"
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
    assert registry.async_get(topic_device.id) is None
    assert (
        "home/old/temperature"
        not in entry.runtime_data.sources[subentry_id(entry)].topics
    )


async def test_overflowing_statistic_is_unknown(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """A variance beyond float range shows as unknown rather than failing."""
    entry = await setup_hub(
        hub_entry(
            sensor_subentry(
                "huge/t", unit=None, device_class=None, statistics=["variance", "mean"]
            )
        )
    )
    for payload in ("1e300", "-1e300"):
        async_fire_mqtt_message(hass, "huge/t", payload)
        await hass.async_block_till_done()
    await tick(hass, freezer)
    assert state_of(hass, entry, "huge/t/3600/variance") == STATE_UNKNOWN
    assert float(state_of(hass, entry, "huge/t/3600/mean")) == 0.0


async def test_noisy_entities_are_disabled_by_default(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """Per-topic rejections and the hub's busiest counters start disabled.

    Everything a user acts on (statistics, alerts, payloads rejected, records
    dropped, the syslog connection, the channel's rows and last error) starts
    enabled; so does nothing that changes at every upload without a state
    class (the channel's last upload, which the logbook would list each
    time). A disabled entity comes back once the user enables it, after the
    reload Home Assistant schedules.
    """
    channel_id = "channel0"
    entry = await setup_hub(
        hub_entry(
            source_subentry("room/t"),
            alert_subentry("high", high=30),
            ConfigSubentryDataWithId(
                **channel_subentry(
                    {
                        "1": {
                            "source": SOURCE_ID,
                            "topic": "room/t",
                            "window": 3600.0,
                            "statistic": "mean",
                        }
                    }
                ),
                subentry_id=channel_id,
            ),
        )
    )
    async_fire_mqtt_message(hass, "room/t", "20")
    await tick(hass, freezer)

    registry = er.async_get(hass)
    entities = {
        registry_entry.unique_id: registry_entry
        for registry_entry in er.async_entries_for_config_entry(
            registry, entry.entry_id
        )
    }
    hub_id = entry.entry_id
    disabled = {
        f"{hub_id}/messages_received",
        f"{hub_id}/records_logged",
        f"{hub_id}/journal_size",
        f"{SOURCE_ID}/room/t/rejected_payloads",
        f"{channel_id}/last_upload",
    }
    enabled = {
        f"{hub_id}/payloads_rejected",
        f"{hub_id}/records_dropped",
        f"{hub_id}/syslog_records_cut",
        f"{hub_id}/syslog_connection",
        f"{SOURCE_ID}/room/t/3600/mean",
        f"{SOURCE_ID}/room/t/3600/value_min",
        f"{SOURCE_ID}/room/t/3600/value_max",
        f"{SOURCE_ID}/room/t/alert/{ALERT_ID}",
        f"{channel_id}/rows_waiting",
        f"{channel_id}/rows_uploaded",
        f"{channel_id}/last_error",
    }
    assert set(entities) == disabled | enabled
    for unique_id in disabled:
        registry_entry = entities[unique_id]
        assert registry_entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        assert hass.states.get(registry_entry.entity_id) is None, unique_id
    for unique_id in enabled:
        registry_entry = entities[unique_id]
        assert registry_entry.disabled_by is None, unique_id
        assert hass.states.get(registry_entry.entity_id) is not None, unique_id

    # Enabled as the entity settings dialog does; Home Assistant reloads the
    # entry RELOAD_AFTER_UPDATE_DELAY seconds later.
    rejected = entities[f"{SOURCE_ID}/room/t/rejected_payloads"].entity_id
    received = entities[f"{hub_id}/messages_received"].entity_id
    for entity_id in (rejected, received):
        registry.async_update_entity(entity_id, disabled_by=None)
    await tick(hass, freezer, RELOAD_AFTER_UPDATE_DELAY + 1)
    assert hass.states.get(rejected) is not None

    async_fire_mqtt_message(hass, "room/t", "oops")
    await tick(hass, freezer)
    state = hass.states.get(rejected)
    assert state is not None
    assert state.state == "1"
    assert state.attributes["not_a_number"] == 1
    state = hass.states.get(received)
    assert state is not None
    assert state.state == str(entry.runtime_data.messages_received)
    assert entry.runtime_data.messages_received >= 1
