"""The terminal UI driven by keys against a scripted fake engine: every screen and key path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from textual.geometry import Region
from textual.widgets import Checkbox, DataTable, Input, Label, Static

from tests.images import png
from tests.tui_helpers import FROZEN_NOW, fake_engine, make_app, wait_until
from tuiapp import events as ev
from tuiapp.jobs import JobState, SourceState
from tuiapp.live_jobs import Board, SourceView
from tuiapp.messages import EngineEvent
from tuiapp.screens import (
    AssetViewScreen,
    BoardScreen,
    ConfirmModal,
    ExportModal,
    HelpModal,
    HistoryScreen,
    JobDetailScreen,
    NewJobScreen,
)
from tuiapp.widgets import ImagePreview, JobBar, SourcePane, SourcePicker

if TYPE_CHECKING:
    from pathlib import Path

    from textual.message import Message
    from textual.pilot import Pilot
    from textual.widget import Widget

    from tests.fakes import FakeEngine
    from tuiapp.app import TuiApp
    from tuiapp.engine import Engine


@pytest.fixture(autouse=True)
def own_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An app built without ``prefs_path`` (as the CLI builds it) reads and writes here."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def panes(app: TuiApp) -> dict[str, SourcePane]:
    return {p.source_name: p for p in app.screen.query(SourcePane)}


def widget_text(widget: Widget) -> str:
    """What a widget shows on screen, as plain text lines."""
    width, height = widget.size
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, width, height)))


def pane_text(pane: SourcePane) -> str:
    return str(pane.render())


def notes(app: TuiApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def start_job_by_keys(pilot: Pilot[None], query: str, ticks: int = 1) -> None:
    """Type the query, tick the first ``ticks`` sources, go back to the query and press Enter."""
    await pilot.press(*query, "tab")
    for i in range(ticks):
        await pilot.press("space")
        if i < ticks - 1:
            await pilot.press("down")
    await pilot.press("shift+tab", "enter")


# --- the bridge and the board ---------------------------------------------------------------


def every_kind_of_event(job_id: int) -> list[ev.Event]:
    """One event of each kind, for job ``job_id``, in the order a job's life sends them."""
    events: list[ev.Event] = [
        ev.JobSubmitted(query="q", sources=("a",), count=3, job_id=job_id, owner_id=None),
        ev.JobStarted(timeout=9.0, job_id=job_id, owner_id=None),
        ev.SourceStarted(source="a", state=SourceState.SEARCHING, job_id=job_id, owner_id=None),
        ev.SourceProgress(
            source="a",
            state=SourceState.DOWNLOADING,
            found=1,
            stored=0,
            failed=0,
            bytes=5,
            speed=1.0,
            job_id=job_id,
            owner_id=None,
        ),
        ev.TransferProgress(
            source="a", item="u", downloaded=1, total=2, job_id=job_id, owner_id=None
        ),
        ev.SourceNotice(source="a", message="49 of 50 left", job_id=job_id, owner_id=None),
        ev.AssetStored(
            source="a",
            asset_id=1,
            url="u",
            title=None,
            mime="image/png",
            size=3,
            sha256="0",
            deduplicated=False,
            job_id=job_id,
            owner_id=None,
        ),
        ev.ItemFailed(
            source="a", url="u", error="bad", error_code="x", job_id=job_id, owner_id=None
        ),
        ev.SourceFinished(
            source="a",
            state=SourceState.FAILED,
            found=1,
            stored=0,
            failed=1,
            bytes=0,
            error="boom",
            error_code="x",
            job_id=job_id,
            owner_id=None,
        ),
        ev.JobFinished(
            state=JobState.DONE,
            stored=0,
            failed=1,
            bytes=0,
            elapsed=1.0,
            job_id=job_id,
            owner_id=None,
        ),
        ev.WatchRan(watch_id=1, state="done", new=0, known=0, job_id=job_id, owner_id=None),
        ev.JobDeleted(job_id=job_id, owner_id=None),
    ]
    assert {type(e) for e in events} == set(ev.EVENT_TYPES.values())
    return events


async def test_every_engine_event_reaches_the_app_as_it_is(tmp_path: Path) -> None:
    """No second vocabulary: the app gets the engine's own event objects, in order."""
    engine = fake_engine(tmp_path)
    seen: list[ev.Event] = []

    def hook(message: Message) -> None:
        if isinstance(message, EngineEvent):
            seen.append(message.event)

    app = make_app(engine)
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await pilot.pause()
        sent = every_kind_of_event(4)
        for event in sent:
            engine.push(event)
            await pilot.pause()  # one at a time: none is coalesced away
        await wait_until(pilot, lambda: len(seen) == len(sent), what="every event")
        assert all(got is want for got, want in zip(seen, sent, strict=True))


