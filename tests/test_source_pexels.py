"""pexels: key placement, recorded answers, next_page paging, quota notices, errors."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from tests.replay import Reply, json_reply
from tests.sourcekit import collect, fixture_json, job_and_assets, probe, search, serve_images
from tuiapp.errors import (
    InvalidKeyError,
    RateLimitedError,
)
from tuiapp.jobs import JobState, SourceState
from tuiapp.sources.pexels import PexelsSource

if TYPE_CHECKING:
    from tests.conftest import EngineFactory, MakeSettings
    from tests.replay import ReplayServer

NAME = "pexels"
KEY = "test-pexels-key"
SEARCH = "/v1/search"


pytestmark = pytest.mark.usefixtures("fresh_quotas")


def recorded(replay: ReplayServer, name: str) -> dict[str, Any]:
    """A recorded answer, its images.pexels.com URLs moved onto the replay server."""
    return fixture_json(
        "from_client_tests", NAME, f"{name}.json", replay.url(), ("images.pexels.com",)
    )


def three_pages(replay: ReplayServer) -> None:
    """The recorded first, second and last pages, by ``page``, with rate-limit headers."""
    pages = {
        "1": recorded(replay, "search_photos"),
        "2": recorded(replay, "search_photos_second_page"),
        "3": recorded(replay, "search_photos_last_page"),
    }
    headers = {
        "X-Ratelimit-Limit": "20000",
        "X-Ratelimit-Remaining": "19999",
        "X-Ratelimit-Reset": str(int(time.time()) + 3600),
    }

    async def handler(request: web.Request) -> web.Response:
        return web.json_response(pages[request.query.get("page", "1")], headers=headers)

    replay.add(SEARCH, handler)


async def test_the_raw_key_goes_in_the_authorization_header(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    three_pages(replay)
    options = {"orientation": "square"}
    source = PexelsSource()
    await search(
        make_settings(), replay, source, "nature", limit=1, count=40, options=options, api_key=KEY
    )
    (hit,) = replay.hits(SEARCH)
    assert hit.headers["Authorization"] == KEY  # no "Bearer"
    assert hit.query == {"query": "nature", "page": "1", "per_page": "40", "orientation": "square"}


async def test_recorded_photos_keep_photographer_licence_and_size(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    three_pages(replay)
    (photo,) = await search(make_settings(), replay, PexelsSource(), "nature", limit=1, api_key=KEY)
    assert photo.url == replay.url("/photos/3573351/pexels-photo-3573351.png")
    assert photo.title == "Brown Rocks During Golden Hour"
    assert photo.author == "Lukas Rodriguez"
    assert photo.author_url == "https://www.pexels.com/@lukas-rodriguez-1845331"
    assert photo.page_url == "https://www.pexels.com/photo/trees-during-day-3573351/"
    assert photo.license == "Pexels License"
    assert (photo.width, photo.height) == (3066, 3968)
    assert photo.metadata["avg_color"] == "#374824"
    assert photo.metadata["credit"] == "Photos provided by Pexels"


async def test_a_resized_variant_does_not_claim_the_original_size(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    three_pages(replay)
    options = {"variant": "large"}
    (photo,) = await search(
        make_settings(), replay, PexelsSource(), "nature", limit=1, options=options, api_key=KEY
    )
    assert photo.url.endswith("?auto=compress&cs=tinysrgb&h=650&w=940")
    assert (photo.width, photo.height) == (None, None)
    assert photo.metadata["original_width"] == 3066


async def test_pages_follow_next_page_until_it_is_gone(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    three_pages(replay)
    photos = await search(make_settings(), replay, PexelsSource(), "nature", api_key=KEY)
    # The last page repeats the first page's photo: handed over once.
    assert [ph.metadata["pexels_id"] for ph in photos] == [3573351, 1547813]
    assert [h.query["page"] for h in replay.hits(SEARCH)] == ["1", "2", "3"]


async def test_a_trimmed_answer_without_optional_keys_is_one_page(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add(SEARCH, json_reply(recorded(replay, "search_webeweb_trimmed")))
    (photo,) = await search(make_settings(), replay, PexelsSource(), "laptop", api_key=KEY)
    assert photo.title is None
    assert photo.author == "Christina Morillo"
    assert "avg_color" not in photo.metadata
    assert len(replay.hits(SEARCH)) == 1


async def test_the_remaining_quota_and_reset_are_shown(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    three_pages(replay)
    async with probe(make_settings(), replay.url(), api_key=KEY) as p:
        await collect(PexelsSource(), p.ctx, "nature", limit=1)
    (notice,) = p.notices
    assert re.fullmatch(
        r"pexels: 19999 of 20000 requests left, the limit resets in 3\d{3} s", notice
    )


@pytest.mark.parametrize("status", [401, 403])
async def test_a_refused_key_names_the_setting(
    replay: ReplayServer, make_settings: MakeSettings, status: int
) -> None:
    replay.add(SEARCH, json_reply({"error": "Unauthorized"}, status=status))
    with pytest.raises(InvalidKeyError, match=r"^invalid key: check PEXELS_API_KEY"):
        await search(make_settings(), replay, PexelsSource(), "nature", api_key="wrong")


async def test_429_after_the_retries_is_rate_limited(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    """Pexels' usual 429 has no rate-limit headers: the client's retries decide."""
    replay.add(SEARCH, Reply(b"Too Many Requests", 429))
    with pytest.raises(RateLimitedError, match="rate limited"):
        await search(make_settings(retries=1), replay, PexelsSource(), "nature", api_key=KEY)
    # The source looks at the first 429 itself, then the client retries as usual.
    assert len(replay.hits(SEARCH)) == 1 + 2


async def test_429_saying_nothing_is_left_is_not_retried_even_without_a_reset_time(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add(SEARCH, Reply(b"Too Many Requests", 429, {"X-Ratelimit-Remaining": "0"}))
    async with probe(make_settings(retries=3), replay.url(), api_key=KEY) as p:
        with pytest.raises(RateLimitedError, match="did not say when it resets"):
            await collect(PexelsSource(), p.ctx, "nature")
        assert len(replay.hits(SEARCH)) == 1
        # Not knowing when the quota comes back, the next search asks again.
        three_pages(replay)
        assert len(await collect(PexelsSource(), p.ctx, "nature", limit=1)) == 1
    assert len(replay.hits(SEARCH)) == 2


async def test_a_job_stores_the_photos_with_photographer_and_licence(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    three_pages(replay)
    serve_images(
        replay,
        [
            "/photos/3573351/pexels-photo-3573351.png",
            "/photos/1547813/pexels-photo-1547813.jpeg",
        ],
    )
    job, assets = await job_and_assets(
        engine_factory, replay.url(), NAME, "nature", 2, api_keys={"PEXELS_API_KEY": KEY}
    )
    assert job.state is JobState.DONE
    (src,) = job.sources
    assert (src.state, src.stored) == (SourceState.DONE, 2)
    assert [(a.title, a.author, a.license) for a in assets] == [
        ("Red Trees", "Artem Saranin", "Pexels License"),
        ("Brown Rocks During Golden Hour", "Lukas Rodriguez", "Pexels License"),
    ]
