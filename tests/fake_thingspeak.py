"""A local fake of ThingSpeak's write API, for tests and the demo.

It answers as ThingSpeak documents (mathworks.com/help/thingspeak: "Bulk-Write
JSON Data", "Write Data", "Error Codes"), records what it *stored* and when
every call arrived, and can be told to misbehave. Where the documentation says
nothing, the choice made here is marked "docs silent" below.

Endpoints
---------
``POST /channels/<id>/bulk_update.json``
    JSON ``{"write_api_key": K, "updates": [...]}``; each update has
    ``created_at`` (ISO 8601, MySQL ``YYYY-MM-DD HH:MM:SS`` or EPOCH seconds) or
    ``delta_t`` (seconds since the previous entry, non-zero except the first),
    and optionally ``field1``..``field8``, ``status``, ``latitude`` (-90..90),
    ``longitude`` (-180..180), ``elevation``. Success: 202 ``{"success": true}``.
    Too many updates for the plan (960 free, 14,400 paid): 413. Calls closer
    than the plan's spacing (15 s free, 1 s paid): 429.
``POST|GET /update`` and ``/update.json``
    Form, JSON or query parameters; key as ``api_key`` or the
    ``THINGSPEAKAPIKEY`` header; ``field1``..``field8``, ``lat``, ``long``,
    ``elevation``, ``status``, ``created_at``. Answers the new entry id as text
    (``/update``) or the entry as JSON (``/update.json``), and ``0`` when the
    write came sooner than the plan allows (15 s free, 1 s paid).
``GET /channels/<id>/feeds.json``
    The stored entries (for the demo; the real one needs a read key on a private
    channel, this fake does not check one).

Errors carry ThingSpeak's documented bodies: JSON
``{"status": "401", "error": {"error_code": "error_auth_required", "message":
"Authorization Required", "details": ...}}`` on ``.json`` endpoints, the bare
error code as text on ``/update``.

Choices where the docs are silent:
* A ``created_at`` already stored in the channel (by any writer: the docs say
  "all timestamps must be unique" in a channel): with
  ``duplicate_policy="reject"`` (default) the whole bulk call is refused with
  400 (details: "... created_at already stored") and nothing is stored; with
  ``"conflict"`` the same with 409 (``error_conflict``), with ``"no_action"``
  with 421 (``error_no_action``), both documented statuses; with ``"skip"`` the
  duplicates are skipped and the rest stored (202). ``/update`` answers ``0``
  (``reject``, ``skip``) or the policy's status. Either way the entry is never
  stored twice and `FakeThingSpeak.duplicates_refused` counts the attempts.
  The same ``created_at`` twice in one call is a bad request (400).
* Another program writing to the channel: `FakeThingSpeak.store_entry`.
* Timestamps are kept to the second (fractions are truncated) and a timestamp
  without a zone is UTC. The first ``delta_t`` of a call counts from the
  channel's newest entry (from the server's wall clock for an empty channel).
* Spacing is measured between authenticated write calls to a channel, refused
  ones included. The quota (402) applies once ``quota`` entries are stored; a
  call that crosses the limit is still accepted.
* Unknown keys in a bulk update are refused with 400 (strict, to catch client
  bugs); unknown parameters of ``/update`` are ignored.
* A field value listed in `FakeThingSpeak.reject_values` makes the call 400
  (a stand-in for content ThingSpeak refuses); a string with a lone surrogate
  makes it 422 (``error_invalid_byte_sequence``, "valid UTF-8" in the docs).

Faults (`FakeThingSpeak.inject`): ``"error"`` answers a status (default 500),
``"hang"`` holds the call past any client timeout, ``"zero"`` answers 200 ``0``,
``"unsuccessful"`` answers 200 ``{"success": false}``, ``"drop"`` closes the
connection without an answer. ``store=True`` stores the rows first (for hang,
drop and error), as a server that fails after committing would
(``inject("drop", store=True)``: stored, and the answer is lost).

Standalone: ``python -m tests.fake_thingspeak --port 8765 --channel 12345:KEY``
(``--channel ID:KEY[:free|paid]``, repeatable; ``--duplicate-policy
reject|conflict|no_action|skip``; binds 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Iterable, Mapping
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import itertools
import json
import logging
import signal
import sys
import time
from typing import Any, Literal

from aiohttp import web

_LOGGER = logging.getLogger(__name__)

FaultKind = Literal["error", "hang", "zero", "unsuccessful", "drop"]
DuplicatePolicy = Literal["reject", "conflict", "no_action", "skip"]
DUPLICATE_STATUS: dict[str, int] = {"reject": 400, "conflict": 409, "no_action": 421}
Endpoint = Literal["bulk", "update"]

PLAN_LIMITS: dict[str, tuple[float, int]] = {
    "free": (15.0, 960),
    "paid": (1.0, 14_400),
}

# HTTP status -> (error_code, message, details), from ThingSpeak's "Error Codes".
ERRORS: dict[int, tuple[str, str, str]] = {
    400: (
        "error_bad_request",
        "Bad Request",
        "The request cannot be fulfilled due to bad syntax.",
    ),
    401: (
        "error_auth_required",
        "Authorization Required",
        "Please make sure that your API key is correct.",
    ),
    402: (
        "error_payment_required",
        "Payment Required",
        "You have exceeded the message limit for the ThingSpeak license.",
    ),
    404: (
        "error_resource_not_found",
        "Resource Not Found",
        "The requested resource was not found. Check the URL and try again.",
    ),
    405: (
        "error_method_invalid",
        "Method Not Allowed",
        "Use the proper HTTP method for this request.",
    ),
    409: (
        "error_conflict",
        "Conflict",
        "The request is in conflict with the current state of the targeted "
        "resource. Try your request again or change the request to resolve the "
        "conflict.",
    ),
    413: (
        "error_request_too_large",
        "Request Entity Too Large",
        "Your request is too large. Reduce the size and try again.",
    ),
    421: (
        "error_no_action",
        "No Action Performed",
        "The server attempted to process your request, but has no action to perform.",
    ),
    422: (
        "error_invalid_byte_sequence",
        "Unprocessable Entity",
        "Please check your inputs to ensure that all inputs contain only valid "
        "UTF-8 encoded data.",
    ),
    429: (
        "error_too_many_requests",
        "Too Many Requests",
        "Wait before making another request.",
    ),
    # The docs list 5xx without an error code (docs silent): these are made up.
    500: ("error_internal", "Internal Server Error", "An unexpected condition."),
    502: ("error_bad_gateway", "Bad Gateway", "Invalid upstream response."),
    503: ("error_unavailable", "Service Unavailable", "Try your request later."),
}

_BULK_KEYS = frozenset(
    {"created_at", "delta_t", "status", "latitude", "longitude", "elevation"}
    | {f"field{i}" for i in range(1, 9)}
)


@dataclass
class StoredEntry:
    """One entry the fake stored."""

    entry_id: int
    created_at: datetime
    values: dict[str, Any]

    def as_dict(self, channel_id: int) -> dict[str, Any]:
        """Return ThingSpeak's feed form of the entry."""
        data: dict[str, Any] = {
            "channel_id": channel_id,
            "created_at": self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "entry_id": self.entry_id,
        }
        for name in (*(f"field{i}" for i in range(1, 9)), "status"):
            value = self.values.get(name)
            data[name] = None if value is None else str(value)
        for name in ("latitude", "longitude", "elevation"):
            data[name] = self.values.get(name)
        return data


