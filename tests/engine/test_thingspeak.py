"""Tests of the ThingSpeak engine: rows, outbox, client and sender.

The client and the sender talk real HTTP to the fake server on 127.0.0.1. The
sender runs on a virtual clock shared with the fake, so that hours of backoff
pass in milliseconds and the spacing the fake records is exact.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from datetime import UTC, datetime, timedelta
import heapq
import itertools
import json
import logging
from typing import Any
import zoneinfo

import aiohttp
from aiohttp import web
from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iotitan.engine import thingspeak as ts
from custom_components.iotitan.engine.outbox import (
    DeadLetter,
    Outbox,
    OutboxCounters,
    Row,
    format_created_at,
    parse_created_at,
)
from custom_components.iotitan.engine.thingspeak import (
    REDACTED,
    ChannelConfig,
    ChannelSender,
    Plan,
    Problem,
    ResultKind,
    ThingSpeakClient,
    UploadResult,
)
from tests.fake_thingspeak import FakeThingSpeak, start_fake_thingspeak

_LOGGER = logging.getLogger(__name__)

CHANNEL = 1001
KEY = "SECRETKEY0123456"
PAID_CHANNEL = 2002
PAID_KEY = "PAIDKEY987654321"
EPOCH = datetime(2026, 11, 26, 0, 0, 0, tzinfo=UTC)
LOGGER_NAME = "custom_components.iotitan.engine.thingspeak"


class VirtualClock:
    """Monotonic time that only moves when a test advances it.

    ``sleep`` parks the caller until `advance` passes its wake-up time. Between
    steps, `settle` waits (in real time, briefly) until every watched sender is
    parked, so HTTP calls to the fake finish before time moves on.
    """

    def __init__(self, start: float = 10_000.0) -> None:
        self.now = start
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._fired: set[asyncio.Future[None]] = set()
        self.senders: list[ChannelSender] = []

    def __call__(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return EPOCH + timedelta(seconds=self.now - 10_000.0)

    async def sleep(self, delay: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(
            self._heap, (self.now + max(delay, 0.0), next(self._seq), future)
        )
        try:
            await future
        finally:
            self._fired.discard(future)

    async def settle(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10.0
        spins = 0
        while True:
            if not self._fired and all(
                sender.idle or not sender.running for sender in self.senders
            ):
                # Quiet twice in a row, to let just-scheduled callbacks run.
                spins += 1
                if spins > 3:
                    return
                await asyncio.sleep(0)
                continue
            spins = 0
            assert loop.time() < deadline, "sender never settled"
            await asyncio.sleep(0.0005)

    async def advance(self, seconds: float) -> None:
        target = self.now + seconds
        await self.settle()
        while True:
            while self._heap and self._heap[0][2].done():
                heapq.heappop(self._heap)
            if not self._heap or self._heap[0][0] > target:
                break
            when, _, future = heapq.heappop(self._heap)
            self.now = max(self.now, when)
            self._fired.add(future)
            future.set_result(None)
            await self.settle()
        self.now = target
        await self.settle()

    async def run_until(
        self,
        condition: Callable[[], bool],
        *,
        step: float = 60.0,
        limit: float = 86_400.0,
    ) -> float:
        """Advance in steps until ``condition()``; return the virtual time spent."""
        spent = 0.0
        await self.settle()
        while not condition():
            assert spent < limit, "condition not reached in virtual time"
            await self.advance(step)
            spent += step
        return spent


def at(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def make_row(seconds: float, value: float | str | None = None, **extra: Any) -> Row:
    return Row(at(seconds), field1=value if value is not None else seconds, **extra)


class Saves:
    """A save callback that keeps every snapshot.

    `Outbox.to_dict` builds new containers on each call, so no copy is needed;
    JSON-ability is checked on the first and on every tenth snapshot.
    """

    def __init__(self) -> None:
        self.snapshots: list[dict[str, Any]] = []
        self.fail = 0

    async def __call__(self, data: dict[str, Any]) -> None:
        if self.fail:
            self.fail -= 1
            raise OSError("disk full")
        if len(self.snapshots) % 10 == 0:
            data = json.loads(json.dumps(data))
        self.snapshots.append(data)

    @property
    def last(self) -> dict[str, Any]:
        return self.snapshots[-1]


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def vclock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
async def fake(
    vclock: VirtualClock, socket_enabled: None
) -> AsyncIterator[FakeThingSpeak]:
    server = await start_fake_thingspeak(
        (CHANNEL, KEY),
        f"{PAID_CHANNEL}:{PAID_KEY}:paid",
        clock=vclock,
        wall=vclock.wall,
        hang_seconds=5.0,
    )
    yield server
    await server.close()


@pytest.fixture
def config(fake: FakeThingSpeak) -> ChannelConfig:
    return ChannelConfig(CHANNEL, KEY, Plan.FREE, fake.url, timeout=2.0)


type SenderFactory = Callable[..., Awaitable[ChannelSender]]


@pytest.fixture
async def make_sender(
    session: aiohttp.ClientSession, vclock: VirtualClock, config: ChannelConfig
) -> AsyncIterator[SenderFactory]:
    senders: list[ChannelSender] = []

    async def factory(
        outbox: Outbox | None = None,
        *,
        cfg: ChannelConfig | None = None,
        start: bool = True,
        **kwargs: Any,
    ) -> ChannelSender:
        kwargs.setdefault("rand", lambda: 0.0)
        sender = ChannelSender(
            session,
            cfg or config,
            outbox,
            clock=vclock,
            sleep=vclock.sleep,
            utcnow=vclock.wall,
            **kwargs,
        )
        senders.append(sender)
        vclock.senders.append(sender)
        if start:
            await sender.start()
            await vclock.settle()
        return sender

    yield factory
    for sender in senders:
        await sender.stop()


def stored_times(fake: FakeThingSpeak, channel: int = CHANNEL) -> list[datetime]:
    return [entry.created_at for entry in fake.stored(channel)]


def bulk_calls(fake: FakeThingSpeak, channel: int = CHANNEL) -> list[Any]:
    return [c for c in fake.calls if c.channel_id == channel and c.endpoint == "bulk"]


# ---------------------------------------------------------------------------
# Row


def test_row_normalises_to_utc_whole_seconds() -> None:
    local = datetime(2026, 11, 27, 9, 9, 49, 750_000).astimezone(
        zoneinfo.ZoneInfo("Australia/Adelaide")
    )
    row = Row(local, field1=1.5)
    assert row.created_at.tzinfo is UTC
    assert row.created_at.microsecond == 0
    assert row.to_dict()["created_at"].endswith("Z")
    assert Row(datetime(2026, 11, 26, 22, 39, 49, 999_999, tzinfo=UTC)).to_dict() == {
        "created_at": "2026-11-26T22:39:49Z"
    }


def test_row_dict_round_trip_and_fields() -> None:
    row = Row.with_fields(
        at(5), {1: 21.5, 3: "on", 8: 7}, status="ok", latitude=-34.9, longitude=138.6
    )
    data = row.to_dict()
    assert data == {
        "created_at": "2026-11-26T00:00:05Z",
        "field1": 21.5,
        "field3": "on",
        "field8": 7,
        "status": "ok",
        "latitude": -34.9,
        "longitude": 138.6,
    }
    assert Row.from_dict(json.loads(json.dumps(data))) == row
    assert row.fields == {1: 21.5, 3: "on", 8: 7}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"created_at": datetime(2026, 1, 1)}, ValueError),  # naive
        ({"created_at": "2026-01-01T00:00:00Z"}, TypeError),
        ({"field1": float("nan")}, ValueError),
        ({"field2": float("inf")}, ValueError),
        ({"field3": True}, TypeError),
        ({"field4": [1]}, TypeError),
        ({"status": 5}, TypeError),
        ({"latitude": 91.0}, ValueError),
        ({"longitude": -180.5}, ValueError),
        ({"latitude": "north"}, TypeError),
    ],
)
def test_row_validation(kwargs: dict[str, Any], error: type[Exception]) -> None:
    kwargs.setdefault("created_at", at(0))
    with pytest.raises(error):
        Row(**kwargs)


def test_row_from_dict_errors() -> None:
    with pytest.raises(ValueError, match="unknown"):
        Row.from_dict({"created_at": "2026-01-01T00:00:00Z", "field9": 1})
    with pytest.raises(ValueError, match="created_at"):
        Row.from_dict({"field1": 1})
    with pytest.raises(TypeError):
        Row.from_dict([("created_at", "x")])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="time zone"):
        Row.from_dict({"created_at": "2026-01-01T00:00:00"})
    with pytest.raises(TypeError):
        parse_created_at(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"1\.\.8"):
        Row.with_fields(at(0), {9: 1})


def test_format_created_at() -> None:
    assert format_created_at(datetime(2026, 11, 26, 22, 39, 49, tzinfo=UTC)) == (
        "2026-11-26T22:39:49Z"
    )
    assert parse_created_at("2026-11-27T09:09:49+10:30") == datetime(
        2026, 11, 26, 22, 39, 49, tzinfo=UTC
    )


# ---------------------------------------------------------------------------
# Outbox


def test_outbox_keeps_created_at_unique_by_moving_to_next_second() -> None:
    outbox = Outbox()
    first = outbox.add(make_row(10))
    second = outbox.add(Row(at(10.6), field1=2))  # same second
    third = outbox.add(make_row(3))  # clock went backwards
    fourth = outbox.add(make_row(60))
    assert [r.created_at for r in outbox.rows] == [at(10), at(11), at(12), at(60)]
    assert (first.created_at, second.created_at, third.created_at) == (
        at(10),
        at(11),
        at(12),
    )
    assert fourth.created_at == at(60)
    assert outbox.counters.retimed == 2
    assert outbox.counters.produced == 4
    assert outbox.dirty


def test_outbox_overflow_drops_oldest_and_counts() -> None:
    outbox = Outbox(max_rows=3)
    for i in range(5):
        outbox.add(make_row(i))
    assert [r.created_at for r in outbox.rows] == [at(2), at(3), at(4)]
    assert outbox.counters.dropped_overflow == 2
    assert outbox.counters.produced == 5


def test_outbox_overflow_spares_rows_in_flight() -> None:
    outbox = Outbox(max_rows=3)
    for i in range(3):
        outbox.add(make_row(i))
    batch = outbox.begin_attempt(2)
    outbox.add(make_row(10))
    # The oldest row not in flight (t=2) went, the batch is intact.
    assert [r.created_at for r in outbox.rows] == [at(0), at(1), at(10)]
    assert outbox.commit(batch) == 2
    outbox.end_attempt(outcome_known=True)
    assert [r.created_at for r in outbox.rows] == [at(10)]
    assert outbox.counters.uploaded == 2
    assert outbox.counters.dropped_overflow == 1


def test_outbox_overflow_when_everything_is_in_flight() -> None:
    outbox = Outbox(max_rows=1)
    outbox.add(make_row(0))
    outbox.begin_attempt(1)
    outbox.add(make_row(1))
    assert [r.created_at for r in outbox.rows] == [at(0)]
    assert outbox.counters.dropped_overflow == 1


def test_outbox_uncertain_range_and_rejections() -> None:
    outbox = Outbox(max_dead_letters=2)
    for i in range(6):
        outbox.add(make_row(i))
    with pytest.raises(RuntimeError):
        outbox.begin_attempt(2), outbox.begin_attempt(1)
    outbox.end_attempt(outcome_known=False)  # e.g. a timeout: stays uncertain
    assert outbox.uncertain_through == at(1)
    rows = outbox.begin_attempt(3)
    assert outbox.in_flight == 3
    assert outbox.uncertain_through == at(2)
    outbox.end_attempt(outcome_known=True)  # a definite answer: back to before
    assert outbox.uncertain_through == at(1)
    assert len(rows) == 3
    # Rows inside the uncertain range refused alone: taken as already stored.
    assert outbox.reject_first("dup", at(100)) is None
    assert outbox.counters.assumed_stored == 1
    assert outbox.high_water == at(0)
    assert outbox.reject_first("dup", at(100)) is None
    assert outbox.uncertain_through is None
    # Outside it: dead letters, bounded.
    letters = [outbox.reject_first(f"bad {i}", at(100)) for i in range(3)]
    assert all(isinstance(letter, DeadLetter) for letter in letters)
    assert [d.reason for d in outbox.dead_letters] == ["bad 1", "bad 2"]
    assert outbox.counters.dead_lettered == 3
    assert outbox.clear_dead_letters() == 2
    assert outbox.clear_dead_letters() == 0
    assert outbox.counters.dead_lettered == 3
    assert len(outbox) == 1
    assert outbox.commit([]) == 0
    assert Outbox().reject_first("x", at(0)) is None
    assert Outbox().begin_attempt(5) == []


def test_outbox_high_water_clears_pending_uncertainty() -> None:
    outbox = Outbox()
    for i in range(4):
        outbox.add(make_row(i))
    outbox.begin_attempt(2)
    outbox.end_attempt(outcome_known=False)
    batch = outbox.begin_attempt(4)
    outbox.commit(batch)
    outbox.end_attempt(outcome_known=True)
    assert outbox.uncertain_through is None
    assert outbox.high_water == at(3)


def test_outbox_redate_tries_nearest_seconds_within_the_interval() -> None:
    outbox = Outbox()
    for seconds in (0, 60, 120):
        outbox.add(make_row(seconds))
    outbox.commit(outbox.begin_attempt(1))
    outbox.end_attempt(outcome_known=True)
    # The row of 60 s meets a second another writer took: +1, -1, +2, -2 ...
    moves = [outbox.redate_first(at(60), tries, 60.0) for tries in range(4)]
    assert moves == [at(61), at(59), at(62), at(58)]
    assert [row.created_at for row in outbox.rows] == [at(58), at(120)]
    assert outbox.counters.redated == 1  # one row, however many tries
    assert outbox.dirty


def test_outbox_redate_stays_between_neighbours_and_above_high_water() -> None:
    outbox = Outbox()
    for seconds in (0, 2, 3):
        outbox.add(make_row(seconds))
    outbox.commit(outbox.begin_attempt(1))  # high water 0
    outbox.end_attempt(outcome_known=True)
    # Between 0 (stored) and 3 (queued) only 1 is free besides 2 itself.
    assert outbox.redate_first(at(2), 0, 300.0) == at(1)
    # None left in the gap: move up one second, pushing the row behind along.
    assert outbox.redate_first(at(2), 1, 300.0) == at(3)
    assert [row.created_at for row in outbox.rows] == [at(3), at(4)]
    assert outbox.counters.retimed == 1
    # The next row made keeps after them.
    assert outbox.add(make_row(4)).created_at == at(5)


def test_outbox_redate_on_a_one_second_grid_moves_the_rows_behind() -> None:
    """1 s rows leave no free second: the row and those right behind move up."""
    outbox = Outbox()
    for seconds in range(5):
        outbox.add(make_row(seconds))
    outbox.commit(outbox.begin_attempt(1))
    outbox.end_attempt(outcome_known=True)
    assert outbox.redate_first(at(1), 0, 1.0) == at(2)
    assert [row.created_at for row in outbox.rows] == [at(2), at(3), at(4), at(5)]
    assert [row.field1 for row in outbox.rows] == [1, 2, 3, 4]
    assert outbox.counters.redated == 1
    assert outbox.counters.retimed == 3
    assert outbox.add(make_row(5)).created_at == at(6)
    # Nothing to move while the first row is in flight, or when empty.
    outbox.begin_attempt(1)
    assert outbox.redate_first(at(2), 0, 1.0) is None
    assert Outbox().redate_first(at(0), 0, None) is None


def test_outbox_redate_skips_a_second_held_for_a_test_row() -> None:
    outbox = Outbox()
    outbox.add(make_row(0))
    held = outbox.reserve_second(at(0), [300.0])
    assert held == at(1)
    assert outbox.add(make_row(0)).created_at == at(2)
    # The row of 0 s meets another writer: +1 s is the test row's, so -1 s.
    assert outbox.redate_first(at(0), 0, None) == at(-1)
    # Held seconds survive a restart: the next try skips +1 s again.
    restored = Outbox.from_dict({**outbox.to_dict(), "clean_stop": True})
    assert restored.redate_first(at(0), 1, None) == at(-2)


@pytest.mark.parametrize(
    ("interval", "now", "queued", "expected"),
    [
        # Free second now: taken as it is.
        (300.0, 7, [0], 7),
        # Now is a row time (300 s): the next second.
        (300.0, 300, [0], 301),
        # Now is the second of a queued row: the next one.
        (60.0, 61, [0, 61], 62),
        # 1 s rows: every second is a row time; after the newest queued row.
        (1.0, 3, [0, 1, 2, 3], 4),
        # 2 s rows: the first second after the queue that is no row time.
        (2.0, 3, [0, 2, 4, 6], 7),
    ],
)
def test_outbox_reserve_second(
    interval: float, now: float, queued: list[int], expected: float
) -> None:
    outbox = Outbox()
    for seconds in queued:
        outbox.add(make_row(seconds))
    second = outbox.reserve_second(at(now + 0.4), [interval])
    assert second == at(expected)
    assert second not in {row.created_at for row in outbox.rows}
    # Every later row of the schedule keeps off the reserved second.
    later = [
        outbox.add(make_row(seconds)).created_at
        for seconds in range(0, 40, max(1, int(interval)))
        if seconds > max(queued)
    ]
    assert second not in later
    assert second not in {row.created_at for row in outbox.rows}
    assert outbox.dirty


def test_outbox_reserve_second_after_acknowledged_and_uncertain_rows() -> None:
    outbox = Outbox()
    for seconds in (0, 10):
        outbox.add(make_row(seconds))
    outbox.begin_attempt(2)
    outbox.end_attempt(outcome_known=False)  # 0 and 10 may be stored
    assert outbox.reserve_second(at(5), [300.0]) == at(11)
    assert outbox.reserve_second(at(5), [300.0]) == at(12)  # each its own


def test_status_table_covers_every_documented_status() -> None:
    """ThingSpeak's "Error Codes" page, plus the 2xx bodies of "Write Data"."""
    documented = {400, 401, 402, 404, 405, 409, 413, 421, 422, 429}
    assert documented <= set(ts.STATUS_TABLE)
    assert {"2xx", "2xx 0/-1/false", "5xx", "other"} <= set(ts.STATUS_TABLE)
    expected = {
        400: ResultKind.BAD_REQUEST,
        401: ResultKind.AUTH,
        402: ResultKind.QUOTA,
        404: ResultKind.NOT_FOUND,
        405: ResultKind.NOT_FOUND,
        409: ResultKind.DUPLICATE,
        413: ResultKind.BAD_REQUEST,
        421: ResultKind.DUPLICATE,
        422: ResultKind.BAD_REQUEST,
        429: ResultKind.RETRY,
        500: ResultKind.RETRY,
        502: ResultKind.RETRY,
        503: ResultKind.RETRY,
    }
    for status, kind in expected.items():
        assert ts._classify_status(status) == (kind, status < 500), status
    # A 400 that names an existing timestamp is a duplicate; a bare one is not.
    assert (
        ts._classify_status(400, "2 updates have a created_at already stored")[0]
        is ResultKind.DUPLICATE
    )
    assert ts._classify_status(400, "Timestamp must be unique")[0] is (
        ResultKind.DUPLICATE
    )
    assert ts._classify_status(400, "error_bad_request")[0] is ResultKind.BAD_REQUEST
    assert all(action.outbox for action in ts.STATUS_TABLE.values())


