"""Names a person reads, from IoTitan's translations.

A statistic is named everywhere as its entity is ("Mean 10m", "95th percentile
1h"): in the alert and ThingSpeak field selectors (one option list,
`async_statistic_options`) and in an alert's attributes.
"""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import SelectOptionDict
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN, WATCH_VALUE
from .engine.output import statistic_name_placeholders
from .engine.window_statistic import WindowStatistic
from .models import SensorSourceConfig


async def async_statistic_names(
    hass: HomeAssistant, config: SensorSourceConfig
) -> dict[WindowStatistic, str]:
    """Each statistic of each window of a source, named as its entity ("Mean 10m").

    In the order of the source's windows, then of its statistics.
    """
    translations = await async_get_translations(
        hass, hass.config.language, "entity", {DOMAIN}
    )
    names: dict[WindowStatistic, str] = {}
    for window in config.windows:
        placeholders = statistic_name_placeholders(window, config.percentile)
        for statistic in config.statistics:
            template = translations.get(
                f"component.{DOMAIN}.entity.sensor.{statistic}.name",
                f"{statistic} {{window}}",
            )
            key = WindowStatistic.of_source(window, statistic, config.percentile)
            names[key] = template.format(**placeholders)
    return names


async def async_statistic_options(
    hass: HomeAssistant,
    config: SensorSourceConfig,
    value: Callable[[WindowStatistic], str],
) -> list[SelectOptionDict]:
    """Every selector's options for a source's window statistics, translated.

    `value` gives the form the selector stores, which differs by subentry kind
    and must not change (an alert's `watch_value`, a channel's `channel_choice`).
    """
    return [
        SelectOptionDict(value=value(statistic), label=label)
        for statistic, label in (await async_statistic_names(hass, config)).items()
    ]


async def async_raw_value_name(hass: HomeAssistant) -> str:
    """What the raw reading is called where a statistic could be chosen instead."""
    translations = await async_get_translations(
        hass, hass.config.language, "selector", {DOMAIN}
    )
    return translations.get(
        f"component.{DOMAIN}.selector.watch.options.{WATCH_VALUE}", WATCH_VALUE
    )