@dataclass
class Call:
    """One request as it arrived."""

    seq: int
    method: str
    path: str
    endpoint: str
    channel_id: int | None
    arrival: float
    status: int | None = None  # None: no answer (dropped, or hung)
    updates: int = 0
    stored: int = 0
    fault: str | None = None


@dataclass
class FakeChannel:
    """A channel of the fake and what it holds."""

    channel_id: int
    write_key: str
    plan: str = "free"
    quota: int | None = None
    entries: list[StoredEntry] = field(default_factory=list)
    messages: int = 0
    last_write: float | None = None

    @property
    def min_interval(self) -> float:
        """Return the plan's minimum seconds between write calls."""
        return PLAN_LIMITS[self.plan][0]

    @property
    def max_batch(self) -> int:
        """Return the plan's maximum updates per bulk call."""
        return PLAN_LIMITS[self.plan][1]

    def timestamps(self) -> set[datetime]:
        """Return the stored created_at values."""
        return {entry.created_at for entry in self.entries}


@dataclass
class Fault:
    """An injected misbehaviour; ``remaining`` None means until cleared."""

    kind: FaultKind
    remaining: int | None = 1
    status: int = 500
    store: bool = False
    channel_id: int | None = None
    endpoint: Endpoint | None = None


class _Refused(Exception):
    """Answer with an error status."""

    def __init__(self, status: int, details: str | None = None) -> None:
        super().__init__(status, details)
        self.status = status
        self.details = details


