"""The keys a newcomer reaches for: q, ?, j/k/g/G, Ctrl+C; the two footer rows at 80 columns."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
from textual.widgets import DataTable, Input
from textual.widgets._footer import FooterKey

from tests.tui_helpers import fake_engine, make_app, wait_until
from tuiapp.events import JobView, SourceView
from tuiapp.jobs import JobState, SourceState
from tuiapp.screens import BoardScreen, ConfirmModal, HelpModal, HistoryScreen, JobDetailScreen
from tuiapp.widgets import JobBar, SourcePane
from tuiapp.widgets.footer import KeyRow
from tuiapp.widgets.job_bar import job_progress, only_found

if TYPE_CHECKING:
    from pathlib import Path

    from textual.pilot import Pilot

    from tests.fakes import FakeEngine
    from tuiapp.app import TuiApp


@pytest.fixture(autouse=True)
def own_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


async def running_on_board(pilot: Pilot[None], engine: FakeEngine) -> None:
    app: TuiApp = pilot.app  # type: ignore[assignment]
    engine.add_job("zebra crossing", ("picsum", "robohash"))
    engine.start(1)
    await wait_until(pilot, lambda: 1 in app.board.jobs, what="job on the board")
    app.follow_job(1)
    await wait_until(pilot, lambda: isinstance(app.screen, BoardScreen), what="board")
    await pilot.pause(0.2)


def footer_rows(app: TuiApp) -> tuple[list[str], list[str]]:
    rows = list(app.screen.query(KeyRow))
    assert len(rows) == 2
    return tuple(  # type: ignore[return-value]
        [f"{k.key_display} {k.description}" for k in row.query(FooterKey)] for row in rows
    )


async def test_q_on_the_board_asks_while_a_job_runs_then_q_again_quits(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await running_on_board(pilot, engine)
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="question")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, BoardScreen), what="no")
        assert app.return_code is None
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="question")
        await pilot.press("q")
        await wait_until(pilot, lambda: app.return_code == 0, what="quit")


async def test_q_in_a_text_field_is_a_letter_and_in_another_dialog_does_not_quit(
    tmp_path: Path,
) -> None:
    engine = fake_engine(tmp_path)
    engine.add_job("red cars", ("picsum",), state=JobState.DONE, announce=False)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("q", "?")  # the query has the focus at start
        assert app.screen.query_one("#query", Input).value == "q?"
        assert app.return_code is None and not isinstance(app.screen, HelpModal)
        await pilot.press("f4")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, HistoryScreen) and app.screen.selected_job_id == 1,
            what="history",
        )
        await pilot.press("d")  # asks whether to delete
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), what="question")
        await pilot.press("q")
        await pilot.pause(0.2)
        assert app.return_code is None and isinstance(app.screen, ConfirmModal)
        await pilot.press("escape", "q")
        await wait_until(pilot, lambda: app.return_code == 0, what="quit (nothing runs)")


async def test_question_mark_shows_the_keys_of_the_screen_in_front_first(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await running_on_board(pilot, engine)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpModal), what="help")
        modal = app.screen
        assert isinstance(modal, HelpModal)
        titles = [title for title, _ in modal.sections]
        assert titles[:3] == ["Board", "Everywhere", "Tables and lists"]
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, BoardScreen), what="closed")
        await pilot.press("f4", "question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpModal), what="help")
        assert app.screen.sections[0][0] == "History"  # type: ignore[attr-defined]


async def test_ctrl_c_says_how_to_quit_without_markup(tmp_path: Path) -> None:
    app = make_app(fake_engine(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")  # no text field has the focus
        await pilot.pause(0.2)
        await pilot.press("ctrl+c")
        await pilot.pause(0.2)
        said = [n.message for n in app._notifications]
        assert any("Ctrl+Q" in m for m in said), said
        assert not any("[" in m for m in said), said


async def test_history_rows_move_with_j_k_g_and_capital_g(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    for n in range(5):
        engine.add_job(f"job {n}", ("picsum",), state=JobState.DONE, announce=False)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, HistoryScreen) and app.screen.table.row_count == 5,
            what="rows",
        )
        table = app.screen.query_one("#jobs", DataTable)
        assert table.cursor_row == 0
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == 4
        await pilot.press("g")
        assert table.cursor_row == 0
        await pilot.press("end")
        assert table.cursor_row == 4
        await pilot.press("home")
        assert table.cursor_row == 0


@pytest.mark.parametrize("screen", ["new", "board", "history", "job"])
async def test_every_footer_has_both_rows_whole_at_80_columns(tmp_path: Path, screen: str) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        if screen == "board":
            await running_on_board(pilot, engine)
        elif screen == "history":
            await pilot.press("f4")
        elif screen == "job":
            engine.add_job("red cars", ("picsum",), state=JobState.DONE, announce=False)
            app.show_job(1)
            await wait_until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="job")
        await pilot.pause(0.3)
        own, common = footer_rows(app)
        assert "^q Quit" in common and "^p Palette" in common and "F1 Help" in common
        expected = {
            "new": ["^s Start", "^l Sources"],
            "board": ["Enter Files", "c Cancel src", "x Cancel job"],
            "history": ["Enter Details", "r Re-run", "/ Filter"],
            "job": ["Enter Open", "Tab Switch", "w Follow", "u Dups", "e Export"],
        }[screen]
        for hint in expected:
            assert hint in own, (hint, own)

        def laid_out() -> bool:  # a footer recomposed on a bindings change lays out next frame
            keys = list(app.screen.query(FooterKey))
            return bool(keys) and all(k.region.width > 0 for k in keys)

        await wait_until(pilot, laid_out, what="footer laid out")
        assert all(k.region.right <= 80 for k in app.screen.query(FooterKey))


async def test_toasts_step_aside_when_a_dialog_opens(tmp_path: Path) -> None:
    app = make_app(fake_engine(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await pilot.pause(0.2)
        app.notify("Job 3 done: 30 stored")
        await pilot.pause(0.1)
        assert len(app._notifications) == 1
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpModal), what="help")
        await pilot.pause(0.1)
        assert len(app._notifications) == 0


# --- one honest number --------------------------------------------------------------------------


def job_view(count: int, *sources: tuple[str, int, int, int]) -> JobView:
    """A job view whose sources are (state, found, stored, failed)."""
    return JobView(
        1,
        "q",
        count,
        {
            f"s{i}": SourceView(
                f"s{i}",
                SourceState(state),
                found=found,
                stored=stored,
                failed=failed,
                target=count,
            )
            for i, (state, found, stored, failed) in enumerate(sources)
        },
    )


def test_the_overall_bar_is_files_stored_of_what_was_asked() -> None:
    # Failed sources are still asked their share: 0 of 90 is 0 %, not two thirds.
    failed = job_view(30, ("failed", 0, 0, 0), ("failed", 0, 0, 0), ("searching", 0, 0, 0))
    assert job_progress(failed) == 0
    cancelled = replace(
        job_view(50, ("cancelled", 5, 4, 0), ("cancelled", 2, 2, 0)), state=JobState.CANCELLED
    )
    assert job_progress(cancelled) == pytest.approx(6 / 100)
    assert only_found(cancelled) is None
    # Sources that ran out are asked only what they found: "only 3 found" and 100 %.
    ran_out = job_view(30, ("done", 3, 3, 0))
    assert job_progress(ran_out) == 1.0 and only_found(ran_out) == 3
    mixed = job_view(10, ("done", 10, 10, 0), ("done", 4, 4, 0))
    assert job_progress(mixed) == 1.0 and only_found(mixed) == 14
    assert only_found(job_view(10, ("done", 10, 10, 0))) is None
    # Found 5, stored 3: the two that failed keep the bar short of full.
    assert job_progress(job_view(30, ("done", 5, 3, 2))) == pytest.approx(3 / 5)
    # While a source still runs, the bar is of what was asked, whoever ran out.
    assert job_progress(job_view(10, ("done", 4, 4, 0), ("downloading", 6, 6, 0))) == 0.5


async def test_the_board_says_only_n_found_and_reads_100_percent(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        engine.add_job("cats", ("picsum",), count=30)
        engine.start(1)
        await wait_until(pilot, lambda: 1 in app.board.jobs, what="job")
        app.follow_job(1)
        await wait_until(pilot, lambda: isinstance(app.screen, BoardScreen), what="board")
        engine.progress(1, "picsum", found=3, stored=3, size=3000)
        engine.finish_source(1, "picsum", SourceState.DONE)
        engine.finish_job(1, JobState.DONE)
        await wait_until(pilot, lambda: app.board.jobs[1].finished, what="finished")
        await pilot.pause(0.4)
        bar = str(app.screen.query_one(JobBar).render())
        assert "3 of 30 stored · only 3 found" in bar
        assert "100%" in bar
        pane = app.screen.query_one(SourcePane).render()
        assert "100% · only 3 found" in str(pane)


async def test_history_sees_jobs_of_other_windows_without_their_events(tmp_path: Path) -> None:
    """Another window's job is in the database only: this app hears no event of it."""
    from dataclasses import replace

    engine = fake_engine(tmp_path)
    engine.add_job("red cars", ("picsum",), state=JobState.RUNNING, announce=False)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, HistoryScreen) and app.screen.table.row_count == 1,
            what="first row",
        )
        engine.jobs[1] = replace(engine.jobs[1], state=JobState.DONE)  # finished elsewhere
        engine.add_job("blue boats", ("picsum",), state=JobState.DONE, announce=False)
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await wait_until(pilot, lambda: screen.table.row_count == 2, limit=8, what="new row")
        assert str(screen.table.get_cell("1", "state")) == "done"


async def test_board_panes_use_the_width_they_have(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await running_on_board(pilot, engine)  # two sources
        await wait_until(pilot, lambda: len(app.screen.query(SourcePane)) == 2, what="panes")
        await pilot.pause(0.2)
        widths = [p.region.width for p in app.screen.query(SourcePane)]
        assert all(w >= 55 for w in widths), widths


async def test_the_screenshot_notice_has_no_markup(tmp_path: Path) -> None:
    from textual import events

    app = make_app(fake_engine(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        app.post_message(events.DeliveryComplete("k", tmp_path / "shot.svg", "screenshot"))
        await pilot.pause(0.2)
        said = [n.message for n in app._notifications]
        assert said == [f"Saved screenshot to {tmp_path / 'shot.svg'}"]
