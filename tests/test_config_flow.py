"""Config flow, options flow and sensor subentry flow: every branch."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section
from homeassistant.helpers import area_registry as ar, device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient
import voluptuous as vol

from custom_components.iotitan.const import DOMAIN, SUBENTRY_SENSOR

from .common import (
    configure_sensor,
    hub_entry,
    sensor_subentry,
    start_sensor_flow,
    subentry_id,
)

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]


def sensor_form(**overrides: Any) -> dict[str, Any]:
    """What a user submits in the sensor form, with sensible values."""
    form: dict[str, Any] = {
        "topic": "home/+/temperature",
        "unit_of_measurement": "°C",
        "device_class": "temperature",
        "windows": ["10m", "1h"],
        "statistics": ["value_max", "mean"],
        "advanced": {"percentile": 90, "precision": 1, "max_topics": 50},
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


async def test_user_flow_creates_hub(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """The user names the hub and gets an entry with default options."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "  Weather station  "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Weather station"
    assert result["data"] == {CONF_NAME: "Weather station"}
    options = result["result"].options
    assert options["update_interval"] == 10
    assert options["logging"]["log_topics"] == ["#"]
    assert options["logging"]["syslog_transport"] == "none"
    assert options["journal"]["retention"] == "7d"
    assert options["output"]["prefix"] == "iotitan"


