"""Config flow for IoTitan: the hub, its options, and its sensor subentries."""

from __future__ import annotations

from collections.abc import Mapping
import os
from typing import Any

from homeassistant.components import mqtt
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.components.sensor.const import (
    DEVICE_CLASS_STATE_CLASSES,
    DEVICE_CLASS_UNITS,
)
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
import voluptuous as vol

from .const import (
    CONF_ADVANCED,
    CONF_DEVICE_CLASS,
    CONF_JOURNAL,
    CONF_JOURNAL_FILE_MB,
    CONF_JOURNAL_FLUSH_INTERVAL,
    CONF_JOURNAL_RETENTION,
    CONF_LOG_TOPICS,
    CONF_LOGGING,
    CONF_MAX_PAYLOAD_BYTES,
    CONF_MAX_SAMPLES,
    CONF_MAX_TOPICS,
    CONF_OUTPUT,
    CONF_OUTPUT_ENABLED,
    CONF_OUTPUT_INTERVAL,
    CONF_OUTPUT_LEGACY,
    CONF_OUTPUT_PREFIX,
    CONF_OUTPUT_QOS,
    CONF_OUTPUT_RETAIN,
    CONF_PERCENTILE,
    CONF_PRECISION,
    CONF_SPOOL_SIZE,
    CONF_STATISTICS,
    CONF_SYSLOG_APP_NAME,
    CONF_SYSLOG_CA_FILE,
    CONF_SYSLOG_FACILITY,
    CONF_SYSLOG_FORMAT,
    CONF_SYSLOG_HOST,
    CONF_SYSLOG_HOSTNAME,
    CONF_SYSLOG_PATH,
    CONF_SYSLOG_PORT,
    CONF_SYSLOG_TRANSPORT,
    CONF_TOPIC,
    CONF_UNIT,
    CONF_UPDATE_INTERVAL,
    CONF_VALUE_PATH,
    CONF_WINDOWS,
    DEFAULT_JOURNAL_FILE_MB,
    DEFAULT_JOURNAL_FLUSH_INTERVAL,
    DEFAULT_JOURNAL_RETENTION,
    DEFAULT_LOG_TOPICS,
    DEFAULT_MAX_PAYLOAD_BYTES,
    DEFAULT_MAX_TOPICS,
    DEFAULT_OUTPUT_INTERVAL,
    DEFAULT_OUTPUT_PREFIX,
    DEFAULT_PERCENTILE,
    DEFAULT_PRECISION,
    DEFAULT_SPOOL_SIZE,
    DEFAULT_STATISTICS,
    DEFAULT_SYSLOG_APP_NAME,
    DEFAULT_SYSLOG_FACILITY,
    DEFAULT_SYSLOG_HOST,
    DEFAULT_SYSLOG_PATH,
    DEFAULT_SYSLOG_TRANSPORT,
    DEFAULT_UPDATE_INTERVAL,
    DEFAULT_WINDOWS,
    DOMAIN,
    MAX_UPDATE_INTERVAL,
    MAX_WINDOW_SECONDS,
    MIN_UPDATE_INTERVAL,
    STATISTICS_ORDER,
    SUBENTRY_SENSOR,
    SYSLOG_FORMAT_RFC3164,
    SYSLOG_FORMAT_RFC5424,
    WINDOW_SUGGESTIONS,
)
from .engine.output import format_duration, parse_duration, validate_output_prefix
from .engine.payload import parse_value_path
from .engine.syslog import Facility, Transport

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


