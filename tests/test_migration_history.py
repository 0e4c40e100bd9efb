"""History survives the stored-shape migrations, read back from the recorder.

An install of the first shape (1.1, before the device moves of 1.3 and the
device names of 1.5) has states recorded under its entity ids. After IoTitan
migrates it to the current shape, new states land under the same entity ids:
the recorder's history of each entity runs on, and the registry renamed no
entity on the way.
"""

from __future__ import annotations

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder, get_instance, history
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    async_fire_mqtt_message,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import (
    MqttMockHAClient,
    RecorderInstanceContextManager,
)

from custom_components.iotitan.const import CONFIG_ENTRY_MINOR_VERSION

from .test_migration import (
    ROOM_ALERT,
    ROOM_SOURCE,
    WILD_ALERT,
    WILD_SOURCE,
    _hub_of_the_previous_shape,
    _register_as_before_1_3,
)


@pytest.fixture(autouse=True)
def mock_recorder_before_hass(
    async_test_recorder: RecorderInstanceContextManager,
) -> None:
    """Prepare the recorder's database before the `hass` fixture starts."""


async def test_history_runs_on_under_the_same_entity_ids(
    hass: HomeAssistant,
    recorder_mock: Recorder,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """States recorded before the migration and after it, one history each."""
    renamed: list[dict[str, object]] = []

    @callback
    def registry_updated(event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        if event.data["action"] == "update" and "old_entity_id" in event.data:
            renamed.append(dict(event.data))

    hass.bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, registry_updated)
    entry = _hub_of_the_previous_shape()
    entry.add_to_hass(hass)
    registered = _register_as_before_1_3(hass, entry)
    room_mean = registered[f"{ROOM_SOURCE}/room/t/3600/mean"]
    wild_mean = registered[f"{WILD_SOURCE}/home/kitchen/temperature/3600/mean"]
    room_alert = registered[f"{ROOM_SOURCE}/room/t/alert/{ROOM_ALERT}"]
    wild_alert = registered[
        f"{WILD_SOURCE}/home/kitchen/temperature/alert/{WILD_ALERT}"
    ]
    watched = [room_mean, wild_mean, room_alert, wild_alert]

    # What the old install recorded (its entities wrote these states).
    before = dt_util.utcnow()
    old_states = {
        room_mean: "18.0",
        wild_mean: "19.0",
        room_alert: "off",
        wild_alert: "off",
    }
    for entity_id, state in old_states.items():
        hass.states.async_set(entity_id, state)
    await async_wait_recording_done(hass)
    # Home Assistant stopped: the states are in the database only.
    for entity_id in old_states:
        hass.states.async_remove(entity_id)
    await async_wait_recording_done(hass)

    freezer.tick(timedelta(minutes=5))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.minor_version == CONFIG_ENTRY_MINOR_VERSION
    freezer.tick(timedelta(seconds=1))
    async_fire_mqtt_message(hass, "room/t", "31")
    async_fire_mqtt_message(hass, "home/kitchen/temperature", "26")
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=10))  # the hub's update interval
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)

    recorded = await get_instance(hass).async_add_executor_job(
        history.get_significant_states,
        hass,
        before - timedelta(seconds=1),
        None,
        watched,
    )
    assert renamed == []
    assert sorted(recorded) == sorted(watched)
    values = {
        entity_id: [state.state for state in states]
        for entity_id, states in recorded.items()
    }
    # One history per entity: the old install's state first, then (after the
    # stop, and the new start's unknown or unavailable) the new ones: the means
    # of one reading each, both alerts above their limits.
    assert values[room_mean][0] == "18.0"
    assert values[room_mean][-1] == "31.0"
    assert values[wild_mean][0] == "19.0"
    assert values[wild_mean][-1] == "26.0"
    assert values[room_alert][0] == "off"
    assert values[room_alert][-1] == "on"
    assert values[wild_alert][0] == "off"
    assert values[wild_alert][-1] == "on"
