"""Constants for IoTitan."""

from __future__ import annotations

import logging
from typing import Final

from .engine.syslog import DEFAULT_MAX_RECORD, MAX_MAX_RECORD, MIN_MAX_RECORD
from .engine.window import Statistic

DOMAIN: Final = "iotitan"
LOGGER = logging.getLogger(__package__)

# The stored shape of a hub entry and its subentries; migration.py moves older
# shapes forward one minor version at a time.
CONFIG_ENTRY_VERSION: Final = 1
CONFIG_ENTRY_MINOR_VERSION: Final = 6

# Subentry types.
SUBENTRY_SENSOR: Final = "sensor"
SUBENTRY_ALERT: Final = "alert"
SUBENTRY_CHANNEL: Final = "channel"

# Hub options.
CONF_UPDATE_INTERVAL: Final = "update_interval"
DEFAULT_UPDATE_INTERVAL: Final = 10  # seconds
MIN_UPDATE_INTERVAL: Final = 1
MAX_UPDATE_INTERVAL: Final = 3600

# Hub options: logging of every message (syslog and the local journal).
CONF_LOGGING: Final = "logging"
CONF_LOG_TOPICS: Final = "log_topics"
CONF_SYSLOG_TRANSPORT: Final = "syslog_transport"
CONF_SYSLOG_HOST: Final = "syslog_host"
CONF_SYSLOG_PORT: Final = "syslog_port"
CONF_SYSLOG_PATH: Final = "syslog_path"
CONF_SYSLOG_CA_FILE: Final = "syslog_ca_file"
CONF_SYSLOG_FORMAT: Final = "syslog_format"
CONF_SYSLOG_FACILITY: Final = "syslog_facility"
CONF_SYSLOG_APP_NAME: Final = "syslog_app_name"
CONF_SYSLOG_HOSTNAME: Final = "syslog_hostname"
CONF_MAX_PAYLOAD_BYTES: Final = "max_payload_bytes"
CONF_MAX_RECORD_BYTES: Final = "max_record_bytes"
CONF_SPOOL_SIZE: Final = "spool_size"
CONF_JOURNAL: Final = "journal"
CONF_JOURNAL_RETENTION: Final = "retention"
CONF_JOURNAL_FILE_MB: Final = "max_file_mb"
CONF_JOURNAL_FLUSH_INTERVAL: Final = "flush_interval"

SYSLOG_FORMAT_RFC5424: Final = "rfc5424"
SYSLOG_FORMAT_RFC3164: Final = "rfc3164"
DEFAULT_LOG_TOPICS: Final = ("#",)
DEFAULT_SYSLOG_TRANSPORT: Final = "none"
DEFAULT_SYSLOG_HOST: Final = "localhost"
DEFAULT_SYSLOG_PATH: Final = "/dev/log"
DEFAULT_SYSLOG_FACILITY: Final = "local0"
DEFAULT_SYSLOG_APP_NAME: Final = "iotitan"
DEFAULT_MAX_PAYLOAD_BYTES: Final = 8192
# Largest syslog record: why these numbers, see engine.syslog.DEFAULT_MAX_RECORD.
DEFAULT_MAX_RECORD_BYTES: Final = DEFAULT_MAX_RECORD
MIN_MAX_RECORD_BYTES: Final = MIN_MAX_RECORD
MAX_MAX_RECORD_BYTES: Final = MAX_MAX_RECORD
DEFAULT_SPOOL_SIZE: Final = 100_000
DEFAULT_JOURNAL_RETENTION: Final = "7d"
DEFAULT_JOURNAL_FILE_MB: Final = 16
DEFAULT_JOURNAL_FLUSH_INTERVAL: Final = 1.0

# Hub options: statistics and alerts republished to MQTT.
CONF_OUTPUT: Final = "output"
CONF_OUTPUT_ENABLED: Final = "enabled"
CONF_OUTPUT_PREFIX: Final = "prefix"
CONF_OUTPUT_INTERVAL: Final = "publish_interval"
CONF_OUTPUT_QOS: Final = "qos"
CONF_OUTPUT_RETAIN: Final = "retain"
CONF_OUTPUT_LEGACY: Final = "legacy_topics"
DEFAULT_OUTPUT_PREFIX: Final = "iotitan"
DEFAULT_OUTPUT_INTERVAL: Final = 60

