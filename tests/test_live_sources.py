"""Live runs of the sources no other live test covers (``pytest -m live``; needs internet).

Image generators, the URL-only video sites and direct links, each through the engine with its
real base URL. A blocked answer fails, labelled ``BLOCKED``. The last test (not live) checks that
every registered source has a live test somewhere.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.sourcekit import assert_live_stored, run_job
from tuiapp import sources as registry
from tuiapp.jobs import JobSourceInfo, SourceState

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tuiapp.engine import Engine

GENERATORS = ["picsum", "placeholder", "dummyimage", "robohash"]
URL_VIDEOS = ["vimeo", "tiktok", "twitch"]
DIRECT_IMAGE = (
    "https://upload.wikimedia.org/wikipedia/commons/4/47/PNG_transparency_demonstration_1.png"
)
"""A long-lived file on a host no site source claims."""


@pytest.mark.live
@pytest.mark.parametrize("name", GENERATORS)
async def test_live_the_generator_stores_images(
    engine_factory: Callable[..., Awaitable[Engine]], name: str
) -> None:
    engine = await engine_factory()
    job = await run_job(engine, "tuiapp", (name,), 2)
    (src,) = job.sources
    assert_live_stored(src)


@pytest.mark.live
@pytest.mark.parametrize("name", URL_VIDEOS)
async def test_live_the_video_site_downloads_its_example_url(
    engine_factory: Callable[..., Awaitable[Engine]], name: str
) -> None:
    url = registry.get(name).example
    engine = await engine_factory(
        global_job_timeout=300.0, source_timeout=240.0, request_timeout=30.0
    )
    job = await run_job(engine, url, (), 1)  # routed by the URL
    assert [s.source for s in job.sources] == [name]
    (src,) = job.sources
    assert_live_stored(src)
    (asset,) = await engine.list_assets(None, job_id=job.id)
    assert asset.kind == "video"


@pytest.mark.live
async def test_live_a_direct_link_is_routed_and_stored(
    engine_factory: Callable[..., Awaitable[Engine]],
) -> None:
    engine = await engine_factory()
    job = await run_job(engine, DIRECT_IMAGE, (), 1)
    (src,) = job.sources
    assert_live_stored(src)
    (asset,) = await engine.list_assets(None, job_id=job.id)
    assert asset.mime == "image/png"


def test_every_source_has_a_live_test() -> None:
    """Each registered source name appears in the id of at least one collected live test."""
    tests_dir = Path(__file__).resolve().parent
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "live", "--collect-only", "-q", "-p", "no:randomly"],
        cwd=tests_dir.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    ids = [line for line in out.stdout.splitlines() if "::" in line]
    assert ids, out.stdout + out.stderr
    assert all("live" in i.split("::")[-1] for i in ids)  # only live tests were collected
    uncovered = [n for n in registry.names() if not any(n in i for i in ids)]
    assert uncovered == []


def _outcome(state: SourceState, stored: int, code: str | None) -> JobSourceInfo:
    return JobSourceInfo(
        source="yandex_images",
        state=state,
        found=stored,
        stored=stored,
        failed=0,
        bytes=0,
        error="blocked by captcha" if code == "blocked" else None,
        error_code=code,
    )


def test_a_blocked_live_run_fails_with_its_own_label_and_is_never_skipped() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"^BLOCKED yandex_images: blocked by captcha"):
        assert_live_stored(_outcome(SourceState.BLOCKED, 0, "blocked"))
    with pytest.raises(AssertionError, match="yandex_images: done"):
        assert_live_stored(_outcome(SourceState.DONE, 0, None))
    assert_live_stored(_outcome(SourceState.DONE, 1, None))
