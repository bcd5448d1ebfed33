"""The keys a newcomer reaches for: q, ?, j/k/g/G, Ctrl+C; the two footer rows at 80 columns."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from textual.widgets import DataTable, Input
from textual.widgets._footer import FooterKey

from tests.tui_helpers import fake_engine, make_app, wait_until
from tuiapp.jobs import JobState
from tuiapp.screens import BoardScreen, ConfirmModal, HelpModal, HistoryScreen, JobDetailScreen
from tuiapp.widgets.footer import KeyRow

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
        keys = list(app.screen.query(FooterKey))
        assert all(0 < k.region.right <= 80 and k.region.width > 0 for k in keys)


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