def test_progress_replaces_progress_but_never_a_lifecycle_event() -> None:
    def progress(source: str, found: int) -> EngineEvent:
        return EngineEvent(
            ev.SourceProgress(
                source=source,
                state=SourceState.DOWNLOADING,
                found=found,
                stored=0,
                failed=0,
                bytes=0,
                speed=0.0,
                job_id=1,
                owner_id=None,
            )
        )

    def transfer(item: str) -> EngineEvent:
        return EngineEvent(
            ev.TransferProgress(
                source="a", item=item, downloaded=1, total=9, job_id=1, owner_id=None
            )
        )

    finished = EngineEvent(
        ev.SourceFinished(
            source="a",
            state=SourceState.FAILED,
            found=2,
            stored=1,
            failed=1,
            bytes=20,
            error="boom",
            error_code="x",
            job_id=1,
            owner_id=None,
        )
    )
    assert progress("a", 1).can_replace(progress("a", 2))
    assert not progress("a", 1).can_replace(progress("b", 2))
    assert not finished.can_replace(progress("a", 3)), "progress must not swallow the end state"
    assert not progress("a", 1).can_replace(finished)
    assert transfer("u1").can_replace(transfer("u1"))
    assert not transfer("u1").can_replace(transfer("u2"))


def test_board_keeps_a_sources_error_and_totals() -> None:
    board = Board(default_timeout=60.0)
    assert board.apply(
        ev.JobSubmitted(query="q", sources=("a", "b"), count=5, job_id=1, owner_id=None)
    )
    board.apply(ev.JobStarted(timeout=60.0, ts=1000.0, job_id=1, owner_id=None))
    board.apply(
        ev.SourceStarted(
            source="a", state=SourceState.SEARCHING, ts=1000.0, job_id=1, owner_id=None
        )
    )
    assert not board.apply(
        ev.SourceProgress(
            source="a",
            state=SourceState.DOWNLOADING,
            found=3,
            stored=2,
            failed=0,
            bytes=2048,
            speed=100.0,
            ts=1010.0,
            job_id=1,
            owner_id=None,
        )
    )
    assert not board.apply(
        ev.ItemFailed(
            source="b",
            url="http://x/y.png",
            error="HTTP 404",
            error_code="http",
            job_id=1,
            owner_id=None,
        )
    )
    assert board.apply(
        ev.SourceFinished(
            source="b",
            state=SourceState.FAILED,
            found=1,
            stored=0,
            failed=1,
            bytes=0,
            error="blocked",
            error_code="blocked",
            job_id=1,
            owner_id=None,
        )
    )
    job = board.jobs[1]
    # 2 of 5 stored in 10 s: 3 more at 5 s each.
    assert job.sources["a"] == SourceView(
        "a", SourceState.DOWNLOADING, 3, 2, 0, 2048, 100.0, target=5, started_at=1000.0, eta=15.0
    )
    assert job.sources["b"].error == "blocked"
    assert job.sources["b"].error_code == "blocked"
    assert job.sources["b"].last_item_error == "y.png: HTTP 404"
    assert job.totals() == (2, 1, 2048)
    assert job.elapsed_at(1012.5) == 12.5
    board.apply(
        ev.JobFinished(
            state=JobState.DONE,
            stored=2,
            failed=1,
            bytes=2048,
            elapsed=14.0,
            job_id=1,
            owner_id=None,
        )
    )
    assert not job.finished  # a view is a value: the board holds the next one
    job = board.jobs[1]
    assert job.finished
    assert job.elapsed_at(99999.0) == 14.0


def test_the_board_follows_a_whole_job_life_and_forgets_a_deleted_job() -> None:
    board = Board(default_timeout=60.0)
    changed = [board.apply(event) for event in every_kind_of_event(4)]
    # Progress, a file in flight, a failed file and a notice are not changes of a job's life.
    # A recorded watch run is told as a change too (the job it names may be on the Board).
    assert changed == [True, True, True, False, False, False, True, False, True, True, True, True]
    assert 4 not in board.jobs


# --- new job ------------------------------------------------------------------------------


