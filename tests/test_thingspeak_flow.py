"""The ThingSpeak channel subentry flow and the reauthentication flow: every branch.

The test row goes over real HTTP to the fake ThingSpeak on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntryState,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult, FlowResultType
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iotitan.channel_helpers import FieldTopic, field_topics
from custom_components.iotitan.const import SUBENTRY_CHANNEL
from custom_components.iotitan.device import topic_device_identifier
from custom_components.iotitan.engine.output import is_wildcard
from custom_components.iotitan.engine.window import Statistic
from custom_components.iotitan.models import (
    FieldSource,
    parse_channel_id,
    valid_base_url,
    valid_write_key,
)

from .common import (
    CHANNEL_ID,
    WRITE_KEY,
    channel_subentry,
    hub_entry,
    sensor_subentry,
    submit_channel_fields,
)
from .fake_thingspeak import FakeThingSpeak

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]

SOURCE_ID = "01SOURCE0000000000000000AA"
TOPIC = "weather/temperature"
MEAN = FieldSource(SOURCE_ID, TOPIC, 3600.0, Statistic.MEAN)
MAX = FieldSource(SOURCE_ID, TOPIC, 3600.0, Statistic.VALUE_MAX)


def source(topic: str = TOPIC, **kwargs: Any) -> dict[str, Any]:
    """The hub's sensor source, with a fixed id."""
    kwargs.setdefault("statistics", ["mean", "value_max", "percentile"])
    return {**sensor_subentry(topic, **kwargs), "subentry_id": SOURCE_ID}


def settings_form(
    fake: FakeThingSpeak | None = None, **overrides: Any
) -> dict[str, Any]:
    """What a user submits on the channel settings step."""
    form: dict[str, Any] = {
        "channel_id": f" {CHANNEL_ID} ",
        "write_api_key": f" {WRITE_KEY} ",
        "plan": "free",
        "upload_interval": 300,
        "send_test_row": False,
        "advanced": {
            "base_url": f"{fake.url}/" if fake else "https://api.thingspeak.com",
            "max_rows": 5000,
        },
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


async def start_flow(hass: HomeAssistant, entry: MockConfigEntry) -> FlowResult:
    """Open the add-channel flow of a hub."""
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CHANNEL), context={"source": SOURCE_USER}
    )


async def configure(
    hass: HomeAssistant, result: FlowResult, user_input: dict[str, Any]
) -> FlowResult:
    """Submit a step of a subentry flow."""
    return await hass.config_entries.subentries.async_configure(
        result["flow_id"], user_input
    )


def select_options(result: FlowResult, field: str) -> list[Any]:
    """The options of a select field of a form."""
    schema = result["data_schema"].schema
    return list(next(v for k, v in schema.items() if k == field).config["options"])


def channel_ids(entry: MockConfigEntry) -> list[str]:
    """Ids of the hub's channel subentries."""
    return [
        subentry_id
        for subentry_id, subentry in entry.subentries.items()
        if subentry.subentry_type == SUBENTRY_CHANNEL
    ]


# -- adding a channel ----------------------------------------------------------------


