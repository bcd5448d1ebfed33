"""Hostile bodies against a whole job: a compression bomb and endless bodies.

Each leaves the database small (refused bytes give their space back) and the job ends within
a few seconds of its budget, clean-up included (issue 11's disk amplification).
"""

from __future__ import annotations

import asyncio
import gzip
import time
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from tuiapp.jobs import JobSpec, JobState

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from tests.fake_sources import Script
    from tests.replay import ReplayServer
    from tuiapp.engine import Engine

PNG_HEAD = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
MB = 1_000_000


def _endless(chunk: bytes) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "image/png"})
        await resp.prepare(request)
        await resp.write(PNG_HEAD)
        for _ in range(100_000):  # bounded: ~6.5 GB, far more than any test reads
            await resp.write(chunk)
        return resp

    return handler


def _db_size(tmp_path: Path) -> int:
    return sum(p.stat().st_size for p in (tmp_path / "data").glob("tuiapp.db*"))


@pytest.mark.slow
async def test_endless_bodies_cut_by_the_budget_leave_a_small_database_and_end_on_time(
    replay: ReplayServer,
    engine_factory: Callable[..., Awaitable[Engine]],
    scripted: Callable[..., Script],
    tmp_path: Path,
) -> None:
    replay.add("/endless/*", _endless(b"\x01" * 65_536))
    scripted("fake_a", urls=[replay.url(f"/endless/{i}.png") for i in range(8)])
    budget = 3.0
    engine = await engine_factory(
        global_job_timeout=budget, max_image_size=60 * MB, downloads_per_source=8
    )
    started = time.monotonic()
    job = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=8))
    final = await engine.wait(job.id, None)
    elapsed = time.monotonic() - started
    assert final.state in (JobState.TIMED_OUT, JobState.FAILED), final
    assert final.stored == 0
    assert elapsed < budget + 5, elapsed
    await engine.storage._db.conn().execute_script("PRAGMA wal_checkpoint(TRUNCATE)")
    assert _db_size(tmp_path) < 150 * MB
    report = await engine.integrity_report()
    assert report["partial_blobs"] == 0 and report["orphan_chunks"] == 0


async def test_a_compression_bomb_in_a_job_is_refused_and_leaves_nothing(
    replay: ReplayServer,
    engine_factory: Callable[..., Awaitable[Engine]],
    scripted: Callable[..., Script],
    tmp_path: Path,
) -> None:
    bomb = gzip.compress(PNG_HEAD + b"\x00" * 300 * MB, 9)  # ~300 KB on the wire

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=bomb, headers={"Content-Encoding": "gzip"}, content_type="image/png"
        )

    replay.add("/bomb.png", handler)
    scripted("fake_a", urls=[replay.url("/bomb.png")])
    engine = await engine_factory()
    job = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=1))
    final = await asyncio.wait_for(engine.wait(job.id, None), 60)
    assert final.state is JobState.FAILED and final.stored == 0
    assert final.sources[0].failed == 1
    await engine.storage._db.conn().execute_script("PRAGMA wal_checkpoint(TRUNCATE)")
    assert _db_size(tmp_path) < 150 * MB