def _parse_time(value: object) -> datetime:
    """Parse ISO 8601 / MySQL / EPOCH into UTC, truncated to the second."""
    if isinstance(value, bool):
        raise _Refused(400, "created_at is not a timestamp")
    if isinstance(value, int | float):
        parsed = datetime.fromtimestamp(float(value), UTC)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if text.lstrip("-").replace(".", "", 1).isdigit():
                parsed = datetime.fromtimestamp(float(text), UTC)
            else:
                parsed = datetime.fromisoformat(text)
        except (ValueError, OverflowError, OSError) as err:
            raise _Refused(400, f"created_at {value!r} cannot be parsed") from err
    else:
        raise _Refused(400, "created_at is not a timestamp")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).replace(microsecond=0)


def _has_lone_surrogate(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class FakeThingSpeak:
    """The fake server. Make it with `start_fake_thingspeak`."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] | None = None,
        duplicate_policy: DuplicatePolicy = "reject",
        hang_seconds: float = 60.0,
        open_key: str | None = None,
    ) -> None:
        """Prepare an empty fake; `start` binds it.

        With `open_key`, a bulk update to a channel id the fake does not know,
        written with that key, creates the channel (free plan) first: the demo's
        stand-in then takes any channel a person adds, as ThingSpeak would take
        any channel of theirs.
        """
        if duplicate_policy not in ("reject", "conflict", "no_action", "skip"):
            raise ValueError(
                "duplicate_policy must be 'reject', 'conflict', 'no_action' or 'skip'"
            )
        self.clock = clock
        self.wall = wall or (lambda: datetime.now(UTC))
        self.duplicate_policy = duplicate_policy
        self.hang_seconds = hang_seconds
        self.open_key = open_key
        self.channels: dict[int, FakeChannel] = {}
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.reject_values: set[str] = set()
        self.duplicates_refused = 0
        self._next_entry_id = 1
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.app = web.Application()
        self.app.router.add_post(
            "/channels/{channel_id}/bulk_update.json", self._handle_bulk
        )
        for path in ("/update", "/update.json"):
            self.app.router.add_post(path, self._handle_update)
            self.app.router.add_get(path, self._handle_update)
        self.app.router.add_get("/channels/{channel_id}/feeds.json", self._handle_feeds)

    # -- set-up and inspection ----------------------------------------------------

    def add_channel(
        self,
        channel_id: int,
        write_key: str,
        plan: str = "free",
        *,
        quota: int | None = None,
    ) -> FakeChannel:
        """Create a channel with its write key and plan ("free" or "paid")."""
        if plan not in PLAN_LIMITS:
            raise ValueError(f"unknown plan {plan!r}")
        channel = FakeChannel(channel_id, write_key, plan, quota)
        self.channels[channel_id] = channel
        return channel

    def store_entry(
        self, channel_id: int, created_at: datetime, **values: Any
    ) -> StoredEntry | None:
        """Store an entry as another program writing to the channel would.

        Returns None (nothing stored) when the second is taken already.
        """
        channel = self.channels[channel_id]
        second = created_at.astimezone(UTC).replace(microsecond=0)
        if not self._store(channel, [(second, values)]):
            return None
        return channel.entries[-1]

    def channel(self, channel_id: int) -> FakeChannel:
        """Return a channel."""
        return self.channels[channel_id]

    def stored(self, channel_id: int) -> list[StoredEntry]:
        """Return the entries stored in a channel, in order of storage."""
        return list(self.channels[channel_id].entries)

    def arrivals(self, channel_id: int) -> list[float]:
        """Return the arrival times (server clock) of every call to a channel."""
        return [call.arrival for call in self.calls if call.channel_id == channel_id]

    def min_spacing(self, channel_id: int) -> float | None:
        """Return the smallest gap between two calls to a channel, if two came."""
        times = self.arrivals(channel_id)
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        return min(gaps, default=None)

    def inject(
        self,
        kind: FaultKind,
        count: int | None = 1,
        *,
        status: int = 500,
        store: bool = False,
        channel_id: int | None = None,
        endpoint: Endpoint | None = None,
    ) -> Fault:
        """Make the next ``count`` matching calls misbehave (None: until cleared)."""
        fault = Fault(kind, count, status, store, channel_id, endpoint)
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Behave again."""
        self.faults.clear()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0: any free port); sets `url`."""
        runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=0.1
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound = runner.addresses[0][1]
        self.url = f"http://{host}:{bound}"

    async def close(self) -> None:
        """Release hung calls and stop listening."""
        self._closing.set()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    # -- handlers -----------------------------------------------------------------

    def _record(
        self, request: web.Request, endpoint: str, channel_id: int | None
    ) -> Call:
        call = Call(
            seq=len(self.calls) + 1,
            method=request.method,
            path=request.path,
            endpoint=endpoint,
            channel_id=channel_id,
            arrival=self.clock(),
        )
        self.calls.append(call)
        return call

    def _take_fault(self, endpoint: Endpoint, channel_id: int | None) -> Fault | None:
        for fault in self.faults:
            if fault.endpoint not in (None, endpoint):
                continue
            if fault.channel_id not in (None, channel_id):
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
            return fault
        return None

    @staticmethod
    def _error(status: int, details: str | None, *, as_json: bool) -> web.Response:
        code, message, default = ERRORS.get(
            status, ("error_unknown", "Error", "docs silent on this status")
        )
        if not as_json:
            return web.Response(status=status, text=code)
        return web.json_response(
            {
                "status": str(status),
                "error": {
                    "error_code": code,
                    "message": message,
                    "details": details or default,
                },
            },
            status=status,
        )

    async def _apply_fault(
        self,
        fault: Fault,
        request: web.Request,
        call: Call,
        store: Callable[[], None],
        *,
        as_json: bool,
    ) -> web.Response | None:
        """Act out a fault; return the answer, or None when the connection drops."""
        call.fault = fault.kind
        if fault.store:
            store()
        if fault.kind == "error":
            call.status = fault.status
            return self._error(fault.status, None, as_json=as_json)
        if fault.kind == "zero":
            call.status = 200
            return web.Response(status=200, text="0")
        if fault.kind == "unsuccessful":
            call.status = 200
            return web.json_response({"success": False}, status=200)
        if fault.kind == "hang":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.hang_seconds)
        # "drop", or a hang that ended: close the connection without an answer.
        transport = request.transport
        if transport is not None:
            transport.abort()
        return None

    def _opens(self, body: bytes) -> bool:
        """Whether a bulk body is written with the open key (see `open_key`)."""
        if self.open_key is None:
            return False
        try:
            document = json.loads(body)
        except ValueError:
            return False
        return (
            isinstance(document, dict)
            and document.get("write_api_key") == self.open_key
        )

    async def _handle_bulk(self, request: web.Request) -> web.StreamResponse:
        raw_id = request.match_info["channel_id"]
        channel_id = int(raw_id) if raw_id.isdigit() else None
        call = self._record(request, "bulk", channel_id)
        body = await request.read()
        pending: list[tuple[datetime, dict[str, Any]]] = []
        channel = self.channels.get(channel_id) if channel_id is not None else None
        if channel is None and channel_id is not None and self._opens(body):
            channel = self.add_channel(channel_id, str(self.open_key))

        def store_pending() -> None:
            if channel is not None:
                call.stored = self._store(channel, pending)
                pending.clear()

        fault = self._take_fault("bulk", channel_id)
        if fault is not None and fault.store and channel is not None:
            # Parse leniently so that the rows can be committed before failing.
            with contextlib.suppress(_Refused):
                pending[:] = self._parse_bulk(channel, body, call)[1]
        if fault is not None:
            answer = await self._apply_fault(
                fault, request, call, store_pending, as_json=True
            )
            # None: the transport is gone; aiohttp cannot send this one.
            return answer or web.Response(status=599)
        try:
            if channel is None:
                raise _Refused(404)
            key, entries = self._parse_bulk(channel, body, call)
            if key != channel.write_key:
                raise _Refused(401)
            if channel.quota is not None and channel.messages >= channel.quota:
                raise _Refused(402)
            now = self.clock()
            last, channel.last_write = channel.last_write, now
            if last is not None and now - last < channel.min_interval:
                raise _Refused(
                    429, f"bulk updates must be {channel.min_interval:g} s apart"
                )
            if len(entries) > channel.max_batch:
                raise _Refused(
                    413,
                    f"{len(entries)} updates; the plan allows {channel.max_batch}",
                )
            entries = self._check_duplicates(channel, entries)
        except _Refused as refused:
            call.status = refused.status
            return self._error(refused.status, refused.details, as_json=True)
        pending[:] = entries
        store_pending()
        call.status = 202
        return web.json_response({"success": True}, status=202)

    def _parse_bulk(
        self, channel: FakeChannel, body: bytes, call: Call
    ) -> tuple[object, list[tuple[datetime, dict[str, Any]]]]:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as err:
            raise _Refused(422) from err
        try:
            data = json.loads(text)
        except ValueError as err:
            raise _Refused(400, "the body is not JSON") from err
        if not isinstance(data, dict):
            raise _Refused(400, "the body is not a JSON object")
        key = data.get("write_api_key")
        updates = data.get("updates")
        if not isinstance(updates, list) or not updates:
            raise _Refused(400, "updates must be a non-empty array")
        call.updates = len(updates)
        wall = self.wall()
        previous: datetime | None = None
        entries: list[tuple[datetime, dict[str, Any]]] = []
        seen: set[datetime] = set()
        for index, update in enumerate(updates):
            if not isinstance(update, dict):
                raise _Refused(400, f"update {index} is not an object")
            unknown = set(update) - _BULK_KEYS
            if unknown:
                raise _Refused(400, f"update {index}: unknown keys {sorted(unknown)}")
            if ("created_at" in update) == ("delta_t" in update):
                raise _Refused(400, f"update {index}: give created_at or delta_t")
            if "created_at" in update:
                created_at = _parse_time(update["created_at"])
            else:
                delta = update["delta_t"]
                try:
                    seconds = float(delta)
                except (TypeError, ValueError) as err:
                    raise _Refused(400, f"update {index}: bad delta_t") from err
                if seconds < 0 or (seconds == 0 and index > 0):
                    raise _Refused(400, f"update {index}: delta_t must be > 0")
                base = previous
                if base is None:
                    newest = max(channel.timestamps(), default=None)
                    base = newest if newest is not None else wall
                created_at = (base + timedelta(seconds=seconds)).replace(microsecond=0)
            values: dict[str, Any] = {}
            for name, value in update.items():
                if name in ("created_at", "delta_t"):
                    continue
                if isinstance(value, dict | list):
                    raise _Refused(400, f"update {index}: {name} is not a scalar")
                if _has_lone_surrogate(value):
                    raise _Refused(422)
                if isinstance(value, str) and value in self.reject_values:
                    raise _Refused(400, f"update {index}: {name} refused")
                if value is not None:
                    values[name] = value
            for name, limit in (("latitude", 90.0), ("longitude", 180.0)):
                if name in values:
                    try:
                        number = float(values[name])
                    except (TypeError, ValueError) as err:
                        raise _Refused(400, f"update {index}: bad {name}") from err
                    if not -limit <= number <= limit:
                        raise _Refused(400, f"update {index}: {name} out of range")
            if created_at in seen:
                raise _Refused(400, f"update {index}: created_at repeated in the call")
            seen.add(created_at)
            previous = created_at
            entries.append((created_at, values))
        return key, entries

    def _check_duplicates(
        self, channel: FakeChannel, entries: list[tuple[datetime, dict[str, Any]]]
    ) -> list[tuple[datetime, dict[str, Any]]]:
        existing = channel.timestamps()
        fresh = [entry for entry in entries if entry[0] not in existing]
        duplicates = len(entries) - len(fresh)
        if duplicates:
            self.duplicates_refused += duplicates
            status = DUPLICATE_STATUS.get(self.duplicate_policy)
            if status is not None:
                raise _Refused(
                    status, f"{duplicates} updates have a created_at already stored"
                )
        return fresh

    def _store(
        self, channel: FakeChannel, entries: Iterable[tuple[datetime, dict[str, Any]]]
    ) -> int:
        existing = channel.timestamps()
        count = 0
        for created_at, values in entries:
            if created_at in existing:
                self.duplicates_refused += 1
                continue
            channel.entries.append(StoredEntry(self._next_entry_id, created_at, values))
            existing.add(created_at)
            self._next_entry_id += 1
            count += 1
        channel.messages += count
        return count

    async def _handle_update(self, request: web.Request) -> web.StreamResponse:
        as_json = request.path.endswith(".json")
        call = self._record(request, "update", None)
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    data = await request.json()
                except ValueError:
                    data = None
                if not isinstance(data, dict):
                    call.status = 400
                    return self._error(
                        400, "the body is not a JSON object", as_json=as_json
                    )
                params.update(data)
            else:
                params.update(await request.post())
        key = request.headers.get("THINGSPEAKAPIKEY") or params.get("api_key")
        channel = next(
            (c for c in self.channels.values() if key and c.write_key == key), None
        )
        call.channel_id = channel.channel_id if channel is not None else None
        pending: list[tuple[datetime, dict[str, Any]]] = []

        def store_pending() -> None:
            if channel is not None:
                call.stored = self._store(channel, pending)

        fault = self._take_fault("update", call.channel_id)
        try:
            if fault is not None and fault.store and channel is not None:
                pending.append(self._parse_update(params))
        except _Refused:
            pending.clear()
        if fault is not None:
            answer = await self._apply_fault(
                fault, request, call, store_pending, as_json=as_json
            )
            # None: the transport is gone; aiohttp cannot send this one.
            return answer or web.Response(status=599)
        try:
            if channel is None:
                raise _Refused(401)
            if channel.quota is not None and channel.messages >= channel.quota:
                raise _Refused(402)
            created_at, values = self._parse_update(params)
        except _Refused as refused:
            call.status = refused.status
            return self._error(refused.status, refused.details, as_json=as_json)
        call.updates = 1
        now = self.clock()
        last, channel.last_write = channel.last_write, now
        call.status = 200
        if last is not None and now - last < channel.min_interval:
            return web.Response(text="0")
        if created_at in channel.timestamps():
            self.duplicates_refused += 1
            status = DUPLICATE_STATUS.get(self.duplicate_policy, 200)
            if status in (200, 400):
                return web.Response(text="0")
            call.status = status
            return self._error(status, "created_at already stored", as_json=as_json)
        call.stored = self._store(channel, [(created_at, values)])
        entry = channel.entries[-1]
        if as_json:
            return web.json_response(entry.as_dict(channel.channel_id))
        return web.Response(text=str(entry.entry_id))

    def _parse_update(
        self, params: Mapping[str, Any]
    ) -> tuple[datetime, dict[str, Any]]:
        wall = self.wall()
        created_at = (
            _parse_time(params["created_at"])
            if params.get("created_at") not in (None, "")
            else wall.astimezone(UTC).replace(microsecond=0)
        )
        values: dict[str, Any] = {}
        names = {f"field{i}": f"field{i}" for i in range(1, 9)} | {
            "status": "status",
            "lat": "latitude",
            "long": "longitude",
            "elevation": "elevation",
        }
        for param, name in names.items():
            value = params.get(param)
            if value is None:
                continue
            if _has_lone_surrogate(value):
                raise _Refused(422)
            if isinstance(value, str) and value in self.reject_values:
                raise _Refused(400, f"{param} refused")
            values[name] = value
        return created_at, values

    async def _handle_feeds(self, request: web.Request) -> web.StreamResponse:
        raw_id = request.match_info["channel_id"]
        channel = self.channels.get(int(raw_id)) if raw_id.isdigit() else None
        if channel is None:
            return self._error(404, None, as_json=True)
        return web.json_response(
            {
                "channel": {"id": channel.channel_id},
                "feeds": [
                    entry.as_dict(channel.channel_id) for entry in channel.entries
                ],
            }
        )


def parse_channel_spec(spec: str) -> tuple[int, str, str]:
    """Parse ``ID:KEY[:plan]``."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0].isdigit() or not parts[1]:
        raise ValueError(f"channel must be ID:KEY[:free|paid], not {spec!r}")
    plan = parts[2] if len(parts) == 3 else "free"
    if plan not in PLAN_LIMITS:
        raise ValueError(f"unknown plan {plan!r}")
    return int(parts[0]), parts[1], plan