def test_outbox_persistence_round_trip() -> None:
    outbox = Outbox()
    for i in range(5):
        outbox.add(make_row(i * 10, status=f"s{i}"))
    outbox.commit(outbox.begin_attempt(2))
    outbox.end_attempt(outcome_known=True)
    outbox.begin_attempt(1)
    outbox.end_attempt(outcome_known=False)
    outbox.reject_first("HTTP 400: nope", at(99))  # uncertain: assumed stored
    outbox.add(make_row(100, value="x"))
    outbox.begin_attempt(1)
    outbox.end_attempt(outcome_known=True)
    outbox.reject_first("HTTP 400: nope", at(99))  # a dead letter
    outbox.counters.failed_attempts = 7
    data = json.loads(json.dumps(outbox.to_dict()))
    assert KEY not in json.dumps(data)
    again = Outbox.from_dict(data)
    assert again.rows == outbox.rows
    assert again.dead_letters == outbox.dead_letters
    assert again.counters == outbox.counters
    assert again.high_water == outbox.high_water == at(20)
    assert again.uncertain_through == outbox.uncertain_through
    assert again.to_dict() == data
    assert not again.dirty
    # created_at stays unique after the restart too.
    assert again.add(make_row(0)).created_at == at(101)


def test_outbox_from_dict_drops_rows_already_acknowledged() -> None:
    outbox = Outbox()
    for i in range(4):
        outbox.add(make_row(i))
    stale = outbox.to_dict()
    stale["high_water"] = format_created_at(at(1))
    again = Outbox.from_dict(stale)
    assert [r.created_at for r in again.rows] == [at(2), at(3)]
    assert again.dirty


