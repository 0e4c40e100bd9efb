"""The premise of the README's comparison with core, on core's real chain.

A core MQTT sensor feeding a core `statistics` sensor: with `force_update: true`
every message is a sample; with the default `false` a reading equal to the
sensor's state is not written, and `statistics` never sees it. (The year-long
replay in tests/engine/test_core_replay.py builds on this.)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message
from pytest_homeassistant_custom_component.typing import MqttMockHAClientGenerator


def _mqtt_yaml(force_update: bool) -> dict[str, Any]:
    return {
        "mqtt": {
            "sensor": [
                {
                    "name": "Outside",
                    "state_topic": "weather/outside",
                    "unit_of_measurement": "°C",
                    "device_class": "temperature",
                    "force_update": force_update,
                }
            ]
        }
    }


@pytest.mark.parametrize(
    ("hass_config", "force_update", "count"),
    [(_mqtt_yaml(True), True, 5), (_mqtt_yaml(False), False, 3)],
)
@pytest.mark.usefixtures("mock_hass_config")
async def test_statistics_behind_an_mqtt_sensor_sees_repeats_only_when_forced(
    hass: HomeAssistant,
    mqtt_mock_entry: MqttMockHAClientGenerator,
    freezer: FrozenDateTimeFactory,
    force_update: bool,
    count: int,
) -> None:
    assert await async_setup_component(
        hass,
        "sensor",
        {
            "sensor": [
                {
                    "platform": "statistics",
                    "name": "Outside count",
                    "entity_id": "sensor.outside",
                    "state_characteristic": "count",
                    "max_age": {"hours": 24},
                },
                {
                    "platform": "statistics",
                    "name": "Outside mean",
                    "entity_id": "sensor.outside",
                    "state_characteristic": "mean",
                    "max_age": {"hours": 24},
                },
            ]
        },
    )
    await hass.async_block_till_done()
    await mqtt_mock_entry()  # after: `sensor` is set up with statistics above
    await hass.async_block_till_done()
    for payload in ("20.0", "20.0", "21.0", "21.0", "23.0"):
        freezer.tick(timedelta(hours=1))
        async_fire_mqtt_message(hass, "weather/outside", payload)
        await hass.async_block_till_done()
    assert hass.states.get("sensor.outside_count").state == str(count)
    # IoTitan's mean of the five readings is 21.0; core's without repeats 21.33.
    expected_mean = "21.0" if force_update else "21.33"
    assert hass.states.get("sensor.outside_mean").state == expected_mean
