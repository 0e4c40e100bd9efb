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
from homeassistant.const import CONF_LATITUDE, CONF_LONGITUDE, CONF_NAME
from homeassistant.core import callback
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

from .alert_runtime import watch_key
from .channel import (
    FIELD_NUMBERS,
    ChannelSettings,
    FieldSource,
    async_send_test_row,
    async_update_write_key,
    channel_in_use,
    field_options,
    parse_channel_id,
    valid_base_url,
    valid_write_key,
)
from .const import (
    CONF_ADVANCED,
    CONF_BASE_URL,
    CONF_CHANNEL_ID,
    CONF_DEADBAND,
    CONF_DEVICE_CLASS,
    CONF_FIELDS,
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
    CONF_TOPIC,
    CONF_UNIT,
    CONF_UPDATE_INTERVAL,
    CONF_UPLOAD_INTERVAL,
    CONF_VALUE_PATH,
    CONF_WATCH,
    CONF_WINDOWS,
    CONF_WRITE_KEY,
    CONFIG_ENTRY_MINOR_VERSION,
    CONFIG_ENTRY_VERSION,
    DEFAULT_JOURNAL_FILE_MB,
    DEFAULT_JOURNAL_FLUSH_INTERVAL,
    DEFAULT_JOURNAL_RETENTION,
    DEFAULT_LOG_TOPICS,
    DEFAULT_MAX_PAYLOAD_BYTES,
    DEFAULT_MAX_RECORD_BYTES,
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
    DEFAULT_UPLOAD_INTERVAL,
    DEFAULT_WINDOWS,
    DOMAIN,
    MAX_MAX_RECORD_BYTES,
    MAX_OUTBOX_ROWS,
    MAX_UPDATE_INTERVAL,
    MAX_UPLOAD_INTERVAL,
    MAX_WINDOW_SECONDS,
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
from .engine.alerts import AlertConfig, AlertRule, Severity, validate_alert_config
from .engine.output import (
    format_duration,
    format_number,
    parse_duration,
    validate_output_prefix,
)
from .engine.payload import parse_value_path
from .engine.syslog import Facility, Transport
from .engine.thingspeak import DEFAULT_BASE_URL, DEFAULT_MAX_ROWS, Plan
from .models import SensorSourceConfig

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
                    # No bounds in the selector: out of range gets its own error
                    vol.Required(CONF_MAX_RECORD_BYTES): NumberSelector(
                        NumberSelectorConfig(
                            step=1,
                            mode=NumberSelectorMode.BOX,
                            unit_of_measurement="B",
                        )
                    ),
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
        settings = ChannelSettings.from_subentry_data(subentry.data)
        errors: dict[str, str] = {}
        if user_input is not None:
            write_key = user_input[CONF_WRITE_KEY].strip()
            if not valid_write_key(write_key):
                errors[CONF_WRITE_KEY] = "invalid_write_key"
            elif user_input[CONF_SEND_TEST_ROW] and (
                error := await async_send_test_row(
                    self.hass, settings.channel_config().with_write_key(write_key)
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
        record = log.get(CONF_MAX_RECORD_BYTES)
        if (
            record is None
            or record != int(record)
            or not MIN_MAX_RECORD_BYTES <= record <= MAX_MAX_RECORD_BYTES
        ):
            errors[CONF_MAX_RECORD_BYTES] = "record_size_out_of_range"
        else:
            log[CONF_MAX_RECORD_BYTES] = int(record)

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


# -- alert subentries ----------------------------------------------------------------

ALERT_DEFAULTS: dict[str, Any] = {
    CONF_WATCH: WATCH_VALUE,
    CONF_RULE: AlertRule.HIGH,
    CONF_DEADBAND: 0,
    CONF_SEVERITY: Severity.WARNING,
}


def _any_number(unit: str | None) -> NumberSelector:
    """Any number: the alert engine checks limits, with errors users understand."""
    config = NumberSelectorConfig(step="any", mode=NumberSelectorMode.BOX)
    if unit:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def _alert_schema(
    watch_options: list[SelectOptionDict], unit: str | None
) -> vol.Schema:
    return vol.Schema(
        {
            vol.Optional(CONF_NAME): TextSelector(),
            vol.Required(CONF_WATCH): SelectSelector(
                SelectSelectorConfig(
                    options=watch_options,
                    translation_key=CONF_WATCH,
                    mode=SelectSelectorMode.DROPDOWN,
                )
            ),
            vol.Required(CONF_RULE): SelectSelector(
                SelectSelectorConfig(
                    options=[str(rule) for rule in AlertRule],
                    translation_key=CONF_RULE,
                    mode=SelectSelectorMode.DROPDOWN,
                )
            ),
            vol.Optional(CONF_HIGH): _any_number(unit),
            vol.Optional(CONF_LOW): _any_number(unit),
            vol.Optional(CONF_DEADBAND): _any_number(unit),
            vol.Optional(CONF_STALE_AFTER): TextSelector(),
            vol.Optional(CONF_RATE_LIMIT): _any_number(f"{unit or ''}/min"),
            vol.Optional(CONF_ON_DELAY): TextSelector(),
            vol.Optional(CONF_OFF_DELAY): TextSelector(),
            vol.Required(CONF_SEVERITY): SelectSelector(
                SelectSelectorConfig(
                    options=[str(severity) for severity in Severity],
                    translation_key=CONF_SEVERITY,
                    mode=SelectSelectorMode.LIST,
                )
            ),
        }
    )


class AlertSubentryFlowHandler(ConfigSubentryFlow):
    """Add or change an alert: a sensor source, what it watches, and one rule."""

    _source_id: str
    _reconfiguring = False

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Choose the sensor source to watch."""
        return await self._async_step_source("user", user_input, None)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change an alert: its source first, then the rule."""
        self._reconfiguring = True
        subentry = self._get_reconfigure_subentry()
        return await self._async_step_source(
            "reconfigure", user_input, subentry.data.get(CONF_SOURCE)
        )

    async def _async_step_source(
        self, step_id: str, user_input: dict[str, Any] | None, current: str | None
    ) -> SubentryFlowResult:
        sources = {
            subentry_id: subentry
            for subentry_id, subentry in self._get_entry().subentries.items()
            if subentry.subentry_type == SUBENTRY_SENSOR
        }
        if not sources:
            return self.async_abort(reason="no_sources")
        if user_input is not None:
            self._source_id = user_input[CONF_SOURCE]
            return await self.async_step_rule()
        schema = vol.Schema(
            {
                vol.Required(CONF_SOURCE): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(value=subentry_id, label=subentry.title)
                            for subentry_id, subentry in sources.items()
                        ],
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                )
            }
        )
        if current not in sources:
            current = next(iter(sources))
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                schema, {CONF_SOURCE: current}
            ),
        )

    async def async_step_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """What the alert watches, its rule and limits, delays and severity."""
        source = self._get_entry().subentries[self._source_id]
        source_config = SensorSourceConfig.from_subentry_data(source.data)
        watch_options = await self._async_watch_options(source_config)
        errors: dict[str, str] = {}
        if user_input is not None:
            config, errors = _alert_config(user_input)
            if config.rule is AlertRule.RATE and not source_config.windows:
                errors[CONF_RULE] = "rate_needs_window"
            if not errors:
                name = (user_input.get(CONF_NAME) or "").strip()
                data = _alert_data(
                    config, name, self._source_id, user_input[CONF_WATCH]
                )
                title = name or f"{source.title}: {_rule_summary(config)}"
                if self._reconfiguring:
                    return self.async_update_and_abort(
                        self._get_entry(),
                        self._get_reconfigure_subentry(),
                        title=title,
                        data=data,
                    )
                return self.async_create_entry(title=title, data=data)
            suggested = user_input
        elif self._reconfiguring:
            suggested = _alert_form_values(self._get_reconfigure_subentry().data)
        else:
            suggested = ALERT_DEFAULTS
        if suggested[CONF_WATCH] not in {option["value"] for option in watch_options}:
            # Reconfigured to a source without the watched statistic.
            suggested = {**suggested, CONF_WATCH: WATCH_VALUE}
        return self.async_show_form(
            step_id="rule",
            data_schema=self.add_suggested_values_to_schema(
                _alert_schema(watch_options, source_config.unit), suggested
            ),
            errors=errors,
            description_placeholders={"source": source.title},
        )

    async def _async_watch_options(
        self, config: SensorSourceConfig
    ) -> list[SelectOptionDict]:
        """The raw value, then every statistic of every window, translated."""
        translations = await async_get_translations(
            self.hass, self.hass.config.language, "selector", {DOMAIN}
        )
        prefix = f"component.{DOMAIN}.selector"
        options = [
            SelectOptionDict(
                value=WATCH_VALUE,
                label=translations.get(
                    f"{prefix}.{CONF_WATCH}.options.{WATCH_VALUE}", WATCH_VALUE
                ),
            )
        ]
        for window in config.windows:
            for statistic in config.statistics:
                name = translations.get(
                    f"{prefix}.{CONF_STATISTICS}.options.{statistic}", str(statistic)
                )
                options.append(
                    SelectOptionDict(
                        value=watch_key(window, statistic),
                        label=f"{name} {format_duration(window)}",
                    )
                )
        return options


