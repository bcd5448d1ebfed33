"""What the three keyed APIs share: no key, no request; a spent quota, no request until it resets."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from tests.replay import Reply, json_reply
from tests.sourcekit import Clock, collect, probe, run_job, search, serve_images
from tuiapp import sources
from tuiapp.errors import MissingKeyError, RateLimitedError
from tuiapp.jobs import SourceState
from tuiapp.sources._common import QUOTAS, wall_time

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.conftest import EngineFactory, MakeSettings
    from tests.replay import ReplayServer

KEYED = [
    ("pexels", "PEXELS_API_KEY", "Pexels License"),
    ("pixabay", "PIXABAY_API_KEY", "Pixabay Content License"),
    ("unsplash", "UNSPLASH_ACCESS_KEY", "Unsplash License"),
]
NAMES = [name for name, _, _ in KEYED]
SETTING = {name: setting for name, setting, _ in KEYED}

T0 = datetime(2026, 12, 2, 13, 32, tzinfo=UTC).timestamp()
"""13:32 UTC: the tests run with TZ=UTC, so local times are UTC times."""


pytestmark = pytest.mark.usefixtures("fresh_quotas")


@pytest.fixture
def utc() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def one_photo(name: str, image_url: str) -> tuple[str, dict[str, Any]]:
    """The search path of ``name`` and an answer of that API holding one photo, the last page."""
    if name == "pexels":
        photo = {"id": 1, "src": {"original": image_url}, "photographer": "Ann"}
        return "/v1/search", {"photos": [photo], "next_page": None}
    if name == "unsplash":
        photo = {"id": "a1", "urls": {"full": image_url}, "user": {"name": "Ann"}}
        return "/search/photos", {"results": [photo], "total_pages": 1}
    hit = {"id": 1, "largeImageURL": image_url, "user": "Ann", "user_id": 7}
    return "/api/", {"hits": [hit], "totalHits": 1}


def spent(name: str, now: float) -> tuple[dict[str, str], float]:
    """Headers saying the quota is spent, as ``name`` words them, and when it comes back."""
    if name == "pexels":  # reset as a UNIX time
        reset = now + 3600
        return {
            "X-Ratelimit-Limit": "20000",
            "X-Ratelimit-Remaining": "0",
            "X-Ratelimit-Reset": str(int(reset)),
        }, reset
    if name == "unsplash":  # an hourly window, no reset header
        return {"X-Ratelimit-Limit": "50", "X-Ratelimit-Remaining": "0"}, now + 3600
    # Pixabay: the reset in seconds from now
    return {
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "3600",
    }, now + 3600


@pytest.mark.usefixtures("utc")
@pytest.mark.parametrize("name", NAMES)
async def test_a_spent_quota_sends_nothing_until_its_reset_time(
    replay: ReplayServer, make_settings: MakeSettings, name: str
) -> None:
    clock = Clock(T0)
    QUOTAS.clock = clock
    path, answer = one_photo(name, replay.url("/img/1.png"))
    headers, reset = spent(name, T0)
    replay.add(path, json_reply(answer, headers=headers))
    source = sources.get(name)()
    async with probe(make_settings(), replay.url(), api_key="key-1") as p:
        assert len(await collect(source, p.ctx, "nature")) == 1
        asked = len(replay.hits(path))
        with pytest.raises(RateLimitedError, match=r"quota resets at 14:32$") as info:
            await collect(source, p.ctx, "nature")
        assert len(replay.hits(path)) == asked  # the doomed request was never sent
        assert "quota is spent" in str(info.value)
        # Another key has its own quota.
        async with probe(make_settings(), replay.url(), api_key="key-2") as other:
            assert len(await collect(source, other.ctx, "nature")) == 1
        assert len(replay.hits(path)) == asked + 1

        clock.now = reset - 1
        with pytest.raises(RateLimitedError):
            await collect(source, p.ctx, "nature")
        clock.now = reset + 1
        assert len(await collect(source, p.ctx, "nature")) == 1
    assert len(replay.hits(path)) == asked + 2


@pytest.mark.usefixtures("utc")
@pytest.mark.parametrize("name", NAMES)
async def test_a_429_saying_the_quota_is_spent_is_not_retried_and_names_the_reset(
    replay: ReplayServer, make_settings: MakeSettings, name: str
) -> None:
    QUOTAS.clock = Clock(T0)
    path, _ = one_photo(name, replay.url("/img/1.png"))
    headers, _ = spent(name, T0)
    replay.add(path, Reply(b"Too Many Requests", 429, headers, "text/plain"))
    with pytest.raises(RateLimitedError, match=r"HTTP 429.*quota resets at 14:32$"):
        await search(
            make_settings(retries=3), replay, sources.get(name)(), "nature", api_key="key-1"
        )
    assert len(replay.hits(path)) == 1


@pytest.mark.usefixtures("utc")
async def test_pexels_429_without_headers_is_judged_by_the_last_successful_answer(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    """Pexels' 429 answers carry no rate-limit headers; the last 200 said what was left."""
    clock = Clock(T0)
    QUOTAS.clock = clock
    path, answer = one_photo("pexels", replay.url("/img/1.png"))
    reset = T0 + 2 * 3600
    headers = {"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": str(int(reset))}
    replay.add(path, json_reply(answer, headers=headers))
    async with probe(make_settings(retries=3), replay.url(), api_key="key-1") as p:
        await collect(sources.get("pexels")(), p.ctx, "nature")
        clock.now = reset + 60
        # The quota came back by the clock, but the service still refuses: it is asked
        # again through the client's retries, as any 429 the headers do not explain.
        replay.add(path, Reply(b"Too Many Requests", 429))
        with pytest.raises(RateLimitedError, match="rate limited"):
            await collect(sources.get("pexels")(), p.ctx, "nature")
    assert len(replay.hits(path)) == 1 + 1 + 4


