"""Names a person reads, from IoTitan's translations.

A statistic is named everywhere as its entity is ("Mean 10m", "95th percentile
1h"): in the alert and ThingSpeak field selectors and in an alert's attributes.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN, WATCH_VALUE
from .engine.output import statistic_name_placeholders
from .engine.window import Statistic
from .models import SensorSourceConfig


async def async_statistic_names(
    hass: HomeAssistant, config: SensorSourceConfig
) -> dict[tuple[float, Statistic], str]:
    """Each statistic of each window of a source, named as its entity ("Mean 10m")."""
    translations = await async_get_translations(
        hass, hass.config.language, "entity", {DOMAIN}
    )
    names: dict[tuple[float, Statistic], str] = {}
    for window in config.windows:
        placeholders = statistic_name_placeholders(window, config.percentile)
        for statistic in config.statistics:
            template = translations.get(
                f"component.{DOMAIN}.entity.sensor.{statistic}.name",
                f"{statistic} {{window}}",
            )
            names[window, statistic] = template.format(**placeholders)
    return names


async def async_raw_value_name(hass: HomeAssistant) -> str:
    """What the raw reading is called where a statistic could be chosen instead."""
    translations = await async_get_translations(
        hass, hass.config.language, "selector", {DOMAIN}
    )
    return translations.get(
        f"component.{DOMAIN}.selector.watch.options.{WATCH_VALUE}", WATCH_VALUE
    )
