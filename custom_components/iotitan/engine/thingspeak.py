"""ThingSpeak: the HTTP client and the upload loop of one channel.

Pieces
------
`ChannelConfig` and `Plan` describe a channel; `ThingSpeakClient` makes one call
(``bulk_update`` or ``update``) and classifies the answer as an `UploadResult`
without ever raising; `ChannelSender` drains one channel's `Outbox` (from
`outbox`) in batches, within the plan's limits, with backoff, and reports what
needs a person (bad key, quota used up, unknown channel) through callbacks.

Documented ThingSpeak behaviour this relies on
------------------------------------------------
* ``POST /channels/<id>/bulk_update.json`` with ``{"write_api_key", "updates"}``
  answers 202 ``{"success": true}``; at most 960 updates a call on a free plan
  and 14,400 on a paid one; bulk calls at least 15 s apart on a free plan
  (1 s paid) or 429.
* ``POST /update`` answers the new entry id, or ``0`` when nothing was stored.
* Errors ("Error Codes"): 400 bad request, 401 bad key, 402 message quota used
  up, 404, 405 method not allowed, 409 conflict (with the current state of the
  resource), 413 too large, 421 no action performed, 422 invalid bytes, 429 too
  fast, 5xx; no Retry-After. `STATUS_TABLE` says what each means here.
* "All timestamps must be unique. You cannot write new data with timestamps that
  match existing data in the channel." What ThingSpeak *answers* to such a
  write is not documented: a 409 or a 421, a 400 (which may name the
  timestamp or not), or skipping the entry are all plausible, and the sender
  copes with each.

Persistence and the no-duplicate design
----------------------------------------
Rows must never be lost and never be stored twice, across outages and restarts.

1. Every row gets its final, unique ``created_at`` when it enters the outbox
   (see `Outbox.add`) and keeps it forever: uploads always send ``created_at``,
   never ``delta_t``. A row sent twice is the same entry twice, and ThingSpeak
   refuses to store a second entry with an existing timestamp. That is the only
   guarantee that holds when the process dies after ThingSpeak stored a batch
   but before anything could be written locally: no local bookkeeping can close
   that window, the server's uniqueness rule does.
2. The HA layer gives the sender an async ``save`` callback (its Store). The
   sender saves the outbox before every call (with the batch marked in flight,
   see 4, and the call's wall time, so that spacing also holds across a
   restart), right after every success, after a row is dead-lettered, whenever
   it parks with unsaved changes (so new rows are saved promptly even while it
   backs off), and on `ChannelSender.stop`. A failing save is logged and
   retried; it does not stop uploads.
3. The outbox persists a high-water mark (newest created_at acknowledged) in the
   same dictionary as its rows; on load, rows at or below it are dropped. This
   keeps the outbox consistent with itself even if an older snapshot of rows
   meets a newer mark.
4. Before each call the batch is marked "uncertain" (``uncertain_through``) and
   that mark is saved with the rows. It is undone when ThingSpeak's answer
   settles whether the rows were stored (2xx, 4xx, a ``0`` body); it stays after
   a timeout, a dropped connection, a 5xx or a crash mid-call. Uncertain rows
   are sent again as a batch of their own (the same batch, or part of it), so
   that when ThingSpeak refuses it for duplicate timestamps (409, 421, or a
   400 that names them) that proves the earlier attempt stored it: the whole
   batch is counted as delivered at once (``delivered_after_unknown``), in one
   refused call, and new rows follow on the next. If ThingSpeak silently skips
   existing timestamps instead, the re-send simply succeeds. Either way the
   channel holds each row exactly once.

   Trade-offs: this takes a bulk call to be stored whole or not at all. A
   refusal that does not say why (a bare 400) splits the batch until each
   refused uncertain row stands alone, which is then counted as
   ``assumed_stored`` (its timestamp exists) instead of a dead letter: a row
   refused for its content *and* in an attempt of unknown outcome is counted
   so too (logged with ThingSpeak's reason).
5. A refused timestamp of a row that cannot be stored already (no attempt of
   unknown outcome, not loaded from a copy saved without a clean stop: see
   `Outbox.possibly_stored`) means another writer of the channel took that
   second. The row is re-dated by the smallest shift that is free: +1 s, -1 s,
   +2 s ... within its row interval, above every row acknowledged, between its
   queued neighbours (`Outbox.redate_first`; counted in ``redated``). After a
   bare 400, which a content refusal also gives, it is tried at two other
   seconds before it is a dead letter.
6. The config flow's test row takes a second the sender holds for it
   (`ChannelSender.free_second`, `ChannelSender.hold_second`): no row queued or
   to come gets it.

Rate limits and backoff
-----------------------
Calls of one channel are never closer than the plan's spacing (15 s free, 1 s
paid), measured from the start of the previous call, failed ones included,
or from a write made elsewhere that the HA layer reports with
`ChannelSender.note_write` (the config flow's test row).
Retryable failures (429, 5xx, timeouts, connection errors, a ``0``/``-1``/
``false`` or ``{"success": false}`` answer, an undocumented status) back off
exponentially from 15 s to 30 min with jitter. A refused batch (400, 409, 413,
421, 422) is split in halves until the refused rows are isolated; a taken
timestamp is re-dated (see 5), other refused rows go to the dead letters with
ThingSpeak's reason and the rest is uploaded. A bad key (401/403) stops
uploading until `ChannelSender.set_write_key`; a used-up quota (402) or an
unknown channel or URL (404, 405) is retried hourly. Rows are kept throughout.

The write key is never logged, never in an exception text, ``repr`` or
diagnostics: `ChannelConfig` redacts it and the client scrubs it from any text
that comes back.

No Home Assistant import: the HA layer passes its aiohttp ``ClientSession``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
import contextlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
import json
import logging
import math
import random
import re
import time
from typing import Any, Final

import aiohttp

from .outbox import (
    DEFAULT_MAX_DEAD_LETTERS,
    DEFAULT_MAX_ROWS,
    DeadLetter,
    FieldValue,
    Outbox,
    OutboxCounters,
    Row,
    format_created_at,
    parse_created_at,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_DEAD_LETTERS",
    "DEFAULT_MAX_ROWS",
    "DEFAULT_TIMEOUT",
    "REDACTED",
    "STATUS_TABLE",
    "ChannelConfig",
    "ChannelSender",
    "DeadLetter",
    "FieldValue",
    "Outbox",
    "OutboxCounters",
    "Plan",
    "Problem",
    "ResultKind",
    "Row",
    "StatusAction",
    "ThingSpeakClient",
    "UploadResult",
    "format_created_at",
    "parse_created_at",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = "https://api.thingspeak.com"
DEFAULT_TIMEOUT: Final = 30.0
REDACTED: Final = "**REDACTED**"
_MAX_DETAIL: Final = 300
_MAX_BODY: Final = 65_536


class Plan(StrEnum):
    """A ThingSpeak licence's write limits."""

    FREE = "free"
    PAID = "paid"

    @property
    def min_interval(self) -> float:
        """Return the minimum seconds between two write calls to a channel."""
        return 15.0 if self is Plan.FREE else 1.0

    @property
    def max_batch(self) -> int:
        """Return the most updates one bulk call may carry."""
        return 960 if self is Plan.FREE else 14_400


