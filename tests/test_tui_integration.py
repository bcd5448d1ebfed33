"""The TUI on the real engine: a job started by keys fills its pane from a local replay server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from aiohttp import web
from textual.widgets import DataTable

from tests.images import jpeg
from tests.replay import json_reply
from tests.tui_helpers import wait_until
from tuiapp.app import TuiApp
from tuiapp.screens import BoardScreen, HistoryScreen
from tuiapp.widgets import SourcePane, SourcePicker

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from tests.replay import ReplayServer
    from tuiapp.engine import Engine


@pytest.fixture(autouse=True)
def own_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An app built without ``prefs_path`` (as the CLI builds it) reads and writes here."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def picsum_catalogue(replay: ReplayServer, photos: int) -> None:
    items = [
        {"id": str(i), "author": f"Author {i}", "width": 64, "height": 48, "url": f"/p/{i}"}
        for i in range(photos)
    ]

    async def listing(request: web.Request) -> web.StreamResponse:
        page = int(request.query.get("page", "1"))
        return await json_reply(items if page == 1 else [])(request)

    async def image(request: web.Request) -> web.StreamResponse:
        seed = int(request.path.split("/")[2])
        return web.Response(body=jpeg(64, 48, seed=seed), content_type="image/jpeg")

    replay.add("/v2/list", listing)
    replay.add("/id/*", image)


async def test_a_job_started_by_keys_fills_its_pane_and_shows_in_history(
    replay: ReplayServer, engine_factory: Callable[..., Awaitable[Engine]], tmp_path: Path
) -> None:
    picsum_catalogue(replay, photos=6)
    engine = await engine_factory(
        base_urls={"picsum": replay.url()}, default_sources=("picsum", "robohash")
    )
    app = TuiApp(engine, api_url=None, prefs_path=tmp_path / "tui.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        picker = app.screen.query_one(SourcePicker)
        assert picker.selected == ("picsum", "robohash")  # the defaults, at first start
        await pilot.press(*"lighthouses", "tab")
        while picker.highlighted_option is None or picker.highlighted_option.id != "robohash":
            await pilot.press("down")
        await pilot.press("space", "tab", "backspace", "backspace", "4", "enter")  # untick it
        await wait_until(pilot, lambda: isinstance(app.screen, BoardScreen), what="board")

        def pane() -> SourcePane | None:
            found = [p for p in app.screen.query(SourcePane) if p.source_name == "picsum"]
            return found[0] if found else None

        await wait_until(
            pilot,
            lambda: (p := pane()) is not None and p.view is not None and p.view.state == "done",
            limit=15,
            what="picsum done",
        )
        view = pane().view  # type: ignore[union-attr]
        assert view is not None
        assert (view.found, view.stored, view.failed) == (4, 4, 0)
        assert view.bytes > 0
        assert len(replay.hits("/v2/list")) >= 1

        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen), what="history")
        table = app.screen.query_one("#jobs", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1, what="history row")
        row = [str(c) for c in table.get_row_at(0)]
        assert row[1] == "lighthouses"
        assert row[2] == "done"
        assert row[3] == "4"