async def test_user_flow_empty_name(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """A blank name is a field error, and the user can correct it."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "   "}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_NAME: "name_required"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Hub"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_flow_duplicate_name(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """Hub names are unique, ignoring case."""
    hub_entry(name="Garden").add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "garden"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_user_flow_needs_mqtt(hass: HomeAssistant) -> None:
    """Without an MQTT entry, the flow says to set up MQTT first."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "mqtt_not_configured"


async def test_reconfigure_renames_hub(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Reconfigure renames; blank and taken names are field errors."""
    hub_entry(name="Other").add_to_hass(hass)
    entry = await setup_hub(hub_entry(name="Main"))
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: ""}
    )
    assert result["errors"] == {CONF_NAME: "name_required"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "other"}
    )
    assert result["errors"] == {CONF_NAME: "name_in_use"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Main house"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.title == "Main house"
    assert entry.data[CONF_NAME] == "Main house"


def options_form(**sections: Any) -> dict[str, Any]:
    """A complete options form, with some section fields overridden."""
    form: dict[str, Any] = {
        "update_interval": 30,
        "logging": {
            "log_topics": ["sensors/#", " "],
            "syslog_transport": "udp",
            "syslog_host": "syslog.lan",
            "syslog_port": 5514.0,
            "syslog_format": "rfc5424",
            "syslog_facility": "local3",
            "syslog_app_name": "iotitan",
            "max_payload_bytes": 4096.0,
            "max_record_bytes": 8096.0,
            "spool_size": 1000.0,
        },
        "journal": {"retention": "2d", "max_file_mb": 4.0, "flush_interval": 0.5},
        "output": {
            "enabled": True,
            "prefix": "house",
            "publish_interval": 30,
            "qos": 1.0,
            "retain": True,
            "legacy_topics": False,
        },
    }
    for name, fields in sections.items():
        form[name] = {**form[name], **fields} if isinstance(fields, dict) else fields
    return form


async def test_options_flow(hass: HomeAssistant, setup_hub: SetupHub) -> None:
    """Options are stored in sections, numbers as integers; the hub reloads."""
    entry = await setup_hub(hub_entry())
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], options_form()
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options["update_interval"] == 30
    assert entry.options["logging"]["log_topics"] == ["sensors/#"]
    assert entry.options["logging"]["syslog_port"] == 5514
    assert entry.options["logging"]["max_record_bytes"] == 8096
    assert entry.options["output"]["qos"] == 1
    hub = entry.runtime_data
    assert hub.update_interval.total_seconds() == 30
    assert hub.message_log.target.describe() == "udp://syslog.lan:5514"
    assert hub.message_log.syslog.formatter.max_record == 8096
    assert hub.message_log.syslog.formatter.max_payload == 4096
    # the journal keeps payloads whole, whatever the syslog limits are
    assert hub.message_log.journal.formatter.max_payload == 1024 * 1024
    assert hub.message_log.journal.formatter.max_record is None
    assert hub.options.journal.retention == 2 * 86400
    assert hub.options.journal.max_file_bytes == 4 * 1024 * 1024
    assert hub.options.output.prefix == "house"


@pytest.mark.parametrize(
    ("advanced", "error"),
    [
        ({"percentile": 0}, "percentile_range"),
        ({"percentile": 100}, "percentile_range"),
        ({"precision": 7}, "precision_range"),
        ({"max_samples": 0}, "max_samples_range"),
        ({"max_topics": 1_000_000_000}, "max_topics_range"),
    ],
)
async def test_sensor_numbers_out_of_range_are_shown_on_the_open_section(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    advanced: dict[str, Any],
    error: str,
) -> None:
    """Each number has its own message, above the Advanced section, opened."""
    entry = await setup_hub(hub_entry())
    result = await start_sensor_flow(hass, entry)
    form = sensor_form()
    form["advanced"] = {**form["advanced"], **advanced}
    result = await configure_sensor(hass, result["flow_id"], form)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"advanced": error}
    assert expanded_sections(result["data_schema"]) == {"advanced"}


def expanded_sections(schema: vol.Schema) -> set[str]:
    """Names of the form's sections that open when the form is shown."""
    return {
        str(marker)
        for marker, validator in schema.schema.items()
        if isinstance(validator, section) and not validator.options["collapsed"]
    }


@pytest.mark.parametrize(
    ("sections", "errors"),
    [
        ({"logging": {"log_topics": ["a/#/b"]}}, {"logging": "invalid_topic"}),
        ({"logging": {"syslog_host": " "}}, {"logging": "host_required"}),
        (
            {"logging": {"syslog_transport": "unix", "syslog_path": ""}},
            {"logging": "path_required"},
        ),
        (
            {
                "logging": {
                    "syslog_transport": "tls",
                    "syslog_ca_file": "/nonexistent.pem",
                }
            },
            {"logging": "ca_file_not_found"},
        ),
        ({"journal": {"retention": "forever"}}, {"journal": "invalid_duration"}),
        ({"journal": {"retention": "banana"}}, {"journal": "invalid_duration"}),
        ({"output": {"prefix": "a/+/b"}}, {"output": "invalid_prefix"}),
        ({"output": {"prefix": "a/#"}}, {"output": "invalid_prefix"}),
        ({"output": {"prefix": "$SYS"}}, {"output": "invalid_prefix"}),
        ({"update_interval": 0}, {"update_interval": "update_interval_range"}),
        ({"journal": {"max_file_mb": 4096}}, {"journal": "max_file_mb_range"}),
        (
            {"logging": {"syslog_port": 70000}},
            {"logging": "syslog_port_range"},
        ),
        (
            {"logging": {"max_record_bytes": 479.0}},
            {"logging": "max_record_bytes_range"},
        ),
        (
            {"logging": {"max_record_bytes": 65537.0}},
            {"logging": "max_record_bytes_range"},
        ),
        (
            {"logging": {"max_record_bytes": 2048.5}},
            {"logging": "max_record_bytes_range"},
        ),
    ],
)
async def test_options_flow_errors(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    sections: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Invalid options are shown where the frontend can show them; nothing is saved.

    The 2026.2 frontend draws no error on a field inside a section, but shows
    one keyed by the section above it: the error is there, and the section open.
    """
    entry = await setup_hub(hub_entry())
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], options_form(**sections)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert expanded_sections(result["data_schema"]) == set(errors) - {"update_interval"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], options_form()
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_options_flow_shows_stored_values(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """The form is pre-filled with stored options over the defaults."""
    entry = hub_entry()
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, options={"update_interval": 20, "output": {"prefix": "x"}}
    )
    await setup_hub(entry)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    schema = result["data_schema"].schema
    assert suggested_values(schema)["update_interval"] == 20
    output = next(value for key, value in schema.items() if key == "output")
    suggested = suggested_values(output.schema.schema)
    assert suggested["prefix"] == "x"
    assert suggested["publish_interval"] == 60  # default kept


async def test_sensor_subentry_created_with_canonical_data(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Durations are stored in seconds, statistics in display order; the form's
    value path, unit and device class are the one reading, of key ""."""
    entry = await setup_hub(hub_entry())
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_SENSOR), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert result["menu_options"] == ["discovered", "topic"]
    result = await configure_sensor(hass, result["flow_id"], {"next_step_id": "topic"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "topic"

    result = await configure_sensor(
        hass,
        result["flow_id"],
        sensor_form(value_path=" DS18B20.Temperature ", time_path=" Time "),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "home/+/temperature"
    await hass.async_block_till_done()
    subentry = entry.subentries[subentry_id(entry)]
    assert subentry.data == {
        "topic": "home/+/temperature",
        "readings": [
            {
                "key": "",
                "value_path": "DS18B20.Temperature",
                "name": "",
                "unit_of_measurement": "°C",
                "device_class": "temperature",
                "precision": None,
                "windows": None,
                "statistics": None,
                "diagnostic": False,
            }
        ],
        "time_path": "Time",
        # Not asked for, with a unit and device class: off.
        "words_as_numbers": False,
        "windows": [600.0, 3600.0],
        "statistics": ["mean", "value_max"],
        "advanced": {
            "percentile": 90,
            "precision": 1,
            "max_samples": None,
            "max_topics": 50,
        },
        # Not given: devices are named by the levels the wildcard matched.
        "device": {"name_template": "", "area_level": None},
    }
    # The hub reloaded and now has the source.
    assert subentry_id(entry) in entry.runtime_data.sources


@pytest.mark.parametrize(
    ("device", "error"),
    [
        ({"name_template": "{3} climate"}, "name_template_beyond_filter"),
        ({"name_template": "{room}"}, "name_template_unknown"),
        ({"name_template": "{2"}, "name_template_unbalanced"),
        ({"area_level": 3}, "area_level_beyond_filter"),
        ({"area_level": 0}, "area_level_range"),
    ],
)
async def test_device_name_errors_are_shown_on_the_open_section(
    hass: HomeAssistant, setup_hub: SetupHub, device: dict[str, Any], error: str
) -> None:
    """A template or area level the filter cannot fill is refused, visibly."""
    entry = await setup_hub(hub_entry())
    result = await start_sensor_flow(hass, entry)
    result = await configure_sensor(
        hass, result["flow_id"], {**sensor_form(topic="home/+"), "device": device}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"device": error}
    assert expanded_sections(result["data_schema"]) == {"device"}
    # The help text's template examples are placeholders, not ICU syntax.
    assert result["description_placeholders"]["template_example"] == "{2} climate"


async def test_devices_are_named_by_template_and_put_in_an_area(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """A template names the devices; a level suggests the area of new ones."""
    entry = await setup_hub(hub_entry())
    result = await start_sensor_flow(hass, entry)
    result = await configure_sensor(
        hass,
        result["flow_id"],
        {
            **sensor_form(topic="home/+/temperature"),
            "device": {"name_template": " {2} thermometer ", "area_level": 2},
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.subentries[subentry_id(entry)].data["device"] == {
        "name_template": "{2} thermometer",
        "area_level": 2,
    }
    async_fire_mqtt_message(hass, "home/living_room/temperature", "21")
    await hass.async_block_till_done()
    device = dr.async_get(hass).async_get_device(
        identifiers={(DOMAIN, f"{subentry_id(entry)}/home/living_room/temperature")}
    )
    assert device is not None
    assert device.name == "Living room thermometer"
    assert device.model == "home/living_room/temperature"
    area = ar.async_get(hass).async_get_area(device.area_id or "")
    assert area is not None and area.name == "Living room"


async def test_sensor_subentry_named(hass: HomeAssistant, setup_hub: SetupHub) -> None:
    """A name, when given, is the subentry's title."""
    entry = await setup_hub(hub_entry())
    result = await start_sensor_flow(hass, entry)
    result = await configure_sensor(
        hass,
        result["flow_id"],
        sensor_form(
            name="Room temperatures",
            advanced={
                "percentile": 95,
                "precision": 2,
                "max_topics": 5,
                "max_samples": 100,
            },
        ),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Room temperatures"
    assert result["data"]["advanced"]["max_samples"] == 100


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"topic": "home/#/temperature"}, {"topic": "invalid_topic"}),
        ({"topic": "home/te+mp"}, {"topic": "invalid_topic"}),
        ({"topic": ""}, {"topic": "invalid_topic"}),
        ({"value_path": "a..b"}, {"value_path": "invalid_value_path"}),
        ({"time_path": "Time..x"}, {"time_path": "invalid_value_path"}),
        ({"windows": ["soon"]}, {"windows": "invalid_window"}),
        ({"windows": ["-5m"]}, {"windows": "window_not_positive"}),
        ({"windows": ["0s"]}, {"windows": "window_not_positive"}),
        ({"windows": ["400d"]}, {"windows": "window_too_long"}),
        ({"windows": []}, {"windows": "windows_required"}),
        ({"statistics": []}, {"statistics": "statistics_required"}),
        (
            {"unit_of_measurement": "kg", "device_class": "temperature"},
            {"unit_of_measurement": "unit_invalid_for_device_class"},
        ),
        (
            {"unit_of_measurement": "", "device_class": "temperature"},
            {"unit_of_measurement": "unit_invalid_for_device_class"},
        ),
    ],
)
async def test_sensor_subentry_field_errors(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    overrides: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Bad input is shown on its field, and the form can then be corrected."""
    entry = await setup_hub(hub_entry())
    result = await start_sensor_flow(hass, entry)
    result = await configure_sensor(hass, result["flow_id"], sensor_form(**overrides))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    result = await configure_sensor(hass, result["flow_id"], sensor_form())
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_sensor_subentry_topic_in_use(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Two sources of one hub cannot share a topic filter."""
    entry = await setup_hub(hub_entry(sensor_subentry("home/+/temperature")))
    result = await start_sensor_flow(hass, entry)
    result = await configure_sensor(
        hass, result["flow_id"], sensor_form(topic="home/+/temperature")
    )
    assert result["errors"] == {"topic": "topic_in_use"}


@pytest.mark.parametrize(
    ("overrides", "stored"),
    [
        # Left unset: off for a measurement (unit or device class), on otherwise.
        ({}, False),
        ({"device_class": None, "unit_of_measurement": "°C"}, False),
        ({"device_class": None, "unit_of_measurement": ""}, True),
        # Asked for: as asked, whatever the unit.
        ({"words_as_numbers": True}, True),
        (
            {
                "words_as_numbers": False,
                "device_class": None,
                "unit_of_measurement": "",
            },
            False,
        ),
    ],
)
async def test_sensor_subentry_words_as_numbers(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    overrides: dict[str, Any],
    stored: bool,
) -> None:
    """The form's "Read on/off words as 1/0" is stored explicitly, per source."""
    entry = await setup_hub(hub_entry())
    result = await start_sensor_flow(hass, entry)
    assert "words_as_numbers" in {str(key) for key in result["data_schema"].schema}
    form = sensor_form(**overrides)
    form = {key: value for key, value in form.items() if value is not None}
    result = await configure_sensor(hass, result["flow_id"], form)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    sub = subentry_id(entry)
    assert entry.subentries[sub].data["words_as_numbers"] is stored
    assert entry.runtime_data.sources[sub].parser.words_as_numbers is stored

    # Reconfigure shows the stored choice and keeps it unless changed.
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_SENSOR),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": sub},
    )
    assert suggested_values(result["data_schema"].schema)["words_as_numbers"] is stored
    result = await configure_sensor(
        hass, result["flow_id"], {**form, "words_as_numbers": not stored}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.subentries[sub].data["words_as_numbers"] is (not stored)


async def test_sensor_subentry_reconfigure(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """Reconfigure shows the stored values and saves the changes."""
    entry = await setup_hub(
        hub_entry(
            sensor_subentry("a/+/t", value_path="x.y", max_samples=10),
            sensor_subentry("b/+/t", unit=None, device_class=None),
        )
    )
    first = subentry_id(entry, 0)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_SENSOR),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": first},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    schema = result["data_schema"].schema
    suggested = suggested_values(schema)
    assert suggested["topic"] == "a/+/t"
    assert suggested["value_path"] == "x.y"
    assert suggested["windows"] == ["1h"]
    advanced = next(value for key, value in schema.items() if key == "advanced")
    assert suggested_values(advanced.schema.schema)["max_samples"] == 10

    # Taking the other source's topic is refused; keeping its own is fine.
    result = await configure_sensor(hass, result["flow_id"], sensor_form(topic="b/+/t"))
    assert result["errors"] == {"topic": "topic_in_use"}
    result = await configure_sensor(
        hass, result["flow_id"], sensor_form(topic="a/+/t", windows=["1d"], name="A")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    subentry = entry.subentries[first]
    assert subentry.title == "A"
    assert subentry.data["windows"] == [86400.0]
    assert entry.runtime_data.sources[first].config.windows == (86400.0,)


@pytest.mark.parametrize(
    ("topic", "matches"),
    [
        ("#", "Home Assistant's MQTT discovery and status topics"),
        ("+/status", "Home Assistant's MQTT discovery and status topics"),
        ("$SYS/#", "the broker's own statistics ($SYS topics)"),
    ],
)
async def test_catch_all_filters_are_confirmed_first(
    hass: HomeAssistant, setup_hub: SetupHub, topic: str, matches: str
) -> None:
    """A filter that also matches non-sensor topics says so before it is saved."""
    entry = await setup_hub(hub_entry())
    result = await start_sensor_flow(hass, entry)
    result = await configure_sensor(hass, result["flow_id"], sensor_form(topic=topic))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm_filter"
    assert result["description_placeholders"] == {"topic": topic, "matches": matches}
    assert not [
        s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_SENSOR
    ]
    result = await configure_sensor(hass, result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["topic"] == topic


async def test_a_sensor_filter_is_saved_without_a_question(
    hass: HomeAssistant, setup_hub: SetupHub
) -> None:
    """The common case asks nothing more: home/+/temperature matches no such topic."""
    entry = await setup_hub(hub_entry())
    result = await start_sensor_flow(hass, entry)
    result = await configure_sensor(
        hass, result["flow_id"], sensor_form(topic="home/+/temperature")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("topic", "prefix", "error"),
    [
        ("iotitan/stats/#", None, "own_output"),
        ("iotitan/alerts/home/+/temperature/high", None, "own_output"),
        ("house/stats/#", "house", "own_output"),
        ("iotitan/home/+/temperature", None, None),  # the demo: not output
        ("iotitan/+/kitchen", None, None),  # overlaps, but not only output
    ],
)
async def test_the_hubs_own_output_is_refused_as_a_source(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    topic: str,
    prefix: str | None,
    error: str | None,
) -> None:
    """IoTitan never reads its own output back; a source on it would do nothing."""
    entry = hub_entry()
    if prefix is not None:
        entry.add_to_hass(hass)
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, "output": {"prefix": prefix}}
        )
    entry = await setup_hub(entry)
    result = await start_sensor_flow(hass, entry)
    result = await configure_sensor(hass, result["flow_id"], sensor_form(topic=topic))
    if error is None:
        assert result["type"] is FlowResultType.CREATE_ENTRY
    else:
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"topic": error}


@pytest.mark.parametrize(
    ("discovery_prefix", "confirmed"),
    [(None, "homeassistant/#"), ("ha", "ha/#")],
)
async def test_the_mqtt_discovery_prefix_in_use_is_the_one_checked(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    discovery_prefix: str | None,
    confirmed: str,
) -> None:
    """The MQTT entry's own discovery prefix; its default when it names none."""
    (mqtt_entry,) = hass.config_entries.async_entries("mqtt")
    data = {k: v for k, v in mqtt_entry.data.items() if k != "discovery_prefix"}
    options = {k: v for k, v in mqtt_entry.options.items() if k != "discovery_prefix"}
    if discovery_prefix is not None:
        options["discovery_prefix"] = discovery_prefix
    hass.config_entries.async_update_entry(mqtt_entry, data=data, options=options)
    entry = await setup_hub(hub_entry())
    for topic, step in ((confirmed, "confirm_filter"), ("other/#", None)):
        result = await start_sensor_flow(hass, entry)
        result = await configure_sensor(
            hass, result["flow_id"], sensor_form(topic=topic)
        )
        assert result.get("step_id") == step, topic
