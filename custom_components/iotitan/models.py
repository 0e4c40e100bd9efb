"""Typed views of what the config flows store, parsed once at setup."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.components.sensor.const import DEVICE_CLASS_UNITS

from .const import (
    CONF_ADVANCED,
    CONF_AREA_LEVEL,
    CONF_DEVICE,
    CONF_DEVICE_CLASS,
    CONF_JOURNAL,
    CONF_JOURNAL_FILE_MB,
    CONF_JOURNAL_FLUSH_INTERVAL,
    CONF_JOURNAL_RETENTION,
    CONF_LOG_TOPICS,
    CONF_LOGGING,
    CONF_MAX_PAYLOAD_BYTES,
    CONF_MAX_RECORD_BYTES,
    CONF_MAX_SAMPLES,
    CONF_MAX_TOPICS,
    CONF_NAME_TEMPLATE,
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
    CONF_WORDS_AS_NUMBERS,
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
    DEFAULT_WINDOWS,
    MAX_WINDOW_SECONDS,
    STATISTICS_ORDER,
    SYSLOG_FORMAT_RFC3164,
)
from .engine.output import DurationError, format_duration, parse_duration
from .engine.payload import parse_value_path
from .engine.topic_names import NameTemplateError, check_area_level, check_name_template
from .engine.window import Statistic

# The sensor form's device-name template errors, by NameTemplateError reason.
NAME_TEMPLATE_ERRORS: Final = {
    NameTemplateError.UNBALANCED: "name_template_unbalanced",
    NameTemplateError.UNKNOWN: "name_template_unknown",
    NameTemplateError.BEYOND_FILTER: "name_template_beyond_filter",
}


def default_words_as_numbers(data: Mapping[str, Any]) -> bool:
    """Whether a source reads on/off words as 1/0 unless told otherwise.

    Off for a source with a unit or a device class (a measurement: a stray `on`
    on a temperature topic is not a reading of 1), on for the others (binary
    sensors such as PIR motion publish on/off).
    """
    return not (data.get(CONF_UNIT) or data.get(CONF_DEVICE_CLASS))


@dataclass(frozen=True, slots=True)
class SensorSourceConfig:
    """A sensor subentry's settings."""

    topic: str
    value_path: str
    unit: str | None
    device_class: str | None
    windows: tuple[float, ...]
    statistics: tuple[Statistic, ...]
    percentile: int
    precision: int
    max_samples: int | None
    max_topics: int
    words_as_numbers: bool
    """Read on/off/true/false as 1/0 (stored since 1.4; see `default_words_as_numbers`)."""
    name_template: str
    """Names each topic's device (see engine.topic_names); empty: the default."""
    area_level: int | None
    """The topic level that suggests a new device's area (stored since 1.5)."""

    @staticmethod
    def form_defaults() -> dict[str, Any]:
        """What the form of a new source shows.

        On/off words are left unset: `from_form` then follows the unit and
        device class (see `default_words_as_numbers`).
        """
        return {
            CONF_DEVICE: {},
            CONF_WINDOWS: [format_duration(seconds) for seconds in DEFAULT_WINDOWS],
            CONF_STATISTICS: [str(statistic) for statistic in DEFAULT_STATISTICS],
            CONF_ADVANCED: {
                CONF_PERCENTILE: DEFAULT_PERCENTILE,
                CONF_PRECISION: DEFAULT_PRECISION,
                CONF_MAX_TOPICS: DEFAULT_MAX_TOPICS,
            },
        }

    @classmethod
    def from_subentry_data(cls, data: Mapping[str, Any]) -> SensorSourceConfig:
        """Build from subentry data as the config flow stores it."""
        advanced: Mapping[str, Any] = data.get(CONF_ADVANCED, {})
        device: Mapping[str, Any] = data.get(CONF_DEVICE, {})
        area_level = device.get(CONF_AREA_LEVEL)
        max_samples = advanced.get(CONF_MAX_SAMPLES)
        return cls(
            topic=data[CONF_TOPIC],
            value_path=data.get(CONF_VALUE_PATH) or "",
            unit=data.get(CONF_UNIT) or None,
            device_class=data.get(CONF_DEVICE_CLASS) or None,
            windows=tuple(float(seconds) for seconds in data[CONF_WINDOWS]),
            statistics=tuple(Statistic(name) for name in data[CONF_STATISTICS]),
            percentile=int(advanced.get(CONF_PERCENTILE, DEFAULT_PERCENTILE)),
            precision=int(advanced.get(CONF_PRECISION, DEFAULT_PRECISION)),
            max_samples=int(max_samples) if max_samples else None,
            max_topics=int(advanced.get(CONF_MAX_TOPICS, DEFAULT_MAX_TOPICS)),
            words_as_numbers=bool(
                data.get(CONF_WORDS_AS_NUMBERS, default_words_as_numbers(data))
            ),
            name_template=device.get(CONF_NAME_TEMPLATE) or "",
            area_level=int(area_level) if area_level else None,
        )

    def to_subentry_data(self) -> dict[str, Any]:
        """The subentry data the flow stores (the inverse of `from_subentry_data`)."""
        return {
            CONF_TOPIC: self.topic,
            CONF_VALUE_PATH: self.value_path,
            CONF_UNIT: self.unit,
            CONF_DEVICE_CLASS: self.device_class,
            CONF_WORDS_AS_NUMBERS: self.words_as_numbers,
            CONF_WINDOWS: list(self.windows),
            CONF_STATISTICS: [str(statistic) for statistic in self.statistics],
            CONF_ADVANCED: {
                CONF_PERCENTILE: self.percentile,
                CONF_PRECISION: self.precision,
                CONF_MAX_SAMPLES: self.max_samples,
                CONF_MAX_TOPICS: self.max_topics,
            },
            CONF_DEVICE: {
                CONF_NAME_TEMPLATE: self.name_template,
                CONF_AREA_LEVEL: self.area_level,
            },
        }

    def form_values(self) -> dict[str, Any]:
        """The settings as the sensor form shows them (reconfiguring)."""
        values: dict[str, Any] = {
            CONF_TOPIC: self.topic,
            CONF_WINDOWS: [format_duration(seconds) for seconds in self.windows],
            CONF_STATISTICS: [str(statistic) for statistic in self.statistics],
            CONF_WORDS_AS_NUMBERS: self.words_as_numbers,
            CONF_ADVANCED: {
                CONF_PERCENTILE: self.percentile,
                CONF_PRECISION: self.precision,
                CONF_MAX_TOPICS: self.max_topics,
            },
            CONF_DEVICE: {},
        }
        if self.max_samples is not None:
            values[CONF_ADVANCED][CONF_MAX_SAMPLES] = self.max_samples
        for key, value in (
            (CONF_VALUE_PATH, self.value_path),
            (CONF_UNIT, self.unit),
            (CONF_DEVICE_CLASS, self.device_class),
        ):
            if value:
                values[key] = value
        if self.name_template:
            values[CONF_DEVICE][CONF_NAME_TEMPLATE] = self.name_template
        if self.area_level is not None:
            values[CONF_DEVICE][CONF_AREA_LEVEL] = self.area_level
        return values

    @classmethod
    def from_form(
        cls, user_input: Mapping[str, Any], *, topic_valid: bool
    ) -> tuple[SensorSourceConfig, dict[str, str]]:
        """Settings from the sensor form, and the errors of the checks that need
        no Home Assistant instance (field -> error key).

        `topic_valid`: whether the topic filter is one (the flow checks that,
        with the others that need the hub); the device name checks need it.
        The settings are only meant to be stored when there is no error.
        """
        errors: dict[str, str] = {}
        topic = str(user_input[CONF_TOPIC]).strip()
        value_path = str(user_input.get(CONF_VALUE_PATH, "")).strip()
        if value_path:
            try:
                parse_value_path(value_path)
            except ValueError:
                errors[CONF_VALUE_PATH] = "invalid_value_path"

        windows: set[float] = set()
        for text in user_input[CONF_WINDOWS]:
            try:
                seconds = parse_duration(str(text))
            except DurationError as err:
                errors[CONF_WINDOWS] = (
                    "window_not_positive"
                    if err.reason == DurationError.NOT_POSITIVE
                    else "invalid_window"
                )
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

        unit = str(user_input.get(CONF_UNIT, "")).strip() or None
        device_class = user_input.get(CONF_DEVICE_CLASS) or None
        if device_class is not None and unit not in DEVICE_CLASS_UNITS.get(
            SensorDeviceClass(device_class), set()
        ):
            errors[CONF_UNIT] = "unit_invalid_for_device_class"

        words = user_input.get(CONF_WORDS_AS_NUMBERS)
        if words is None:
            words = default_words_as_numbers(
                {CONF_UNIT: unit, CONF_DEVICE_CLASS: device_class}
            )

        device = user_input.get(CONF_DEVICE, {})
        name_template = str(device.get(CONF_NAME_TEMPLATE) or "").strip()
        area_level = device.get(CONF_AREA_LEVEL)
        if topic_valid:
            try:
                check_name_template(name_template, topic)
            except NameTemplateError as err:
                errors[CONF_NAME_TEMPLATE] = NAME_TEMPLATE_ERRORS[err.reason]
            if area_level and not check_area_level(int(area_level), topic):
                errors[CONF_AREA_LEVEL] = "area_level_beyond_filter"

        advanced = user_input[CONF_ADVANCED]
        max_samples = advanced.get(CONF_MAX_SAMPLES)
        config = cls(
            topic=topic,
            value_path=value_path,
            unit=unit,
            device_class=device_class,
            windows=tuple(sorted(windows)),
            statistics=tuple(
                statistic
                for statistic in STATISTICS_ORDER
                if str(statistic) in user_input[CONF_STATISTICS]
            ),
            percentile=int(advanced[CONF_PERCENTILE]),
            precision=int(advanced[CONF_PRECISION]),
            max_samples=int(max_samples) if max_samples else None,
            max_topics=int(advanced[CONF_MAX_TOPICS]),
            words_as_numbers=bool(words),
            name_template=name_template,
            area_level=int(area_level) if area_level else None,
        )
        return config, errors


