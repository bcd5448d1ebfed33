"""yahoo_images: request shape, li.ld parsing both ways, paging, consent wall, format changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from tests.sourcekit import (
    fixture_pages,
    fixture_text,
    html_reply,
    job_and_assets,
    rebased,
    search,
    serve_images,
    serve_pages,
)
from tuiapp.errors import BlockedError, FormatChangedError
from tuiapp.jobs import JobState, SourceState
from tuiapp.sources.yahoo_images import YahooImagesSource, read_data

if TYPE_CHECKING:
    from tests.conftest import EngineFactory, MakeSettings
    from tests.replay import ReplayServer

NAME = "yahoo_images"
SEARCH = "/search/images"


def paged(replay: ReplayServer) -> None:
    """Pages by their ``b`` offset; later offsets repeat page 2."""
    pages = fixture_pages(
        "handwritten",
        NAME,
        {"1": "search_page1_handwritten.html", "61": "search_page2_handwritten.html"},
    )
    serve_pages(replay, SEARCH, "b", pages, last="61")


async def test_the_request_carries_the_query_and_the_offset(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    paged(replay)
    options = {"imgsz": "large"}
    await search(
        make_settings(), replay, YahooImagesSource(), "mountain lake", limit=1, options=options
    )
    (hit,) = replay.hits(SEARCH)
    assert hit.query["p"] == "mountain lake"
    assert hit.query["b"] == "1"
    assert hit.query["imgsz"] == "large"
    assert hit.headers["User-Agent"].startswith("Mozilla/5.0")
    assert hit.headers["Referer"] == f"{replay.url()}/"


async def test_results_are_read_from_the_data_attribute_and_from_the_link(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    paged(replay)
    items = await search(make_settings(), replay, YahooImagesSource(), "mountain lake", limit=3)
    both, link_only, data_only = items
    assert both.url == replay.url("/img/y-1.jpg")
    assert both.title == "Moraine Lake"  # the link's tt= first, over name= and alt
    assert both.page_url == "https://lakes.example.org/moraine"
    assert (both.width, both.height) == (2048, 1365)
    assert both.thumbnail_url == "https://tse1.mm.bing.net/th?id=OIP.y1&pid=Api&P=0&w=300&h=300"
    assert both.metadata["file_size"] == "512.4KB"
    assert link_only.url == replay.url("/img/y-2.png")
    assert link_only.title == "Alpine lake at dusk"
    assert link_only.thumbnail_url == "https://tse2.mm.bing.net/th?id=OIP.y2&pid=Api"
    assert data_only.url == replay.url("/img/y-3.jpg")
    assert data_only.title == "Lake from the trail"
    assert (data_only.width, data_only.height) == (800, 600)
    assert data_only.thumbnail_url == "https://tse3.mm.bing.net/th?id=OIP.y3&pid=Api"


async def test_an_image_url_without_scheme_gets_https(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    page = (
        '<ul id="sres"><li class="ld"><a href="/images/view?imgurl=cdn.example.org%2Fa%2Fb.jpg'
        '&amp;rurl=https%3A%2F%2Fexample.org%2F&amp;name=B">x</a></li></ul>'
    )
    replay.add(SEARCH, html_reply(page))
    (item,) = await search(make_settings(), replay, YahooImagesSource(), "b", limit=1)
    assert item.url == "https://cdn.example.org/a/b.jpg"


async def test_pages_are_deduplicated_and_the_search_stops_when_nothing_is_new(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    paged(replay)
    items = await search(make_settings(), replay, YahooImagesSource(), "mountain lake")
    assert [i.url.rsplit("/", 1)[-1] for i in items] == ["y-1.jpg", "y-2.png", "y-3.jpg", "y-4.jpg"]
    assert [h.query["b"] for h in replay.hits(SEARCH)] == ["1", "61", "121"]


async def test_a_redirect_to_the_consent_wall_is_blocked(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/consent/collectConsent?sessionId=3_cc-session_local")

    replay.add(SEARCH, redirect)
    replay.add(
        "/consent/collectConsent",
        html_reply(fixture_text("handwritten", NAME, "consent_handwritten.html")),
    )
    with pytest.raises(BlockedError, match=r"^blocked by consent wall"):
        await search(make_settings(), replay, YahooImagesSource(), "mountain lake")


async def test_a_consent_page_in_place_of_results_is_blocked(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add(SEARCH, html_reply(fixture_text("handwritten", NAME, "consent_handwritten.html")))
    with pytest.raises(BlockedError, match=r"^blocked by consent wall"):
        await search(make_settings(), replay, YahooImagesSource(), "mountain lake")


async def test_http_403_is_a_bot_check(replay: ReplayServer, make_settings: MakeSettings) -> None:
    replay.add(SEARCH, html_reply("<html>denied</html>", status=403))
    with pytest.raises(BlockedError, match=r"^blocked by bot check"):
        await search(make_settings(), replay, YahooImagesSource(), "mountain lake")


async def test_a_page_without_result_list_is_a_format_change(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add(SEARCH, html_reply("<html><body><main id='grid-v3'></main></body></html>"))
    with pytest.raises(FormatChangedError, match=r"HTTP 200.*grid-v3"):
        await search(make_settings(), replay, YahooImagesSource(), "mountain lake")


async def test_result_items_without_image_urls_are_a_format_change(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add(SEARCH, html_reply('<ul id="sres"><li class="ld"><a href="/x?p=1">x</a></li></ul>'))
    with pytest.raises(FormatChangedError, match="image URL"):
        await search(make_settings(), replay, YahooImagesSource(), "mountain lake")


async def test_a_job_stores_the_images_with_their_titles(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    paged(replay)
    serve_images(replay, ["/img/y-1.jpg", "/img/y-2.png", "/img/y-3.jpg"])
    job, assets = await job_and_assets(engine_factory, replay.url(), NAME, "mountain lake", 3)
    assert job.state is JobState.DONE
    (src,) = job.sources
    assert (src.state, src.stored) == (SourceState.DONE, 3)
    assert [a.title for a in assets] == [
        "Moraine Lake",
        "Alpine lake at dusk",
        "Lake from the trail",
    ]
    assert assets[0].page_url == "https://lakes.example.org/moraine"
    assert assets[0].metadata["provider"] == "Yahoo"


async def test_one_malformed_data_attribute_does_not_lose_the_page(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    """Only the item with nothing readable is dropped; every other broken form is still read."""
    text = fixture_text("handwritten", NAME, "search_page_malformed_handwritten.html")
    replay.add(SEARCH, html_reply(rebased(text, replay.url())))
    items = await search(make_settings(), replay, YahooImagesSource(), "harbour", limit=10)
    assert [i.url.rsplit("/", 1)[-1] for i in items] == [
        "m-1.jpg",
        "m-2.jpg",
        "m-3.jpg",
        "m-4.jpg",
        "m-5.jpg",
        "m-7.jpg",
    ]
    assert [i.title for i in items] == [
        "Plain JSON",
        "Single quotes, it's fine",
        "Escaped twice",
        "Trailing garbage",
        "Cut short",
        "After the broken one",
    ]
    assert [(i.width, i.height) for i in items[:2]] == [(640, 480), (800, 600)]
    assert items[4].width == 1024


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            '{"iurl":"https://a.example/x.jpg","w":"5"}',
            {"iurl": "https://a.example/x.jpg", "w": "5"},
        ),
        (
            "{&quot;iurl&quot;:&quot;https:\\/\\/a.example\\/x.jpg&quot;}",
            {"iurl": "https://a.example/x.jpg"},
        ),
        ("{'iurl':'https://a.example/x.jpg','w':5}", {"iurl": "https://a.example/x.jpg", "w": "5"}),
        ('{"iurl":"https://a.example/x.jpg"} trailing', {"iurl": "https://a.example/x.jpg"}),
        ('{"iurl":"https://a.example/x.jpg","alt":"cut', {"iurl": "https://a.example/x.jpg"}),
        ('{iurl: "https://a.example/x.jpg"}', {"iurl": "https://a.example/x.jpg"}),
        ("not data", {}),
        ("", {}),
        (None, {}),
    ],
    ids=[
        "json",
        "escaped",
        "single-quotes",
        "trailing",
        "cut-short",
        "bare-keys",
        "junk",
        "empty",
        "none",
    ],
)
def test_the_data_attribute_reader_recovers_what_it_can(
    raw: str | None, expected: dict[str, str]
) -> None:
    assert read_data(raw) == expected


async def test_a_page_without_li_ld_falls_back_to_the_view_links_titles_from_tt(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    text = fixture_text("handwritten", NAME, "search_page_view_links_handwritten.html")
    serve_pages(replay, SEARCH, "b", {"1": text}, last="1")
    items = await search(make_settings(), replay, YahooImagesSource(), "mountain lake")
    assert [i.url for i in items] == [
        replay.url(f"/img/v-{n}") for n in ("1.jpg", "2.png", "3.webp")
    ]
    first, second, third = items
    assert first.title == "Lake Louise at dawn"  # tt= first, its markup removed
    assert first.page_url == "https://lakes.example.org/louise"
    assert (first.width, first.height) == (1920, 1280)
    assert first.thumbnail_url == "https://tse2.mm.bing.net/th?id=OIP.v1&pid=Api"
    assert first.metadata["file_size"] == "402KB"
    assert second.title == "Peyto Lake"
    assert second.thumbnail_url == "https://tse3.mm.bing.net/th?id=OIP.v2"
    assert third.title == "no-title-from-tt.webp"  # no tt=: name=


async def test_view_links_without_an_image_url_are_a_format_change_not_results(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    text = fixture_text("handwritten", NAME, "search_page_view_links_empty_handwritten.html")
    replay.add(SEARCH, html_reply(text))
    with pytest.raises(FormatChangedError, match=r"no #sres li\.ld results nor /images/view links"):
        await search(make_settings(), replay, YahooImagesSource(), "mountain lake")