def _delay(text: str | None) -> float:
    """An on/off delay: empty or 0 for none, else a duration (ValueError)."""
    text = (text or "").strip()
    if text in ("", "0"):
        return 0.0
    return parse_duration(text)


def _limit(user_input: Mapping[str, Any], key: str, needed: bool) -> float | None:
    """A limit the rule uses (None when missing); the others are not stored."""
    value = user_input.get(key)
    return float(value) if needed and value is not None else None


def _alert_config(
    user_input: Mapping[str, Any],
) -> tuple[AlertConfig, dict[str, str]]:
    """The rule the form describes, and the field errors."""
    errors: dict[str, str] = {}
    rule = AlertRule(user_input[CONF_RULE])
    stale_after: float | None = None
    if rule is AlertRule.STALE and (
        text := (user_input.get(CONF_STALE_AFTER) or "").strip()
    ):
        try:
            stale_after = parse_duration(text)
        except ValueError:
            errors[CONF_STALE_AFTER] = "invalid_duration"
    delays: dict[str, float] = {}
    for key in (CONF_ON_DELAY, CONF_OFF_DELAY):
        try:
            delays[key] = _delay(user_input.get(key))
        except ValueError:
            errors[key] = "invalid_duration"
            delays[key] = 0.0
    config = AlertConfig(
        rule=rule,
        high=_limit(user_input, CONF_HIGH, rule in (AlertRule.HIGH, AlertRule.RANGE)),
        low=_limit(user_input, CONF_LOW, rule in (AlertRule.LOW, AlertRule.RANGE)),
        deadband=0.0
        if rule is AlertRule.STALE
        else float(user_input.get(CONF_DEADBAND) or 0.0),
        stale_after=stale_after,
        rate_limit=_limit(user_input, CONF_RATE_LIMIT, rule is AlertRule.RATE),
        on_delay=delays[CONF_ON_DELAY],
        off_delay=delays[CONF_OFF_DELAY],
        severity=Severity(user_input[CONF_SEVERITY]),
    )
    for field, error in validate_alert_config(config).items():
        errors.setdefault(field, error)
    return config, errors