def test_outbox_from_dict_is_robust() -> None:
    with pytest.raises(ValueError, match="mapping"):
        Outbox.from_dict([])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="version"):
        Outbox.from_dict({"version": 99})
    with pytest.raises(ValueError, match="malformed"):
        Outbox.from_dict({"version": 1, "high_water": "yesterday"})
    data = {
        "version": 1,
        "rows": [
            {"created_at": "2026-11-26T00:00:05Z", "field1": 1},
            {"created_at": "garbage"},
            {"created_at": "2026-11-26T00:00:05Z", "field1": 2},  # repeated
            {"created_at": "2026-11-26T00:00:01Z", "field1": 3},  # out of order
        ],
        "dead_letters": [
            {"row": {}},
            {
                "row": {"created_at": "2026-11-26T00:00:00Z"},
                "reason": "r",
                "at": "2026-11-26T00:00:00+00:00",
            },
        ],
        "counters": {"produced": 3, "uploaded": -1, "retimed": "x"},
    }
    outbox = Outbox.from_dict(data, max_rows=2)
    assert [r.field1 for r in outbox.rows] == [2, 3]
    assert [r.created_at for r in outbox.rows] == [at(6), at(7)]
    assert outbox.counters.dropped_overflow == 1
    assert outbox.counters.uploaded == 0
    assert len(outbox.dead_letters) == 1
    assert outbox.dirty
    assert outbox.add(make_row(0)).created_at == at(8)
    with pytest.raises(ValueError):
        Outbox(max_rows=0)
    with pytest.raises(ValueError):
        Outbox(max_dead_letters=-1)
    assert OutboxCounters.from_dict({}) == OutboxCounters()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "add",
                    "add",
                    "add",
                    "send",
                    "ok",
                    "unknown",
                    "reject",
                    "redate",
                    "reserve",
                    "lost",
                ]
            ),
            st.integers(min_value=-5, max_value=30),
        ),
        max_size=60,
    )
)
def test_outbox_invariants(ops: list[tuple[str, int]]) -> None:
    """Timestamps stay strictly increasing and every produced row is accounted for.

    Also through re-dating (another writer), reserved seconds (test rows, which
    no row may take afterwards) and batches delivered after a lost answer.
    """
    outbox = Outbox(max_rows=8, max_dead_letters=3)
    clock = 0
    batch: list[Row] = []
    reserved: set[datetime] = set()
    for op, arg in ops:
        if op == "add":
            clock += arg
            outbox.add(make_row(clock))
        elif op == "send" and not batch:
            batch = outbox.begin_attempt(max(1, arg % 5))
        elif op in ("ok", "unknown") and batch:
            if op == "ok":
                outbox.commit(batch)
            outbox.end_attempt(outcome_known=op == "ok")
            batch = []
        elif op == "reject" and not batch:
            outbox.reject_first("no", at(0))
        elif op == "redate" and not batch and len(outbox):
            first = outbox.rows[0]
            if not outbox.possibly_stored(first):
                outbox.redate_first(first.created_at, arg % 4, (arg % 3) or None)
        elif op == "reserve" and not batch:
            reserved.add(outbox.reserve_second(at(clock + arg), [1 + arg % 4]))
        elif op == "lost" and not batch:
            count = outbox.uncertain_count(8)
            if count:
                outbox.deliver_after_unknown(outbox.peek(count))
        times = [row.created_at for row in outbox.rows]
        assert times == sorted(set(times))
        assert not reserved & set(times)
        if outbox.high_water is not None and times:
            assert times[0] > outbox.high_water
        c = outbox.counters
        assert c.produced == (
            len(outbox)
            + c.uploaded
            + c.dropped_overflow
            + c.dead_lettered
            + c.assumed_stored
            + c.delivered_after_unknown
        )
        restored = Outbox.from_dict(outbox.to_dict(), max_rows=8)
        assert restored.rows == outbox.rows


# ---------------------------------------------------------------------------
# Configuration


def test_plan_limits() -> None:
    assert (Plan.FREE.min_interval, Plan.FREE.max_batch) == (15.0, 960)
    assert (Plan.PAID.min_interval, Plan.PAID.max_batch) == (1.0, 14_400)


def test_config_never_shows_the_key() -> None:
    config = ChannelConfig(42, f"  {KEY} ", "paid", "http://127.0.0.1:1/")  # type: ignore[arg-type]
    assert config.write_key == KEY
    assert config.plan is Plan.PAID
    assert config.base_url == "http://127.0.0.1:1"
    for text in (
        repr(config),
        str(config),
        f"{config}",
        json.dumps(config.as_diagnostics()),
    ):
        assert KEY not in text
        assert "42" in text
    assert REDACTED in repr(config)
    assert config.with_write_key("OTHER").write_key == "OTHER"
    for bad in (
        {"channel_id": 0},
        {"channel_id": True},
        {"write_key": " "},
        {"timeout": 0},
        {"plan": "gold"},
    ):
        with pytest.raises(ValueError):
            ChannelConfig(**({"channel_id": 1, "write_key": "K"} | bad))


# ---------------------------------------------------------------------------
# Client: real HTTP against the fake


@pytest.mark.parametrize(
    ("body", "kind", "entry_id"),
    [
        ('{"success": true}', ResultKind.SUCCESS, None),
        ("", ResultKind.SUCCESS, None),
        ("17", ResultKind.SUCCESS, 17),
        ('{"entry_id": 9, "field1": "1"}', ResultKind.SUCCESS, 9),
        ("ok", ResultKind.SUCCESS, None),
        ("0", ResultKind.RETRY, None),
        ("-1", ResultKind.RETRY, None),
        ("false", ResultKind.RETRY, None),
        ("False", ResultKind.RETRY, None),
        ('{"success": false}', ResultKind.RETRY, None),
        ('{"entry_id": 0}', ResultKind.RETRY, None),
        ('{"entry_id": "12"}', ResultKind.SUCCESS, 12),
        ('{"entry_id": true}', ResultKind.SUCCESS, None),
    ],
)
def test_classify_success_bodies(
    body: str, kind: ResultKind, entry_id: int | None
) -> None:
    result = ts._classify_success(200, body)
    assert result.kind is kind
    assert result.entry_id == entry_id
    assert result.outcome_known