async def test_typing_a_query_ticking_a_source_and_enter_starts_the_job(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    seen: list[Message] = []
    app = make_app(engine)
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        assert isinstance(app.screen, NewJobScreen)
        await start_job_by_keys(pilot, "cats", ticks=2)
        await wait_until(pilot, lambda: isinstance(app.screen, BoardScreen), what="board")
        assert engine.calls == [("submit", "cats", ("picsum", "robohash"), 10)]
        assert app.board.current == 1
        assert any(
            isinstance(m, EngineEvent) and isinstance(m.event, ev.JobSubmitted) for m in seen
        )
        await wait_until(pilot, lambda: set(panes(app)) == {"picsum", "robohash"}, what="panes")


async def test_the_count_field_sets_files_per_source(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"owls", "tab", "space", "tab", "backspace", "backspace", "3", "enter")
        await wait_until(pilot, lambda: bool(engine.calls), what="submit")
        assert engine.calls == [("submit", "owls", ("picsum",), 3)]


async def test_a_url_preselects_the_source_that_takes_it(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        picker = app.screen.query_one(SourcePicker)
        picker.set_selected(["robohash"])
        await pilot.press(*"https://picsum.photos/id/5/200/300")
        await pilot.pause()
        assert picker.selected == ("picsum",)
        assert "goes to picsum" in str(app.screen.query_one("#route", Label).render())
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(engine.calls), what="submit")
        assert engine.calls[0][2] == ("picsum",)


async def test_start_asks_the_engine_to_route_a_url_when_nothing_is_ticked(
    tmp_path: Path,
) -> None:
    engine = fake_engine(tmp_path)
    engine.url_routes["https://owls.test/"] = "openverse"
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        picker = app.screen.query_one(SourcePicker)
        await pilot.press(*"https://owls.test/a")
        await pilot.pause()
        picker.set_selected([])  # the hint ticked openverse; the user unticked it
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(engine.calls), what="submit")
        # The query goes as given, nothing ticked: the engine routes it.
        assert engine.calls == [("submit", "https://owls.test/a", (), 10)]
        assert [s.source for s in engine.jobs[1].sources] == ["openverse"]


async def test_sources_without_their_key_are_marked_and_cannot_be_ticked(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)):
        picker = app.screen.query_one(SourcePicker)
        prompt = str(picker.get_option("pexels").prompt)
        assert "set PEXELS_API_KEY" in prompt
        assert picker.get_option("pexels").disabled
        picker.toggle("pexels")
        assert picker.selected == ()
        headings = [str(o.prompt) for o in picker.options if o.id is None]
        assert headings == ["Image generators", "Image search"]


async def test_a_source_that_is_not_ready_says_what_it_lacks_and_can_still_be_ticked(
    tmp_path: Path,
) -> None:
    from dataclasses import replace

    from tests.fakes import DEFAULT_SOURCES, FakeEngine, source_info

    vimeo = replace(
        source_info("vimeo", "video"),
        ready=False,
        missing=("TUIAPP_SOURCE_VIMEO__COOKIES is not set",),
    )
    engine = FakeEngine(fake_engine(tmp_path).settings, (*DEFAULT_SOURCES, vimeo))
    app = make_app(engine)
    async with app.run_test(size=(120, 40)):
        picker = app.screen.query_one(SourcePicker)
        prompt = str(picker.get_option("vimeo").prompt)
        assert "not ready: TUIAPP_SOURCE_VIMEO__COOKIES is not set" in prompt
        picker.toggle("vimeo")
        assert picker.selected == ("vimeo",)


async def test_a_job_the_engine_refuses_shows_its_sentence_and_starts_nothing(
    tmp_path: Path,
) -> None:
    engine = fake_engine(tmp_path)  # the fake has no default sources for search words
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"cats", "enter")
        await wait_until(pilot, lambda: bool(notes(app)), what="a toast")
        assert engine.calls == [("submit", "cats", (), 10)]
        assert engine.jobs == {}
        assert notes(app) == ["Cannot start: pick at least one source (see `tuiapp sources`)"]
        assert isinstance(app.screen.focused, SourcePicker)


# --- board ----------------------------------------------------------------------------


async def follow_running_job(pilot: Pilot[None], app: TuiApp, engine: FakeEngine) -> None:
    engine.add_job("cats", ("picsum", "robohash", "openverse"))
    engine.start(1)
    await wait_until(pilot, lambda: 1 in app.board.jobs, what="job on the board")
    app.follow_job(1)
    await wait_until(pilot, lambda: len(panes(app)) == 3, what="three panes")


