"""bing_images: request shape, a.iusc[m] parsing, dedupe across pages, blocks, format changes."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from tests.sourcekit import (
    fixture_pages,
    fixture_text,
    html_reply,
    job_and_assets,
    rebased,
    run_job,
    search,
    serve_images,
    serve_pages,
)
from tuiapp.errors import BlockedError, FormatChangedError
from tuiapp.jobs import JobState, SourceState
from tuiapp.sources.bing_images import BingImagesSource

if TYPE_CHECKING:
    from tests.conftest import EngineFactory, MakeSettings
    from tests.replay import ReplayServer

NAME = "bing_images"


def golden(replay: ReplayServer) -> str:
    """The third party's hand-written 2026 golden, its example.test URLs moved onto the replay."""
    text = fixture_text("handwritten", NAME, "async_golden_structure_2026.html")
    return rebased(text, replay.url(), hosts=("example.test",))


def paged(replay: ReplayServer) -> None:
    """Page 1 and 2 of the hand-written fragments by ``first``; later pages repeat page 2."""
    pages = fixture_pages(
        "handwritten",
        NAME,
        {"1": "async_page1_handwritten.html", "36": "async_page2_handwritten.html"},
    )
    serve_pages(replay, "/images/async", "first", pages, last="36")


async def test_the_request_asks_the_async_endpoint_like_a_browser(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add("/images/async", html_reply(golden(replay)))
    options = {"safe": "strict"}
    await search(make_settings(), replay, BingImagesSource(), "red panda", limit=1, options=options)
    (hit,) = replay.hits("/images/async")
    assert hit.query["q"] == "red panda"
    assert hit.query["first"] == "1"
    assert hit.query["count"] == "35"
    assert hit.query["async"] == "1"
    assert hit.query["adlt"] == "strict"
    # Asked as the result page's script asks it, by the browser whose handshake it wears.
    assert "Chrome/152." in hit.headers["User-Agent"]
    assert hit.headers["Accept-Language"].startswith("en-US")
    assert hit.headers["Sec-Fetch-Mode"] == "cors"
    assert hit.headers["Referer"] == f"{replay.url()}/images/search"


async def test_every_iusc_anchor_of_the_golden_fragment_is_read(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add("/images/async", html_reply(golden(replay)))
    items = await search(make_settings(), replay, BingImagesSource(), "red panda")
    assert [i.url for i in items] == [
        replay.url("/images/red-panda-1.jpg"),
        replay.url("/images/red-panda-2.png"),
        replay.url("/images/red-panda-3.webp"),
    ]
    assert [i.title for i in items] == [
        "Red panda climbing a tree",
        "Red panda eating bamboo",
        None,
    ]
    assert items[0].thumbnail_url == "https://tse1.example.test/th?id=OIP.a1b2c3"
    assert items[0].metadata["description"] == "Example caption"
    assert items[0].metadata["md5"] == "0123456789abcdef0123456789abcdef"


async def test_the_card_around_a_result_gives_size_site_and_a_clean_title(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    paged(replay)
    items = await search(make_settings(), replay, BingImagesSource(), "mountain lake", limit=3)
    first, second, third = items
    assert first.title == "Mountain lake at dawn"  # highlight markers removed
    assert (first.width, first.height) == (3442, 2972)
    assert first.page_url == "https://lakes.example.org/moraine"
    assert first.metadata["site"] == "lakes.example.org"
    assert first.metadata["format"] == "jpeg"
    assert second.title == "Alpine lake & reflections"  # tags and entities removed
    assert (second.width, second.height) == (1920, 1080)  # the sign, not the letter
    assert third.title is None
    assert "description" not in second.metadata  # an empty desc is not kept


async def test_pages_are_deduplicated_and_the_search_stops_when_nothing_is_new(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    paged(replay)
    items = await search(make_settings(), replay, BingImagesSource(), "mountain lake")
    assert [i.url.rsplit("/", 1)[-1] for i in items] == [
        "lake-1.jpg",
        "lake-2.png",
        "lake-3.jpg",
        "lake-4.jpg",
    ]
    assert [h.query["first"] for h in replay.hits("/images/async")] == ["1", "36", "71"]


async def test_the_next_page_is_asked_for_only_when_the_engine_wants_more(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    paged(replay)
    items = await search(make_settings(), replay, BingImagesSource(), "mountain lake", limit=2)
    assert len(items) == 2
    assert len(replay.hits("/images/async")) == 1


async def test_a_captcha_page_is_reported_as_blocked(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add(
        "/images/async", html_reply(fixture_text("handwritten", NAME, "captcha_handwritten.html"))
    )
    with pytest.raises(BlockedError, match=r"^blocked by captcha"):
        await search(make_settings(), replay, BingImagesSource(), "red panda")


async def test_a_redirect_to_the_captcha_challenge_is_reported_as_blocked(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/turing/captcha/challenge")

    replay.add("/images/async", redirect)
    replay.add("/turing/captcha/challenge", html_reply("<html><body>challenge</body></html>"))
    with pytest.raises(BlockedError, match=r"^blocked by captcha"):
        await search(make_settings(), replay, BingImagesSource(), "red panda")


async def test_http_403_is_reported_as_a_bot_check(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add("/images/async", html_reply("<html>Forbidden</html>", status=403))
    with pytest.raises(BlockedError, match=r"^blocked by bot check"):
        await search(make_settings(), replay, BingImagesSource(), "red panda")


async def test_a_page_without_results_or_notice_is_a_format_change_and_is_logged(
    replay: ReplayServer, make_settings: MakeSettings, caplog: pytest.LogCaptureFixture
) -> None:
    page = "<html><body><div class='newgrid'><img src='x.jpg'></div></body></html>"
    replay.add("/images/async", html_reply(page))
    caplog.set_level(logging.WARNING, logger="tests.sources")
    with pytest.raises(FormatChangedError, match=r"HTTP 200.*<html><body><div class='newgrid'>"):
        await search(make_settings(), replay, BingImagesSource(), "red panda")
    assert "newgrid" in caplog.text
    assert "HTTP 200" in caplog.text


async def test_anchors_whose_json_is_broken_are_a_format_change(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add(
        "/images/async", html_reply('<ul><li><a class="iusc" m="{murl: nope">x</a></li></ul>')
    )
    with pytest.raises(FormatChangedError, match="murl"):
        await search(make_settings(), replay, BingImagesSource(), "red panda")


async def test_a_job_stores_the_images_with_their_titles(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    paged(replay)
    serve_images(replay, ["/img/lake-1.jpg", "/img/lake-2.png", "/img/lake-3.jpg"], jpeg=True)
    job, assets = await job_and_assets(engine_factory, replay.url(), NAME, "mountain lake", 3)
    assert job.state is JobState.DONE
    (src,) = job.sources
    assert (src.state, src.stored) == (SourceState.DONE, 3)
    assert [a.title for a in assets] == ["Mountain lake at dawn", "Alpine lake & reflections", None]
    assert assets[0].page_url == "https://lakes.example.org/moraine"
    assert (assets[0].width, assets[0].height) == (3442, 2972)
    assert assets[0].metadata["site"] == "lakes.example.org"
    assert all(a.mime == "image/jpeg" for a in assets)


async def test_an_empty_first_page_is_asked_once_more_then_is_zero_results(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    empty = fixture_text("handwritten", NAME, "async_empty_first_handwritten.html")
    replay.add("/images/async", html_reply(empty))
    engine = await engine_factory(base_urls={NAME: replay.url()})
    job = await run_job(engine, "mountain lake", (NAME,), 3)
    (src,) = job.sources
    assert job.state is JobState.DONE
    assert (src.state, src.found, src.error) == (SourceState.DONE, 0, None)
    hits = replay.hits("/images/async")
    assert [h.query["first"] for h in hits] == ["1", "1"]


async def test_an_empty_first_page_followed_by_results_gives_the_results(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    empty = fixture_text("handwritten", NAME, "async_empty_first_handwritten.html")
    answers = [empty, rebased(fixture_text("handwritten", NAME, "async_page1_handwritten.html"),
                              replay.url())]  # fmt: skip

    async def handler(request: web.Request) -> web.Response:
        text = answers.pop(0) if answers else "<html></html>"
        return web.Response(text=text, content_type="text/html")

    replay.add("/images/async", handler)
    items = await search(make_settings(), replay, BingImagesSource(), "mountain lake")
    assert len(items) == 3
    assert [h.query["first"] for h in replay.hits("/images/async")][:2] == ["1", "1"]


async def test_an_empty_result_list_with_other_links_is_still_an_empty_page(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    page = (
        '<div class="dgControl hover"><ul class="dgControl_list"></ul></div>'
        '<a href="/images/feedback">Feedback</a>'
    )
    replay.add("/images/async", html_reply(page))
    assert await search(make_settings(), replay, BingImagesSource(), "red panda") == []
    assert len(replay.hits("/images/async")) == 2
