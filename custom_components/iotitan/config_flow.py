"""Config flow for IoTitan: the hub, its options, and its sensor subentries."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
import os
from typing import Any, Final

from homeassistant.components import mqtt
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.components.sensor.const import (
    DEVICE_CLASS_STATE_CLASSES,
    DEVICE_CLASS_UNITS,
)
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_LATITUDE, CONF_LONGITUDE, CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.translation import async_get_translations
import voluptuous as vol

from .channel_helpers import (
    FieldTopic,
    async_send_test_row,
    async_update_write_key,
    channel_in_use,
    field_topics,
)
from .const import (
    CONF_ADVANCED,
    CONF_AREA_LEVEL,
    CONF_BASE_URL,
    CONF_CHANNEL_ID,
    CONF_DEADBAND,
    CONF_DEVICE,
    CONF_DEVICE_CLASS,
    CONF_DIAGNOSTIC,
    CONF_HIGH,
    CONF_JOURNAL,
    CONF_JOURNAL_FILE_MB,
    CONF_JOURNAL_FLUSH_INTERVAL,
    CONF_JOURNAL_RETENTION,
    CONF_LOG_TOPICS,
    CONF_LOGGING,
    CONF_LOW,
    CONF_MAX_PAYLOAD_BYTES,
    CONF_MAX_RECORD_BYTES,
    CONF_MAX_ROWS,
    CONF_MAX_SAMPLES,
    CONF_MAX_TOPICS,
    CONF_NAME_TEMPLATE,
    CONF_OFF_DELAY,
    CONF_ON_DELAY,
    CONF_OUTPUT,
    CONF_OUTPUT_ENABLED,
    CONF_OUTPUT_INTERVAL,
    CONF_OUTPUT_LEGACY,
    CONF_OUTPUT_PREFIX,
    CONF_OUTPUT_QOS,
    CONF_OUTPUT_RETAIN,
    CONF_PERCENTILE,
    CONF_PLAN,
    CONF_PRECISION,
    CONF_RATE_LIMIT,
    CONF_READINGS,
    CONF_RULE,
    CONF_SEND_STATUS,
    CONF_SEND_TEST_ROW,
    CONF_SEVERITY,
    CONF_SOURCE,
    CONF_SPOOL_SIZE,
    CONF_STALE_AFTER,
    CONF_STATISTICS,
    CONF_SUBENTRY_ID,
    CONF_SYSLOG_APP_NAME,
    CONF_SYSLOG_CA_FILE,
    CONF_SYSLOG_FACILITY,
    CONF_SYSLOG_FORMAT,
    CONF_SYSLOG_HOST,
    CONF_SYSLOG_HOSTNAME,
    CONF_SYSLOG_PATH,
    CONF_SYSLOG_PORT,
    CONF_SYSLOG_TRANSPORT,
    CONF_TIME_PATH,
    CONF_TOPIC,
    CONF_UNIT,
    CONF_UPDATE_INTERVAL,
    CONF_UPLOAD_INTERVAL,
    CONF_VALUE_PATH,
    CONF_WATCH,
    CONF_WINDOWS,
    CONF_WORDS_AS_NUMBERS,
    CONF_WRITE_KEY,
    CONFIG_ENTRY_MINOR_VERSION,
    CONFIG_ENTRY_VERSION,
    DEFAULT_JOURNAL_FILE_MB,
    DEFAULT_JOURNAL_FLUSH_INTERVAL,
    DEFAULT_JOURNAL_RETENTION,
    DEFAULT_LOG_TOPICS,
    DEFAULT_MAX_PAYLOAD_BYTES,
    DEFAULT_MAX_RECORD_BYTES,
    DEFAULT_OUTPUT_INTERVAL,
    DEFAULT_OUTPUT_PREFIX,
    DEFAULT_SPOOL_SIZE,
    DEFAULT_SYSLOG_APP_NAME,
    DEFAULT_SYSLOG_FACILITY,
    DEFAULT_SYSLOG_HOST,
    DEFAULT_SYSLOG_PATH,
    DEFAULT_SYSLOG_TRANSPORT,
    DEFAULT_UPDATE_INTERVAL,
    DOMAIN,
    MAX_MAX_RECORD_BYTES,
    MAX_OUTBOX_ROWS,
    MAX_UPDATE_INTERVAL,
    MAX_UPLOAD_INTERVAL,
    MIN_MAX_RECORD_BYTES,
    MIN_OUTBOX_ROWS,
    MIN_UPDATE_INTERVAL,
    STATISTICS_ORDER,
    SUBENTRY_ALERT,
    SUBENTRY_CHANNEL,
    SUBENTRY_SENSOR,
    SYSLOG_FORMAT_RFC3164,
    SYSLOG_FORMAT_RFC5424,
    WATCH_VALUE,
    WINDOW_SUGGESTIONS,
)
from .engine.alerts import AlertConfig, AlertRule, Severity
from .engine.discovery import (
    DiscoveredSensor,
    DiscoveryRefusal,
    RefusedDiscovery,
    parse_discovery_message,
)
from .engine.fields import DiscoveredField, discover_fields, field_name
from .engine.output import (
    DurationError,
    filter_covers,
    filters_overlap,
    format_duration,
    format_number,
    parse_duration,
    validate_output_prefix,
)
from .engine.syslog import Facility, Transport
from .engine.thingspeak import Plan
from .engine.topic_names import (
    MAX_LEVEL,
)
from .engine.window_statistic import WindowStatistic
from .form import number_box, range_errors, show_errors_in_sections
from .models import (
    FIELD_NUMBERS,
    MAX_READINGS,
    AlertSubentryConfig,
    ChannelSubentryConfig,
    FieldSource,
    HubOptions,
    ReadingConfig,
    SensorSourceConfig,
    field_key,
    reading_key_of,
    source_key,
    split_source_key,
    valid_write_key,
)
from .mqtt_encoding import ENCODING, payload_bytes, register as register_encoding
from .names import async_raw_value_name, async_statistic_options

DEFAULT_HUB_NAME = "IoTitan"

# Device classes whose sensors can be measurements: the only ones a
# statistic of live readings can carry.
MEASUREMENT_DEVICE_CLASSES = sorted(
    device_class.value
    for device_class in SensorDeviceClass
    if device_class in DEVICE_CLASS_UNITS
    and SensorStateClass.MEASUREMENT
    in DEVICE_CLASS_STATE_CLASSES.get(device_class, set())
)

SYSLOG_FACILITIES = [facility.name.lower() for facility in Facility]

HUB_SCHEMA = vol.Schema({vol.Required(CONF_NAME): TextSelector()})


OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_UPDATE_INTERVAL): number_box(
            MIN_UPDATE_INTERVAL, MAX_UPDATE_INTERVAL, unit="s"
        ),
        vol.Required(CONF_LOGGING): section(
            vol.Schema(
                {
                    vol.Required(CONF_LOG_TOPICS): TextSelector(
                        TextSelectorConfig(multiple=True)
                    ),
                    vol.Required(CONF_SYSLOG_TRANSPORT): SelectSelector(
                        SelectSelectorConfig(
                            options=[str(transport) for transport in Transport],
                            translation_key=CONF_SYSLOG_TRANSPORT,
                            mode=SelectSelectorMode.DROPDOWN,
                        )
                    ),
                    vol.Optional(CONF_SYSLOG_HOST): TextSelector(),
                    vol.Optional(CONF_SYSLOG_PORT): number_box(1, 65535),
                    vol.Optional(CONF_SYSLOG_PATH): TextSelector(),
                    vol.Optional(CONF_SYSLOG_CA_FILE): TextSelector(),
                    vol.Required(CONF_SYSLOG_FORMAT): SelectSelector(
                        SelectSelectorConfig(
                            options=[SYSLOG_FORMAT_RFC5424, SYSLOG_FORMAT_RFC3164],
                            translation_key=CONF_SYSLOG_FORMAT,
                            mode=SelectSelectorMode.DROPDOWN,
                        )
                    ),
                    vol.Required(CONF_SYSLOG_FACILITY): SelectSelector(
                        SelectSelectorConfig(
                            options=SYSLOG_FACILITIES,
                            mode=SelectSelectorMode.DROPDOWN,
                        )
                    ),
                    vol.Optional(CONF_SYSLOG_APP_NAME): TextSelector(),
                    vol.Optional(CONF_SYSLOG_HOSTNAME): TextSelector(),
                    vol.Required(CONF_MAX_PAYLOAD_BYTES): number_box(
                        64, 1_048_576, unit="B"
                    ),
                    vol.Required(CONF_MAX_RECORD_BYTES): number_box(
                        MIN_MAX_RECORD_BYTES, MAX_MAX_RECORD_BYTES, unit="B"
                    ),
                    vol.Required(CONF_SPOOL_SIZE): number_box(1, 10_000_000),
                }
            ),
            {"collapsed": True},
        ),
        vol.Required(CONF_JOURNAL): section(
            vol.Schema(
                {
                    vol.Required(CONF_JOURNAL_RETENTION): TextSelector(),
                    vol.Required(CONF_JOURNAL_FILE_MB): number_box(1, 1024, unit="MiB"),
                    vol.Required(CONF_JOURNAL_FLUSH_INTERVAL): number_box(
                        0.1, 60, step=0.1, unit="s"
                    ),
                }
            ),
            {"collapsed": True},
        ),
        vol.Required(CONF_OUTPUT): section(
            vol.Schema(
                {
                    vol.Required(CONF_OUTPUT_ENABLED): BooleanSelector(),
                    vol.Required(CONF_OUTPUT_PREFIX): TextSelector(),
                    vol.Required(CONF_OUTPUT_INTERVAL): number_box(1, 86400, unit="s"),
                    vol.Required(CONF_OUTPUT_QOS): number_box(0, 2),
                    vol.Required(CONF_OUTPUT_RETAIN): BooleanSelector(),
                    vol.Required(CONF_OUTPUT_LEGACY): BooleanSelector(),
                }
            ),
            {"collapsed": True},
        ),
    }
)

OPTIONS_DEFAULTS: dict[str, Any] = {
    CONF_UPDATE_INTERVAL: DEFAULT_UPDATE_INTERVAL,
    CONF_LOGGING: {
        CONF_LOG_TOPICS: list(DEFAULT_LOG_TOPICS),
        CONF_SYSLOG_TRANSPORT: DEFAULT_SYSLOG_TRANSPORT,
        CONF_SYSLOG_HOST: DEFAULT_SYSLOG_HOST,
        CONF_SYSLOG_PATH: DEFAULT_SYSLOG_PATH,
        CONF_SYSLOG_FORMAT: SYSLOG_FORMAT_RFC5424,
        CONF_SYSLOG_FACILITY: DEFAULT_SYSLOG_FACILITY,
        CONF_SYSLOG_APP_NAME: DEFAULT_SYSLOG_APP_NAME,
        CONF_MAX_PAYLOAD_BYTES: DEFAULT_MAX_PAYLOAD_BYTES,
        CONF_MAX_RECORD_BYTES: DEFAULT_MAX_RECORD_BYTES,
        CONF_SPOOL_SIZE: DEFAULT_SPOOL_SIZE,
    },
    CONF_JOURNAL: {
        CONF_JOURNAL_RETENTION: DEFAULT_JOURNAL_RETENTION,
        CONF_JOURNAL_FILE_MB: DEFAULT_JOURNAL_FILE_MB,
        CONF_JOURNAL_FLUSH_INTERVAL: DEFAULT_JOURNAL_FLUSH_INTERVAL,
    },
    CONF_OUTPUT: {
        CONF_OUTPUT_ENABLED: True,
        CONF_OUTPUT_PREFIX: DEFAULT_OUTPUT_PREFIX,
        CONF_OUTPUT_INTERVAL: DEFAULT_OUTPUT_INTERVAL,
        CONF_OUTPUT_QOS: 0,
        CONF_OUTPUT_RETAIN: False,
        CONF_OUTPUT_LEGACY: False,
    },
}


DEVICE_CLASS_SELECTOR = SelectSelector(
    SelectSelectorConfig(
        options=MEASUREMENT_DEVICE_CLASSES,
        translation_key=CONF_DEVICE_CLASS,
        mode=SelectSelectorMode.DROPDOWN,
        sort=True,
    )
)

SENSOR_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_NAME): TextSelector(),
        vol.Required(CONF_TOPIC): TextSelector(),
        vol.Optional(CONF_VALUE_PATH): TextSelector(),
        vol.Optional(CONF_UNIT): TextSelector(),
        vol.Optional(CONF_DEVICE_CLASS): DEVICE_CLASS_SELECTOR,
        # Left unset: off with a unit or device class, on without.
        vol.Optional(CONF_WORDS_AS_NUMBERS): BooleanSelector(),
        vol.Optional(CONF_TIME_PATH): TextSelector(),
        vol.Required(CONF_WINDOWS): SelectSelector(
            SelectSelectorConfig(
                options=list(WINDOW_SUGGESTIONS),
                multiple=True,
                custom_value=True,
                mode=SelectSelectorMode.DROPDOWN,
            )
        ),
        vol.Required(CONF_STATISTICS): SelectSelector(
            SelectSelectorConfig(
                options=[str(statistic) for statistic in STATISTICS_ORDER],
                multiple=True,
                translation_key=CONF_STATISTICS,
                mode=SelectSelectorMode.LIST,
            )
        ),
        vol.Optional(CONF_DEVICE): section(
            vol.Schema(
                {
                    vol.Optional(CONF_NAME_TEMPLATE): TextSelector(),
                    vol.Optional(CONF_AREA_LEVEL): number_box(1, MAX_LEVEL),
                }
            ),
            {"collapsed": True},
        ),
        vol.Required(CONF_ADVANCED): section(
            vol.Schema(
                {
                    vol.Required(CONF_PERCENTILE): number_box(1, 99),
                    vol.Required(CONF_PRECISION): number_box(0, 6),
                    vol.Optional(CONF_MAX_SAMPLES): number_box(1, 10_000_000),
                    vol.Required(CONF_MAX_TOPICS): number_box(1, 100_000),
                }
            ),
            {"collapsed": True},
        ),
    }
)

# The fields of the sensor form that a source of several readings has per
# reading: its reconfigure form leaves them out (the readings step has them).
READING_FIELDS: Final = (CONF_VALUE_PATH, CONF_UNIT, CONF_DEVICE_CLASS)
MULTI_READING_SCHEMA = vol.Schema(
    {
        marker: validator
        for marker, validator in SENSOR_SCHEMA.schema.items()
        if str(marker) not in READING_FIELDS
    }
)

READING_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_NAME): TextSelector(),
        vol.Optional(CONF_UNIT): TextSelector(),
        vol.Optional(CONF_DEVICE_CLASS): DEVICE_CLASS_SELECTOR,
        vol.Optional(CONF_PRECISION): number_box(0, 6),
        vol.Required(CONF_DIAGNOSTIC, default=False): BooleanSelector(),
    }
)

LISTEN_SECONDS: Final = 5.0
"""How long the source flow listens to a filter for the readings it carries."""
DISCOVERY_SECONDS: Final = 2.0
"""How long the source flow collects retained MQTT discovery configs."""
MAX_LISTEN_PAYLOADS: Final = 50
MAX_LISTEN_BYTES: Final = 65_536
"""Payloads kept while listening, and the largest one kept."""
MAX_DISCOVERY_CONFIGS: Final = 2_000
MAX_REFUSALS_SHOWN: Final = 20
"""Refused announcements listed in the discovered step's description."""

