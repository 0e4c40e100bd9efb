"""Rows waiting for ThingSpeak: the row type and the persisted, bounded outbox.

A `Row` is one ThingSpeak channel entry: an exact UTC ``created_at`` plus
``field1``..``field8``, ``status``, ``latitude`` and ``longitude``. An `Outbox`
holds the rows of one channel, oldest first, until they are uploaded, together
with everything that must survive a restart (see `Outbox.to_dict`).

Timestamps. ThingSpeak keeps ``created_at`` to the second (its feeds answer
``"2018-09-10T17:41:59Z"``) and documents that every timestamp must be unique in
a channel. A row is therefore truncated to whole seconds when it is made, and
the outbox keeps ``created_at`` strictly increasing: a row that would share a
second with (or come before) the newest row the outbox ever accepted is moved
to the next free second (``counters.retimed`` counts those). The timestamp is
fixed when the row enters the outbox and is persisted with it; it is never
recomputed (no ``delta_t``), so a row sent twice carries the same timestamp both
times, which is what lets ThingSpeak's uniqueness rule protect us from storing it
twice (see the `thingspeak` module docstring for the whole no-duplicate design).
The one exception is a row that cannot be stored yet whose second another
writer took: `Outbox.redate_first` moves it (``counters.redated``).

This module does no I/O and knows nothing of Home Assistant.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields as dataclass_fields, replace
from datetime import UTC, datetime, timedelta
import logging
import math
from typing import Any, Final

_LOGGER = logging.getLogger("custom_components.iotitan.engine.thingspeak")

type FieldValue = str | float | None
"""A field value: text or a number (ints are accepted), or None for no value."""

FIELD_NAMES: Final = tuple(f"field{i}" for i in range(1, 9))
DEFAULT_MAX_ROWS: Final = 20_000
DEFAULT_MAX_DEAD_LETTERS: Final = 1_000
OUTBOX_FORMAT_VERSION: Final = 1
_ONE_SECOND: Final = timedelta(seconds=1)
_MAX_HELD: Final = 32


def format_created_at(value: datetime) -> str:
    """Format an aware datetime as ThingSpeak's ISO 8601 UTC form, to the second."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_created_at(value: str) -> datetime:
    """Parse an ISO 8601 timestamp with a zone (``Z`` or an offset) into UTC."""
    if not isinstance(value, str):
        raise TypeError(f"created_at must be a string, not {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"created_at has no time zone: {value!r}")
    return parsed.astimezone(UTC)


def _check_value(name: str, value: object) -> None:
    if value is None or isinstance(value, str):
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"{name} must be str, int, float or None, not {type(value).__name__}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name} must be finite, not {value!r}")


def _check_coordinate(name: str, value: object, limit: float) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise ValueError(f"{name} must be between -{limit:g} and {limit:g}")


