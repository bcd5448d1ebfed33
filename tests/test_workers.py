"""Several workers sharing one PostgreSQL job queue: each job runs once; a dead worker's job is
finished by another; every client sees every job's events (skipped without PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from tests.images import jpeg
from tuiapp.events import AssetStored, JobFinished
from tuiapp.jobs import JobSpec, JobState

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    from aiohttp.test_utils import TestClient

    from tests.postgres import PostgresControl
    from tests.replay import ReplayServer
    from tuiapp.engine import Engine
    from tuiapp.jobs import JobInfo

CLEAN = {"bad_blobs": [], "orphan_chunks": 0, "partial_blobs": 0, "integrity_check": "ok"}


def _catalogue(replay: ReplayServer, n: int, delay: float) -> None:
    items = [
        {"id": str(i), "author": "a", "width": 1000, "height": 500, "url": "u"} for i in range(n)
    ]
    images = {i: jpeg(seed=i) for i in range(n)}

    async def listing(request: web.Request) -> web.StreamResponse:
        page, limit = int(request.query["page"]), int(request.query["limit"])
        return web.json_response(items[(page - 1) * limit : page * limit])

    async def image(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(delay)
        return web.Response(body=images[int(request.path.split("/")[2])], content_type="image/jpeg")

    replay.add("/v2/list", listing)
    replay.add("/id/*", image)


async def _started(client: Engine, spec: JobSpec, stored: int) -> JobInfo:
    """Submit ``spec`` and wait until a worker has stored ``stored`` of its files."""
    with client.subscribe() as sub:
        job = await client.submit(spec)
        done = 0
        while done < stored:
            event = await asyncio.wait_for(sub.get(), 30)
            done += isinstance(event, AssetStored) and event.job_id == job.id
    return job


async def _runner_pid(job_id: int) -> int:
    """The process id of the worker that holds the job now."""
    from tuiapp.models import Job

    row = await Job.get(id=job_id)
    assert row.runner is not None
    return int(row.runner.rsplit(":", 1)[1])


@pytest.fixture
async def start_worker(
    postgres_url: str, replay: ReplayServer, tmp_path: Path
) -> AsyncIterator[Callable[[], Awaitable[asyncio.subprocess.Process]]]:
    procs: list[asyncio.subprocess.Process] = []

    async def start() -> asyncio.subprocess.Process:
        env = {
            **os.environ,
            "TUIAPP_DATABASE_URL": postgres_url,
            "TUIAPP_PICSUM_BASE_URL": replay.url(),
            "TUIAPP_DATA_DIR": str(tmp_path / f"worker{len(procs)}"),
            "TUIAPP_ENV_FILE": str(tmp_path / ".env"),
            "TUIAPP_LEASE_SECONDS": "2",
            "TUIAPP_WORKER_JOBS": "2",
            "TUIAPP_DOWNLOADS_PER_SOURCE": "2",
            "TUIAPP_WATCH_TICK": "0.5",
        }
        (tmp_path / ".env").write_text("")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.worker_main", env=env, stdout=asyncio.subprocess.PIPE
        )
        assert proc.stdout is not None
        assert await asyncio.wait_for(proc.stdout.readline(), 30) == b"ready\n"
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()


async def test_two_workers_run_twenty_jobs_each_exactly_once_and_clients_see_them_live(
    postgres_url: str,
    replay: ReplayServer,
    engine_factory: Callable[..., Awaitable[Engine]],
    start_worker: Callable[[], Awaitable[asyncio.subprocess.Process]],
) -> None:
    from tuiapp.models import Job

    _catalogue(replay, 900, delay=0.01)
    workers = [await start_worker(), await start_worker()]
    client = await engine_factory(database_url=postgres_url, queue=True)
    with client.subscribe() as sub:
        jobs = [
            await client.submit(JobSpec(query=f"query {i}", sources=("picsum",), count=3))
            for i in range(20)
        ]
        finals = await asyncio.wait_for(
            asyncio.gather(*(client.wait(j.id, None) for j in jobs)), 120
        )
        await asyncio.sleep(0.5)  # the last relayed events
        events = []
        while (event := sub.get_nowait()) is not None:
            events.append(event)
    assert [f.state for f in finals] == [JobState.DONE] * 20
    assert [f.stored for f in finals] == [3] * 20
    assert await Job.filter(claims=1).count() == 20  # claimed once each: never run twice
    for job in jobs:
        assets = await client.list_assets(None, job_id=job.id)
        assert len({a.url for a in assets}) == len(assets) == 3
    finished = {e.job_id for e in events if isinstance(e, JobFinished)}
    assert finished == {j.id for j in jobs}  # events of jobs run elsewhere reached this client
    assert sum(isinstance(e, AssetStored) for e in events) == 60
    assert all(w.returncode is None for w in workers)
    assert await client.integrity_report() == CLEAN


async def test_a_job_of_a_worker_killed_mid_job_is_finished_by_the_other(
    postgres_url: str,
    replay: ReplayServer,
    engine_factory: Callable[..., Awaitable[Engine]],
    start_worker: Callable[[], Awaitable[asyncio.subprocess.Process]],
) -> None:
    from tuiapp.models import Job

    _catalogue(replay, 60, delay=0.15)
    workers = {(await start_worker()).pid, (await start_worker()).pid}
    client = await engine_factory(database_url=postgres_url, queue=True)
    job = await _started(client, JobSpec(query="slow", sources=("picsum",), count=30), 4)
    victim = await _runner_pid(job.id)
    assert victim in workers
    os.kill(victim, signal.SIGKILL)
    final = await asyncio.wait_for(client.wait(job.id, None), 90)
    assert final.state is JobState.DONE, final
    row = await Job.get(id=job.id)
    assert row.claims == 2
    assets = await client.list_assets(None, job_id=job.id)
    assert len(assets) == final.stored == 30
    assert len({a.url for a in assets}) == 30  # nothing stored twice by the two workers
    # The survivor's counters went on from the database, not from zero.
    assert final.bytes == sum(a.size for a in assets)
    assert final.sources[0].found >= 30
    await asyncio.sleep(1.5)  # the survivor sweeps the dead worker's half-written files
    assert await client.integrity_report() == CLEAN


async def test_a_worker_frozen_past_its_lease_adds_nothing_after_waking_and_drops_the_job(
    postgres_url: str,
    replay: ReplayServer,
    engine_factory: Callable[..., Awaitable[Engine]],
    start_worker: Callable[[], Awaitable[asyncio.subprocess.Process]],
) -> None:
    """SIGSTOP stands for a VM pause, a long GC or a suspended laptop: the worker wakes holding
    downloads of a job another worker has taken over, and must not store them."""
    from tuiapp.models import Job

    _catalogue(replay, 60, delay=0.3)
    workers = {(await start_worker()).pid, (await start_worker()).pid}
    client = await engine_factory(database_url=postgres_url, queue=True)
    job = await _started(client, JobSpec(query="slow", sources=("picsum",), count=20), 3)
    frozen = await _runner_pid(job.id)
    assert frozen in workers
    os.kill(frozen, signal.SIGSTOP)
    try:
        await asyncio.sleep(0.35)  # its downloads under way finish on the network meanwhile
        for _ in range(150):  # the lease (2 s) runs out: another worker takes the job over
            if (await Job.get(id=job.id)).claims >= 2:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)
    finally:
        os.kill(frozen, signal.SIGCONT)
    final = await asyncio.wait_for(client.wait(job.id, None), 90)
    await asyncio.sleep(2.0)  # the woken worker has had every chance to write
    assert final.state is JobState.DONE, final
    assets = await client.list_assets(None, job_id=job.id)
    assert len({a.url for a in assets}) == len(assets) == final.stored == 20
    assert final.bytes == sum(a.size for a in assets)
    row = await Job.get(id=job.id)
    assert row.claims >= 2 and row.state == "done"  # more under heavy load: still no duplicate
    assert await client.integrity_report() == CLEAN


async def test_after_a_database_restart_events_and_cancels_cross_processes_again(
    postgres_url: str,
    replay: ReplayServer,
    engine_factory: Callable[..., Awaitable[Engine]],
    start_worker: Callable[[], Awaitable[asyncio.subprocess.Process]],
    postgres_control: PostgresControl,
) -> None:
    """Each process listens on a connection of its own: after a restart it is made again, so
    another worker's events reach this client and a one-source cancel reaches the worker."""
    _catalogue(replay, 400, delay=0.2)
    await start_worker()
    client = await engine_factory(database_url=postgres_url, queue=True)
    assert client.events_live is True
    with client.subscribe() as sub:
        job = await client.submit(JobSpec(query="long", sources=("picsum",), count=400))
        stored = 0
        while stored < 2:
            event = await asyncio.wait_for(sub.get(), 30)
            stored += isinstance(event, AssetStored) and event.job_id == job.id
        await asyncio.to_thread(postgres_control.restart)
        back = asyncio.get_running_loop().time()
        for _ in range(100):  # the listener notices the loss and connects again
            if client.events_live:
                break
            await asyncio.sleep(0.05)
        assert client.events_live is True
        # Events may have been lost meanwhile: the subscription was cut off, to be made anew.
        while sub.get_nowait() is not None:
            pass
        assert await sub.get() is None
        assert sub.overflowed and "may have been lost" in (sub.cut_reason or "")
    with client.subscribe() as sub:
        event = await asyncio.wait_for(sub.get(), 10)  # the worker's events flow again
        assert event is not None and event.job_id == job.id
        assert asyncio.get_running_loop().time() - back < 5
    await client.cancel(job.id, None, source="picsum")
    final = await asyncio.wait_for(client.wait(job.id, None), 10)
    assert final.sources[0].state.value == "cancelled", final
    assert final.stored < 400


