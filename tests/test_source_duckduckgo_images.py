"""duckduckgo_images: the vqd token step, i.js headers, the next cursor, blocks, format changes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from tests.replay import Reply, json_reply
from tests.sourcekit import (
    fixture_json,
    fixture_text,
    html_reply,
    job_and_assets,
    search,
    serve_images,
)
from tuiapp.errors import BlockedError, FormatChangedError, RateLimitedError
from tuiapp.jobs import JobState, SourceState
from tuiapp.sources.duckduckgo_images import DuckDuckGoImagesSource

if TYPE_CHECKING:
    from tests.conftest import EngineFactory, MakeSettings
    from tests.replay import ReplayServer

NAME = "duckduckgo_images"
TOKEN = "4-211870396542377815924318064741862185401"
FRESH_TOKEN = "4-999999999999999999999999999999999999999"


def search_page() -> Reply:
    return html_reply(fixture_text("handwritten", NAME, "search_page_handwritten.html"))


def page(replay: ReplayServer, name: str) -> dict[str, Any]:
    """A hand-written i.js page (ours, or the third party's golden one), rebased."""
    return fixture_json("handwritten", NAME, name, replay.url(), ("example.test",))


def by_offset(replay: ReplayServer, pages: dict[str, dict[str, Any]]) -> None:
    """i.js answers by its ``s`` offset; an unknown offset gets an empty (last) page."""

    async def handler(request: web.Request) -> web.Response:
        data = pages.get(request.query.get("s", ""), {"results": []})
        return web.json_response(data)

    replay.add("/", search_page())
    replay.add("/i.js", handler)


async def test_the_token_comes_from_the_search_page_and_goes_with_browser_headers(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    by_offset(replay, {"0": page(replay, "ijs_golden_structure_2026.json")})
    settings = make_settings(user_agent="TestBrowser/1.0")
    await search(settings, replay, DuckDuckGoImagesSource(), "red panda", limit=1)
    (first,) = replay.hits("/")
    assert first.query["q"] == "red panda"
    ijs = replay.hits("/i.js")[0]
    assert ijs.query["o"] == "json"
    assert ijs.query["q"] == "red panda"
    assert ijs.query["vqd"] == TOKEN
    assert ijs.query["l"] == "us-en"
    assert "p" not in ijs.query  # moderate is the site's default
    assert ijs.query["s"] == "0"
    assert (ijs.query["ct"], ijs.query["bpia"], ijs.query["u"], ijs.query["a"]) == (
        "EN",
        "1",
        "bing",
        "h_",
    )
    assert first.query["iar"] == "images" and first.query["t"] == "h_"
    # The token is bound to the User-Agent: both steps send the browser's own, the same one.
    agent = first.headers["User-Agent"]
    assert agent == ijs.headers["User-Agent"] != "TestBrowser/1.0"
    assert "Chrome/152." in agent
    assert first.headers["Sec-Fetch-Mode"] == "navigate"
    assert ijs.headers["Referer"] == f"{replay.url()}/"
    assert ijs.headers["Accept"] == "*/*"
    assert ijs.headers["Cookie"] == "ad=en_US; ah=us-en; l=us-en"


async def test_ijs_is_asked_as_the_pages_script_without_accept_language(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    """i.js requests carrying Accept-Language were refused (2026); the search page keeps it."""
    by_offset(replay, {"0": page(replay, "ijs_golden_structure_2026.json")})
    await search(make_settings(), replay, DuckDuckGoImagesSource(), "red panda", limit=1)
    (token,) = replay.hits("/")
    (ijs,) = replay.hits("/i.js")
    sent = {name.lower() for name in ijs.headers}
    assert "accept-language" not in sent
    assert "accept-language" in {name.lower() for name in token.headers}
    # What a page's fetch() sends: no navigation headers.
    assert ijs.headers["Sec-Fetch-Mode"] == "cors"
    assert ijs.headers["Sec-Fetch-Dest"] == "empty"
    assert "upgrade-insecure-requests" not in sent and "sec-fetch-user" not in sent


async def test_safe_search_goes_as_parameter_and_cookie_and_region_sets_the_cookies(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    by_offset(replay, {"0": page(replay, "ijs_golden_structure_2026.json")})
    options = {"safe": "off", "region": "DE-de"}
    await search(
        make_settings(), replay, DuckDuckGoImagesSource(), "red panda", limit=1, options=options
    )
    (ijs,) = replay.hits("/i.js")
    assert ijs.query["p"] == "-2"
    assert ijs.query["l"] == "de-de" and ijs.query["ct"] == "DE"
    assert ijs.headers["Cookie"] == "ad=de_DE; ah=de-de; l=de-de; p=-2"


async def test_a_403_on_ijs_fetches_a_fresh_token_once_and_asks_again(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    tokens = iter([TOKEN, FRESH_TOKEN])

    async def token_page(request: web.Request) -> web.Response:
        return web.Response(
            text=f'<html><script>vqd="{next(tokens)}";</script></html>', content_type="text/html"
        )

    golden = page(replay, "ijs_golden_structure_2026.json")

    async def ijs(request: web.Request) -> web.Response:
        if request.query["vqd"] != FRESH_TOKEN:
            return web.json_response({"error": "forbidden"}, status=403)
        return web.json_response(golden if request.query["s"] == "0" else {"results": []})

    replay.add("/", token_page)
    replay.add("/i.js", ijs)
    items = await search(make_settings(), replay, DuckDuckGoImagesSource(), "red panda")
    assert len(items) == 3
    assert len(replay.hits("/")) == 2
    assert [(h.query["vqd"], h.query["s"]) for h in replay.hits("/i.js")][:2] == [
        (TOKEN, "0"),
        (FRESH_TOKEN, "0"),
    ]


async def test_a_second_403_after_the_fresh_token_is_blocked(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add("/", search_page())
    replay.add("/i.js", json_reply({"error": "forbidden"}, status=403))
    with pytest.raises(BlockedError, match="HTTP 403"):
        await search(make_settings(), replay, DuckDuckGoImagesSource(), "red panda")
    assert len(replay.hits("/")) == 2  # one refresh, no more
    assert len(replay.hits("/i.js")) == 2


async def test_results_of_the_golden_page_are_read(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    by_offset(replay, {"0": page(replay, "ijs_golden_structure_2026.json")})
    items = await search(make_settings(), replay, DuckDuckGoImagesSource(), "red panda", limit=3)
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
    assert [(i.width, i.height) for i in items] == [(1920, 1080), (1200, 800), (800, 600)]
    assert items[0].page_url == replay.url("/page1")
    assert items[0].thumbnail_url == "https://tse1.example.test/th?id=OIP.a1b2c3"
    assert items[0].metadata["provider"] == "Bing"


async def test_the_next_cursor_is_followed_with_the_newest_token_until_it_ends(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    second = page(replay, "ijs_page2_handwritten.json")
    second["next"] = "i.js?q=red+panda&o=json&p=1&s=200&u=bing&f=,,,,,&l=us-en&vqd=x"
    by_offset(
        replay,
        {"0": page(replay, "ijs_golden_structure_2026.json"), "100": second},
    )
    items = await search(make_settings(), replay, DuckDuckGoImagesSource(), "red panda")
    assert [i.url.rsplit("/", 1)[-1] for i in items] == [
        "red-panda-1.jpg",
        "red-panda-2.png",
        "red-panda-3.webp",
        "red-panda-4.jpg",
    ]
    assert items[3].width == 2048  # sizes given as strings
    hits = replay.hits("/i.js")
    assert [h.query["s"] for h in hits] == ["0", "100", "200"]
    assert [h.query["vqd"] for h in hits] == [TOKEN, TOKEN, FRESH_TOKEN]
    assert len(replay.hits("/")) == 1  # one token for the whole search


async def test_a_page_without_next_is_the_last(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    by_offset(replay, {"0": page(replay, "ijs_page2_handwritten.json")})
    items = await search(make_settings(), replay, DuckDuckGoImagesSource(), "red panda")
    assert len(items) == 2
    assert len(replay.hits("/i.js")) == 1


async def test_a_bot_check_instead_of_the_search_page_is_blocked(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add("/", html_reply(fixture_text("handwritten", NAME, "anomaly_handwritten.html")))
    with pytest.raises(BlockedError, match=r"^blocked by bot check"):
        await search(make_settings(), replay, DuckDuckGoImagesSource(), "red panda")
    assert replay.hits("/i.js") == []


@pytest.mark.parametrize("status", [403, 418])
async def test_ijs_refusing_the_token_is_blocked(
    replay: ReplayServer, make_settings: MakeSettings, status: int
) -> None:
    replay.add("/", search_page())
    replay.add("/i.js", json_reply({"error": "forbidden"}, status=status))
    with pytest.raises(BlockedError, match=rf"HTTP {status}"):
        await search(make_settings(), replay, DuckDuckGoImagesSource(), "red panda")


async def test_http_202_is_a_soft_rate_limit(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add("/", search_page())
    replay.add("/i.js", Reply(b"", 202))
    with pytest.raises(RateLimitedError, match="202"):
        await search(make_settings(), replay, DuckDuckGoImagesSource(), "red panda")


async def test_429_after_the_retries_is_rate_limited(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add("/", search_page())
    replay.add("/i.js", Reply(b"slow down", 429))
    with pytest.raises(RateLimitedError, match="rate limited"):
        await search(make_settings(retries=2), replay, DuckDuckGoImagesSource(), "red panda")
    assert len(replay.hits("/i.js")) == 3


async def test_a_search_page_without_token_is_a_format_change(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add("/", html_reply("<html><body><div id='new-app'></div></body></html>"))
    with pytest.raises(FormatChangedError, match=r"vqd.*HTTP 200.*new-app"):
        await search(make_settings(), replay, DuckDuckGoImagesSource(), "red panda")


@pytest.mark.parametrize(
    "body",
    [b"<html>not json</html>", b'{"items": []}', b'{"results": [{"thumbnail": "x"}]}'],
    ids=["html", "no-results-key", "results-without-image"],
)
async def test_an_ijs_answer_that_cannot_be_read_is_a_format_change(
    replay: ReplayServer, make_settings: MakeSettings, body: bytes
) -> None:
    replay.add("/", search_page())
    replay.add("/i.js", Reply(body, 200, {}, "application/json"))
    with pytest.raises(FormatChangedError, match="HTTP 200"):
        await search(make_settings(), replay, DuckDuckGoImagesSource(), "red panda")


async def test_a_job_stores_the_images_with_their_titles(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    by_offset(replay, {"0": page(replay, "ijs_golden_structure_2026.json")})
    serve_images(
        replay, ["/images/red-panda-1.jpg", "/images/red-panda-2.png", "/images/red-panda-3.webp"]
    )
    job, assets = await job_and_assets(engine_factory, replay.url(), NAME, "red panda", 3)
    assert job.state is JobState.DONE
    (src,) = job.sources
    assert (src.state, src.stored) == (SourceState.DONE, 3)
    assert [a.title for a in assets] == [
        "Red panda climbing a tree",
        "Red panda eating bamboo",
        None,
    ]
    assert assets[0].page_url == replay.url("/page1")
    # The picture's own size (the served test image is 32x24), not the 1920x1080 the page claimed.
    assert (assets[0].width, assets[0].height) == (32, 24)
    assert all(a.mime == "image/png" for a in assets)


@pytest.mark.parametrize(
    "snippet",
    [f'vqd="{TOKEN}"', f"vqd={TOKEN}&p=1", f"vqd='{TOKEN}'"],
    ids=["double-quoted", "query-string", "single-quoted"],
)
async def test_the_token_is_found_in_each_form_the_page_uses(
    replay: ReplayServer, make_settings: MakeSettings, snippet: str
) -> None:
    replay.add("/", html_reply(f"<html><script>var x = 1; {snippet}; </script></html>"))
    replay.add("/i.js", json_reply({"results": []}))
    await search(make_settings(), replay, DuckDuckGoImagesSource(), "red panda")
    assert replay.hits("/i.js")[0].query["vqd"] == TOKEN


async def test_both_requests_are_the_ones_the_maintained_peers_send_in_2026(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    by_offset(replay, {"0": page(replay, "ijs_golden_structure_2026.json")})
    text = fixture_text("handwritten", NAME, "ijs_request_2026_handwritten.json")
    expected = json.loads(text.replace("{BASE}", replay.url()))
    await search(make_settings(), replay, DuckDuckGoImagesSource(), "red panda", limit=1)
    for step, path in (("token_request", "/"), ("ijs_request", "/i.js")):
        (hit,) = replay.hits(path)
        want = expected[step]
        assert hit.query == want["query"], step
        for name, value in want["headers"].items():
            assert hit.headers.get(name) == value, (step, name)
        for name in want.get("absent_headers", ()):
            assert name not in hit.headers, (step, name)