async def test_panes_show_state_counters_bytes_and_errors_in_words(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await follow_running_job(pilot, app, engine)
        engine.progress(1, "picsum", found=7, stored=4, failed=1, size=2_500_000, speed=512_000)
        engine.finish_source(
            1,
            "robohash",
            SourceState.BLOCKED,
            error="a captcha page came back\nfrom https://robohash.test/captcha",
            code="blocked",
        )
        engine.finish_source(
            1, "openverse", SourceState.TIMED_OUT, error="SOURCE_TIMEOUT (30 s)", code="timed_out"
        )
        await wait_until(pilot, lambda: panes(app)["picsum"].view.stored == 4, what="progress")  # type: ignore[union-attr]
        await pilot.pause(0.3)
        p = panes(app)
        lines = pane_text(p["picsum"]).splitlines()
        assert lines[0] == "stored 4 of 10 · 1 failed"
        assert lines[1].startswith("━") and "─" in lines[1]
        assert lines[1].endswith(" 40% · found 7")
        # 4 files in the 5 s since the source started: 6 more take 7.5 s, shown rounded up.
        assert lines[2] == "2.5 MB · 512.0 kB/s · ETA 00:08"
        assert p["picsum"].border_subtitle == "downloading"
        assert p["picsum"].has_class("-active")
        # The error's label, then the first line of its cause; never the rest of the text.
        blocked = pane_text(p["robohash"]).splitlines()
        assert blocked[3].startswith("blocked")
        assert blocked[4] == "a captcha page came back"
        assert p["robohash"].border_subtitle == "blocked"
        assert p["robohash"].has_class("-failed")
        assert p["openverse"].border_subtitle == "timed out"
        assert pane_text(p["openverse"]).splitlines()[3].startswith("timed out")
        bar = str(app.screen.query_one(JobBar).render()).splitlines()
        assert bar[0].startswith("Job 1 “cats” running · 4 of 30 stored · 1 failed")
        # Overall: files stored of what was asked, 4 of 30; failed sources are not "complete".
        assert bar[1].startswith("Progress ━")
        assert bar[1].endswith(" 13%  time 00:05 of 01:00")


async def test_c_cancels_the_focused_source_and_x_the_whole_job(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    seen: list[Message] = []
    app = make_app(engine)
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        await follow_running_job(pilot, app, engine)
        await wait_until(pilot, lambda: isinstance(app.screen.focused, SourcePane), what="focus")
        await pilot.press("tab")
        focused = app.screen.focused
        assert isinstance(focused, SourcePane)
        assert focused.source_name == "robohash"
        await pilot.press("c")
        await wait_until(pilot, lambda: ("cancel", 1, "robohash") in engine.calls, what="cancel")
        assert any(
            isinstance(m, SourcePane.CancelRequested) and m.source == "robohash" for m in seen
        )
        await wait_until(
            pilot, lambda: panes(app)["robohash"].border_subtitle == "cancelled", what="state"
        )
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="question")
        await pilot.press("n")  # no: nothing is cancelled
        await pilot.pause(0.2)
        assert ("cancel", 1, None) not in engine.calls
        assert not app.board.jobs[1].finished
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="question")
        await pilot.press("y")
        await wait_until(pilot, lambda: ("cancel", 1, None) in engine.calls, what="cancel job")
        await wait_until(pilot, lambda: app.board.jobs[1].state == "cancelled", what="ended")
        assert any("Job 1 cancelled" in n for n in notes(app))


async def test_seventeen_busy_sources_are_coalesced_and_end_exact(tmp_path: Path) -> None:
    """A flood of progress reaches the app coalesced, and panes end on the last numbers."""
    engine = fake_engine(tmp_path)
    names = tuple(f"s{i:02d}" for i in range(17))
    updates: list[ev.SourceProgress] = []
    app = make_app(engine)

    def hook(message: Message) -> None:
        if isinstance(message, EngineEvent) and isinstance(message.event, ev.SourceProgress):
            updates.append(message.event)

    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        engine.add_job("flood", names)
        engine.start(1)
        await wait_until(pilot, lambda: 1 in app.board.jobs, what="job")
        app.follow_job(1)
        await wait_until(pilot, lambda: len(panes(app)) == 17, what="17 panes")
        pushed = 0
        for step in range(1, 101):
            for name in names:
                engine.progress(1, name, found=step, stored=step, size=step * 1000, speed=1e6)
                pushed += 1
            if step % 25 == 0:
                await pilot.pause()
        await wait_until(
            pilot,
            lambda: all(p.view is not None and p.view.stored == 100 for p in panes(app).values()),
            what="final counters",
        )
        assert len(updates) < pushed / 4, (
            f"{len(updates)} of {pushed} progress updates reached the UI"
        )