async def test_a_database_outage_mid_job_loses_no_downloaded_file_and_the_api_says_503(
    postgres_url: str,
    replay: ReplayServer,
    engine_factory: Callable[..., Awaitable[Engine]],
    start_worker: Callable[[], Awaitable[asyncio.subprocess.Process]],
    postgres_control: PostgresControl,
    aiohttp_client: Callable[..., Awaitable[TestClient[web.Request, web.Application]]],
) -> None:
    """Files finished while the database is away wait and are committed when it returns; no
    lease is taken over from a worker that was only waiting; the API answers 503 meanwhile."""
    from tuiapp.models import Job
    from tuiapp.server import create_app

    _catalogue(replay, 40, delay=0.1)
    await start_worker()
    await start_worker()
    client = await engine_factory(database_url=postgres_url, queue=True)
    api = await aiohttp_client(create_app(client))
    job = await _started(client, JobSpec(query="steady", sources=("picsum",), count=30), 3)
    await asyncio.to_thread(postgres_control.stop)
    try:
        resp = await api.get("/api/jobs")
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "5"
        assert (await resp.json())["error"]["code"] == "unavailable"
        await asyncio.sleep(4)  # twice the lease: downloads go on, commits wait
    finally:
        await asyncio.to_thread(postgres_control.start)
    final = await asyncio.wait_for(client.wait(job.id, None), 90)
    assert final.state is JobState.DONE, final
    assets = await client.list_assets(None, job_id=job.id)
    assert len({a.url for a in assets}) == len(assets) == final.stored == 30
    assert final.failed == 0  # nothing downloaded was thrown away
    assert (await Job.get(id=job.id)).claims == 1  # its worker kept it through the outage
