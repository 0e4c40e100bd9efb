"""Service actions of IoTitan, registered once in `async_setup`."""

from __future__ import annotations

from homeassistant.core import HomeAssistant, callback


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register IoTitan's service actions."""
