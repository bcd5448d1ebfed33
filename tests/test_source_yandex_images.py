"""yandex_images: request shape, both state layouts, entity variants, paging, captcha, changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from tests.replay import Reply
from tests.sourcekit import (
    Clock,
    collect,
    fixture_pages,
    fixture_text,
    html_reply,
    job_and_assets,
    probe,
    rebased,
    run_job,
    search,
    serve_images,
    serve_pages,
)
from tuiapp.errors import BlockedError, FormatChangedError
from tuiapp.jobs import JobState, SourceState
from tuiapp.sources import yandex_images
from tuiapp.sources.yandex_images import CaptchaPause, YandexImagesSource

if TYPE_CHECKING:
    from tests.conftest import EngineFactory, MakeSettings
    from tests.replay import ReplayServer

NAME = "yandex_images"
SEARCH = "/images/search"
START = 1_796_187_600.0
"""Where each test's clock starts: 2026-12-02 05:00:00 UTC."""


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Each test starts with no captcha met (the pause is process-wide) and its own clock."""
    fake = Clock(START)
    monkeypatch.setattr(yandex_images, "PAUSE", CaptchaPause(clock=fake))
    return fake


def paged(replay: ReplayServer) -> None:
    """Page 0 (no ``p``) and page 1; later pages repeat page 1."""
    pages = fixture_pages(
        "handwritten",
        NAME,
        {
            "": "search_page1_datastate_handwritten.html",
            "1": "search_page2_inline_handwritten.html",
        },
    )
    serve_pages(replay, SEARCH, "p", pages, last="1")


async def test_the_request_carries_text_screen_and_settings_cookie(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    paged(replay)
    await search(make_settings(), replay, YandexImagesSource(), "mountain lake", limit=1)
    (hit,) = replay.hits(SEARCH)
    assert hit.query["text"] == "mountain lake"
    assert hit.query["uinfo"].startswith("sw-1920-sh-1080")
    assert "p" not in hit.query
    assert hit.headers["Cookie"].startswith("yp=")
    assert hit.headers["User-Agent"].startswith("Mozilla/5.0")


async def test_entities_of_every_known_shape_are_read_from_the_data_state(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    paged(replay)
    items = await search(make_settings(), replay, YandexImagesSource(), "mountain lake", limit=3)
    orig, viewer, href_only = items
    assert orig.url == replay.url("/img/ya-1.jpg")
    assert (orig.width, orig.height) == (2560, 1600)
    assert orig.title == "Mountain lake at sunrise"
    assert orig.page_url == "https://lakes.example.org/sunrise"
    assert orig.thumbnail_url == "https://avatars.mds.yandex.net/i?id=ya1&n=13"
    assert orig.metadata["site"] == "lakes.example.org"
    # The largest of dups and previews wins.
    assert viewer.url == replay.url("/img/ya-2.jpg")
    assert (viewer.width, viewer.height) == (1920, 1280)
    assert viewer.title == "Lake & peaks"
    assert viewer.page_url == "https://photos.example.net/peaks"
    # Empty dups and previews fall back to img_href.
    assert href_only.url == replay.url("/img/ya-3.png")
    assert href_only.title == "Frozen lake"


async def test_the_inline_state_is_found_by_its_markers_and_pages_are_deduplicated(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    paged(replay)
    items = await search(make_settings(), replay, YandexImagesSource(), "mountain lake")
    assert [i.url.rsplit("/", 1)[-1] for i in items] == [
        "ya-1.jpg",
        "ya-2.jpg",
        "ya-3.png",
        "ya-4.jpg",
    ]
    assert items[3].title == "Lake seen from the ridge"
    assert [h.query.get("p") for h in replay.hits(SEARCH)] == [None, "1", "2"]


async def test_the_captcha_header_means_blocked(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add(
        SEARCH,
        html_reply(
            fixture_text("handwritten", NAME, "captcha_handwritten.html"),
            headers={"X-Yandex-Captcha": "captcha"},
        ),
    )
    with pytest.raises(BlockedError, match=r"^blocked by captcha"):
        await search(make_settings(), replay, YandexImagesSource(), "mountain lake")


async def test_a_redirect_to_showcaptcha_means_blocked(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/showcaptcha?cc=1&retpath=x")

    replay.add(SEARCH, redirect)
    replay.add(
        "/showcaptcha", html_reply(fixture_text("handwritten", NAME, "captcha_handwritten.html"))
    )
    with pytest.raises(BlockedError, match=r"^blocked by captcha"):
        await search(make_settings(), replay, YandexImagesSource(), "mountain lake")


async def test_a_captcha_page_without_the_header_is_still_blocked(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add(SEARCH, html_reply(fixture_text("handwritten", NAME, "captcha_handwritten.html")))
    with pytest.raises(BlockedError, match=r"^blocked by captcha"):
        await search(make_settings(), replay, YandexImagesSource(), "mountain lake")


async def test_a_smartcaptcha_page_sent_with_http_403_is_blocked_by_captcha(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add(
        SEARCH, html_reply(fixture_text("handwritten", NAME, "captcha_handwritten.html"), 403)
    )
    with pytest.raises(BlockedError, match=r"^blocked by captcha.*HTTP 403"):
        await search(make_settings(), replay, YandexImagesSource(), "mountain lake")


async def test_a_smartcaptcha_json_answer_is_blocked(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    """Script requests get the captcha as JSON, not as a page."""
    body = (
        '{"type":"captcha","captcha":{"img-url":"https://ext.captcha.yandex.net/image?key=k",'
        '"key":"k","status":"failed","captcha-page":"/showcaptcha?cc=1&retpath=x"}}'
    )
    replay.add(SEARCH, Reply(body.encode(), 200, {}, "application/json"))
    with pytest.raises(BlockedError, match=r"^blocked by captcha"):
        await search(make_settings(), replay, YandexImagesSource(), "mountain lake")


async def test_a_captcha_on_a_later_page_marks_the_source_blocked_not_done(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    first = fixture_text("handwritten", NAME, "search_page1_datastate_handwritten.html")
    captcha = fixture_text("handwritten", NAME, "captcha_handwritten.html")

    async def handler(request: web.Request) -> web.Response:
        if "p" in request.query:
            return web.Response(
                text=captcha, content_type="text/html", headers={"X-Yandex-Captcha": "captcha"}
            )
        return web.Response(text=rebased(first, replay.url()), content_type="text/html")

    replay.add(SEARCH, handler)
    serve_images(replay, ["/img/ya-1.jpg", "/img/ya-2.jpg", "/img/ya-3.png"])
    engine = await engine_factory(base_urls={NAME: replay.url()})
    job = await run_job(engine, "mountain lake", (NAME,), 10)
    (src,) = job.sources
    assert src.state is SourceState.BLOCKED
    assert src.found == 3
    assert src.error_code == "blocked"
    assert "captcha" in (src.error or "")


@pytest.mark.parametrize(
    ("page", "problem"),
    [
        ("<html><body><div id='app'></div></body></html>", "no /images/search/ state"),
        (
            '<div data-state="{&quot;location&quot;:&quot;/images/search/&quot;,'
            '&quot;initialState&quot;:{&quot;serp&quot;:{}}}"></div>',
            "serpList",
        ),
        (
            '<div data-state="{&quot;location&quot;:&quot;/images/search/&quot;,'
            "&quot;initialState&quot;:{&quot;serpList&quot;:{&quot;items&quot;:{&quot;entities"
            '&quot;:{&quot;a&quot;:{&quot;pos&quot;:0}}}}}}"></div>',
            "image URL",
        ),
    ],
    ids=["no-state", "no-entities", "entities-without-images"],
)
async def test_a_page_that_cannot_be_read_is_a_format_change(
    replay: ReplayServer, make_settings: MakeSettings, page: str, problem: str
) -> None:
    replay.add(SEARCH, html_reply(page))
    with pytest.raises(FormatChangedError, match=problem) as info:
        await search(make_settings(), replay, YandexImagesSource(), "mountain lake")
    assert "HTTP 200" in str(info.value)


async def test_a_job_stores_the_images_with_their_titles(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    paged(replay)
    serve_images(replay, ["/img/ya-1.jpg", "/img/ya-2.jpg", "/img/ya-3.png"])
    job, assets = await job_and_assets(engine_factory, replay.url(), NAME, "mountain lake", 3)
    assert job.state is JobState.DONE
    (src,) = job.sources
    assert (src.state, src.stored) == (SourceState.DONE, 3)
    assert [a.title for a in assets] == ["Mountain lake at sunrise", "Lake & peaks", "Frozen lake"]
    assert assets[0].page_url == "https://lakes.example.org/sunrise"
    # The picture's own size (the served test image is 32x24), not the 1920x1280 the page claimed.
    assert (assets[1].width, assets[1].height) == (32, 24)


async def test_after_a_captcha_yandex_is_left_alone_for_ten_minutes(
    replay: ReplayServer, make_settings: MakeSettings, clock: Clock
) -> None:
    captcha = True
    page = fixture_text("handwritten", NAME, "search_page1_datastate_handwritten.html")

    async def handler(request: web.Request) -> web.Response:
        if captcha:
            return web.Response(
                text=fixture_text("handwritten", NAME, "captcha_handwritten.html"),
                content_type="text/html",
                headers={"X-Yandex-Captcha": "captcha"},
            )
        return web.Response(text=rebased(page, replay.url()), content_type="text/html")

    replay.add(SEARCH, handler)
    async with probe(make_settings(), replay.url()) as p:
        with pytest.raises(BlockedError, match=r"asks Yandex again after 05:10:00 UTC$"):
            await collect(YandexImagesSource(), p.ctx, "mountain lake")
        assert len(replay.hits(SEARCH)) == 1
        captcha = False  # the site would answer now, but it is not asked yet
        clock.now += 120
        with pytest.raises(BlockedError) as refused:
            await collect(YandexImagesSource(), p.ctx, "red fox")
        assert str(refused.value) == (
            "blocked by captcha: yandex_images met a captcha lately and leaves Yandex alone"
            " until 05:10:00 UTC (in about 8 min), so that this address is not banned"
        )
        clock.now += 7 * 60 + 59
        with pytest.raises(BlockedError, match=r"in about 1 min"):
            await collect(YandexImagesSource(), p.ctx, "red fox")
        assert len(replay.hits(SEARCH)) == 1, "no request while the pause lasts"
        clock.now += 1
        items = await collect(YandexImagesSource(), p.ctx, "red fox", limit=2)
    assert len(items) == 2
    assert replay.hits(SEARCH)[-1].query["text"] == "red fox"


async def test_a_bot_check_that_is_no_captcha_starts_no_pause(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add(SEARCH, html_reply("<html><body>Access denied</body></html>", 403))
    for _ in range(2):
        with pytest.raises(BlockedError, match=r"^blocked by bot check"):
            await search(make_settings(), replay, YandexImagesSource(), "mountain lake")
    assert len(replay.hits(SEARCH)) == 2