NAME_TEMPLATE_EXAMPLES: Final = {
    "second_level": "{2}",
    "last_level": "{-1}",
    "whole_topic": "{topic}",
    "template_example": "{2} climate",
}


class IoTitanConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create an IoTitan hub."""

    VERSION = CONFIG_ENTRY_VERSION
    MINOR_VERSION = CONFIG_ENTRY_MINOR_VERSION

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Name the hub; MQTT must be set up first."""
        if not self.hass.config_entries.async_entries(mqtt.DOMAIN):
            return self.async_abort(reason="mqtt_not_configured")
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            if not name:
                errors[CONF_NAME] = "name_required"
            elif self._name_in_use(name):
                return self.async_abort(reason="already_configured")
            else:
                return self.async_create_entry(
                    title=name, data={CONF_NAME: name}, options=OPTIONS_DEFAULTS
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                HUB_SCHEMA, user_input or {CONF_NAME: DEFAULT_HUB_NAME}
            ),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Rename the hub."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            if not name:
                errors[CONF_NAME] = "name_required"
            elif self._name_in_use(name, except_entry_id=entry.entry_id):
                errors[CONF_NAME] = "name_in_use"
            else:
                # The update listener applies it to the running hub (see __init__.py).
                return self.async_update_and_abort(
                    entry, title=name, data_updates={CONF_NAME: name}
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                HUB_SCHEMA, user_input or {CONF_NAME: entry.title}
            ),
            errors=errors,
        )

    def _name_in_use(self, name: str, except_entry_id: str | None = None) -> bool:
        return any(
            entry.data.get(CONF_NAME, "").casefold() == name.casefold()
            for entry in self._async_current_entries(include_ignore=False)
            if entry.entry_id != except_entry_id
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """ThingSpeak refused a channel's write key (the channel is in the data)."""
        self._reauth_subentry_id: str = entry_data[CONF_SUBENTRY_ID]
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the channel's new write key; uploads resume with it."""
        entry = self._get_reauth_entry()
        subentry = entry.subentries.get(self._reauth_subentry_id)
        if subentry is None or subentry.subentry_type != SUBENTRY_CHANNEL:
            return self.async_abort(reason="channel_removed")
        settings = ChannelSubentryConfig.from_subentry_data(subentry.data)
        errors: dict[str, str] = {}
        if user_input is not None:
            write_key = user_input[CONF_WRITE_KEY].strip()
            if not valid_write_key(write_key):
                errors[CONF_WRITE_KEY] = "invalid_write_key"
            elif user_input[CONF_SEND_TEST_ROW] and (
                error := await async_send_test_row(
                    self.hass,
                    settings.channel_config().with_write_key(write_key),
                    subentry_id=subentry.subentry_id,
                )
            ):
                errors[CONF_WRITE_KEY if error == "invalid_auth" else "base"] = error
            else:
                async_update_write_key(self.hass, entry, subentry, write_key)
                return self.async_abort(reason="reauth_successful")
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=REAUTH_SCHEMA,
            errors=errors,
            description_placeholders={
                "channel": subentry.title,
                "channel_id": str(settings.channel_id),
            },
        )

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> IoTitanOptionsFlow:
        """Hub-wide options."""
        return IoTitanOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Sources are added to a hub as subentries."""
        return {
            SUBENTRY_SENSOR: SensorSubentryFlowHandler,
            SUBENTRY_ALERT: AlertSubentryFlowHandler,
            SUBENTRY_CHANNEL: ChannelSubentryFlowHandler,
        }


class IoTitanOptionsFlow(OptionsFlow):
    """Hub-wide options: update interval, logging, journal and MQTT output."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show and save the options."""
        errors: dict[str, str] = {}
        if user_input is not None:
            options, errors = await self._validate(user_input)
            if not errors:
                return self.async_create_entry(data=options)
        suggested = user_input or _merge(OPTIONS_DEFAULTS, self.config_entry.options)
        schema, errors = show_errors_in_sections(OPTIONS_SCHEMA, errors)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
        )

    async def _validate(
        self, user_input: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        errors = range_errors(OPTIONS_SCHEMA, user_input)
        log = dict(user_input[CONF_LOGGING])
        journal = dict(user_input[CONF_JOURNAL])
        output = dict(user_input[CONF_OUTPUT])

        topics = [topic.strip() for topic in log[CONF_LOG_TOPICS] if topic.strip()]
        for topic in topics:
            try:
                mqtt.valid_subscribe_topic(topic)
            except vol.Invalid:
                errors[CONF_LOG_TOPICS] = "invalid_topic"
        log[CONF_LOG_TOPICS] = topics

        transport = log[CONF_SYSLOG_TRANSPORT]
        if (
            transport in (Transport.UDP, Transport.TCP, Transport.TLS)
            and not (log.get(CONF_SYSLOG_HOST) or "").strip()
        ):
            errors[CONF_SYSLOG_HOST] = "host_required"
        if (
            transport == Transport.UNIX
            and not (log.get(CONF_SYSLOG_PATH) or "").strip()
        ):
            errors[CONF_SYSLOG_PATH] = "path_required"
        ca_file = (log.get(CONF_SYSLOG_CA_FILE) or "").strip()
        if (
            transport == Transport.TLS
            and ca_file
            and not await self.hass.async_add_executor_job(os.path.isfile, ca_file)
        ):
            errors[CONF_SYSLOG_CA_FILE] = "ca_file_not_found"
        for key in (CONF_SYSLOG_PORT, CONF_MAX_PAYLOAD_BYTES, CONF_SPOOL_SIZE):
            if log.get(key) is not None:
                log[key] = int(log[key])
        if CONF_MAX_RECORD_BYTES not in errors:  # the range is checked above
            log[CONF_MAX_RECORD_BYTES] = int(log[CONF_MAX_RECORD_BYTES])

        try:
            parse_duration(str(journal[CONF_JOURNAL_RETENTION]))
        except DurationError as err:
            errors[CONF_JOURNAL_RETENTION] = (
                "retention_not_positive"
                if err.reason == DurationError.NOT_POSITIVE
                else "invalid_duration"
            )
        journal[CONF_JOURNAL_FILE_MB] = int(journal[CONF_JOURNAL_FILE_MB])

        prefix = output[CONF_OUTPUT_PREFIX].strip()
        if validate_output_prefix(prefix) is not None:
            errors[CONF_OUTPUT_PREFIX] = "invalid_prefix"
        output[CONF_OUTPUT_PREFIX] = prefix
        output[CONF_OUTPUT_QOS] = int(output[CONF_OUTPUT_QOS])

        return {
            CONF_UPDATE_INTERVAL: int(user_input[CONF_UPDATE_INTERVAL]),
            CONF_LOGGING: log,
            CONF_JOURNAL: journal,
            CONF_OUTPUT: output,
        }, errors


def _merge(defaults: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
    """Stored options over defaults, one level into sections."""
    merged = dict(defaults)
    for key, value in stored.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


# Where the MQTT integration keeps its discovery prefix, and its default (its
# birth and will messages go to <prefix>/status).
CONF_DISCOVERY_PREFIX = "discovery_prefix"
DEFAULT_DISCOVERY_PREFIX = "homeassistant"

CATCH_ALL = "catch_all"
"""Selector translations naming what a catch-all filter matches besides sensors."""


def catch_all_kinds(topic_filter: str, discovery_prefix: str) -> list[str]:
    """What a sensor filter matches that is no sensor, to confirm before saving.

    The broker's own statistics (`$SYS`, only matched when asked for by name) and
    Home Assistant's MQTT discovery and status topics each become devices of
    statistics that mean nothing.
    """
    kinds = []
    if filters_overlap(topic_filter, "$SYS/#"):
        kinds.append("broker_statistics")
    if filters_overlap(topic_filter, f"{discovery_prefix}/#"):
        kinds.append("discovery")
    return kinds


def _mqtt_discovery_prefix(hass: HomeAssistant) -> str:
    """The MQTT integration's discovery prefix (its status topic lives there too)."""
    for entry in hass.config_entries.async_entries(mqtt.DOMAIN):
        prefix = entry.options.get(CONF_DISCOVERY_PREFIX) or entry.data.get(
            CONF_DISCOVERY_PREFIX
        )
        if prefix:
            return str(prefix)
    return DEFAULT_DISCOVERY_PREFIX


class IoTitanSubentryFlow(ConfigSubentryFlow):
    """What every IoTitan subentry flow shares: its last step saves the same way."""

    def _save(self, title: str, data: dict[str, Any]) -> SubentryFlowResult:
        """Create the subentry, or update the one being reconfigured.

        Either way the hub's update listener applies the new data.
        """
        if self.source == SOURCE_RECONFIGURE:
            return self.async_update_and_abort(
                self._get_entry(),
                self._get_reconfigure_subentry(),
                title=title,
                data=data,
            )
        return self.async_create_entry(title=title, data=data)


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A reading the readings step offers: one the source has, or a field seen."""

    path: str
    stored: ReadingConfig | None = None
    """The source's reading of that path (reconfiguring), kept with its key."""
    seen: DiscoveredField | None = None
    """What listening found there."""


@dataclass(frozen=True, slots=True)
class _Group:
    """The numeric sensors one announced device publishes on one state topic."""

    name: str
    """The announced device's name (its first identifier, or the topic, if none)."""
    label: str
    state_topic: str
    sensors: tuple[DiscoveredSensor, ...]


class SensorSubentryFlowHandler(IoTitanSubentryFlow):
    """Add or change a sensor source: a topic filter, its readings, windows and
    statistics; or a device's sensors as MQTT discovery announces them.
    """

    def __init__(self) -> None:
        """Nothing asked or heard yet."""
        self._pending: tuple[str, dict[str, Any]] = ("", {})
        """(title, data) of the source the form gave, before readings or confirming."""
        self._form: dict[str, Any] = {}
        self._stored: tuple[ReadingConfig, ...] = ()
        """The readings of a source of several, being reconfigured."""
        self._task: asyncio.Task[None] | None = None
        self._payloads: list[bytes] = []
        self._last_topic: str | None = None
        self._configs: dict[str, bytes] = {}
        self._candidates: list[_Candidate] | None = None
        self._chosen: list[_Candidate] = []
        self._readings: list[ReadingConfig] = []
        self._groups: list[_Group] | None = None
        self._group: _Group | None = None
        self._refused = ""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Add a source: from what devices announce, or from a topic filter."""
        return self.async_show_menu(
            step_id="user", menu_options=["discovered", "topic"]
        )

    async def async_step_topic(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A topic filter and its statistics; its readings come next if unsaid."""
        errors: dict[str, str] = {}
        if user_input is not None:
            title, data, errors = self._validate(user_input, None)
            if not errors:
                self._form = user_input
                return await self._async_save_or_confirm(title, data)
        return self._show_form(
            "topic", user_input or SensorSourceConfig.form_defaults(), errors
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a source; the running hub takes the new settings.

        A source of several readings has its readings in a step of its own,
        after listening to the filter again for new ones.
        """
        subentry = self._get_reconfigure_subentry()
        stored = SensorSourceConfig.from_subentry_data(subentry.data)
        several = len(stored.readings) > 1
        schema = MULTI_READING_SCHEMA if several else SENSOR_SCHEMA
        errors: dict[str, str] = {}
        if user_input is not None:
            title, data, errors = self._validate(
                user_input,
                subentry.subentry_id,
                reading_key="" if several else stored.readings[0].key,
            )
            if not errors:
                self._form = user_input
                if several:
                    self._stored = stored.readings
                unchanged = data[CONF_TOPIC] == subentry.data[CONF_TOPIC]
                return await self._async_save_or_confirm(
                    title, data, confirmed=unchanged
                )
        suggested = user_input or _form_values(subentry.title, subentry.data)
        return self._show_form("reconfigure", suggested, errors, schema)

    async def async_step_confirm_filter(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A filter that matches topics that are not sensors: add it anyway?"""
        title, data = self._pending
        if user_input is not None:
            return await self._async_save_or_confirm(title, data, confirmed=True)
        kinds = catch_all_kinds(data[CONF_TOPIC], _mqtt_discovery_prefix(self.hass))
        translations = await async_get_translations(
            self.hass, self.hass.config.language, "selector", {DOMAIN}
        )
        prefix = f"component.{DOMAIN}.selector.{CATCH_ALL}.options"
        return self.async_show_form(
            step_id="confirm_filter",
            data_schema=vol.Schema({}),
            description_placeholders={
                "topic": data[CONF_TOPIC],
                "matches": "; ".join(
                    translations.get(f"{prefix}.{kind}", kind) for kind in kinds
                ),
            },
        )

    async def _async_save_or_confirm(
        self, title: str, data: dict[str, Any], *, confirmed: bool = False
    ) -> SubentryFlowResult:
        """Save the source, unless its filter must be confirmed first, or its
        readings are to be found by listening to it.
        """
        self._pending = (title, data)
        if not confirmed and catch_all_kinds(
            data[CONF_TOPIC], _mqtt_discovery_prefix(self.hass)
        ):
            return await self.async_step_confirm_filter()
        if self._stored or (
            self.source != SOURCE_RECONFIGURE
            and not data[CONF_READINGS][0][CONF_VALUE_PATH]
        ):
            return await self.async_step_listen()
        return self._save(title, data)

    # -- readings from what the filter carries ---------------------------------------

    async def async_step_listen(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Listen to the filter a few seconds for the readings its payloads carry."""
        topic = self._pending[1][CONF_TOPIC]
        if self._task is None:
            self._task = await self._async_collect(
                topic, LISTEN_SECONDS, self._keep_payload
            )
        if not self._task.done():
            return self.async_show_progress(
                step_id="listen",
                progress_action="listen",
                progress_task=self._task,
                description_placeholders={
                    "topic": topic,
                    "seconds": format_number(LISTEN_SECONDS),
                },
            )
        return self.async_show_progress_done(next_step_id="readings")

    async def _async_collect(
        self,
        topic: str,
        seconds: float,
        keep: Any,
    ) -> asyncio.Task[None]:
        """Subscribe to `topic` now, and unsubscribe after `seconds` (the task).

        With IoTitan's lossless UTF-8 codec, as the hub subscribes: asking for
        raw bytes would hand bytes to another subscriber of the same topic
        string (a core MQTT sensor) while the flow listens (see mqtt_encoding).
        """
        register_encoding()
        unsubscribe = await mqtt.async_subscribe(
            self.hass, topic, keep, encoding=ENCODING
        )

        async def wait() -> None:
            try:
                await asyncio.sleep(seconds)
            finally:
                unsubscribe()

        return self.hass.async_create_task(wait(), eager_start=False)

    @callback
    def _keep_payload(self, message: mqtt.ReceiveMessage) -> None:
        """Keep a payload heard while listening (bounded in number and size)."""
        if len(self._payloads) >= MAX_LISTEN_PAYLOADS:
            return
        payload, _ = payload_bytes(message.payload)
        if len(payload) <= MAX_LISTEN_BYTES:
            self._payloads.append(payload)
            self._last_topic = message.topic

    async def async_step_readings(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Which readings the source keeps: its own and the numeric fields heard."""
        title, data = self._pending
        if self._candidates is None:
            found = discover_fields(self._payloads, topic=self._last_topic)
            seen = {field.path: field for field in found.fields if field.path}
            self._candidates = [
                _Candidate(
                    reading.value_path, reading, seen.pop(reading.value_path, None)
                )
                for reading in self._stored
            ] + [_Candidate(path, None, field) for path, field in seen.items()]
            if not self._candidates:
                # Nothing heard, or plain numbers: one reading of the whole payload.
                return self._save(title, data)
        errors: dict[str, str] = {}
        if user_input is not None:
            chosen = [
                self._candidates[int(index)] for index in user_input[CONF_READINGS]
            ]
            if not chosen:
                errors["base"] = "readings_required"
            elif len(chosen) > MAX_READINGS:
                errors["base"] = "too_many_readings"
            else:
                self._chosen = chosen
                self._readings = []
                return await self.async_step_reading()
            ticked = user_input[CONF_READINGS]
        else:
            ticked = [
                str(index)
                for index, candidate in enumerate(self._candidates)
                # Reconfiguring: the source's own; adding: what is not diagnostic.
                if candidate.stored is not None
                or (
                    not self._stored
                    and candidate.seen is not None
                    and not candidate.seen.guess.diagnostic
                )
            ]
        schema = _ticks_schema([_candidate_label(c) for c in self._candidates])
        return self.async_show_form(
            step_id="readings",
            data_schema=self.add_suggested_values_to_schema(
                schema, {CONF_READINGS: ticked}
            ),
            errors=errors,
            description_placeholders={
                "topic": data[CONF_TOPIC],
                "payloads": str(len(self._payloads)),
            },
        )

    async def async_step_reading(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Adjust one chosen reading: its name, unit, device class, precision."""
        candidate = self._chosen[len(self._readings)]
        errors: dict[str, str] = {}
        if user_input is not None:
            unit = str(user_input.get(CONF_UNIT) or "").strip() or None
            device_class = user_input.get(CONF_DEVICE_CLASS) or None
            errors = range_errors(READING_SCHEMA, user_input)
            if device_class is not None and unit not in DEVICE_CLASS_UNITS.get(
                SensorDeviceClass(device_class), set()
            ):
                errors[CONF_UNIT] = "unit_invalid_for_device_class"
            if not errors:
                self._readings.append(
                    self._reading_of(candidate, user_input, unit, device_class)
                )
                if len(self._readings) < len(self._chosen):
                    return await self.async_step_reading()
                return self._save_readings()
            suggested = user_input
        else:
            suggested = _reading_form_values(candidate)
        return self.async_show_form(
            step_id="reading",
            data_schema=self.add_suggested_values_to_schema(READING_SCHEMA, suggested),
            errors=errors,
            description_placeholders={
                "field": candidate.path,
                "position": str(len(self._readings) + 1),
                "count": str(len(self._chosen)),
            },
        )

    def _reading_of(
        self,
        candidate: _Candidate,
        user_input: Mapping[str, Any],
        unit: str | None,
        device_class: str | None,
    ) -> ReadingConfig:
        """The reading the reading step gave; a stored one keeps its key."""
        if candidate.stored is not None:
            key = candidate.stored.key
            base = candidate.stored
        else:
            taken = {reading.key for reading in (*self._stored, *self._readings)}
            taken |= {c.stored.key for c in self._chosen if c.stored is not None}
            key = reading_key_of(candidate.path, taken)
            base = ReadingConfig(key, candidate.path)
        precision = user_input.get(CONF_PRECISION)
        return replace(
            base,
            key=key,
            name=str(user_input.get(CONF_NAME) or "").strip(),
            unit=unit,
            device_class=device_class,
            precision=None if precision is None else int(precision),
            diagnostic=bool(user_input.get(CONF_DIAGNOSTIC, False)),
        )

    def _save_readings(self) -> SubentryFlowResult:
        """Save the source with the readings chosen and adjusted."""
        title, _ = self._pending
        readings = tuple(self._readings)
        form = dict(self._form)
        if form.get(CONF_WORDS_AS_NUMBERS) is None:
            form[CONF_WORDS_AS_NUMBERS] = not any(
                reading.unit or reading.device_class for reading in readings
            )
        config, errors = SensorSourceConfig.from_form(
            form, topic_valid=True, readings=readings
        )
        # The form was checked; keys and paths are distinct by construction.
        assert not errors, errors
        return self._save(title, config.to_subentry_data())

    # -- sensors announced through MQTT discovery ------------------------------------

    async def async_step_discovered(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Choose an announced device and state topic."""
        if self._groups is None:
            if self._task is None or not self._task.done():
                return await self.async_step_discover()
            await self._async_group_announcements()
        assert self._groups is not None
        if not self._groups:
            return self.async_abort(
                reason="no_discovered_sensors",
                description_placeholders={
                    "prefix": _mqtt_discovery_prefix(self.hass),
                    "refused": self._refused,
                },
            )
        if user_input is not None:
            self._group = self._groups[int(user_input["group"])]
            return await self.async_step_discovered_readings()
        schema = vol.Schema(
            {
                vol.Required("group"): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(value=str(index), label=group.label)
                            for index, group in enumerate(self._groups)
                        ],
                        mode=SelectSelectorMode.LIST,
                    )
                )
            }
        )
        return self.async_show_form(
            step_id="discovered",
            data_schema=self.add_suggested_values_to_schema(schema, {"group": "0"}),
            description_placeholders={
                "prefix": _mqtt_discovery_prefix(self.hass),
                "refused": self._refused,
            },
        )

    async def async_step_discover(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Collect the retained discovery configs for a moment."""
        prefix = _mqtt_discovery_prefix(self.hass)
        if self._task is None:
            self._task = await self._async_collect(
                f"{prefix}/#", DISCOVERY_SECONDS, self._keep_config
            )
        if not self._task.done():
            return self.async_show_progress(
                step_id="discover",
                progress_action="discover",
                progress_task=self._task,
                description_placeholders={"prefix": prefix},
            )
        return self.async_show_progress_done(next_step_id="discovered")

    @callback
    def _keep_config(self, message: mqtt.ReceiveMessage) -> None:
        """Keep a discovery config (bounded: at most so many, none too large)."""
        payload, _ = payload_bytes(message.payload)
        if len(payload) <= MAX_LISTEN_BYTES and (
            message.topic in self._configs or len(self._configs) < MAX_DISCOVERY_CONFIGS
        ):
            self._configs[message.topic] = payload

    async def _async_group_announcements(self) -> None:
        """Group the announced numeric sensors by device and state topic; say
        why the others are refused.
        """
        prefix = _mqtt_discovery_prefix(self.hass)
        found: dict[tuple[Any, ...], list[DiscoveredSensor]] = {}
        refused: list[RefusedDiscovery] = []
        for topic in sorted(self._configs):
            for result in parse_discovery_message(
                topic, self._configs[topic], prefix=prefix
            ):
                if isinstance(result, RefusedDiscovery):
                    if result.reason not in _NOT_SENSORS:
                        refused.append(result)
                    continue
                device = result.device
                identity = (
                    device.identifiers,
                    device.connections,
                    device.name,
                    result.state_topic,
                )
                sensors = found.setdefault(identity, [])
                if all(s.value_path != result.value_path for s in sensors):
                    sensors.append(result)
        self._groups = [
            _group(sensors)
            for sensors in found.values()
            if not self._topic_in_use(sensors[0].state_topic, None)
        ]
        self._refused = await self._async_refusals_text(refused)

    async def _async_refusals_text(self, refused: list[RefusedDiscovery]) -> str:
        """The refused announcements, one a line, with their reasons in words."""
        if not refused:
            return ""
        translations = await async_get_translations(
            self.hass, self.hass.config.language, "selector", {DOMAIN}
        )
        prefix = f"component.{DOMAIN}.selector.discovery_refusal.options"
        lines = [
            f"- {_refused_label(item)}: "
            + translations.get(f"{prefix}.{item.reason}", str(item.reason))
            for item in refused[:MAX_REFUSALS_SHOWN]
        ]
        if len(refused) > MAX_REFUSALS_SHOWN:
            more = translations.get(f"{prefix}.{_REFUSED_MORE}", _REFUSED_MORE)
            count = str(len(refused) - MAX_REFUSALS_SHOWN)
            lines.append(f"- {more.replace('{count}', count)}")
        return (
            "\n\n"
            + translations.get(f"{prefix}.{_REFUSED_HEADING}", _REFUSED_HEADING)
            + "\n"
            + "\n".join(lines)
        )

    async def async_step_discovered_readings(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Which of the device's announced sensors become readings of the source."""
        group = self._group
        assert group is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            chosen = [group.sensors[int(index)] for index in user_input[CONF_READINGS]]
            if not chosen:
                errors["base"] = "readings_required"
            elif self._topic_in_use(group.state_topic, None):
                errors["base"] = "topic_in_use"
            else:
                return self._save_announced(group, chosen)
            ticked = user_input[CONF_READINGS]
        else:
            ticked = [
                str(index)
                for index, sensor in enumerate(group.sensors)
                if not sensor.diagnostic
            ]
        schema = _ticks_schema([_sensor_label(sensor) for sensor in group.sensors])
        return self.async_show_form(
            step_id="discovered_readings",
            data_schema=self.add_suggested_values_to_schema(
                schema, {CONF_READINGS: ticked}
            ),
            errors=errors,
            description_placeholders={
                "device": group.name,
                "topic": group.state_topic,
            },
        )

    def _save_announced(
        self, group: _Group, sensors: list[DiscoveredSensor]
    ) -> SubentryFlowResult:
        """A source of the announced sensors, its device named as announced."""
        readings: list[ReadingConfig] = []
        for sensor in sensors:
            precision = sensor.suggested_display_precision
            readings.append(
                ReadingConfig(
                    key=reading_key_of(
                        sensor.value_path or sensor.object_id,
                        {reading.key for reading in readings},
                    ),
                    value_path=sensor.value_path,
                    name=_sensor_name(sensor),
                    unit=sensor.unit,
                    device_class=sensor.device_class,
                    precision=None if precision is None else min(precision, 6),
                    diagnostic=sensor.diagnostic,
                )
            )
        form = {
            **SensorSourceConfig.form_defaults(),
            CONF_TOPIC: group.state_topic,
            CONF_WORDS_AS_NUMBERS: False,
            # Literal text: the device's name, whatever the topic's levels are.
            CONF_DEVICE: {CONF_NAME_TEMPLATE: _literal_template(group.name)},
        }
        config, errors = SensorSourceConfig.from_form(
            form, topic_valid=True, readings=tuple(readings)
        )
        # Announced paths are distinct and valid by construction (`_group`).
        assert not errors, errors
        return self._save(group.name, config.to_subentry_data())

    # -- the form ------------------------------------------------------------------

    def _show_form(
        self,
        step_id: str,
        suggested: Mapping[str, Any],
        errors: dict[str, str],
        schema: vol.Schema = SENSOR_SCHEMA,
    ) -> SubentryFlowResult:
        schema, errors = show_errors_in_sections(schema, errors)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            # Template syntax in braces: the frontend would read it as placeholders.
            description_placeholders=NAME_TEMPLATE_EXAMPLES,
        )

    def _validate(
        self,
        user_input: dict[str, Any],
        subentry_id: str | None,
        *,
        reading_key: str = "",
    ) -> tuple[str, dict[str, Any], dict[str, str]]:
        """Return (title, data to store, field errors)."""
        errors = range_errors(SENSOR_SCHEMA, user_input)
        topic = user_input[CONF_TOPIC].strip()
        try:
            mqtt.valid_subscribe_topic(topic)
        except vol.Invalid:
            errors[CONF_TOPIC] = "invalid_topic"
        else:
            if self._topic_in_use(topic, subentry_id):
                errors[CONF_TOPIC] = "topic_in_use"
            elif self._is_own_output(topic):
                errors[CONF_TOPIC] = "own_output"

        config, model_errors = SensorSourceConfig.from_form(
            user_input, topic_valid=CONF_TOPIC not in errors, reading_key=reading_key
        )
        # A number out of range is said by range_errors already.
        errors = {**model_errors, **errors}
        data = config.to_subentry_data()
        title = (user_input.get(CONF_NAME) or "").strip() or topic
        return title, data, errors

    def _is_own_output(self, topic: str) -> bool:
        """Whether every topic of the filter is this hub's own MQTT output."""
        prefix = HubOptions.from_options(self._get_entry().options).output.prefix
        return any(
            filter_covers(f"{prefix}/{kind}/#", topic) for kind in ("stats", "alerts")
        )

    def _topic_in_use(self, topic: str, subentry_id: str | None) -> bool:
        return any(
            subentry.subentry_type == SUBENTRY_SENSOR
            and subentry.data[CONF_TOPIC] == topic
            for subentry in self._get_entry().subentries.values()
            if subentry.subentry_id != subentry_id
        )


# Announcements that are no sensor at all, or withdrawn: not worth a line.
_NOT_SENSORS: Final = frozenset(
    {
        DiscoveryRefusal.NOT_A_SENSOR,
        DiscoveryRefusal.REMOVED,
        DiscoveryRefusal.NOT_A_DISCOVERY_TOPIC,
    }
)
_REFUSED_HEADING: Final = "heading"
"""The translation (among the refusal reasons) that introduces the list."""
_REFUSED_MORE: Final = "more"
"""The translation that ends a list cut short: how many more (``{count}``)."""


def _group(sensors: list[DiscoveredSensor]) -> _Group:
    """A device's sensors on one topic, labelled as the discovered step lists it."""
    first = sensors[0]
    device = first.device
    name = device.name or next(iter(device.identifiers), "") or first.state_topic
    detail = " ".join(part for part in (device.manufacturer, device.model) if part)
    label = f"{name} ({detail})" if detail else name
    # No count of sensors: words here would not be translated, and the next
    # step lists them.
    return _Group(
        name=name,
        label=f"{label}: {first.state_topic}",
        state_topic=first.state_topic,
        sensors=tuple(sensors),
    )


def _sensor_name(sensor: DiscoveredSensor) -> str:
    """A reading's name: the announced one, else one from its path.

    The device's name before it is left out (Tasmota announces "Office
    climate AM2301 Temperature" for the device "Office climate"): the
    reading's entities are named after their device already.
    """
    if sensor.name:
        device = sensor.device.name
        if device and sensor.name.lower().startswith(device.lower() + " "):
            return sensor.name[len(device) :].strip() or sensor.name
        return sensor.name
    keys = sensor.value_path.split(".") if sensor.value_path else [sensor.object_id]
    return field_name(keys)


def _ticks_schema(labels: list[str]) -> vol.Schema:
    """A list of readings to tick, each by its position in `labels`."""
    return vol.Schema(
        {
            vol.Required(CONF_READINGS): SelectSelector(
                SelectSelectorConfig(
                    options=[
                        SelectOptionDict(value=str(index), label=label)
                        for index, label in enumerate(labels)
                    ],
                    multiple=True,
                    mode=SelectSelectorMode.LIST,
                )
            )
        }
    )


def _sensor_label(sensor: DiscoveredSensor) -> str:
    """An announced sensor as the discovered readings step lists it."""
    unit = f" ({sensor.unit})" if sensor.unit else ""
    return f"{_sensor_name(sensor)}{unit}"


def _refused_label(refused: RefusedDiscovery) -> str:
    """What a refused announcement is called in the list."""
    name = refused.name or refused.object_id or refused.discovery_topic
    return f"{refused.device_name}: {name}" if refused.device_name else name


def _literal_template(name: str) -> str:
    """A device name template that is `name` as written (no level placeholders)."""
    return name.replace("{", "").replace("}", "").strip()


def _candidate_label(candidate: _Candidate) -> str:
    """A reading as the readings step lists it: "temperature: 21.4 °C"."""
    if candidate.seen is not None:
        guess = candidate.seen.guess
        unit = f" {guess.unit}" if guess.unit else ""
        label = f"{candidate.path}: {format_number(candidate.seen.example)}{unit}"
    else:
        label = candidate.path
    if candidate.stored is not None and candidate.stored.name:
        label = f"{label} ({candidate.stored.name})"
    return label


def _reading_form_values(candidate: _Candidate) -> dict[str, Any]:
    """What the reading step shows first: the stored reading, or the guess."""
    values: dict[str, Any]
    if candidate.stored is not None:
        reading = candidate.stored
        values = {CONF_NAME: reading.name, CONF_DIAGNOSTIC: reading.diagnostic}
        unit, device_class, precision = (
            reading.unit,
            reading.device_class,
            reading.precision,
        )
    else:
        assert candidate.seen is not None
        guess = candidate.seen.guess
        values = {CONF_NAME: candidate.seen.name, CONF_DIAGNOSTIC: guess.diagnostic}
        unit, device_class, precision = guess.unit, guess.device_class, None
    if unit:
        values[CONF_UNIT] = unit
    if device_class in MEASUREMENT_DEVICE_CLASSES:
        values[CONF_DEVICE_CLASS] = device_class
    if precision is not None:
        values[CONF_PRECISION] = precision
    return values


def _form_values(title: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Stored subentry data as the form shows it."""
    return {
        CONF_NAME: title,
        **SensorSourceConfig.from_subentry_data(data).form_values(),
    }


# -- alert subentries ----------------------------------------------------------------


def _any_number(unit: str | None) -> NumberSelector:
    """Any number: the alert engine checks limits, with errors users understand."""
    config = NumberSelectorConfig(step="any", mode=NumberSelectorMode.BOX)
    if unit:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


# The fields each rule uses, in form order; name and severity are asked for every
# rule. The form shows only these, so a person never fills in what is ignored.
RULE_FIELDS: dict[AlertRule, tuple[str, ...]] = {
    AlertRule.HIGH: (
        CONF_WATCH,
        CONF_HIGH,
        CONF_DEADBAND,
        CONF_ON_DELAY,
        CONF_OFF_DELAY,
    ),
    AlertRule.LOW: (CONF_WATCH, CONF_LOW, CONF_DEADBAND, CONF_ON_DELAY, CONF_OFF_DELAY),
    AlertRule.RANGE: (
        CONF_WATCH,
        CONF_LOW,
        CONF_HIGH,
        CONF_DEADBAND,
        CONF_ON_DELAY,
        CONF_OFF_DELAY,
    ),
    AlertRule.STALE: (CONF_STALE_AFTER, CONF_ON_DELAY, CONF_OFF_DELAY),
    AlertRule.RATE: (
        CONF_WATCH,
        CONF_RATE_LIMIT,
        CONF_DEADBAND,
        CONF_ON_DELAY,
        CONF_OFF_DELAY,
    ),
}

RULE_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_RULE): SelectSelector(
            SelectSelectorConfig(
                options=[str(rule) for rule in AlertRule],
                translation_key=CONF_RULE,
                mode=SelectSelectorMode.LIST,
            )
        )
    }
)


def _alert_schema(
    rule: AlertRule, watch_options: list[SelectOptionDict], unit: str | None
) -> vol.Schema:
    """The settings form of one rule: its own fields, then severity."""
    fields: dict[str, Any] = {
        CONF_WATCH: SelectSelector(
            SelectSelectorConfig(
                options=watch_options,
                translation_key=CONF_WATCH,
                mode=SelectSelectorMode.DROPDOWN,
            )
        ),
        CONF_HIGH: _any_number(unit),
        CONF_LOW: _any_number(unit),
        CONF_DEADBAND: _any_number(unit),
        CONF_STALE_AFTER: TextSelector(),
        CONF_RATE_LIMIT: _any_number(f"{unit or ''}/min"),
        CONF_ON_DELAY: TextSelector(),
        CONF_OFF_DELAY: TextSelector(),
    }
    schema: dict[Any, Any] = {vol.Optional(CONF_NAME): TextSelector()}
    for key in RULE_FIELDS[rule]:
        marker = vol.Required if key == CONF_WATCH else vol.Optional
        schema[marker(key)] = fields[key]
    schema[vol.Required(CONF_SEVERITY)] = SelectSelector(
        SelectSelectorConfig(
            options=[str(severity) for severity in Severity],
            translation_key=CONF_SEVERITY,
            mode=SelectSelectorMode.LIST,
        )
    )
    return vol.Schema(schema)


def _reading_choices(entry: ConfigEntry) -> dict[str, str]:
    """Every reading of the hub's sources: `source_key` -> label.

    A source of one reading is called by its title, a reading of a source of
    several "<title>: <reading name or value path>".
    """
    choices: dict[str, str] = {}
    for subentry_id, subentry in entry.subentries.items():
        if subentry.subentry_type != SUBENTRY_SENSOR:
            continue
        readings = SensorSourceConfig.from_subentry_data(subentry.data).readings
        for reading in readings:
            label = subentry.title
            if len(readings) > 1:
                label = f"{label}: {reading.name or reading.value_path}"
            choices[source_key(subentry_id, reading.key)] = label
    return choices


class AlertSubentryFlowHandler(IoTitanSubentryFlow):
    """Add or change an alert: a sensor source, its rule, then that rule's settings."""

    _source_id: str
    _reading = ""
    _rule: AlertRule
    _reconfiguring = False

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Choose the sensor source (and reading) to watch."""
        return await self._async_step_source("user", user_input, None)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change an alert: its source first, then the rule."""
        self._reconfiguring = True
        subentry = self._get_reconfigure_subentry()
        stored = AlertSubentryConfig.from_subentry_data(subentry.data)
        return await self._async_step_source(
            "reconfigure", user_input, stored.source_key
        )

    async def _async_step_source(
        self, step_id: str, user_input: dict[str, Any] | None, current: str | None
    ) -> SubentryFlowResult:
        readings = _reading_choices(self._get_entry())
        if not readings:
            return self.async_abort(reason="no_sources")
        if user_input is not None:
            self._source_id, self._reading = split_source_key(user_input[CONF_SOURCE])
            return await self.async_step_rule()
        schema = vol.Schema(
            {
                vol.Required(CONF_SOURCE): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(value=key, label=label)
                            for key, label in readings.items()
                        ],
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                )
            }
        )
        if current not in readings:
            current = next(iter(readings))
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                schema, {CONF_SOURCE: current}
            ),
        )

    def _source(self) -> tuple[str, SensorSourceConfig]:
        """The watched reading: its label, and its source as it sees it."""
        entry = self._get_entry()
        config = SensorSourceConfig.from_subentry_data(
            entry.subentries[self._source_id].data
        )
        reading = config.reading_by_key(self._reading) or config.readings[0]
        key = source_key(self._source_id, self._reading)
        return _reading_choices(entry)[key], config.for_reading(reading)

    async def async_step_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Which rule: the next step asks only for what that rule uses."""
        label, source_config = self._source()
        if user_input is not None:
            self._rule = AlertRule(user_input[CONF_RULE])
            if self._rule is AlertRule.RATE and not source_config.windows:
                return self.async_show_form(
                    step_id="rule",
                    data_schema=self.add_suggested_values_to_schema(
                        RULE_SCHEMA, user_input
                    ),
                    errors={CONF_RULE: "rate_needs_window"},
                    description_placeholders={"source": label},
                )
            return await self.async_step_settings()
        current = self._suggested()[CONF_RULE]
        return self.async_show_form(
            step_id="rule",
            data_schema=self.add_suggested_values_to_schema(
                RULE_SCHEMA, {CONF_RULE: current}
            ),
            description_placeholders={"source": label},
        )

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The chosen rule's limits and delays, what it watches, its severity."""
        label, source_config = self._source()
        watch_options = await self._async_watch_options(source_config)
        errors: dict[str, str] = {}
        if user_input is not None:
            # A rule that does not ask what to watch (stale) keeps what was stored.
            watch = self._suggested()[CONF_WATCH]
            alert, errors = AlertSubentryConfig.from_form(
                {CONF_WATCH: watch, **user_input, CONF_RULE: self._rule},
                source_id=self._source_id,
                reading=self._reading,
            )
            if not errors:
                title = alert.name or (
                    f"{label}: {_rule_summary(alert.config, source_config.unit)}"
                )
                return self._save(title, alert.to_subentry_data())
            suggested = user_input
        else:
            suggested = self._suggested()
        if suggested.get(CONF_WATCH) not in {
            option["value"] for option in watch_options
        }:
            # Reconfigured to a source without the watched statistic.
            suggested = {**suggested, CONF_WATCH: WATCH_VALUE}
        return self.async_show_form(
            step_id="settings",
            data_schema=self.add_suggested_values_to_schema(
                _alert_schema(self._rule, watch_options, source_config.unit), suggested
            ),
            errors=errors,
            description_placeholders={"source": label},
        )

    def _suggested(self) -> dict[str, Any]:
        """What the forms show before anything is typed: the stored alert's
        settings when reconfiguring, else a new alert's defaults.
        """
        if self._reconfiguring:
            subentry = self._get_reconfigure_subentry()
            return AlertSubentryConfig.from_subentry_data(subentry.data).form_values()
        return AlertSubentryConfig.form_defaults()

    async def _async_watch_options(
        self, config: SensorSourceConfig
    ) -> list[SelectOptionDict]:
        """The raw value, then every statistic of every window, translated."""
        return [
            SelectOptionDict(
                value=WATCH_VALUE, label=await async_raw_value_name(self.hass)
            ),
            *await async_statistic_options(
                self.hass, config, lambda window_statistic: window_statistic.watch_value
            ),
        ]