async def test_client_bulk_update_success(
    session: aiohttp.ClientSession, fake: FakeThingSpeak, config: ChannelConfig
) -> None:
    client = ThingSpeakClient(session, config)
    rows = [
        make_row(0, 1.5),
        make_row(300, "on", status="hello"),
        make_row(600, latitude=1.0, longitude=2.0),
    ]
    result = await client.bulk_update(rows)
    assert result == UploadResult(ResultKind.SUCCESS, 202)
    assert result.ok
    assert stored_times(fake) == [at(0), at(300), at(600)]
    assert fake.stored(CHANNEL)[1].values == {"field1": "on", "status": "hello"}
    assert (await client.bulk_update([])).ok
    assert len(fake.calls) == 1
    assert KEY not in repr(client)
    assert client.config is config


async def test_client_update(
    session: aiohttp.ClientSession,
    fake: FakeThingSpeak,
    config: ChannelConfig,
    vclock: VirtualClock,
) -> None:
    client = ThingSpeakClient(session, config)
    row = make_row(5, 2.5, status="st", latitude=-34.9, longitude=138.6)
    result = await client.update(row)
    assert result.kind is ResultKind.SUCCESS
    assert result.entry_id == 1
    entry = fake.stored(CHANNEL)[0]
    assert entry.created_at == at(5)
    assert entry.values == {
        "field1": "2.5",
        "status": "st",
        "latitude": "-34.9",
        "longitude": "138.6",
    }
    # Too soon for the free plan: ThingSpeak answers 0 and stores nothing.
    vclock.now += 5
    too_soon = await client.update(make_row(10))
    assert too_soon.kind is ResultKind.RETRY
    assert too_soon.outcome_known
    assert "nothing was stored" in too_soon.detail
    vclock.now += 15
    assert (await client.update(make_row(10))).entry_id == 2
    bad = ThingSpeakClient(session, config.with_write_key("WRONGKEY"))
    assert (await bad.update(make_row(20))).kind is ResultKind.AUTH


@pytest.mark.parametrize(
    ("fault", "status", "kind", "known"),
    [
        ("error", 500, ResultKind.RETRY, False),
        ("error", 503, ResultKind.RETRY, False),
        ("error", 429, ResultKind.RETRY, True),
        ("error", 409, ResultKind.DUPLICATE, True),
        ("error", 421, ResultKind.DUPLICATE, True),
        ("error", 405, ResultKind.NOT_FOUND, True),
        ("error", 418, ResultKind.RETRY, True),
        ("error", 403, ResultKind.AUTH, True),
        ("zero", 0, ResultKind.RETRY, True),
        ("unsuccessful", 0, ResultKind.RETRY, True),
        ("drop", 0, ResultKind.RETRY, False),
    ],
)
async def test_client_classifies_faults(
    session: aiohttp.ClientSession,
    fake: FakeThingSpeak,
    config: ChannelConfig,
    fault: Any,
    status: int,
    kind: ResultKind,
    known: bool,
) -> None:
    fake.inject(fault, status=status)
    result = await ThingSpeakClient(session, config).bulk_update([make_row(0)])
    assert result.kind is kind
    assert result.outcome_known is known
    assert result.detail
    assert fake.stored(CHANNEL) == []


async def test_client_timeout(
    session: aiohttp.ClientSession, fake: FakeThingSpeak, config: ChannelConfig
) -> None:
    fake.inject("hang")
    client = ThingSpeakClient(
        session, ChannelConfig(CHANNEL, KEY, base_url=fake.url, timeout=0.2)
    )
    result = await client.bulk_update([make_row(0)])
    assert result.kind is ResultKind.RETRY
    assert not result.outcome_known
    assert "0.2 s" in result.detail


async def test_client_http_errors(
    session: aiohttp.ClientSession, fake: FakeThingSpeak, config: ChannelConfig
) -> None:
    client = ThingSpeakClient(session, config)
    wrong_key = ThingSpeakClient(session, config.with_write_key("WRONGKEY12345678"))
    result = await wrong_key.bulk_update([make_row(0)])
    assert result.kind is ResultKind.AUTH
    assert result.status == 401
    assert "error_auth_required" in result.detail
    assert "WRONGKEY" not in result.detail

    unknown = ThingSpeakClient(session, ChannelConfig(9999, KEY, base_url=fake.url))
    assert (await unknown.bulk_update([make_row(0)])).kind is ResultKind.NOT_FOUND

    fake.channel(CHANNEL).last_write = None
    too_many = [make_row(i) for i in range(961)]
    result = await client.bulk_update(too_many)
    assert (result.kind, result.status) == (ResultKind.BAD_REQUEST, 413)
    assert "error_request_too_large" in result.detail

    fake.channel(CHANNEL).last_write = None
    fake.reject_values.add("POISON")
    result = await client.bulk_update([make_row(0, "POISON")])
    assert (result.kind, result.status) == (ResultKind.BAD_REQUEST, 400)
    assert "error_bad_request" in result.detail

    fake.channel(CHANNEL).last_write = None
    result = await client.bulk_update([make_row(0, "bad \ud800 text")])
    assert (result.kind, result.status) == (ResultKind.BAD_REQUEST, 422)

    fake.channel(CHANNEL).last_write = None
    fake.channel(CHANNEL).quota = 0
    result = await client.bulk_update([make_row(0)])
    assert (result.kind, result.status) == (ResultKind.QUOTA, 402)

    fake.channel(CHANNEL).quota = None
    fake.channel(CHANNEL).last_write = None
    assert (await client.bulk_update([make_row(0)])).ok
    result = await client.bulk_update([make_row(1)])
    assert (result.kind, result.status) == (ResultKind.RETRY, 429)
    assert result.outcome_known


async def test_client_connection_refused(session: aiohttp.ClientSession) -> None:
    server = await start_fake_thingspeak((CHANNEL, KEY))
    url = server.url
    await server.close()
    result = await ThingSpeakClient(
        session, ChannelConfig(CHANNEL, KEY, base_url=url)
    ).bulk_update([make_row(0)])
    assert result.kind is ResultKind.RETRY
    assert not result.outcome_known
    assert "ClientConnectorError" in result.detail


async def test_client_never_raises(session: aiohttp.ClientSession) -> None:
    config = ChannelConfig(CHANNEL, KEY, base_url="not a url at all")
    result = await ThingSpeakClient(session, config).bulk_update([make_row(0)])
    assert result.kind is ResultKind.RETRY
    assert KEY not in result.detail


async def test_client_survives_any_session_error() -> None:
    class Broken:
        def post(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"exploded with {KEY}")

    config = ChannelConfig(CHANNEL, KEY)
    result = await ThingSpeakClient(Broken(), config).bulk_update([make_row(0)])  # type: ignore[arg-type]
    assert result.kind is ResultKind.RETRY
    assert not result.outcome_known
    assert result.detail == f"unexpected RuntimeError: exploded with {REDACTED}"
    assert ts._utcnow().tzinfo is UTC


async def test_client_scrubs_the_key_from_echoed_bodies(
    session: aiohttp.ClientSession,
) -> None:
    """Even a server that echoes the request back cannot leak the key."""

    async def echo(request: web.Request) -> web.Response:
        body = await request.text()
        key = request.headers.get("THINGSPEAKAPIKEY", "")
        return web.Response(status=400, text=f"{key}\n{body}\x00" * 50)

    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        client = ThingSpeakClient(session, ChannelConfig(CHANNEL, KEY, base_url=url))
        for result in (
            await client.bulk_update([make_row(0)]),
            await client.update(make_row(0)),
        ):
            assert result.kind is ResultKind.BAD_REQUEST
            assert KEY not in result.detail
            assert REDACTED in result.detail
            assert len(result.detail) <= 300
            assert "\x00" not in result.detail and "\n" not in result.detail
    finally:
        await runner.cleanup()


# ---------------------------------------------------------------------------
# Sender


