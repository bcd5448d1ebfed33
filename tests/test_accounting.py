"""Exact accounting: however a job ends, its figures, its events and its database agree.

A cut (cancel or GLOBAL_JOB_TIMEOUT) often lands while small files are being committed in
batches: each of those files either counts (and is announced before JobFinished) or is not there.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from tests.images import png
from tuiapp.engine import Engine
from tuiapp.events import AssetStored, Event, JobFinished
from tuiapp.jobs import JobSpec, JobState

if TYPE_CHECKING:
    from tests.fake_sources import Script
    from tests.replay import ReplayServer

EngineFactory = Callable[..., Awaitable[Engine]]
FILES = 400
HELD = 150
"""Files a gated source serves before its gate opens."""


@functools.cache
def _picture(i: int) -> bytes:
    return png(8, 8, seed=10_000 + i)


def _urls(replay: ReplayServer, prefix: str, gate: asyncio.Event | None = None) -> list[str]:
    """The source's files; with ``gate``, only its first HELD files come before the gate opens
    (what a test cuts then is certainly cut while files commit, never after they all landed)."""
    offset = 0 if prefix == "/a" else FILES  # each source its own pictures
    served = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal served
        served += 1
        if gate is not None and served > HELD:
            await gate.wait()
        i = int(request.path.rsplit("/", 1)[-1].split(".")[0])
        return web.Response(body=_picture(offset + i), content_type="image/png")

    replay.add(f"{prefix}/*", handler)
    return [replay.url(f"{prefix}/{i}.png") for i in range(FILES)]


async def _check_agreement(engine: Engine, job_id: int, events: list[Event]) -> JobFinished:
    final = await engine.get_job(job_id, None)
    assets = await engine.list_assets(None, job_id=job_id, limit=10_000)
    finished = [e for e in events if isinstance(e, JobFinished)]
    assert len(finished) == 1
    end = finished[0]
    assert events[-1] is end, "nothing is announced after JobFinished"
    announced = [e for e in events if isinstance(e, AssetStored)]
    by_source: dict[str, list[int]] = {}
    for asset in assets:
        by_source.setdefault(asset.source, []).append(asset.size)
    for src in final.sources:
        sizes = by_source.get(src.source, [])
        assert src.stored == len(sizes), f"{src.source}: counted {src.stored}, has {len(sizes)}"
        assert src.bytes == sum(sizes)
    assert end.stored == final.stored == len(assets) == len(announced)
    assert end.bytes == final.bytes == sum(a.size for a in assets)
    assert sorted(e.asset_id for e in announced) == sorted(a.id for a in assets)
    assert final.finished_at is not None
    assert all(a.created_at <= final.finished_at for a in assets)
    return end


@pytest.mark.parametrize("round_", range(4))
async def test_a_cancel_while_files_commit_leaves_figures_that_match_the_database(
    replay: ReplayServer,
    engine_factory: EngineFactory,
    scripted: Callable[..., Script],
    round_: int,
) -> None:
    gate = asyncio.Event()  # opened by the cancel: the files past HELD come only after it
    scripted("fake_a", urls=_urls(replay, "/a", gate))
    scripted("fake_b", urls=_urls(replay, "/b", gate))
    engine = await engine_factory(downloads_per_source=8)
    events: list[Event] = []
    with engine.subscribe() as sub:
        job = await engine.submit(JobSpec(query="q", sources=("fake_a", "fake_b"), count=FILES))
        stored = 0
        async for event in sub:
            events.append(event)
            if isinstance(event, AssetStored):
                stored += 1
                if stored == 40 + 25 * round_:
                    await engine.cancel(job.id, None)
                    gate.set()
            if isinstance(event, JobFinished):
                break
    end = await _check_agreement(engine, job.id, events)
    assert end.state == JobState.CANCELLED.value
    assert end.stored < 2 * FILES


@pytest.mark.parametrize("budget", [0.4, 0.6, 0.8, 1.0])
async def test_the_job_budget_cutting_file_commits_leaves_figures_that_match_the_database(
    replay: ReplayServer,
    engine_factory: EngineFactory,
    scripted: Callable[..., Script],
    budget: float,
) -> None:
    scripted("fake_a", urls=_urls(replay, "/a"))
    scripted("fake_b", urls=_urls(replay, "/b"))
    engine = await engine_factory(global_job_timeout=budget, downloads_per_source=8)
    events: list[Event] = []
    with engine.subscribe() as sub:
        job = await engine.submit(JobSpec(query="q", sources=("fake_a", "fake_b"), count=FILES))
        async for event in sub:
            events.append(event)
            if isinstance(event, JobFinished):
                break
    end = await _check_agreement(engine, job.id, events)
    assert end.state in (JobState.TIMED_OUT.value, JobState.DONE.value)
