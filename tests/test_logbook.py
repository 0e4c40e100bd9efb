"""What Home Assistant's real logbook shows of IoTitan.

These tests run the recorder and the logbook and count the rows the logbook's
websocket API returns for the three views a person uses: the main logbook (no
filter), an entity's more-info logbook (its entity id) and a device page's
activity card (the device's entity ids and its device id, as the frontend
asks).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import (
    RecorderInstanceContextManager,
    WebSocketGenerator,
)

from custom_components.iotitan.const import EVENT_ALERT

from .alerts_common import (
    SOURCE_ID,
    SetupHub,
    alert_entity_id,
    alert_subentry,
    source_subentry,
)
from .common import CHANNEL_ID, hub_entry
from .fake_thingspeak import FakeThingSpeak
from .test_thingspeak_ha import (
    INTERVAL,
    channel_entry,
    channel_of,
    publish,
    run,
    settle,
    start,  # noqa: F401 (a fixture: rows fall on known boundaries)
)


@pytest.fixture(autouse=True)
def mock_recorder_before_hass(
    async_test_recorder: RecorderInstanceContextManager,
) -> None:
    """Prepare the recorder's database before the `hass` fixture starts."""


@pytest.fixture
async def logbook(recorder_mock: Recorder, hass: HomeAssistant) -> None:
    """The recorder and the logbook, as a default installation has them."""
    assert await async_setup_component(hass, "logbook", {})
    await hass.async_block_till_done()


class Logbook:
    """The logbook's websocket API, as the frontend calls it."""

    def __init__(self, hass: HomeAssistant, ws_client: WebSocketGenerator) -> None:
        """Every query starts an hour before the test.

        Each query opens its own connection: one left open while the frozen
        clock jumps minutes ahead would time out.
        """
        self.hass = hass
        self.ws_client = ws_client
        self.start = dt_util.utcnow() - timedelta(hours=1)

    async def rows(
        self,
        *,
        entity_ids: list[str] | None = None,
        device_ids: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """The rows of one view, once the recorder wrote everything."""
        await self.hass.async_block_till_done()
        await async_wait_recording_done(self.hass)
        message: dict[str, Any] = {
            "type": "logbook/get_events",
            "start_time": self.start.isoformat(),
            "end_time": (dt_util.utcnow() + timedelta(minutes=1)).isoformat(),
        }
        if entity_ids:
            message["entity_ids"] = entity_ids
        if device_ids:
            message["device_ids"] = device_ids
        ws = await self.ws_client(self.hass)
        await ws.send_json_auto_id(message)
        response = await ws.receive_json()
        await ws.close()
        assert response["success"], response
        return list(response["result"])

    async def views(self, entity_id: str) -> dict[str, list[dict[str, Any]]]:
        """The rows about one entity in each view a person uses."""
        registry_entry = er.async_get(self.hass).async_get(entity_id)
        assert registry_entry is not None and registry_entry.device_id is not None
        device_entities = [
            entry.entity_id
            for entry in er.async_entries_for_device(
                er.async_get(self.hass), registry_entry.device_id
            )
        ]
        return {
            "main": [
                row for row in await self.rows() if row.get("entity_id") == entity_id
            ],
            "entity": await self.rows(entity_ids=[entity_id]),
            "device": [
                row
                for row in await self.rows(
                    entity_ids=device_entities,
                    device_ids=[registry_entry.device_id],
                )
                if row.get("entity_id") == entity_id
            ],
        }


@pytest.fixture
async def logbook_api(
    logbook: None, hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> Logbook:
    """A websocket client asking the logbook."""
    return Logbook(hass, hass_ws_client)


async def test_alert_change_is_one_line_in_every_view(
    hass: HomeAssistant, setup_hub: SetupHub, logbook_api: Logbook
) -> None:
    """An alert turning on and off is one logbook row each, in every view."""
    await setup_hub(hub_entry(source_subentry(unit="°C"), alert_subentry(high=22)))
    async_fire_mqtt_message(hass, "room/t", "21")
    await hass.async_block_till_done()
    entity_id = alert_entity_id(hass)
    before = await logbook_api.views(entity_id)
    events = async_capture_events(hass, EVENT_ALERT)

    async_fire_mqtt_message(hass, "room/t", "22.017647058823528")
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, "room/t", "21.5")
    await hass.async_block_till_done()

    after = await logbook_api.views(entity_id)
    for view, rows in after.items():
        new = rows[len(before[view]) :]
        # Home Assistant's own line ("detected a problem", "cleared"); no
        # second line describing the `iotitan_alert` event.
        assert [row.get("state") for row in new] == ["on", "off"], (view, new)
        assert not any("message" in row for row in new), (view, new)
    # Automations and device triggers still get the event, with its data.
    assert [(event.data["state"], event.data["value"]) for event in events] == [
        ("on", 22.017647058823528),
        ("off", 21.5),
    ]
    assert {event.data["entity_id"] for event in events} == {entity_id}


@pytest.mark.usefixtures("start")
async def test_thingspeak_uploads_write_no_logbook_line(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    freezer: FrozenDateTimeFactory,
    logbook_api: Logbook,
) -> None:
    """Uploads change the channel's sensors, which stay out of the logbook."""
    entry = await setup_hub(channel_entry(fake_thingspeak))
    channel = channel_of(entry)
    await settle(hass, channel)
    registry_entries = [
        registry_entry
        for registry_entry in er.async_entries_for_config_entry(
            er.async_get(hass), entry.entry_id
        )
        if registry_entry.config_subentry_id == channel.subentry_id
    ]
    channel_entities = sorted(entry.entity_id for entry in registry_entries)
    device_ids = sorted({str(entry.device_id) for entry in registry_entries})
    before = await logbook_api.rows()
    device_before = await logbook_api.rows(
        entity_ids=channel_entities, device_ids=device_ids
    )

    for value in (20, 21, 22):
        publish(hass, value)
        await run(hass, freezer, INTERVAL, [channel])
    assert len(fake_thingspeak.stored(CHANNEL_ID)) == 3

    new = (await logbook_api.rows())[len(before) :]
    assert [row for row in new if row.get("entity_id") in channel_entities] == []
    device_rows = await logbook_api.rows(
        entity_ids=channel_entities, device_ids=device_ids
    )
    assert device_rows[len(device_before) :] == []


async def test_adding_a_subentry_writes_no_line_for_existing_alerts(
    hass: HomeAssistant, setup_hub: SetupHub, logbook_api: Logbook
) -> None:
    """An alert that did not change has no logbook line when another is added."""
    entry = await setup_hub(
        hub_entry(source_subentry(unit="°C"), alert_subentry(high=22))
    )
    async_fire_mqtt_message(hass, "room/t", "21")
    await hass.async_block_till_done()
    entity_id = alert_entity_id(hass)
    before = await logbook_api.views(entity_id)

    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            **{
                key: value
                for key, value in alert_subentry(
                    "low", low=5, subentry_id="alert1second"
                ).items()
                if key != "subentry_id"
            }
        ),
    )
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, "room/t", "21")
    await hass.async_block_till_done()

    after = await logbook_api.views(entity_id)
    assert {view: rows[len(before[view]) :] for view, rows in after.items()} == {
        "main": [],
        "entity": [],
        "device": [],
    }