@dataclass(frozen=True, slots=True, repr=False)
class ChannelConfig:
    """One ThingSpeak channel. The write key never shows in repr/str."""

    channel_id: int
    write_key: str = field(repr=False)
    plan: Plan = Plan.FREE
    base_url: str = DEFAULT_BASE_URL
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        """Validate and normalise."""
        if (
            isinstance(self.channel_id, bool)
            or not isinstance(self.channel_id, int)
            or self.channel_id <= 0
        ):
            raise ValueError("channel_id must be a positive integer")
        if not isinstance(self.write_key, str) or not self.write_key.strip():
            raise ValueError("write_key must be a non-empty string")
        object.__setattr__(self, "write_key", self.write_key.strip())
        object.__setattr__(self, "plan", Plan(self.plan))
        object.__setattr__(self, "base_url", str(self.base_url).rstrip("/"))
        if not self.timeout > 0:
            raise ValueError("timeout must be positive")

    def __repr__(self) -> str:
        """Describe the channel without its key."""
        return (
            f"ChannelConfig(channel_id={self.channel_id}, write_key={REDACTED!r}, "
            f"plan={self.plan.value!r}, base_url={self.base_url!r}, "
            f"timeout={self.timeout!r})"
        )

    __str__ = __repr__

    def with_write_key(self, write_key: str) -> ChannelConfig:
        """Return a copy with another write key."""
        return replace(self, write_key=write_key)

    def as_diagnostics(self) -> dict[str, Any]:
        """Return a JSON-able description with the key redacted."""
        return {
            "channel_id": self.channel_id,
            "write_key": REDACTED,
            "plan": self.plan.value,
            "base_url": self.base_url,
            "timeout": self.timeout,
        }


class ResultKind(StrEnum):
    """How a write call ended (see `STATUS_TABLE` for what each means)."""

    SUCCESS = "success"
    RETRY = "retry"  # 429, 5xx, timeout, connection error, a 0/-1/false answer
    AUTH = "auth"  # 401, 403
    QUOTA = "quota"  # 402
    BAD_REQUEST = "bad_request"  # 400, 413, 422
    NOT_FOUND = "not_found"  # 404, 405
    DUPLICATE = "duplicate"  # 409, 421, a 400 that names an existing created_at


@dataclass(frozen=True, slots=True)
class StatusAction:
    """What one documented answer means for the outbox."""

    kind: ResultKind
    outcome_known: bool
    outbox: str


