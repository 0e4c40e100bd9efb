"""What IoTitan's forms need so that the frontend shows a person every error.

Two things Home Assistant's frontend (2026.2) does not do on its own:

- A `NumberSelector` rejects an out-of-range number while the schema is validated,
  before the flow runs, and the frontend then shows voluptuous' generic text
  ("Value 1000000000.0 is too large for dictionary value @ data['advanced'][...]").
  `number_box` keeps the range in the selector's config, so the frontend still
  offers it, and `range_errors` reports it on the field with a message of its own:
  the error key `<field>_range`.
- The fields of a collapsible section are drawn by `ha-form-expandable`, which
  passes them no errors: an error keyed by such a field is shown nowhere. An error
  keyed by the section's name is shown just above the section.
  `show_errors_in_sections` moves each field's error there and opens the section.
  Messages of errors that fields inside sections can raise therefore name the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
)
import voluptuous as vol


class RangeCheckedNumberSelector(NumberSelector):
    """A number box whose range the flow checks, so the error is its own."""

    def __call__(self, data: Any) -> float:
        """Accept any number; `range_errors` checks the range."""
        value: float = vol.Coerce(float)(data)
        return value


def number_box(
    minimum: float,
    maximum: float,
    step: float | Literal["any"] = 1,
    unit: str | None = None,
) -> RangeCheckedNumberSelector:
    """A number field from `minimum` to `maximum` (checked by `range_errors`)."""
    config = NumberSelectorConfig(
        min=minimum, max=maximum, step=step, mode=NumberSelectorMode.BOX
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    return RangeCheckedNumberSelector(config)


def range_errors(schema: vol.Schema, user_input: Mapping[str, Any]) -> dict[str, str]:
    """`<field>_range` for each number outside its box's range, in sections too.

    A box whose step is 1 also wants a whole number.
    """
    errors: dict[str, str] = {}
    for marker, validator in schema.schema.items():
        key = str(marker)
        value = user_input.get(key)
        if value is None:
            continue
        if isinstance(validator, section):
            errors.update(range_errors(validator.schema, value))
        elif isinstance(validator, RangeCheckedNumberSelector):
            minimum = validator.config.get("min")
            maximum = validator.config.get("max")
            whole = validator.config.get("step") == 1
            if (
                (minimum is not None and value < minimum)
                or (maximum is not None and value > maximum)
                or (whole and value != int(value))
            ):
                errors[key] = f"{key}_range"
    return errors


def range_checked_fields(schema: vol.Schema) -> dict[str, tuple[float, float]]:
    """Every range-checked field of a form, sections included: key -> (min, max)."""
    fields: dict[str, tuple[float, float]] = {}
    for marker, validator in schema.schema.items():
        if isinstance(validator, section):
            fields.update(range_checked_fields(validator.schema))
        elif isinstance(validator, RangeCheckedNumberSelector):
            fields[str(marker)] = (validator.config["min"], validator.config["max"])
    return fields


def show_errors_in_sections(
    schema: vol.Schema, errors: Mapping[str, str]
) -> tuple[vol.Schema, dict[str, str]]:
    """Move errors of fields inside sections onto the section, and open it.

    A section with several errors shows the first; the next appears once the
    first is corrected. Returns the schema to show and the errors to show.
    """
    shown = dict(errors)
    fields: dict[Any, Any] = {}
    for marker, validator in schema.schema.items():
        if isinstance(validator, section):
            inner = [str(key) for key in validator.schema.schema if str(key) in shown]
            if inner:
                section_error = shown[inner[0]]
                for key in inner:
                    del shown[key]
                shown[str(marker)] = section_error
                validator = section(
                    validator.schema, {**validator.options, "collapsed": False}
                )
        fields[marker] = validator
    return vol.Schema(fields), shown