@pytest.mark.usefixtures("utc")
async def test_a_reset_time_years_away_is_not_believed_beyond_a_month(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    clock = Clock(T0)
    QUOTAS.clock = clock
    path, answer = one_photo("pexels", replay.url("/img/1.png"))
    far = {"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": str(int(T0) + 10 * 365 * 86400)}
    replay.add(path, json_reply(answer, headers=far))
    async with probe(make_settings(), replay.url(), api_key="key-1") as p:
        await collect(sources.get("pexels")(), p.ctx, "nature")
        with pytest.raises(RateLimitedError, match=r"resets at 13:32 on 2027-01-03$"):
            await collect(sources.get("pexels")(), p.ctx, "nature")
        clock.now = T0 + 32 * 86400 + 1
        await collect(sources.get("pexels")(), p.ctx, "nature")
    assert len(replay.hits(path)) == 2


def test_reset_times_are_local_minutes_rounded_up_with_the_date_when_not_today(utc: None) -> None:
    assert wall_time(T0 + 3600, T0) == "14:32"
    assert wall_time(T0 + 3600 + 20, T0) == "14:33"
    assert wall_time(T0 + 86400, T0) == "13:32 on 2026-12-03"


@pytest.mark.parametrize("name", NAMES)
async def test_a_job_after_the_quota_ran_out_fails_that_source_at_once(
    replay: ReplayServer,
    engine_factory: EngineFactory,
    name: str,
) -> None:
    image = serve_images(replay, ["/img/1.png"])["/img/1.png"]
    path, answer = one_photo(name, image)
    headers, _ = spent(name, time.time())
    replay.add(path, json_reply(answer, headers=headers))
    engine = await engine_factory(base_urls={name: replay.url()}, api_keys={SETTING[name]: "key-1"})
    first = await run_job(engine, "nature", (name,), 1)
    assert first.sources[0].stored == 1
    asked = len(replay.hits(path))
    # Another query: Pixabay's cache would answer the same one without asking.
    second = await run_job(engine, "forest", (name,), 1)
    (src,) = second.sources
    assert (src.state, src.error_code, src.stored) == (SourceState.FAILED, "rate_limited", 0)
    assert src.error is not None
    assert "quota resets at" in src.error
    assert len(replay.hits(path)) == asked


@pytest.mark.parametrize(("name", "setting", "licence"), KEYED, ids=NAMES)
async def test_without_a_key_nothing_is_asked(
    replay: ReplayServer, make_settings: MakeSettings, name: str, setting: str, licence: str
) -> None:
    with pytest.raises(MissingKeyError, match=f"set {setting}"):
        await search(make_settings(), replay, sources.get(name)(), "nature", api_key=None)
    assert replay.requests == []


@pytest.mark.parametrize(("name", "setting", "licence"), KEYED, ids=NAMES)
async def test_a_job_without_the_key_fails_that_source_naming_the_setting(
    replay: ReplayServer,
    engine_factory: EngineFactory,
    name: str,
    setting: str,
    licence: str,
) -> None:
    engine = await engine_factory(base_urls={name: replay.url()})
    job = await run_job(engine, "nature", (name,), 2)
    (src,) = job.sources
    assert (src.state, src.error_code, src.stored) == (SourceState.FAILED, "missing_key", 0)
    assert src.error is not None
    assert setting in src.error
    assert replay.requests == []


@pytest.mark.live
@pytest.mark.parametrize(("name", "setting", "licence"), KEYED, ids=NAMES)
async def test_live_the_api_finds_and_stores_photos(
    engine_factory: EngineFactory, name: str, setting: str, licence: str
) -> None:
    key = os.environ.get(setting)
    if not key:
        pytest.skip(f"set {setting} to run against the real API")
    engine = await engine_factory(api_keys={setting: key})
    job = await run_job(engine, "mountain lake", (name,), 2)
    (src,) = job.sources
    assert src.stored >= 1, src.error
    assets = await engine.list_assets(None, job_id=job.id)
    assert all(a.author and a.license == licence for a in assets)
