"""The engine: concurrency cap, the three time limits, cancel, errors kept per item and source."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from tests.fake_sources import Script
from tests.images import png
from tests.replay import ReplayServer, Reply, Sequence, stall_after_headers, stream
from tuiapp.engine import Engine
from tuiapp.events import (
    Event,
    ItemFailed,
    JobFinished,
    SourceFinished,
    SourceNotice,
    TransferProgress,
)
from tuiapp.jobs import JobSpec, JobState, SourceState

if TYPE_CHECKING:
    import pytest

    from tuiapp.bus import Subscription

EngineFactory = Callable[..., Awaitable[Engine]]
Scripted = Callable[..., Script]


def _images(replay: ReplayServer, n: int, prefix: str = "/img") -> list[str]:
    for i in range(n):
        replay.add(
            f"{prefix}/{i}.png", Reply(png(seed=hash(prefix) % 1000 + i), content_type="image/png")
        )
    return [replay.url(f"{prefix}/{i}.png") for i in range(n)]


async def test_sources_run_in_parallel_up_to_the_cap(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    urls = _images(replay, 2)
    scripts = [scripted(f"fake_{c}", urls=urls, delay=0.15) for c in "abcde"]
    engine = await engine_factory(max_concurrent_sources=2)
    job = await engine.submit(
        JobSpec(query="q", sources=tuple(f"fake_{c}" for c in "abcde"), count=2)
    )
    final = await engine.wait(job.id, None)
    assert final.state is JobState.DONE
    assert [s.stored for s in final.sources] == [2] * 5
    assert max(s.max_active for s in scripts) == 2


async def test_a_search_slower_than_source_timeout_ends_that_source_timed_out_keeping_what_it_stored(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    scripted("fake_slow", urls=_images(replay, 1), hang_after=True)
    scripted("fake_fast", urls=_images(replay, 2, "/fast"))
    engine = await engine_factory(source_timeout=0.5)
    started = time.monotonic()
    job = await engine.submit(JobSpec(query="q", sources=("fake_slow", "fake_fast"), count=2))
    final = await engine.wait(job.id, None)
    assert time.monotonic() - started < 5
    slow, fast = final.sources
    assert slow.state is SourceState.TIMED_OUT
    assert slow.stored == 1
    assert "SOURCE_TIMEOUT" in (slow.error or "")
    assert fast.state is SourceState.DONE and fast.stored == 2
    assert final.state is JobState.PARTIAL  # one source was cut short


async def test_a_moving_transfer_outlives_source_timeout(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    """SOURCE_TIMEOUT limits searching, not a download that keeps sending bytes."""
    body = png(64, 64, seed=7)
    replay.add("/slow.png", stream(20, body[:100] * 1, "image/png", delay=0.1))
    scripted("fake_a", urls=[replay.url("/slow.png")], expect="any")
    engine = await engine_factory(source_timeout=0.5, request_timeout=1.0)
    job = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=1))
    final = await engine.wait(job.id, None)
    assert final.sources[0].state is SourceState.DONE, final.sources[0].error
    assert final.stored == 1
    assert final.bytes == 2000


async def test_a_stalled_transfer_is_abandoned_after_request_timeout(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    replay.add("/stall.png", stall_after_headers())
    scripted("fake_a", urls=[replay.url("/stall.png")])
    engine = await engine_factory(request_timeout=0.5)
    with engine.subscribe() as sub:
        started = time.monotonic()
        job = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=1))
        final = await engine.wait(job.id, None)
        elapsed = time.monotonic() - started
        events = [e async for e in _drain(sub)]
    assert elapsed < 5
    failures = [e for e in events if isinstance(e, ItemFailed)]
    assert [f.error_code for f in failures] == ["stalled"]
    assert final.sources[0].state is SourceState.FAILED
    assert final.state is JobState.FAILED
    report = await engine.integrity_report()
    assert report["partial_blobs"] == 0 and report["orphan_chunks"] == 0


async def test_the_job_budget_ends_the_job_timed_out_keeping_stored_files_and_dropping_partial_ones(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    quick = _images(replay, 1)
    # A large, slow transfer: several chunks reach the database before the budget runs out.
    replay.add(
        "/big.bin",
        stream(400, b"\x89PNG\r\n\x1a\n" + b"x" * (64 * 1024 - 8), "image/png", delay=0.005),
    )
    scripted("fake_a", urls=[*quick, replay.url("/big.bin")], expect="image")
    engine = await engine_factory(global_job_timeout=1.0, downloads_per_source=1)
    job = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=2))
    final = await engine.wait(job.id, None)
    assert final.state is JobState.TIMED_OUT
    assert "GLOBAL_JOB_TIMEOUT" in (final.error or "")
    assert final.sources[0].state is SourceState.TIMED_OUT
    assert final.stored == 1
    await asyncio.sleep(0.2)  # let the partial blob's clean-up run
    report = await engine.integrity_report()
    assert report == {
        "bad_blobs": [],
        "orphan_chunks": 0,
        "partial_blobs": 0,
        "integrity_check": "ok",
    }


async def test_cancel_stops_the_downloads_and_leaves_no_partial_file(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    replay.add(
        "/big.bin",
        stream(400, b"\x89PNG\r\n\x1a\n" + b"y" * (64 * 1024 - 8), "image/png", delay=0.01),
    )
    scripted("fake_a", urls=[replay.url("/big.bin")])
    engine = await engine_factory()
    with engine.subscribe() as sub:
        job = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=1))
        events = []
        async for event in sub:  # wait until 2 MiB went through, then cancel
            events.append(event)
            if isinstance(event, TransferProgress) and event.downloaded > 2 * 1024 * 1024:
                break
        await engine.cancel(job.id, None)
        final = await engine.wait(job.id, None)
        events += [e async for e in _drain(sub)]
    assert final.state is JobState.CANCELLED
    assert final.sources[0].state is SourceState.CANCELLED
    assert final.stored == 0
    assert isinstance(events[-1], JobFinished) and events[-1].state == "cancelled"
    await asyncio.sleep(0.2)
    report = await engine.integrity_report()
    assert report["partial_blobs"] == 0 and report["orphan_chunks"] == 0


async def test_cancelling_one_source_lets_the_others_finish(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    scripted("fake_hang", urls=[], hang_after=True)
    scripted("fake_ok", urls=_images(replay, 2), delay=0.3)
    engine = await engine_factory()
    job = await engine.submit(JobSpec(query="q", sources=("fake_hang", "fake_ok"), count=2))
    await asyncio.sleep(0.1)
    await engine.cancel(job.id, None, source="fake_hang")
    final = await engine.wait(job.id, None)
    hang, ok = final.sources
    assert hang.state is SourceState.CANCELLED
    assert ok.state is SourceState.DONE and ok.stored == 2
    assert final.state is JobState.PARTIAL  # one source was cut short by the user


async def test_per_item_errors_are_recorded_and_more_items_are_pulled_to_reach_the_count(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    good = _images(replay, 3)
    replay.add("/html.png", Reply(b"<!DOCTYPE html><html>blocked</html>", content_type="image/png"))
    replay.add("/gone.png", Reply(b"no", status=404))
    scripted("fake_a", urls=[replay.url("/html.png"), replay.url("/gone.png"), *good])
    engine = await engine_factory(downloads_per_source=1)
    with engine.subscribe() as sub:
        job = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=3))
        final = await engine.wait(job.id, None)
        events = [e async for e in _drain(sub)]
    failed = {e.url.rsplit("/", 1)[-1]: e for e in events if isinstance(e, ItemFailed)}
    assert failed["html.png"].error_code == "content_rejected"
    assert "text/html" in failed["html.png"].error or "<!DOCTYPE" in failed["html.png"].error
    assert failed["gone.png"].error_code == "http_status"
    assert len(replay.hits("/gone.png")) == 1  # 404 is never retried
    assert final.sources[0].stored == 3 and final.sources[0].failed == 2
    assert final.state is JobState.DONE


async def test_a_source_error_is_recorded_on_that_source_only(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    from tuiapp.errors import BlockedError

    scripted("fake_blocked", urls=[], error=BlockedError("blocked by captcha at /sorry"))
    scripted("fake_ok", urls=_images(replay, 1))
    engine = await engine_factory()
    with engine.subscribe() as sub:
        job = await engine.submit(JobSpec(query="q", sources=("fake_blocked", "fake_ok"), count=1))
        final = await engine.wait(job.id, None)
        events = [e async for e in _drain(sub)]
    blocked = final.sources[0]
    assert blocked.state is SourceState.BLOCKED
    assert blocked.error_code == "blocked" and "captcha" in (blocked.error or "")
    assert final.sources[1].stored == 1
    finished = [e for e in events if isinstance(e, SourceFinished)]
    assert {e.source: e.state for e in finished} == {"fake_blocked": "blocked", "fake_ok": "done"}


async def test_a_source_needing_a_key_fails_clearly_without_one_and_is_never_called(
    engine_factory: EngineFactory, scripted: Scripted
) -> None:
    script = scripted(
        "fake_keyed", urls=["http://127.0.0.1:9/never.png"], key_setting="PEXELS_API_KEY"
    )
    engine = await engine_factory()
    job = await engine.submit(JobSpec(query="q", sources=("fake_keyed",), count=1))
    final = await engine.wait(job.id, None)
    assert final.sources[0].state is SourceState.FAILED
    assert final.sources[0].error == "set PEXELS_API_KEY to use this source"
    assert script.calls == 0
    assert final.stored == 0


async def test_429_with_retry_after_is_retried(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    image = png(seed=3)
    replay.add(
        "/busy.png",
        Sequence(
            [
                Reply(b"slow down", status=429, headers={"Retry-After": "1"}),
                Reply(image, content_type="image/png"),
            ]
        ),
    )
    scripted("fake_a", urls=[replay.url("/busy.png")])
    engine = await engine_factory()
    started = time.monotonic()
    job = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=1))
    final = await engine.wait(job.id, None)
    assert final.stored == 1
    assert len(replay.hits("/busy.png")) == 2
    assert time.monotonic() - started >= 1.0
    (asset,) = await engine.list_assets(None, job_id=job.id)
    _, chunks = await engine.read_asset(asset.id, None)
    assert b"".join([c async for c in chunks]) == image


async def test_events_of_a_job_come_in_lifecycle_order(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    scripted("fake_a", urls=_images(replay, 2))
    engine = await engine_factory()
    with engine.subscribe() as sub:
        job = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=2))
        await engine.wait(job.id, None)
        kinds = [e.kind async for e in _drain(sub) if e.coalesce_key is None]
    assert kinds[:3] == ["job_submitted", "job_started", "source_started"]
    assert kinds.count("asset_stored") == 2
    assert kinds[-2:] == ["source_finished", "job_finished"]


async def test_rerun_makes_a_new_job_with_the_same_spec(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    scripted("fake_a", urls=_images(replay, 1))
    engine = await engine_factory()
    first = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=1))
    await engine.wait(first.id, None)
    again = await engine.rerun(first.id, None)
    final = await engine.wait(again.id, None)
    assert again.id != first.id and final.rerun_of == first.id
    assert final.spec == (await engine.get_job(first.id, None)).spec
    assert final.stored == 1
    # The same bytes again: a second asset, but no second blob.
    assets = await engine.list_assets(None)
    assert len(assets) == 2 and assets[0].sha256 == assets[1].sha256


async def test_a_slow_subscriber_never_stalls_the_job(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    scripted("fake_a", urls=_images(replay, 20))
    engine = await engine_factory()
    with engine.subscribe(max_backlog=5) as laggard:  # never read
        job = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=20))
        final = await asyncio.wait_for(engine.wait(job.id, None), 10)
    assert final.stored == 20
    assert laggard.overflowed


async def _drain(sub: Subscription) -> AsyncIterator[Event]:
    """The events waiting in ``sub`` now (the job is over: nothing more is coming)."""
    while (event := sub.get_nowait()) is not None:
        yield event


async def test_what_a_source_tells_the_user_becomes_an_event(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    scripted("fake_a", urls=_images(replay, 1), notice="rate limit: 49 of 50 requests left")
    engine = await engine_factory()
    with engine.subscribe() as sub:
        job = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=1))
        await engine.wait(job.id, None)
        notices = [e for e in [e async for e in _drain(sub)] if isinstance(e, SourceNotice)]
    assert [(n.source, n.message) for n in notices] == [
        ("fake_a", "rate limit: 49 of 50 requests left")
    ]


async def test_cancelling_every_source_one_by_one_cancels_the_job(
    engine_factory: EngineFactory, scripted: Scripted
) -> None:
    scripted("fake_hang", urls=[], hang_after=True)
    engine = await engine_factory(global_job_timeout=42.0)
    job = await engine.submit(JobSpec(query="q", sources=("fake_hang",), count=1))
    await asyncio.sleep(0.1)
    await engine.cancel(job.id, None, source="fake_hang")
    final = await engine.wait(job.id, None)
    assert final.state is JobState.CANCELLED
    assert final.timeout == 42.0


async def test_jobs_are_found_by_words_of_their_query_sources_state_or_id(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    scripted("fake_a", urls=_images(replay, 1))
    engine = await engine_factory()
    for query in ("red panda", "blue whale", "Red fox"):
        job = await engine.submit(JobSpec(query=query, sources=("fake_a",), count=1))
        await engine.wait(job.id, None)
    found = await engine.list_jobs(None, text="red")
    assert [j.query for j in found] == ["Red fox", "red panda"]
    assert [j.query for j in await engine.list_jobs(None, text="FOX red")] == ["Red fox"]
    assert [j.query for j in await engine.list_jobs(None, text="red fake_a done")] == [
        "Red fox",
        "red panda",
    ]
    assert await engine.list_jobs(None, text="red fake_b") == []
    assert [j.query for j in await engine.list_jobs(None, text=str(found[1].id))] == ["red panda"]
    assert await engine.list_jobs(None, text="99999999999999999999") == []
    assert await engine.list_jobs(None, text="d_p") == [], "_ is a letter, not a LIKE wildcard"
    assert await engine.list_jobs(None, text="%") == []


async def test_a_source_repeating_itself_without_awaiting_never_freezes_the_process(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    scripted("fake_a", urls=_images(replay, 1), repeat_forever=True)
    engine = await engine_factory()
    lags: list[float] = []

    async def heartbeat() -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - started)

    beat = asyncio.create_task(heartbeat())
    job = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=5000))
    final = await asyncio.wait_for(engine.wait(job.id, None), 60)
    beat.cancel()
    assert final.state is JobState.DONE
    assert final.stored == 1  # one distinct file; the repeats were given up on
    assert max(lags) < 0.2


async def test_a_job_is_done_partial_or_failed_by_what_its_sources_achieved(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    urls = _images(replay, 2)
    scripted("fake_ok", urls=urls)
    scripted("fake_broken", urls=[], error=RuntimeError("the page changed"))
    scripted("fake_empty", urls=[])
    engine = await engine_factory()

    async def outcome(*sources: str) -> JobState:
        job = await engine.submit(JobSpec(query="q", sources=sources, count=2))
        return (await engine.wait(job.id, None)).state

    assert await outcome("fake_ok") is JobState.DONE
    assert await outcome("fake_ok", "fake_broken") is JobState.PARTIAL
    assert await outcome("fake_broken", "fake_empty") is JobState.FAILED
    assert await outcome("fake_empty") is JobState.DONE  # nothing found, nothing went wrong


async def test_a_source_whose_host_refuses_connections_ends_offline_after_three_files(
    engine_factory: EngineFactory,
) -> None:
    """Issue 12's dead host: no retry per file, and the source gives up on the host."""
    engine = await engine_factory(
        base_urls={"robohash": "http://127.0.0.1:9"}, retries=5, retry_base_delay=1.0
    )
    job = await engine.submit(JobSpec(query="x", sources=("robohash",), count=2))
    final = await engine.wait(job.id, None)
    source = final.sources[0]
    assert final.state is JobState.FAILED
    assert source.error_code == "offline"
    assert source.error == "cannot reach 127.0.0.1 (connection refused)"
    assert 3 <= source.failed <= 2 + 2  # three in a row, at most the count in flight beside


