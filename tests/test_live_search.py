"""The keyless image searches against the real sites (``pytest -m live``; needs internet).

A site that answers with a captcha, consent wall or bot check FAILS its test, labelled
``BLOCKED``: a run where every scraper is blocked must not pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.sourcekit import assert_live_stored, run_job

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tuiapp.engine import Engine

SEARCHES = ["bing_images", "duckduckgo_images", "google_images", "yahoo_images", "yandex_images"]


@pytest.mark.live
@pytest.mark.parametrize("name", SEARCHES)
async def test_live_the_search_finds_and_stores_images(
    engine_factory: Callable[..., Awaitable[Engine]], name: str
) -> None:
    engine = await engine_factory()
    job = await run_job(engine, "mountain lake", (name,), 2)
    (src,) = job.sources
    assert_live_stored(src)
    if name == "bing_images":  # bing gives titles; a page read without them is a regression
        assets = await engine.list_assets(None, job_id=job.id)
        assert any(a.title for a in assets)
