"""The TUI's key paths: F2, n, arrows, footers at 80 columns, the palette, asking before
cancelling or quitting, help, partial jobs, full errors and the job's sources table."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from rich.text import Text
from textual import events
from textual.command import CommandList, CommandPalette
from textual.widgets import DataTable, Input, Static
from textual.widgets._footer import FooterKey

from tests.fakes import DEFAULT_SOURCES, FakeEngine, source_info
from tests.tui_helpers import fake_engine, make_app, wait_until
from tuiapp.jobs import JobState, SourceState
from tuiapp.screens import (
    BoardScreen,
    ConfirmModal,
    ErrorModal,
    ExportModal,
    HelpModal,
    HistoryScreen,
    JobDetailScreen,
    NewJobScreen,
)
from tuiapp.screens.board import grid_neighbour
from tuiapp.screens.help import help_rows
from tuiapp.widgets import JobBar, SourcePane, SourcePicker
from tuiapp.widgets.formatting import state_style

if TYPE_CHECKING:
    from pathlib import Path

    from textual.pilot import Pilot

    from tuiapp.app import TuiApp


@pytest.fixture(autouse=True)
def own_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def panes(app: TuiApp) -> list[SourcePane]:
    return list(app.screen.query(SourcePane))


def focused_source(app: TuiApp) -> str | None:
    focused = app.screen.focused
    return focused.source_name if isinstance(focused, SourcePane) else None


def notes(app: TuiApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def on_board(pilot: Pilot[None], engine: FakeEngine, sources: tuple[str, ...]) -> None:
    app: TuiApp = pilot.app  # type: ignore[assignment]
    engine.add_job("zebra crossing at dusk", sources)
    engine.start(1)
    await wait_until(pilot, lambda: 1 in app.board.jobs, what="job on the board")
    app.follow_job(1)
    await wait_until(
        pilot,
        lambda: len(panes(app)) == len(sources) and focused_source(app) is not None,
        what="panes",
    )


# --- F2 and n ---------------------------------------------------------------------------------


async def test_f2_puts_the_cursor_in_the_query_from_the_source_list_and_the_board(
    tmp_path: Path,
) -> None:
    app = make_app(fake_engine(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("tab")
        assert isinstance(app.screen.focused, SourcePicker)
        await pilot.press("f2")
        await pilot.pause()
        assert app.screen.query_one("#query", Input).has_focus
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, BoardScreen), what="board")
        # Typed at once after F2, as a terminal delivers a fast typist's keys (Pilot's press
        # waits between keys): "sunsets" holds an n, which the Board would take.
        for key, char in [("f2", None), *((c, c) for c in "sunsets")]:
            app.post_message(events.Key(key, char))
        await wait_until(pilot, lambda: isinstance(app.screen, NewJobScreen), what="new job")
        await pilot.pause(0.2)
        assert app.screen.query_one("#query", Input).value == "sunsets"
        assert app.screen.query_one(SourcePicker).selected == ()


async def test_n_on_the_empty_board_does_what_its_hint_says(tmp_path: Path) -> None:
    app = make_app(fake_engine(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, BoardScreen), what="board")
        assert "press n to start one" in str(app.screen.query_one(JobBar).render())
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, NewJobScreen), what="new job")
        await pilot.pause()
        assert app.screen.query_one("#query", Input).has_focus


# --- arrows on the grid -------------------------------------------------------------------------


def test_grid_neighbours_follow_rows_and_columns() -> None:
    # 5 cells, 2 columns:  0 1 / 2 3 / 4
    assert grid_neighbour(0, 5, 2, dx=0, dy=1) == 2
    assert grid_neighbour(0, 5, 2, dx=1, dy=0) == 1
    assert grid_neighbour(1, 5, 2, dx=1, dy=0) == 1  # no wrap to the next row
    assert grid_neighbour(2, 5, 2, dx=-1, dy=0) == 2
    assert grid_neighbour(3, 5, 2, dx=0, dy=1) == 4  # down into a shorter last row
    assert grid_neighbour(4, 5, 2, dx=0, dy=1) == 4
    assert grid_neighbour(4, 5, 2, dx=0, dy=-1) == 2
    assert grid_neighbour(2, 5, 3, dx=0, dy=1) == 4


async def test_arrows_move_between_panes_as_the_grid_shows_them(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        # Two columns at 80: picsum robohash / openverse pexels
        await on_board(pilot, engine, ("picsum", "robohash", "openverse", "pexels"))
        assert focused_source(app) == "picsum"
        seen = []
        for key in ("down", "right", "up", "left", "right", "down"):
            await pilot.press(key)
            seen.append(focused_source(app))
        assert seen == ["openverse", "pexels", "robohash", "picsum", "robohash", "pexels"]


async def test_arrows_use_three_columns_when_the_board_is_wide(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await on_board(pilot, engine, ("picsum", "robohash", "openverse", "pexels"))
        await pilot.pause(0.3)  # laid out in three columns
        await pilot.press("down")
        assert focused_source(app) == "pexels"
        await pilot.press("up", "right", "right")
        assert focused_source(app) == "openverse"


# --- footers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("screen", "hints"),
    [
        (
            "board",
            ["←↑↓→ Move", "[ ] Job", "c Cancel src", "x Cancel job", "F1 Help", "F4 History"],
        ),
        ("history", ["r Re-run", "d Delete", "/ Filter", "F1 Help", "F3 Board"]),
        ("new", ["Start", "Sources", "F1 Help", "F3 Board", "F4 History"]),
    ],
)
async def test_footers_are_whole_at_80_columns(
    tmp_path: Path, screen: str, hints: list[str]
) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        if screen == "board":
            await on_board(pilot, engine, ("picsum", "robohash"))
        elif screen == "history":
            await pilot.press("f4")
        await pilot.pause(0.3)
        keys = list(app.screen.query(FooterKey))
        shown = " ".join(f"{k.key_display} {k.description}".strip() for k in keys)
        for hint in hints:
            assert hint in shown
        # Every entry lies inside the 80 columns: none is cut off at the right edge.
        assert keys and all(k.region.right <= 80 and k.region.width > 0 for k in keys)


# --- the palette offers what applies now --------------------------------------------------------


async def palette_hits(pilot: Pilot[None], words: str) -> list[str]:
    await pilot.press("ctrl+p")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, CommandPalette), what="palette")
    await pilot.press(*words)
    await pilot.pause(0.6)
    found = pilot.app.screen.query_one(CommandList)
    return [str(found.get_option_at_index(i).prompt) for i in range(found.option_count)]


async def test_the_palette_on_the_board_offers_the_jobs_actions(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_board(pilot, engine, ("picsum", "robohash"))
        hits = await palette_hits(pilot, "job 1")
        for label in ("Cancel job", "Export files", "Re-run job", "Delete job", "Show files"):
            assert any(f"Job 1: {label}" in hit for hit in hits), (label, hits)
        assert not any("Follow on the Board" in hit for hit in hits)  # already there
        await pilot.press("escape")
        await pilot.pause()
        await palette_hits(pilot, "job 1 export")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportModal), what="export")


async def test_the_palette_offers_no_cancel_for_an_ended_job(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    engine.add_job("red cars", ("picsum",), state=JobState.DONE, announce=False)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, HistoryScreen) and app.screen.selected_job_id == 1,
            what="history row",
        )
        hits = await palette_hits(pilot, "job 1")
        assert any("Job 1: Re-run job" in hit for hit in hits)
        assert any("Job 1: Follow on the Board" in hit for hit in hits)
        assert not any("Cancel job" in hit for hit in hits)


# --- asking before cancelling running work ------------------------------------------------------


async def test_ctrl_q_asks_first_while_a_job_runs(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_board(pilot, engine, ("picsum",))
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="question")
        assert "1 job is still running" in str(app.screen.query_one("#question").render())
        await pilot.press("n")
        await pilot.pause()
        assert app.return_code is None and isinstance(app.screen, BoardScreen)
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="question")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.return_code == 0, what="quit")


async def test_ctrl_q_quits_at_once_when_nothing_runs(tmp_path: Path) -> None:
    app = make_app(fake_engine(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: app.return_code == 0, what="quit")


# --- help ---------------------------------------------------------------------------------------


async def test_help_says_how_to_close_it_and_names_keys_by_what_they_do(tmp_path: Path) -> None:
    app = make_app(fake_engine(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4", "f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpModal), what="help")
        modal = app.screen
        assert isinstance(modal, HelpModal)
        first = str(modal.query_one("#help-close", Static).render())
        assert first.startswith("Esc, q, ? or F1 closes this help")
        assert modal.query_one("#help-close").region.y < 5  # on screen without scrolling
        rows = dict(help_rows(modal.sections))
        assert ("Esc", "Leave the filter, back to the list of jobs") in rows["History"]
        assert ("←", "Move to the pane left, right, above or below (arrows)") in rows["Board"]
        assert ("Ctrl+Q", "Leave (asks first when jobs are running: they are cancelled)") in (
            rows["Everywhere"]
        )
        assert "Dashboard" not in rows
        every = [what for _, section in rows.items() for _, what in section]
        assert "Table" not in every
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        for key in ("escape", "f1"):  # the other two ways it says
            await pilot.press("f1")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpModal), what="help")
            await pilot.press(key)
            await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen), what="closed")


# --- partial, everywhere alike ------------------------------------------------------------------


def test_partial_has_its_own_colour() -> None:
    partial = state_style("partial")
    assert partial
    assert partial not in {state_style(s) for s in ("done", "failed", "cancelled", "timed_out")}


def styles_of(text: Text, word: str) -> set[str]:
    plain = text.plain
    return {str(span.style) for span in text.spans if plain[span.start : span.end] == word}


async def test_a_partial_job_is_shown_alike_on_board_toast_history_and_detail(
    tmp_path: Path,
) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await on_board(pilot, engine, ("picsum", "robohash"))
        engine.progress(1, "picsum", found=3, stored=3, size=3000)
        engine.finish_source(1, "picsum", SourceState.DONE)
        engine.finish_source(
            1, "robohash", SourceState.FAILED, error="cannot reach robohash.org", code="offline"
        )
        engine.finish_job(1, JobState.PARTIAL)
        await wait_until(pilot, lambda: app.board.jobs[1].state == "partial", what="partial")
        await pilot.pause(0.3)
        want = state_style("partial")
        bar = app.screen.query_one(JobBar).render()
        assert isinstance(bar, Text)
        assert styles_of(bar, "partial") == {want}
        toast = next(n for n in app._notifications if n.title == "Job 1 partial")
        assert toast.severity == "warning"
        assert "failed: robohash (offline)" in toast.message

        await pilot.press("f4")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, HistoryScreen) and app.screen.table.row_count == 1,
            what="history",
        )
        cell = app.screen.query_one("#jobs", DataTable).get_row_at(0)[2]
        assert isinstance(cell, Text) and cell.plain == "partial" and str(cell.style) == want

        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, JobDetailScreen) and app.screen.job is not None,
            what="detail",
        )
        await pilot.pause(0.2)
        summary = app.screen.query_one("#job-summary", Static).render()
        assert "partial" in str(summary)


# --- full errors ------------------------------------------------------------------------------

LONG_ERROR = (
    'query "kittens" page 1: Unable to download API page\n'
    "HTTP Error 403: Forbidden\n" + "\n".join(f"detail line {i}" for i in range(40))
)


async def test_v_opens_the_full_error_of_the_focused_pane(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_board(pilot, engine, ("picsum", "robohash"))
        engine.finish_source(1, "robohash", SourceState.FAILED, error=LONG_ERROR, code="blocked")
        await wait_until(
            pilot,
            lambda: any(p.view is not None and p.view.error for p in panes(app)),
            what="error",
        )
        await pilot.press("v")  # picsum has no error: says so
        await pilot.pause()
        assert any("picsum has no error" in n for n in notes(app))
        await pilot.press("right", "v")
        await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal), what="modal")
        assert str(app.screen.query_one("#error-title").render()) == "robohash: blocked"
        shown = str(app.screen.query_one("#error-text", Static).render())
        assert "HTTP Error 403: Forbidden" in shown and "detail line 39" in shown
        body = app.screen.query_one("#error-body")
        assert body.max_scroll_y > 0  # longer than the dialog: it scrolls
        await pilot.press("end")
        await pilot.pause()
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, BoardScreen)


async def test_job_detail_lists_every_source_with_label_and_cause(tmp_path: Path) -> None:
    names = tuple(f"source{i:02d}" for i in range(17))
    engine = FakeEngine(
        fake_engine(tmp_path).settings, (*DEFAULT_SOURCES, *(source_info(n) for n in names))
    )
    engine.add_job("kittens", names, announce=False)
    engine.start(1)
    for name in names[:-1]:
        engine.progress(1, name, found=2, stored=2, size=2000)
        engine.finish_source(1, name, SourceState.DONE)
    engine.finish_source(1, names[-1], SourceState.FAILED, error=LONG_ERROR, code="blocked")
    engine.finish_job(1, JobState.PARTIAL)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        app.show_job(1)
        await wait_until(
            pilot,
            lambda: (
                isinstance(app.screen, JobDetailScreen)
                and app.screen.job is not None
                and app.screen.sources_table.row_count == 17
            ),
            what="sources table",
        )
        detail = app.screen
        assert isinstance(detail, JobDetailScreen)
        table = detail.sources_table
        last = [str(c) for c in table.get_row_at(16)]
        assert last[:6] == ["source16", "failed", "0/0", "0 B", "", "blocked"]  # no Dups
        assert last[6] == 'query "kittens" page 1: Unable to download API page'
        assert [str(table.get_row_at(0)[i]) for i in (1, 2, 3)] == ["done", "2/2", "2.0 kB"]
        assert table.max_scroll_y > 0  # more sources than rows on screen: it scrolls
        table.focus()
        await pilot.press(*["down"] * 16)
        assert table.scroll_y > 0  # the last source scrolled into view
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal), what="full error")
        assert "detail line 39" in str(app.screen.query_one("#error-text", Static).render())


# --- history ----------------------------------------------------------------------------------


async def test_history_at_80_columns_shows_a_four_source_jobs_whole_query(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    engine.add_job(
        "zebra crossing at dusk",
        ("picsum", "robohash", "openverse", "duckduckgo_images"),
        state=JobState.PARTIAL,
        announce=False,
    )
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, HistoryScreen) and app.screen.table.row_count == 1,
            what="row",
        )
        await pilot.pause(0.2)
        history = app.screen
        assert isinstance(history, HistoryScreen)
        table = history.table
        assert [c.label.plain for c in table.ordered_columns][:2] == ["Job", "Query"]
        lines = [s.text for s in app.screen._compositor.render_strips()]
        row = next(line for line in lines if "zebra" in line)
        assert "zebra crossing at dusk" in row
        assert "picsum +3" in row and "partial" in row
        assert all(len(line.rstrip()) <= 80 for line in lines)


async def test_an_empty_filter_result_says_so(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    engine.add_job("red cars", ("picsum",), state=JobState.DONE, announce=False)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, HistoryScreen) and app.screen.table.row_count == 1,
            what="row",
        )
        empty = app.screen.query_one("#no-jobs", Static)
        assert not empty.display or not empty.has_class("-shown")
        await pilot.press("slash", *"walrus")
        history = app.screen
        assert isinstance(history, HistoryScreen)
        await wait_until(pilot, lambda: history.table.row_count == 0, what="filtered")
        await pilot.pause(0.4)
        assert empty.has_class("-shown") and empty.region.height > 0
        assert "No jobs match “walrus”" in str(empty.render())


async def test_the_boards_footer_stays_whole_under_a_dialog(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_board(pilot, engine, ("picsum", "robohash"))
        engine.finish_source(1, "picsum", SourceState.FAILED, error="boom", code="offline")
        await wait_until(
            pilot, lambda: any(p.view is not None and p.view.error for p in panes(app)), what="e"
        )
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal), what="modal")
        await pilot.pause(0.3)
        board = app.screen_stack[0]
        keys = list(board.query(FooterKey))
        assert not any(k.description == "Board" for k in keys)
        assert all(k.region.right <= 80 for k in keys)