async def test_a_search_blocked_on_a_later_page_still_stores_what_it_found_before(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    from tuiapp.errors import BlockedError

    scripted("fake_a", urls=_images(replay, 3), error=BlockedError("captcha on page 2"))
    engine = await engine_factory()
    job = await engine.submit(JobSpec(query="q", sources=("fake_a",), count=10))
    final = await engine.wait(job.id, None)
    source = final.sources[0]
    assert (source.found, source.stored) == (3, 3)
    assert source.state is SourceState.BLOCKED and source.error == "captcha on page 2"
    assert final.state is JobState.PARTIAL


async def test_data_nested_too_deeply_is_a_format_change_not_a_crash(
    engine_factory: EngineFactory, scripted: Scripted, caplog: pytest.LogCaptureFixture
) -> None:
    scripted("fake_deep", urls=[], error=RecursionError("maximum recursion depth exceeded"))
    engine = await engine_factory()
    job = await engine.submit(JobSpec(query="q", sources=("fake_deep",), count=1))
    final = await engine.wait(job.id, None)
    assert final.sources[0].error_code == "format_changed"
    assert "nested too deeply" in (final.sources[0].error or "")
    assert "crashed" not in caplog.text


async def test_a_listing_with_a_zero_width_is_a_format_change_not_a_crash(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    from tests.replay import json_reply

    replay.add(
        "/v2/list", json_reply([{"id": "1", "width": 0, "height": 10, "url": "u", "author": "a"}])
    )
    engine = await engine_factory(base_urls={"picsum": replay.url()})
    job = await engine.submit(JobSpec(query="q", sources=("picsum",), count=1))
    final = await engine.wait(job.id, None)
    assert final.sources[0].error_code == "format_changed", final.sources[0]