def _rule_summary(config: AlertConfig, unit: str | None = None) -> str:
    """A default title for an unnamed alert, such as `above 30 °C`.

    It names the alert's device and so its entity (the entity id of a one-topic
    alert is `binary_sensor.<source>_above_30_degc`).
    """
    suffix = f" {unit}" if unit else ""

    def number(value: float | None) -> str:
        return "?" if value is None else f"{format_number(value)}{suffix}"

    match config.rule:
        case AlertRule.HIGH:
            return f"above {number(config.high)}"
        case AlertRule.LOW:
            return f"below {number(config.low)}"
        case AlertRule.RANGE:
            return f"outside {number(config.low)} to {number(config.high)}"
        case AlertRule.STALE:
            assert config.stale_after is not None
            return f"no reading for {format_duration(config.stale_after)}"
        case _:
            return f"changing faster than {number(config.rate_limit)}/min"


# -- ThingSpeak channel subentries ---------------------------------------------------

_WRITE_KEY_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))


CHANNEL_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_NAME): TextSelector(),
        vol.Required(CONF_CHANNEL_ID): TextSelector(),
        vol.Required(CONF_WRITE_KEY): _WRITE_KEY_SELECTOR,
        vol.Required(CONF_PLAN): SelectSelector(
            SelectSelectorConfig(
                options=[str(plan) for plan in Plan],
                translation_key=CONF_PLAN,
                mode=SelectSelectorMode.LIST,
            )
        ),
        vol.Required(CONF_UPLOAD_INTERVAL): number_box(
            1, MAX_UPLOAD_INTERVAL, unit="s"
        ),
        vol.Optional(CONF_LATITUDE): number_box(-90, 90, step="any"),
        vol.Optional(CONF_LONGITUDE): number_box(-180, 180, step="any"),
        vol.Required(CONF_SEND_TEST_ROW, default=True): BooleanSelector(),
        vol.Required(CONF_ADVANCED): section(
            vol.Schema(
                {
                    vol.Required(CONF_BASE_URL): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.URL)
                    ),
                    vol.Required(CONF_MAX_ROWS): number_box(
                        MIN_OUTBOX_ROWS, MAX_OUTBOX_ROWS, unit="rows"
                    ),
                }
            ),
            {"collapsed": True},
        ),
    }
)