async def test_changing_another_alert_writes_no_line_for_this_one(
    hass: HomeAssistant, setup_hub: SetupHub, logbook_api: Logbook
) -> None:
    """Reconfiguring or deleting one alert leaves the other's logbook alone."""
    entry = await setup_hub(
        hub_entry(
            source_subentry(unit="°C"),
            alert_subentry(high=22),
            alert_subentry("low", low=5, subentry_id="alert1second"),
        )
    )
    async_fire_mqtt_message(hass, "room/t", "21")
    await hass.async_block_till_done()
    high = alert_entity_id(hass)
    before = await logbook_api.views(high)

    second = entry.subentries["alert1second"]
    assert hass.config_entries.async_update_subentry(
        entry, second, data={**second.data, "low": 3.0}
    )
    await hass.async_block_till_done()
    assert entry.runtime_data.alerts.alerts["alert1second"].config.low == 3.0
    assert hass.config_entries.async_remove_subentry(entry, "alert1second")
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, "room/t", "21")
    await hass.async_block_till_done()

    after = await logbook_api.views(high)
    assert {view: rows[len(before[view]) :] for view, rows in after.items()} == {
        "main": [],
        "entity": [],
        "device": [],
    }


async def test_reconfiguring_its_source_writes_no_line_for_an_alert(
    hass: HomeAssistant, setup_hub: SetupHub, logbook_api: Logbook
) -> None:
    """The alert on a source that gets another window runs on without a line
    (it is replaced with its source, not made unavailable and back)."""
    entry = await setup_hub(
        hub_entry(source_subentry(unit="°C"), alert_subentry(high=22))
    )
    async_fire_mqtt_message(hass, "room/t", "23")
    await hass.async_block_till_done()
    entity_id = alert_entity_id(hass)
    state = hass.states.get(entity_id)
    assert state is not None and state.state == "on"
    before = await logbook_api.views(entity_id)

    source = entry.subentries[SOURCE_ID]
    assert hass.config_entries.async_update_subentry(
        entry, source, data={**source.data, "windows": [3600.0, 600.0]}
    )
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert state is not None and state.state == "on"
    async_fire_mqtt_message(hass, "room/t", "23")
    await hass.async_block_till_done()

    after = await logbook_api.views(entity_id)
    assert {view: rows[len(before[view]) :] for view, rows in after.items()} == {
        "main": [],
        "entity": [],
        "device": [],
    }


async def test_new_hub_options_write_no_line_for_an_alert(
    hass: HomeAssistant, setup_hub: SetupHub, logbook_api: Logbook
) -> None:
    """The hub takes new options while running: its alerts write nothing."""
    entry = await setup_hub(
        hub_entry(source_subentry(unit="°C"), alert_subentry(high=22))
    )
    async_fire_mqtt_message(hass, "room/t", "23")
    await hass.async_block_till_done()
    entity_id = alert_entity_id(hass)
    before = await logbook_api.views(entity_id)

    hass.config_entries.async_update_entry(
        entry,
        options={**entry.options, "logging": {"syslog_transport": "none"}},
    )
    await hass.async_block_till_done()
    async_fire_mqtt_message(hass, "room/t", "23")
    await hass.async_block_till_done()

    state = hass.states.get(entity_id)
    assert state is not None and state.state == "on"
    after = await logbook_api.views(entity_id)
    assert {view: rows[len(before[view]) :] for view, rows in after.items()} == {
        "main": [],
        "entity": [],
        "device": [],
    }
