"""Watches: saved topics run as new-only jobs on a schedule, once each, with a digest."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from tests.images import png
from tests.replay import Reply
from tests.serverkit import events_until, wait_until_finished
from tests.test_new_only import KEY, GrowingOrigin, pexels_engine
from tests.test_workers import _catalogue
from tests.test_workers import start_worker as start_worker  # a fixture of these tests too
from tuiapp.engine import Engine
from tuiapp.engine.watches import WEBHOOK_TRIES, backoff
from tuiapp.errors import InvalidRequestError
from tuiapp.events import WatchRan
from tuiapp.jobs import JobState
from tuiapp.server import create_app
from tuiapp.watches import describe_every, parse_every

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from pytest_aiohttp import AiohttpClient

    from tests.conftest import EngineFactory, MakeSettings
    from tests.fake_sources import Script
    from tests.replay import ReplayServer
    from tuiapp.bus import Subscription
    from tuiapp.events import Event
    from tuiapp.jobs import JobInfo
    from tuiapp.watches import WatchInfo

    Scripted = Callable[..., Script]


@pytest.fixture
def origin(replay: ReplayServer) -> GrowingOrigin:
    return GrowingOrigin(replay)


async def _tick(engine: Engine) -> list[JobInfo]:
    """One scheduler round; waits for the jobs it started, then records them."""
    jobs = await engine.watches.scheduler.tick()
    finals = [await engine.wait(j.id, j.owner_id) for j in jobs]
    await engine.watches.record()
    return finals


def _drain(sub: Subscription) -> list[Event]:
    events = []
    while (event := sub.get_nowait()) is not None:
        events.append(event)
    return events


async def _make_due(engine: Engine, watch: WatchInfo, ago: float = 1.0) -> None:
    from tuiapp.engine.runtime import now

    await engine.storage.update_watch(
        watch.id, watch.owner_id, next_run_at=now() - timedelta(seconds=ago)
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("6h", 21600), ("5m", 300), ("1d12h", 129600), ("2w", 1209600), ("900", 900), (600, 600)],
)
def test_intervals_read_as_people_write_them(text: str | int, seconds: int) -> None:
    assert parse_every(text) == seconds
    assert parse_every(describe_every(seconds)) == seconds


@pytest.mark.parametrize("text", ["4m", "299", "1x", "", "h", "53w", "-5m", True])
def test_an_interval_under_five_minutes_unreadable_or_over_a_year_is_refused(
    text: str | int,
) -> None:
    with pytest.raises(InvalidRequestError, match=r"^every: "):
        parse_every(text)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"every": "1m"}, "every"),
        ({"sources": ["nope"]}, "unknown source 'nope'"),
        ({"webhook": "ftp://example.org/x"}, "webhook"),
        ({"webhook": "javascript:alert(1)"}, "webhook"),
        ({"options": {"colour": "red"}}, "colour"),
        ({"count": 0}, "count"),
    ],
)
async def test_a_bad_watch_is_refused_naming_the_field_and_nothing_is_saved(
    engine_factory: EngineFactory, change: dict[str, Any], field: str
) -> None:
    engine = await engine_factory()
    values: dict[str, Any] = {"query": "cats", "sources": ["picsum"], "every": "6h"} | change
    with pytest.raises(InvalidRequestError, match=field):
        await engine.watches.add(None, **values)
    assert await engine.watches.list_watches(None) == []


async def test_a_watch_runs_at_once_then_brings_back_only_what_is_new(
    origin: GrowingOrigin, replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    engine = await pexels_engine(engine_factory, replay)
    watch = await engine.watches.add(None, query="cats", sources=["pexels"], count=5, every="6h")
    origin.add(1, 2, 3, 4, 5)
    with engine.subscribe() as sub:
        (first,) = await _tick(engine)
        assert (first.stored, first.known, first.watch_id, first.new_only) == (5, 0, watch.id, True)
        assert await _tick(engine) == []  # not due again for 6 hours

        origin.add(6, 7, 8)
        await _make_due(engine, watch)
        before = len(replay.requests)
        (second,) = await _tick(engine)
        ran = [e for e in _drain(sub) if isinstance(e, WatchRan)]
    assert (second.stored, second.known) == (3, 5)
    asked = {r.path for r in replay.requests[before:]}
    assert not asked & {origin.path(i) for i in (1, 2, 3, 4, 5)}
    assets = await engine.list_assets(None, job_id=second.id)
    assert sorted(a.url for a in assets) == [replay.url(origin.path(i)) for i in (6, 7, 8)]
    assert [(e.job_id, e.new, e.known) for e in ran] == [(first.id, 5, 0), (second.id, 3, 5)]
    seen = await engine.watches.get(watch.id, None)
    assert (seen.runs, seen.last_job_id, seen.last_new, seen.last_known, seen.total_new) == (
        2,
        second.id,
        3,
        5,
        8,
    )
    assert seen.last_run_at is not None
    assert seen.next_run_at - seen.last_run_at >= timedelta(hours=6)
    assert await engine.watches.runs(watch.id, None) == [second.id, first.id]


async def test_a_watch_missed_for_many_intervals_runs_once_and_its_next_run_counts_from_now(
    origin: GrowingOrigin, replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    engine = await pexels_engine(engine_factory, replay)
    origin.add(1)
    watch = await engine.watches.add(None, query="cats", sources=["pexels"], count=5, every="1h")
    await _make_due(engine, watch, ago=10 * 3600)  # ten runs missed while nothing ran
    assert len(await _tick(engine)) == 1
    assert await _tick(engine) == []
    seen = await engine.watches.get(watch.id, None)
    assert seen.runs == 1 and seen.last_run_at is not None
    assert timedelta(hours=1) <= seen.next_run_at - seen.last_run_at <= timedelta(minutes=62)


async def test_watches_due_together_are_spread_by_jitter(
    engine_factory: EngineFactory, scripted: Scripted
) -> None:
    scripted("fake_a", urls=[])
    engine = await engine_factory()
    for i in range(8):
        await engine.watches.add(None, query=f"q{i}", sources=["fake_a"], every="6h")
    await _tick(engine)
    nexts = {w.next_run_at for w in await engine.watches.list_watches(None)}
    assert len(nexts) == 8
    assert max(nexts) - min(nexts) < timedelta(minutes=6)


async def test_a_watch_whose_runs_keep_failing_backs_off_and_says_why(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    from tuiapp.errors import FormatChangedError

    script = scripted("fake_a", urls=[], error=FormatChangedError("the site changed its pages"))
    engine = await engine_factory()
    watch = await engine.watches.add(None, query="q", sources=["fake_a"], every="1h")
    gaps = []
    for _ in range(3):
        (job,) = await _tick(engine)
        assert job.state is JobState.FAILED
        seen = await engine.watches.get(watch.id, None)
        assert seen.last_error is not None and "changed its pages" in seen.last_error
        gaps.append(seen.next_run_at - (job.finished_at or seen.next_run_at))
        await _make_due(engine, watch)
    assert seen.failures == 3
    assert gaps[0] <= timedelta(hours=1, minutes=2)  # one failure: the usual interval
    assert gaps[1] >= timedelta(hours=2) - timedelta(seconds=5)
    assert gaps[2] >= timedelta(hours=4) - timedelta(seconds=5)
    assert backoff(3600, 50) == 16 * 3600
    script.error = None
    replay.add("/ok.png", Reply(png(seed=5), content_type="image/png"))
    script.urls = [replay.url("/ok.png")]
    await _tick(engine)
    seen = await engine.watches.get(watch.id, None)
    assert (seen.failures, seen.last_error, seen.last_new) == (0, None, 1)


async def test_pause_resume_run_now_and_delete(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    replay.add("/a.png", Reply(png(seed=1), content_type="image/png"))
    scripted("fake_a", urls=[replay.url("/a.png")])
    engine = await engine_factory()
    watch = await engine.watches.add(None, query="q", sources=["fake_a"], every="30m")
    paused = await engine.watches.pause(watch.id, None)
    assert paused.paused
    assert await _tick(engine) == []  # due, but paused
    job = await engine.watches.run(watch.id, None)  # run now works on a paused watch
    final = await engine.wait(job.id, None)
    await engine.watches.record()
    assert final.stored == 1 and final.watch_id == watch.id
    resumed = await engine.watches.resume(watch.id, None)
    assert not resumed.paused and resumed.runs == 1
    assert await _tick(engine) == []  # run now moved the schedule on
    await engine.watches.delete(watch.id, None)
    assert await engine.watches.list_watches(None) == []
    assert (await engine.get_job(job.id, None)).watch_id == watch.id  # its runs stay


async def test_run_now_refuses_while_the_last_run_is_still_running(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    scripted("fake_a", urls=[replay.url("/a.png")], hang_after=True)
    replay.add("/a.png", Reply(png(seed=1), content_type="image/png"))
    engine = await engine_factory()
    watch = await engine.watches.add(None, query="q", sources=["fake_a"], count=2, every="30m")
    job = await engine.watches.run(watch.id, None)
    with pytest.raises(InvalidRequestError, match="has not ended yet"):
        await engine.watches.run(watch.id, None)
    await engine.cancel(job.id, None)
    await engine.wait(job.id, None)
    await engine.watches.record()
    assert (await engine.watches.run(watch.id, None)).id != job.id


async def test_another_owner_sees_no_watch_of_mine(
    engine_factory: EngineFactory, scripted: Scripted
) -> None:
    from tuiapp.errors import NotFoundError

    scripted("fake_a", urls=[])
    engine = await engine_factory()
    alice, _ = await engine.create_user("alice")
    watch = await engine.watches.add(alice.id, query="q", sources=["fake_a"], every="1h")
    assert await engine.watches.list_watches(None) == []
    with pytest.raises(NotFoundError):
        await engine.watches.get(watch.id, None)
    with pytest.raises(NotFoundError):
        await engine.watches.run(watch.id, None)


async def test_two_engines_on_one_database_run_each_due_watch_once(
    make_settings: MakeSettings, scripted: Scripted
) -> None:
    """Two processes' schedulers see the same twenty watches due at the same moment."""
    from tuiapp.models import Job

    scripted("fake_a", urls=[])
    settings = make_settings()
    async with Engine(settings) as one, Engine(settings) as two:
        for i in range(20):
            await one.watches.add(None, query=f"q{i}", sources=["fake_a"], every="1h")
        started = await asyncio.gather(
            one.watches.scheduler.tick(),
            two.watches.scheduler.tick(),
            one.watches.scheduler.tick(),
            two.watches.scheduler.tick(),
        )
        jobs = [j for batch in started for j in batch]
        for job in jobs:
            await (one if job.id in one.runtime.runs else two).wait(job.id, None)
        assert len(jobs) == 20
        runs = await Job.filter(watch_id__isnull=False).values_list("watch_id", flat=True)
        watches = [w.id for w in await one.watches.list_watches(None)]
        assert sorted(int(str(w)) for w in runs) == watches  # one run per watch


