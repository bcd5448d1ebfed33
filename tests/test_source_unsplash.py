"""unsplash: key placement, recorded answers, paging, download tracking, quota notices, errors."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from tests.replay import FROM_CLIENT_TESTS, Reply, json_reply
from tests.sourcekit import collect, fixture_json, probe, run_job, search, serve_images
from tuiapp.errors import (
    InvalidKeyError,
    RateLimitedError,
)
from tuiapp.jobs import JobState, SourceState
from tuiapp.sources.unsplash import UnsplashSource

if TYPE_CHECKING:
    from tests.conftest import EngineFactory, MakeSettings
    from tests.replay import ReplayServer

NAME = "unsplash"
KEY = "test-access-key"
SEARCH = "/search/photos"
FIXTURES = FROM_CLIENT_TESTS / NAME
REFERRAL = "utm_source=tuiapp&utm_medium=referral"


pytestmark = pytest.mark.usefixtures("fresh_quotas")


def pings(replay: ReplayServer) -> list[str]:
    """The photo ids whose download was reported, in order."""
    return [r.path.split("/")[2] for r in replay.requests if r.path.startswith("/photos/")]


def recorded(replay: ReplayServer, name: str) -> dict[str, Any]:
    """A recorded answer, its images.unsplash.com URLs moved onto the replay server."""
    return fixture_json(
        "from_client_tests", NAME, f"{name}.json", replay.url(), ("images.unsplash.com",)
    )


def recorded_headers(name: str) -> dict[str, str]:
    """The rate-limit and paging headers recorded with an answer."""
    raw = json.loads((FIXTURES / f"{name}.headers.json").read_text())["response_headers"]
    return {
        k: v[0]
        for k, v in raw.items()
        if k.lower().startswith(("x-ratelimit", "x-total", "x-per-page", "link"))
    }


def two_pages(replay: ReplayServer) -> None:
    """Page 1 recorded; page 2 the recorded portrait answer, made the last page."""
    first = recorded(replay, "search_photos_dog_p1_pp3")
    second = recorded(replay, "search_photos_dog_portrait_pp3")
    second["total_pages"] = 2
    headers = recorded_headers("search_photos_dog_p1_pp3")

    async def handler(request: web.Request) -> web.Response:
        data = second if request.query.get("page") == "2" else first
        return web.json_response(data, headers=headers)

    replay.add(SEARCH, handler)
    replay.add("/photos/*", json_reply({"url": "tracked"}))


async def test_the_key_goes_in_the_client_id_header_with_the_api_version(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    two_pages(replay)
    options = {"orientation": "portrait"}
    source = UnsplashSource()
    await search(
        make_settings(), replay, source, "dog", limit=1, count=3, options=options, api_key=KEY
    )
    (hit,) = replay.hits(SEARCH)
    assert hit.headers["Authorization"] == f"Client-ID {KEY}"
    assert hit.headers["Accept-Version"] == "v1"
    assert hit.query == {"query": "dog", "page": "1", "per_page": "10", "orientation": "portrait"}
    assert KEY not in json.dumps(hit.query)


async def test_recorded_photos_keep_author_licence_size_and_links(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    two_pages(replay)
    items = await search(make_settings(), replay, UnsplashSource(), "dog", limit=3, api_key=KEY)
    ad, labrador, _ = items
    assert labrador.url.startswith(replay.url("/photo-1552053831-71594a27632d?"))
    assert "ixid=" in labrador.url  # Unsplash asks that the ixid parameter be kept
    assert labrador.title == "yellow Labrador retriever biting yellow tulip flower"
    assert labrador.author == "Richard Brutyo"
    # Unsplash's guidelines: credit links carry the app's name as a referral.
    assert labrador.author_url == f"https://unsplash.com/@richardbrutyo?{REFERRAL}"
    assert labrador.page_url == f"https://unsplash.com/photos/Sg3XwuEpybU?{REFERRAL}"
    assert labrador.license == "Unsplash License"
    assert (labrador.width, labrador.height) == (3742, 6000)
    assert labrador.thumbnail_url is not None
    assert "w=200" in labrador.thumbnail_url
    assert labrador.metadata["unsplash_id"] == "Sg3XwuEpybU"
    assert labrador.metadata["sponsored"] is False
    assert ad.metadata["sponsored"] is True  # the first hit is an ad: labelled, not hidden


async def test_a_smaller_size_reports_its_scaled_dimensions(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    two_pages(replay)
    options = {"size": "regular"}
    (item,) = await search(
        make_settings(), replay, UnsplashSource(), "dog", limit=1, options=options, api_key=KEY
    )
    assert "w=1080" in item.url
    assert (item.width, item.height) == (1080, 720)  # 5472 x 3648 scaled to 1080 wide
    assert item.metadata["original_width"] == 5472


async def test_pages_follow_until_the_last_and_repeats_are_dropped(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    two_pages(replay)
    items = await search(make_settings(), replay, UnsplashSource(), "dog", api_key=KEY)
    assert [i.metadata["unsplash_id"] for i in items] == [
        "NqkTxxK_2ZY",
        "Sg3XwuEpybU",
        "N04FIfHhv_k",
        "WX4i1Jq_o0Y",  # page 2 repeats Sg3XwuEpybU first: dropped
        "Mv9hjnEUHR4",
    ]
    assert [h.query["page"] for h in replay.hits(SEARCH)] == ["1", "2"]


async def test_only_the_pages_the_engine_pulls_are_asked_for(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    two_pages(replay)
    await search(make_settings(), replay, UnsplashSource(), "dog", limit=2, api_key=KEY)
    assert len(replay.hits(SEARCH)) == 1


async def test_the_app_name_of_credit_links_is_a_setting(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    two_pages(replay)
    settings = {"app_name": "my gallery"}
    async with probe(make_settings(), replay.url(), api_key=KEY, source_settings=settings) as p:
        (ad,) = await collect(UnsplashSource(), p.ctx, "dog", limit=1)
    assert ad.author_url is not None
    assert ad.author_url.endswith("?utm_source=my+gallery&utm_medium=referral")


async def test_handing_photos_over_reports_no_download_until_the_engine_stored_them(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    two_pages(replay)
    async with probe(make_settings(), replay.url(), api_key=KEY) as p:
        _, labrador = await collect(UnsplashSource(), p.ctx, "dog", limit=2)
        assert pings(replay) == []
        assert labrador.on_stored is not None
        await labrador.on_stored()
    (ping,) = [r for r in replay.requests if r.path.startswith("/photos/")]
    assert ping.path == "/photos/Sg3XwuEpybU/download"  # on the configured host
    assert ping.query["ixid"].startswith("M3wy")
    assert ping.headers["Authorization"] == f"Client-ID {KEY}"


async def test_tracking_can_be_turned_off_and_its_failures_change_nothing(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    two_pages(replay)
    async with probe(
        make_settings(), replay.url(), api_key=KEY, source_settings={"track_downloads": "0"}
    ) as p:
        items = await collect(UnsplashSource(), p.ctx, "dog", limit=2)
    assert [i.on_stored for i in items] == [None, None]
    replay.add("/photos/*", Reply(b"gone", 404))
    async with probe(make_settings(), replay.url(), api_key=KEY) as p:
        items = await collect(UnsplashSource(), p.ctx, "dog", limit=3)
        for item in items:
            assert item.on_stored is not None
            await item.on_stored()  # a 404 is logged, not raised
    assert len(pings(replay)) == 3


async def test_a_job_reports_the_download_of_each_stored_photo_and_of_no_other(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    two_pages(replay)
    # The labrador (Sg3XwuEpybU, the second hit) is not served: its download fails.
    serve_images(
        replay,
        ["/photo-1687360440731-d124aea41a3e", "/photo-1561037404-61cd46aa615b"],
        jpeg=True,
    )
    engine = await engine_factory(
        base_urls={NAME: replay.url()}, api_keys={"UNSPLASH_ACCESS_KEY": KEY}
    )
    job = await run_job(engine, "dog", (NAME,), 2)
    (src,) = job.sources
    assert (src.stored, src.failed) == (2, 1)
    stored = {a.metadata["unsplash_id"] for a in await engine.list_assets(None, job_id=job.id)}
    assert stored == {"NqkTxxK_2ZY", "N04FIfHhv_k"}
    assert sorted(pings(replay)) == sorted(stored)  # once each; never the failed labrador


async def test_the_remaining_quota_is_shown(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    two_pages(replay)
    async with probe(make_settings(), replay.url(), api_key=KEY) as p:
        await collect(UnsplashSource(), p.ctx, "dog", limit=1)
    assert p.notices == ["unsplash: 4991 of 5000 requests left"]


async def test_a_refused_key_names_the_setting(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    body = (FIXTURES / "error_401_invalid_token.json").read_bytes()
    replay.add(SEARCH, Reply(body, 401, {}, "application/json"))
    with pytest.raises(InvalidKeyError, match=r"^invalid key: check UNSPLASH_ACCESS_KEY.*OAuth"):
        await search(make_settings(), replay, UnsplashSource(), "dog", api_key="wrong")


async def test_403_rate_limit_exceeded_is_rate_limited(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add(SEARCH, json_reply({"errors": ["Rate Limit Exceeded"]}, status=403))
    with pytest.raises(RateLimitedError, match="Rate Limit Exceeded"):
        await search(make_settings(), replay, UnsplashSource(), "dog", api_key=KEY)


async def test_429_after_the_retries_is_rate_limited(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add(SEARCH, Reply(b"Too Many Requests", 429))
    with pytest.raises(RateLimitedError, match="rate limited"):
        await search(make_settings(retries=2), replay, UnsplashSource(), "dog", api_key=KEY)
    # Nothing said the quota was spent: the source looks at the first 429, the client retries.
    assert len(replay.hits(SEARCH)) == 1 + 3


async def test_403_rate_limit_exceeded_after_the_last_request_names_the_hour_it_ends(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    limits = {"X-Ratelimit-Limit": "50", "X-Ratelimit-Remaining": "0"}
    replay.add(SEARCH, json_reply({"errors": ["Rate Limit Exceeded"]}, 403, limits))
    async with probe(make_settings(), replay.url(), api_key=KEY) as p:
        with pytest.raises(RateLimitedError, match=r"Rate Limit Exceeded.*quota resets at"):
            await collect(UnsplashSource(), p.ctx, "dog")
        with pytest.raises(RateLimitedError, match="quota resets at"):
            await collect(UnsplashSource(), p.ctx, "dog")
    assert len(replay.hits(SEARCH)) == 1


async def test_a_job_stores_the_photos_with_author_and_licence(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    two_pages(replay)
    serve_images(
        replay,
        [
            "/photo-1687360440731-d124aea41a3e",
            "/photo-1552053831-71594a27632d",
            "/photo-1561037404-61cd46aa615b",
        ],
        jpeg=True,
    )
    engine = await engine_factory(
        base_urls={NAME: replay.url()}, api_keys={"UNSPLASH_ACCESS_KEY": KEY}
    )
    job = await run_job(engine, "dog", (NAME,), 3)
    assert job.state is JobState.DONE
    (src,) = job.sources
    assert (src.state, src.stored) == (SourceState.DONE, 3)
    assets = {a.metadata["unsplash_id"]: a for a in await engine.list_assets(None, job_id=job.id)}
    assert set(assets) == {"NqkTxxK_2ZY", "Sg3XwuEpybU", "N04FIfHhv_k"}
    dog = assets["N04FIfHhv_k"]
    assert dog.title == "black and white short coated dog"
    assert dog.author == "Victor Grabarczyk"
    assert dog.author_url == f"https://unsplash.com/@victor_vector?{REFERRAL}"
    assert dog.license == "Unsplash License"
    assert dog.mime == "image/jpeg"
