"""One table of bad job requests drives the three clients: the engine's front door refuses each
with one sentence, which the CLI prints (exit 2), the HTTP API answers (400) and the TUI shows.

Also the routing the front door does: names in any case, ``a,b`` lists, the default sources.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from tests.tui_helpers import make_app, wait_until
from tuiapp import sources as registry
from tuiapp.engine.intake import admit, default_sources
from tuiapp.errors import InvalidRequestError
from tuiapp.jobs import MAX_COUNT, JobSpec
from tuiapp.screens import NewJobScreen
from tuiapp.server import create_app
from tuiapp.widgets.source_picker import SourcePicker

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_aiohttp import AiohttpClient

    from tests.conftest import MakeSettings
    from tests.replay import ReplayServer
    from tuiapp.engine import Engine


@dataclass(frozen=True)
class Bad:
    """A job request the front door refuses, and the sentence every client shows for it."""

    says: str
    query: str = "cats"
    sources: tuple[str, ...] = ("picsum",)
    count: int = 3
    options: dict[str, str] = field(default_factory=dict)

    @property
    def in_tui(self) -> bool:
        """The new job screen can ask for it: ticked sources that exist, no options."""
        known = set(registry.names())
        return not self.options and all(s in known for s in self.sources)

    def cli_args(self) -> list[str]:
        args = ["get", self.query, "-n", str(self.count)]
        for name in self.sources:
            args += ["-s", name]
        for key, value in self.options.items():
            args += ["-o", f"{key}={value}"]
        return args

    def body(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "sources": list(self.sources),
            "count": self.count,
            "options": self.options,
        }


BAD_REQUESTS = [
    Bad("type a query", query=""),
    Bad("type a query", query="   "),
    Bad("the query is longer than 2000 characters", query="x" * 2001),
    Bad("unknown source 'picsm'; did you mean picsum?", sources=("picsm",)),
    Bad("unknown source 'nowhere'; see `tuiapp sources`", sources=("nowhere",)),
    Bad("vimeo takes a URL, not search words", sources=("vimeo",)),
    Bad("direct takes a URL, not search words", sources=("picsum", "direct")),
    Bad("picsum is named twice", sources=("picsum", "Picsum")),
    Bad("a source name is empty; see `tuiapp sources`", sources=("picsum", " ")),
    Bad(f"count must be from 1 to {MAX_COUNT}, not 0", count=0),
    Bad(f"count must be from 1 to {MAX_COUNT}, not -3", count=-3),
    Bad(f"count must be from 1 to {MAX_COUNT}, not {MAX_COUNT + 1}", count=MAX_COUNT + 1),
    Bad(
        "no picked source takes option 'colour'; picsum takes width",
        options={"colour": "red"},
    ),
    Bad(
        "picsum: option 'width' must be a whole number from 1 to 5000, not 'abc'",
        options={"width": "abc"},
    ),
]
IDS = [f"{b.says[:40]}" for b in BAD_REQUESTS]


@pytest.fixture
def env(tmp_path: Path, replay: ReplayServer) -> dict[str, str]:
    (tmp_path / "no.env").write_text("")
    return {
        "TUIAPP_DATA_DIR": str(tmp_path / "data"),
        "TUIAPP_PICSUM_BASE_URL": replay.url(),
        "TUIAPP_ENV_FILE": str(tmp_path / "no.env"),
        "HOME": str(tmp_path),
    }


@pytest.mark.parametrize("bad", BAD_REQUESTS, ids=IDS)
async def test_the_cli_exits_2_with_the_front_doors_sentence(
    bad: Bad, env: dict[str, str], replay: ReplayServer
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tuiapp", *bad.cli_args(),
        env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 2, err
    assert err.decode() == f"tuiapp: error: {bad.says}\n"
    assert out == b""
    assert replay.requests == []


@pytest.mark.parametrize("bad", BAD_REQUESTS, ids=IDS)
async def test_the_api_answers_400_with_the_same_sentence(
    bad: Bad, aiohttp_client: AiohttpClient, engine: Engine, replay: ReplayServer
) -> None:
    client = await aiohttp_client(create_app(engine))
    resp = await client.post("/api/jobs", data=json.dumps(bad.body()), headers=_JSON)
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["error"] == {"code": "invalid_request", "message": bad.says}
    assert await engine.list_jobs(None) == []
    assert replay.requests == []


_JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("bad", [b for b in BAD_REQUESTS if b.in_tui], ids=str)
async def test_the_tui_shows_the_same_sentence(bad: Bad, engine: Engine) -> None:
    app = make_app(engine)  # type: ignore[arg-type]  # the real engine, not the fake
    async with app.run_test(size=(100, 40)) as pilot:
        await app.action_new_job()
        await wait_until(pilot, lambda: isinstance(app.screen, NewJobScreen), what="new job")
        screen = app.screen
        screen.query_one("#query").value = bad.query  # type: ignore[attr-defined]
        screen.query_one("#count").value = str(bad.count)  # type: ignore[attr-defined]
        screen.query_one("#sources", SourcePicker).set_selected(bad.sources)
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(app._notifications), what="a toast")
        (toast,) = app._notifications
        assert (toast.title, toast.message) == ("Cannot start", bad.says)
        assert isinstance(app.screen, NewJobScreen)
    assert await engine.list_jobs(None) == []


# --- routing ----------------------------------------------------------------------------------


def test_names_are_taken_in_any_case_and_as_comma_lists(make_settings: MakeSettings) -> None:
    spec = admit(
        JobSpec(query="cats", sources=("Picsum, ROBOHASH", " placeholder")), make_settings()
    )
    assert spec.sources == ("picsum", "robohash", "placeholder")


def test_a_url_without_sources_goes_to_the_source_that_claims_it(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings()
    assert admit(JobSpec(query=" https://picsum.photos/id/7/200 "), settings).sources == ("picsum",)
    assert admit(JobSpec(query="https://example.org/cat.png"), settings).sources == ("direct",)


def test_words_without_sources_go_to_the_setting_else_the_keyless_image_searches(
    make_settings: MakeSettings,
) -> None:
    chosen = make_settings(default_sources=("robohash", "Picsum"))
    assert admit(JobSpec(query="cats"), chosen).sources == ("robohash", "picsum")
    keyless = default_sources(make_settings())
    assert keyless == tuple(
        c.name for c in registry.all_sources() if c.kind == "image_search" and not c.key_setting
    )
    assert keyless  # the scraped searches need nothing but the network
    with pytest.raises(
        InvalidRequestError, match=r"^TUIAPP_DEFAULT_SOURCES: unknown source 'nope'"
    ):
        admit(JobSpec(query="cats"), make_settings(default_sources=("nope",)))


def test_the_checked_spec_carries_typed_options(make_settings: MakeSettings) -> None:
    spec = admit(
        JobSpec(query="cats", sources=("picsum",), options={"width": "1200"}), make_settings()
    )
    assert spec.options == {"width": 1200}
