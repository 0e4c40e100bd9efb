"""Tests of the fake ThingSpeak server itself, over raw HTTP.

The engine's tests trust this fake to behave as ThingSpeak documents, so its
answers are pinned here independently of the engine's client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import subprocess
import sys
from typing import Any
import urllib.error
import urllib.request

import aiohttp
import pytest

from tests.fake_thingspeak import (
    FakeThingSpeak,
    main,
    parse_channel_spec,
    start_fake_thingspeak,
)

CHANNEL = 31
KEY = "WRITEKEY31XXXXXX"
PAID = 32
PAID_KEY = "WRITEKEY32XXXXXX"
REPO = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


WALL = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fake(clock: Clock, socket_enabled: None) -> AsyncIterator[FakeThingSpeak]:
    server = await start_fake_thingspeak(
        f"{CHANNEL}:{KEY}",
        (PAID, PAID_KEY, "paid"),
        clock=clock,
        wall=lambda: WALL,
        hang_seconds=5.0,
    )
    yield server
    await server.close()


@pytest.fixture
async def http(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def bulk(
    http: aiohttp.ClientSession,
    fake: FakeThingSpeak,
    updates: Any,
    *,
    key: str = KEY,
    channel: int | str = CHANNEL,
) -> tuple[int, Any]:
    body = {"write_api_key": key, "updates": updates}
    async with http.post(
        f"{fake.url}/channels/{channel}/bulk_update.json", json=body
    ) as response:
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text


def upd(second: int, **values: Any) -> dict[str, Any]:
    return {"created_at": f"2026-11-26T10:00:{second:02d}Z", **values}


async def test_bulk_update_stores_and_answers_202(
    http: aiohttp.ClientSession, fake: FakeThingSpeak
) -> None:
    status, body = await bulk(
        http,
        fake,
        [
            upd(0, field1=1.5, field8="x", status="s"),
            {
                "created_at": "2026-11-26 10:00:01",
                "latitude": -34.9,
                "longitude": 138.6,
            },
            {"created_at": 1_795_000_000, "elevation": "50"},
            {"created_at": "1795000001.7"},
            {"created_at": "2026-11-26T20:30:02.900+10:30", "field2": None},
        ],
    )
    assert (status, body) == (202, {"success": True})
    entries = fake.stored(CHANNEL)
    assert [e.created_at for e in entries] == [
        datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC),
        datetime(2026, 11, 26, 10, 0, 1, tzinfo=UTC),
        datetime.fromtimestamp(1_795_000_000, UTC),
        datetime.fromtimestamp(1_795_000_001, UTC),
        datetime(2026, 11, 26, 10, 0, 2, tzinfo=UTC),
    ]
    assert entries[0].values == {"field1": 1.5, "field8": "x", "status": "s"}
    assert entries[4].values == {}
    assert [e.entry_id for e in entries] == [1, 2, 3, 4, 5]
    assert fake.channel(CHANNEL).messages == 5
    assert fake.calls[0].updates == 5 and fake.calls[0].stored == 5


async def test_bulk_delta_t(http: aiohttp.ClientSession, fake: FakeThingSpeak) -> None:
    status, _ = await bulk(http, fake, [{"delta_t": 0}, {"delta_t": 15, "field1": 2}])
    assert status == 202
    assert [e.created_at for e in fake.stored(CHANNEL)] == [
        WALL,
        datetime(2026, 11, 26, 12, 0, 15, tzinfo=UTC),
    ]
    fake.channel(CHANNEL).last_write = None
    status, _ = await bulk(http, fake, [{"delta_t": "5"}])
    assert status == 202
    assert fake.stored(CHANNEL)[-1].created_at == datetime(
        2026, 11, 26, 12, 0, 20, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("updates", "status", "code"),
    [
        ([], 400, "error_bad_request"),
        ("nope", 400, "error_bad_request"),
        ([5], 400, "error_bad_request"),
        ([{"field1": 1}], 400, "error_bad_request"),
        (
            [{"created_at": "2026-11-26T10:00:00Z", "delta_t": 1}],
            400,
            "error_bad_request",
        ),
        ([upd(0, field9=1)], 400, "error_bad_request"),
        ([upd(0, field1={"a": 1})], 400, "error_bad_request"),
        ([{"created_at": "yesterday"}], 400, "error_bad_request"),
        ([{"created_at": True}], 400, "error_bad_request"),
        ([{"created_at": None}], 400, "error_bad_request"),
        ([upd(0, latitude=91)], 400, "error_bad_request"),
        ([upd(0, longitude="east")], 400, "error_bad_request"),
        ([upd(0), upd(0)], 400, "error_bad_request"),
        ([{"delta_t": 0}, {"delta_t": 0}], 400, "error_bad_request"),
        ([{"delta_t": "soon"}], 400, "error_bad_request"),
        ([upd(0, status="bad \ud800")], 422, "error_invalid_byte_sequence"),
    ],
)
async def test_bulk_validation(
    http: aiohttp.ClientSession,
    fake: FakeThingSpeak,
    updates: Any,
    status: int,
    code: str,
) -> None:
    got, body = await bulk(http, fake, updates)
    assert got == status
    assert body["status"] == str(status)
    assert body["error"]["error_code"] == code
    assert body["error"]["message"]
    assert body["error"]["details"]
    assert fake.stored(CHANNEL) == []


async def test_bulk_body_errors(
    http: aiohttp.ClientSession, fake: FakeThingSpeak
) -> None:
    url = f"{fake.url}/channels/{CHANNEL}/bulk_update.json"
    for data, status in ((b"\xff\xfe", 422), (b"{not json", 400), (b"[1]", 400)):
        async with http.post(url, data=data) as response:
            assert response.status == status
            fake.channel(CHANNEL).last_write = None
    fake.reject_values.add("EVIL")
    status, body = await bulk(http, fake, [upd(0), upd(1, field2="EVIL")])
    assert status == 400
    assert "update 1" in body["error"]["details"]


async def test_bulk_auth_not_found_quota_and_size(
    http: aiohttp.ClientSession, fake: FakeThingSpeak, clock: Clock
) -> None:
    status, body = await bulk(http, fake, [upd(0)], key="WRONG")
    assert status == 401
    assert body == {
        "status": "401",
        "error": {
            "error_code": "error_auth_required",
            "message": "Authorization Required",
            "details": "Please make sure that your API key is correct.",
        },
    }
    assert (await bulk(http, fake, [upd(0)], channel=999))[0] == 404
    assert (await bulk(http, fake, [upd(0)], channel="abc"))[0] == 404

    status, body = await bulk(
        http, fake, [upd(i % 60) | {"created_at": i} for i in range(961)]
    )
    assert status == 413
    assert body["error"]["error_code"] == "error_request_too_large"
    clock.now += 15
    paid = [{"created_at": i} for i in range(961)]
    assert (await bulk(http, fake, paid, key=PAID_KEY, channel=PAID))[0] == 202

    fake.channel(CHANNEL).quota = 2
    clock.now += 15
    assert (await bulk(http, fake, [upd(0), upd(1), upd(2)]))[0] == 202  # crosses
    clock.now += 15
    status, body = await bulk(http, fake, [upd(3)])
    assert status == 402
    assert body["error"]["error_code"] == "error_payment_required"
    assert len(fake.stored(CHANNEL)) == 3


async def test_bulk_spacing(
    http: aiohttp.ClientSession, fake: FakeThingSpeak, clock: Clock
) -> None:
    assert (await bulk(http, fake, [upd(0)]))[0] == 202
    clock.now += 14.9
    status, body = await bulk(http, fake, [upd(1)])
    assert status == 429
    assert body["error"]["error_code"] == "error_too_many_requests"
    clock.now += 15
    assert (await bulk(http, fake, [upd(2)]))[0] == 202
    # Paid: one second.
    assert (await bulk(http, fake, [upd(0)], key=PAID_KEY, channel=PAID))[0] == 202
    clock.now += 0.5
    assert (await bulk(http, fake, [upd(1)], key=PAID_KEY, channel=PAID))[0] == 429
    clock.now += 1
    assert (await bulk(http, fake, [upd(2)], key=PAID_KEY, channel=PAID))[0] == 202
    assert fake.arrivals(CHANNEL) == [500.0, 514.9, 529.9]
    assert fake.min_spacing(CHANNEL) == pytest.approx(14.9)
    assert fake.min_spacing(999) is None


@pytest.mark.parametrize(
    ("policy", "status", "code"),
    [
        ("reject", 400, "error_bad_request"),
        ("conflict", 409, "error_conflict"),
        ("no_action", 421, "error_no_action"),
        ("skip", 202, None),
    ],
)
async def test_duplicate_created_at(
    http: aiohttp.ClientSession,
    clock: Clock,
    policy: Any,
    status: int,
    code: str | None,
    socket_enabled: None,
) -> None:
    fake = await start_fake_thingspeak(
        (CHANNEL, KEY), clock=clock, duplicate_policy=policy
    )
    try:
        assert (await bulk(http, fake, [upd(0), upd(1)]))[0] == 202
        clock.now += 15
        answer, body = await bulk(http, fake, [upd(1), upd(2)])
        times = [e.created_at.second for e in fake.stored(CHANNEL)]
        assert answer == status
        if code is None:
            assert times == [0, 1, 2]
        else:
            assert times == [0, 1]
            assert body["error"]["error_code"] == code
            assert "already stored" in body["error"]["details"]
        assert fake.duplicates_refused == 1
        # Another program's entry takes its second for every writer.
        taken = datetime(2026, 11, 26, 10, 0, 30, tzinfo=UTC)
        other = fake.store_entry(CHANNEL, taken, field1="x")
        assert other is not None and other.values == {"field1": "x"}
        assert fake.store_entry(CHANNEL, taken) is None
        clock.now += 15
        answer, _ = await bulk(http, fake, [upd(30)])
        assert answer == status
        assert fake.duplicates_refused == 3
        # The same second twice in one call is a bad request, whatever the policy.
        clock.now += 15
        assert (await bulk(http, fake, [upd(40), upd(40)]))[0] == 400
    finally:
        await fake.close()
    with pytest.raises(ValueError, match="duplicate_policy"):
        FakeThingSpeak(duplicate_policy="merge")  # type: ignore[arg-type]


async def test_update_endpoint(
    http: aiohttp.ClientSession, fake: FakeThingSpeak, clock: Clock
) -> None:
    url = f"{fake.url}/update"
    async with http.post(
        url,
        data={
            "field1": "7",
            "lat": "1.5",
            "long": "2.5",
            "status": "hi",
            "elevation": "9",
        },
        headers={"THINGSPEAKAPIKEY": KEY},
    ) as response:
        assert (response.status, await response.text()) == (200, "1")
    entry = fake.stored(CHANNEL)[0]
    assert entry.created_at == WALL
    assert entry.values == {
        "field1": "7",
        "latitude": "1.5",
        "longitude": "2.5",
        "status": "hi",
        "elevation": "9",
    }
    # Too soon: 0 with 200, nothing stored.
    clock.now += 5
    async with http.post(url, data={"api_key": KEY, "field1": "8"}) as response:
        assert (response.status, await response.text()) == (200, "0")
    clock.now += 15
    async with http.post(
        f"{fake.url}/update.json",
        json={"api_key": KEY, "field2": 3, "created_at": "2026-11-26T10:00:00Z"},
    ) as response:
        body = await response.json()
    assert body["entry_id"] == 2
    assert body["created_at"] == "2026-11-26T10:00:00Z"
    assert body["field2"] == "3"
    assert body["channel_id"] == CHANNEL
    # GET with query parameters; a created_at already stored is refused with 0.
    clock.now += 15
    async with http.get(
        url, params={"api_key": KEY, "created_at": "2026-11-26T10:00:00Z"}
    ) as response:
        assert await response.text() == "0"
    assert fake.duplicates_refused == 1
    clock.now += 15
    async with http.get(
        url, params={"api_key": KEY, "field1": "1", "created_at": "1795000000"}
    ) as response:
        assert await response.text() == "3"
    assert len(fake.stored(CHANNEL)) == 3
    assert [c.endpoint for c in fake.calls] == ["update"] * 5


async def test_update_errors(
    http: aiohttp.ClientSession, fake: FakeThingSpeak, clock: Clock
) -> None:
    url = f"{fake.url}/update"
    async with http.post(url, data={"api_key": "WRONG", "field1": "1"}) as response:
        assert (response.status, await response.text()) == (401, "error_auth_required")
    async with http.post(f"{fake.url}/update.json", data={"field1": "1"}) as response:
        assert response.status == 401
        assert (await response.json())["error"]["error_code"] == "error_auth_required"
    async with http.post(
        f"{fake.url}/update.json",
        data=b"{oops",
        headers={"Content-Type": "application/json"},
    ) as response:
        assert response.status == 400
    headers = {"THINGSPEAKAPIKEY": KEY}
    async with http.post(
        url, data={"created_at": "never"}, headers=headers
    ) as response:
        assert (response.status, await response.text()) == (400, "error_bad_request")
    fake.reject_values.add("EVIL")
    async with http.post(url, data={"field3": "EVIL"}, headers=headers) as response:
        assert response.status == 400
    async with http.post(
        f"{fake.url}/update.json", json={"status": "\ud800"}, headers=headers
    ) as response:
        assert response.status == 422
    fake.channel(CHANNEL).quota = 0
    async with http.post(url, data={"field1": "1"}, headers=headers) as response:
        assert (response.status, await response.text()) == (
            402,
            "error_payment_required",
        )
    assert fake.stored(CHANNEL) == []


@pytest.mark.parametrize(
    ("kind", "status", "answer"),
    [
        ("error", 503, (503, "error_unavailable")),
        ("error", 500, (500, "error_internal")),
        ("error", 418, (418, "error_unknown")),
        ("zero", 500, (200, 0)),
        ("unsuccessful", 500, (200, False)),
    ],
)
async def test_faults_answering(
    http: aiohttp.ClientSession,
    fake: FakeThingSpeak,
    kind: Any,
    status: int,
    answer: tuple[int, Any],
) -> None:
    fault = fake.inject(kind, status=status)
    assert fault.remaining == 1
    got, body = await bulk(http, fake, [upd(0)])
    if isinstance(body, dict) and "error" in body:
        body = body["error"]["error_code"]
    elif isinstance(body, dict):
        body = body["success"]
    assert (got, body) == answer
    assert fake.stored(CHANNEL) == []
    assert fake.calls[0].fault == kind
    assert fake.faults == []
    assert (await bulk(http, fake, [upd(0)]))[0] == 202  # only once


async def test_fault_filters_counts_and_store(
    http: aiohttp.ClientSession, fake: FakeThingSpeak, clock: Clock
) -> None:
    fake.inject("error", None, status=503, channel_id=PAID)
    fake.inject("zero", 2, endpoint="update")
    assert (await bulk(http, fake, [upd(0)]))[0] == 202
    for _ in range(3):
        clock.now += 2
        assert (await bulk(http, fake, [upd(1)], key=PAID_KEY, channel=PAID))[0] == 503
    for _ in range(2):
        async with http.post(f"{fake.url}/update", data={"api_key": KEY}) as response:
            assert await response.text() == "0"
    assert len(fake.faults) == 1
    fake.clear_faults()
    fake.inject("error", status=500, store=True)
    clock.now += 15
    assert (await bulk(http, fake, [upd(5)]))[0] == 500
    assert [e.created_at.second for e in fake.stored(CHANNEL)] == [0, 5]
    # A stored-then-failed call that cannot be parsed stores nothing.
    fake.inject("error", status=500, store=True)
    assert (await bulk(http, fake, "junk"))[0] == 500
    fake.inject("error", status=502, store=True, endpoint="update")
    async with http.post(
        f"{fake.url}/update", data={"api_key": KEY, "created_at": "bad"}
    ) as response:
        assert response.status == 502
    fake.inject("error", status=502, store=True, endpoint="update")
    async with http.post(f"{fake.url}/update", data={"api_key": KEY}) as response:
        assert response.status == 502
    assert len(fake.stored(CHANNEL)) == 3


async def test_drop_and_hang(http: aiohttp.ClientSession, fake: FakeThingSpeak) -> None:
    fake.inject("drop", store=True)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await bulk(http, fake, [upd(0)])
    assert len(fake.stored(CHANNEL)) == 1
    assert fake.calls[-1].status is None
    fake.inject("hang", endpoint="update")
    with pytest.raises(TimeoutError):
        async with http.post(
            f"{fake.url}/update",
            data={"api_key": KEY},
            timeout=aiohttp.ClientTimeout(total=0.2),
        ):
            pass
    fake.inject("drop", endpoint="update")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with http.post(f"{fake.url}/update", data={"api_key": KEY}):
            pass


async def test_hang_is_released_by_close(
    http: aiohttp.ClientSession, clock: Clock, socket_enabled: None
) -> None:
    fake = await start_fake_thingspeak((CHANNEL, KEY), clock=clock, hang_seconds=30)
    fake.inject("hang")
    with pytest.raises(TimeoutError):
        async with http.post(
            f"{fake.url}/channels/{CHANNEL}/bulk_update.json",
            json={"write_api_key": KEY, "updates": [upd(0)]},
            timeout=aiohttp.ClientTimeout(total=0.2),
        ):
            pass
    await fake.close()  # must not wait the 30 s
    await fake.close()  # idempotent


async def test_feeds(http: aiohttp.ClientSession, fake: FakeThingSpeak) -> None:
    await bulk(http, fake, [upd(0, field1=1.25, latitude=1)])
    async with http.get(f"{fake.url}/channels/{CHANNEL}/feeds.json") as response:
        body = await response.json()
    assert body["channel"] == {"id": CHANNEL}
    assert body["feeds"] == [
        {
            "channel_id": CHANNEL,
            "created_at": "2026-11-26T10:00:00Z",
            "entry_id": 1,
            "field1": "1.25",
            **{f"field{i}": None for i in range(2, 9)},
            "status": None,
            "latitude": 1,
            "longitude": None,
            "elevation": None,
        }
    ]
    async with http.get(f"{fake.url}/channels/77/feeds.json") as response:
        assert response.status == 404


def test_channel_specs_and_plans() -> None:
    assert parse_channel_spec("12:ABC") == (12, "ABC", "free")
    assert parse_channel_spec("12:ABC:paid") == (12, "ABC", "paid")
    for bad in ("12", "x:ABC", "12::free", "12:ABC:gold", "1:2:3:4"):
        with pytest.raises(ValueError):
            parse_channel_spec(bad)
    fake = FakeThingSpeak()
    with pytest.raises(ValueError, match="plan"):
        fake.add_channel(1, "K", "gold")
    channel = fake.add_channel(1, "K", "paid", quota=5)
    assert (channel.min_interval, channel.max_batch, channel.quota) == (1.0, 14_400, 5)
    with pytest.raises(SystemExit):
        main(["--channel", "nonsense"])


def test_command_line(socket_enabled: None) -> None:
    """``python -m tests.fake_thingspeak`` serves until SIGTERM."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fake_thingspeak",
            "--port",
            "0",
            "--channel",
            f"{CHANNEL}:{KEY}",
            "--channel",
            f"{PAID}:{PAID_KEY}:paid",
            "--quota",
            f"{PAID}:0",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.startswith("Fake ThingSpeak listening on http://127.0.0.1:")
            url = line.split()[-1]
            body = json.dumps(
                {"write_api_key": KEY, "updates": [upd(0, field1=1)]}
            ).encode()
            request = urllib.request.Request(
                f"{url}/channels/{CHANNEL}/bulk_update.json",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.status == 202
                assert json.loads(response.read()) == {"success": True}
            paid = urllib.request.Request(
                f"{url}/channels/{PAID}/bulk_update.json",
                data=json.dumps(
                    {"write_api_key": PAID_KEY, "updates": [upd(0)]}
                ).encode(),
            )
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(paid, timeout=5)
            assert err.value.code == 402
            err.value.close()
        finally:
            process.terminate()
            _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert f"channel {CHANNEL}: 1 entries stored" in stderr


async def test_open_key_takes_any_channel_but_nothing_else(
    http: aiohttp.ClientSession, fake: FakeThingSpeak
) -> None:
    """The demo's stand-in: any new channel id written with the open key exists."""
    status, _ = await bulk(
        http, fake, [upd(1, field1=1)], key="OPENKEY0DEMO0001", channel=777
    )
    assert status == 404  # without an open key, unknown channels stay unknown
    fake.open_key = "OPENKEY0DEMO0001"
    status, answer = await bulk(
        http, fake, [upd(1, field1=1)], key="WRONGKEY00000000", channel=777
    )
    assert status == 404
    status, answer = await bulk(
        http, fake, [upd(1, field1=1)], key="OPENKEY0DEMO0001", channel=777
    )
    assert (status, answer) == (202, {"success": True})
    assert [entry.values for entry in fake.stored(777)] == [{"field1": 1}]
    # A known channel keeps its own key.
    status, _ = await bulk(http, fake, [upd(2, field1=1)], key="OPENKEY0DEMO0001")
    assert status == 401