def _alert_data(
    config: AlertConfig, name: str, source_id: str, watch: str
) -> dict[str, Any]:
    """Plain JSON to store: durations in seconds, unused limits None."""
    return {
        CONF_NAME: name,
        CONF_SOURCE: source_id,
        CONF_WATCH: watch,
        CONF_RULE: str(config.rule),
        CONF_HIGH: config.high,
        CONF_LOW: config.low,
        CONF_DEADBAND: config.deadband,
        CONF_STALE_AFTER: config.stale_after,
        CONF_RATE_LIMIT: config.rate_limit,
        CONF_ON_DELAY: config.on_delay,
        CONF_OFF_DELAY: config.off_delay,
        CONF_SEVERITY: str(config.severity),
    }


def _rule_summary(config: AlertConfig) -> str:
    """A default title for an unnamed alert, such as `above 30`."""

    def number(value: float | None) -> str:
        return "?" if value is None else format_number(value)

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


def _alert_form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Stored alert data as the form shows it."""
    values: dict[str, Any] = {
        key: data[key] for key in (CONF_WATCH, CONF_RULE, CONF_DEADBAND, CONF_SEVERITY)
    }
    if data.get(CONF_NAME):
        values[CONF_NAME] = data[CONF_NAME]
    for key in (CONF_HIGH, CONF_LOW, CONF_RATE_LIMIT):
        if data.get(key) is not None:
            values[key] = data[key]
    for key in (CONF_STALE_AFTER, CONF_ON_DELAY, CONF_OFF_DELAY):
        if data.get(key):
            values[key] = format_duration(data[key])
    return values


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
        vol.Required(CONF_UPLOAD_INTERVAL): _box(1, MAX_UPLOAD_INTERVAL, unit="s"),
        vol.Optional(CONF_LATITUDE): NumberSelector(
            NumberSelectorConfig(
                min=-90, max=90, step="any", mode=NumberSelectorMode.BOX
            )
        ),
        vol.Optional(CONF_LONGITUDE): NumberSelector(
            NumberSelectorConfig(
                min=-180, max=180, step="any", mode=NumberSelectorMode.BOX
            )
        ),
        vol.Required(CONF_SEND_TEST_ROW, default=True): BooleanSelector(),
        vol.Required(CONF_ADVANCED): section(
            vol.Schema(
                {
                    vol.Required(CONF_BASE_URL): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.URL)
                    ),
                    vol.Required(CONF_MAX_ROWS): _box(
                        MIN_OUTBOX_ROWS, MAX_OUTBOX_ROWS, unit="rows"
                    ),
                }
            ),
            {"collapsed": True},
        ),
    }
)

CHANNEL_DEFAULTS: dict[str, Any] = {
    CONF_PLAN: str(Plan.FREE),
    CONF_UPLOAD_INTERVAL: DEFAULT_UPLOAD_INTERVAL,
    CONF_SEND_TEST_ROW: True,
    CONF_ADVANCED: {CONF_BASE_URL: DEFAULT_BASE_URL, CONF_MAX_ROWS: DEFAULT_MAX_ROWS},
}

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
    """field1..field8, each a choice of the hub's statistics, and the status."""
    choice = SelectSelector(
        SelectSelectorConfig(options=options, mode=SelectSelectorMode.DROPDOWN)
    )
    schema: dict[vol.Marker, Any] = {
        vol.Optional(f"field{number}"): choice for number in FIELD_NUMBERS
    }
    schema[vol.Required(CONF_SEND_STATUS, default=False)] = BooleanSelector()
    return vol.Schema(schema)