async def test_add_channel_with_a_test_row(
    hass: HomeAssistant, setup_hub: SetupHub, fake_thingspeak: FakeThingSpeak
) -> None:
    """Settings, a test row that ThingSpeak takes, then the field mapping."""
    entry = await setup_hub(hub_entry(source()))
    result = await start_flow(hass, entry)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    suggested = suggested_values(result["data_schema"].schema)
    assert suggested["plan"] == "free"
    assert suggested["upload_interval"] == 300
    assert suggested["send_test_row"] is True

    result = await configure(
        hass,
        result,
        settings_form(
            fake_thingspeak,
            name="  Weather  ",
            send_test_row=True,
            latitude=-34.93,
            longitude=138.6,
        ),
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "fields"
    [test_row] = fake_thingspeak.stored(CHANNEL_ID)
    assert test_row.values == {"status": "IoTitan test row"}

    # First the topic of each field...
    assert select_options(result, "field1") == [
        {"value": f"{SOURCE_ID}|{TOPIC}", "label": TOPIC}
    ]
    result = await configure(
        hass,
        result,
        {"field1": MEAN.topic_choice, "field3": MAX.topic_choice, "send_status": True},
    )
    # ... then its statistic, in the words of the entities' names.
    assert result["step_id"] == "statistics"
    assert [str(key) for key in result["data_schema"].schema] == ["field1", "field3"]
    assert result["description_placeholders"] == {
        "fields": f"- 1: {TOPIC}\n- 3: {TOPIC}"
    }
    assert select_options(result, "field1") == [
        {"value": "3600.0|mean", "label": "Mean 1h"},
        {"value": "3600.0|value_max", "label": "Maximum 1h"},
        {"value": "3600.0|percentile", "label": "95th percentile 1h"},
    ]
    result = await configure(
        hass,
        result,
        {"field1": MEAN.statistic_choice, "field3": MAX.statistic_choice},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Weather"
    await hass.async_block_till_done()
    [channel_id] = channel_ids(entry)
    assert entry.subentries[channel_id].data == {
        "channel_id": CHANNEL_ID,
        "write_api_key": WRITE_KEY,
        "plan": "free",
        "upload_interval": 300,
        "latitude": -34.93,
        "longitude": 138.6,
        "fields": {
            "1": {
                "source": SOURCE_ID,
                "reading": "",
                "topic": TOPIC,
                "window": 3600.0,
                "statistic": "mean",
            },
            "3": {
                "source": SOURCE_ID,
                "reading": "",
                "topic": TOPIC,
                "window": 3600.0,
                "statistic": "value_max",
            },
        },
        "send_status": True,
        "advanced": {"base_url": fake_thingspeak.url, "max_rows": 5000},
    }
    # The hub reloaded with the channel running.
    assert entry.state is ConfigEntryState.LOADED
    assert channel_id in entry.runtime_data.channels


async def test_add_channel_default_title_without_test_row(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Without a name the title is the channel id; no test row, no HTTP."""
    entry = await setup_hub(hub_entry(source()))
    result = await start_flow(hass, entry)
    result = await configure(hass, result, settings_form())
    result = await submit_channel_fields(hass, result["flow_id"], {"field1": MEAN})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"ThingSpeak {CHANNEL_ID}"
    assert result["data"]["send_status"] is False
    assert result["data"]["latitude"] is None


@pytest.mark.parametrize(
    ("settings", "errors"),
    [
        ({"latitude": 91}, {"latitude": "latitude_range"}),
        ({"longitude": -180.5}, {"longitude": "longitude_range"}),
        ({"upload_interval": 0}, {"upload_interval": "upload_interval_range"}),
        (
            {"advanced": {"base_url": "http://127.0.0.1:1", "max_rows": 0}},
            {"advanced": "max_rows_range"},
        ),
    ],
)
async def test_numbers_out_of_range_get_their_own_message(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    settings: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """A message of IoTitan's own, not the schema validator's generic text."""
    entry = await setup_hub(hub_entry(source()))
    result = await start_flow(hass, entry)
    result = await configure(hass, result, settings_form(**settings))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors


async def test_settings_are_validated(hass: HomeAssistant, setup_hub: SetupHub) -> None:
    """Channel id, key shape, interval against the plan, and the base URL."""
    entry = await setup_hub(hub_entry(source()))
    result = await start_flow(hass, entry)
    result = await configure(
        hass,
        result,
        settings_form(
            channel_id="12a",
            write_api_key="lowercasekey1234",
            upload_interval=10,
            advanced={"base_url": "ftp://example.com", "max_rows": 5000},
        ),
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {
        "channel_id": "invalid_channel_id",
        "write_api_key": "invalid_write_key",
        "upload_interval": "interval_too_short",
        # Shown above the Advanced section, which opens (the 2026.2 frontend
        # shows no error on a field inside a section).
        "advanced": "invalid_url",
    }
    advanced = next(
        value
        for key, value in result["data_schema"].schema.items()
        if key == "advanced"
    )
    assert advanced.options["collapsed"] is False
    # The form keeps what the user typed.
    assert suggested_values(result["data_schema"].schema)["channel_id"] == "12a"

    # A paid plan allows a 10 s interval.
    result = await configure(
        hass, result, settings_form(plan="paid", upload_interval=10)
    )
    assert result["step_id"] == "fields"


@pytest.mark.parametrize(
    ("channel_id", "error"),
    [
        ("0", "invalid_channel_id"),
        ("-5", "invalid_channel_id"),
        ("", "invalid_channel_id"),
    ],
)
async def test_channel_id_must_be_positive(
    hass: HomeAssistant, setup_hub: SetupHub, channel_id: str, error: str
) -> None:
    """Zero, negative and empty ids are refused."""
    entry = await setup_hub(hub_entry(source()))
    result = await start_flow(hass, entry)
    result = await configure(hass, result, settings_form(channel_id=channel_id))
    assert result["errors"] == {"channel_id": error}


async def test_same_channel_twice_is_refused(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """A hub sends to a channel once; the same id on another server is another channel."""
    entry = await setup_hub(
        hub_entry(
            source(),
            channel_subentry(
                {
                    "1": {
                        "source": SOURCE_ID,
                        "topic": TOPIC,
                        "window": 3600.0,
                        "statistic": "mean",
                    }
                }
            ),
        )
    )
    result = await start_flow(hass, entry)
    result = await configure(
        hass,
        result,
        settings_form(
            advanced={"base_url": "https://api.thingspeak.com/", "max_rows": 5000}
        ),
    )
    assert result["errors"] == {"channel_id": "channel_in_use"}
    result = await configure(
        hass,
        result,
        settings_form(
            advanced={"base_url": "http://thingspeak.lan:3000", "max_rows": 5000}
        ),
    )
    assert result["step_id"] == "fields"


@pytest.mark.parametrize(
    ("setup", "overrides", "errors"),
    [
        ("wrong_key", {}, {"write_api_key": "invalid_auth"}),
        (
            "unknown_channel",
            {"channel_id": "4242"},
            {"channel_id": "channel_not_found"},
        ),
        ("quota", {}, {"base": "quota_exceeded"}),
        ("bad_request", {}, {"base": "test_row_refused"}),
        ("too_fast", {}, {"base": "rate_limited"}),
        ("server_error", {}, {"base": "cannot_connect"}),
        ("unreachable", {}, {"base": "cannot_connect"}),
    ],
)
async def test_test_row_errors(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    fake_thingspeak: FakeThingSpeak,
    setup: str,
    overrides: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """What ThingSpeak answers to the test row shows on the form."""
    entry = await setup_hub(hub_entry(source()))
    base_url = fake_thingspeak.url
    if setup == "wrong_key":
        overrides["write_api_key"] = "OTHERKEY00000000"
    elif setup == "quota":
        fake_thingspeak.channel(CHANNEL_ID).quota = 0
    elif setup == "bad_request":
        fake_thingspeak.inject("error", status=400)
    elif setup == "too_fast":
        fake_thingspeak.inject("error", status=429)
    elif setup == "server_error":
        fake_thingspeak.inject("error", status=503)
    elif setup == "unreachable":
        await fake_thingspeak.close()  # nothing listens there any more
    result = await start_flow(hass, entry)
    result = await configure(
        hass,
        result,
        settings_form(
            send_test_row=True,
            advanced={"base_url": base_url, "max_rows": 5000},
            **overrides,
        ),
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == errors


async def test_fields_step_needs_a_field(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """At least one field must carry a statistic."""
    entry = await setup_hub(hub_entry(source()))
    result = await start_flow(hass, entry)
    result = await configure(hass, result, settings_form())
    result = await configure(hass, result, {"send_status": True})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "fields"
    assert result["errors"] == {"base": "fields_required"}
    result = await submit_channel_fields(
        hass, result["flow_id"], {"field8": MAX, "send_status": False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert list(result["data"]["fields"]) == ["8"]


async def test_without_statistics_the_flow_aborts(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """No sensor source, or a wildcard one that has seen no topic yet."""
    entry = await setup_hub(hub_entry())
    result = await start_flow(hass, entry)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_statistics"

    wildcard = await setup_hub(hub_entry(source("home/+/temperature"), name="Other"))
    result = await start_flow(hass, wildcard)
    assert result["reason"] == "no_statistics"


async def test_wildcard_sources_offer_the_topics_seen(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Topics come from the device registry, also while the hub is not loaded."""
    entry = hub_entry(source("home/+/temperature", statistics=["mean"]))
    entry.add_to_hass(hass)
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        config_subentry_id=SOURCE_ID,
        identifiers={topic_device_identifier(SOURCE_ID, "home/den/temperature")},
    )
    assert field_topics(hass, entry) == {
        f"{SOURCE_ID}|home/den/temperature": FieldTopic(
            SOURCE_ID, "", "home/den/temperature", "home/den/temperature"
        )
    }
    # Loaded, topics the hub has seen since count too.
    await setup_hub(entry)
    entry.runtime_data.sources[SOURCE_ID].topic_state("home/attic/temperature")
    assert list(field_topics(hass, entry)) == [
        f"{SOURCE_ID}|home/attic/temperature",
        f"{SOURCE_ID}|home/den/temperature",
    ]


# -- reconfiguring a channel ------------------------------------------------------------------


async def test_reconfigure_channel(
    hass: HomeAssistant, setup_hub: SetupHub, fake_thingspeak: FakeThingSpeak
) -> None:
    """Reconfigure shows the stored settings and mapping, and saves the changes."""
    entry = await setup_hub(
        hub_entry(
            source(),
            channel_subentry(
                {"2": MAX.to_data()},
                base_url=fake_thingspeak.url,
                latitude=1.5,
                send_status=True,
                title="Weather",
            ),
            channel_subentry({"1": MEAN.to_data()}, channel_id=2002),
        )
    )
    first, second = channel_ids(entry)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CHANNEL),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": first},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    suggested = suggested_values(result["data_schema"].schema)
    assert suggested["name"] == "Weather"
    assert suggested["channel_id"] == str(CHANNEL_ID)
    assert suggested["latitude"] == 1.5
    assert "longitude" not in suggested
    assert suggested["send_test_row"] is False

    # Another channel's id is refused; its own is fine.
    result = await configure(
        hass,
        result,
        settings_form(
            channel_id="2002",
            advanced={"base_url": "https://api.thingspeak.com", "max_rows": 5000},
        ),
    )
    assert result["errors"] == {"channel_id": "channel_in_use"}
    result = await configure(
        hass,
        result,
        settings_form(
            fake_thingspeak,
            name="Weather station",
            plan="paid",
            upload_interval=60,
            send_test_row=True,
        ),
    )
    assert result["step_id"] == "fields"
    suggested = suggested_values(result["data_schema"].schema)
    assert suggested == {"field2": MAX.topic_choice, "send_status": True}
    result = await configure(
        hass, result, {"field1": MEAN.topic_choice, "send_status": False}
    )
    assert result["step_id"] == "statistics"
    # A field newly chosen starts at the source's first statistic.
    assert suggested_values(result["data_schema"].schema) == {
        "field1": MEAN.statistic_choice
    }
    result = await configure(hass, result, {"field1": MEAN.statistic_choice})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()

    subentry = entry.subentries[first]
    assert subentry.title == "Weather station"
    assert subentry.data["plan"] == "paid"
    assert subentry.data["upload_interval"] == 60
    assert subentry.data["latitude"] is None
    assert list(subentry.data["fields"]) == ["1"]
    assert entry.subentries[second].data["channel_id"] == 2002
    assert entry.runtime_data.channels[first].settings.upload_interval == 60


async def test_reconfigure_without_statistics_aborts(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """A channel whose sources are all gone cannot be remapped."""
    entry = await setup_hub(hub_entry(channel_subentry({"1": MEAN.to_data()})))
    [channel_id] = channel_ids(entry)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CHANNEL),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": channel_id},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_statistics"


# -- reauthentication --------------------------------------------------------------------------


async def test_reauth_validates_and_saves_the_key(
    hass: HomeAssistant, fake_thingspeak: FakeThingSpeak, mqtt_mock: Any
) -> None:
    """Key shape, then the test row; the key is saved even if the hub is not loaded."""
    entry = hub_entry(
        source(),
        channel_subentry(
            {"1": MEAN.to_data()},
            write_key="OLDKEY0000000000",
            base_url=fake_thingspeak.url,
        ),
    )
    entry.add_to_hass(hass)
    [channel_id] = channel_ids(entry)
    result = await entry.start_reauth_flow(hass, data={"subentry_id": channel_id})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"]["channel_id"] == str(CHANNEL_ID)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"write_api_key": "short", "send_test_row": True}
    )
    assert result["errors"] == {"write_api_key": "invalid_write_key"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"write_api_key": "OTHERKEY00000000", "send_test_row": True}
    )
    assert result["errors"] == {"write_api_key": "invalid_auth"}
    fake_thingspeak.inject("error", status=503)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"write_api_key": WRITE_KEY, "send_test_row": True}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"write_api_key": f" {WRITE_KEY}", "send_test_row": True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.subentries[channel_id].data["write_api_key"] == WRITE_KEY
    assert len(fake_thingspeak.stored(CHANNEL_ID)) == 1  # the test row


