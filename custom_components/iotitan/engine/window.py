"""Time-based sliding window with incremental statistics.

A :class:`SlidingWindow` holds the samples ``(timestamp, value)`` of the last
``max_age`` seconds (optionally at most ``max_samples`` of them) and answers the
statistics of Home Assistant core's ``statistics`` sensor without rescanning the
window: adding or expiring a sample costs O(log n), and every query is O(log n)
or better. A late sample (dated by the sensor) is inserted at its place in time
for O(log n) plus one ``memmove`` of the newer samples. Samples queued with
:meth:`SlidingWindow.add_later` (the journal's replay) are added in bulk, to
the same window, for about a third of the work.

How the samples are stored (about 28 bytes a sample in a window that has run
for a while, against about 120 for tuples of float objects):

- timestamps and values, in time order, in two :class:`array.array` of C
  doubles; the oldest sample is at index ``_head``, and the expired ones before
  it are cut off with one ``memmove`` once they are a sixteenth of the window;
- the values again in a :class:`~.sorted_floats.SortedFloats` (sorted arrays of
  doubles): median, percentile, min and max are index look-ups;
- nothing else per sample: the exact form of a sample (below) is recomputed
  from its floats when it becomes the oldest (``float.as_integer_ratio`` is
  exact), so only the oldest and the newest are kept in that form.

How each statistic is kept:

- median, percentile, min and max: index look-ups in the sorted values;
- sum, mean, variance and standard deviation from exact running sums. Every
  finite float is ``num / 2**k`` (``0 <= k <= 1074``), so ``S1 = sum(v)`` and
  ``S2 = sum(v*v)`` are kept as Python ints, scaled by ``2**kv`` and
  ``2**(2*kv)`` where ``2**kv`` is the finest denominator seen since the window
  was last empty (a few dozen bits for everyday readings, at most 1074).
  Adding and removing are exact, so nothing drifts however long the stream,
  and a query rounds once, exactly as :mod:`statistics` does (it sums exact
  fractions): ``1e9`` plus small noise loses nothing;
- ``average_step`` and ``average_linear`` from two exact running areas,
  ``A = sum(v[i-1] * dt[i])`` and ``B = sum(v[i] * dt[i])`` over neighbouring
  samples (step is ``A / span``, linear is ``(A + B) / (2 * span)``), ints
  scaled by ``2**(kt + kv)`` the same way (``2**kt`` for the timestamps).

Semantics (the same as core's ``statistics`` sensor unless listed below):

- A sample expires when ``now - timestamp > max_age``: a sample exactly
  ``max_age`` old is still in the window, as in core.
- :meth:`SlidingWindow.add` takes the sample's timestamp as "now" for expiry;
  the timer path calls :meth:`SlidingWindow.expire` with the wall clock (core
  purges against the wall clock on both paths; the two agree when the
  timestamp is the receive time).
- Ties: samples with equal timestamps stay in the order they were added (an
  inserted late sample goes after those of its timestamp, as if it had
  arrived last among them); ``last`` and ``change`` read the newest in that
  order.
- ``count`` is ``0`` for an empty window; every other statistic is ``None``
  there. With one sample, ``standard_deviation`` and ``variance`` are ``0.0``,
  ``percentile``, ``average_step`` and ``average_linear`` are the value,
  ``change`` is ``0.0`` and ``change_second`` is ``None``.
- ``variance`` and ``standard_deviation`` are the sample (n-1) ones; they,
  ``mean`` and ``value_min``/``value_max``/``median``/``percentile``/
  ``change``/``change_second`` give bit-for-bit the numbers core gives.

Where we deliberately differ from core, and why:

- Earlier timestamps, two ways (core appends as they come and would
  integrate a negative time span):

  - :meth:`SlidingWindow.add` clamps a sample older than the newest one to the
    newest timestamp. It is for samples dated on arrival (the default for a
    source), where an earlier timestamp can only be the clock stepping back;
    the sample counts as the newest reading, as it is.
  - :meth:`SlidingWindow.insert` is for samples dated by the sensor, which may
    arrive late: it puts the sample at its place in time, and every statistic
    is then exactly (bit for bit) what it would be had the samples arrived in
    time order. A sample the in-order window would not hold is refused
    (``False``), not clamped: one older than ``max_age`` at the window's
    "now" (its newest timestamp, or the latest :meth:`SlidingWindow.expire`
    time if that is later), and, in a window full at ``max_samples``, one
    older than every sample (in time order it would be evicted at once).

  Duplicate timestamps are fine: a zero-length span adds no area.
- ``average_step``/``average_linear`` with two or more samples that all share
  one timestamp (zero time span) return the newest value, as a single sample
  does; core raises ``ZeroDivisionError`` there.
- ``sum`` is the exact sum rounded once (``math.fsum``); core's builtin
  ``sum()`` is compensated and agrees except, rarely, in the last bit.
- ``average_step``/``average_linear`` are the exact areas rounded once; core
  sums floats in a loop and is off by up to about ``n`` ulps of the largest
  value (about ``1e-4`` for ``1e9`` over 1,000 samples).
- A result beyond the float range (e.g. the variance of values near
  ``1e300``) is ``inf``; core raises ``OverflowError``.
- ``-0.0`` is stored as ``0.0`` (the sorted list cannot tell them apart).
- There is no ``keep_last_sample`` option: :meth:`SlidingWindow.expire` can
  empty the window, as core does without that option.
- NaN and infinite values or timestamps are rejected with ``ValueError``.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import accumulate, islice, repeat
import math
from operator import itemgetter, mul, sub
from typing import Final

from .sorted_floats import SortedFloats

__all__ = ["SlidingWindow", "Statistic", "WindowState"]

# The finest power-of-two denominator of a finite double is 2**1074.
MAX_SCALE = 1074

_SQRT_BITS = 2 * 53 + 3  # as statistics._float_sqrt_of_frac

# A sample in exact form: (tn, tk, vn, vk) with t == tn / 2**tk and v == vn / 2**vk.
type _Exact = tuple[int, int, int, int]
_NO_SAMPLE: _Exact = (0, 0, 0, 0)

# The time-ordered arrays drop their expired prefix (one memmove) once it is a
# sixteenth of the samples kept, and at least this long.
_MIN_COMPACT = 16

# Samples queued by `add_later` are added once there are this many, or as many
# as the window holds if that is more (so memory stays within twice the
# window's), or when anything else looks at the window. Fewer than
# `_BULK_MIN_QUEUED`, or fewer than a `_BULK_MIN_SHARE`-th of the window, are
# added one by one: the bulk path rebuilds the whole window.
_QUEUE_LIMIT = 1024
_BULK_MIN_QUEUED = 32
_BULK_MIN_SHARE = 8

_denominator: Final = itemgetter(1)


class Statistic(StrEnum):
    """Statistics of a window, named as in core's ``statistics`` sensor."""

    COUNT = "count"
    MEAN = "mean"
    MEDIAN = "median"
    VALUE_MIN = "value_min"
    VALUE_MAX = "value_max"
    STANDARD_DEVIATION = "standard_deviation"
    VARIANCE = "variance"
    SUM = "sum"
    PERCENTILE = "percentile"
    AVERAGE_STEP = "average_step"
    AVERAGE_LINEAR = "average_linear"
    CHANGE = "change"
    CHANGE_SECOND = "change_second"
    LAST = "last"


