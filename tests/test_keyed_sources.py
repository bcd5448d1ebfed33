"""What the three keyed APIs share: no key means no request and an error naming the setting."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from tests.sourcekit import collect, probe, run_job
from tuiapp import sources
from tuiapp.errors import MissingKeyError
from tuiapp.jobs import SourceState

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tests.conftest import MakeSettings
    from tests.replay import ReplayServer
    from tuiapp.engine import Engine

KEYED = [
    ("pexels", "PEXELS_API_KEY", "Pexels License"),
    ("pixabay", "PIXABAY_API_KEY", "Pixabay Content License"),
    ("unsplash", "UNSPLASH_ACCESS_KEY", "Unsplash License"),
]
NAMES = [name for name, _, _ in KEYED]


@pytest.mark.parametrize(("name", "setting", "licence"), KEYED, ids=NAMES)
async def test_without_a_key_nothing_is_asked(
    replay: ReplayServer, make_settings: MakeSettings, name: str, setting: str, licence: str
) -> None:
    async with probe(make_settings(), replay.url(), api_key=None) as p:
        with pytest.raises(MissingKeyError, match=f"set {setting}"):
            await collect(sources.get(name)(), p.ctx, "nature")
    assert replay.requests == []


@pytest.mark.parametrize(("name", "setting", "licence"), KEYED, ids=NAMES)
async def test_a_job_without_the_key_fails_that_source_naming_the_setting(
    replay: ReplayServer,
    engine_factory: Callable[..., Awaitable[Engine]],
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
    engine_factory: Callable[..., Awaitable[Engine]], name: str, setting: str, licence: str
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