async def test_an_idle_board_follows_a_job_submitted_elsewhere(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        assert "No job yet" in str(app.screen.query_one(JobBar).render())
        engine.add_job("from the API", ("picsum",))  # as the HTTP API would
        await wait_until(pilot, lambda: set(panes(app)) == {"picsum"}, what="pane")
        assert "from the API" in str(app.screen.query_one(JobBar).render())


# --- history ------------------------------------------------------------------------------


def history_ids(app: TuiApp) -> list[str]:
    table = app.screen.query_one("#jobs", DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


async def test_history_lists_jobs_live_filters_and_opens_details(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    engine.add_job("red cars", ("picsum",), state=JobState.DONE, announce=False)
    engine.add_job("blue boats", ("robohash",), state=JobState.FAILED, announce=False)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen), what="history")
        await wait_until(pilot, lambda: history_ids(app) == ["2", "1"], what="rows")
        engine.add_job("green trees", ("picsum",))  # submitted through the HTTP API
        await wait_until(pilot, lambda: history_ids(app) == ["3", "2", "1"], what="live row")
        await pilot.press("slash", *"robo")
        await wait_until(pilot, lambda: history_ids(app) == ["2"], what="filtered")
        await pilot.press("enter")  # back to the table
        assert isinstance(app.screen.focused, DataTable)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail")
        assert isinstance(app.screen, JobDetailScreen)
        assert app.screen.job_id == 2


async def test_the_filter_asks_the_engine_so_jobs_past_the_loaded_ones_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tuiapp.screens.history.HISTORY_LIMIT", 2)
    # A pause longer than any gap between the pilot's keystrokes on a loaded machine: the engine
    # is asked once the typing stops, for the whole text.
    monkeypatch.setattr("tuiapp.screens.history.FILTER_PAUSE", 1.0)
    engine = fake_engine(tmp_path)
    engine.add_job("old otters", ("picsum",), state=JobState.DONE, announce=False)
    for query in ("red cars", "blue boats", "green trees"):
        engine.add_job(query, ("robohash",), state=JobState.DONE, announce=False)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await wait_until(pilot, lambda: history_ids(app) == ["4", "3"], what="newest rows")
        await pilot.press("slash", *"otters")
        await wait_until(
            pilot,
            lambda: history_ids(app) == ["1"] and engine.job_searches[-1:] == ["otters"],
            what="an older job found by the whole text",
        )
        assert "o" not in engine.job_searches, "each keystroke does not ask the engine"
        for _ in "otters":
            await pilot.press("backspace")
        await wait_until(pilot, lambda: history_ids(app) == ["4", "3"], what="filter cleared")


async def test_r_reruns_the_selected_job(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    engine.add_job("red cars", ("picsum",), state=JobState.DONE, announce=False)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await wait_until(pilot, lambda: history_ids(app) == ["1"], what="rows")
        await pilot.press("r")
        await wait_until(pilot, lambda: ("rerun", 1) in engine.calls, what="rerun")
        await wait_until(pilot, lambda: isinstance(app.screen, BoardScreen), what="follow")
        assert app.board.current == 2
        assert engine.jobs[2].rerun_of == 1


async def test_d_deletes_only_after_yes(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    engine.add_job("red cars", ("picsum",), state=JobState.DONE, announce=False)
    engine.add_job("blue boats", ("picsum",), state=JobState.DONE, announce=False)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await wait_until(pilot, lambda: history_ids(app) == ["2", "1"], what="rows")
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="question")
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        assert ("delete", 2) not in engine.calls
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="question")
        await pilot.press("y")
        await wait_until(pilot, lambda: history_ids(app) == ["1"], what="row gone")
        assert ("delete", 2) in engine.calls


# --- job detail, file view, export --------------------------------------------------------


def stored_job(engine: FakeEngine) -> None:
    engine.add_job("cats", ("picsum",), announce=False)
    engine.store(
        1,
        "picsum",
        png(40, 30, seed=1),
        title="Cat one",
        width=40,
        height=30,
        author="Ann",
        license="CC0",
    )
    engine.store(
        1,
        "picsum",
        png(30, 40, seed=2),
        title="Cat two",
        width=30,
        height=40,
        author="Bo",
        license="CC BY 4.0",
    )
    engine.store(1, "picsum", b"\x00\x00\x00\x18ftypmp42", title="A clip", mime="video/mp4")
    engine.finish_job(1)


async def test_job_detail_lists_files_with_size_dimensions_author_licence(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    stored_job(engine)
    app = make_app(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.show_job(1)
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, JobDetailScreen) and len(app.screen.assets) == 3,
            what="assets",
        )
        await pilot.pause()
        table = app.screen.query_one("#assets", DataTable)
        first = [str(c) for c in table.get_row_at(0)]
        assert first[1:] == ["picsum", first[2], "40×30", "Cat one", "Ann", "CC0"]
        assert first[2].endswith(" B") or first[2].endswith("kB")
        summary = widget_text(app.screen.query_one("#job-summary", Static))
        assert "Job 1" in summary
        assert "done" in summary


async def test_job_detail_marks_near_duplicates_and_a_key_hides_them(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    engine.add_job("cats", ("picsum",), announce=False)
    engine.store(1, "picsum", png(40, 30, seed=1), title="Cat")
    engine.store(1, "picsum", png(20, 15, seed=1), title="Cat small", duplicate_of=1)
    engine.finish_job(1)
    app = make_app(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.show_job(1)
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, JobDetailScreen) and len(app.screen.assets) == 2,
            what="assets",
        )
        await pilot.pause()
        table = app.screen.query_one("#assets", DataTable)
        assert [str(table.get_row_at(i)[4]) for i in range(2)] == ["Cat", "dup of #1 Cat small"]
        await pilot.press("u")
        await wait_until(pilot, lambda: table.row_count == 1, what="duplicates hidden")
        assert str(table.get_row_at(0)[0]) == "1"
        await pilot.press("u")
        await wait_until(pilot, lambda: table.row_count == 2, what="duplicates shown")


async def test_file_view_previews_images_and_steps_through_files(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    stored_job(engine)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.show_job(1)
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, JobDetailScreen) and bool(app.screen.assets),
            what="assets",
        )
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, AssetViewScreen), what="file")
        preview = app.screen.query_one(ImagePreview)
        await wait_until(pilot, lambda: preview.image is not None, what="decoded image")
        assert preview.image is not None
        assert preview.image.size == (40, 30)
        # Headless, the picture is drawn in half-cells (a terminal with Sixel or the Kitty
        # protocol gets real pixels); 40x30 pixels fit 80x24 as 20 columns by 15 rows... or
        # less: it is scaled to fit the space beside the details, keeping its aspect ratio.
        assert preview.protocol == "half-cell"
        await pilot.pause(0.2)
        lines = [s.text for s in app.screen._compositor.render_strips()]
        drawn = [line for line in lines if "▀" in line or "▄" in line]
        assert len(drawn) >= 5
        info = widget_text(app.screen.query_one("#asset-info", Static))
        assert "CC0" in info
        assert "Ann" in info
        await pilot.press("n", "n")
        await wait_until(
            pilot,
            lambda: (
                "No preview for video/mp4"
                in str(app.screen.query_one("#preview-note", Static).render())
            ),
            what="no preview note",
        )
        assert app.screen.query_one(ImagePreview).image is None
        await pilot.press("escape")
        assert isinstance(app.screen, JobDetailScreen)