class ChannelSubentryFlowHandler(ConfigSubentryFlow):
    """Add or change a ThingSpeak channel: its settings, then what each field carries."""

    def __init__(self) -> None:
        """Nothing chosen yet."""
        self._title = ""
        self._settings: dict[str, Any] = {}
        self._fields_suggested: dict[str, Any] = {}
        self._reconfiguring = False

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Settings of a new channel."""
        if not field_options(self.hass, self._get_entry()):
            return self.async_abort(reason="no_statistics")
        return await self._async_settings_step(
            "user", user_input, None, CHANNEL_DEFAULTS
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a channel's settings; the hub reloads with them, rows kept."""
        subentry = self._get_reconfigure_subentry()
        if not field_options(self.hass, self._get_entry()):
            return self.async_abort(reason="no_statistics")
        self._reconfiguring = True
        data = subentry.data
        self._fields_suggested = {
            f"field{number}": FieldSource.from_data(source).option
            for number, source in data[CONF_FIELDS].items()
        }
        self._fields_suggested[CONF_SEND_STATUS] = data[CONF_SEND_STATUS]
        suggested = {
            CONF_NAME: subentry.title,
            CONF_CHANNEL_ID: str(data[CONF_CHANNEL_ID]),
            CONF_WRITE_KEY: data[CONF_WRITE_KEY],
            CONF_PLAN: data[CONF_PLAN],
            CONF_UPLOAD_INTERVAL: data[CONF_UPLOAD_INTERVAL],
            CONF_SEND_TEST_ROW: False,
            CONF_ADVANCED: dict(data[CONF_ADVANCED]),
        }
        for key in (CONF_LATITUDE, CONF_LONGITUDE):
            if data.get(key) is not None:
                suggested[key] = data[key]
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
        if user_input is not None:
            errors = await self._async_validate_settings(user_input, subentry_id)
            if not errors:
                return await self.async_step_fields()
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                CHANNEL_SCHEMA, user_input or suggested
            ),
            errors=errors,
        )

    async def _async_validate_settings(
        self, user_input: dict[str, Any], subentry_id: str | None
    ) -> dict[str, str]:
        """Check the settings (and send the test row); keep them if they are fine."""
        errors: dict[str, str] = {}
        channel_id = parse_channel_id(str(user_input[CONF_CHANNEL_ID]))
        if channel_id is None:
            errors[CONF_CHANNEL_ID] = "invalid_channel_id"
        write_key = user_input[CONF_WRITE_KEY].strip()
        if not valid_write_key(write_key):
            errors[CONF_WRITE_KEY] = "invalid_write_key"
        plan = Plan(user_input[CONF_PLAN])
        interval = int(user_input[CONF_UPLOAD_INTERVAL])
        if interval < plan.min_interval:
            errors[CONF_UPLOAD_INTERVAL] = "interval_too_short"
        advanced = user_input[CONF_ADVANCED]
        base_url = advanced[CONF_BASE_URL].strip().rstrip("/")
        if not valid_base_url(base_url):
            errors[CONF_BASE_URL] = "invalid_url"
        elif channel_id is not None and channel_in_use(
            self._get_entry(), channel_id, base_url, subentry_id
        ):
            errors[CONF_CHANNEL_ID] = "channel_in_use"
        if errors or channel_id is None:
            return errors
        if user_input[CONF_SEND_TEST_ROW]:
            error = await async_send_test_row(
                self.hass,
                ChannelSettings.from_subentry_data(
                    {
                        CONF_CHANNEL_ID: channel_id,
                        CONF_WRITE_KEY: write_key,
                        CONF_PLAN: plan,
                        CONF_ADVANCED: {CONF_BASE_URL: base_url},
                    }
                ).channel_config(),
            )
            if error is not None:
                return {TEST_ROW_ERROR_FIELDS.get(error, "base"): error}
        self._title = (
            user_input.get(CONF_NAME) or ""
        ).strip() or f"ThingSpeak {channel_id}"
        self._settings = {
            CONF_CHANNEL_ID: channel_id,
            CONF_WRITE_KEY: write_key,
            CONF_PLAN: str(plan),
            CONF_UPLOAD_INTERVAL: interval,
            CONF_LATITUDE: user_input.get(CONF_LATITUDE),
            CONF_LONGITUDE: user_input.get(CONF_LONGITUDE),
            CONF_ADVANCED: {
                CONF_BASE_URL: base_url,
                CONF_MAX_ROWS: int(advanced[CONF_MAX_ROWS]),
            },
        }
        return {}

    async def async_step_fields(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Map field1..field8 to statistics of the hub's sensor sources."""
        errors: dict[str, str] = {}
        if user_input is not None:
            fields = {
                str(number): FieldSource.from_option(choice).to_data()
                for number in FIELD_NUMBERS
                if (choice := user_input.get(f"field{number}"))
            }
            if not fields:
                errors["base"] = "fields_required"
            else:
                data = {
                    **self._settings,
                    CONF_FIELDS: fields,
                    CONF_SEND_STATUS: user_input[CONF_SEND_STATUS],
                }
                if self._reconfiguring:
                    return self.async_update_and_abort(
                        self._get_entry(),
                        self._get_reconfigure_subentry(),
                        title=self._title,
                        data=data,
                    )
                return self.async_create_entry(title=self._title, data=data)
        return self.async_show_form(
            step_id="fields",
            data_schema=self.add_suggested_values_to_schema(
                _fields_schema(field_options(self.hass, self._get_entry())),
                user_input or self._fields_suggested,
            ),
            errors=errors,
        )
