"""The terminal app's preferences: the TOML file round-trips, a broken one is ignored with a
notice, and the app starts with the theme, sources and count it saved last time."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from textual.widgets import Input

from tests.tui_helpers import fake_engine, make_app, wait_until
from tuiapp.prefs import Prefs, default_prefs_path, load_prefs, save_prefs
from tuiapp.screens import BoardScreen, NewJobScreen
from tuiapp.widgets import SourcePicker

if TYPE_CHECKING:
    from pathlib import Path


def test_the_file_lives_under_xdg_config_home_or_dot_config(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert default_prefs_path(env) == tmp_path / "tuiapp" / "tui.toml"
    fallback = default_prefs_path({"XDG_CONFIG_HOME": "relative/ignored"})
    assert fallback.parts[-3:] == (".config", "tuiapp", "tui.toml")


def test_prefs_round_trip_through_toml_with_awkward_names(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "tui.toml"
    prefs = Prefs(theme='my "quoted" theme\\ é', sources=("picsum", "a\nb"), count=25)
    assert save_prefs(path, prefs) is None
    assert load_prefs(path) == (prefs, None)
    assert load_prefs(tmp_path / "missing.toml") == (Prefs(), None)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("theme = \n", "not valid TOML"),
        ("theme = 3\n", "theme must be a string"),
        ('sources = "picsum"\n', "sources must be a list"),
        ("count = 0\n", "count must be a whole number of at least 1"),
        ("count = true\n", "count must be a whole number"),
        (b"\xff\xfe", "not valid TOML"),
    ],
)
def test_a_broken_file_gives_defaults_and_says_why(
    tmp_path: Path, text: str | bytes, why: str
) -> None:
    path = tmp_path / "tui.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    prefs, notice = load_prefs(path)
    assert prefs == Prefs()
    assert notice is not None and why in notice and str(path) in notice


def test_saving_where_no_folder_can_be_made_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert "not saved" in (save_prefs(blocker / "tui.toml", Prefs(count=3)) or "")


async def test_the_app_remembers_theme_sources_and_count(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = "nord"
        await pilot.pause()
        await pilot.press(*"owls", "tab", "space", "down", "space", "tab")
        count = app.screen.query_one("#count", Input)
        count.value = "7"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, BoardScreen), what="board")
    saved = load_prefs(app.prefs_path)[0]
    assert saved == Prefs(theme="nord", sources=("picsum", "robohash"), count=7)

    again = make_app(engine)
    async with again.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert again.theme == "nord"
        assert isinstance(again.screen, NewJobScreen)
        assert again.screen.query_one(SourcePicker).selected == ("picsum", "robohash")
        assert again.screen.query_one("#count", Input).value == "7"


async def test_a_url_job_keeps_the_ticked_sources_of_before(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    save_prefs(app.prefs_path, Prefs(sources=("robohash",), count=4))
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"https://picsum.photos/id/1/200/300", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, BoardScreen), what="board")
    assert load_prefs(app.prefs_path)[0].sources == ("robohash",)


async def test_a_broken_file_is_ignored_with_a_notice(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    app.prefs_path.parent.mkdir(parents=True)
    app.prefs_path.write_text("theme = [unclosed\n")
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.prefs == Prefs()
        toasts = [(n.title, n.message) for n in app._notifications]
        assert any(t == "Preferences ignored" and "not valid TOML" in m for t, m in toasts)
        assert app.screen.query_one(SourcePicker).selected == ()


async def test_after_a_url_job_the_picker_shows_the_users_picks_again(tmp_path: Path) -> None:
    """The URL's source is ticked only while the URL is typed: the next words job runs (and
    saves) the user's own picks, not the URL's source."""
    engine = fake_engine(tmp_path)
    app = make_app(engine)
    save_prefs(app.prefs_path, Prefs(sources=("robohash",), count=4))
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        picker = app.screen.query_one(SourcePicker)
        await pilot.press(*"https://picsum.photos/id/1/200/300")
        assert picker.selected == ("picsum",)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, BoardScreen), what="board")
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, NewJobScreen), what="new")
        assert app.screen.query_one(SourcePicker).selected == ("robohash",)
        await pilot.press(*"owls", "enter")
        await wait_until(pilot, lambda: 2 in engine.jobs, what="second job")
    assert [s.source for s in engine.jobs[2].sources] == ["robohash"]
    assert load_prefs(app.prefs_path)[0].sources == ("robohash",)


async def test_at_first_start_the_default_sources_are_ticked(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    engine.defaults = ("picsum", "openverse")
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.query_one(SourcePicker).selected == ("picsum", "openverse")