class Receiver:
    """A webhook receiver on loopback: answers with the statuses given, in turn."""

    def __init__(self, replay: ReplayServer, statuses: list[int]) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses = statuses

        async def hook(request: web.Request) -> web.Response:
            self.bodies.append(json.loads(await request.read()))
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            return web.Response(status=status, text="ok")

        replay.add("/hook", hook)


async def test_the_webhook_gets_one_post_per_run_with_the_counts_and_links(
    origin: GrowingOrigin, replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    receiver = Receiver(replay, [204])
    engine = await pexels_engine(engine_factory, replay)
    origin.add(1, 2)
    watch = await engine.watches.add(
        None,
        query="cats",
        sources=["pexels"],
        count=5,
        every="6h",
        webhook=replay.url("/hook"),
    )
    (job,) = await _tick(engine)
    await engine.watches.scheduler.stop()  # deliveries end before it returns
    (body,) = receiver.bodies
    assert body["watch"]["id"] == watch.id
    assert body["job"] == {
        "id": job.id,
        "state": "done",
        "error": None,
        "href": f"/api/jobs/{job.id}",
    }
    assert (body["new"], body["known"]) == (2, 0)
    assert [f["url"] for f in body["files"]] == [replay.url(origin.path(i)) for i in (2, 1)]
    assert all(f["href"] == f"/api/assets/{f['id']}" for f in body["files"])
    assert (await engine.watches.get(watch.id, None)).webhook_error is None


async def test_a_webhook_answering_500_is_retried_and_the_watch_says_so(
    replay: ReplayServer,
    engine_factory: EngineFactory,
    scripted: Scripted,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver = Receiver(replay, [500])
    scripted("fake_a", urls=[])
    caplog.set_level(logging.WARNING, "tuiapp.engine.watches")
    engine = await engine_factory()
    watch = await engine.watches.add(
        None, query="q", sources=["fake_a"], every="6h", webhook=replay.url("/hook")
    )
    await _tick(engine)
    await engine.watches.scheduler.stop()
    assert len(receiver.bodies) == WEBHOOK_TRIES
    seen = await engine.watches.get(watch.id, None)
    assert seen.webhook_error is not None
    assert "HTTP 500" in seen.webhook_error and f"{WEBHOOK_TRIES} tries" in seen.webhook_error
    tries = [r.getMessage() for r in caplog.records if "webhook try" in r.getMessage()]
    assert len(tries) == WEBHOOK_TRIES and "it answered HTTP 500" in tries[-1]


async def test_a_webhook_that_recovers_clears_the_error(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    receiver = Receiver(replay, [500, 200])
    scripted("fake_a", urls=[])
    engine = await engine_factory()
    watch = await engine.watches.add(
        None, query="q", sources=["fake_a"], every="6h", webhook=replay.url("/hook")
    )
    await _tick(engine)
    await engine.watches.scheduler.stop()
    assert len(receiver.bodies) == 2
    assert (await engine.watches.get(watch.id, None)).webhook_error is None


async def test_the_watch_command_adds_lists_runs_pauses_and_removes(
    origin: GrowingOrigin, replay: ReplayServer, tmp_path: Path
) -> None:
    from tests.test_cli import _tuiapp

    (tmp_path / "no.env").write_text("")
    env = {
        "TUIAPP_DATA_DIR": str(tmp_path / "data"),
        "TUIAPP_PEXELS_BASE_URL": replay.url(),
        "PEXELS_API_KEY": KEY,
        "TUIAPP_ENV_FILE": str(tmp_path / "no.env"),
        "HOME": str(tmp_path),
    }
    code, out, err = await _tuiapp(env, "watch", "add", "cats", "-s", "pexels", "--every", "1m")
    assert (code, out) == (2, "")
    assert "every: at least 5 minutes" in err
    code, out, err = await _tuiapp(
        env, "watch", "add", "cats", "-s", "pexels", "--every", "6h", "--webhook", "file:///x"
    )
    assert code == 2 and "webhook" in err
    code, out, _ = await _tuiapp(env, "watch", "list", "--json")
    assert json.loads(out) == []  # nothing saved by the refused ones

    code, out, err = await _tuiapp(
        env, "watch", "add", "cats", "-s", "pexels", "-n", "5", "--every", "6h"
    )
    assert code == 0, err
    watch_id = out.strip()
    origin.add(1, 2, 3, 4, 5)
    code, out, err = await _tuiapp(env, "watch", "run", watch_id)
    assert code == 0, err
    first = json.loads(out)
    assert (first["watch"], first["new"], first["known"]) == (int(watch_id), 5, 0)
    origin.add(6, 7, 8)
    before = len(replay.requests)
    code, out, err = await _tuiapp(env, "watch", "run", watch_id)
    assert code == 0, err
    second = json.loads(out)
    assert (second["new"], second["known"]) == (3, 5)
    assert second["job"]["watch_id"] == int(watch_id)
    asked = {r.path for r in replay.requests[before:]}
    assert not asked & {origin.path(i) for i in (1, 2, 3, 4, 5)}

    code, out, err = await _tuiapp(env, "watch", "list")
    assert code == 0, err
    header, row = out.splitlines()
    assert header.split()[:4] == ["id", "query", "sources", "every"]
    assert row.split()[:4] == [watch_id, "cats", "pexels", "6h"]
    assert row.split()[-3:] == ["3", "8", "on"]  # new last time, new in all, its state
    assert (await _tuiapp(env, "watch", "pause", watch_id))[0] == 0
    code, out, _ = await _tuiapp(env, "watch", "list", "--json")
    assert json.loads(out)[0]["paused"] is True
    assert (await _tuiapp(env, "watch", "rm", watch_id))[0] == 0
    code, out, err = await _tuiapp(env, "watch", "run", watch_id)
    assert code == 1 and f"no watch {watch_id}" in err


@pytest.mark.usefixtures("responses_conform")
async def test_the_api_adds_lists_changes_runs_and_deletes_watches(
    origin: GrowingOrigin,
    replay: ReplayServer,
    engine_factory: EngineFactory,
    aiohttp_client: AiohttpClient,
) -> None:
    engine = await pexels_engine(engine_factory, replay)
    client = await aiohttp_client(create_app(engine))
    origin.add(1, 2)
    for bad, field in (
        ({"every": "4m"}, "every"),
        ({"every": "6h", "webhook": "gopher://x"}, "webhook"),
        ({"every": "6h", "sources": ["nope"]}, "nope"),
        ({"every": "6h", "hourly": True}, "hourly"),
        ({}, "every"),
    ):
        resp = await client.post(
            "/api/watches", json={"query": "cats", "sources": ["pexels"]} | bad
        )
        assert resp.status == 400, await resp.text()
        assert field in (await resp.json())["error"]["message"]
    assert (await (await client.get("/api/watches")).json()) == {"watches": []}

    body = {"query": "cats", "sources": ["pexels"], "count": 5, "every": "6h"}
    stream = await client.get("/api/events")
    with engine.subscribe() as sub:
        resp = await client.post("/api/watches", json=body)
        assert resp.status == 201, await resp.text()
        watch = await resp.json()
        assert resp.headers["Location"] == watch["href"] == f"/api/watches/{watch['id']}"
        assert (watch["every"], watch["paused"], watch["last_job_href"]) == (21600, False, None)

        resp = await client.post(f"{watch['href']}/run", json={})
        assert resp.status == 202, await resp.text()
        job = await wait_until_finished(client, (await resp.json())["href"])
        assert (job["stored"], job["known"], job["watch_id"]) == (2, 0, watch["id"])
        await engine.watches.record()
        ran = [e for e in _drain(sub) if isinstance(e, WatchRan)]
    assert [(e.watch_id, e.new) for e in ran] == [(watch["id"], 2)]
    # The same event on the API's stream (checked against its schema as it is read).
    streamed = (await events_until(stream, "watch_ran"))[-1].data
    assert (streamed["watch_id"], streamed["new"], streamed["known"]) == (watch["id"], 2, 0)
    stream.close()

    seen = await (await client.get(watch["href"])).json()
    assert (seen["runs"], seen["last_new"], seen["total_new"]) == (1, 2, 2)
    assert seen["last_job_href"] == f"/api/jobs/{job['id']}"
    resp = await client.patch(watch["href"], json={"paused": True, "every": "1d"})
    assert resp.status == 200, await resp.text()
    assert ((changed := await resp.json())["paused"], changed["every"]) == (True, 86400)
    resp = await client.patch(watch["href"], json={"every": "1s"})
    assert resp.status == 400
    assert (await (await client.get(watch["href"])).json())["every"] == 86400  # unchanged
    listed = await (await client.get("/api/watches")).json()
    assert [w["id"] for w in listed["watches"]] == [watch["id"]]
    assert (await client.delete(watch["href"])).status == 204
    assert (await client.get(watch["href"])).status == 404
    assert (await client.post(f"{watch['href']}/run", json={})).status == 404


async def test_another_caller_cannot_see_or_run_a_users_watch(
    engine_factory: EngineFactory, aiohttp_client: AiohttpClient, scripted: Scripted
) -> None:
    from tests.serverkit import bearer

    scripted("fake_a", urls=[])
    engine = await engine_factory()
    _, token = await engine.create_user("alice")
    client = await aiohttp_client(create_app(engine))
    resp = await client.post(
        "/api/watches",
        json={"query": "q", "sources": ["fake_a"], "every": "1h"},
        headers=bearer(token),
    )
    assert resp.status == 201
    href = (await resp.json())["href"]
    assert (await client.get(href)).status == 404  # a guest
    assert (await client.post(f"{href}/run", json={})).status == 404
    assert (await client.get(href, headers=bearer(token))).status == 200


# --- several workers on PostgreSQL ------------------------------------------------------------


async def test_twenty_watches_due_at_once_run_once_each_with_two_workers_and_a_scheduler(
    postgres_url: str,
    replay: ReplayServer,
    engine_factory: EngineFactory,
    start_worker: Callable[[], Awaitable[asyncio.subprocess.Process]],
) -> None:
    """Three schedulers (two workers' and a client's) look every half second; the watches
    become due at the same moment for all three."""
    from tuiapp.engine.runtime import now
    from tuiapp.jobs import JobSpec
    from tuiapp.models import Job
    from tuiapp.watches import WatchSpec

    _catalogue(replay, 100, delay=0.01)
    workers = [await start_worker(), await start_worker()]
    client = await engine_factory(database_url=postgres_url, queue=True, watch_tick=0.5)
    # Saved due in two seconds: the workers' schedulers, already looking, must not see any
    # of them due before they all are.
    due = now() + timedelta(seconds=2)
    for i in range(20):
        job = JobSpec(query=f"topic {i}", sources=("picsum",), count=2, new_only=True)
        await client.storage.create_watch(WatchSpec(job=job, every=3600), None, first_run=due)
    client.watches.scheduler.start()  # the client's scheduler, beside the workers'
    await asyncio.gather(*(client.watches.scheduler.tick() for _ in range(3)))

    async def all_recorded() -> list[WatchInfo]:
        while True:
            watches = await client.watches.list_watches(None)
            if all(w.last_new is not None for w in watches):
                return watches
            await asyncio.sleep(0.25)

    watches = await asyncio.wait_for(all_recorded(), 90)
    assert [w.runs for w in watches] == [1] * 20
    runs = await Job.filter(watch_id__isnull=False).values_list("watch_id", "claims", "state")
    assert sorted(int(str(w)) for w, _, _ in runs) == [w.id for w in watches]  # one job each
    assert {(c, s) for _, c, s in runs} == {(1, "done")}
    assert [(w.last_new, w.total_new) for w in watches] == [(2, 2)] * 20
    assert all(w.returncode is None for w in workers)


async def test_a_watch_run_whose_worker_is_killed_is_taken_over_and_not_doubled(
    postgres_url: str,
    replay: ReplayServer,
    engine_factory: EngineFactory,
    start_worker: Callable[[], Awaitable[asyncio.subprocess.Process]],
) -> None:
    import os
    import signal

    from tests.test_workers import _runner_pid
    from tuiapp.events import AssetStored
    from tuiapp.models import Job

    _catalogue(replay, 60, delay=0.15)
    workers = {(await start_worker()).pid, (await start_worker()).pid}
    client = await engine_factory(database_url=postgres_url, queue=True)
    with client.subscribe() as sub:
        watch = await client.watches.add(
            None, query="slow", sources=["picsum"], count=20, every="1h"
        )
        stored = 0
        while stored < 3:
            event = await asyncio.wait_for(sub.get(), 30)
            stored += isinstance(event, AssetStored)
    seen = await client.watches.get(watch.id, None)
    assert seen.last_job_id is not None
    victim = await _runner_pid(seen.last_job_id)
    assert victim in workers
    os.kill(victim, signal.SIGKILL)
    final = await asyncio.wait_for(client.wait(seen.last_job_id, None), 90)
    assert final.state is JobState.DONE and final.stored == 20

    async def recorded() -> WatchInfo:
        while True:
            w = await client.watches.get(watch.id, None)
            if w.last_new is not None:
                return w
            await asyncio.sleep(0.25)

    done = await asyncio.wait_for(recorded(), 30)
    assert (done.runs, done.last_new, done.total_new) == (1, 20, 20)
    assert await Job.filter(watch_id=watch.id).count() == 1  # the run was not started twice
    assert (await Job.get(id=final.id)).claims == 2  # taken over as jobs are
    assets = await client.list_assets(None, job_id=final.id)
    assert len({a.url for a in assets}) == len(assets) == 20
