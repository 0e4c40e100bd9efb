"""Each subentry's stored shape is declared once, in its model.

The model reads what the flow stores, writes it back unchanged, shows it in the
form, and reads the form back to the same settings.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from custom_components.iotitan.engine.window import Statistic
from custom_components.iotitan.models import SensorSourceConfig

# Sensor subentry data of today's shape (entry 1.5), as the flow stores it: the
# same dict test_config_flow expects from the form, written out by hand.
STORED: dict[str, Any] = {
    "topic": "home/+/temperature",
    "value_path": "DS18B20.Temperature",
    "unit_of_measurement": "°C",
    "device_class": "temperature",
    "words_as_numbers": False,
    "windows": [600.0, 3600.0],
    "statistics": ["mean", "value_max", "percentile"],
    "advanced": {
        "percentile": 90,
        "precision": 1,
        "max_samples": None,
        "max_topics": 50,
    },
    "device": {"name_template": "{2} thermometer", "area_level": 2},
}


def test_stored_data_round_trips_unchanged() -> None:
    config = SensorSourceConfig.from_subentry_data(STORED)
    assert config.windows == (600.0, 3600.0)
    assert config.statistics == (
        Statistic.MEAN,
        Statistic.VALUE_MAX,
        Statistic.PERCENTILE,
    )
    assert (config.name_template, config.area_level) == ("{2} thermometer", 2)
    assert config.to_subentry_data() == STORED
    # Byte for byte: the same keys in the same order, ints stay ints.
    assert json.dumps(config.to_subentry_data()) == json.dumps(STORED)


def test_the_form_shows_what_is_stored_and_reads_it_back() -> None:
    config = SensorSourceConfig.from_subentry_data(STORED)
    form = config.form_values()
    assert form["windows"] == ["10m", "1h"]
    assert form["device"] == {"name_template": "{2} thermometer", "area_level": 2}
    assert "max_samples" not in form["advanced"]  # unset: the box stays empty
    again, errors = SensorSourceConfig.from_form(form, topic_valid=True)
    assert errors == {}
    # The form lists statistics in display order, whatever order was stored.
    assert again.statistics == (
        Statistic.MEAN,
        Statistic.VALUE_MAX,
        Statistic.PERCENTILE,
    )
    assert again == config


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"windows": ["banana"]}, "windows", "invalid_window"),
        ({"windows": ["0s"]}, "windows", "window_not_positive"),
        ({"windows": ["400d"]}, "windows", "window_too_long"),
        ({"windows": []}, "windows", "windows_required"),
        ({"statistics": []}, "statistics", "statistics_required"),
        ({"value_path": "a..b"}, "value_path", "invalid_value_path"),
        (
            {"unit_of_measurement": "kg"},
            "unit_of_measurement",
            "unit_invalid_for_device_class",
        ),
        (
            {"device": {"name_template": "{9}"}},
            "name_template",
            "name_template_beyond_filter",
        ),
        ({"device": {"area_level": 4}}, "area_level", "area_level_beyond_filter"),
    ],
)
def test_form_checks_that_need_no_hub(
    change: dict[str, Any], field: str, error: str
) -> None:
    form = {**SensorSourceConfig.from_subentry_data(STORED).form_values(), **change}
    _, errors = SensorSourceConfig.from_form(form, topic_valid=True)
    assert errors == {field: error}


def test_device_checks_wait_for_a_valid_topic() -> None:
    form = {
        **SensorSourceConfig.from_subentry_data(STORED).form_values(),
        "device": {"name_template": "{9}"},
    }
    assert SensorSourceConfig.from_form(form, topic_valid=False)[1] == {}


def test_a_new_source_form_shows_the_defaults() -> None:
    """What the sensor flow's SENSOR_DEFAULTS held before the model had them."""
    assert SensorSourceConfig.form_defaults() == {
        "device": {},
        "windows": ["1h"],
        "statistics": ["mean", "value_min", "value_max"],
        "advanced": {"percentile": 95, "precision": 2, "max_topics": 500},
    }