def _box(
    minimum: float, maximum: float, step: float = 1, unit: str | None = None
) -> NumberSelector:
    config = NumberSelectorConfig(
        min=minimum, max=maximum, step=step, mode=NumberSelectorMode.BOX
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_UPDATE_INTERVAL): _box(
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
                    vol.Optional(CONF_SYSLOG_PORT): _box(1, 65535),
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
                    vol.Required(CONF_MAX_PAYLOAD_BYTES): _box(64, 1_048_576, unit="B"),
                    vol.Required(CONF_SPOOL_SIZE): _box(1, 10_000_000),
                }
            ),
            {"collapsed": True},
        ),
        vol.Required(CONF_JOURNAL): section(
            vol.Schema(
                {
                    vol.Required(CONF_JOURNAL_RETENTION): TextSelector(),
                    vol.Required(CONF_JOURNAL_FILE_MB): _box(1, 1024, unit="MiB"),
                    vol.Required(CONF_JOURNAL_FLUSH_INTERVAL): _box(
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
                    vol.Required(CONF_OUTPUT_INTERVAL): _box(1, 86400, unit="s"),
                    vol.Required(CONF_OUTPUT_QOS): _box(0, 2),
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


SENSOR_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_NAME): TextSelector(),
        vol.Required(CONF_TOPIC): TextSelector(),
        vol.Optional(CONF_VALUE_PATH): TextSelector(),
        vol.Optional(CONF_UNIT): TextSelector(),
        vol.Optional(CONF_DEVICE_CLASS): SelectSelector(
            SelectSelectorConfig(
                options=MEASUREMENT_DEVICE_CLASSES,
                translation_key=CONF_DEVICE_CLASS,
                mode=SelectSelectorMode.DROPDOWN,
                sort=True,
            )
        ),
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
        vol.Required(CONF_ADVANCED): section(
            vol.Schema(
                {
                    vol.Required(CONF_PERCENTILE): NumberSelector(
                        NumberSelectorConfig(
                            min=1, max=99, step=1, mode=NumberSelectorMode.BOX
                        )
                    ),
                    vol.Required(CONF_PRECISION): NumberSelector(
                        NumberSelectorConfig(
                            min=0, max=6, step=1, mode=NumberSelectorMode.BOX
                        )
                    ),
                    vol.Optional(CONF_MAX_SAMPLES): NumberSelector(
                        NumberSelectorConfig(
                            min=1, max=10_000_000, step=1, mode=NumberSelectorMode.BOX
                        )
                    ),
                    vol.Required(CONF_MAX_TOPICS): NumberSelector(
                        NumberSelectorConfig(
                            min=1, max=100_000, step=1, mode=NumberSelectorMode.BOX
                        )
                    ),
                }
            ),
            {"collapsed": True},
        ),
    }
)

SENSOR_DEFAULTS: dict[str, Any] = {
    CONF_WINDOWS: [format_duration(seconds) for seconds in DEFAULT_WINDOWS],
    CONF_STATISTICS: [str(statistic) for statistic in DEFAULT_STATISTICS],
    CONF_ADVANCED: {
        CONF_PERCENTILE: DEFAULT_PERCENTILE,
        CONF_PRECISION: DEFAULT_PRECISION,
        CONF_MAX_TOPICS: DEFAULT_MAX_TOPICS,
    },
}


class IoTitanConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create an IoTitan hub."""

    VERSION = 1
    MINOR_VERSION = 1

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
                return self.async_update_reload_and_abort(
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
        return {SUBENTRY_SENSOR: SensorSubentryFlowHandler}


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
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(OPTIONS_SCHEMA, suggested),
            errors=errors,
        )

    async def _validate(
        self, user_input: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        errors: dict[str, str] = {}
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

        try:
            parse_duration(str(journal[CONF_JOURNAL_RETENTION]))
        except ValueError:
            errors[CONF_JOURNAL_RETENTION] = "invalid_duration"
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


class SensorSubentryFlowHandler(ConfigSubentryFlow):
    """Add or change a sensor source: a topic filter, its windows and statistics."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Add a source."""
        errors: dict[str, str] = {}
        if user_input is not None:
            title, data, errors = self._validate(user_input, None)
            if not errors:
                return self.async_create_entry(title=title, data=data)
        return self._show_form("user", user_input or SENSOR_DEFAULTS, errors)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a source; the hub reloads with the new settings."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            title, data, errors = self._validate(user_input, subentry.subentry_id)
            if not errors:
                return self.async_update_and_abort(
                    self._get_entry(), subentry, title=title, data=data
                )
        suggested = user_input or _form_values(subentry.title, subentry.data)
        return self._show_form("reconfigure", suggested, errors)

    def _show_form(
        self, step_id: str, suggested: Mapping[str, Any], errors: dict[str, str]
    ) -> SubentryFlowResult:
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(SENSOR_SCHEMA, suggested),
            errors=errors,
        )

    def _validate(
        self, user_input: dict[str, Any], subentry_id: str | None
    ) -> tuple[str, dict[str, Any], dict[str, str]]:
        """Return (title, data to store, field errors)."""
        errors: dict[str, str] = {}
        topic = user_input[CONF_TOPIC].strip()
        try:
            mqtt.valid_subscribe_topic(topic)
        except vol.Invalid:
            errors[CONF_TOPIC] = "invalid_topic"
        else:
            if self._topic_in_use(topic, subentry_id):
                errors[CONF_TOPIC] = "topic_in_use"

        value_path = user_input.get(CONF_VALUE_PATH, "").strip()
        if value_path:
            try:
                parse_value_path(value_path)
            except ValueError:
                errors[CONF_VALUE_PATH] = "invalid_value_path"

        windows: set[float] = set()
        for text in user_input[CONF_WINDOWS]:
            try:
                seconds = parse_duration(str(text))
            except ValueError:
                errors[CONF_WINDOWS] = "invalid_window"
                break
            if seconds > MAX_WINDOW_SECONDS:
                errors[CONF_WINDOWS] = "window_too_long"
                break
            windows.add(seconds)
        else:
            if not windows:
                errors[CONF_WINDOWS] = "windows_required"

        if not user_input[CONF_STATISTICS]:
            errors[CONF_STATISTICS] = "statistics_required"

        unit = user_input.get(CONF_UNIT, "").strip() or None
        device_class = user_input.get(CONF_DEVICE_CLASS) or None
        if device_class is not None and unit not in DEVICE_CLASS_UNITS.get(
            SensorDeviceClass(device_class), set()
        ):
            errors[CONF_UNIT] = "unit_invalid_for_device_class"

        advanced = user_input[CONF_ADVANCED]
        max_samples = advanced.get(CONF_MAX_SAMPLES)
        data: dict[str, Any] = {
            CONF_TOPIC: topic,
            CONF_VALUE_PATH: value_path,
            CONF_UNIT: unit,
            CONF_DEVICE_CLASS: device_class,
            CONF_WINDOWS: sorted(windows),
            CONF_STATISTICS: [
                str(statistic)
                for statistic in STATISTICS_ORDER
                if str(statistic) in user_input[CONF_STATISTICS]
            ],
            CONF_ADVANCED: {
                CONF_PERCENTILE: int(advanced[CONF_PERCENTILE]),
                CONF_PRECISION: int(advanced[CONF_PRECISION]),
                CONF_MAX_SAMPLES: int(max_samples) if max_samples else None,
                CONF_MAX_TOPICS: int(advanced[CONF_MAX_TOPICS]),
            },
        }
        title = (user_input.get(CONF_NAME) or "").strip() or topic
        return title, data, errors

    def _topic_in_use(self, topic: str, subentry_id: str | None) -> bool:
        return any(
            subentry.subentry_type == SUBENTRY_SENSOR
            and subentry.data[CONF_TOPIC] == topic
            for subentry in self._get_entry().subentries.values()
            if subentry.subentry_id != subentry_id
        )


def _form_values(title: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Stored subentry data as the form shows it."""
    advanced = {
        key: value for key, value in data[CONF_ADVANCED].items() if value is not None
    }
    values: dict[str, Any] = {
        CONF_NAME: title,
        CONF_TOPIC: data[CONF_TOPIC],
        CONF_WINDOWS: [format_duration(seconds) for seconds in data[CONF_WINDOWS]],
        CONF_STATISTICS: list(data[CONF_STATISTICS]),
        CONF_ADVANCED: advanced,
    }
    for key in (CONF_VALUE_PATH, CONF_UNIT, CONF_DEVICE_CLASS):
        if data.get(key):
            values[key] = data[key]
    return values
