"""Typed views of what the config flows store, parsed once at setup.

One frozen model per subentry kind (`SensorSourceConfig`,
`AlertSubentryConfig`, `ChannelSubentryConfig`), each the one place its stored
shape is written down: the defaults a new subentry's form shows
(`form_defaults`), reading stored data (`from_subentry_data`, with the default
that data without a key means), writing it (`to_subentry_data`, the inverse),
the values the form shows for an existing subentry (`form_values`) and reading
the form back with the checks that need no Home Assistant instance
(`from_form`, which returns the error keys the flows show). The flows keep
their schemas and the checks that need Home Assistant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
import re
from typing import Any, Final

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.components.sensor.const import DEVICE_CLASS_UNITS
from homeassistant.const import CONF_LATITUDE, CONF_LONGITUDE, CONF_NAME
from yarl import URL

from .const import (
    CONF_ADVANCED,
    CONF_AREA_LEVEL,
    CONF_BASE_URL,
    CONF_CHANNEL_ID,
    CONF_DEADBAND,
    CONF_DEVICE,
    CONF_DEVICE_CLASS,
    CONF_DIAGNOSTIC,
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
    CONF_READING,
    CONF_READING_KEY,
    CONF_READING_NAME,
    CONF_READINGS,
    CONF_RULE,
    CONF_SEND_STATUS,
    CONF_SEVERITY,
    CONF_SOURCE,
    CONF_SPOOL_SIZE,
    CONF_STALE_AFTER,
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
    MAX_WINDOW_SECONDS,
    STATISTICS_ORDER,
    SYSLOG_FORMAT_RFC3164,
    WATCH_VALUE,
)
from .engine.alerts import AlertConfig, AlertRule, Severity, validate_alert_config
from .engine.output import DurationError, format_duration, parse_duration
from .engine.payload import parse_value_path
from .engine.thingspeak import DEFAULT_BASE_URL, DEFAULT_MAX_ROWS, ChannelConfig, Plan
from .engine.topic_names import NameTemplateError, check_area_level, check_name_template
from .engine.window import Statistic
from .engine.window_statistic import WindowStatistic

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


READING_KEY_PATTERN: Final = re.compile(r"[a-z0-9_]{1,64}")
"""A reading's key: part of its entities' unique ids, so never changed once stored."""
MAX_READINGS: Final = 32
"""Readings of one source (a Zigbee2MQTT sensor has about six)."""


def reading_key_of(
    value_path: str, taken: set[str] | frozenset[str] = frozenset()
) -> str:
    """A key for a new reading of `value_path` ("AM2301.Temperature" ->
    "am2301_temperature"), not in `taken`.

    The key goes into unique ids, not names: it only has to be stable and
    distinct within the source.
    """
    base = re.sub(r"[^a-z0-9]+", "_", value_path.lower()).strip("_")[:56] or "value"
    key, number = base, 2
    while key in taken:
        key, number = f"{base}_{number}", number + 1
    return key


def source_key(subentry_id: str, reading_key: str) -> str:
    """The key of one reading's source: the subentry id for the reading of key ""
    (every source before 1.6), else both ("<subentry id>:<reading key>")."""
    return f"{subentry_id}:{reading_key}" if reading_key else subentry_id


def split_source_key(key: str) -> tuple[str, str]:
    """The subentry id and reading key of a `source_key`."""
    subentry_id, _, reading_key = key.partition(":")
    return subentry_id, reading_key


@dataclass(frozen=True, slots=True)
class ReadingConfig:
    """One reading of a source's payloads: a value path and how it is shown.

    Windows, statistics and precision left as None follow the source's.
    """

    key: str
    """Part of its entities' unique ids; "" for the one reading of a source
    stored before 1.6 (whose unique ids have no reading part)."""
    value_path: str
    """Where in the payload (empty: the whole payload)."""
    name: str = ""
    """Put before each statistic's name ("Humidity mean 1h"); empty: none."""
    unit: str | None = None
    device_class: str | None = None
    precision: int | None = None
    windows: tuple[float, ...] | None = None
    statistics: tuple[Statistic, ...] | None = None
    diagnostic: bool = False
    """A reading about the device, not the world (link quality, battery voltage):
    its statistics are diagnostic entities."""

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ReadingConfig:
        """Read one stored reading."""
        windows = data.get(CONF_WINDOWS)
        statistics = data.get(CONF_STATISTICS)
        precision = data.get(CONF_PRECISION)
        return cls(
            key=str(data.get(CONF_READING_KEY) or ""),
            value_path=str(data.get(CONF_VALUE_PATH) or ""),
            name=str(data.get(CONF_READING_NAME) or ""),
            unit=data.get(CONF_UNIT) or None,
            device_class=data.get(CONF_DEVICE_CLASS) or None,
            precision=None if precision is None else int(precision),
            windows=None
            if not windows
            else tuple(sorted({float(seconds) for seconds in windows})),
            statistics=None
            if not statistics
            else tuple(s for s in STATISTICS_ORDER if str(s) in statistics),
            diagnostic=bool(data.get(CONF_DIAGNOSTIC, False)),
        )

    def to_data(self) -> dict[str, Any]:
        """The stored form (the inverse of `from_data`)."""
        return {
            CONF_READING_KEY: self.key,
            CONF_VALUE_PATH: self.value_path,
            CONF_READING_NAME: self.name,
            CONF_UNIT: self.unit,
            CONF_DEVICE_CLASS: self.device_class,
            CONF_PRECISION: self.precision,
            CONF_WINDOWS: None if self.windows is None else list(self.windows),
            CONF_STATISTICS: None
            if self.statistics is None
            else [str(statistic) for statistic in self.statistics],
            CONF_DIAGNOSTIC: self.diagnostic,
        }