STATUS_TABLE: Final[dict[int | str, StatusAction]] = {
    # 2xx: what the body says decides (see `_classify_success`).
    "2xx": StatusAction(
        ResultKind.SUCCESS, True, "stored: the rows leave the outbox (delivered)"
    ),
    "2xx 0/-1/false": StatusAction(
        ResultKind.RETRY,
        True,
        'nothing stored (a 0, -1 or false body, or {"success": false}): rows '
        "kept, retried with backoff",
    ),
    400: StatusAction(
        ResultKind.BAD_REQUEST,
        True,
        "refused. When the answer names an existing created_at, as 409. "
        "Otherwise (content or a taken second look alike): split until the "
        "refused row stands alone; a row of an attempt of unknown outcome is "
        "then taken as stored, any other is tried at two other seconds of its "
        "interval and then dead-lettered",
    ),
    401: StatusAction(
        ResultKind.AUTH, True, "key refused: uploads pause, reauthentication"
    ),
    402: StatusAction(
        ResultKind.QUOTA, True, "message quota used up: repair issue, hourly retry"
    ),
    403: StatusAction(
        ResultKind.AUTH, True, "key refused: uploads pause, reauthentication"
    ),
    404: StatusAction(
        ResultKind.NOT_FOUND, True, "unknown channel: repair issue, hourly retry"
    ),
    405: StatusAction(
        ResultKind.NOT_FOUND,
        True,
        "the URL takes no writes (base URL): repair issue, hourly retry",
    ),
    409: StatusAction(
        ResultKind.DUPLICATE,
        True,
        "conflict with stored data (a created_at that exists): a batch of unknown "
        "earlier outcome is delivered at once; otherwise split and the "
        "colliding row re-dated to the nearest free second",
    ),
    413: StatusAction(
        ResultKind.BAD_REQUEST,
        True,
        "too large: split in halves; a lone row refused is dead-lettered",
    ),
    421: StatusAction(
        ResultKind.DUPLICATE,
        True,
        "no action performed (nothing new to store): as 409",
    ),
    422: StatusAction(
        ResultKind.BAD_REQUEST,
        True,
        "invalid bytes: split; the lone refused row is dead-lettered",
    ),
    429: StatusAction(
        ResultKind.RETRY, True, "too fast: rows kept, retried with backoff"
    ),
    "5xx": StatusAction(
        ResultKind.RETRY,
        False,
        "server error, may have stored: rows kept and marked uncertain, retried "
        "with backoff",
    ),
    "other": StatusAction(
        ResultKind.RETRY, True, "undocumented: rows kept, retried with backoff"
    ),
}
"""Every documented ThingSpeak answer and what the sender does with the batch.

Timeouts and dropped connections are handled as ``"5xx"``: the rows may have
been stored. The README's ThingSpeak section has the same table.
"""

