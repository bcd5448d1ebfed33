"""Fault drills: a hostile server misbehaves in every way; nothing stored is ever corrupt.

After each drill: every stored blob's sha256 matches its bytes, no chunk is orphaned, no partial
blob is left, SQLite's integrity_check is ok, and the job says what happened to each file.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from tests import hostile
from tests.images import png
from tests.replay import Handler, ReplayServer, Reply, Sequence, stall_after_headers
from tuiapp.events import AssetStored, ItemFailed
from tuiapp.jobs import JobSpec

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tests.fake_sources import Script
    from tuiapp.engine import Engine

CLEAN = {"bad_blobs": [], "orphan_chunks": 0, "partial_blobs": 0, "integrity_check": "ok"}

DRILLS: dict[str, tuple[Handler, str]] = {
    # name: (handler, what the job must say about that file: an error code, or "stored")
    "500s": (hostile.always(500), "http_status"),
    "503 then fine": (
        Sequence([hostile.always(503), Reply(png(seed=1), content_type="image/png")]),
        "stored",
    ),
    "429 with Retry-After": (
        Sequence(
            [
                Reply(b"", status=429, headers={"Retry-After": "1"}),
                Reply(png(seed=2), content_type="image/png"),
            ]
        ),
        "stored",
    ),
    "truncated body": (hostile.truncated(), "network"),
    "stalled after headers": (stall_after_headers(), "stalled"),
    "slow drip": (hostile.slow_drip(png(64, 64, seed=3), 0.02), "stored"),
    "wrong content type": (
        Reply(b"<!doctype html><title>Sign in</title>", content_type="image/png"),
        "content_rejected",
    ),
    "redirect loop": (hostile.redirect_loop("/drill/redirect-loop.png"), "network"),
    "endless body": (hostile.endless(), "too_large"),
    "reset mid-body": (hostile.reset_mid_body(), "network"),
    "reset before the answer": (hostile.reset_before_answer(), "network"),
}


def _path(name: str) -> str:
    return "/drill/" + name.replace(" ", "-").replace("'", "") + ".png"


@pytest.mark.parametrize("name", list(DRILLS))
async def test_each_misbehaviour_is_reported_and_leaves_the_database_clean(
    name: str,
    replay: ReplayServer,
    engine_factory: Callable[..., Awaitable[Engine]],
    scripted: Callable[..., Script],
) -> None:
    handler, outcome = DRILLS[name]
    replay.add(_path(name), handler)
    replay.add("/good.png", Reply(png(seed=99), content_type="image/png"))
    scripted("fake_a", urls=[replay.url(_path(name)), replay.url("/good.png")])
    engine = await engine_factory(request_timeout=0.5, max_file_size=3_000_000, retries=2)
    with engine.subscribe() as sub:
        job = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=2))
        final = await asyncio.wait_for(engine.wait(job.id, None), 30)
        events = []
        while (event := sub.get_nowait()) is not None:
            events.append(event)
    stored = {e.url for e in events if isinstance(e, AssetStored)}
    failed = {e.url: e.error_code for e in events if isinstance(e, ItemFailed)}
    target = replay.url(_path(name))
    assert replay.url("/good.png") in stored  # one bad file never spoils the others
    if outcome == "stored":
        assert target in stored and final.stored == 2
    else:
        assert failed == {target: outcome}
        assert final.sources[0].failed == 1 and final.stored == 1
    assert final.state.value == "done"
    await asyncio.sleep(0.1)  # clean-ups of cancelled writes
    assert await engine.integrity_report() == CLEAN


async def test_all_misbehaviours_at_once_in_one_job(
    replay: ReplayServer,
    engine_factory: Callable[..., Awaitable[Engine]],
    scripted: Callable[..., Script],
) -> None:
    urls = []
    for name, (handler, _) in DRILLS.items():
        replay.add(_path(name), handler)
        urls.append(replay.url(_path(name)))
    for i in range(10):
        replay.add(f"/ok/{i}.png", Reply(png(seed=200 + i), content_type="image/png"))
        urls.append(replay.url(f"/ok/{i}.png"))
    scripted("fake_a", urls=urls)
    engine = await engine_factory(request_timeout=0.5, max_file_size=3_000_000, retries=2)
    job = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=len(urls)))
    final = await asyncio.wait_for(engine.wait(job.id, None), 60)
    expected_stored = 10 + sum(1 for _, outcome in DRILLS.values() if outcome == "stored")
    assert final.stored == expected_stored
    assert final.sources[0].failed == len(urls) - expected_stored
    assert len(await engine.list_assets(None, job_id=job.id)) == expected_stored
    await asyncio.sleep(0.1)
    assert await engine.integrity_report() == CLEAN