@dataclass(frozen=True, slots=True)
class LoggingOptions:
    """Which messages are logged, and where syslog records go."""

    log_topics: tuple[str, ...]
    transport: str
    host: str
    port: int | None
    path: str
    ca_file: str | None
    legacy_format: bool
    facility: str
    app_name: str
    hostname: str | None
    """None: Home Assistant's location name, filled in by the hub."""
    max_payload_bytes: int
    """Syslog only: longer payloads are cut (the journal keeps them whole)."""
    max_record_bytes: int
    """Syslog only: no record on the wire is longer; cut payload first."""
    spool_size: int


@dataclass(frozen=True, slots=True)
class JournalOptions:
    """The local journal that backs the windows."""

    retention: float
    """Seconds of history kept at least (the longest window may ask for more)."""
    max_file_bytes: int
    flush_interval: float


@dataclass(frozen=True, slots=True)
class OutputOptions:
    """Statistics and alerts republished to MQTT."""

    enabled: bool
    prefix: str
    publish_interval: float
    qos: int
    retain: bool
    legacy_topics: bool


@dataclass(frozen=True, slots=True)
class HubOptions:
    """Every hub option, defaults filled in."""

    update_interval: float
    logging: LoggingOptions
    journal: JournalOptions
    output: OutputOptions

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> HubOptions:
        """Build from config entry options as the options flow stores them."""
        log: Mapping[str, Any] = options.get(CONF_LOGGING, {})
        journal: Mapping[str, Any] = options.get(CONF_JOURNAL, {})
        output: Mapping[str, Any] = options.get(CONF_OUTPUT, {})
        port = log.get(CONF_SYSLOG_PORT)
        return cls(
            update_interval=float(
                options.get(CONF_UPDATE_INTERVAL, DEFAULT_UPDATE_INTERVAL)
            ),
            logging=LoggingOptions(
                log_topics=tuple(log.get(CONF_LOG_TOPICS, DEFAULT_LOG_TOPICS)),
                transport=log.get(CONF_SYSLOG_TRANSPORT, DEFAULT_SYSLOG_TRANSPORT),
                host=log.get(CONF_SYSLOG_HOST) or DEFAULT_SYSLOG_HOST,
                port=int(port) if port else None,
                path=log.get(CONF_SYSLOG_PATH) or DEFAULT_SYSLOG_PATH,
                ca_file=log.get(CONF_SYSLOG_CA_FILE) or None,
                legacy_format=log.get(CONF_SYSLOG_FORMAT) == SYSLOG_FORMAT_RFC3164,
                facility=log.get(CONF_SYSLOG_FACILITY, DEFAULT_SYSLOG_FACILITY),
                app_name=log.get(CONF_SYSLOG_APP_NAME) or DEFAULT_SYSLOG_APP_NAME,
                hostname=log.get(CONF_SYSLOG_HOSTNAME) or None,
                max_payload_bytes=int(
                    log.get(CONF_MAX_PAYLOAD_BYTES, DEFAULT_MAX_PAYLOAD_BYTES)
                ),
                max_record_bytes=int(
                    log.get(CONF_MAX_RECORD_BYTES, DEFAULT_MAX_RECORD_BYTES)
                ),
                spool_size=int(log.get(CONF_SPOOL_SIZE, DEFAULT_SPOOL_SIZE)),
            ),
            journal=JournalOptions(
                retention=parse_duration(
                    str(journal.get(CONF_JOURNAL_RETENTION, DEFAULT_JOURNAL_RETENTION))
                ),
                max_file_bytes=int(
                    journal.get(CONF_JOURNAL_FILE_MB, DEFAULT_JOURNAL_FILE_MB)
                )
                * 1024
                * 1024,
                flush_interval=float(
                    journal.get(
                        CONF_JOURNAL_FLUSH_INTERVAL, DEFAULT_JOURNAL_FLUSH_INTERVAL
                    )
                ),
            ),
            output=OutputOptions(
                enabled=bool(output.get(CONF_OUTPUT_ENABLED, True)),
                prefix=output.get(CONF_OUTPUT_PREFIX) or DEFAULT_OUTPUT_PREFIX,
                publish_interval=float(
                    output.get(CONF_OUTPUT_INTERVAL, DEFAULT_OUTPUT_INTERVAL)
                ),
                qos=int(output.get(CONF_OUTPUT_QOS, 0)),
                retain=bool(output.get(CONF_OUTPUT_RETAIN, False)),
                legacy_topics=bool(output.get(CONF_OUTPUT_LEGACY, False)),
            ),
        )