REAUTH_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_WRITE_KEY): _WRITE_KEY_SELECTOR,
        vol.Required(CONF_SEND_TEST_ROW, default=True): BooleanSelector(),
    }
)

# Test-row errors shown on the field they are about; the others on the form.
TEST_ROW_ERROR_FIELDS = {
    "invalid_auth": CONF_WRITE_KEY,
    "channel_not_found": CONF_CHANNEL_ID,
}


def _fields_schema(options: list[SelectOptionDict]) -> vol.Schema:
    """field1..field8, each a choice of the hub's topics, and the status."""
    choice = SelectSelector(
        SelectSelectorConfig(options=options, mode=SelectSelectorMode.DROPDOWN)
    )
    schema: dict[vol.Marker, Any] = {
        vol.Optional(field_key(number)): choice for number in FIELD_NUMBERS
    }
    schema[vol.Required(CONF_SEND_STATUS, default=False)] = BooleanSelector()
    return vol.Schema(schema)


class ChannelSubentryFlowHandler(IoTitanSubentryFlow):
    """Add or change a ThingSpeak channel: its settings, then what each field carries."""

    def __init__(self) -> None:
        """Nothing chosen yet."""
        self._title = ""
        self._settings: ChannelSubentryConfig | None = None
        self._fields_suggested: dict[str, Any] = {}
        self._statistics_suggested: dict[str, str] = {}
        self._field_topics: dict[int, FieldTopic] = {}
        self._send_status = False
        # Filled when another channel subentry already sends to the channel.
        self._placeholders: dict[str, str] = {}

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Settings of a new channel."""
        if not field_topics(self.hass, self._get_entry()):
            return self.async_abort(reason="no_statistics")
        return await self._async_settings_step(
            "user",
            user_input,
            None,
            {**ChannelSubentryConfig.form_defaults(), CONF_SEND_TEST_ROW: True},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a channel's settings; the running hub takes them, rows kept."""
        subentry = self._get_reconfigure_subentry()
        if not field_topics(self.hass, self._get_entry()):
            return self.async_abort(reason="no_statistics")
        stored = ChannelSubentryConfig.from_subentry_data(subentry.data)
        self._fields_suggested = stored.fields_form_values()
        self._statistics_suggested = stored.statistics_form_values()
        suggested = {
            CONF_NAME: subentry.title,
            **stored.form_values(),
            CONF_SEND_TEST_ROW: False,
        }
        return await self._async_settings_step(
            "reconfigure", user_input, subentry.subentry_id, suggested
        )

    async def _async_settings_step(
        self,
        step_id: str,
        user_input: dict[str, Any] | None,
        subentry_id: str | None,
        suggested: Mapping[str, Any],
    ) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        self._placeholders = {
            "channel_id": "",
            "other_channel": "",
            "other_hub": "",
        }
        if user_input is not None:
            errors = await self._async_validate_settings(user_input, subentry_id)
            if not errors:
                return await self.async_step_fields()
        schema, errors = show_errors_in_sections(CHANNEL_SCHEMA, errors)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or suggested
            ),
            errors=errors,
            description_placeholders=self._placeholders,
        )

    async def _async_validate_settings(
        self, user_input: dict[str, Any], subentry_id: str | None
    ) -> dict[str, str]:
        """Check the settings (and send the test row); keep them if they are fine."""
        settings, model_errors = ChannelSubentryConfig.from_form(user_input)
        # A number out of range is said by range_errors already.
        errors = {**model_errors, **range_errors(CHANNEL_SCHEMA, user_input)}
        if (
            CONF_CHANNEL_ID not in errors
            and CONF_BASE_URL not in errors
            and (
                user := channel_in_use(
                    self.hass, settings.channel_id, settings.base_url, subentry_id
                )
            )
        ):
            errors[CONF_CHANNEL_ID] = "channel_in_use"
            self._placeholders = {
                "channel_id": str(settings.channel_id),
                "other_channel": user.channel,
                "other_hub": user.hub,
            }
        if errors:
            return errors
        if user_input[CONF_SEND_TEST_ROW]:
            error = await async_send_test_row(
                self.hass,
                settings.channel_config(),
                subentry_id=subentry_id,
                interval=settings.upload_interval,
            )
            if error is not None:
                return {TEST_ROW_ERROR_FIELDS.get(error, "base"): error}
        self._title = (
            user_input.get(CONF_NAME) or ""
        ).strip() or f"ThingSpeak {settings.channel_id}"
        self._settings = settings
        return {}

    async def async_step_fields(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Which topic each of field1..field8 reads; the statistic comes next."""
        topics = field_topics(self.hass, self._get_entry())
        errors: dict[str, str] = {}
        if user_input is not None:
            self._field_topics = {
                number: topics[choice]
                for number in FIELD_NUMBERS
                if (choice := user_input.get(field_key(number))) in topics
            }
            self._send_status = user_input[CONF_SEND_STATUS]
            if self._field_topics:
                return await self.async_step_statistics()
            errors["base"] = "fields_required"
        return self.async_show_form(
            step_id="fields",
            data_schema=self.add_suggested_values_to_schema(
                _fields_schema(
                    [
                        SelectOptionDict(value=choice, label=field_topic.label)
                        for choice, field_topic in topics.items()
                    ]
                ),
                user_input or self._fields_suggested,
            ),
            errors=errors,
        )

    async def async_step_statistics(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Which statistic of which window each chosen field carries."""
        entry = self._get_entry()
        labels: dict[str, list[SelectOptionDict]] = {}
        for number, field_topic in self._field_topics.items():
            config = SensorSourceConfig.from_subentry_data(
                entry.subentries[field_topic.source_id].data
            )
            reading = config.reading_by_key(field_topic.reading) or config.readings[0]
            labels[field_key(number)] = await async_statistic_options(
                self.hass,
                config.for_reading(reading),
                lambda window_statistic: window_statistic.channel_choice,
            )
        if user_input is not None:
            assert self._settings is not None  # the settings step came first
            fields = {}
            for number, field_topic in self._field_topics.items():
                # The selector accepts only its options.
                chosen = WindowStatistic.from_channel_choice(
                    user_input[field_key(number)]
                )
                fields[number] = FieldSource(
                    field_topic.source_id,
                    field_topic.topic,
                    chosen.window,
                    chosen.statistic,
                    field_topic.reading,
                )
            settings = self._settings.with_fields(fields, send_status=self._send_status)
            return self._save(self._title, settings.to_subentry_data())
        schema = vol.Schema(
            {
                vol.Required(field): SelectSelector(
                    SelectSelectorConfig(
                        options=options, mode=SelectSelectorMode.DROPDOWN
                    )
                )
                for field, options in labels.items()
            }
        )
        suggested = {
            field: value
            for field, value in self._statistics_suggested.items()
            if field in labels
            and value in {option["value"] for option in labels[field]}
        }
        for field, options in labels.items():
            suggested.setdefault(field, options[0]["value"])
        return self.async_show_form(
            step_id="statistics",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            description_placeholders={
                "fields": "\n".join(
                    f"- {number}: {field_topic.label}"
                    for number, field_topic in self._field_topics.items()
                )
            },
        )