async def test_e_exports_the_job_into_the_folder_typed(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    stored_job(engine)
    target = tmp_path / "out"
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.show_job(1)
        await wait_until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportModal), what="dialog")
        app.screen.query_one(Input).value = str(target)
        assert not app.screen.query(Checkbox)  # no near-duplicates: nothing to offer
        await pilot.press("enter")
        await wait_until(pilot, lambda: ("export", 1, target, False) in engine.calls, what="export")
        await wait_until(
            pilot, lambda: any("3 files written" in n for n in notes(app)), what="note"
        )
        assert len(list(target.iterdir())) == 3


async def test_export_offers_to_skip_near_duplicates(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    stored_job(engine)
    engine.store(1, "picsum", png(20, 15, seed=1), title="Cat one, small", duplicate_of=1)
    app = make_app(engine)

    async def export(pilot: Any, unique: bool, target: Path, written: int) -> None:
        app.show_job(1)
        await wait_until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportModal), what="dialog")
        box = app.screen.query_one(Checkbox)
        assert (
            box.value is True and str(box.label) == "Skip 1 near-duplicate (one file per picture)"
        )
        box.value = unique
        app.screen.query_one(Input).focus()
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await wait_until(pilot, lambda: ("export", 1, target, unique) in engine.calls, what="call")
        await wait_until(
            pilot, lambda: target.exists() and len(list(target.iterdir())) == written, what="files"
        )
        await pilot.press("escape")

    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await export(pilot, True, tmp_path / "one", 3)  # one file per picture
        await export(pilot, False, tmp_path / "all", 4)


# --- help, palette, API status ------------------------------------------------------------


async def test_f1_shows_every_screens_keys(tmp_path: Path) -> None:
    app = make_app(fake_engine(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpModal), what="help")
        text = " ".join(widget_text(s) for s in app.screen.query(Static))
        for words in (
            "Cancel the source of the focused pane",
            "Run the selected job again",
            "Write the files into a folder",
            "Start a new job",
        ):
            assert words in text
        await pilot.press("escape")
        assert isinstance(app.screen, NewJobScreen)


