"""The keyless URL-builder sources: picsum, placeholder, dummyimage, robohash."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.images import jpeg, png
from tests.replay import ReplayServer, Reply, json_reply
from tuiapp.engine import Engine
from tuiapp.errors import FormatChangedError
from tuiapp.fetch import Fetcher
from tuiapp.jobs import JobSpec, JobState
from tuiapp.sources.base import Found, SourceContext, SourceQuery
from tuiapp.sources.dummyimage import DummyimageSource
from tuiapp.sources.picsum import PicsumSource
from tuiapp.sources.placeholder import PlaceholderSource
from tuiapp.sources.robohash import RobohashSource

EngineFactory = Callable[..., Awaitable[Engine]]


async def _take(source: Any, ctx: SourceContext, text: str, n: int, **options: Any) -> list[Found]:
    out = []
    gen = source.iterate(
        SourceQuery(text=text, count=n, is_url=text.startswith("http"), options=options), ctx
    )
    async for item in gen:
        out.append(item)
        if len(out) == n:
            break
    await gen.aclose()
    return out


@pytest.fixture
async def ctx(replay: ReplayServer, make_settings: Callable[..., Any]) -> Any:
    fetcher = Fetcher(make_settings())
    await fetcher.start()
    yield SourceContext(
        http=fetcher, base_url=replay.url(), api_key=None, user_agent="test", scratch_dir=Path("."),
        log=logging.getLogger("test"), cancelled=lambda: False, notice=lambda _: None,
    )  # fmt: skip
    await fetcher.close()


def _catalogue(n: int) -> list[dict[str, Any]]:
    return [
        {"id": str(i), "author": f"Author {i}", "width": 4000, "height": 3000,
         "url": f"https://unsplash.com/photos/p{i}", "download_url": f"https://picsum.photos/id/{i}/4000/3000"}
        for i in range(n)
    ]  # fmt: skip


async def test_picsum_lists_the_catalogue_from_a_page_the_query_picks(
    replay: ReplayServer, ctx: SourceContext
) -> None:
    items = _catalogue(1200)

    async def listing(request: web.Request) -> web.StreamResponse:
        page, limit = int(request.query["page"]), int(request.query["limit"])
        return web.json_response(items[(page - 1) * limit : page * limit])

    replay.add("/v2/list", listing)
    found = await _take(PicsumSource(), ctx, "cats", 40)
    assert len({f.url for f in found}) == 40
    pages = [int(r.query["page"]) for r in replay.hits("/v2/list")]
    assert all(int(r.query["limit"]) == 30 for r in replay.hits("/v2/list"))
    first = found[0]
    assert first.url.startswith(replay.url("/id/")) and first.url.endswith("/1200/900.jpg")
    assert (first.width, first.height) == (1200, 900)
    assert first.author and first.author.startswith("Author ")
    assert first.page_url and first.page_url.startswith("https://unsplash.com/photos/")
    again = await _take(PicsumSource(), ctx, "cats", 1)
    assert again[0].url == first.url  # same words, same photos
    other = await _take(PicsumSource(), ctx, "boats and more", 1)
    assert other[0].url != first.url  # other words start elsewhere in the catalogue
    assert pages[0] > 1  # "cats" does not start at the first page


async def test_picsum_reports_a_changed_format(replay: ReplayServer, ctx: SourceContext) -> None:
    replay.add("/v2/list", json_reply({"photos": []}))
    with pytest.raises(FormatChangedError, match="not a list"):
        await _take(PicsumSource(), ctx, "cats", 1)
    replay.add("/v2/list", json_reply([{"name": "no id"}]))
    with pytest.raises(FormatChangedError, match="without id"):
        await _take(PicsumSource(), ctx, "cats", 1)


async def test_picsum_takes_a_photo_url(replay: ReplayServer, ctx: SourceContext) -> None:
    replay.add("/id/237/info", json_reply(_catalogue(1)[0] | {"id": "237"}))
    (found,) = await _take(PicsumSource(), ctx, "https://picsum.photos/id/237/200/300", 1)
    assert found.url == replay.url("/id/237/200/300.jpg")  # the size the URL asks for
    assert (found.width, found.height) == (200, 300)
    (square,) = await _take(PicsumSource(), ctx, "https://picsum.photos/id/237/250", 1)
    assert square.url == replay.url("/id/237/250/250.jpg")
    (whole,) = await _take(PicsumSource(), ctx, "https://picsum.photos/id/237", 1)
    assert whole.url == replay.url("/id/237/1200/900.jpg")  # no size named: the default width


async def test_placeholder_asks_placehold_co_for_raster_images_with_the_query_as_text(
    ctx: SourceContext,
) -> None:
    found = await _take(PlaceholderSource(), ctx, "hello world", 6)
    assert len({f.url for f in found}) == 6
    assert all(f.url.endswith("/png?text=hello%20world") for f in found)
    assert re.match(
        rf"{re.escape(ctx.base_url)}/\d+x\d+/[0-9a-f]{{6}}/(000000|ffffff)/png\?", found[0].url
    )
    gifs = await _take(PlaceholderSource(), ctx, "x", 1, format="gif")
    assert gifs[0].url.split("?")[0].endswith("/gif")


def test_placeholder_takes_legacy_via_placeholder_urls() -> None:
    assert PlaceholderSource.matches("https://via.placeholder.com/300x200.png")
    assert PlaceholderSource.matches("https://placehold.co/600x400/png")


async def test_dummyimage_puts_the_text_after_the_path(ctx: SourceContext) -> None:
    (found,) = await _take(DummyimageSource(), ctx, "a|b c", 1)
    path = found.url.removeprefix(ctx.base_url)
    assert re.match(r"/\d+x\d+/[0-9a-f]{6}/(000000|ffffff)\.png&text=a\+b\+c$", path)


async def test_drawn_images_are_all_different_and_then_the_source_ends(ctx: SourceContext) -> None:
    """The source never repeats itself (a repeating source would only burn the engine's pulls)."""
    found = await _take(PlaceholderSource(), ctx, "x", 500)
    assert len(found) == len({f.url for f in found}) == 90
    again = await _take(PlaceholderSource(), ctx, "x", 3)
    assert [f.url for f in again] == [f.url for f in found[:3]]


async def test_robohash_cycles_through_the_sets_then_varies_the_text(ctx: SourceContext) -> None:
    found = await _take(RobohashSource(), ctx, "tui app", 7)
    sets = [f.metadata["set"] for f in found]
    assert sets == ["set1", "set2", "set3", "set4", "set5", "set1", "set2"]
    assert found[0].url == f"{ctx.base_url}/tui%20app.png?set=set1&size=300x300"
    assert found[5].url.startswith(f"{ctx.base_url}/tui%20app-1.png")
    assert len({f.url for f in found}) == 7


@pytest.mark.parametrize(
    ("source", "path", "body", "mime"),
    [
        ("placeholder", "/*", png(seed=11), "image/png"),
        ("dummyimage", "/*", png(seed=12), "image/png"),
        ("robohash", "/q.png", png(seed=13), "image/png"),
    ],
)
async def test_each_generator_stores_real_images_end_to_end(
    replay: ReplayServer,
    engine_factory: EngineFactory,
    source: str,
    path: str,
    body: bytes,
    mime: str,
) -> None:
    replay.add(path, Reply(body, content_type=mime))
    engine = await engine_factory(base_urls={source: replay.url()})
    job = await engine.submit(JobSpec(query="q", sources=(source,), count=1))
    final = await engine.wait(job.id, None)
    assert final.state is JobState.DONE, final.sources[0].error
    (asset,) = await engine.list_assets(None, job_id=job.id)
    assert asset.mime == mime and asset.size == len(body)
    assert asset.title and asset.license


async def test_dummyimage_text_error_answered_with_200_stores_nothing(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    replay.add("/*", Reply(b"Too big of an image!", content_type="image/png"))
    engine = await engine_factory(base_urls={"dummyimage": replay.url()})
    job = await engine.submit(JobSpec(query="q", sources=("dummyimage",), count=2))
    final = await engine.wait(job.id, None)
    assert final.state is JobState.FAILED
    assert final.stored == 0
    # Every file is refused: the source gives up at its count + 10 failures.
    assert (final.sources[0].error or "").startswith("gave up after 12 files failed")


async def test_picsum_end_to_end_keeps_author_and_page(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    replay.add("/v2/list", json_reply(_catalogue(30)))
    for i in range(30):
        replay.add(f"/id/{i}/1200/900.jpg", Reply(jpeg(seed=i), content_type="image/jpeg"))
    engine = await engine_factory(base_urls={"picsum": replay.url()})
    job = await engine.submit(JobSpec(query="cats", sources=("picsum",), count=3))
    final = await engine.wait(job.id, None)
    assert final.stored == 3
    assets = await engine.list_assets(None, job_id=job.id)
    assert all(a.author and a.author.startswith("Author ") for a in assets)
    assert all(a.page_url and "unsplash.com" in a.page_url for a in assets)
    assert all((a.width, a.height) == (1200, 900) for a in assets)
