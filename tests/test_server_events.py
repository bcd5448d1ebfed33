"""The API's live events (Server-Sent Events), hosting it with start_server, and `tuiapp serve`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

import aiohttp
import pytest

from tests.replay import stream
from tests.serverkit import (
    SSEvent,
    bearer,
    events_until,
    next_event,
    photos,
    serve_picsum,
    submit,
    wait_until_finished,
)
from tuiapp.events import JobDeleted
from tuiapp.server import create_app, start_server

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_aiohttp import AiohttpClient

    from tests.replay import ReplayServer
    from tests.serverkit import Client
    from tuiapp.engine import Engine


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PROGRESS = {"source_progress", "transfer_progress"}


pytestmark = pytest.mark.usefixtures("responses_conform")


def slow_photos(replay: ReplayServer, count: int, seconds: float) -> None:
    """A catalogue whose files each take about ``seconds`` to arrive."""
    chunks = 20
    serve_picsum(
        replay,
        photos(count),
        image=stream(
            chunks,
            PNG_MAGIC + os.urandom(4096),
            content_type="image/png",
            delay=seconds / chunks,
        ),
    )


def lifecycle(events: list[SSEvent]) -> list[str]:
    return [e.event for e in events if e.event not in PROGRESS]


async def test_the_event_stream_starts_with_a_snapshot_then_follows_a_job_in_order(
    client: Client, replay: ReplayServer
) -> None:
    serve_picsum(replay, photos(2))
    resp = await client.get("/api/events")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/event-stream"
    snapshot = await next_event(resp)
    assert snapshot == SSEvent("snapshot", "1", {"jobs": [], "reconnected": False})

    job = await submit(client, {"query": "kites", "sources": ["picsum"], "count": 2})
    events = await events_until(resp, "job_finished")
    kinds = lifecycle(events)
    assert kinds[:3] == ["job_submitted", "job_started", "source_started"]
    assert kinds[-2:] == ["source_finished", "job_finished"]
    assert kinds.count("asset_stored") == 2
    assert [int(e.id or 0) for e in events] == list(range(2, 2 + len(events)))
    for event in events:
        assert event.data["kind"] == event.event
        assert event.data["job_id"] == job["id"]
    assert events[-1].data["state"] == "done"
    assert events[-1].data["stored"] == 2


async def test_the_snapshot_lists_the_jobs_that_are_running(
    client: Client, replay: ReplayServer
) -> None:
    slow_photos(replay, 1, seconds=2)
    job = await submit(client, {"query": "slow", "sources": ["picsum"], "count": 1})
    done = await submit(client, {"query": "bad", "sources": ["robohash"], "count": 1})
    await wait_until_finished(client, done["href"])
    resp = await client.get("/api/events")
    snapshot = await next_event(resp)
    assert snapshot is not None
    assert snapshot.event == "snapshot"
    assert [j["id"] for j in snapshot.data["jobs"]] == [job["id"]]
    assert snapshot.data["jobs"][0]["state"] in ("queued", "running")


async def test_a_job_stream_ends_after_job_finished(client: Client, replay: ReplayServer) -> None:
    slow_photos(replay, 2, seconds=0.5)
    job = await submit(client, {"query": "x", "sources": ["picsum"], "count": 2})
    resp = await client.get(job["events_href"])
    assert resp.status == 200
    snapshot = await next_event(resp)
    assert snapshot is not None
    assert snapshot.event == "snapshot"
    assert snapshot.data["job"]["id"] == job["id"]
    events = await events_until(resp, "job_finished")
    assert events[-1].data["state"] == "done"
    assert lifecycle(events).count("asset_stored") == 2
    assert await next_event(resp) is None  # the server ended the stream


async def test_a_finished_job_streams_only_its_snapshot(
    client: Client, replay: ReplayServer
) -> None:
    serve_picsum(replay, photos(1))
    job = await submit(client, {"query": "x", "sources": ["picsum"], "count": 1})
    await wait_until_finished(client, job["href"])
    resp = await client.get(job["events_href"])
    snapshot = await next_event(resp)
    assert snapshot is not None
    assert snapshot.data["job"]["state"] == "done"
    assert snapshot.data["job"]["stored"] == 1
    assert await next_event(resp) is None


async def test_deleting_a_running_job_ends_its_stream(client: Client, replay: ReplayServer) -> None:
    slow_photos(replay, 1, seconds=20)
    job = await submit(client, {"query": "x", "sources": ["picsum"], "count": 1})
    resp = await client.get(job["events_href"])
    assert (await next_event(resp)) is not None
    assert (await client.delete(job["href"])).status == 204
    events = await events_until(resp, "job_finished", wait=5)
    assert events[-1].data["state"] == "cancelled"
    assert await next_event(resp, wait=5) is None


async def test_reconnecting_with_last_event_id_gets_a_fresh_snapshot(
    client: Client, replay: ReplayServer
) -> None:
    slow_photos(replay, 2, seconds=1)
    job = await submit(client, {"query": "x", "sources": ["picsum"], "count": 2})
    first = await client.get(job["events_href"])
    seen = await events_until(first, "source_started")
    last_id = seen[-1].id
    assert last_id is not None
    first.close()  # the connection drops

    again = await client.get(job["events_href"], headers={"Last-Event-ID": last_id})
    snapshot = await next_event(again)
    assert snapshot is not None
    assert snapshot.event == "snapshot"
    assert snapshot.id == str(int(last_id) + 1)
    assert snapshot.data["reconnected"] is True
    assert snapshot.data["job"]["id"] == job["id"]
    assert snapshot.data["job"]["state"] == "running"
    rest = await events_until(again, "job_finished")
    assert [int(e.id or 0) for e in rest] == list(
        range(int(last_id) + 2, int(last_id) + 2 + len(rest))
    )
    assert rest[-1].data["stored"] == 2

    # An id that is not ours still gets a snapshot; ids start over.
    odd = await client.get("/api/events", headers={"Last-Event-ID": "abc"})
    snapshot = await next_event(odd)
    assert snapshot is not None
    assert (snapshot.event, snapshot.id, snapshot.data["reconnected"]) == ("snapshot", "1", True)


async def test_pings_keep_an_idle_stream_alive(
    aiohttp_client: AiohttpClient, engine: Engine
) -> None:
    client = await aiohttp_client(create_app(engine, ping_interval=0.05))
    resp = await client.get("/api/events")
    assert await next_event(resp) is not None
    pings = 0
    async with asyncio.timeout(5):
        while pings < 3:
            line = await resp.content.readline()
            assert line, "the stream ended"
            if line.startswith(b": ping"):
                pings += 1


async def test_a_subscriber_that_falls_behind_gets_overflow_and_the_stream_ends(
    aiohttp_client: AiohttpClient, engine: Engine
) -> None:
    client = await aiohttp_client(create_app(engine, stream_backlog=3))
    resp = await client.get("/api/events")
    assert await next_event(resp) is not None
    # Ten lifecycle events at once, with no chance for the stream to send any in between.
    for job_id in range(1, 11):
        engine.bus.publish(JobDeleted(job_id=job_id, owner_id=None))
    events = []
    while (event := await next_event(resp)) is not None:
        events.append(event)
    assert [e.event for e in events] == ["job_deleted"] * 3 + ["overflow"]
    assert [e.data["job_id"] for e in events[:3]] == [1, 2, 3]
    assert "reconnect" in events[-1].data["message"]


async def test_event_streams_show_each_caller_only_its_own_jobs(
    client: Client, engine: Engine, replay: ReplayServer
) -> None:
    serve_picsum(replay, photos(1))
    _, alice = await engine.create_user("alice")
    _, bob = await engine.create_user("bob")
    alice_stream = await client.get("/api/events", headers=bearer(alice))
    guest_stream = await client.get("/api/events")
    for resp in (alice_stream, guest_stream):
        assert (await next_event(resp)) is not None

    body = {"query": "x", "sources": ["picsum"], "count": 1}
    bobs = await submit(client, body, bearer(bob))
    await wait_until_finished(client, bobs["href"], bearer(bob))
    alices = await submit(client, body, bearer(alice))
    await wait_until_finished(client, alices["href"], bearer(alice))
    guests = await submit(client, body)

    alice_events = await events_until(alice_stream, "job_finished")
    assert {e.data["job_id"] for e in alice_events} == {alices["id"]}
    assert {e.data["owner_id"] for e in alice_events} == {alices["owner_id"]}
    guest_events = await events_until(guest_stream, "job_finished")
    assert {e.data["job_id"] for e in guest_events} == {guests["id"]}
    # Another's job stream is not found.
    resp = await client.get(alices["events_href"], headers=bearer(bob))
    assert resp.status == 404


# --- hosting ----------------------------------------------------------------------------------


async def test_start_server_serves_on_loopback_and_closing_ends_open_streams(
    engine: Engine,
) -> None:
    server = await start_server(engine, "127.0.0.1", 0)
    assert server.url.startswith("http://127.0.0.1:")
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{server.url}/api/health") as resp:
                assert resp.status == 200
            async with session.get(f"{server.url}/api/events") as events:
                assert (await next_event(events)) is not None
                started = asyncio.get_running_loop().time()
                await server.close()
                assert asyncio.get_running_loop().time() - started < 2
                async with asyncio.timeout(2):
                    await drain(events)
    finally:
        await server.close()


async def drain(resp: aiohttp.ClientResponse) -> None:
    """Read until the stream ends, cleanly or with the connection closing."""
    with contextlib.suppress(aiohttp.ClientError):
        while await resp.content.readline():
            pass


def test_tuiapp_serve_prints_its_url_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TUIAPP_DATA_DIR": str(tmp_path / "data"),
        "TUIAPP_PICSUM_BASE_URL": "http://127.0.0.1:9",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tuiapp", "serve", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")

        async def check() -> None:
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{url}/api/health") as resp:
                    assert resp.status == 200
                async with session.get(f"{url}/api/jobs") as resp:
                    assert (await resp.json())["jobs"] == []

        asyncio.run(check())
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
