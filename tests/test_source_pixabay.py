"""pixabay: key in the query (and never in messages), recorded answers, paging, errors."""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from tests.replay import FROM_DOCS, Reply, json_reply
from tests.sourcekit import collect, probe, run_job, search, serve_images
from tuiapp.errors import (
    FormatChangedError,
    HTTPStatusError,
    InvalidKeyError,
    RateLimitedError,
    SourceError,
)
from tuiapp.jobs import JobState, SourceState
from tuiapp.sources.pixabay import PixabaySource

if TYPE_CHECKING:
    from tests.conftest import EngineFactory, MakeSettings
    from tests.replay import ReplayServer

NAME = "pixabay"
KEY = "12345678-secretpixabaykey0000"
SEARCH = "/api/"
QUOTA = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "99", "X-RateLimit-Reset": "60"}
DAY = 24 * 3600


pytestmark = pytest.mark.usefixtures("fresh_quotas")


def recorded(replay: ReplayServer, name: str) -> dict[str, Any]:
    """A recorded answer, its pixabay.com/get/ image URLs moved onto the replay server."""
    text = (FROM_DOCS / NAME / f"{name}.json").read_text()
    data: dict[str, Any] = json.loads(text.replace("https://pixabay.com/get/", replay.url("/get/")))
    return data


def two_pages(replay: ReplayServer) -> None:
    """The 2020 capture as page 1 of 30 reachable hits; the docs example as page 2."""
    first = recorded(replay, "search_nature_london_2020")
    second = recorded(replay, "search_docs_example_full_access")
    first["totalHits"] = second["totalHits"] = 30

    async def handler(request: web.Request) -> web.Response:
        data = second if request.query.get("page") == "2" else first
        return web.json_response(data, headers=QUOTA)

    replay.add(SEARCH, handler)


