"""google_images: the WML request, /imgres parsing, paging, /sorry/ captchas, format changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from tests.replay import Reply
from tests.sourcekit import (
    fixture_pages,
    fixture_text,
    html_reply,
    job_and_assets,
    search,
    serve_images,
    serve_pages,
)
from tuiapp.errors import BlockedError, RateLimitedError
from tuiapp.jobs import JobState, SourceState
from tuiapp.sources.google_images import GoogleImagesSource

if TYPE_CHECKING:
    from tests.conftest import EngineFactory, MakeSettings
    from tests.replay import ReplayServer

NAME = "google_images"
SEARCH = "/wml/search"


def paged(replay: ReplayServer) -> None:
    """Page 1 (no ``start``) and ``start=10``; later pages repeat the second."""
    pages = fixture_pages(
        "handwritten", NAME, {"": "wml_page1_handwritten.html", "10": "wml_page2_handwritten.html"}
    )
    serve_pages(replay, SEARCH, "start", pages, last="10")


async def test_the_request_is_the_wml_search_asked_as_chrome_on_android(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    paged(replay)
    settings = make_settings(user_agent="TestBrowser/1.0")
    options = {"time": "week"}
    await search(settings, replay, GoogleImagesSource(), "mountain lake", limit=1, options=options)
    (hit,) = replay.hits(SEARCH)
    assert hit.query["q"] == "mountain lake"
    assert hit.query["tbm"] == "isch"
    assert hit.query["ie"] == hit.query["oe"] == "utf8"
    assert hit.query["tbs"] == "qdr:w"
    assert "start" not in hit.query
    # The handshake's own browser speaks: Chrome on Android, never the configured UA.
    assert "Android" in hit.headers["User-Agent"]
    assert "Chrome/99." in hit.headers["User-Agent"]
    assert hit.headers["Sec-CH-UA-Platform"] == '"Android"'
    assert hit.headers["Sec-CH-UA-Mobile"] == "?1"
    assert hit.headers["Cookie"] == "CONSENT=YES+"


async def test_imgres_links_give_image_page_size_and_thumbnail(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    paged(replay)
    items = await search(make_settings(), replay, GoogleImagesSource(), "mountain lake", limit=3)
    first, _, no_img = items
    assert first.url == replay.url("/img/g-1.jpg")
    assert first.page_url == "https://lakes.example.org/dawn"
    assert (first.width, first.height) == (2400, 1600)
    assert first.thumbnail_url == "https://encrypted-tbn0.gstatic.com/images?q=tbn:gA1b2C3"
    assert first.title == "g-1.jpg"  # WML has no titles: the file name stands in
    assert first.metadata["tbnid"] == "gA1b2C3"
    # Without an <img>, the thumbnail is built from tbnid.
    assert no_img.thumbnail_url == "https://encrypted-tbn0.gstatic.com/images?q=tbn:gG7h8I9"


async def test_pages_go_by_start_and_stop_when_nothing_is_new(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    paged(replay)
    items = await search(make_settings(), replay, GoogleImagesSource(), "mountain lake")
    assert [i.url.rsplit("/", 1)[-1] for i in items] == ["g-1.jpg", "g-2.png", "g-3.jpg", "g-4.jpg"]
    assert [h.query.get("start") for h in replay.hits(SEARCH)] == [None, "10", "20"]


async def test_a_redirect_to_the_sorry_captcha_is_blocked(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/sorry/index?continue=x&q=y")

    replay.add(SEARCH, redirect)
    replay.add(
        "/sorry/index", html_reply(fixture_text("handwritten", NAME, "sorry_handwritten.html"), 429)
    )
    with pytest.raises(BlockedError, match=r"^blocked by captcha"):
        await search(make_settings(), replay, GoogleImagesSource(), "mountain lake")
    assert len(replay.hits("/sorry/index")) == 1  # a captcha is not retried


async def test_a_small_page_pointing_at_sorry_is_blocked(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    page = (
        '<html><body><a href="https://www.google.com/sorry/index?continue=x">go</a></body></html>'
    )
    replay.add(SEARCH, html_reply(page))
    with pytest.raises(BlockedError, match=r"^blocked by captcha"):
        await search(make_settings(), replay, GoogleImagesSource(), "mountain lake")


async def test_a_plain_429_is_rate_limited_without_hammering(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    """Google's 429s come with captchas; retrying them only digs deeper, so none are retried."""
    replay.add(SEARCH, Reply(b"Too Many Requests", 429))
    with pytest.raises(RateLimitedError, match="429"):
        await search(make_settings(retries=3), replay, GoogleImagesSource(), "mountain lake")
    assert len(replay.hits(SEARCH)) == 1


async def test_a_job_stores_the_images_with_their_names_and_pages(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    paged(replay)
    serve_images(replay, ["/img/g-1.jpg", "/img/g-2.png", "/img/g-3.jpg"])
    job, assets = await job_and_assets(engine_factory, replay.url(), NAME, "mountain lake", 3)
    assert job.state is JobState.DONE
    (src,) = job.sources
    assert (src.state, src.stored) == (SourceState.DONE, 3)
    assert [a.title for a in assets] == ["g-1.jpg", "g-2.png", "g-3.jpg"]
    assert [a.page_url for a in assets] == [
        "https://lakes.example.org/dawn",
        "https://photos.example.net/alps/lake",
        "https://blog.example.com/2026/hike",
    ]