async def test_sender_happy_path_saves_before_and_after(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    saves = Saves()
    sender = await make_sender(save=saves)
    assert sender.running and sender.idle
    await sender.start()  # idempotent
    sender.add(make_row(0, 20.5))
    await vclock.settle()
    assert stored_times(fake) == [at(0)]
    # Saved with the row before the call, then the acknowledgement right after.
    assert [len(s["rows"]) for s in saves.snapshots] == [1, 0]
    assert saves.snapshots[0]["uncertain_through"] == "2026-11-26T00:00:00Z"
    assert saves.last["high_water"] == "2026-11-26T00:00:00Z"
    assert saves.last["uncertain_through"] is None
    assert saves.last["counters"]["uploaded"] == 1
    assert sender.rows_waiting == 0
    assert sender.last_success == vclock.wall()
    for i in range(1, 4):
        await vclock.advance(300)
        sender.add(make_row(300 * i))
    await vclock.advance(60)
    assert stored_times(fake) == [at(300 * i) for i in range(4)]
    diagnostics = sender.diagnostics()
    assert diagnostics["state"] == "waiting"
    assert diagnostics["rows_waiting"] == 0
    assert diagnostics["counters"]["uploaded"] == 4
    assert diagnostics["last_error"] is None
    assert diagnostics["next_attempt_in"] is None


async def test_sender_spacing_and_batching(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    """Rows every 2 s: calls stay >= 15 s apart and carry the rows in between."""
    sender = await make_sender()
    for i in range(90):
        sender.add(make_row(2 * i))
        await vclock.advance(2)
    await vclock.run_until(lambda: sender.rows_waiting == 0, step=5)
    assert stored_times(fake) == [at(2 * i) for i in range(90)]
    spacing = fake.min_spacing(CHANNEL)
    assert spacing is not None and spacing >= 15.0
    assert len(bulk_calls(fake)) <= 180 / 15 + 1
    assert all(call.status == 202 for call in fake.calls)


async def test_sender_paid_plan_spacing(
    make_sender: SenderFactory,
    fake: FakeThingSpeak,
    vclock: VirtualClock,
) -> None:
    cfg = ChannelConfig(PAID_CHANNEL, PAID_KEY, Plan.PAID, fake.url)
    sender = await make_sender(cfg=cfg)
    for i in range(20):
        sender.add(make_row(i * 0.25 * 4))
        await vclock.advance(0.25)
    await vclock.run_until(lambda: sender.rows_waiting == 0, step=1)
    assert len(fake.stored(PAID_CHANNEL)) == 20
    spacing = fake.min_spacing(PAID_CHANNEL)
    assert spacing is not None and 1.0 <= spacing < 15.0


async def test_sender_respects_the_batch_limit(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    outbox = Outbox()
    for i in range(2000):
        outbox.add(make_row(i * 60))
    sender = await make_sender(outbox)
    await vclock.run_until(lambda: sender.rows_waiting == 0, step=15)
    assert [call.updates for call in bulk_calls(fake)] == [960, 960, 80]
    assert stored_times(fake) == [at(i * 60) for i in range(2000)]
    assert (fake.min_spacing(CHANNEL) or 0) >= 15.0


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ("error", 429),
        ("error", 500),
        ("error", 503),
        ("zero", 0),
        ("unsuccessful", 0),
        ("drop", 0),
    ],
)
async def test_sender_retries_retryable_failures(
    make_sender: SenderFactory,
    fake: FakeThingSpeak,
    vclock: VirtualClock,
    caplog: pytest.LogCaptureFixture,
    fault: Any,
    status: int,
) -> None:
    caplog.set_level(logging.INFO, LOGGER_NAME)
    sender = await make_sender()
    fake.inject(fault, 3, status=status)
    sender.add(make_row(0))
    await vclock.settle()
    assert sender.consecutive_failures == 1
    assert sender.backoff == 15.0
    assert sender.last_error is not None and sender.last_error.kind is ResultKind.RETRY
    await vclock.run_until(lambda: sender.rows_waiting == 0, step=5)
    assert stored_times(fake) == [at(0)]
    assert sender.consecutive_failures == 0
    assert sender.backoff == 0
    assert sender.outbox.counters.failed_attempts == 3
    assert [c.arrival - fake.calls[0].arrival for c in fake.calls] == [0, 15, 45, 105]
    failing = [r for r in caplog.records if "upload failing" in r.getMessage()]
    recovered = [r for r in caplog.records if "recovered" in r.getMessage()]
    assert len(failing) == 1 and failing[0].levelno == logging.WARNING
    assert len(recovered) == 1


async def test_sender_timeout_then_refused_resend_is_taken_as_stored(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    """ThingSpeak stored the batch but the answer never came: no duplicate, no loss."""
    cfg = ChannelConfig(CHANNEL, KEY, base_url=fake.url, timeout=0.2)
    sender = await make_sender(cfg=cfg)
    fake.inject("hang", store=True)
    for i in range(3):
        sender.add(make_row(i * 60))
    await vclock.settle()
    assert sender.outbox.uncertain_through == at(120)
    assert stored_times(fake) == [at(0), at(60), at(120)]
    sender.add(make_row(600))  # a new row joins the retry
    await vclock.run_until(lambda: sender.rows_waiting == 0, step=15)
    assert stored_times(fake) == [at(0), at(60), at(120), at(600)]
    counters = sender.outbox.counters
    assert counters.delivered_after_unknown == 3
    assert counters.assumed_stored == 0
    assert counters.dead_lettered == 0
    assert counters.uploaded == 1
    assert fake.duplicates_refused > 0
    assert sender.outbox.dead_letters == ()
    assert (fake.min_spacing(CHANNEL) or 0) >= 15.0


DUPLICATE_ANSWERS = [("reject", 400), ("conflict", 409), ("no_action", 421)]


@pytest.mark.parametrize(("policy", "status"), DUPLICATE_ANSWERS)
@pytest.mark.parametrize("fault", ["drop", "error"])
async def test_lost_answer_of_a_full_batch_is_delivered_at_once(
    make_sender: SenderFactory,
    fake: FakeThingSpeak,
    vclock: VirtualClock,
    policy: Any,
    status: int,
    fault: Any,
) -> None:
    """ThingSpeak stored 960 rows and the answer was lost: one refused retry, done."""
    fake.duplicate_policy = policy
    outbox = Outbox()
    for i in range(960):
        outbox.add(make_row(i * 60))
    fake.inject(fault, status=502, store=True)
    sender = await make_sender(outbox)
    assert len(stored_times(fake)) == 960
    assert sender.rows_waiting == 960
    assert sender.outbox.uncertain_through == at(959 * 60)
    # New rows wait behind the batch; the retry carries exactly that batch.
    sender.add(make_row(960 * 60))
    sender.add(make_row(961 * 60))
    await vclock.advance(15)
    assert [(c.updates, c.status) for c in bulk_calls(fake)] == [
        (960, None if fault == "drop" else 502),
        (960, status),
    ]
    counters = sender.outbox.counters
    assert counters.delivered_after_unknown == 960
    assert (counters.uploaded, counters.dead_lettered, counters.assumed_stored) == (
        0,
        0,
        0,
    )
    assert sender.rows_waiting == 2
    assert sender.outbox.uncertain_through is None
    assert sender.outbox.high_water == at(959 * 60)
    assert sender.diagnostics()["counters"]["delivered_after_unknown"] == 960
    # The new rows flow on the next call.
    await vclock.advance(15)
    assert [(c.updates, c.status) for c in bulk_calls(fake)][2:] == [(2, 202)]
    assert stored_times(fake) == [at(i * 60) for i in range(962)]
    assert sender.rows_waiting == 0
    assert sender.consecutive_failures == 0


@pytest.mark.parametrize(("policy", "status"), DUPLICATE_ANSWERS)
async def test_another_writer_took_a_queued_second(
    make_sender: SenderFactory,
    fake: FakeThingSpeak,
    vclock: VirtualClock,
    policy: Any,
    status: int,
) -> None:
    """The row is re-dated by the smallest shift that is free, not dead-lettered."""
    fake.duplicate_policy = policy
    fake.store_entry(CHANNEL, at(120), field1="other writer")
    fake.store_entry(CHANNEL, at(121), field1="other writer")
    outbox = Outbox()
    for i in range(4):
        outbox.add(make_row(i * 60))
    sender = await make_sender(outbox, row_interval=60.0)
    await vclock.run_until(lambda: sender.rows_waiting == 0, step=15)
    ours = [e for e in fake.stored(CHANNEL) if e.values["field1"] != "other writer"]
    # +1 s is taken too: -1 s is the smallest free shift.
    assert sorted((e.created_at, e.values["field1"]) for e in ours) == [
        (at(0), 0),
        (at(60), 60),
        (at(119), 120),
        (at(180), 180),
    ]
    counters = sender.outbox.counters
    assert (counters.redated, counters.dead_lettered) == (1, 0)
    assert sender.outbox.dead_letters == ()
    assert sender.diagnostics()["counters"]["redated"] == 1
    assert status in {c.status for c in bulk_calls(fake)}
    assert (fake.min_spacing(CHANNEL) or 0) >= 15


async def test_another_writer_on_a_one_second_grid(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    """Paid plan, 1 s rows: no free second in between, so the rows behind move up."""
    fake.duplicate_policy = "conflict"
    fake.store_entry(PAID_CHANNEL, at(2), field1="other writer")
    outbox = Outbox()
    for i in range(5):
        outbox.add(make_row(i))
    cfg = ChannelConfig(PAID_CHANNEL, PAID_KEY, Plan.PAID, fake.url, timeout=2.0)
    sender = await make_sender(outbox, cfg=cfg, row_interval=1.0)
    await vclock.run_until(lambda: sender.rows_waiting == 0, step=1)
    ours = [
        (e.created_at, e.values["field1"])
        for e in fake.stored(PAID_CHANNEL)
        if e.values["field1"] != "other writer"
    ]
    assert sorted(ours) == [(at(0), 0), (at(1), 1), (at(3), 2), (at(4), 3), (at(5), 4)]
    assert sender.outbox.counters.redated == 1
    assert sender.outbox.dead_letters == ()
    assert sender.add(make_row(5)).created_at == at(6)


@pytest.mark.parametrize(
    ("fault", "status", "outcome"),
    [
        ("error", 400, "redated"),  # a bare 400 may be a taken second
        ("error", 401, "auth"),
        ("error", 402, "quota"),
        ("error", 404, "not_found"),
        ("error", 405, "not_found"),
        ("error", 409, "redated"),
        ("error", 413, "dead"),
        ("error", 421, "redated"),
        ("error", 422, "dead"),
        ("error", 429, "retry"),
        ("error", 500, "retry"),
        ("error", 502, "retry"),
        ("error", 503, "retry"),
        ("zero", 200, "retry"),
        ("unsuccessful", 200, "retry"),
    ],
)
async def test_sender_handles_every_documented_status(
    make_sender: SenderFactory,
    fake: FakeThingSpeak,
    vclock: VirtualClock,
    fault: Any,
    status: int,
    outcome: str,
) -> None:
    problems: list[Problem] = []
    sender = await make_sender(
        row_interval=300.0, on_problem=lambda problem, _: problems.append(problem)
    )
    fake.inject(fault, status=status)
    sender.add(make_row(0))
    await vclock.settle()
    assert sender.last_error is not None
    assert sender.last_error.status == status
    await vclock.advance(3600)
    if outcome == "auth":
        sender.set_write_key(KEY)
        await vclock.advance(15)
    stored = stored_times(fake)
    counters = sender.outbox.counters
    if outcome == "dead":
        assert stored == []
        assert counters.dead_lettered == 1
        return
    assert counters.dead_lettered == 0
    assert sender.rows_waiting == 0
    assert stored == ([at(1)] if outcome == "redated" else [at(0)])
    assert counters.redated == (1 if outcome == "redated" else 0)
    expected_problems = {
        "auth": [Problem.AUTH],
        "quota": [Problem.QUOTA],
        "not_found": [Problem.NOT_FOUND],
    }.get(outcome, [])
    assert problems == expected_problems
    if outcome == "retry":
        gaps = [b - a for a, b in itertools.pairwise(fake.arrivals(CHANNEL))]
        assert gaps == [15]  # backoff, not the hourly retry


async def test_a_content_refusal_is_tried_at_two_other_seconds_then_dead(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    fake.reject_values.add("POISON")
    sender = await make_sender(row_interval=300.0)
    sender.add(make_row(0, "POISON"))
    await vclock.run_until(lambda: sender.rows_waiting == 0, step=15)
    assert [c.status for c in bulk_calls(fake)] == [400, 400, 400]
    letters = sender.outbox.dead_letters
    assert len(letters) == 1 and letters[0].row.field1 == "POISON"
    assert sender.outbox.counters.dead_lettered == 1


@pytest.mark.parametrize("clean_stop", [False, True])
async def test_restored_rows_are_redated_only_after_a_clean_stop(
    make_sender: SenderFactory,
    fake: FakeThingSpeak,
    vclock: VirtualClock,
    clean_stop: bool,
) -> None:
    """A copy saved without a clean stop may miss calls that stored its rows.

    (Saves failed while uploads went on, then a crash.) A refused created_at
    of such a row means it is stored: taken as stored, never re-dated and stored
    a second time. After a clean stop the copy is current, so a refusal means
    another writer, and the row is re-dated.
    """
    outbox = Outbox()
    for i in range(3):
        outbox.add(make_row(i * 60))
    saved = outbox.to_dict()
    saved["clean_stop"] = clean_stop
    fake.store_entry(CHANNEL, at(60), field1=60)
    saves = Saves()
    sender = await make_sender(Outbox.from_dict(saved), save=saves, row_interval=60.0)
    await vclock.run_until(lambda: sender.rows_waiting == 0, step=15)
    counters = sender.outbox.counters
    times = stored_times(fake)
    if clean_stop:
        assert sorted(times) == [at(0), at(60), at(61), at(120)]
        assert (counters.redated, counters.assumed_stored) == (1, 0)
    else:
        assert sorted(times) == [at(0), at(60), at(120)]
        assert (counters.redated, counters.assumed_stored) == (0, 1)
    assert sender.outbox.dead_letters == ()
    assert saves.last["clean_stop"] is False
    await sender.stop()
    assert saves.last["clean_stop"] is True


async def test_sender_backoff_grows_and_is_capped(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    sender = await make_sender()
    fake.inject("error", None, status=503)
    sender.add(make_row(0))
    await vclock.advance(6 * 3600)
    times = fake.arrivals(CHANNEL)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[:8] == [15, 30, 60, 120, 240, 480, 960, 1800]
    assert set(gaps[7:]) == {1800}
    assert sender.backoff == 1800
    assert sender.diagnostics()["consecutive_failures"] == len(times)
    fake.clear_faults()
    await vclock.advance(1800)
    assert stored_times(fake) == [at(0)]


async def test_sender_backoff_jitter(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    draws = iter([0.0, 1.0, 0.5, 0.999])
    sender = await make_sender(rand=lambda: next(draws))
    fake.inject("error", 4, status=500)
    sender.add(make_row(0))
    backoffs = []
    for _ in range(4):
        await vclock.settle()
        backoffs.append(sender.backoff)
        await vclock.advance(sender.backoff)
    # Nominal 15, 30, 60, 120 shortened by up to half.
    assert backoffs == [15.0, 15.0, 45.0, pytest.approx(60.06)]
    assert [c.status for c in fake.calls] == [500, 500, 500, 500, 202]
    assert stored_times(fake) == [at(0)]


async def test_push_now_skips_backoff_but_not_spacing(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    sender = await make_sender()
    fake.inject("error", None, status=500)
    sender.add(make_row(0))
    for _ in range(5):
        await vclock.advance(sender.backoff)
    assert sender.backoff == 240
    fake.clear_faults()
    sender.push_now()  # right after a call: must still wait the 15 s
    await vclock.settle()
    calls = len(fake.calls)
    await vclock.advance(14)
    assert len(fake.calls) == calls
    await vclock.advance(1)
    assert len(fake.calls) == calls + 1
    assert stored_times(fake) == [at(0)]
    assert (fake.min_spacing(CHANNEL) or 0) >= 15


async def test_note_write_holds_the_next_call(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    """A write made elsewhere (the flow's test row) counts for the spacing."""
    saves = Saves()
    outbox = Outbox()
    outbox.last_call_at = vclock.wall() - timedelta(seconds=60)
    sender = await make_sender(outbox, save=saves, start=False)
    sender.note_write(vclock.wall() - timedelta(seconds=100))  # older: ignored
    assert outbox.last_call_at == vclock.wall() - timedelta(seconds=60)
    assert not outbox.dirty
    sender.note_write(vclock.wall() - timedelta(seconds=5))
    await sender.start()
    await vclock.settle()
    # Saved, so that the spacing also holds across a restart.
    assert saves.last["last_call_at"] == "2026-11-25T23:59:55+00:00"
    sender.add(make_row(0))
    await vclock.advance(9)
    assert fake.calls == []
    await vclock.advance(1)
    assert [call.status for call in fake.calls] == [202]

    # While running; a wall time in the future counts as now.
    await vclock.advance(5)
    sender.note_write(vclock.wall() + timedelta(seconds=30))
    sender.add(make_row(1))
    await vclock.advance(14)
    assert len(fake.calls) == 1
    await vclock.advance(1)
    assert [call.status for call in fake.calls] == [202, 202]
    assert stored_times(fake) == [at(0), at(1)]


async def test_sender_auth_failure_stops_and_resumes_with_new_key(
    make_sender: SenderFactory,
    fake: FakeThingSpeak,
    vclock: VirtualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    problems: list[tuple[Problem, UploadResult]] = []
    cleared: list[Problem] = []
    cfg = ChannelConfig(CHANNEL, "BADKEY0000000000", base_url=fake.url)
    sender = await make_sender(
        cfg=cfg,
        on_problem=lambda p, r: problems.append((p, r)),
        on_problem_cleared=cleared.append,
    )
    sender.add(make_row(0))
    await vclock.settle()
    assert [p for p, _ in problems] == [Problem.AUTH]
    assert problems[0][1].status == 401
    assert sender.auth_blocked
    assert sender.problems == {Problem.AUTH}
    assert sender.diagnostics()["state"] == "auth_failed"
    calls = len(fake.calls)
    sender.add(make_row(300))
    sender.push_now()
    await vclock.advance(7200)
    assert len(fake.calls) == calls  # stopped: no call at all
    assert sender.rows_waiting == 2
    # A wrong new key is reported again.
    sender.set_write_key("STILLWRONG000000")
    await vclock.advance(60)
    assert [p for p, _ in problems] == [Problem.AUTH, Problem.AUTH]
    sender.set_write_key(KEY)
    await vclock.advance(60)
    assert stored_times(fake) == [at(0), at(300)]
    assert cleared == [Problem.AUTH]
    assert not sender.auth_blocked
    assert sender.problems == frozenset()
    for record in caplog.records:
        assert "BADKEY" not in record.getMessage()
        assert "STILLWRONG" not in record.getMessage()
        assert KEY not in record.getMessage()


async def test_sender_quota_reports_keeps_rows_and_retries_hourly(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    problems: list[Problem] = []
    cleared: list[Problem] = []
    sender = await make_sender(
        on_problem=lambda p, r: problems.append(p), on_problem_cleared=cleared.append
    )
    fake.channel(CHANNEL).quota = 0
    for i in range(3):
        sender.add(make_row(i * 300))
        await vclock.advance(300)
    assert problems == [Problem.QUOTA]  # once, not per attempt
    assert sender.rows_waiting == 3
    first = fake.arrivals(CHANNEL)[0]
    await vclock.advance(3600)
    assert [t - first for t in fake.arrivals(CHANNEL)] == [0, 3600]
    fake.channel(CHANNEL).quota = None  # more messages bought
    sender.push_now()
    await vclock.settle()
    assert stored_times(fake) == [at(0), at(300), at(600)]
    assert cleared == [Problem.QUOTA]
    assert problems == [Problem.QUOTA]


async def test_sender_unknown_channel(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    problems: list[Problem] = []
    cfg = ChannelConfig(4242, KEY, base_url=fake.url)
    sender = await make_sender(cfg=cfg, on_problem=lambda p, r: problems.append(p))
    sender.add(make_row(0))
    await vclock.advance(3 * 3600)
    assert problems == [Problem.NOT_FOUND]
    assert len(fake.arrivals(4242)) == 4
    assert sender.rows_waiting == 1


@pytest.mark.parametrize(("bad", "status"), [("POISON", 400), ("broken \udc80", 422)])
async def test_sender_splits_refused_batches(
    make_sender: SenderFactory,
    fake: FakeThingSpeak,
    vclock: VirtualClock,
    caplog: pytest.LogCaptureFixture,
    bad: str,
    status: int,
) -> None:
    caplog.set_level(logging.WARNING, LOGGER_NAME)
    fake.reject_values.add("POISON")
    outbox = Outbox()
    bad_rows = {5, 13}
    for i in range(16):
        outbox.add(make_row(i * 60, bad if i in bad_rows else float(i)))
    saves = Saves()
    sender = await make_sender(outbox, save=saves)
    await vclock.run_until(lambda: sender.rows_waiting == 0, step=15)
    assert stored_times(fake) == [at(i * 60) for i in range(16) if i not in bad_rows]
    letters = sender.outbox.dead_letters
    assert [letter.row.created_at for letter in letters] == [at(300), at(780)]
    assert all(f"HTTP {status}" in letter.reason for letter in letters)
    assert all(letter.at.tzinfo is not None for letter in letters)
    assert sender.outbox.counters.dead_lettered == 2
    assert saves.last["dead_letters"][0]["reason"].startswith(f"HTTP {status}")
    # Binary split: 16 -> 8 -> 4+4 -> 2 -> 1+1 -> 2, twice; a lone row refused
    # with a bare 400 (a taken second looks the same) is tried at two other
    # seconds before it is a dead letter; a 422 says what is wrong.
    tries = [1, 1] if status == 400 else []
    assert [c.updates for c in bulk_calls(fake)] == [
        16,
        8,
        4,
        4,
        2,
        1,
        1,
        *tries,
        2,
        8,
        4,
        4,
        2,
        1,
        1,
        *tries,
        2,
    ]
    assert (fake.min_spacing(CHANNEL) or 0) >= 15
    assert sum("dead letters" in r.getMessage() for r in caplog.records) == 2


async def test_sender_split_survives_a_retry(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    fake.reject_values.add("POISON")
    outbox = Outbox()
    for i in range(4):
        outbox.add(make_row(i * 60, "POISON" if i == 3 else 1.0))
    sender = await make_sender(outbox)
    # The first call (4 rows) was refused; the next one (2 rows) meets a 500.
    assert [c.status for c in fake.calls] == [400]
    fake.inject("error", 1, status=500)
    await vclock.run_until(lambda: sender.rows_waiting == 0, step=15)
    assert stored_times(fake) == [at(0), at(60), at(120)]
    assert [(c.updates, c.status) for c in bulk_calls(fake)] == [
        (4, 400),
        (0, 500),
        (2, 202),
        (2, 400),
        (1, 202),
        (1, 400),
        (1, 400),  # the same row at 181 s (a taken second is answered alike)
        (1, 400),  # and at 179 s
    ]
    assert [letter.row.created_at for letter in sender.outbox.dead_letters] == [at(180)]


async def test_sender_outbox_cap_counts_drops(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    sender = await make_sender(Outbox(max_rows=5))
    fake.inject("error", None, status=503)
    for i in range(8):
        sender.add(make_row(i * 300))
        await vclock.advance(300)
    assert sender.rows_waiting == 5
    assert sender.outbox.counters.dropped_overflow == 3
    fake.clear_faults()
    sender.push_now()
    await vclock.run_until(lambda: sender.rows_waiting == 0, step=15)
    assert stored_times(fake) == [at(i * 300) for i in range(3, 8)]
    assert sender.diagnostics()["counters"]["dropped_overflow"] == 3


@pytest.mark.parametrize("policy", ["reject", "skip"])
async def test_no_duplicate_after_restart_between_success_and_save(
    make_sender: SenderFactory, vclock: VirtualClock, policy: Any
) -> None:
    """The process dies after ThingSpeak stored a batch, before the save after it.

    What survives is the snapshot saved before the call; the rows in it are sent
    again and ThingSpeak, whichever way it answers duplicates, holds them once.
    """
    server = await start_fake_thingspeak(
        (CHANNEL, KEY), clock=vclock, duplicate_policy=policy
    )
    try:
        cfg = ChannelConfig(CHANNEL, KEY, base_url=server.url)
        saves = Saves()
        sender = await make_sender(cfg=cfg, save=saves)
        for i in range(3):
            sender.add(make_row(i))
        await vclock.settle()
        assert len(server.stored(CHANNEL)) == 3
        before_call = saves.snapshots[-2]
        assert len(before_call["rows"]) == 3
        assert saves.last["rows"] == []
        await sender.stop()
        vclock.senders.clear()

        restored = Outbox.from_dict(before_call)
        assert len(restored) == 3
        saves2 = Saves()
        sender2 = await make_sender(restored, cfg=cfg, save=saves2)
        sender2.add(make_row(3600))
        await vclock.run_until(lambda: sender2.rows_waiting == 0, step=15)
        times = [e.created_at for e in server.stored(CHANNEL)]
        assert times == [at(0), at(1), at(2), at(3600)]
        assert server.duplicates_refused >= 3
        assert sender2.outbox.dead_letters == ()
        counters = sender2.outbox.counters
        assert counters.produced == 4
        if policy == "reject":
            assert (counters.delivered_after_unknown, counters.uploaded) == (3, 1)
        else:
            assert (counters.delivered_after_unknown, counters.uploaded) == (0, 4)
        assert saves2.last["rows"] == []
        assert (server.min_spacing(CHANNEL) or 0) >= 15
    finally:
        await server.close()


async def test_restart_in_the_middle_of_a_call(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    saves = Saves()
    cfg = ChannelConfig(CHANNEL, KEY, base_url=fake.url, timeout=30)
    sender = await make_sender(cfg=cfg, save=saves)
    fake.inject("hang", store=True)
    sender.add(make_row(0))
    sender.add(make_row(1))
    for _ in range(200):
        if fake.calls:
            break
        await asyncio.sleep(0.005)
    await sender.stop()  # HA stops while the call hangs
    assert saves.last["uncertain_through"] == "2026-11-26T00:00:01Z"
    assert len(saves.last["rows"]) == 2
    vclock.senders.clear()
    sender2 = await make_sender(Outbox.from_dict(saves.last), cfg=cfg, save=saves)
    await vclock.run_until(lambda: sender2.rows_waiting == 0, step=15)
    assert stored_times(fake) == [at(0), at(1)]
    assert sender2.outbox.counters.delivered_after_unknown == 2


async def test_save_failures_do_not_stop_uploads(
    make_sender: SenderFactory,
    fake: FakeThingSpeak,
    vclock: VirtualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, LOGGER_NAME)
    saves = Saves()
    saves.fail = 3
    sender = await make_sender(save=saves)
    sender.add(make_row(0))
    await vclock.settle()
    assert stored_times(fake) == [at(0)]
    assert sender.diagnostics()["last_save_error"] == "OSError: disk full"
    assert sender.outbox.dirty
    await vclock.advance(300)
    sender.add(make_row(300))
    await vclock.advance(60)
    assert sender.diagnostics()["last_save_error"] is None
    assert saves.last["counters"]["uploaded"] == 2
    assert not sender.outbox.dirty
    assert sum("could not save" in r.getMessage() for r in caplog.records) == 1


async def test_sender_without_save_and_stop_saves(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    sender = await make_sender()
    sender.add(make_row(0))
    await vclock.settle()
    assert not sender.outbox.dirty
    saves = Saves()
    fake.inject("error", None, status=500)
    sender2 = await make_sender(Outbox(), save=saves, start=False)
    await sender2.stop()  # never started: fine
    sender2.add(make_row(10))
    await sender2.stop()
    assert len(saves.last["rows"]) == 1


async def test_diagnostics_during_a_call_and_stop_during_a_save(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    cfg = ChannelConfig(CHANNEL, KEY, base_url=fake.url, timeout=30)
    sender = await make_sender(cfg=cfg)
    fake.inject("hang")
    sender.add(make_row(0))
    for _ in range(400):
        if fake.calls:
            break
        await asyncio.sleep(0.005)
    diagnostics = sender.diagnostics()
    assert diagnostics["state"] == "uploading"
    assert diagnostics["uncertain_through"] == "2026-11-26T00:00:00+00:00"
    assert diagnostics["oldest_waiting"] == "2026-11-26T00:00:00+00:00"
    await sender.stop()

    started = asyncio.Event()

    async def slow_save(data: dict[str, Any]) -> None:
        if not started.is_set():
            started.set()
            await asyncio.sleep(30)

    sender2 = await make_sender(Outbox(), cfg=cfg, save=slow_save)
    sender2.add(make_row(10))
    await started.wait()
    task = sender2._task
    assert task is not None
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert sender2.outbox.dirty  # the interrupted save is still owed


async def test_start_with_a_task_factory(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    names: list[str] = []

    def factory(coro: Any, name: str) -> asyncio.Task[None]:
        names.append(name)
        return asyncio.get_running_loop().create_task(coro, name=name)

    sender = await make_sender(start=False)
    await sender.start(create_task=factory)
    await sender.start(create_task=factory)
    assert names == [f"iotitan thingspeak channel {CHANNEL}"]
    sender.add(make_row(0))
    await vclock.settle()
    assert stored_times(fake) == [at(0)]


async def test_stop_leaves_no_task(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    before = asyncio.all_tasks()
    sender = await make_sender()
    fake.inject("error", None, status=500)
    sender.add(make_row(0))
    await vclock.settle()
    assert sender.idle
    await sender.stop()
    await asyncio.sleep(0)
    assert not sender.running
    assert sender.diagnostics()["state"] == "stopped"
    left = [t for t in asyncio.all_tasks() - before if "RequestHandler" not in repr(t)]
    assert left == []


async def test_loop_survives_unexpected_errors(
    make_sender: SenderFactory,
    fake: FakeThingSpeak,
    vclock: VirtualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def boom(problem: Problem, result: UploadResult) -> None:
        raise RuntimeError("callback bug")

    sender = await make_sender(on_problem=boom)
    fake.channel(CHANNEL).quota = 0
    sender.add(make_row(0))
    await vclock.settle()
    assert "error in a callback" in caplog.text
    fake.channel(CHANNEL).quota = None

    async def broken(rows: Any) -> UploadResult:
        raise RuntimeError("client bug")

    real = sender._client.bulk_update
    sender._client.bulk_update = broken  # type: ignore[method-assign]
    sender.push_now()
    await vclock.advance(15)
    assert "unexpected error in the upload loop" in caplog.text
    sender._client.bulk_update = real  # type: ignore[method-assign]
    await vclock.advance(3600)
    assert stored_times(fake) == [at(0)]


async def test_reconfigure_checks_the_channel(
    make_sender: SenderFactory, config: ChannelConfig
) -> None:
    sender = await make_sender(start=False)
    with pytest.raises(ValueError, match="channel id"):
        sender.reconfigure(ChannelConfig(CHANNEL + 1, KEY))
    sender.reconfigure(ChannelConfig(CHANNEL, KEY, Plan.PAID, config.base_url))
    assert sender.config.plan is Plan.PAID
    with pytest.raises(ValueError):
        ChannelSender(None, config, backoff_initial=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ChannelSender(None, config, jitter=1)  # type: ignore[arg-type]


async def test_key_change_during_a_call_is_not_blocked(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    """A 401 for the old key that arrives after the new key was set is ignored."""
    problems: list[Problem] = []
    cfg = ChannelConfig(CHANNEL, "OLDKEY0000000000", base_url=fake.url)
    sender = await make_sender(cfg=cfg, on_problem=lambda p, r: problems.append(p))
    real = sender._client.bulk_update

    async def slow(rows: Any) -> UploadResult:
        result = await real(rows)
        sender.set_write_key(KEY)  # the reauth flow finished meanwhile
        return result

    sender._client.bulk_update = slow  # type: ignore[method-assign]
    sender.add(make_row(0))
    await vclock.advance(60)
    assert problems == []
    assert stored_times(fake) == [at(0)]


async def test_write_key_never_leaks(
    make_sender: SenderFactory,
    fake: FakeThingSpeak,
    vclock: VirtualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    saves = Saves()
    sender = await make_sender(save=saves)
    fake.reject_values.add("POISON")
    for fault, status in (("error", 500), ("drop", 0), ("zero", 0), ("error", 402)):
        fake.inject(fault, status=status)  # type: ignore[arg-type]
    sender.add(make_row(0, "POISON"))
    sender.add(make_row(1))
    await vclock.advance(4 * 3600)
    fake.channel(CHANNEL).write_key = "NEWSECRETKEY9999"
    sender.reconfigure(ChannelConfig(CHANNEL, "NEWSECRETKEY9999", base_url=fake.url))
    sender.add(make_row(9000))
    await vclock.advance(600)
    assert stored_times(fake) == [at(1), at(9000)]
    texts = [
        repr(sender),
        str(sender),
        json.dumps(sender.diagnostics()),
        repr(sender.config),
    ]
    texts += [json.dumps(s) for s in saves.snapshots]
    for record in caplog.records:
        texts.append(record.getMessage())
        texts.append(repr(record.args))
        if record.exc_text:
            texts.append(record.exc_text)
    assert len(caplog.records) > 3
    for text in texts:
        assert KEY not in text
        assert "NEWSECRETKEY9999" not in text


# ---------------------------------------------------------------------------
# Long outages at engine level


async def _outage_run(
    make_sender: SenderFactory,
    fake: FakeThingSpeak,
    vclock: VirtualClock,
    *,
    interval: float,
    duration: float,
    outage: tuple[float, float],
    restart_at: float | None = None,
) -> dict[str, Any]:
    saves = Saves()
    sender = await make_sender(save=saves, rand=lambda: 0.5)
    start = vclock.now
    produced: list[datetime] = []
    down = False
    n_rows = int(duration // interval) + 1
    for i in range(n_rows):
        t = i * interval
        await vclock.advance(start + t - vclock.now)
        if not down and outage[0] <= t < outage[1]:
            # Down: a mix of refusals, errors and dropped connections.
            fake.inject("drop", None, channel_id=CHANNEL)
            fake.inject("error", None, status=503, channel_id=CHANNEL)
            down = True
        elif down and t >= outage[1]:
            fake.clear_faults()
            down = False
        if restart_at is not None and t >= restart_at:
            await sender.stop()
            vclock.senders.remove(sender)
            sender = await make_sender(
                Outbox.from_dict(saves.last), save=saves, rand=lambda: 0.5
            )
            restart_at = None
        produced.append(sender.add(Row(vclock.wall(), field1=float(i))).created_at)
    if down:
        fake.clear_faults()
    await vclock.run_until(lambda: sender.rows_waiting == 0, step=60)
    times = stored_times(fake)
    return {
        "produced": len(produced),
        "stored": len(times),
        "duplicates": len(times) - len(set(times)),
        "calls": len(fake.calls),
        "failed_calls": sum(1 for c in fake.calls if c.status != 202),
        "min_spacing": fake.min_spacing(CHANNEL),
        "produced_times": produced,
        "stored_times": times,
        "values": [e.values["field1"] for e in fake.stored(CHANNEL)],
        "counters": sender.outbox.counters.to_dict(),
        "sender": sender,
    }


async def test_two_hour_outage_loses_and_duplicates_nothing(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    """2 h of rows every 300 s; the server is down from 0:30 to 1:30."""
    result = await _outage_run(
        make_sender, fake, vclock, interval=300, duration=7200, outage=(1800, 5400)
    )
    _LOGGER.info(
        "outage simulation: produced=%d stored=%d duplicates=%d calls=%d "
        "failed_calls=%d min_spacing=%s",
        result["produced"],
        result["stored"],
        result["duplicates"],
        result["calls"],
        result["failed_calls"],
        result["min_spacing"],
    )
    assert result["produced"] == 25
    assert result["stored_times"] == result["produced_times"]
    assert result["stored_times"] == [at(i * 300) for i in range(25)]
    assert result["values"] == [float(i) for i in range(25)]
    assert result["duplicates"] == 0
    assert result["min_spacing"] >= 15.0
    assert result["failed_calls"] > 5
    assert fake.duplicates_refused == 0
    counters = result["counters"]
    assert counters["uploaded"] == 25
    assert counters["dead_lettered"] == counters["dropped_overflow"] == 0


async def test_day_long_outage_with_restart(
    make_sender: SenderFactory, fake: FakeThingSpeak, vclock: VirtualClock
) -> None:
    """24 h of rows every 60 s, down for 18 h, Home Assistant restarted mid-outage."""
    result = await _outage_run(
        make_sender,
        fake,
        vclock,
        interval=60,
        duration=86_400,
        outage=(3 * 3600, 21 * 3600),
        restart_at=12 * 3600,
    )
    _LOGGER.info(
        "day-long outage: produced=%d stored=%d duplicates=%d calls=%d "
        "failed_calls=%d min_spacing=%s",
        result["produced"],
        result["stored"],
        result["duplicates"],
        result["calls"],
        result["failed_calls"],
        result["min_spacing"],
    )
    assert result["produced"] == 1441
    assert result["stored_times"] == result["produced_times"]
    assert result["duplicates"] == 0
    assert result["min_spacing"] >= 15.0
    assert max(c.updates for c in fake.calls) == 960
    assert fake.duplicates_refused == 0


# ---------------------------------------------------------------------------
# Helpers of this module


async def test_virtual_clock_helpers(vclock: VirtualClock) -> None:
    task = asyncio.ensure_future(vclock.sleep(10))
    await vclock.advance(5)
    assert not task.done()
    await vclock.advance(5)
    await task
    cancelled = asyncio.ensure_future(vclock.sleep(10))
    await asyncio.sleep(0)
    cancelled.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await cancelled
    await vclock.advance(20)
    assert await vclock.run_until(lambda: True) == 0
