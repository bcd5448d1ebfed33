"""A long-running engine holds what it is doing now, not what it has done.

A few hundred small jobs run in-process (a picsum catalogue on a local server, pictures hashed,
subscribers reading and reconnecting as the event stream clients do). Once they have ended, no
job is left in the engine's registries, and its own objects (counted by type) are as many as
after the first jobs: a leak of one object per job would show as hundreds. Memory of the process
(RSS) is the soak benchmark's business (`python -m bench soak`), not a test's.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter
from typing import TYPE_CHECKING

from tests.serverkit import photos, serve_picsum
from tuiapp import events as ev
from tuiapp.jobs import JobSpec, JobState
from tuiapp.live_jobs import Board

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    import pytest

    from tests.replay import ReplayServer
    from tuiapp.engine import Engine, Subscription

WARM_UP = 30
JOBS = 300
AT_ONCE = 3
"""Jobs running side by side."""
SLACK = 3
"""Objects of one type that may differ between two counts (one job's would be hundreds)."""


def _our_objects() -> Counter[str]:
    gc.collect()
    kinds: Counter[str] = Counter()
    for obj in gc.get_objects():
        module = type(obj).__dict__.get("__module__")  # a type's own, not a metaclass's
        if isinstance(module, str) and module.startswith("tuiapp."):
            kinds[f"{module}.{type(obj).__qualname__}"] += 1
    return kinds


async def _run_jobs(engine: Engine, first: int, count: int) -> None:
    for start in range(first, first + count, AT_ONCE):
        jobs = [
            await engine.submit(JobSpec(query=f"steady {n}", sources=("picsum",), count=3))
            for n in range(start, start + AT_ONCE)
        ]
        for job in jobs:
            final = await engine.wait(job.id, None)
            assert final.state is JobState.DONE, final
            assert final.sources[0].stored == 3


async def _reconnecting(engine: Engine, stop: asyncio.Event) -> None:
    """Read a few events, go away, come back: as a browser's event stream does."""
    while not stop.is_set():
        with engine.subscribe(all_owners=True) as sub:
            for _ in range(25):
                if await sub.get() is None:
                    return


async def _drain(sub: Subscription) -> None:
    async for _ in sub:
        pass


async def test_after_hundreds_of_jobs_the_engine_holds_none_of_them(
    replay: ReplayServer, engine_factory: Callable[..., Awaitable[Engine]]
) -> None:
    serve_picsum(replay, photos(90))
    engine = await engine_factory(base_urls={"picsum": replay.url()}, near_duplicates=True)
    listener = engine.subscribe(all_owners=True)
    reading = asyncio.create_task(_drain(listener))
    stop = asyncio.Event()
    reconnecting = [asyncio.create_task(_reconnecting(engine, stop)) for _ in range(2)]

    await _run_jobs(engine, 0, WARM_UP)
    await asyncio.sleep(0.1)
    before, tasks_before = _our_objects(), len(asyncio.all_tasks())

    await _run_jobs(engine, WARM_UP, JOBS)
    await asyncio.sleep(0.1)
    after, tasks_after = _our_objects(), len(asyncio.all_tasks())

    runtime = engine.runtime
    assert runtime.runs == {}
    assert not runtime.cleanups
    hasher = runtime.hasher
    assert hasher is not None
    assert not hasher._waiting and not hasher._asked
    # The reader has read everything: no event and no progress key of an ended job waits.
    assert not listener._queue and not listener._pending
    assert engine.bus.subscriber_count == 1 + len(reconnecting)
    grown = {kind: after[kind] - before[kind] for kind in after if after[kind] > before[kind]}
    assert all(n <= SLACK for n in grown.values()), f"grew over {JOBS} jobs: {grown}"
    assert tasks_after <= tasks_before + SLACK

    stop.set()
    listener.close()
    engine.bus.close()
    await asyncio.gather(reading, *reconnecting)
    assert engine.bus.subscriber_count == 0


def test_the_board_keeps_running_jobs_and_the_newest_finished_ones_only() -> None:
    board = Board(keep_finished=5)
    for job_id in range(1, 301):
        board.apply(
            ev.JobSubmitted(job_id=job_id, owner_id=None, query="q", sources=("a",), count=3)
        )
        if job_id == 3:
            board.current = 3  # the one on screen stays, however old
        if job_id != 100:  # still running
            board.apply(
                ev.JobFinished(
                    job_id=job_id, owner_id=None, state=JobState.DONE, stored=3, failed=0, bytes=1,
                    elapsed=0.1,
                )
            )  # fmt: skip
        assert len(board.jobs) <= 5 + 2
    assert list(board.jobs) == [3, 100, 296, 297, 298, 299, 300]


async def test_a_footer_rebuilt_again_and_again_keeps_only_the_keys_it_shows(
    tmp_path: Path,
) -> None:
    """Textual's footer rebuilds its keys whenever the bindings are refreshed (on the Board,
    at every job); the keys it replaced must go, not stay watched by the footer."""
    from textual.widgets._footer import FooterKey

    from tests.tui_helpers import fake_engine, make_app
    from tuiapp.widgets.footer import AppFooter

    app = make_app(fake_engine(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        footer = app.screen.query_one(AppFooter)
        for _ in range(40):
            app.screen.refresh_bindings()  # what a focus change or a job's end does
            await pilot.pause()
        shown = len(footer.query(FooterKey))
        watched = sum(len(entries) for entries in getattr(footer, "__watchers", {}).values())
        gc.collect()
        alive = sum(1 for o in gc.get_objects() if type(o) is FooterKey and not o.is_attached)
    assert shown > 0
    assert watched <= shown
    # Keys replaced by the last rebuilds may wait for the next repaint; not 40 rebuilds' worth.
    assert alive <= 4 * shown


async def test_textual_styles_caches_of_gone_widgets_are_let_go(tmp_path: Path) -> None:
    """Textual keeps up to 1,024 widgets' styles caches in an lru_cache (drawn lines included);
    the app empties it now and then so the Board's replaced panes do not stay drawn."""
    from textual._styles_cache import StylesCache

    from tests.tui_helpers import fake_engine, make_app
    from tuiapp.widgets import caches

    app = make_app(fake_engine(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        for key in ("f3", "f4", "f2", "f3", "f4", "f2"):  # screens drawn, left, drawn again
            await pilot.press(key)
            await pilot.pause()
        for _ in range(20):
            app.screen.refresh_bindings()  # the footer's keys made anew each time
            await pilot.pause()
        assert StylesCache.get_inner_outer.cache_info().currsize > 0
        gc.collect()
        before = sum(1 for o in gc.get_objects() if type(o) is StylesCache)
        caches.forget_render_caches()
        gc.collect()
        after = sum(1 for o in gc.get_objects() if type(o) is StylesCache)
        assert StylesCache.get_inner_outer.cache_info().currsize == 0
        assert after < before


async def test_toast_holders_left_empty_by_the_toast_rack_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A toast whose notification expired before its own timer fired is removed by the toast
    rack at the next toast, without its holder; the app's tidying removes such holders (one
    toast a finished job left a holder behind every few jobs)."""
    import textual.notifications
    from textual.widgets._toast import ToastHolder

    from tests.tui_helpers import fake_engine, make_app
    from tuiapp.widgets import caches

    # Textual's clock for notifications, moved on by hand. A notification's start was read from
    # the real clock, so the n-th is given 10 s more to live than the one before: each toast is
    # shown for 5 s of this clock, and has expired once the clock has moved on 10 s.
    ahead = [0.0]
    monkeypatch.setattr(textual.notifications, "time", lambda: time.time() + ahead[0])
    app = make_app(fake_engine(tmp_path))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        app.clear_notifications()
        await pilot.pause()
        for i in range(5):
            app.notify(f"job {i} done", timeout=5 + ahead[0])
            await pilot.pause()
            ahead[0] += 10  # expired for the rack; the toast's own timer has not fired
        await pilot.pause()
        holders = list(app.screen.query(ToastHolder))
        empty = [h for h in holders if not h.children]
        assert len(holders) == 5
        assert len(empty) == 4  # the rack removed the expired toasts and kept their holders
        assert caches.drop_empty_toast_holders(app) == 4
        await pilot.pause()
        left = list(app.screen.query(ToastHolder))
        assert left == [holders[-1]]
        assert len(left[0].children) == 1  # the last toast, still showing
        assert caches.drop_empty_toast_holders(app) == 0


async def test_the_app_tidies_on_a_timer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.tui_helpers import fake_engine, make_app
    from tuiapp.widgets import caches

    tidied: list[object] = []
    monkeypatch.setattr(caches, "EVERY", 0.05)
    monkeypatch.setattr(caches, "tidy", tidied.append)
    app = make_app(fake_engine(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        assert tidied
        assert all(seen is app for seen in tidied)