def check_readings(readings: tuple[ReadingConfig, ...]) -> str | None:
    """The error key of a list of readings a source cannot hold, or None."""
    if not readings:
        return "readings_required"
    if len(readings) > MAX_READINGS:
        return "too_many_readings"
    keys = [reading.key for reading in readings]
    if len(set(keys)) != len(keys) or any(
        key and not READING_KEY_PATTERN.fullmatch(key) for key in keys
    ):
        return "reading_keys_invalid"
    paths = [reading.value_path for reading in readings]
    if len(set(paths)) != len(paths):
        return "reading_paths_repeated"
    for path in paths:
        if path:
            try:
                parse_value_path(path)
            except ValueError:
                return "invalid_value_path"
    return None


@dataclass(frozen=True, slots=True)
class SensorSourceConfig:
    """A sensor subentry's settings: a topic filter and the readings of its payloads.

    `windows`, `statistics` and `precision` are the defaults of readings that
    set none. At runtime each reading becomes a source of its own
    (`for_reading`): a config with that one reading and its windows, statistics
    and precision resolved, whose `value_path`, `unit` and `device_class` are
    the reading's.
    """

    topic: str
    readings: tuple[ReadingConfig, ...]
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
    time_path: str = ""
    """Where the payload says when it was measured (stored since 1.6); empty:
    readings are dated on arrival."""

    @property
    def reading(self) -> ReadingConfig:
        """The one reading of a source with one (ValueError otherwise)."""
        if len(self.readings) != 1:
            raise ValueError(f"{len(self.readings)} readings, not one")
        return self.readings[0]

    @property
    def value_path(self) -> str:
        """The value path of the one reading (see `reading`)."""
        return self.reading.value_path

    @property
    def unit(self) -> str | None:
        """The unit of the one reading (see `reading`)."""
        return self.reading.unit

    @property
    def device_class(self) -> str | None:
        """The device class of the one reading (see `reading`)."""
        return self.reading.device_class

    def for_reading(self, reading: ReadingConfig) -> SensorSourceConfig:
        """This source as one reading sees it, with the defaults filled in."""
        return replace(
            self,
            readings=(reading,),
            windows=reading.windows or self.windows,
            statistics=reading.statistics or self.statistics,
            precision=self.precision
            if reading.precision is None
            else reading.precision,
        )

    def reading_by_key(self, key: str) -> ReadingConfig | None:
        """The reading of that key, if the source has it."""
        return next((reading for reading in self.readings if reading.key == key), None)

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
        """Build from subentry data as the config flow stores it.

        Data of the shape before 1.6 (one value path, unit and device class at
        the top) reads as a source of one reading with the key "".
        """
        advanced: Mapping[str, Any] = data.get(CONF_ADVANCED, {})
        device: Mapping[str, Any] = data.get(CONF_DEVICE, {})
        area_level = device.get(CONF_AREA_LEVEL)
        max_samples = advanced.get(CONF_MAX_SAMPLES)
        if CONF_READINGS in data:
            readings = tuple(
                ReadingConfig.from_data(reading) for reading in data[CONF_READINGS]
            )
        else:
            readings = (
                ReadingConfig.from_data(
                    {
                        CONF_VALUE_PATH: data.get(CONF_VALUE_PATH),
                        CONF_UNIT: data.get(CONF_UNIT),
                        CONF_DEVICE_CLASS: data.get(CONF_DEVICE_CLASS),
                    }
                ),
            )
        return cls(
            topic=data[CONF_TOPIC],
            readings=readings,
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
            time_path=str(data.get(CONF_TIME_PATH) or ""),
        )

    def to_subentry_data(self) -> dict[str, Any]:
        """The subentry data the flow stores (the inverse of `from_subentry_data`)."""
        return {
            CONF_TOPIC: self.topic,
            CONF_READINGS: [reading.to_data() for reading in self.readings],
            CONF_TIME_PATH: self.time_path,
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
        # A source of several readings shows them in a step of their own.
        single = self.readings[0] if len(self.readings) == 1 else ReadingConfig("", "")
        for key, value in (
            (CONF_VALUE_PATH, single.value_path),
            (CONF_UNIT, single.unit),
            (CONF_DEVICE_CLASS, single.device_class),
        ):
            if value:
                values[key] = value
        if self.time_path:
            values[CONF_TIME_PATH] = self.time_path
        if self.name_template:
            values[CONF_DEVICE][CONF_NAME_TEMPLATE] = self.name_template
        if self.area_level is not None:
            values[CONF_DEVICE][CONF_AREA_LEVEL] = self.area_level
        return values

    @classmethod
    def from_form(
        cls,
        user_input: Mapping[str, Any],
        *,
        topic_valid: bool,
        readings: tuple[ReadingConfig, ...] | None = None,
        reading_key: str = "",
    ) -> tuple[SensorSourceConfig, dict[str, str]]:
        """Settings from the sensor form, and the errors of the checks that need
        no Home Assistant instance (field -> error key).

        `topic_valid`: whether the topic filter is one (the flow checks that,
        with the others that need the hub); the device name checks need it.
        `readings`: the readings chosen in the flow's readings step; without
        them the form's value path, unit and device class are the one reading,
        of key `reading_key` (a reconfigured source keeps its reading's key).
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
        time_path = str(user_input.get(CONF_TIME_PATH) or "").strip()
        if time_path:
            try:
                parse_value_path(time_path)
            except ValueError:
                errors[CONF_TIME_PATH] = "invalid_value_path"

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
        if readings is None:
            readings = (
                ReadingConfig(
                    key=reading_key,
                    value_path=value_path,
                    unit=unit,
                    device_class=device_class,
                ),
            )
        elif (readings_error := check_readings(readings)) is not None:
            errors["base"] = readings_error
        config = cls(
            topic=topic,
            readings=readings,
            time_path=time_path,
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


# -- alert subentries ----------------------------------------------------------------


def parse_watch(text: str) -> WindowStatistic | None:
    """What an alert subentry's `watch` names: None for the raw value (`value`).

    Otherwise `<window seconds>/<statistic>` (`WindowStatistic.watch_value`);
    ValueError if neither.
    """
    if text == WATCH_VALUE:
        return None
    return WindowStatistic.from_watch_value(text)


def watch_text(watch: WindowStatistic | None) -> str:
    """The stored form of what an alert watches (see `parse_watch`)."""
    return WATCH_VALUE if watch is None else watch.watch_value


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _delay(text: str | None) -> float:
    """An on/off delay: empty or zero for none, else a duration.

    Raises DurationError: `not_positive` only for a negative delay.
    """
    text = (text or "").strip()
    if not text:
        return 0.0
    try:
        return parse_duration(text)
    except DurationError as err:
        if err.reason == DurationError.NOT_POSITIVE and not text.startswith("-"):
            return 0.0  # "0", "0s", "00:00:00": no delay
        raise


def _limit(user_input: Mapping[str, Any], key: str, needed: bool) -> float | None:
    """A limit the rule uses (None when missing); the others are not stored."""
    value = user_input.get(key)
    return float(value) if needed and value is not None else None


@dataclass(frozen=True, slots=True)
class AlertSubentryConfig:
    """An alert subentry's settings: the source it watches, what of it, its rule."""

    source_id: str
    """The sensor subentry whose topics the alert watches."""
    name: str
    """The user's name for the alert; empty: the flow titles it after its rule."""
    watch: WindowStatistic | None
    """The watched statistic; None for the raw value. Its percentile is the source's."""
    config: AlertConfig
    """The rule and its settings; a flow sets only the limits the rule uses."""
    reading: str = ""
    """The key of the source's reading it watches (stored since 1.6)."""

    @property
    def source_key(self) -> str:
        """The watched reading's source (see `source_key`)."""
        return source_key(self.source_id, self.reading)

    @staticmethod
    def form_defaults() -> dict[str, Any]:
        """What the forms of a new alert show: the rule step its rule, the
        settings step the rest (the form values of the engine's default rule).
        """
        return AlertSubentryConfig(
            source_id="", name="", watch=None, config=AlertConfig(AlertRule.HIGH)
        ).form_values()

    @classmethod
    def from_subentry_data(cls, data: Mapping[str, Any]) -> AlertSubentryConfig:
        """Build from subentry data as the alert flow stores it.

        Unchecked: `validate_alert_config` tells whether the rule can run.
        KeyError, TypeError or ValueError for data that is no alert.
        """
        return cls(
            source_id=str(data[CONF_SOURCE]),
            reading=str(data.get(CONF_READING) or ""),
            name=(data.get(CONF_NAME) or "").strip(),
            watch=parse_watch(data.get(CONF_WATCH, WATCH_VALUE)),
            config=AlertConfig(
                rule=AlertRule(data[CONF_RULE]),
                high=_optional_float(data.get(CONF_HIGH)),
                low=_optional_float(data.get(CONF_LOW)),
                deadband=float(data.get(CONF_DEADBAND) or 0.0),
                stale_after=_optional_float(data.get(CONF_STALE_AFTER)),
                rate_limit=_optional_float(data.get(CONF_RATE_LIMIT)),
                on_delay=float(data.get(CONF_ON_DELAY) or 0.0),
                off_delay=float(data.get(CONF_OFF_DELAY) or 0.0),
                severity=Severity(data.get(CONF_SEVERITY, Severity.WARNING)),
            ),
        )

    def to_subentry_data(self) -> dict[str, Any]:
        """The subentry data the flow stores: plain JSON, durations in seconds,
        limits the rule does not use None (the inverse of `from_subentry_data`).
        """
        config = self.config
        return {
            CONF_NAME: self.name,
            CONF_SOURCE: self.source_id,
            CONF_READING: self.reading,
            CONF_WATCH: watch_text(self.watch),
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

    def form_values(self) -> dict[str, Any]:
        """The settings as the rule and settings steps show them (reconfiguring).

        Limits that are not set and delays of zero are left out, so that the
        form shows those fields empty. The source is chosen in a step of its own.
        """
        config = self.config
        values: dict[str, Any] = {
            CONF_WATCH: watch_text(self.watch),
            CONF_RULE: str(config.rule),
            CONF_DEADBAND: config.deadband,
            CONF_SEVERITY: str(config.severity),
        }
        if self.name:
            values[CONF_NAME] = self.name
        for key, limit in (
            (CONF_HIGH, config.high),
            (CONF_LOW, config.low),
            (CONF_RATE_LIMIT, config.rate_limit),
        ):
            if limit is not None:
                values[key] = limit
        for key, seconds in (
            (CONF_STALE_AFTER, config.stale_after),
            (CONF_ON_DELAY, config.on_delay),
            (CONF_OFF_DELAY, config.off_delay),
        ):
            if seconds:
                values[key] = format_duration(seconds)
        return values

    @classmethod
    def from_form(
        cls, user_input: Mapping[str, Any], *, source_id: str, reading: str = ""
    ) -> tuple[AlertSubentryConfig, dict[str, str]]:
        """Settings from the alert forms, and the errors of their checks (field ->
        error key; none of them needs a Home Assistant instance).

        `user_input` holds the rule step's rule, what is watched (`value` if
        missing) and the settings step's fields. Only the limits the rule uses
        are kept. The settings are only meant to be stored when there is no error.
        """
        errors: dict[str, str] = {}
        rule = AlertRule(user_input[CONF_RULE])
        stale_after: float | None = None
        if rule is AlertRule.STALE and (
            text := (user_input.get(CONF_STALE_AFTER) or "").strip()
        ):
            try:
                stale_after = parse_duration(text)
            except DurationError as err:
                errors[CONF_STALE_AFTER] = (
                    "must_be_positive"
                    if err.reason == DurationError.NOT_POSITIVE
                    else "invalid_duration"
                )
        delays: dict[str, float] = {}
        for key in (CONF_ON_DELAY, CONF_OFF_DELAY):
            try:
                delays[key] = _delay(user_input.get(key))
            except DurationError as err:
                errors[key] = (
                    "negative_delay"
                    if err.reason == DurationError.NOT_POSITIVE
                    else "invalid_duration"
                )
                delays[key] = 0.0
        config = AlertConfig(
            rule=rule,
            high=_limit(
                user_input, CONF_HIGH, rule in (AlertRule.HIGH, AlertRule.RANGE)
            ),
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
        for key, error in validate_alert_config(config).items():
            errors.setdefault(key, error)
        alert = cls(
            source_id=source_id,
            reading=reading,
            name=(user_input.get(CONF_NAME) or "").strip(),
            watch=parse_watch(str(user_input.get(CONF_WATCH, WATCH_VALUE))),
            config=config,
        )
        return alert, errors


# -- ThingSpeak channel subentries ---------------------------------------------------

FIELD_NUMBERS: Final = tuple(range(1, 9))
"""ThingSpeak's field1 to field8."""
WRITE_KEY_PATTERN: Final = re.compile(r"[A-Z0-9]{16}")
CHANNEL_ID_PATTERN: Final = re.compile(r"[0-9]{1,12}")


def field_key(number: int) -> str:
    """A field's name in ThingSpeak and in the channel forms: `field3`."""
    return f"field{number}"


def valid_write_key(key: str) -> bool:
    """ThingSpeak write keys are 16 upper-case letters and digits."""
    return WRITE_KEY_PATTERN.fullmatch(key) is not None


def valid_base_url(url: str) -> bool:
    """An http(s) URL with a host and no query: where the API lives."""
    try:
        parsed = URL(url)
    except ValueError:
        return False
    return (
        parsed.scheme in ("http", "https")
        and bool(parsed.host)
        and not parsed.query_string
        and not parsed.fragment
    )


def parse_channel_id(text: str) -> int | None:
    """A positive channel id, or None."""
    text = text.strip()
    if CHANNEL_ID_PATTERN.fullmatch(text) is None or int(text) <= 0:
        return None
    return int(text)


@dataclass(frozen=True, slots=True)
class FieldSource:
    """Where one ThingSpeak field's value comes from: a statistic of a topic."""

    source_id: str
    """The sensor subentry."""
    topic: str
    """A concrete topic of that source."""
    window: float
    statistic: Statistic
    reading: str = ""
    """The key of the source's reading (stored since 1.6)."""

    @property
    def source_key(self) -> str:
        """The reading's source (see `source_key`)."""
        return source_key(self.source_id, self.reading)

    @property
    def topic_choice(self) -> str:
        """The value of this field's topic in the flow's topic selector."""
        return f"{self.source_key}|{self.topic}"

    @property
    def window_statistic(self) -> WindowStatistic:
        """The statistic this field carries; its percentile is the source's."""
        return WindowStatistic(self.window, self.statistic)

    @property
    def statistic_choice(self) -> str:
        """The value of this field's statistic in the flow's statistic selector."""
        return self.window_statistic.channel_choice

    def to_data(self) -> dict[str, Any]:
        """Subentry data form."""
        return {
            "source": self.source_id,
            "reading": self.reading,
            "topic": self.topic,
            "window": self.window,
            "statistic": str(self.statistic),
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> FieldSource:
        """Rebuild from `to_data`'s form."""
        return cls(
            str(data["source"]),
            str(data["topic"]),
            float(data["window"]),
            Statistic(data["statistic"]),
            str(data.get("reading") or ""),
        )


@dataclass(frozen=True, slots=True)
class ChannelSubentryConfig:
    """A ThingSpeak channel subentry's settings.

    The settings step of the flow gives everything but the fields and the
    status (`from_form`); its fields and statistics steps add those
    (`with_fields`). The write key never shows in repr.
    """

    channel_id: int
    write_key: str = field(repr=False)
    plan: Plan
    upload_interval: float
    """Seconds between rows; whole seconds in the stored data."""
    fields: Mapping[int, FieldSource]
    """By field number (1 to 8), in the order stored."""
    send_status: bool
    latitude: float | None
    longitude: float | None
    base_url: str
    max_rows: int

    @staticmethod
    def form_defaults() -> dict[str, Any]:
        """What the settings form of a new channel shows."""
        return {
            CONF_PLAN: str(Plan.FREE),
            CONF_UPLOAD_INTERVAL: DEFAULT_UPLOAD_INTERVAL,
            CONF_ADVANCED: {
                CONF_BASE_URL: DEFAULT_BASE_URL,
                CONF_MAX_ROWS: DEFAULT_MAX_ROWS,
            },
        }

    @classmethod
    def from_subentry_data(cls, data: Mapping[str, Any]) -> ChannelSubentryConfig:
        """Build from subentry data as the channel flow stores it."""
        advanced: Mapping[str, Any] = data.get(CONF_ADVANCED) or {}
        latitude = data.get(CONF_LATITUDE)
        longitude = data.get(CONF_LONGITUDE)
        return cls(
            channel_id=int(data[CONF_CHANNEL_ID]),
            write_key=str(data[CONF_WRITE_KEY]),
            plan=Plan(data.get(CONF_PLAN, Plan.FREE)),
            upload_interval=float(
                data.get(CONF_UPLOAD_INTERVAL, DEFAULT_UPLOAD_INTERVAL)
            ),
            fields={
                int(number): FieldSource.from_data(source)
                for number, source in (data.get(CONF_FIELDS) or {}).items()
            },
            send_status=bool(data.get(CONF_SEND_STATUS, False)),
            latitude=None if latitude is None else float(latitude),
            longitude=None if longitude is None else float(longitude),
            base_url=str(advanced.get(CONF_BASE_URL) or DEFAULT_BASE_URL),
            max_rows=int(advanced.get(CONF_MAX_ROWS, DEFAULT_MAX_ROWS)),
        )

    def to_subentry_data(self) -> dict[str, Any]:
        """The subentry data the flow stores (the inverse of `from_subentry_data`)."""
        return {
            CONF_CHANNEL_ID: self.channel_id,
            CONF_WRITE_KEY: self.write_key,
            CONF_PLAN: str(self.plan),
            CONF_UPLOAD_INTERVAL: int(self.upload_interval),
            CONF_LATITUDE: self.latitude,
            CONF_LONGITUDE: self.longitude,
            CONF_ADVANCED: {
                CONF_BASE_URL: self.base_url,
                CONF_MAX_ROWS: self.max_rows,
            },
            CONF_FIELDS: {
                str(number): source.to_data() for number, source in self.fields.items()
            },
            CONF_SEND_STATUS: self.send_status,
        }

    def form_values(self) -> dict[str, Any]:
        """The settings as the settings form shows them (reconfiguring).

        The title and whether to send a test row are the flow's.
        """
        values: dict[str, Any] = {
            CONF_CHANNEL_ID: str(self.channel_id),
            CONF_WRITE_KEY: self.write_key,
            CONF_PLAN: str(self.plan),
            CONF_UPLOAD_INTERVAL: int(self.upload_interval),
            CONF_ADVANCED: {
                CONF_BASE_URL: self.base_url,
                CONF_MAX_ROWS: self.max_rows,
            },
        }
        for key, value in (
            (CONF_LATITUDE, self.latitude),
            (CONF_LONGITUDE, self.longitude),
        ):
            if value is not None:
                values[key] = value
        return values

    def fields_form_values(self) -> dict[str, Any]:
        """The topic of each field and the status, as the fields form shows them."""
        values: dict[str, Any] = {
            field_key(number): source.topic_choice
            for number, source in self.fields.items()
        }
        values[CONF_SEND_STATUS] = self.send_status
        return values

    def statistics_form_values(self) -> dict[str, str]:
        """The statistic of each field, as the statistics form shows it."""
        return {
            field_key(number): source.statistic_choice
            for number, source in self.fields.items()
        }

    @classmethod
    def from_form(
        cls, user_input: Mapping[str, Any]
    ) -> tuple[ChannelSubentryConfig, dict[str, str]]:
        """Settings from the settings form, without fields yet (`with_fields`), and
        the errors of the checks that need no Home Assistant instance (field ->
        error key).

        The flow checks the number ranges, whether another channel subentry
        writes to the channel, and the test row. An invalid channel id reads
        as 0; the settings are only meant to be used when there is no error.
        """
        errors: dict[str, str] = {}
        channel_id = parse_channel_id(str(user_input[CONF_CHANNEL_ID]))
        if channel_id is None:
            errors[CONF_CHANNEL_ID] = "invalid_channel_id"
        write_key = str(user_input[CONF_WRITE_KEY]).strip()
        if not valid_write_key(write_key):
            errors[CONF_WRITE_KEY] = "invalid_write_key"
        plan = Plan(user_input[CONF_PLAN])
        interval = int(user_input[CONF_UPLOAD_INTERVAL])
        if interval < plan.min_interval:
            errors[CONF_UPLOAD_INTERVAL] = "interval_too_short"
        advanced = user_input[CONF_ADVANCED]
        base_url = str(advanced[CONF_BASE_URL]).strip().rstrip("/")
        if not valid_base_url(base_url):
            errors[CONF_BASE_URL] = "invalid_url"
        latitude = user_input.get(CONF_LATITUDE)
        longitude = user_input.get(CONF_LONGITUDE)
        config = cls(
            channel_id=channel_id or 0,
            write_key=write_key,
            plan=plan,
            upload_interval=float(interval),
            fields={},
            send_status=False,
            latitude=None if latitude is None else float(latitude),
            longitude=None if longitude is None else float(longitude),
            base_url=base_url,
            max_rows=int(advanced[CONF_MAX_ROWS]),
        )
        return config, errors

    def with_fields(
        self, fields: Mapping[int, FieldSource], *, send_status: bool
    ) -> ChannelSubentryConfig:
        """These settings with the fields and status the later steps chose."""
        return replace(self, fields=dict(fields), send_status=send_status)

    def channel_config(self) -> ChannelConfig:
        """The engine's view of the channel."""
        return ChannelConfig(self.channel_id, self.write_key, self.plan, self.base_url)

    def as_diagnostics(self) -> dict[str, Any]:
        """Settings without the key (and without the location)."""
        return {
            "channel_id": self.channel_id,
            "plan": str(self.plan),
            "upload_interval": self.upload_interval,
            "fields": {
                field_key(number): source.to_data()
                for number, source in sorted(self.fields.items())
            },
            "send_status": self.send_status,
            "location_set": self.latitude is not None or self.longitude is not None,
            "base_url": self.base_url,
            "max_rows": self.max_rows,
        }


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