# Sensor subentry data.
CONF_TOPIC: Final = "topic"
CONF_VALUE_PATH: Final = "value_path"
CONF_UNIT: Final = "unit_of_measurement"
CONF_DEVICE_CLASS: Final = "device_class"
CONF_WORDS_AS_NUMBERS: Final = "words_as_numbers"
CONF_WINDOWS: Final = "windows"
CONF_STATISTICS: Final = "statistics"
CONF_ADVANCED: Final = "advanced"
CONF_PERCENTILE: Final = "percentile"
CONF_PRECISION: Final = "precision"
CONF_MAX_SAMPLES: Final = "max_samples"
CONF_MAX_TOPICS: Final = "max_topics"
CONF_DEVICE: Final = "device"
CONF_NAME_TEMPLATE: Final = "name_template"
CONF_AREA_LEVEL: Final = "area_level"
CONF_READINGS: Final = "readings"
"""A sensor source's readings (stored since 1.6), each a value path of the payload."""
CONF_READING_KEY: Final = "key"
CONF_READING_NAME: Final = "name"
CONF_TIME_PATH: Final = "time_path"
"""Where a sensor-dated source reads each reading's time; empty: arrival time."""
CONF_READING: Final = "reading"
CONF_DIAGNOSTIC: Final = "diagnostic"
"""The reading (its key) of a source that an alert or a ThingSpeak field follows."""

# Alert subentry data (field names match engine.alerts.AlertConfig).
CONF_SOURCE: Final = "source"
CONF_WATCH: Final = "watch"
CONF_RULE: Final = "rule"
CONF_HIGH: Final = "high"
CONF_LOW: Final = "low"
CONF_DEADBAND: Final = "deadband"
CONF_STALE_AFTER: Final = "stale_after"
CONF_RATE_LIMIT: Final = "rate_limit"
CONF_ON_DELAY: Final = "on_delay"
CONF_OFF_DELAY: Final = "off_delay"
CONF_SEVERITY: Final = "severity"
WATCH_VALUE: Final = "value"
"""Watch the raw reading; otherwise `<window seconds>/<statistic>`."""
EVENT_ALERT: Final = f"{DOMAIN}_alert"

DEFAULT_WINDOWS: Final = (3600.0,)
DEFAULT_STATISTICS: Final = (
    Statistic.MEAN,
    Statistic.VALUE_MIN,
    Statistic.VALUE_MAX,
)
DEFAULT_PERCENTILE: Final = 95
DEFAULT_PRECISION: Final = 2
DEFAULT_MAX_TOPICS: Final = 500
MAX_WINDOW_SECONDS: Final = 366 * 86400
WINDOW_SUGGESTIONS: Final = ("1m", "5m", "10m", "15m", "1h", "6h", "24h", "7d")

# Statistics in the order the UI lists them.
STATISTICS_ORDER: Final = (
    Statistic.MEAN,
    Statistic.MEDIAN,
    Statistic.VALUE_MIN,
    Statistic.VALUE_MAX,
    Statistic.STANDARD_DEVIATION,
    Statistic.VARIANCE,
    Statistic.PERCENTILE,
    Statistic.AVERAGE_STEP,
    Statistic.AVERAGE_LINEAR,
    Statistic.CHANGE,
    Statistic.CHANGE_SECOND,
    Statistic.SUM,
    Statistic.COUNT,
    Statistic.LAST,
)

# ThingSpeak channel subentry data.
CONF_CHANNEL_ID: Final = "channel_id"
CONF_WRITE_KEY: Final = "write_api_key"
CONF_PLAN: Final = "plan"
CONF_UPLOAD_INTERVAL: Final = "upload_interval"
CONF_FIELDS: Final = "fields"
CONF_SEND_STATUS: Final = "send_status"
CONF_SEND_TEST_ROW: Final = "send_test_row"
CONF_BASE_URL: Final = "base_url"
CONF_MAX_ROWS: Final = "max_rows"
CONF_SUBENTRY_ID: Final = "subentry_id"
"""Reauthentication: which channel's write key was refused."""
DEFAULT_UPLOAD_INTERVAL: Final = 300  # seconds
MAX_UPLOAD_INTERVAL: Final = 86400
MIN_OUTBOX_ROWS: Final = 100
MAX_OUTBOX_ROWS: Final = 1_000_000