async def start_fake_thingspeak(
    *channels: str | tuple[int, str] | tuple[int, str, str],
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], datetime] | None = None,
    duplicate_policy: DuplicatePolicy = "reject",
    hang_seconds: float = 60.0,
    host: str = "127.0.0.1",
    port: int = 0,
) -> FakeThingSpeak:
    """Start a fake with the given channels (``"ID:KEY[:plan]"`` or tuples).

    Call ``await fake.close()`` when done (a fixture's teardown).
    """
    fake = FakeThingSpeak(
        clock=clock,
        wall=wall,
        duplicate_policy=duplicate_policy,
        hang_seconds=hang_seconds,
    )
    for spec in channels:
        channel_id, key, plan = (
            parse_channel_spec(spec)
            if isinstance(spec, str)
            else (spec[0], spec[1], spec[2] if len(spec) == 3 else "free")
        )
        fake.add_channel(channel_id, key, plan)
    await fake.start(host, port)
    return fake


async def _serve(args: argparse.Namespace) -> None:
    fake = await start_fake_thingspeak(
        *args.channel,
        duplicate_policy=args.duplicate_policy,
        host=args.host,
        port=args.port,
    )
    fake.open_key = args.open_key
    for spec in args.quota:
        channel_id, _, count = spec.partition(":")
        fake.channel(int(channel_id)).quota = int(count)
    sys.stdout.write(f"Fake ThingSpeak listening on {fake.url}\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await fake.close()
        for channel in fake.channels.values():
            _LOGGER.info(
                "channel %s: %d entries stored",
                channel.channel_id,
                len(channel.entries),
            )


def main(argv: list[str] | None = None) -> None:
    """Run the fake from the command line until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address (loopback)")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free)")
    parser.add_argument(
        "--channel",
        action="append",
        required=True,
        metavar="ID:KEY[:plan]",
        help="a channel with its write key and plan (free or paid); repeatable",
    )
    parser.add_argument(
        "--quota",
        action="append",
        default=[],
        metavar="ID:N",
        help="answer 402 once channel ID stored N entries; repeatable",
    )
    parser.add_argument(
        "--open-key",
        metavar="KEY",
        help="any other channel id written with this key is created on first use",
    )
    parser.add_argument(
        "--duplicate-policy",
        choices=("reject", "conflict", "no_action", "skip"),
        default="reject",
        help="answer to a created_at already stored: 400, 409, 421, or skip it",
    )
    args = parser.parse_args(argv)
    for spec in args.channel:
        try:
            parse_channel_spec(spec)
        except ValueError as err:
            parser.error(str(err))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
