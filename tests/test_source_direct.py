"""direct: the registry's fallback for URLs no site claims, downloaded through the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.replay import Reply
from tests.sourcekit import html_reply, run_job, search, serve_images
from tests.videos import mp4_bytes
from tuiapp import sources as registry
from tuiapp.errors import InvalidRequestError
from tuiapp.jobs import JobState, SourceState
from tuiapp.sources.direct import DirectSource, expected_kind

if TYPE_CHECKING:
    from tests.conftest import EngineFactory, MakeSettings
    from tests.replay import ReplayServer

NAME = "direct"


def test_the_fallback_is_registered_last() -> None:
    assert registry.MODULES[-1] == NAME
    assert registry.all_sources()[-1] is DirectSource


@pytest.mark.parametrize("cls", registry.all_sources()[:-1], ids=lambda c: c.name)
def test_the_fallback_steals_no_url_another_source_claims(cls: type[registry.Source]) -> None:
    if cls.example.startswith("http"):
        assert registry.find(cls.example) is cls


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/cat.jpg",
        "http://cdn.example.net/a/b/clip.mp4?sig=1",
        "HTTPS://EXAMPLE.ORG/X",
        "https://example.org",
    ],
)
def test_any_http_url_no_site_claims_goes_to_direct(url: str) -> None:
    assert registry.find(url) is DirectSource


@pytest.mark.parametrize(
    "text", ["red panda", "ftp://example.org/cat.jpg", "https://", "file:///etc/passwd"]
)
def test_words_and_other_schemes_are_not_direct_links(text: str) -> None:
    assert not DirectSource.matches(text)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://example.org/cat.JPG", "image"),
        ("https://example.org/a%20b.webp?x=1.mp4", "image"),
        ("https://example.org/v/clip.webm", "video"),
        ("https://example.org/song.flac", "audio"),
        ("https://example.org/download?id=3", "any"),
        ("https://example.org/page.html", "any"),
    ],
)
def test_the_extension_says_what_the_file_must_be(url: str, kind: str) -> None:
    assert expected_kind(url) == kind


async def test_a_direct_link_yields_one_item_named_after_its_file(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    url = "https://example.org/pics/red%20cat.png?size=large"
    items = await search(make_settings(), replay, DirectSource(), url)
    (item,) = items
    assert item.url == url
    assert item.expect == "image"
    assert item.title == "red cat.png"
    assert replay.hits("/pics/red%20cat.png") == []  # the source fetches nothing itself


async def test_an_image_url_no_source_claims_is_routed_and_stored(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    urls = serve_images(replay, ["/files/cat.png"])
    engine = await engine_factory(base_urls={NAME: replay.url()})
    url = urls["/files/cat.png"]
    job = await run_job(engine, url, (), 1)  # no source named: the URL picks one
    assert job.state is JobState.DONE
    (src,) = job.sources
    assert (src.source, src.state, src.stored) == (NAME, SourceState.DONE, 1)
    (asset,) = await engine.list_assets(None, job_id=job.id)
    assert asset.url == url
    assert asset.title == "cat.png"
    assert asset.mime == "image/png"
    assert len(replay.hits("/files/cat.png")) == 1


async def test_a_link_without_extension_is_stored_by_what_its_bytes_are(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    replay.add("/download", Reply(mp4_bytes(4096), 200, {}, "application/octet-stream"))
    engine = await engine_factory(base_urls={NAME: replay.url()})
    url = replay.url("/download")
    job = await run_job(engine, url, (), 1)
    (src,) = job.sources
    assert (src.state, src.stored) == (SourceState.DONE, 1)
    (asset,) = await engine.list_assets(None, job_id=job.id)
    assert asset.mime == "video/mp4"


async def test_an_image_link_that_answers_with_a_page_stores_nothing(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    replay.add("/cat.jpg", html_reply("<html><body>Not found, but 200</body></html>"))
    engine = await engine_factory(base_urls={NAME: replay.url()})
    url = replay.url("/cat.jpg")
    job = await run_job(engine, url, (), 1)
    (src,) = job.sources
    assert src.stored == 0
    assert src.failed == 1
    assert job.state is JobState.FAILED
    assert src.state is SourceState.FAILED
    assert await engine.list_assets(None, job_id=job.id) == []


async def test_a_page_with_a_video_tag_is_handed_to_yt_dlp_and_its_video_stored(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    """A page URL no source claims: yt-dlp's generic extractor finds the <video> in it."""
    body = mp4_bytes(60_000)
    replay.add("/media/sunset.mp4", Reply(body, content_type="video/mp4"))
    replay.add(
        "/watch",
        html_reply(
            "<!DOCTYPE html><html><head><title>Sunset over the bay</title></head><body>"
            '<video controls width="640"><source src="/media/sunset.mp4" type="video/mp4">'
            "</video></body></html>"
        ),
    )
    engine = await engine_factory(base_urls={NAME: replay.url()})
    url = replay.url("/watch")
    job = await run_job(engine, url, (), 1)  # no source named: the URL picks one
    (src,) = job.sources
    assert (src.state, src.stored, src.failed) == (SourceState.DONE, 1, 0), src.error
    (asset,) = await engine.list_assets(None, job_id=job.id)
    assert asset.mime == "video/mp4" and asset.kind == "video"
    assert asset.size == len(body)
    # The generic extractor names what it found in the page's HTML5 media elements "html5".
    assert asset.metadata["extractor"] == "html5"
    assert asset.title == "Sunset over the bay (1)"  # the page's first video
    peek = replay.hits("/watch")[0]
    assert peek.headers.get("Range") == "bytes=0-65535", "the page was looked at, not read whole"
    assert len(replay.hits("/media/sunset.mp4")) >= 1


async def test_a_link_without_extension_to_a_page_without_video_stores_nothing(
    replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    """A page is not a media file, whatever the link promised (nothing, here), and yt-dlp
    finds no video in it either."""
    replay.add("/article", html_reply("<html><body>" + "words " * 200 + "</body></html>"))
    engine = await engine_factory(base_urls={NAME: replay.url()})
    url = replay.url("/article")
    job = await run_job(engine, url, (), 1)
    (src,) = job.sources
    assert (src.state, src.stored) == (SourceState.FAILED, 0)
    assert "Unsupported URL" in (src.error or ""), src.error
    assert await engine.list_assets(None, job_id=job.id) == []


async def test_a_media_file_without_extension_is_looked_at_then_left_to_the_engine(
    replay: ReplayServer, make_settings: MakeSettings
) -> None:
    replay.add("/get", Reply(mp4_bytes(4096), 200, {}, "application/octet-stream"))
    (item,) = await search(make_settings(), replay, DirectSource(), replay.url("/get"))
    assert item.expect == "any" and item.download is None
    assert len(replay.hits("/get")) == 1


async def test_direct_takes_no_search_words(
    engine_factory: EngineFactory,
) -> None:
    """Refused at the front door, before a job is recorded."""
    engine = await engine_factory()
    with pytest.raises(InvalidRequestError, match=r"^direct takes a URL, not search words$"):
        await run_job(engine, "red panda", (NAME,), 1)
    assert await engine.list_jobs(None) == []
