"""Helpers for the per-source tests: a real context on the replay server, fixtures, images, jobs.

A source under test gets the engine's own HTTP client (``Fetcher``) pointed at the replay
server, so retries, status handling and headers are the real ones. Fixtures whose image URLs
name a remote host are rebased onto the replay server before they are served, so every download
in a test stays on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import pytest

from tests import images
from tests.replay import FIXTURES, Reply
from tuiapp.fetch import Fetcher
from tuiapp.jobs import JobSpec, SourceState
from tuiapp.sources.base import Found, Source, SourceContext, SourceQuery

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
    from pathlib import Path

    from tests.replay import ReplayServer
    from tuiapp.config import Settings
    from tuiapp.engine import Engine
    from tuiapp.jobs import AssetInfo, JobInfo, JobSourceInfo
    from tuiapp.sources.base import AnswerStore

__all__ = [
    "Clock",
    "FixtureKind",
    "Probe",
    "assert_live_stored",
    "collect",
    "fixture_json",
    "fixture_pages",
    "fixture_text",
    "html_reply",
    "job_and_assets",
    "probe",
    "rebased",
    "run_job",
    "search",
    "serve_images",
    "serve_pages",
]


@dataclass(slots=True)
class Probe:
    """A source context wired to the replay server, and what the source told the user."""

    ctx: SourceContext
    notices: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Clock:
    """A clock a test moves by hand (for quota reset times and cache ages)."""

    now: float

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def probe(
    settings: Settings,
    base_url: str,
    *,
    api_key: str | None = None,
    source_settings: Mapping[str, Any] | None = None,
    cache_dir: Path | None = None,
    answers: AnswerStore | None = None,
) -> AsyncIterator[Probe]:
    fetcher = Fetcher(settings)
    await fetcher.start()
    notices: list[str] = []
    ctx = SourceContext(
        http=fetcher,
        base_url=base_url,
        api_key=api_key,
        user_agent=settings.user_agent,
        scratch_dir=settings.data_dir / "scratch",
        log=logging.getLogger("tests.sources"),
        cancelled=lambda: False,
        notice=notices.append,
        settings=dict(source_settings or {}),
        cache_dir=cache_dir,
        answers=answers,
    )
    try:
        yield Probe(ctx, notices)
    finally:
        await fetcher.close()


async def collect(
    source: Source,
    ctx: SourceContext,
    text: str,
    *,
    limit: int | None = None,
    count: int = 10,
    options: Mapping[str, Any] | None = None,
) -> list[Found]:
    """Pull items the way the engine does: lazily, stopping after ``limit``."""
    query = SourceQuery(text=text, count=count, options=dict(options or {}))
    items = source.iterate(query, ctx)
    found: list[Found] = []
    try:
        async for item in items:
            found.append(item)
            if limit is not None and len(found) >= limit:
                break
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()
    return found


async def search(
    settings: Settings,
    replay: ReplayServer,
    source: Source,
    text: str,
    *,
    api_key: str | None = None,
    limit: int | None = None,
    count: int = 10,
    options: Mapping[str, Any] | None = None,
) -> list[Found]:
    """One search on a fresh probe of ``replay`` (:func:`collect`), the probe closed after."""
    async with probe(settings, replay.url(), api_key=api_key) as p:
        return await collect(source, p.ctx, text, limit=limit, count=count, options=options)


FixtureKind = Literal["recorded", "handwritten", "from_docs", "from_client_tests"]


def fixture_text(kind: FixtureKind, source: str, name: str) -> str:
    """A fixture file from the folder for its ``kind`` (see ``tests/fixtures/README.md``)."""
    path: Path = FIXTURES / kind / source / name
    return path.read_text(encoding="utf-8")


def fixture_pages(kind: FixtureKind, source: str, names: Mapping[str, str]) -> dict[str, str]:
    """The text of each fixture in ``names``, under the same keys (pages for :func:`serve_pages`)."""
    return {key: fixture_text(kind, source, name) for key, name in names.items()}


def fixture_json(
    kind: FixtureKind, source: str, name: str, base: str, hosts: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A JSON fixture, :func:`rebased` onto ``base`` before it is parsed."""
    data: dict[str, Any] = json.loads(rebased(fixture_text(kind, source, name), base, hosts))
    return data


def rebased(text: str, base: str, hosts: tuple[str, ...] = ()) -> str:
    """``{BASE}`` and every ``https://<host>`` in ``hosts`` replaced by the replay server's URL.

    ``{BASE_QUOTED}`` is the URL percent-encoded, as it appears inside another URL's query.
    """
    text = text.replace("{BASE_QUOTED}", quote(base, safe="")).replace("{BASE}", base)
    for host in hosts:
        text = text.replace(f"https://{host}", base)
    return text


def html_reply(text: str, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(text.encode(), status, headers or {}, "text/html")


def serve_pages(
    replay: ReplayServer, path: str, param: str, pages: Mapping[str, str], last: str
) -> None:
    """Serve HTML pages at ``path`` by the value of query parameter ``param`` ("" when absent).

    ``pages`` maps that value to a fixture's text; any other value gets page ``last`` again, as a
    site does past its end. Pages are rebased onto the replay server as they are sent.
    """
    from aiohttp import web

    async def handler(request: web.Request) -> web.Response:
        body = pages.get(request.query.get(param, ""), pages[last])
        return web.Response(text=rebased(body, replay.url()), content_type="text/html")

    replay.add(path, handler)


def serve_images(
    replay: ReplayServer, paths: list[str], *, jpeg: bool = False, first_seed: int = 0
) -> dict[str, str]:
    """Serve a distinct real image at each path; returns path -> its full replay URL.

    Images of different calls differ when their ``first_seed`` ranges do not overlap.
    """
    urls: dict[str, str] = {}
    for seed, path in enumerate(paths, start=first_seed):
        body = images.jpeg(seed=seed) if jpeg else images.png(seed=seed)
        replay.add(path, Reply(body, 200, {}, "image/jpeg" if jpeg else "image/png"))
        urls[path] = replay.url(path)
    return urls


async def run_job(
    engine: Engine, query: str, sources: tuple[str, ...], count: int, **options: Any
) -> JobInfo:
    job = await engine.submit(JobSpec(query=query, sources=sources, count=count, options=options))
    return await engine.wait(job.id, None)


async def job_and_assets(
    engine_factory: Callable[..., Awaitable[Engine]],
    base_url: str,
    name: str,
    query: str,
    count: int,
    **engine_settings: Any,
) -> tuple[JobInfo, list[AssetInfo]]:
    """A job of source ``name`` (its site at ``base_url``) run to its end on a new engine.

    Returns the finished job and the assets it stored, sorted by URL.
    """
    engine = await engine_factory(base_urls={name: base_url}, **engine_settings)
    job = await run_job(engine, query, (name,), count)
    assets = sorted(await engine.list_assets(None, job_id=job.id), key=lambda a: a.url)
    return job, assets


def assert_live_stored(src: JobSourceInfo) -> None:
    """A live run of one source stored a file; a captcha or bot wall fails with its own label.

    Being blocked is a failure, not a skip: a run where every scraper is blocked must not pass.
    """
    if src.state is SourceState.BLOCKED or src.error_code == "blocked":
        pytest.fail(f"BLOCKED {src.source}: {src.error}", pytrace=False)
    assert src.stored >= 1, f"{src.source}: {src.state.value} ({src.error_code}): {src.error}"