_DUPLICATE_WORDING: Final = re.compile(
    r"(created_at|timestamp|time stamp).*(already|exist|duplicat|unique|taken)"
    r"|(already|exist|duplicat|unique).*(created_at|timestamp|time stamp)",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class UploadResult:
    """The classified outcome of one write call.

    ``detail`` is safe to log: it never holds the write key. ``outcome_known`` is
    False when ThingSpeak may have stored the rows although the call failed
    (timeout, dropped connection, 5xx).
    """

    kind: ResultKind
    status: int | None = None
    detail: str = ""
    entry_id: int | None = None
    outcome_known: bool = True

    @property
    def ok(self) -> bool:
        """Return True for a success."""
        return self.kind is ResultKind.SUCCESS

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-able form (for diagnostics)."""
        return {
            "kind": self.kind.value,
            "status": self.status,
            "detail": self.detail,
            "entry_id": self.entry_id,
            "outcome_known": self.outcome_known,
        }


def _scrub(text: str, secret: str) -> str:
    """Remove the key and control characters, and bound the length."""
    if secret:
        text = text.replace(secret, REDACTED)
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    if len(text) > _MAX_DETAIL:
        text = text[: _MAX_DETAIL - 1] + "…"
    return text


def _classify_status(status: int, text: str = "") -> tuple[ResultKind, bool]:
    """Map a non-2xx status to (kind, outcome_known) by `STATUS_TABLE`.

    A 400 whose answer says that a created_at exists is a `ResultKind.DUPLICATE`.
    """
    if status >= 500:
        action = STATUS_TABLE["5xx"]
    else:
        action = STATUS_TABLE.get(status, STATUS_TABLE["other"])
    if status == 400 and _DUPLICATE_WORDING.search(text):
        return ResultKind.DUPLICATE, True
    return action.kind, action.outcome_known


def _entry_id(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _classify_success(status: int, text: str) -> UploadResult:
    """Classify a 2xx answer: a ``0``/``false`` body means nothing was stored."""
    body = text.strip()
    try:
        data: object = json.loads(body) if body else None
    except ValueError:
        data = body
    entry_id: int | None = None
    if isinstance(data, dict):
        if data.get("success") is False:
            return UploadResult(
                ResultKind.RETRY,
                status,
                'ThingSpeak answered {"success": false}: nothing was stored',
            )
        entry_id = _entry_id(data.get("entry_id"))
    elif data is False or (isinstance(data, str) and data.lower() == "false"):
        return UploadResult(
            ResultKind.RETRY, status, "ThingSpeak answered false: nothing was stored"
        )
    else:
        entry_id = _entry_id(data)
    if entry_id is not None and entry_id <= 0:
        return UploadResult(
            ResultKind.RETRY,
            status,
            f"ThingSpeak answered {entry_id}: nothing was stored "
            "(usually writes too frequent for the plan)",
        )
    return UploadResult(ResultKind.SUCCESS, status, entry_id=entry_id)


class ThingSpeakClient:
    """Write calls to one channel. Every method returns an `UploadResult`."""

    def __init__(self, session: aiohttp.ClientSession, config: ChannelConfig) -> None:
        """Use ``session`` (owned by the caller) to write to ``config``'s channel."""
        self._session = session
        self._config = config

    def __repr__(self) -> str:
        """Describe the client without its key."""
        return f"ThingSpeakClient({self._config!r})"

    @property
    def config(self) -> ChannelConfig:
        """Return the channel this client writes to."""
        return self._config

    async def bulk_update(self, rows: Sequence[Row]) -> UploadResult:
        """Write ``rows`` with one ``bulk_update.json`` call.

        An empty sequence makes no call and succeeds.
        """
        if not rows:
            return UploadResult(ResultKind.SUCCESS, detail="nothing to send")
        config = self._config
        body = json.dumps(
            {
                "write_api_key": config.write_key,
                "updates": [row.to_dict() for row in rows],
            },
            separators=(",", ":"),
        )
        return await self._post(
            f"{config.base_url}/channels/{config.channel_id}/bulk_update.json",
            data=body,
            headers={"Content-Type": "application/json"},
        )

    async def update(self, row: Row) -> UploadResult:
        """Write one entry with ``POST /update`` (key in the THINGSPEAKAPIKEY header)."""
        form: dict[str, str] = {"created_at": format_created_at(row.created_at)}
        for number, value in row.fields.items():
            form[f"field{number}"] = str(value)
        if row.status is not None:
            form["status"] = row.status
        if row.latitude is not None:
            form["lat"] = str(row.latitude)
        if row.longitude is not None:
            form["long"] = str(row.longitude)
        return await self._post(
            f"{self._config.base_url}/update",
            data=form,
            headers={"THINGSPEAKAPIKEY": self._config.write_key},
        )

    async def _post(
        self, url: str, *, data: str | dict[str, str], headers: dict[str, str]
    ) -> UploadResult:
        key = self._config.write_key
        try:
            async with self._session.post(
                url,
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self._config.timeout),
                allow_redirects=False,
                raise_for_status=False,
            ) as response:
                raw = await response.read()
                text = raw[:_MAX_BODY].decode("utf-8", errors="replace")
                status = response.status
        except TimeoutError:
            return UploadResult(
                ResultKind.RETRY,
                detail=f"no answer within {self._config.timeout:g} s",
                outcome_known=False,
            )
        except aiohttp.ClientError as err:
            return UploadResult(
                ResultKind.RETRY,
                detail=_scrub(f"{type(err).__name__}: {err}", key),
                outcome_known=False,
            )
        except Exception as err:  # the client must never raise
            return UploadResult(
                ResultKind.RETRY,
                detail=_scrub(f"unexpected {type(err).__name__}: {err}", key),
                outcome_known=False,
            )
        if 200 <= status < 300:
            result = _classify_success(status, text)
            return replace(result, detail=_scrub(result.detail, key))
        kind, outcome_known = _classify_status(status, text)
        detail = _scrub(f"HTTP {status}: {text}", key)
        return UploadResult(kind, status, detail, outcome_known=outcome_known)


class Problem(StrEnum):
    """Conditions that need a person; reported through `ChannelSender` callbacks."""

    AUTH = "auth"  # the write key is refused: start a reauth flow
    QUOTA = "quota"  # the message quota is used up: raise a repair issue
    NOT_FOUND = "not_found"  # the channel does not exist: raise a repair issue