async def test_reauth_for_a_removed_channel_aborts(
    hass: HomeAssistant, mqtt_mock: Any
) -> None:
    """The channel may be gone by the time the user opens the flow."""
    entry = hub_entry(source())
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass, data={"subentry_id": "gone"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "channel_removed"
    # A sensor subentry is not a channel either.
    result = await entry.start_reauth_flow(hass, data={"subentry_id": SOURCE_ID})
    assert result["reason"] == "channel_removed"


# -- helpers ------------------------------------------------------------------------------------


def test_field_choices_round_trip() -> None:
    """A topic may hold `|`: choices are looked up, never split."""
    choice = FieldSource("01ID", "a|b/c", 5400.5, Statistic.MEDIAN)
    assert FieldSource.from_data(choice.to_data()) == choice
    assert choice.topic_choice == "01ID|a|b/c"
    assert choice.statistic_choice == "5400.5|median"


def test_validators() -> None:
    """Key shape, channel ids, URLs and wildcards."""
    assert valid_write_key("ABCDEFGHIJ123456")
    assert not valid_write_key("ABCDEFGHIJ12345")
    assert not valid_write_key("abcdefghij123456")
    assert parse_channel_id(" 42 ") == 42
    assert parse_channel_id("٤٢") is None  # other scripts' digits
    assert valid_base_url("https://api.thingspeak.com")
    assert valid_base_url("http://127.0.0.1:8080/ts")
    assert not valid_base_url("https://")
    assert not valid_base_url("https://x.org/?a=1")
    assert not valid_base_url("https://x.org/#top")
    assert not valid_base_url("http://[::1")
    assert is_wildcard("a/+/c")
    assert is_wildcard("a/#")
    assert not is_wildcard("a/b+c")