async def test_the_key_goes_in_the_query_string_only(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    two_pages(replay)
    options = {"image_type": "photo"}
    await search(
        make_settings(), replay, PixabaySource(), "x" * 150, limit=1, options=options, api_key=KEY
    )
    (hit,) = replay.hits(SEARCH)
    assert hit.query == {
        "key": KEY,
        "q": "x" * 100,  # Pixabay takes at most 100 characters
        "page": "1",
        "per_page": "20",
        "image_type": "photo",
    }
    assert "Authorization" not in hit.headers


async def test_recorded_hits_keep_user_tags_licence_and_scaled_size(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    two_pages(replay)
    source = PixabaySource()
    daffodils, bridge, _ = await search(
        make_settings(), replay, source, "nature", limit=3, api_key=KEY
    )
    assert daffodils.url == replay.url(
        "/get/52e9d4434b56a514f6da8c7dda793679123ed8e050566c4870267cd1974dc75aba_1280.jpg"
    )
    assert daffodils.title == "daffodils, spring, 2020-03-07"
    assert daffodils.metadata["tags"] == ["daffodils", "spring", "2020-03-07"]
    assert daffodils.author == "Meatle"
    assert daffodils.author_url == "https://pixabay.com/users/Meatle-9394834/"
    assert daffodils.page_url == (
        "https://pixabay.com/photos/daffodils-spring-2020-03-07-garden-4910149/"
    )
    assert daffodils.license == "Pixabay Content License"
    # largeImageURL is at most 1280 px on its longest side.
    assert (daffodils.width, daffodils.height) == (1280, 853)
    assert daffodils.metadata["original_width"] == 4320
    assert daffodils.thumbnail_url is not None
    assert daffodils.thumbnail_url.endswith("_150.jpg")
    assert bridge.author == "jusuf111"


async def test_full_size_is_used_when_asked_and_the_key_has_it(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add(SEARCH, json_reply(recorded(replay, "search_docs_example_full_access")))
    options = {"size": "full"}
    (hit,) = await search(
        make_settings(), replay, PixabaySource(), "flower", limit=1, options=options, api_key=KEY
    )
    assert hit.url == replay.url("/get/ed6a9364a9fd0a76647.jpg")
    assert (hit.width, hit.height) == (4000, 2250)


async def test_pages_stop_at_the_reachable_hits(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    two_pages(replay)
    hits = await search(make_settings(), replay, PixabaySource(), "nature", api_key=KEY)
    assert [h.metadata["pixabay_id"] for h in hits] == [4910149, 5046798, 4744181, 195893]
    assert [r.query["page"] for r in replay.hits(SEARCH)] == ["1", "2"]


async def test_the_remaining_quota_is_shown(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    two_pages(replay)
    async with probe(make_settings(), replay.url(), api_key=KEY) as p:
        await collect(PixabaySource(), p.ctx, "nature", limit=1)
    assert p.notices == ["pixabay: 99 of 100 requests left, the limit resets in 60 s"]


async def test_a_refused_key_names_the_setting_but_not_the_key(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add(SEARCH, Reply(b"[ERROR 400] Invalid or missing API key", 400, {}, "text/plain"))
    with pytest.raises(InvalidKeyError, match=r"^invalid key: check PIXABAY_API_KEY") as info:
        await search(make_settings(), replay, PixabaySource(), "nature", api_key=KEY)
    assert "Invalid or missing API key" in str(info.value)
    assert KEY not in str(info.value)


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(b'[ERROR 400] "per_page" is out of valid range.', 400), HTTPStatusError),
        (Reply(b"not here", 404), HTTPStatusError),
        (Reply(b"server trouble", 503), HTTPStatusError),
        (Reply(b"Too Many Requests", 429), RateLimitedError),
        (Reply(b"<html>new site</html>", 200, {}, "text/html"), FormatChangedError),
        (Reply(b'{"hits": [{"id": 1}]}', 200, {}, "application/json"), FormatChangedError),
    ],
    ids=["bad-param", "not-found", "server-error", "rate-limited", "not-json", "no-image"],
)
async def test_no_error_message_or_log_line_reveals_the_key(
    replay: ReplayServer,
    make_settings: MakeSettings,
    caplog: pytest.LogCaptureFixture,
    reply: Reply,
    error: type[SourceError],
) -> None:
    """The key travels in the URL and error messages are stored with the job."""
    replay.add(SEARCH, reply)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(error) as info:
        await search(make_settings(retries=1), replay, PixabaySource(), "nature", api_key=KEY)
    assert KEY not in str(info.value)
    # The replay server's access log and the fetcher's retry notes are not the source's lines.
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("tests.sources")]
    assert not [line for line in ours if KEY in line]
    if isinstance(info.value, HTTPStatusError):
        assert info.value.status == reply.status
        assert KEY not in info.value.url
        assert "key=***" in info.value.url


async def test_a_job_stores_the_images_with_user_tags_and_licence(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    two_pages(replay)
    data = recorded(replay, "search_nature_london_2020")
    paths = [h["largeImageURL"].removeprefix(replay.url()) for h in data["hits"]]
    serve_images(replay, paths, jpeg=True)
    engine = await engine_factory(base_urls={NAME: replay.url()}, api_keys={"PIXABAY_API_KEY": KEY})
    job = await run_job(engine, "nature", (NAME,), 3)
    assert job.state is JobState.DONE
    (src,) = job.sources
    assert (src.state, src.stored) == (SourceState.DONE, 3)
    assert src.error is None
    assets = {a.author: a for a in await engine.list_assets(None, job_id=job.id)}
    assert set(assets) == {"Meatle", "jusuf111", "unitea"}
    assert assets["unitea"].title == "walk, lovers, couple"
    assert assets["unitea"].license == "Pixabay Content License"
    assert assets["unitea"].metadata["tags"] == ["walk", "lovers", "couple"]
    job_info = await engine.get_job(job.id, None)
    assert KEY not in json.dumps(job_info.to_dict())


class Answers:
    """The engine's answer store as a dict (the database behind it is tested in test_storage)."""

    def __init__(self) -> None:
        self.kept: dict[str, str] = {}
        self.fail = False

    async def get(self, key: str) -> str | None:
        if self.fail:
            raise ConnectionError("database is gone")
        return self.kept.get(key)

    async def put(self, key: str, value: str, keep_for: float) -> None:
        if self.fail:
            raise ConnectionError("database is gone")
        assert keep_for == DAY
        self.kept[key] = value

    def age(self, seconds: float) -> None:
        """Make every kept answer ``seconds`` older."""
        for key, value in self.kept.items():
            entry = json.loads(value)
            entry["fetched"] -= seconds
            self.kept[key] = json.dumps(entry)


async def test_the_same_search_within_24_hours_is_answered_from_the_cache(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    """Pixabay's terms ask that API answers be cached for 24 hours."""
    two_pages(replay)
    answers = Answers()
    async with probe(make_settings(), replay.url(), api_key=KEY, answers=answers) as p:
        first = await collect(PixabaySource(), p.ctx, "nature")
        assert len(replay.hits(SEARCH)) == 2  # two pages
        answers.age(DAY - 60)
        again = await collect(PixabaySource(), p.ctx, "nature")
        assert len(replay.hits(SEARCH)) == 2
        await collect(PixabaySource(), p.ctx, "nature", options={"image_type": "photo"})
        assert len(replay.hits(SEARCH)) == 4  # another question is asked
    assert [i.url for i in again] == [i.url for i in first]
    assert len(answers.kept) == 4
    for key, value in answers.kept.items():  # the key is in no name and no content
        assert KEY not in key
        assert KEY not in value


async def test_an_answer_older_than_24_hours_is_asked_for_again_and_replaced(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    two_pages(replay)
    answers = Answers()
    async with probe(make_settings(), replay.url(), api_key=KEY, answers=answers) as p:
        await collect(PixabaySource(), p.ctx, "nature", limit=1)
        answers.age(DAY + 1)
        assert len(await collect(PixabaySource(), p.ctx, "nature", limit=1)) == 1
        assert len(replay.hits(SEARCH)) == 2
        (value,) = answers.kept.values()
        assert json.loads(value)["fetched"] > time.time() - 60
        await collect(PixabaySource(), p.ctx, "nature", limit=1)
    assert len(replay.hits(SEARCH)) == 2


@pytest.mark.parametrize(
    "content",
    ["{not json", '{"fetched": "soon", "answer": {"hits": []}}', '{"fetched": 1.0}', "[]"],
    ids=["not-json", "bad-time", "no-answer", "not-an-object"],
)
async def test_a_corrupt_cached_answer_is_ignored_and_replaced(
    replay: ReplayServer, make_settings: MakeSettings, content: str
) -> None:
    two_pages(replay)
    answers = Answers()
    async with probe(make_settings(), replay.url(), api_key=KEY, answers=answers) as p:
        await collect(PixabaySource(), p.ctx, "nature", limit=1)
        (key,) = answers.kept
        answers.kept[key] = content
        assert len(await collect(PixabaySource(), p.ctx, "nature", limit=1)) == 1
    assert len(replay.hits(SEARCH)) == 2
    assert json.loads(answers.kept[key])["answer"]["hits"]


async def test_a_store_that_fails_only_means_asking_pixabay(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    two_pages(replay)
    answers = Answers()
    answers.fail = True
    async with probe(make_settings(), replay.url(), api_key=KEY, answers=answers) as p:
        assert len(await collect(PixabaySource(), p.ctx, "nature", limit=1)) == 1
        assert len(await collect(PixabaySource(), p.ctx, "nature", limit=1)) == 1
    assert len(replay.hits(SEARCH)) == 2


async def test_a_second_job_with_the_same_search_sends_no_request(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    two_pages(replay)
    data = recorded(replay, "search_nature_london_2020")
    serve_images(replay, [h["largeImageURL"].removeprefix(replay.url()) for h in data["hits"]])
    engine = await engine_factory(base_urls={NAME: replay.url()}, api_keys={"PIXABAY_API_KEY": KEY})
    first = await run_job(engine, "nature", (NAME,), 1)
    second = await run_job(engine, "nature", (NAME,), 1)
    assert (first.sources[0].stored, second.sources[0].stored) == (1, 1)
    assert len(replay.hits(SEARCH)) == 1
    cache = engine.settings.data_dir / "cache" / NAME
    assert not cache.exists() or not any(cache.iterdir()), "kept in the database, not in files"