def _exact(timestamp: float, value: float) -> _Exact:
    """Return a sample in exact form (``as_integer_ratio`` gives a power-of-two den)."""
    tn, td = timestamp.as_integer_ratio()
    vn, vd = value.as_integer_ratio()
    return tn, td.bit_length() - 1, vn, vd.bit_length() - 1


def _div(num: int, den: int) -> float:
    """Return ``num / den`` (``den > 0``) correctly rounded; ``±inf`` if too large."""
    try:
        return num / den  # int / int true division is correctly rounded
    except OverflowError:
        return math.inf if num > 0 else -math.inf


def _sqrt_div(num: int, den: int) -> float:
    """Return ``sqrt(num / den)`` (``num >= 0``, ``den > 0``) correctly rounded.

    The method of ``statistics._float_sqrt_of_frac`` (what ``statistics.stdev``
    uses): an integer square root with round-to-odd carries enough bits that the
    final int / int division rounds once, correctly.
    """
    q = (num.bit_length() - den.bit_length() - _SQRT_BITS) // 2
    if q >= 0:
        root = math.isqrt(num // (den << 2 * q))
        odd = root * root * (den << 2 * q) != num
        return _div((root | odd) << q, 1)
    root = math.isqrt((num << -2 * q) // den)
    odd = root * root * den != num << -2 * q
    return _div(root | odd, 1 << -q)


@dataclass(frozen=True, slots=True)
class WindowState:
    """Everything a window holds, as plain values (`SlidingWindow.export_state`).

    A window rebuilt from it (`SlidingWindow.from_state`) gives the same
    statistics, bit for bit, and goes on adding and expiring exactly as the
    original would: the samples, their values in order (so that restoring
    sorts nothing), the scales of the exact sums (the finest denominators seen
    since the window was last empty, which may be finer than any sample left
    in it) and the sums themselves at those scales (a handful of ints, so that
    restoring does not walk the samples in Python).
    """

    times: array[float]
    """Timestamps, oldest first."""
    values: array[float]
    """Values, in the order of `times`."""
    sorted_values: array[float]
    """The same values in ascending order."""
    time_scale: int
    """``kt``: timestamps are scaled by ``2**kt`` in the areas."""
    value_scale: int
    """``kv``: values are scaled by ``2**kv`` in the sums."""
    sums: tuple[int, int, int, int]
    """``sum(v)``, ``sum(v*v)``, the step area and the next-value area, as ints
    at those scales (see the module)."""
    expired_to: float = -math.inf
    """The latest time the window was expired to (`insert` refuses samples
    older than ``max_age`` before it; ``-inf``: never expired)."""


class SlidingWindow:
    """Samples of the last ``max_age`` seconds, with incremental statistics.

    ``max_age`` is in seconds (``math.inf`` for no age limit); ``max_samples``
    caps the number of samples kept (the oldest go first), ``None`` for no cap.

    Memory: three C doubles a sample (its timestamp and value in two
    time-ordered arrays, its value again in the sorted arrays of a
    :class:`SortedFloats`), about 28 bytes with the arrays' margins; the running
    sums are a handful of ints, a few hundred bits for everyday readings,
    whatever the number of samples.
    """

    __slots__ = (
        "_area_next",
        "_area_prev",
        "_expired_to",
        "_head",
        "_kt",
        "_kv",
        "_max_age",
        "_max_samples",
        "_newest_exact",
        "_oldest_exact",
        "_queued",
        "_sorted",
        "_sum",
        "_sum_sq",
        "_times",
        "_values",
    )

    def __init__(self, max_age: float, max_samples: int | None = None) -> None:
        """Create an empty window; ``ValueError`` for a bad ``max_age``/``max_samples``."""
        if isinstance(max_age, bool) or not isinstance(max_age, int | float):
            raise ValueError(f"max_age must be a number of seconds, not {max_age!r}")
        if not max_age > 0:  # also rejects NaN
            raise ValueError(f"max_age must be > 0, not {max_age!r}")
        if max_samples is not None and (
            isinstance(max_samples, bool)
            or not isinstance(max_samples, int)
            or max_samples < 1
        ):
            raise ValueError(
                f"max_samples must be an int >= 1 or None, not {max_samples!r}"
            )
        self._max_age = float(max_age)
        self._max_samples = max_samples
        # The samples in time order: _times[i], _values[i] for _head <= i. The
        # expired ones before _head are cut off in batches (see _pop_oldest);
        # an empty window has empty arrays and _head == 0.
        self._times = array("d")
        self._values = array("d")
        self._head = 0
        self._sorted = SortedFloats()
        # Exact forms of the oldest and newest samples, so that each float is
        # converted once on the way in and once on the way out.
        self._oldest_exact = self._newest_exact = _NO_SAMPLE
        # The latest time expire() was given: with the newest timestamp, the
        # window's "now" for refusing late samples (insert). Kept when the
        # window empties; only discard_after (the clock stepped back) lowers it.
        self._expired_to = -math.inf
        # Samples given to add_later and not added yet: times, values.
        self._queued: tuple[array[float], array[float]] | None = None
        self._reset_sums()

    def _reset_sums(self) -> None:
        """Zero the running sums (for an empty window)."""
        # Exact running sums, as ints. Timestamps are scaled by 2**kt and values
        # by 2**kv, the finest power-of-two denominators in the window (so the
        # ints stay small for everyday readings); the sum of squares by 2**(2kv)
        # and the areas by 2**(kt + kv).
        self._kt = self._kv = 0
        self._sum = 0  # sum(v)
        self._sum_sq = 0  # sum(v * v)
        self._area_prev = 0  # sum(v[i-1] * (t[i] - t[i-1])): the step area
        self._area_next = 0  # sum(v[i] * (t[i] - t[i-1])); linear = (prev + next) / 2

    def _rescale(self, tk: int, vk: int) -> None:
        """Raise the scales to at least ``2**tk`` and ``2**vk`` (exact: shifts)."""
        dt = max(tk - self._kt, 0)
        dv = max(vk - self._kv, 0)
        self._kt += dt
        self._kv += dv
        self._sum <<= dv
        self._sum_sq <<= 2 * dv
        self._area_prev <<= dt + dv
        self._area_next <<= dt + dv

    @property
    def max_age(self) -> float:
        """The window length in seconds."""
        return self._max_age

    @property
    def max_samples(self) -> int | None:
        """The most samples kept, or ``None`` for no cap."""
        return self._max_samples

    @property
    def first_timestamp(self) -> float | None:
        """Timestamp of the oldest sample, ``None`` if empty. O(1)."""
        if self._queued is not None:
            self._add_queued()
        return self._times[self._head] if self._times else None

    @property
    def last_timestamp(self) -> float | None:
        """Timestamp of the newest sample, ``None`` if empty. O(1)."""
        if self._queued is not None:
            self._add_queued()
        return self._times[-1] if self._times else None

    def __len__(self) -> int:
        """Return the number of samples in the window. O(1)."""
        if self._queued is not None:
            self._add_queued()
        return len(self._times) - self._head

    def __iter__(self) -> Iterator[tuple[float, float]]:
        """Iterate over ``(timestamp, value)`` pairs, oldest first.

        The iterator works on a copy of the samples (16 bytes each), so the
        window may change meanwhile.
        """
        if self._queued is not None:
            self._add_queued()
        head = self._head
        return zip(self._times[head:], self._values[head:], strict=True)

    def __repr__(self) -> str:
        """Return a short description (not the samples)."""
        return (
            f"{type(self).__name__}(max_age={self._max_age!r}, "
            f"max_samples={self._max_samples!r}, len={len(self)})"
        )

    def export_state(self) -> WindowState:
        """Copy what the window holds (`from_state` rebuilds it). O(n) memory copies.

        The arrays are copies (C-speed slices): the window may go on changing.
        """
        if self._queued is not None:
            self._add_queued()
        head = self._head
        return WindowState(
            times=self._times[head:],
            values=self._values[head:],
            sorted_values=self._sorted.to_array(),
            time_scale=self._kt,
            value_scale=self._kv,
            sums=(self._sum, self._sum_sq, self._area_prev, self._area_next),
            expired_to=self._expired_to,
        )

    @classmethod
    def from_state(
        cls, max_age: float, max_samples: int | None, state: WindowState
    ) -> SlidingWindow:
        """Rebuild a window from `export_state`'s copy (the arrays are taken over).

        O(n) memory copies at C speed and O(1) Python work per window: the
        samples are not walked, so the state must be one `export_state` gave
        (a snapshot whose checksum matched). What can be checked in O(1) is,
        with ``ValueError`` (as for bad settings): the arrays' lengths and
        type, the scales' range and that they cover the oldest and newest
        samples, the cap and the time span, and zero sums for no samples.
        """
        window = cls(max_age, max_samples)
        if math.isnan(state.expired_to) or state.expired_to == math.inf:
            raise ValueError(f"expired to {state.expired_to!r}")
        window._expired_to = state.expired_to
        times, values, ordered = state.times, state.values, state.sorted_values
        n = len(times)
        kt, kv = state.time_scale, state.value_scale
        if not (
            times.typecode == values.typecode == ordered.typecode == "d"
            and len(values) == len(ordered) == n
        ):
            raise ValueError("a window state needs three arrays of doubles, one length")
        if not (0 <= kt <= MAX_SCALE and 0 <= kv <= MAX_SCALE):
            raise ValueError(f"scales out of range: {kt}, {kv}")
        if len(state.sums) != 4:
            raise ValueError("a window state has four sums")
        if not n:
            if kt or kv or any(state.sums):
                raise ValueError("an empty window has no sums")
            return window
        if max_samples is not None and n > max_samples:
            raise ValueError(f"{n} samples in a window of at most {max_samples}")
        first, last = times[0], times[-1]
        if not (math.isfinite(first) and math.isfinite(last) and first <= last):
            raise ValueError("the samples are not in time order")
        if last - first > window._max_age:
            raise ValueError("the samples span more than the window")
        oldest = _exact(first, values[0])
        newest = _exact(last, values[-1])
        if max(oldest[1], newest[1]) > kt or max(oldest[3], newest[3]) > kv:
            raise ValueError("the scales are coarser than the samples")
        window._times = times
        window._values = values
        window._sorted = SortedFloats.from_sorted(ordered)
        window._oldest_exact = oldest
        window._newest_exact = newest
        window._kt, window._kv = kt, kv
        (
            window._sum,
            window._sum_sq,
            window._area_prev,
            window._area_next,
        ) = state.sums
        return window

    def add(self, timestamp: float, value: float) -> None:
        """Add a sample, then drop the samples that fell out of the window.

        ``timestamp`` (POSIX seconds) also serves as "now" for expiry. A timestamp
        earlier than the newest one in the window is clamped to it (for arrival
        times; :meth:`insert` places a late sensor-dated sample instead); equal
        timestamps are fine. ``ValueError`` for NaN or infinite input.

        Runtime complexity: O(log n) amortised (each sample is expired once).
        """
        if self._queued is not None:
            self._add_queued()
        timestamp = float(timestamp)
        value = float(value) + 0.0  # -0.0 -> 0.0: the sorted list can't tell them apart
        if not (math.isfinite(timestamp) and math.isfinite(value)):
            raise ValueError(f"sample must be finite, got ({timestamp!r}, {value!r})")
        times = self._times
        if times and timestamp < times[-1]:
            timestamp = times[-1]
        new = _exact(timestamp, value)
        tn, tk, vn, vk = new
        if tk > self._kt or vk > self._kv:
            self._rescale(tk, vk)
        kt, kv = self._kt, self._kv
        v_scaled = vn << (kv - vk)
        if times:
            last_tn, last_tk, last_vn, last_vk = self._newest_exact
            dt = (tn << (kt - tk)) - (last_tn << (kt - last_tk))
            if dt:  # equal timestamps add no area
                self._area_next += v_scaled * dt
                self._area_prev += (last_vn << (kv - last_vk)) * dt
        else:
            self._oldest_exact = new
        self._newest_exact = new
        self._sum += v_scaled
        self._sum_sq += v_scaled * v_scaled
        times.append(timestamp)
        self._values.append(value)
        self._sorted.add(value)

        max_age = self._max_age
        while timestamp - times[self._head] > max_age:  # the new sample stays
            self._pop_oldest()
        if (
            self._max_samples is not None
            and len(times) - self._head > self._max_samples
        ):
            self._pop_oldest()

    def add_later(self, timestamp: float, value: float) -> None:
        """Queue a sample for `add`: the window ends up the same, for less work.

        For many samples in a row with nothing looking at the window between
        them (the journal's replay at start). The queued samples are added
        before anything else reads or changes the window, and in bulk once
        there are enough: clamped, expired and capped as `add` would, the
        sorted values sorted once, the exact sums computed over the samples
        kept at C speed. The window is then the one `add` gives, bit for bit
        (its state, the scales of its sums included). ``ValueError`` for NaN
        or infinite input, at once, as `add`.

        Runtime complexity: O(1) here; O((n + k) log(n + k)) for the bulk add
        of k queued samples to a window of n, once per ``max(n, 1024)``
        samples queued, so O(log n) amortised.
        """
        timestamp = float(timestamp)
        value = float(value) + 0.0  # as add()
        if not (math.isfinite(timestamp) and math.isfinite(value)):
            raise ValueError(f"sample must be finite, got ({timestamp!r}, {value!r})")
        queued = self._queued
        if queued is None:
            queued = self._queued = (array("d"), array("d"))
        times, values = queued
        times.append(timestamp)
        values.append(value)
        if len(times) >= _QUEUE_LIMIT and len(times) >= len(self._times) - self._head:
            self._add_queued()

    def _add_queued(self) -> None:
        """Add the samples `add_later` queued: in bulk if enough, else one by one."""
        queued = self._queued
        if queued is None:
            return
        self._queued = None
        times, values = queued
        kept = len(self._times) - self._head
        if (
            len(times) >= _BULK_MIN_QUEUED
            and len(times) * _BULK_MIN_SHARE >= kept
            and self._add_bulk(times, values)
        ):
            return
        add = self.add
        for timestamp, value in zip(times, values, strict=True):
            add(timestamp, value)

    def _add_bulk(self, new_times: array[float], new_values: array[float]) -> bool:
        """Add finite samples (``-0.0`` made ``0.0``) as `add` would, rebuilding.

        Return False, having changed nothing, where the shortcut does not
        apply: a timestamp of zero (``max`` cannot tell ``-0.0`` from ``0.0``
        where `add` keeps the later one) or a sample too large for its scale
        to be taken as a float (beyond ``2**1024`` scaled).
        """
        if 0.0 in new_times:
            return False
        head = self._head
        times = self._times[head:]
        values = self._values[head:]
        # add() clamps a timestamp older than the newest to the newest.
        start = (times[-1],) if times else ()
        clamped = array("d", accumulate((*start, *new_times), max))
        times += clamped[len(start) :]
        values += new_values
        # The scales are the finest denominators since the window was last
        # empty: add() never empties it, so the queued samples' count too,
        # the ones about to expire included.
        kt = max(
            self._kt,
            max(map(_denominator, map(float.as_integer_ratio, clamped))).bit_length()
            - 1,
        )
        kv = max(
            self._kv,
            max(map(_denominator, map(float.as_integer_ratio, new_values))).bit_length()
            - 1,
        )
        # What add() keeps at the newest timestamp: the samples not older than
        # max_age (the same float test), at most max_samples of them.
        now, max_age = times[-1], self._max_age
        low, high = 0, len(times) - 1  # the newest always stays
        while low < high:
            middle = (low + high) // 2
            if now - times[middle] > max_age:
                low = middle + 1
            else:
                high = middle
        if self._max_samples is not None:
            low = max(low, len(times) - self._max_samples)
        del times[:low]
        del values[:low]
        # The exact sums over the samples kept: each float times 2**k is an
        # integer, exactly, unless it overflows.
        try:
            scaled_times = list(map(int, map(math.ldexp, times, repeat(kt))))
            scaled_values = list(map(int, map(math.ldexp, values, repeat(kv))))
        except OverflowError:
            return False
        steps = list(map(sub, islice(scaled_times, 1, None), scaled_times))
        self._times = times
        self._values = values
        self._head = 0
        self._sorted = SortedFloats.from_sorted(array("d", sorted(values)))
        self._oldest_exact = _exact(times[0], values[0])
        self._newest_exact = _exact(times[-1], values[-1])
        self._kt, self._kv = kt, kv
        self._sum = sum(scaled_values)
        self._sum_sq = sum(map(mul, scaled_values, scaled_values))
        self._area_prev = sum(map(mul, scaled_values, steps))
        self._area_next = sum(map(mul, islice(scaled_values, 1, None), steps))
        return True

    def insert(self, timestamp: float, value: float) -> bool:
        """Add a sample at its place in time; ``False`` if the window refuses it.

        For samples dated by the sensor, which may arrive late (:meth:`add`
        clamps an earlier timestamp instead). A sample not earlier than the
        newest is added as :meth:`add` adds it. An earlier one goes at its
        time-ordered place, after the samples of the same timestamp (as if it
        had arrived last among them), so ``last`` (the newest by time) does not
        change; the running areas lose the span it splits and gain the two new
        ones, exactly. Afterwards every statistic, and every later expiry, is
        bit for bit what a window fed the same samples in time order would
        give.

        Refused (``False``, the window unchanged; the caller counts it): a
        sample the in-order window would not hold, that is one more than
        ``max_age`` older than the window's "now" (the newest timestamp, or the
        latest :meth:`expire` time if later; exactly ``max_age`` old is kept,
        as :meth:`add` keeps it), or, with ``max_samples`` samples in the
        window, one older than all of them (it would be evicted at once; one
        as old as the oldest goes after it and evicts it). Otherwise the
        sample is added (``True``), evicting the oldest when ``max_samples``
        is exceeded. ``ValueError`` for NaN or infinite input, as :meth:`add`.

        Runtime complexity: in time order, as :meth:`add`; a late sample costs
        O(log n) (a bisection and the sorted values) plus one array insertion,
        a ``memmove`` of the samples newer than it (16 bytes each).
        """
        if self._queued is not None:
            self._add_queued()
        timestamp = float(timestamp)
        value = float(value) + 0.0  # -0.0 -> 0.0, as add()
        if not (math.isfinite(timestamp) and math.isfinite(value)):
            raise ValueError(f"sample must be finite, got ({timestamp!r}, {value!r})")
        times = self._times
        now = self._expired_to
        if times and times[-1] > now:
            now = times[-1]
        if now - timestamp > self._max_age:
            return False  # expire() would drop it at once
        if not times or timestamp >= times[-1]:
            self.add(timestamp, value)  # in time order: nothing is clamped
            return True
        head = self._head
        max_samples = self._max_samples
        if (
            max_samples is not None
            and len(times) - head >= max_samples
            and timestamp < times[head]
        ):
            return False  # the cap would evict it at once
        # Its place: after every sample of the same timestamp; before the
        # newest, which is later. So it has a next sample, and a previous one
        # unless it becomes the oldest.
        i = bisect_right(times, timestamp, head)
        new = _exact(timestamp, value)
        tn, tk, vn, vk = new
        if tk > self._kt or vk > self._kv:
            self._rescale(tk, vk)
        kt, kv = self._kt, self._kv
        t_new = tn << (kt - tk)
        v_new = vn << (kv - vk)
        values = self._values
        next_tn, next_tk, next_vn, next_vk = _exact(times[i], values[i])
        t_next = next_tn << (kt - next_tk)
        v_next = next_vn << (kv - next_vk)
        if i == head:
            # The new oldest: one new span, to the old oldest.
            dt = t_next - t_new
            self._area_prev += v_new * dt
            self._area_next += v_next * dt
            self._oldest_exact = new
        else:
            # The span prev -> next becomes prev -> new -> next. Step area:
            # v_prev*(t_new-t_prev) + v_new*(t_next-t_new) - v_prev*(t_next-t_prev)
            # = (v_new - v_prev) * (t_next - t_new); the other area likewise.
            prev_tn, prev_tk, prev_vn, prev_vk = _exact(times[i - 1], values[i - 1])
            t_prev = prev_tn << (kt - prev_tk)
            v_prev = prev_vn << (kv - prev_vk)
            self._area_prev += (v_new - v_prev) * (t_next - t_new)
            self._area_next += (v_new - v_next) * (t_new - t_prev)
        self._sum += v_new
        self._sum_sq += v_new * v_new
        times.insert(i, timestamp)
        values.insert(i, value)
        self._sorted.add(value)
        if max_samples is not None and len(times) - head > max_samples:
            self._pop_oldest()
        return True

    def expire(self, now: float) -> int:
        """Drop the samples older than ``max_age`` at ``now``; return how many.

        A sample exactly ``max_age`` old stays. ``ValueError`` if ``now`` is not
        finite.

        Runtime complexity: O(k log n) for k samples dropped; O(1) if none.
        """
        if not math.isfinite(now):
            raise ValueError(f"now must be finite, got {now!r}")
        if self._queued is not None:
            self._add_queued()
        if now > self._expired_to:
            self._expired_to = now
        times = self._times
        max_age = self._max_age
        dropped = 0
        while times and now - times[self._head] > max_age:
            self._pop_oldest()
            dropped += 1
        return dropped

    def discard_after(self, now: float) -> int:
        """Drop the samples stamped later than ``now``; return how many.

        For a clock that stepped back: samples taken before the step lie in
        the future of the new clock, and later samples would be clamped to
        them (see :meth:`add`), so the window would hold the future until the
        clock caught up. The window is rebuilt from the samples it keeps. An
        expiry time later than ``now`` is forgotten too (see :meth:`insert`).

        Runtime complexity: O(1) if none is later (the usual case), else
        O(n log n).
        """
        if self._queued is not None:
            self._add_queued()
        if now < self._expired_to:
            self._expired_to = now
        times = self._times
        if not times or times[-1] <= now:
            return 0
        head = self._head
        cut = bisect_right(times, now, head)  # the timestamps never decrease
        kept = list(zip(times[head:cut], self._values[head:cut], strict=True))
        dropped = len(times) - cut
        self._clear()
        for timestamp, value in kept:
            self.add(timestamp, value)
        return dropped

    def _clear(self) -> None:
        """Empty the window, giving the arrays' memory back."""
        # In place: add() and expire() hold on to the arrays.
        del self._times[:]
        del self._values[:]
        self._head = 0
        self._sorted.clear()
        self._oldest_exact = self._newest_exact = _NO_SAMPLE
        self._reset_sums()

    def _pop_oldest(self) -> None:
        """Remove the oldest sample and its share of the running sums. O(log n)."""
        times, values = self._times, self._values
        head = self._head
        self._sorted.remove(values[head])
        head += 1
        kept = len(times) - head
        if not kept:
            # The sums are exactly zero now; this also brings the scales back down.
            self._clear()
            return
        kt, kv = self._kt, self._kv
        tn0, tk0, vn0, vk0 = self._oldest_exact
        v_scaled = vn0 << (kv - vk0)
        self._sum -= v_scaled
        self._sum_sq -= v_scaled * v_scaled
        # The new oldest sample's exact form, from its floats (exactly).
        tn1, td1 = times[head].as_integer_ratio()  # _exact, inlined for speed
        vn1, vd1 = values[head].as_integer_ratio()
        tk1 = td1.bit_length() - 1
        vk1 = vd1.bit_length() - 1
        self._oldest_exact = tn1, tk1, vn1, vk1
        dt = (tn1 << (kt - tk1)) - (tn0 << (kt - tk0))
        if dt:
            self._area_prev -= v_scaled * dt
            self._area_next -= (vn1 << (kv - vk1)) * dt
        if head >= _MIN_COMPACT and head << 4 >= kept:
            # Cut the expired prefix off: a memmove of the kept samples once per
            # kept / 16 samples expired, so the arrays hold at most 1/16 more.
            del times[:head]
            del values[:head]
            head = 0
        self._head = head

    def value(self, statistic: Statistic, percentile: int = 50) -> float | None:
        """Return ``statistic`` of the samples in the window, as core computes it.

        ``percentile`` (1..99) is used by ``Statistic.PERCENTILE`` only. ``count``
        is an int and never ``None``; the others are ``None`` when core gives no
        value (see the module docstring). ``ValueError`` for an unknown statistic
        or a percentile outside 1..99.

        Runtime complexity: O(log n) for median and percentile, O(1) for the rest
        (the exact divisions work on ints of a few thousand bits, independent of n).
        """
        if self._queued is not None:
            self._add_queued()
        if statistic == Statistic.PERCENTILE:
            if isinstance(percentile, bool) or not isinstance(percentile, int):
                raise ValueError(f"percentile must be an int, not {percentile!r}")
            if not 1 <= percentile <= 99:
                raise ValueError(f"percentile must be in 1..99, not {percentile}")
            return self._percentile(percentile)
        try:
            compute = _STATISTICS[statistic]
        except KeyError:
            raise ValueError(f"unknown statistic {statistic!r}") from None
        return compute(self)

    # One method per statistic; each assumes nothing about the others.

    def _count(self) -> float | None:
        return len(self._times) - self._head

    def _mean(self) -> float | None:
        n = len(self._times) - self._head
        return _div(self._sum, n << self._kv) if n else None

    def _median(self) -> float | None:
        # statistics.median: the middle value, or the float mean of the two middle
        # values computed exactly as it does.
        data = self._sorted
        n = len(data)
        if not n:
            return None
        if n % 2:
            return data[n // 2]
        i = n // 2
        return (data[i - 1] + data[i]) / 2

    def _value_min(self) -> float | None:
        return self._sorted[0] if self._sorted else None

    def _value_max(self) -> float | None:
        return self._sorted[-1] if self._sorted else None

    def _sum_squared_deviations(self) -> tuple[int, int]:
        """Return ``(N, D)``: the sample variance is ``N / D`` exactly; n >= 2."""
        n = len(self._times) - self._head
        numerator = n * self._sum_sq - self._sum * self._sum
        return numerator, (n * (n - 1)) << (2 * self._kv)

    def _variance(self) -> float | None:
        n = len(self._times) - self._head
        if n < 2:
            return 0.0 if n else None
        return _div(*self._sum_squared_deviations())

    def _standard_deviation(self) -> float | None:
        n = len(self._times) - self._head
        if n < 2:
            return 0.0 if n else None
        return _sqrt_div(*self._sum_squared_deviations())

    def _sum_values(self) -> float | None:
        return _div(self._sum, 1 << self._kv) if self._times else None

    def _percentile(self, percentile: int) -> float | None:
        # statistics.quantiles(data, n=100, method="exclusive")[percentile - 1],
        # computing only the one cut point asked for, with the same float operations.
        data = self._sorted
        ld = len(data)
        if ld < 2:
            return data[0] if ld else None
        m = ld + 1
        j = percentile * m // 100
        j = 1 if j < 1 else ld - 1 if j > ld - 1 else j
        delta = percentile * m - j * 100
        return (data[j - 1] * (100 - delta) + data[j] * delta) / 100

    def _span(self) -> int:
        """Return ``(t_last - t_first) * 2**kt`` exactly (the window is not empty)."""
        kt = self._kt
        first_tn, first_tk, _, _ = self._oldest_exact
        last_tn, last_tk, _, _ = self._newest_exact
        return (last_tn << (kt - last_tk)) - (first_tn << (kt - first_tk))

    def _average_step(self) -> float | None:
        if not self._times:
            return None
        span = self._span()
        if not span:  # one sample, or all at one timestamp
            return self._values[-1]
        return _div(self._area_prev, span << self._kv)

    def _average_linear(self) -> float | None:
        if not self._times:
            return None
        span = self._span()
        if not span:
            return self._values[-1]
        return _div(self._area_prev + self._area_next, span << (self._kv + 1))

    def _change(self) -> float | None:
        values = self._values
        return values[-1] - values[self._head] if values else None

    def _change_second(self) -> float | None:
        times, values, head = self._times, self._values, self._head
        if len(times) - head > 1:
            age_range_seconds = times[-1] - times[head]
            if age_range_seconds > 0:
                return (values[-1] - values[head]) / age_range_seconds
        return None

    def _last(self) -> float | None:
        return self._values[-1] if self._values else None


_STATISTICS: dict[str, Callable[[SlidingWindow], float | None]] = {
    Statistic.COUNT: SlidingWindow._count,
    Statistic.MEAN: SlidingWindow._mean,
    Statistic.MEDIAN: SlidingWindow._median,
    Statistic.VALUE_MIN: SlidingWindow._value_min,
    Statistic.VALUE_MAX: SlidingWindow._value_max,
    Statistic.STANDARD_DEVIATION: SlidingWindow._standard_deviation,
    Statistic.VARIANCE: SlidingWindow._variance,
    Statistic.SUM: SlidingWindow._sum_values,
    Statistic.AVERAGE_STEP: SlidingWindow._average_step,
    Statistic.AVERAGE_LINEAR: SlidingWindow._average_linear,
    Statistic.CHANGE: SlidingWindow._change,
    Statistic.CHANGE_SECOND: SlidingWindow._change_second,
    Statistic.LAST: SlidingWindow._last,
}