@dataclass(frozen=True, slots=True)
class Row:
    """One channel entry for ThingSpeak.

    ``created_at`` must be timezone-aware; it is converted to UTC and truncated
    to whole seconds. Field values are ``str``, ``int``, ``float`` (finite) or
    None; ``bool`` is refused (send 1/0 or "on"/"off"). Latitude and longitude
    are checked against the documented ranges (-90..90, -180..180).
    """

    created_at: datetime
    field1: FieldValue = None
    field2: FieldValue = None
    field3: FieldValue = None
    field4: FieldValue = None
    field5: FieldValue = None
    field6: FieldValue = None
    field7: FieldValue = None
    field8: FieldValue = None
    status: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    _iso: str = field(init=False, repr=False, compare=False, default="")
    _dict: dict[str, Any] | None = field(
        init=False, repr=False, compare=False, default=None
    )

    def __post_init__(self) -> None:
        """Validate and normalise (UTC, whole seconds)."""
        created_at = self.created_at
        if not isinstance(created_at, datetime):
            raise TypeError("created_at must be a datetime")
        if created_at.tzinfo is None or created_at.utcoffset() is None:
            raise ValueError("created_at must be timezone-aware")
        created_at = created_at.astimezone(UTC).replace(microsecond=0)
        object.__setattr__(self, "created_at", created_at)
        object.__setattr__(self, "_iso", format_created_at(created_at))
        for name in FIELD_NAMES:
            _check_value(name, getattr(self, name))
        if self.status is not None and not isinstance(self.status, str):
            raise TypeError("status must be a string or None")
        _check_coordinate("latitude", self.latitude, 90.0)
        _check_coordinate("longitude", self.longitude, 180.0)

    @classmethod
    def with_fields(
        cls,
        created_at: datetime,
        values: Mapping[int, FieldValue],
        *,
        status: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> Row:
        """Build a row from ``{field number (1..8): value}``."""
        kwargs: dict[str, FieldValue] = {}
        for number, value in values.items():
            if not isinstance(number, int) or not 1 <= number <= 8:
                raise ValueError(f"field number must be 1..8, not {number!r}")
            kwargs[f"field{number}"] = value
        return cls(
            created_at,
            status=status,
            latitude=latitude,
            longitude=longitude,
            **kwargs,
        )

    @property
    def fields(self) -> dict[int, FieldValue]:
        """The fields that have a value, as ``{number: value}``."""
        return {
            number: value
            for number, name in enumerate(FIELD_NAMES, start=1)
            if (value := getattr(self, name)) is not None
        }

    def retimed(self, created_at: datetime) -> Row:
        """Return a copy with another ``created_at``."""
        return replace(self, created_at=created_at)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-able form, which is also ThingSpeak's bulk update entry.

        Keys with no value are left out.
        """
        cached = self._dict
        if cached is None:
            cached = {"created_at": self._iso}
            for name in _VALUE_NAMES:
                value = getattr(self, name)
                if value is not None:
                    cached[name] = value
            object.__setattr__(self, "_dict", cached)
        return dict(cached)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Row:
        """Rebuild a row from `to_dict`'s form. Unknown keys are an error."""
        if not isinstance(data, Mapping):
            raise TypeError("a row must be a mapping")
        unknown = set(data) - _ROW_KEYS
        if unknown:
            raise ValueError(f"unknown row keys: {sorted(unknown)}")
        if "created_at" not in data:
            raise ValueError("a row needs created_at")
        values = {key: value for key, value in data.items() if key != "created_at"}
        return cls(parse_created_at(data["created_at"]), **values)


_VALUE_NAMES: Final = (*FIELD_NAMES, "status", "latitude", "longitude")
_ROW_KEYS: Final = frozenset(("created_at", *_VALUE_NAMES))


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A row ThingSpeak refused for good, why, and when."""

    row: Row
    reason: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-able form."""
        return {
            "row": self.row.to_dict(),
            "reason": self.reason,
            "at": self.at.astimezone(UTC).isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeadLetter:
        """Rebuild from `to_dict`'s form."""
        return cls(
            Row.from_dict(data["row"]),
            str(data["reason"]),
            parse_created_at(data["at"]),
        )


@dataclass(slots=True)
class OutboxCounters:
    """Lifetime counters of one channel's outbox (persisted with it).

    produced: rows accepted by `Outbox.add`.
    uploaded: rows ThingSpeak acknowledged.
    dropped_overflow: oldest rows dropped because the outbox was full.
    dead_lettered: rows ThingSpeak refused for good (moved to the dead letters).
    assumed_stored: rows that were refused only after an attempt with an unknown
        outcome (timeout, dropped connection, 5xx, restart mid-upload): ThingSpeak
        refuses a created_at it already has, so they are taken as stored.
    failed_attempts: upload calls that did not succeed (any reason).
    retimed: rows moved to the next free second to keep created_at unique.
    delivered_after_unknown: rows of a batch whose earlier attempt had an
        unknown outcome and that ThingSpeak then refused as already stored
        (duplicate created_at): that attempt stored them, so they count as
        delivered at once (not in ``uploaded``, which counts acknowledged rows).
    redated: rows moved to another second because ThingSpeak refused their
        created_at as taken (another writer of the channel holds it).
    """

    produced: int = 0
    uploaded: int = 0
    dropped_overflow: int = 0
    dead_lettered: int = 0
    assumed_stored: int = 0
    failed_attempts: int = 0
    retimed: int = 0
    delivered_after_unknown: int = 0
    redated: int = 0

    def to_dict(self) -> dict[str, int]:
        """Return the JSON-able form."""
        return {item.name: getattr(self, item.name) for item in dataclass_fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutboxCounters:
        """Rebuild from `to_dict`'s form; missing or malformed counters are 0."""
        counters = cls()
        for item in dataclass_fields(cls):
            value = data.get(item.name, 0)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                setattr(counters, item.name, value)
        return counters


def _is_row_time(second: datetime, interval: float) -> bool:
    """Whether a row made at a multiple of ``interval`` (s, UTC) lands on ``second``."""
    start = second.timestamp()
    multiple = math.ceil(start / interval) * interval
    return multiple < start + 1


def _max_time(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


class Outbox:
    """The ordered, bounded queue of one channel's rows waiting for upload.

    Rows are kept oldest first with strictly increasing ``created_at``. When more
    than ``max_rows`` wait, the oldest row that is not part of the upload under
    way is dropped and counted. Rows refused for good go to a bounded list of
    dead letters (the oldest dead letter is forgotten first).

    Persisted state (`to_dict`): the rows, the dead letters, the counters, the
    ``high_water`` mark (newest created_at ThingSpeak acknowledged), the newest
    created_at ever accepted (so that timestamps stay unique across restarts)
    ``uncertain_through`` (rows at or below it were in an attempt whose outcome
    is unknown, so ThingSpeak may already hold them) and ``last_call_at`` (wall
    time of the last call, so that spacing also holds across a restart), the
    seconds held for test rows (`hold_second`; re-dating skips them) and
    ``clean_stop`` (see `possibly_stored`). `dirty` tells the sender that the
    persisted copy is behind.

    Not thread-safe: use it from one event loop.
    """

    def __init__(
        self,
        *,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_dead_letters: int = DEFAULT_MAX_DEAD_LETTERS,
    ) -> None:
        """Make an empty outbox."""
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        if max_dead_letters < 0:
            raise ValueError("max_dead_letters must not be negative")
        self._max_rows = max_rows
        self._rows: deque[Row] = deque()
        self._dead_letters: deque[DeadLetter] = deque(maxlen=max_dead_letters)
        self.counters = OutboxCounters()
        self._high_water: datetime | None = None
        self._newest: datetime | None = None
        self._uncertain_through: datetime | None = None
        self._uncertain_before_attempt: datetime | None = None
        self._in_flight = 0
        self._restored_through: datetime | None = None
        # Seconds held for writes made elsewhere (test rows), newest last.
        self._held: deque[datetime] = deque(maxlen=_MAX_HELD)
        self.clean_stop = False
        """Set by the sender for its last save when it stops: the saved copy is
        then as new as what ThingSpeak got. Without it (a crash, or saves that
        failed while uploads went on), rows loaded back may have been stored by
        calls the saved copy does not know of (see `possibly_stored`)."""
        self.last_call_at: datetime | None = None
        """Wall time of the last upload call, so spacing holds across restarts."""
        self.dirty = False

    # -- reading -----------------------------------------------------------------

    def __len__(self) -> int:
        """Return the number of rows waiting."""
        return len(self._rows)

    @property
    def max_rows(self) -> int:
        """Return the bound on rows waiting."""
        return self._max_rows

    @property
    def rows(self) -> tuple[Row, ...]:
        """Return the rows waiting, oldest first (a copy)."""
        return tuple(self._rows)

    @property
    def dead_letters(self) -> tuple[DeadLetter, ...]:
        """Return the dead letters, oldest first (a copy)."""
        return tuple(self._dead_letters)

    @property
    def high_water(self) -> datetime | None:
        """Return the newest created_at ThingSpeak acknowledged."""
        return self._high_water

    @property
    def uncertain_through(self) -> datetime | None:
        """Return the newest created_at sent in an attempt of unknown outcome."""
        return self._uncertain_through

    @property
    def in_flight(self) -> int:
        """Return how many rows (at the front) the upload under way carries."""
        return self._in_flight

    def peek(self, count: int) -> list[Row]:
        """Return up to ``count`` rows from the front, oldest first."""
        return [self._rows[i] for i in range(min(count, len(self._rows)))]

    def uncertain_count(self, limit: int) -> int:
        """Return how many front rows (at most ``limit``) are in the uncertain range.

        The sender retries such rows as a batch of their own, so that a refusal
        of duplicates proves that the earlier attempt stored all of them.
        """
        uncertain = self._uncertain_through
        if uncertain is None:
            return 0
        count = 0
        for row in self._rows:
            if count >= limit or row.created_at > uncertain:
                break
            count += 1
        return count

    def is_uncertain(self, row: Row) -> bool:
        """Return True when ``row`` was in an attempt of unknown outcome."""
        uncertain = self._uncertain_through
        return uncertain is not None and row.created_at <= uncertain

    def possibly_stored(self, row: Row) -> bool:
        """Return True when ThingSpeak may hold ``row`` already.

        That is a row of an attempt of unknown outcome, or a row loaded from a
        copy saved without a clean stop (calls after that save may have stored
        it). A refusal of its created_at then means it is stored: it is never
        re-dated (which would store it twice).
        """
        restored = self._restored_through
        return self.is_uncertain(row) or (
            restored is not None and row.created_at <= restored
        )

    # -- producing ---------------------------------------------------------------

    def add(self, row: Row) -> Row:
        """Queue a row and return it as queued (possibly moved to a later second).

        When the outbox is full the oldest row not in flight is dropped.
        """
        floor = _max_time(self._newest, self._high_water)
        if floor is not None and row.created_at <= floor:
            row = row.retimed(floor + _ONE_SECOND)
            self.counters.retimed += 1
        self._rows.append(row)
        self._newest = row.created_at
        self.counters.produced += 1
        if len(self._rows) > self._max_rows:
            index = min(self._in_flight, len(self._rows) - 1)
            dropped = self._rows[index]
            del self._rows[index]
            self.counters.dropped_overflow += 1
            if self.counters.dropped_overflow % 1000 == 1:
                _LOGGER.warning(
                    "ThingSpeak outbox full (%d rows): dropping the oldest rows "
                    "(%s now; %d dropped so far)",
                    self._max_rows,
                    format_created_at(dropped.created_at),
                    self.counters.dropped_overflow,
                )
        self.dirty = True
        return row

    # -- the upload protocol used by the sender ------------------------------------

    def begin_attempt(self, count: int) -> list[Row]:
        """Mark the first ``count`` rows as in flight and return them.

        Until `end_attempt`, the rows are taken to be possibly stored by
        ThingSpeak (``uncertain_through`` covers them), so that a crash during
        the attempt, once persisted, is handled on the next start.
        """
        if self._in_flight:
            raise RuntimeError("an attempt is already under way")
        rows = self.peek(count)
        if not rows:
            return rows
        self._in_flight = len(rows)
        self._uncertain_before_attempt = self._uncertain_through
        newest = _max_time(self._uncertain_through, rows[-1].created_at)
        if newest != self._uncertain_through:
            self._uncertain_through = newest
            self.dirty = True
        return rows

    def end_attempt(self, *, outcome_known: bool) -> None:
        """Close the attempt opened by `begin_attempt`.

        ``outcome_known`` is True when ThingSpeak's answer says whether it stored
        the rows; otherwise they stay in the uncertain range.
        """
        if outcome_known and self._uncertain_through != self._uncertain_before_attempt:
            self._uncertain_through = self._uncertain_before_attempt
            self.dirty = True
        self._in_flight = 0

    def commit(self, rows: Iterable[Row]) -> int:
        """Record that ThingSpeak stored ``rows`` (a prefix of the outbox).

        Removes every waiting row at or below the newest of them, advances the
        high-water mark and returns how many rows were removed.
        """
        newest = max((row.created_at for row in rows), default=None)
        if newest is None:
            return 0
        removed = 0
        while self._rows and self._rows[0].created_at <= newest:
            self._rows.popleft()
            removed += 1
        self._in_flight = max(0, self._in_flight - removed)
        self.counters.uploaded += removed
        self._advance_high_water(newest)
        self.dirty = True
        return removed

    def deliver_after_unknown(self, rows: Iterable[Row]) -> int:
        """Record that ``rows`` (a prefix) were stored by an attempt of unknown outcome.

        ThingSpeak refused them as duplicates: their created_at exist, which
        only that attempt can have written. Counted in
        ``counters.delivered_after_unknown``; returns how many rows left.
        """
        removed = self.commit(rows)
        self.counters.uploaded -= removed
        self.counters.delivered_after_unknown += removed
        return removed

    def redate_first(
        self, origin: datetime, tries: int, max_shift: float | None
    ) -> datetime | None:
        """Move the first row off a second another writer took; return its new time.

        Candidates are ``origin`` +1 s, -1 s, +2 s, -2 s, ... (``tries`` of them
        were refused already), strictly above everything acknowledged or
        uncertain and strictly between the neighbouring queued rows, and less
        than ``max_shift`` (the row interval) from ``origin``: the row stays in
        its interval, in order, and unique among our rows. When no such second
        is left (1 s intervals), the row moves one second past its current one
        and the queued rows right behind it move along where they would meet
        it (the same as `add` does). Returns None when the outbox is empty or
        the first row is in flight.
        """
        if not self._rows or self._in_flight:
            return None
        row = self._rows[0]
        lower = _max_time(self._high_water, self._uncertain_through)
        upper = self._rows[1].created_at if len(self._rows) > 1 else None
        held = set(self._held)
        limit = math.inf if max_shift is None else max_shift
        candidates = 0
        highest = max(origin, row.created_at)
        new_time: datetime | None = None
        shift = 1
        while shift < limit and new_time is None:
            above = origin + shift * _ONE_SECOND
            below = origin - shift * _ONE_SECOND
            above_ok = upper is None or above < upper
            below_ok = lower is None or below > lower
            if not above_ok and not below_ok:
                break
            for candidate, ok in ((above, above_ok), (below, below_ok)):
                if not ok or candidate in held:
                    continue
                if candidates == tries:
                    new_time = candidate
                    break
                candidates += 1
                highest = max(highest, candidate)
            shift += 1
        if new_time is None:
            new_time = highest + _ONE_SECOND
            while new_time in held:
                new_time += _ONE_SECOND
        self._rows[0] = row.retimed(new_time)
        previous = new_time
        for index in range(1, len(self._rows)):
            following = self._rows[index]
            if following.created_at > previous:
                break
            previous = previous + _ONE_SECOND
            while previous in held:
                previous += _ONE_SECOND
            self._rows[index] = following.retimed(previous)
            self.counters.retimed += 1
        self._newest = _max_time(self._newest, previous)
        if tries == 0:
            self.counters.redated += 1
        self.dirty = True
        return new_time

    def free_second(self, at: datetime, intervals: Iterable[float] = ()) -> datetime:
        """Return a second for a write made elsewhere (a test row); change nothing.

        The second is the first one at or after ``at`` (whole seconds) that is
        later than every row queued, acknowledged or in an uncertain attempt,
        and that is not a row time of any of ``intervals`` (rows are made at
        whole multiples of the interval, in UTC) when such a second exists
        close by (intervals of 2 s or more). `hold_second` keeps it free.
        """
        floor = _max_time(
            _max_time(self._newest, self._high_water), self._uncertain_through
        )
        second = at.astimezone(UTC).replace(microsecond=0)
        if floor is not None and second <= floor:
            second = floor + _ONE_SECOND
        steps = [value for value in intervals if value > 1]
        for _ in range(3):
            if not any(_is_row_time(second, value) for value in steps):
                break
            second += _ONE_SECOND
        return second

    def hold_second(self, second: datetime) -> None:
        """Keep ``second`` from every later row: it becomes their floor.

        A row that would get it (or an earlier second) is moved past it by
        `add` (counted in ``retimed``). With a 1 s interval every second is a
        row time: the rows from then on are stamped one second later, until a
        row is skipped.
        """
        self._newest = _max_time(self._newest, second)
        if second not in self._held:
            self._held.append(second)
        self.dirty = True

    def reserve_second(self, at: datetime, intervals: Iterable[float] = ()) -> datetime:
        """Return `free_second` and hold it (`hold_second`)."""
        second = self.free_second(at, intervals)
        self.hold_second(second)
        return second

    def reject_first(
        self, reason: str, at: datetime, *, created_at: datetime | None = None
    ) -> DeadLetter | None:
        """Remove the first row because ThingSpeak refused it on its own.

        A row inside the uncertain range is counted as ``assumed_stored`` (its
        created_at is probably refused because ThingSpeak already has it) and
        None is returned; any other row becomes a dead letter, returned, with
        ``created_at`` when given (its time before it was re-dated).
        """
        if not self._rows:
            return None
        row = self._rows.popleft()
        if created_at is not None and created_at != row.created_at:
            row = row.retimed(created_at)
        self._in_flight = max(0, self._in_flight - 1)
        self.dirty = True
        if self.possibly_stored(row):
            self.counters.assumed_stored += 1
            self._advance_high_water(row.created_at)
            return None
        letter = DeadLetter(row, reason, at)
        self._dead_letters.append(letter)
        self.counters.dead_lettered += 1
        return letter

    def _advance_high_water(self, created_at: datetime) -> None:
        high_water = self._high_water = max(created_at, self._high_water or created_at)
        if self._restored_through is not None and self._restored_through <= high_water:
            self._restored_through = None
        if (
            self._uncertain_through is not None
            and self._high_water is not None
            and self._uncertain_through <= self._high_water
        ):
            self._uncertain_through = None
        if (
            self._uncertain_before_attempt is not None
            and self._high_water is not None
            and self._uncertain_before_attempt <= self._high_water
        ):
            self._uncertain_before_attempt = None

    def clear_dead_letters(self) -> int:
        """Forget the dead letters (their count stays in the counters)."""
        count = len(self._dead_letters)
        self._dead_letters.clear()
        if count:
            self.dirty = True
        return count

    # -- persistence ----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-able persisted form (no write key is ever in it)."""

        def iso(value: datetime | None) -> str | None:
            return None if value is None else format_created_at(value)

        return {
            "version": OUTBOX_FORMAT_VERSION,
            "rows": [row.to_dict() for row in self._rows],
            "dead_letters": [letter.to_dict() for letter in self._dead_letters],
            "counters": self.counters.to_dict(),
            "high_water": iso(self._high_water),
            "newest": iso(self._newest),
            "uncertain_through": iso(self._uncertain_through),
            "last_call_at": None
            if self.last_call_at is None
            else self.last_call_at.astimezone(UTC).isoformat(),
            "clean_stop": self.clean_stop,
            "held": [format_created_at(second) for second in self._held],
        }

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_dead_letters: int = DEFAULT_MAX_DEAD_LETTERS,
    ) -> Outbox:
        """Rebuild an outbox persisted by `to_dict`.

        Rows at or below the high-water mark were acknowledged already and are
        dropped; rows that cannot be read are skipped with a warning. Raises
        ValueError when ``data`` is not an outbox of a known version.
        """
        if not isinstance(data, Mapping):
            raise ValueError("persisted outbox is not a mapping")
        if data.get("version") != OUTBOX_FORMAT_VERSION:
            raise ValueError(f"unknown outbox format version {data.get('version')!r}")
        outbox = cls(max_rows=max_rows, max_dead_letters=max_dead_letters)

        def when(key: str) -> datetime | None:
            value = data.get(key)
            return None if value is None else parse_created_at(value)

        try:
            outbox._high_water = when("high_water")
            outbox._newest = when("newest")
            outbox._uncertain_through = when("uncertain_through")
            outbox.last_call_at = when("last_call_at")
            outbox._held.extend(
                parse_created_at(value) for value in data.get("held") or ()
            )
            outbox.counters = OutboxCounters.from_dict(data.get("counters") or {})
            raw_rows = list(data.get("rows") or [])
            raw_letters = list(data.get("dead_letters") or [])
        except (TypeError, ValueError) as err:
            raise ValueError(f"persisted outbox is malformed: {err}") from err

        skipped = 0
        rows: list[Row] = []
        for raw in raw_rows:
            try:
                rows.append(Row.from_dict(raw))
            except (TypeError, ValueError):
                skipped += 1
        for raw in raw_letters:
            try:
                outbox._dead_letters.append(DeadLetter.from_dict(raw))
            except (KeyError, TypeError, ValueError):
                skipped += 1
        if skipped:
            _LOGGER.warning("Skipped %d unreadable rows of a saved outbox", skipped)

        high_water = outbox._high_water
        already = 0
        previous: datetime | None = None
        for row in rows:
            if high_water is not None and row.created_at <= high_water:
                already += 1
                continue
            if previous is not None and row.created_at <= previous:
                row = row.retimed(previous + _ONE_SECOND)
                outbox.counters.retimed += 1
            outbox._rows.append(row)
            previous = row.created_at
        outbox._newest = _max_time(outbox._newest, previous)
        if data.get("clean_stop") is not True:
            outbox._restored_through = previous
        if already:
            _LOGGER.info(
                "Dropped %d saved rows that ThingSpeak had already acknowledged",
                already,
            )
        while len(outbox._rows) > max_rows:
            outbox._rows.popleft()
            outbox.counters.dropped_overflow += 1
        outbox.dirty = bool(already or skipped)
        return outbox
