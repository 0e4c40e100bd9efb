"""One statistic of one window, and every way it is written down.

A :class:`WindowStatistic` is what a statistic sensor shows, an alert may
watch, a ThingSpeak field may carry and the MQTT output publishes: ``mean``
over the last hour, or the 95th percentile over ten minutes. Each place that
stores or shows one has its own spelling, kept exactly as it has always been
written (unique ids and stored subentry data must not change by a character):

=====================  ====================  ==========================
form                   3600 s mean           3600 s 95th percentile
=====================  ====================  ==========================
``unique_id_key``      ``3600/mean``         ``3600/p95``
``watch_value``        ``3600/mean``         ``3600/percentile``
``channel_choice``     ``3600.0|mean``       ``3600.0|percentile``
``topic_tail``         ``1h/mean``           ``1h/p95``
diagnostics key        ``3600.0``            ``3600.0``
=====================  ====================  ==========================

The alert watch and the channel choice leave the percentile to the source's
setting, so they read back with ``percentile`` ``None`` until
:meth:`WindowStatistic.with_source_percentile` supplies it.

Nothing here imports Home Assistant.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Self

from .output import format_number, statistic_label, stats_topic_tail
from .window import SlidingWindow, Statistic

__all__ = ["WindowStatistic", "window_diagnostics_key"]


def window_diagnostics_key(window: float) -> str:
    """How diagnostics name a window: ``str`` of its seconds (``3600.0``)."""
    return str(float(window))


@dataclass(frozen=True, slots=True)
class WindowStatistic:
    """A statistic over the samples of the last ``window`` seconds.

    ``percentile`` (1 to 99) belongs to ``Statistic.PERCENTILE`` alone and is
    ``None`` for every other statistic; for a percentile read back from a form
    that leaves it to the source, it is ``None`` until supplied.
    """

    window: float
    """Seconds."""
    statistic: Statistic
    percentile: int | None = None

    def __post_init__(self) -> None:
        """Refuse what no source can have."""
        if not (math.isfinite(self.window) and self.window > 0):
            raise ValueError(
                f"a window is a positive number of seconds: {self.window!r}"
            )
        if self.percentile is None:
            return
        if self.statistic is not Statistic.PERCENTILE:
            raise ValueError(f"{self.statistic} takes no percentile")
        if not 1 <= self.percentile <= 99:
            raise ValueError(f"percentile must be from 1 to 99: {self.percentile!r}")

    @classmethod
    def of_source(cls, window: float, statistic: Statistic, percentile: int) -> Self:
        """A statistic of a source whose percentile setting is ``percentile``."""
        return cls(
            float(window),
            Statistic(statistic),
            percentile if statistic is Statistic.PERCENTILE else None,
        )

    def with_source_percentile(self, percentile: int) -> WindowStatistic:
        """This statistic with the source's percentile, if it is a percentile."""
        return WindowStatistic.of_source(self.window, self.statistic, percentile)

    def value_in(self, window: SlidingWindow) -> float | None:
        """The statistic over the samples now in ``window`` (see its ``value``)."""
        if self.statistic is not Statistic.PERCENTILE:
            return window.value(self.statistic)
        if self.percentile is None:
            raise ValueError("a percentile whose N is not known has no value")
        return window.value(self.statistic, self.percentile)

    # -- the written forms ----------------------------------------------------------

    @property
    def label(self) -> str:
        """The statistic's name, or ``p<N>`` for a percentile (``p95``)."""
        if self.statistic is not Statistic.PERCENTILE:
            return str(self.statistic)
        if self.percentile is None:
            raise ValueError("a percentile whose N is not known has no label")
        return statistic_label(str(self.statistic), self.percentile)

    @property
    def unique_id_key(self) -> str:
        """The part of a statistic sensor's unique id after the topic: ``3600/p95``.

        The window is written with ``:g``: six significant digits, an exponent
        from 1e6 seconds (``2.592e+06`` for 30 days). Registries hold these ids.
        """
        return f"{self.window:g}/{self.label}"

    @property
    def watch_value(self) -> str:
        """How an alert subentry stores what it watches: ``3600/percentile``."""
        return f"{format_number(self.window)}/{self.statistic}"

    @classmethod
    def from_watch_value(cls, text: str) -> WindowStatistic:
        """Read :attr:`watch_value` back (``ValueError`` for anything else)."""
        return cls._read(text, "/")

    @property
    def channel_choice(self) -> str:
        """A ThingSpeak field's option in the channel flow: ``3600.0|mean``."""
        return f"{self.window!r}|{self.statistic}"

    @classmethod
    def from_channel_choice(cls, text: str) -> WindowStatistic:
        """Read :attr:`channel_choice` back (``ValueError`` for anything else)."""
        return cls._read(text, "|")

    @classmethod
    def _read(cls, text: str, separator: str) -> WindowStatistic:
        """`<window><separator><statistic>`, the percentile left to the source."""
        window, found, statistic = text.partition(separator)
        if not found:
            raise ValueError(f"not a window statistic: {text!r}")
        return cls(_seconds(window, text), Statistic(statistic))

    @property
    def topic_tail(self) -> str:
        """The last two levels of the statistic's MQTT output topic: ``1h/p95``."""
        return stats_topic_tail(self.window, self.label)

    @property
    def window_diagnostics_key(self) -> str:
        """How diagnostics name the window (``3600.0``)."""
        return window_diagnostics_key(self.window)


def _seconds(text: str, whole: str) -> float:
    """A window's seconds as a stored form writes them."""
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"not a window statistic: {whole!r}") from None