async def test_palette_commands_run_the_screens_actions(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await follow_running_job(pilot, app, engine)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"cancel job")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="question")
        await pilot.press("y")
        await wait_until(pilot, lambda: ("cancel", 1, None) in engine.calls, what="cancel")


async def test_the_palette_offers_only_the_current_screens_commands(tmp_path: Path) -> None:
    from tuiapp.commands import COMMANDS

    app = make_app(fake_engine(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        screen_actions = {a for owner, a, _, _ in COMMANDS if owner == "HistoryScreen"}
        for action in screen_actions:
            assert hasattr(app.screen, f"action_{action}")
        labels = {label for _, _, label, _ in COMMANDS}
        assert all(": " in label for label in labels)


async def test_the_api_address_or_why_it_did_not_start_is_shown(tmp_path: Path) -> None:
    app = make_app(fake_engine(tmp_path), api_url="http://127.0.0.1:9999", user_name="ann")
    async with app.run_test(size=(80, 24)):
        assert app.sub_title == "as ann · API http://127.0.0.1:9999"
    app = make_app(fake_engine(tmp_path), api_url=None, api_error="OSError: address in use")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.sub_title == "as guest · API off"
        assert any("address in use" in n for n in notes(app))


@pytest.mark.parametrize(
    "answer", [("http://127.0.0.1:9999", None), (None, "cannot listen on 127.0.0.1:1")]
)
async def test_the_api_starts_after_the_first_screen_and_its_address_is_shown(
    tmp_path: Path, answer: tuple[str | None, str | None]
) -> None:
    """The first screen does not wait for the HTTP API: the header says it is starting, then
    where it listens, or why it did not start."""
    import asyncio

    from tuiapp.app import TuiApp

    release = asyncio.Event()
    seen: list[str] = []

    async def start_api() -> tuple[str | None, str | None]:
        seen.append(app.sub_title)  # asked once the app is up, before it answers
        await release.wait()
        return answer

    engine = fake_engine(tmp_path)
    app = TuiApp(
        engine,
        start_api=start_api,
        prefs_path=engine.settings.data_dir.parent / "config" / "tuiapp" / "tui.toml",
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: bool(seen), what="the API asked to start")
        assert isinstance(app.screen, NewJobScreen)
        assert seen == ["as guest · API starting"] and app.sub_title == seen[0]
        release.set()
        await wait_until(pilot, lambda: "starting" not in app.sub_title)
        if answer[0]:
            assert app.sub_title == "as guest · API http://127.0.0.1:9999"
            assert not notes(app)
        else:
            assert app.sub_title == "as guest · API off"
            assert any("cannot listen on 127.0.0.1:1" in n for n in notes(app))


async def test_the_cli_starts_the_api_beside_the_tui_or_says_why_not(tmp_path: Path) -> None:
    """A port in use leaves the TUI running without the API, with the reason shown."""
    import socket
    from typing import cast

    from tuiapp import cli

    engine = cast("Engine", fake_engine(tmp_path))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server, url, error = await cli._start_api(engine, "127.0.0.1", port)
        assert server is None and url is None
        assert error is not None and f"127.0.0.1:{port}" in error
    server, url, error = await cli._start_api(engine, "127.0.0.1", 0)
    assert server is not None and error is None
    assert url is not None and url.startswith("http://127.0.0.1:")
    await server.close()


def test_frozen_clock_is_five_seconds_into_job_one() -> None:
    from tests.fakes import EPOCH

    assert FROZEN_NOW - (EPOCH.timestamp() + 60) == 5


def test_importing_the_app_loads_no_storage_orm_or_downloader() -> None:
    """The UI reaches the engine only through its public surface, and starts without the ORM."""
    import subprocess
    import sys

    code = "import sys, tuiapp.app; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert "textual" in loaded
    for module in ("tuiapp.storage", "tuiapp.models", "tortoise", "yt_dlp", "tuiapp.sources"):
        assert module not in loaded, module
    # The TUI is handed a running engine and API by the CLI: it builds neither.
    for module in ("tuiapp.server", "aiohttp.web", "tuiapp.engine", "tuiapp.cli"):
        assert module not in loaded, module


async def test_after_a_second_job_c_cancels_a_source_of_the_new_job(tmp_path: Path) -> None:
    """The board rebuilds its panes for a new job; focus must land on one of the new panes."""
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_job_by_keys(pilot, "cats")
        await wait_until(pilot, lambda: isinstance(app.screen, BoardScreen), what="board")
        await wait_until(pilot, lambda: isinstance(app.screen.focused, SourcePane), what="focus")
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, NewJobScreen), what="new job")
        await pilot.press(*"dogs", "enter")
        await wait_until(pilot, lambda: app.board.current == 2, what="second job")
        await wait_until(pilot, lambda: isinstance(app.screen, BoardScreen), what="board")
        await pilot.pause(0.3)
        await pilot.press("c")
        await wait_until(pilot, lambda: ("cancel", 2, "picsum") in engine.calls, what="cancel")


