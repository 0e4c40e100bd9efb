"""Every number states its range, and every error can be seen by a person."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

from homeassistant.data_entry_flow import section
import pytest
import voluptuous as vol

from custom_components.iotitan import config_flow
from custom_components.iotitan.form import (
    number_box,
    range_checked_fields,
    range_errors,
    show_errors_in_sections,
)

STRINGS = json.loads(
    (
        Path(__file__).parent.parent / "custom_components/iotitan/strings.json"
    ).read_text()
)

# Each form, and where its strings are: (schema, error strings, step strings).
FORMS = {
    "options": (
        config_flow.OPTIONS_SCHEMA,
        STRINGS["options"]["error"],
        [STRINGS["options"]["step"]["init"]],
    ),
    "sensor": (
        config_flow.SENSOR_SCHEMA,
        STRINGS["config_subentries"]["sensor"]["error"],
        [
            STRINGS["config_subentries"]["sensor"]["step"][s]
            for s in ("topic", "reconfigure")
        ],
    ),
    "channel": (
        config_flow.CHANNEL_SCHEMA,
        STRINGS["config_subentries"]["channel"]["error"],
        [
            STRINGS["config_subentries"]["channel"]["step"][s]
            for s in ("user", "reconfigure")
        ],
    ),
}


def numbers_in(text: str) -> set[float]:
    """The numbers a sentence mentions ("1,024" is 1024; "-90" is -90)."""
    return {
        float(match.replace(",", ""))
        for match in re.findall(r"-?\d[\d,]*(?:\.\d+)?", text)
    }


def description(step: dict[str, Any], field: str) -> str:
    """A field's help text, at the top of the step or in one of its sections."""
    if field in step.get("data_description", {}):
        return str(step["data_description"][field])
    for sub in step.get("sections", {}).values():
        if field in sub.get("data_description", {}):
            return str(sub["data_description"][field])
    raise AssertionError(f"{field} has no help text")


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_number_states_its_range_and_has_its_own_message(form: str) -> None:
    """The help text gives the range; the range error names it (not voluptuous')."""
    schema, errors, steps = FORMS[form]
    fields = range_checked_fields(schema)
    assert fields, "the form has number fields"
    for field, (minimum, maximum) in fields.items():
        message = errors.get(f"{field}_range")
        assert message, f"{form}: no message for {field}_range"
        assert {minimum, maximum} <= numbers_in(message), (field, message)
        for step in steps:
            assert {minimum, maximum} <= numbers_in(description(step, field)), field


def test_no_number_field_escapes_the_range_check() -> None:
    """A plain NumberSelector with a range would bring back voluptuous' message."""
    for form, (schema, _, _) in FORMS.items():

        def plain_ranged(schema: vol.Schema) -> list[str]:
            found = []
            for marker, validator in schema.schema.items():
                if isinstance(validator, section):
                    found += plain_ranged(validator.schema)
                elif type(validator).__name__ == "NumberSelector" and (
                    "min" in validator.config or "max" in validator.config
                ):
                    found.append(str(marker))
            return found

        assert plain_ranged(schema) == [], form


SCHEMA = vol.Schema(
    {
        vol.Required("interval"): number_box(1, 60),
        vol.Required("name"): str,
        vol.Required("advanced"): section(
            vol.Schema(
                {
                    vol.Required("rows"): number_box(100, 1000),
                    vol.Required("url"): str,
                }
            ),
            {"collapsed": True},
        ),
    }
)


def test_range_errors_inside_and_outside_sections() -> None:
    """Values outside the box's range, at any depth, are reported by field."""
    assert range_errors(SCHEMA, {"interval": 1, "advanced": {"rows": 1000}}) == {}
    assert range_errors(SCHEMA, {"interval": 0.5, "advanced": {"rows": 1001}}) == {
        "interval": "interval_range",
        "rows": "rows_range",
    }
    # The selector itself accepts the number: the flow, not voluptuous, says why.
    assert SCHEMA({"interval": 1e9, "name": "x", "advanced": {"rows": 5, "url": ""}})


def test_errors_inside_a_section_move_onto_it_and_open_it() -> None:
    """The 2026.2 frontend shows an error keyed by a section, not by its field."""
    schema, errors = show_errors_in_sections(
        SCHEMA, {"name": "name_required", "url": "invalid_url", "rows": "rows_range"}
    )
    # Several errors in one section: the first field's, in the form's order.
    assert errors == {"name": "name_required", "advanced": "rows_range"}
    advanced = schema.schema[next(k for k in schema.schema if str(k) == "advanced")]
    assert advanced.options["collapsed"] is False
    # Without errors in it, a section keeps its collapsed state.
    schema, errors = show_errors_in_sections(SCHEMA, {"name": "name_required"})
    advanced = schema.schema[next(k for k in schema.schema if str(k) == "advanced")]
    assert advanced.options["collapsed"] is True
    assert errors == {"name": "name_required"}
