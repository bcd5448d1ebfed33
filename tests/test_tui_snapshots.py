"""Snapshots of the main screens at 80x24 and 120x40, with frozen data, clock and time zone."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from tests.images import png
from tests.tui_helpers import fake_engine, make_app, wait_until
from tuiapp.jobs import JobState, SourceState
from tuiapp.screens import (
    AssetViewScreen,
    BoardScreen,
    HelpModal,
    HistoryScreen,
    JobDetailScreen,
)
from tuiapp.widgets import ImagePreview, SourcePane

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from textual.pilot import Pilot

    from tests.fakes import FakeEngine


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """History shows local times: pin the zone so the snapshots do not depend on the machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def busy_job(engine: FakeEngine) -> None:
    engine.add_job("northern lights", ("picsum", "robohash", "openverse", "wikimedia"))
    engine.start(1)
    engine.progress(1, "picsum", found=12, stored=9, failed=1, size=4_200_000, speed=850_000)
    engine.progress(1, "robohash", found=4, stored=4, size=310_000, speed=0.0)
    engine.finish_source(1, "robohash", SourceState.DONE)
    engine.finish_source(
        1,
        "openverse",
        SourceState.BLOCKED,
        error="a captcha page came back\nfrom https://openverse.test/challenge",
        code="blocked",
    )


async def show_board(pilot: Pilot[None]) -> None:
    app = pilot.app
    engine: FakeEngine = app.engine  # type: ignore[attr-defined]
    busy_job(engine)
    await wait_until(pilot, lambda: 1 in app.board.jobs, what="job")  # type: ignore[attr-defined]
    await pilot.press("f3")
    await wait_until(
        pilot,
        lambda: (
            isinstance(app.screen, BoardScreen)
            and len(app.screen.query(SourcePane)) == 4
            and all(
                p.view is not None and p.view.state != "queued"
                for p in app.screen.query(SourcePane)
                if p.source_name != "wikimedia"
            )
        ),
        what="panes",
    )
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_new_job_screen(
    snap_compare: Callable[..., bool], tmp_path: Path, size: tuple[int, int]
) -> None:
    app = make_app(fake_engine(tmp_path))
    assert snap_compare(app, press=[*"mountains", "tab", "space"], terminal_size=size)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_board(snap_compare: Callable[..., bool], tmp_path: Path, size: tuple[int, int]) -> None:
    from tests.fakes import DEFAULT_SOURCES, FakeEngine, source_info

    engine = FakeEngine(
        fake_engine(tmp_path).settings, (*DEFAULT_SOURCES, source_info("wikimedia", "image_search"))
    )
    app = make_app(engine)
    assert snap_compare(app, terminal_size=size, run_before=show_board)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_history(snap_compare: Callable[..., bool], tmp_path: Path, size: tuple[int, int]) -> None:
    engine = fake_engine(tmp_path)
    engine.add_job("red cars", ("picsum",), state=JobState.DONE, announce=False)
    engine.add_job("blue boats", ("robohash", "picsum"), state=JobState.FAILED, announce=False)
    engine.add_job("green trees", ("picsum",), state=JobState.CANCELLED, announce=False)
    engine.add_job(
        "zebra crossing at dusk",
        ("picsum", "robohash", "openverse", "wikimedia"),
        state=JobState.PARTIAL,
        announce=False,
    )
    app = make_app(engine)

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen), what="history")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_job_detail(
    snap_compare: Callable[..., bool], tmp_path: Path, size: tuple[int, int]
) -> None:
    from tests.fakes import DEFAULT_SOURCES, FakeEngine, source_info

    engine = FakeEngine(
        fake_engine(tmp_path).settings, (*DEFAULT_SOURCES, source_info("wikimedia", "image_search"))
    )
    busy_job(engine)
    engine.store(1, "picsum", png(48, 32, seed=3), title="Aurora", width=48, height=32)
    engine.finish_source(
        1,
        "picsum",
        SourceState.FAILED,
        error="cannot reach picsum.photos (refused)",
        code="offline",
    )
    engine.finish_source(1, "wikimedia", SourceState.DONE)
    engine.finish_job(1, JobState.PARTIAL)
    app = make_app(engine)

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        pilot.app.push_screen(JobDetailScreen(1))
        await wait_until(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, JobDetailScreen) and pilot.app.screen.job is not None
            ),
            what="detail",
        )
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_file_view(snap_compare: Callable[..., bool], tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    engine.add_job("cats", ("picsum",), announce=False)
    engine.store(
        1,
        "picsum",
        png(48, 32, seed=3),
        title="Cat one",
        width=48,
        height=32,
        author="Ann",
        license="CC0",
    )
    app = make_app(engine)

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        pilot.app.push_screen(AssetViewScreen([1]))
        await wait_until(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, AssetViewScreen)
                and any(p.image is not None for p in pilot.app.screen.query(ImagePreview))
            ),
            what="preview",
        )
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_board_of_a_job_that_ran_out(snap_compare: Callable[..., bool], tmp_path: Path) -> None:
    """Two sources, one of which found only 3: "only 3 found", the bar at 100 %, panes wide."""
    engine = fake_engine(tmp_path)
    app = make_app(engine)

    async def run_before(pilot: Pilot[None]) -> None:
        tui = pilot.app
        await pilot.pause()
        engine.add_job("cats", ("picsum", "robohash"), count=30)
        engine.start(1)
        engine.progress(1, "picsum", found=3, stored=3, size=30_000)
        engine.finish_source(1, "picsum", SourceState.DONE)
        engine.progress(1, "robohash", found=30, stored=30, size=300_000)
        engine.finish_source(1, "robohash", SourceState.DONE)
        engine.finish_job(1, JobState.DONE)
        await wait_until(pilot, lambda: 1 in tui.board.jobs, what="job")  # type: ignore[attr-defined]
        await pilot.press("f3")
        await wait_until(pilot, lambda: len(tui.screen.query(SourcePane)) == 2, what="panes")
        await pilot.pause(0.3)
        tui.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(120, 24), run_before=run_before)


def test_help_from_the_board(snap_compare: Callable[..., bool], tmp_path: Path) -> None:
    """`?` on the Board: how to close it, then the Board's keys first."""
    app = make_app(fake_engine(tmp_path))

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        await pilot.press("f3", "question_mark")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HelpModal), what="help")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
