"""The terminal app's Watches screen (F6) and the new job form's "New only" box."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Checkbox, DataTable, Input

from tests.tui_helpers import fake_engine, make_app, wait_until
from tuiapp.screens import AddWatchModal, JobDetailScreen, NewJobScreen, WatchesScreen

if TYPE_CHECKING:
    from pathlib import Path


async def test_the_new_only_box_makes_a_new_only_job(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    asked = []
    real_submit = engine.submit

    async def submit(spec, owner=None, **kw):  # type: ignore[no-untyped-def]
        asked.append(spec)
        return await real_submit(spec, owner, **kw)

    engine.submit = submit  # type: ignore[method-assign]
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, NewJobScreen)
        box = app.screen.query_one("#new-only", Checkbox)
        assert box.value is False
        box.value = True
        app.screen.query_one("#query", Input).value = "cats"
        app.screen.picker.set_selected(["picsum"])
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(asked), what="the job submitted")
    assert asked[0].new_only is True and asked[0].query == "cats"


async def test_f6_lists_watches_adds_one_runs_pauses_and_deletes(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    await engine.watches.add(None, query="red pandas", sources=["picsum"], every="6h")
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, WatchesScreen), what="watches")
        screen = app.screen
        table = screen.query_one("#watches", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1, what="one watch listed")
        assert [str(c) for c in table.get_row_at(0)[:4]] == ["1", "red pandas", "picsum", "6h"]

        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, AddWatchModal), what="the form")
        app.screen.query_one("#watch-query", Input).value = "owls"
        app.screen.query_one("#watch-sources", Input).value = "picsum"
        app.screen.query_one("#watch-every", Input).value = "1m"
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        assert isinstance(app.screen, AddWatchModal)  # refused: under 5 minutes
        assert len(engine.watches.items) == 1
        app.screen.query_one("#watch-every", Input).value = "1d"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: table.row_count == 2, what="two watches")
        assert engine.watches.items[2].every == 86400

        table.focus()
        table.move_cursor(row=0)
        await pilot.press("r")  # run now: a job, shown among its runs
        runs = screen.query_one("#watch-runs", DataTable)
        await wait_until(pilot, lambda: runs.row_count == 1, what="its run listed")
        await pilot.press("p")
        await wait_until(pilot, lambda: engine.watches.items[1].paused, what="paused")
        await pilot.press("enter", "enter")  # into the runs, then the run's job
        await wait_until(
            pilot, lambda: isinstance(app.screen, JobDetailScreen), what="the run's job"
        )
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, WatchesScreen), what="back")
        table.focus()
        await pilot.press("d")
        await pilot.pause(0.1)
        await pilot.press("y")  # the confirmation's "Delete"
        await wait_until(pilot, lambda: 1 not in engine.watches.items, what="deleted")
    assert ("run_watch", 1) in engine.calls