type SaveCallback = Callable[[dict[str, Any]], Awaitable[None]]
type ProblemCallback = Callable[[Problem, UploadResult], None]
type ProblemClearedCallback = Callable[[Problem], None]
type TaskFactory = Callable[[Coroutine[Any, Any, None], str], asyncio.Task[None]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ChannelSender:
    """Upload one channel's outbox to ThingSpeak, for as long as it runs.

    Give it rows with `add`; it uploads them oldest first in batches of at most
    the plan's ``max_batch``, no two calls closer than the plan's
    ``min_interval``. See the module docstring for the failure handling and the
    persistence contract.

    Callbacks (all optional, called in the event loop, must not block):
    ``save(outbox_dict)`` persists the outbox; ``on_problem(problem, result)``
    when a `Problem` starts (for AUTH: each time a key is refused);
    ``on_problem_cleared(problem)`` at the first success afterwards.

    ``clock`` (monotonic seconds) and ``sleep`` are injectable so that tests can
    run on virtual time; ``utcnow`` gives wall time for diagnostics and dead
    letters; ``rand`` (0 <= x < 1) drives the jitter.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        config: ChannelConfig,
        outbox: Outbox | None = None,
        *,
        save: SaveCallback | None = None,
        on_problem: ProblemCallback | None = None,
        on_problem_cleared: ProblemClearedCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        utcnow: Callable[[], datetime] = _utcnow,
        rand: Callable[[], float] = random.random,
        backoff_initial: float = 15.0,
        backoff_max: float = 1800.0,
        jitter: float = 0.5,
        problem_retry: float = 3600.0,
        row_interval: float | None = None,
        ambiguous_redates: int = 2,
    ) -> None:
        """Prepare the sender; nothing runs until `start`.

        ``row_interval`` (s) is how far apart the channel's rows are made: a row
        whose second another writer took is moved by less than that (see
        `Outbox.redate_first`). ``ambiguous_redates`` is how many other seconds
        a row refused with a bare 400 (which may mean a taken created_at or bad
        content) is tried at before it becomes a dead letter.
        """
        if not 0 < backoff_initial <= backoff_max:
            raise ValueError("need 0 < backoff_initial <= backoff_max")
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        self._session = session
        self._config = config
        self._client = ThingSpeakClient(session, config)
        self._outbox = outbox if outbox is not None else Outbox()
        self._save_cb = save
        self._on_problem = on_problem
        self._on_problem_cleared = on_problem_cleared
        self._clock = clock
        self._sleep = sleep
        self._utcnow = utcnow
        self._rand = rand
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._jitter = jitter
        self._problem_retry = problem_retry
        self._row_interval = row_interval
        self._ambiguous_redates = ambiguous_redates
        # The first row's re-dating under way: (created_at first refused,
        # created_at now, other seconds tried).
        self._redate: tuple[datetime, datetime, int] | None = None

        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._parked = False
        self._sleeper: asyncio.Future[None] | None = None
        self._forced = False
        self._last_call: float | None = None
        self._retry_at = -math.inf
        self._split: list[int] = []
        self._failures = 0
        self._backoff = 0.0
        self._auth_blocked = False
        self._key_generation = 0
        self._problems: set[Problem] = set()
        self._last_error: UploadResult | None = None
        self._last_success: datetime | None = None
        self._last_attempt: datetime | None = None
        self._last_save_error: str | None = None

    def __repr__(self) -> str:
        """Describe the sender without its key."""
        return f"ChannelSender({self._config!r}, rows_waiting={len(self._outbox)})"

    # -- properties -----------------------------------------------------------

    @property
    def config(self) -> ChannelConfig:
        """Return the channel configuration in use."""
        return self._config

    @property
    def outbox(self) -> Outbox:
        """Return the outbox being drained."""
        return self._outbox

    @property
    def rows_waiting(self) -> int:
        """Return how many rows wait for upload."""
        return len(self._outbox)

    @property
    def running(self) -> bool:
        """Return True between `start` and `stop`."""
        return self._task is not None and not self._task.done()

    @property
    def idle(self) -> bool:
        """Return True when the loop is parked: no call, save or wake-up pending."""
        sleeper = self._sleeper
        return (
            self.running
            and self._parked
            and not self._wake.is_set()
            and (sleeper is None or not sleeper.done())
        )

    @property
    def backoff(self) -> float:
        """Return the delay (s) applied after the last retryable failure, or 0."""
        return self._backoff

    @property
    def consecutive_failures(self) -> int:
        """Return the retryable failures since the last success."""
        return self._failures

    @property
    def problems(self) -> frozenset[Problem]:
        """Return the problems currently reported."""
        return frozenset(self._problems)

    @property
    def auth_blocked(self) -> bool:
        """Return True while uploads wait for a new write key."""
        return self._auth_blocked

    @property
    def last_success(self) -> datetime | None:
        """Return the wall time of the last successful upload."""
        return self._last_success

    @property
    def last_error(self) -> UploadResult | None:
        """Return the last failed result (its detail holds no key)."""
        return self._last_error

    # -- control ------------------------------------------------------------------

    def add(self, row: Row) -> Row:
        """Queue a row for upload and return it as queued (see `Outbox.add`)."""
        queued = self._outbox.add(row)
        self._wake.set()
        return queued

    def push_now(self) -> None:
        """Attempt an upload now, skipping any backoff (spacing still holds).

        Does nothing while the key is refused (see `set_write_key`).
        """
        self._forced = True
        self._wake.set()

    def note_write(self, at: datetime) -> None:
        """Keep the plan's spacing from a write to the channel made elsewhere.

        The config flow's test row is such a write: the next upload waits until
        the spacing has passed since ``at`` (wall time), also across a restart.
        """
        outbox = self._outbox
        if outbox.last_call_at is not None and outbox.last_call_at >= at:
            return
        outbox.last_call_at = at
        outbox.dirty = True
        call = self._clock_at(at)
        if self._last_call is None or call > self._last_call:
            self._last_call = call
        self._wake.set()  # save the time, and wait from it

    def free_second(self, at: datetime, intervals: Sequence[float] = ()) -> datetime:
        """Return a second for a write made elsewhere (the flow's test row).

        No queued row has it and, once held (`hold_second`), no later row of
        this channel gets it (see `Outbox.free_second`); ``intervals`` are the
        row intervals to keep clear of (by default the sender's
        ``row_interval``).
        """
        if not intervals and self._row_interval is not None:
            intervals = [self._row_interval]
        return self._outbox.free_second(at, intervals)

    def hold_second(self, second: datetime) -> None:
        """Keep ``second`` from every later row (see `Outbox.hold_second`)."""
        self._outbox.hold_second(second)
        self._wake.set()  # save it

    def set_write_key(self, write_key: str) -> None:
        """Use a new write key (after reauth) and resume uploading."""
        self.reconfigure(self._config.with_write_key(write_key))

    def reconfigure(self, config: ChannelConfig) -> None:
        """Use a new configuration of the same channel (key, plan, URL, timeout)."""
        if config.channel_id != self._config.channel_id:
            raise ValueError("reconfigure cannot change the channel id")
        self._config = config
        self._client = ThingSpeakClient(self._session, config)
        self._key_generation += 1
        if self._auth_blocked:
            self._auth_blocked = False
            self._retry_at = -math.inf
        self._wake.set()

    async def start(self, *, create_task: TaskFactory | None = None) -> None:
        """Start the upload loop (idempotent).

        ``create_task(coro, name)`` lets Home Assistant own the task, e.g.
        ``lambda coro, name: entry.async_create_background_task(hass, coro, name)``;
        by default `asyncio.create_task` is used. `stop` cancels it either way.
        """
        if self.running:
            return
        self._outbox.clean_stop = False
        last_call_at = self._outbox.last_call_at
        if self._last_call is None and last_call_at is not None:
            # Spacing across a restart: the monotonic clock restarted, wall time
            # did not.
            self._last_call = self._clock_at(last_call_at)
        name = f"iotitan thingspeak channel {self._config.channel_id}"
        if create_task is None:
            self._task = asyncio.create_task(self._run(), name=name)
        else:
            self._task = create_task(self._run(), name)

    async def stop(self) -> None:
        """Stop the upload loop, leaving no task behind, and save the outbox."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._parked = False
        # The last save says that it is as new as ThingSpeak's copy.
        self._outbox.clean_stop = True
        await self._save()

    def diagnostics(self) -> dict[str, Any]:
        """Return a JSON-able snapshot for Home Assistant's diagnostics."""
        outbox = self._outbox
        rows = outbox.peek(1)
        due = self._next_due()
        next_in = None if due is None else max(0.0, due - self._clock())

        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        if not self.running:
            state = "stopped"
        elif self._auth_blocked:
            state = "auth_failed"
        elif self._parked:
            state = "waiting"
        else:
            state = "uploading"
        return {
            "channel": self._config.as_diagnostics(),
            "state": state,
            "rows_waiting": len(outbox),
            "max_rows": outbox.max_rows,
            "oldest_waiting": iso(rows[0].created_at) if rows else None,
            "dead_letters": len(outbox.dead_letters),
            "high_water": iso(outbox.high_water),
            "uncertain_through": iso(outbox.uncertain_through),
            "last_success": iso(self._last_success),
            "last_attempt": iso(self._last_attempt),
            "last_error": None
            if self._last_error is None
            else self._last_error.as_dict(),
            "consecutive_failures": self._failures,
            "backoff_seconds": self._backoff,
            "next_attempt_in": next_in,
            "problems": sorted(problem.value for problem in self._problems),
            "counters": outbox.counters.to_dict(),
            "last_save_error": self._last_save_error,
        }

    # -- the loop -----------------------------------------------------------------

    def _clock_at(self, at: datetime) -> float:
        """Return the clock's reading at wall time ``at``.

        A wall time in the future (a clock that went back) counts as "just now".
        """
        elapsed = (self._utcnow() - at).total_seconds()
        return self._clock() - max(0.0, elapsed)

    def _next_due(self) -> float | None:
        """Return the clock time of the next attempt, or None to wait for a wake-up."""
        if self._auth_blocked or not len(self._outbox):
            return None
        earliest = (
            -math.inf
            if self._last_call is None
            else self._last_call + self._config.plan.min_interval
        )
        if self._forced:
            return earliest
        return max(earliest, self._retry_at)

    async def _run(self) -> None:
        while True:
            try:
                due = self._next_due()
                now = self._clock()
                if due is not None and due <= now:
                    await self._attempt()
                    continue
                if self._outbox.dirty:
                    await self._save()
                await self._park(None if due is None else due - now)
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.exception(
                    "ThingSpeak channel %s: unexpected error in the upload loop",
                    self._config.channel_id,
                )
                await self._park(self._backoff_initial)

    async def _park(self, delay: float | None) -> None:
        """Wait for a wake-up (`add`, `push_now`, ...) or ``delay`` seconds."""
        if self._wake.is_set():
            self._wake.clear()
            return
        waiter = asyncio.ensure_future(self._wake.wait())
        pending: set[asyncio.Future[Any]] = {waiter}
        if delay is not None:
            self._sleeper = asyncio.ensure_future(self._sleep(delay))
            pending.add(self._sleeper)
        self._parked = True
        try:
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._parked = False
            self._sleeper = None
            for future in pending:
                future.cancel()
            await asyncio.wait(pending)
            self._wake.clear()

    async def _save(self) -> None:
        outbox = self._outbox
        if self._save_cb is None:
            outbox.dirty = False
            return
        snapshot = outbox.to_dict()
        outbox.dirty = False
        try:
            await self._save_cb(snapshot)
        except asyncio.CancelledError:
            outbox.dirty = True
            raise
        except Exception as err:  # keep uploading, report it
            outbox.dirty = True
            message = _scrub(f"{type(err).__name__}: {err}", self._config.write_key)
            if message != self._last_save_error:
                _LOGGER.warning(
                    "ThingSpeak channel %s: could not save the outbox: %s",
                    self._config.channel_id,
                    message,
                )
            self._last_save_error = message
        else:
            self._last_save_error = None

    async def _attempt(self) -> None:
        outbox = self._outbox
        from_split = bool(self._split)
        max_batch = self._config.plan.max_batch
        size = max(1, min(self._split.pop() if from_split else max_batch, max_batch))
        # Rows of an attempt of unknown outcome go again as a batch of their own:
        # a refusal of duplicates then proves that attempt stored all of them.
        uncertain = outbox.uncertain_count(size)
        rows = outbox.begin_attempt(uncertain or size)
        if from_split and len(rows) < size and len(outbox) > len(rows):
            self._split.append(size - len(rows))
        # Before this attempt (which marks its rows uncertain until answered).
        batch_uncertain = uncertain > 0
        generation = self._key_generation
        outcome_known = False
        try:
            # Persist the rows, the batch as in flight and the call's time first.
            self._last_attempt = outbox.last_call_at = self._utcnow()
            outbox.dirty = True
            await self._save()
            self._forced = False
            self._last_call = self._clock()
            result = await self._client.bulk_update(rows)
            outcome_known = result.outcome_known
        finally:
            outbox.end_attempt(outcome_known=outcome_known)
        if result.ok:
            self._redate = None
            await self._succeeded(rows)
            return
        outbox.counters.failed_attempts += 1
        self._last_error = result
        if batch_uncertain and result.kind is ResultKind.DUPLICATE:
            await self._delivered_after_unknown(rows, result)
            return
        if result.kind in (ResultKind.BAD_REQUEST, ResultKind.DUPLICATE):
            await self._refused(rows, result)
            return
        if from_split:
            # Resume the split where it was once the failure has passed.
            self._split.append(len(rows))
        if result.kind is ResultKind.RETRY:
            self._retry_later(result)
        elif result.kind is ResultKind.AUTH:
            self._auth_failed(result, generation)
        else:
            problem = (
                Problem.QUOTA if result.kind is ResultKind.QUOTA else Problem.NOT_FOUND
            )
            self._report(problem, result)
            self._retry_at = self._clock() + self._problem_retry

    async def _delivered_after_unknown(
        self, rows: list[Row], result: UploadResult
    ) -> None:
        """The batch of an attempt of unknown outcome is refused: it was stored."""
        count = self._outbox.deliver_after_unknown(rows)
        self._redate = None
        _LOGGER.info(
            "ThingSpeak channel %s: %d rows (%s to %s) sent in an attempt whose "
            "answer was lost are refused as already stored (%s): counted as "
            "delivered",
            self._config.channel_id,
            count,
            format_created_at(rows[0].created_at),
            format_created_at(rows[-1].created_at),
            result.detail,
        )
        await self._succeeded([])

    async def _succeeded(self, rows: list[Row]) -> None:
        if rows:
            self._outbox.commit(rows)
        self._last_success = self._utcnow()
        if self._failures:
            _LOGGER.info(
                "ThingSpeak channel %s: uploads recovered after %d failed attempts",
                self._config.channel_id,
                self._failures,
            )
        self._failures = 0
        self._backoff = 0.0
        self._retry_at = -math.inf
        for problem in sorted(self._problems):
            self._problems.discard(problem)
            _LOGGER.info(
                "ThingSpeak channel %s: %s resolved", self._config.channel_id, problem
            )
            if self._on_problem_cleared is not None:
                self._callback(self._on_problem_cleared, problem)
        await self._save()

    async def _refused(self, rows: list[Row], result: UploadResult) -> None:
        if len(rows) > 1:
            half = len(rows) // 2
            self._split.extend((len(rows) - half, half))
            _LOGGER.debug(
                "ThingSpeak channel %s: batch of %d refused (%s); splitting",
                self._config.channel_id,
                len(rows),
                result.detail,
            )
            return
        outbox = self._outbox
        row = rows[0]
        if (
            not outbox.possibly_stored(row)
            and result.status in (400, 409, 421)
            and (moved := self._redate_first(row, result)) is not None
        ):
            self._split.append(1)  # send the moved row alone next
            _LOGGER.info(
                "ThingSpeak channel %s: created_at %s of a row is taken (%s); "
                "re-dated to %s",
                self._config.channel_id,
                format_created_at(row.created_at),
                result.detail,
                format_created_at(moved),
            )
            await self._save()
            return
        state, self._redate = self._redate, None
        origin = state[0] if state is not None and state[1] == row.created_at else None
        letter = outbox.reject_first(result.detail, self._utcnow(), created_at=origin)
        if letter is None:
            _LOGGER.warning(
                "ThingSpeak channel %s: row of %s refused after an attempt of unknown "
                "outcome; taken as already stored (its created_at exists): %s",
                self._config.channel_id,
                format_created_at(row.created_at),
                result.detail,
            )
        else:
            _LOGGER.warning(
                "ThingSpeak channel %s: row of %s refused, moved to dead letters: %s",
                self._config.channel_id,
                format_created_at(row.created_at),
                result.detail,
            )
        await self._save()

    def _redate_first(self, row: Row, result: UploadResult) -> datetime | None:
        """Move the refused first row to the next candidate second, or give up.

        A refusal that says the created_at is taken (409, 421, a 400 naming it)
        tries every candidate; a bare 400 (bad content looks the same) tries
        ``ambiguous_redates`` of them before the row becomes a dead letter.
        """
        state = self._redate
        if state is None or state[1] != row.created_at:
            state = (row.created_at, row.created_at, 0)
        origin, _, tries = state
        if result.kind is not ResultKind.DUPLICATE and tries >= self._ambiguous_redates:
            return None
        moved = self._outbox.redate_first(origin, tries, self._row_interval)
        if moved is None:
            return None
        self._redate = (origin, moved, tries + 1)
        return moved

    def _retry_later(self, result: UploadResult) -> None:
        self._failures += 1
        nominal = min(
            self._backoff_max, self._backoff_initial * 2 ** min(self._failures - 1, 60)
        )
        self._backoff = nominal * (1 - self._jitter * self._rand())
        self._retry_at = self._clock() + self._backoff
        if self._failures == 1:
            _LOGGER.warning(
                "ThingSpeak channel %s: upload failing (%s); %d rows kept, retrying "
                "with backoff",
                self._config.channel_id,
                result.detail,
                len(self._outbox),
            )

    def _auth_failed(self, result: UploadResult, generation: int) -> None:
        if generation != self._key_generation:
            # The key changed while this call was under way: try the new one.
            return
        self._auth_blocked = True
        self._problems.add(Problem.AUTH)
        _LOGGER.error(
            "ThingSpeak channel %s: the write key was refused (%s); uploads paused "
            "until a new key is given, %d rows kept",
            self._config.channel_id,
            result.detail,
            len(self._outbox),
        )
        if self._on_problem is not None:
            self._callback(self._on_problem, Problem.AUTH, result)

    def _report(self, problem: Problem, result: UploadResult) -> None:
        if problem in self._problems:
            return
        self._problems.add(problem)
        _LOGGER.warning(
            "ThingSpeak channel %s: %s (%s); %d rows kept, retrying every %g s",
            self._config.channel_id,
            "message quota used up"
            if problem is Problem.QUOTA
            else "channel not found",
            result.detail,
            len(self._outbox),
            self._problem_retry,
        )
        if self._on_problem is not None:
            self._callback(self._on_problem, problem, result)

    def _callback(self, callback: Callable[..., object], *args: object) -> None:
        try:
            callback(*args)
        except Exception:
            _LOGGER.exception(
                "ThingSpeak channel %s: error in a callback", self._config.channel_id
            )
