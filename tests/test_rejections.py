"""Every rejection reason is counted under its own name, through Home Assistant.

One payload of each kind of rejection goes through the MQTT integration to a
hub; the hub's *Payloads rejected* sensor, the topic's rejected-payloads sensor
and diagnostics must each count it under the reason's own name. The payloads
are listed per reason, and the list must name every reason the parser has, so
a reason added later fails here until it has a payload too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from custom_components.iotitan.const import DOMAIN
from custom_components.iotitan.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.iotitan.engine.payload import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    Rejection,
)

from .common import hub_entry, sensor_subentry, subentry_id
from .test_sensor import tick

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]
PLAIN = "plain/t"
JSON = "json/t"
VALUE_PATH = "sensor.value"

# Reason -> (topic, payload). PLAIN reads the payload as a number, JSON reads
# `sensor.value` from a JSON document.
PAYLOADS: dict[str, tuple[str, bytes]] = {
    "empty": (PLAIN, b""),
    "too_large": (PLAIN, b"1" * (DEFAULT_MAX_PAYLOAD_BYTES + 1)),  # digits only
    "not_utf8": (PLAIN, b"\xff\xfe21"),
    "not_a_number": (PLAIN, b"warm"),
    "not_finite": (PLAIN, b"nan"),
    "invalid_json": (JSON, b'{"sensor": {"value": 21'),
    "path_not_found": (JSON, b'{"sensor": {"temperature": 21}}'),
}
SENT = 2  # each rejected payload is sent twice: every one counts


def test_every_reason_has_a_payload() -> None:
    """The table covers every reason the parser can give, by its own name."""
    assert set(PAYLOADS) == {str(reason) for reason in Rejection}


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_each_reason_counted_under_its_own_name(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    entry = await setup_hub(
        hub_entry(
            sensor_subentry(PLAIN, title="Plain"),
            sensor_subentry(JSON, title="JSON", value_path=VALUE_PATH),
        )
    )
    for _ in range(SENT):
        for topic, payload in PAYLOADS.values():
            async_fire_mqtt_message(hass, topic, payload)
    # Readings keep flowing between the junk.
    async_fire_mqtt_message(hass, PLAIN, b"20")
    async_fire_mqtt_message(hass, JSON, b'{"sensor": {"value": 22}}')
    await hass.async_block_till_done()
    await tick(hass, freezer)

    everything = dict.fromkeys(PAYLOADS, SENT)
    hub_sensor = hass.states.get("sensor.iotitan_payloads_rejected")
    assert hub_sensor is not None
    assert hub_sensor.state == str(SENT * len(PAYLOADS))
    assert {reason: hub_sensor.attributes.get(reason) for reason in PAYLOADS} == (
        everything
    )

    registry = er.async_get(hass)
    for index, topic in enumerate((PLAIN, JSON)):
        wanted = {
            reason: SENT for reason, (where, _) in PAYLOADS.items() if where == topic
        }
        entity_id = registry.async_get_entity_id(
            "sensor", DOMAIN, f"{subentry_id(entry, index)}/{topic}/rejected_payloads"
        )
        assert entity_id is not None
        state = hass.states.get(entity_id)
        assert state is not None
        assert state.state == str(sum(wanted.values()))
        assert {reason: state.attributes.get(reason) for reason in PAYLOADS} == {
            reason: wanted.get(reason) for reason in PAYLOADS
        }

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["hub"]["payloads_rejected"] == everything
    sources = diagnostics["hub"]["sources"]
    plain = sources[subentry_id(entry, 0)]["topics"][PLAIN]
    json_topic = sources[subentry_id(entry, 1)]["topics"][JSON]
    assert plain["rejected"] | json_topic["rejected"] == everything
    on_plain = [reason for reason, (where, _) in PAYLOADS.items() if where == PLAIN]
    assert plain["messages"] == SENT * len(on_plain) + 1
    assert (plain["last_value"], json_topic["last_value"]) == (20.0, 22.0)
    assert plain["window_samples"] == json_topic["window_samples"] == {"3600.0": 1}