def test_a_source_notice_is_kept_for_its_pane() -> None:
    board = Board()
    board.apply(ev.JobSubmitted(query="q", sources=("a",), count=3, job_id=7, owner_id=None))
    board.apply(
        ev.SourceNotice(source="a", message="rate limit: 49 of 50 left", job_id=7, owner_id=None)
    )
    assert board.jobs[7].sources["a"].notice == "rate limit: 49 of 50 left"


# --- remote text is data ------------------------------------------------------------------

MARKUP_TITLE = "[bold red]x[/]"
LINK_AUTHOR = "[link=file:///etc/passwd]y[/link]"
ESCAPES = "\x1b]2;pwned\x07\x1b[31m"
ESCAPES_SHOWN = "\\x1b]2;pwned\\x07\\x1b[31m"


def shown_links(widget: Widget) -> list[str]:
    """Links in what a widget draws (a title parsed as markup would add one)."""
    width, height = widget.size
    return [
        seg.style.link
        for strip in widget.render_lines(Region(0, 0, width, height))
        for seg in strip
        if seg.style is not None and seg.style.link
    ]


async def test_remote_titles_show_literally_in_the_files_table_and_file_view(
    tmp_path: Path,
) -> None:
    engine = fake_engine(tmp_path)
    engine.add_job("cats", ("picsum",), announce=False)
    engine.store(
        1, "picsum", png(40, 30, seed=1), title=MARKUP_TITLE, author=LINK_AUTHOR, license=ESCAPES
    )
    engine.finish_job(1, JobState.FAILED, error=f"{LINK_AUTHOR} {ESCAPES}")
    app = make_app(engine)
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.pause()
        app.show_job(1)
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, JobDetailScreen) and bool(app.screen.assets),
            what="assets",
        )
        await pilot.pause()
        table = app.screen.query_one("#assets", DataTable)
        assert [str(c) for c in table.get_row_at(0)[4:]] == [
            MARKUP_TITLE,
            LINK_AUTHOR,
            ESCAPES_SHOWN,
        ]
        drawn = widget_text(table)
        assert MARKUP_TITLE in drawn and LINK_AUTHOR in drawn and ESCAPES_SHOWN in drawn
        assert "\x1b" not in drawn
        assert shown_links(table) == []
        summary = widget_text(app.screen.query_one("#job-summary", Static))
        assert f"{LINK_AUTHOR} {ESCAPES_SHOWN}" in summary
        assert shown_links(app.screen.query_one("#job-summary", Static)) == []

        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, AssetViewScreen), what="file")
        info = app.screen.query_one("#asset-info", Static)
        await wait_until(pilot, lambda: MARKUP_TITLE in widget_text(info), what="file info")
        text = widget_text(info)
        assert LINK_AUTHOR in "".join(text.split()), "the author (folded onto two lines)"
        assert ESCAPES_SHOWN in text and "\x1b" not in text
        assert shown_links(info) == []


async def test_remote_errors_show_literally_in_panes_history_and_toasts(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await follow_running_job(pilot, app, engine)
        engine.finish_source(1, "robohash", SourceState.FAILED, error=f"{MARKUP_TITLE} {ESCAPES}")
        await wait_until(
            pilot, lambda: panes(app)["robohash"].border_subtitle == "failed", what="failed"
        )
        shown = pane_text(panes(app)["robohash"])
        assert f"{MARKUP_TITLE} {ESCAPES_SHOWN}" in shown and "\x1b" not in shown

        engine.finish_job(1, JobState.FAILED, error=f"{LINK_AUTHOR} {ESCAPES}")
        await wait_until(pilot, lambda: any("Job 1 failed" in n for n in notes(app)), what="toast")
        toast = next(n for n in app._notifications if n.title == "Job 1 failed")
        assert toast.message.endswith(f" · {LINK_AUTHOR} {ESCAPES_SHOWN}")
        assert not toast.markup

        engine.add_job(f"{MARKUP_TITLE} dogs", ("picsum",), state=JobState.DONE, announce=False)
        await pilot.press("f4")
        await wait_until(pilot, lambda: history_ids(app) == ["2", "1"], what="rows")
        table = app.screen.query_one("#jobs", DataTable)
        assert str(table.get_row_at(0)[1]) == f"{MARKUP_TITLE} dogs"
        assert f"{MARKUP_TITLE} dogs" in widget_text(table)
