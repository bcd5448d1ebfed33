"""New-only jobs: what the library holds is skipped before it is fetched, and counted as known."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from tests.images import png
from tests.photos import encode, picture, resized
from tests.replay import Reply
from tests.serverkit import wait_until_finished
from tuiapp.engine import Engine
from tuiapp.events import JobFinished, SourceFinished
from tuiapp.jobs import JobSpec, JobState
from tuiapp.server import create_app

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from pytest_aiohttp import AiohttpClient

    from tests.conftest import EngineFactory, MakeSettings
    from tests.fake_sources import Script
    from tests.replay import ReplayServer

    Scripted = Callable[..., Script]

KEY = "test-pexels-key"


class GrowingOrigin:
    """A Pexels-shaped API on the replay server whose listing grows at the top."""

    def __init__(self, replay: ReplayServer) -> None:
        self.replay = replay
        self.ids: list[int] = []
        replay.add("/v1/search", self._search)

    def add(self, *ids: int) -> None:
        """New photos, listed first (newest first, as a search by date is)."""
        for photo_id in ids:
            self.replay.add(
                self.path(photo_id), Reply(png(seed=photo_id), content_type="image/png")
            )
        self.ids = [*reversed(ids), *self.ids]

    def path(self, photo_id: int) -> str:
        return f"/photos/{photo_id}.png"

    def fetched(self) -> list[int]:
        """The photos whose files were asked for, in order."""
        return [
            int(r.path.removeprefix("/photos/").removesuffix(".png"))
            for r in self.replay.requests
            if r.path.startswith("/photos/")
        ]

    async def _search(self, request: web.Request) -> web.Response:
        per_page = int(request.query["per_page"])
        page = int(request.query.get("page", "1"))
        chosen = self.ids[(page - 1) * per_page : page * per_page]
        more = page * per_page < len(self.ids)
        data: dict[str, Any] = {
            "page": page,
            "per_page": per_page,
            "photos": [
                {
                    "id": i,
                    "width": 32,
                    "height": 24,
                    "url": f"https://www.pexels.com/photo/{i}/",
                    "photographer": "someone",
                    "src": {"original": self.replay.url(self.path(i))},
                }
                for i in chosen
            ],
        }
        if more:
            data["next_page"] = f"https://api.pexels.com/v1/search?page={page + 1}"
        return web.json_response(data)


@pytest.fixture
def origin(replay: ReplayServer) -> GrowingOrigin:
    return GrowingOrigin(replay)


async def pexels_engine(engine_factory: EngineFactory, replay: ReplayServer) -> Engine:
    """An engine whose pexels source asks the replay server (with a key)."""
    return await engine_factory(
        base_urls={"pexels": replay.url()}, api_keys={"PEXELS_API_KEY": KEY}
    )


async def _run(engine: Engine, spec: JobSpec) -> tuple[Any, list[Any]]:
    with engine.subscribe() as sub:
        job = await engine.submit(spec)
        final = await engine.wait(job.id, None)
        events = []
        async for event in sub:
            events.append(event)
            if isinstance(event, JobFinished) and event.job_id == job.id:
                break
    return final, events


async def test_the_second_run_fetches_only_the_three_photos_added_at_the_top(
    origin: GrowingOrigin, replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    engine = await pexels_engine(engine_factory, replay)
    spec = JobSpec(query="cats", sources=("pexels",), count=5, new_only=True)
    origin.add(1, 2, 3, 4, 5)
    first, _ = await _run(engine, spec)
    assert first.state is JobState.DONE
    assert (first.stored, first.known) == (5, 0)
    assert sorted(origin.fetched()) == [1, 2, 3, 4, 5]

    origin.add(6, 7, 8)
    before = len(replay.requests)
    second, events = await _run(engine, spec)
    asked = [r.path for r in replay.requests[before:]]
    assert second.state is JobState.DONE
    assert (second.stored, second.known) == (3, 5)
    assert second.new_only
    # The origin saw no request for any of the first five files during the second run.
    assert not [p for p in asked if p in {origin.path(i) for i in (1, 2, 3, 4, 5)}]
    assert sorted(origin.fetched()) == [1, 2, 3, 4, 5, 6, 7, 8]
    stored = await engine.list_assets(None, job_id=second.id)
    assert sorted(a.url for a in stored) == [replay.url(origin.path(i)) for i in (6, 7, 8)]
    (finished,) = [e for e in events if isinstance(e, SourceFinished)]
    assert (finished.stored, finished.known) == (3, 5)
    (ended,) = [e for e in events if isinstance(e, JobFinished)]
    assert ended.known == 5


async def test_without_new_only_the_same_job_fetches_everything_again(
    origin: GrowingOrigin, replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    """The control of the test above: the skipping is new-only's doing."""
    engine = await pexels_engine(engine_factory, replay)
    origin.add(1, 2, 3, 4, 5)
    spec = JobSpec(query="cats", sources=("pexels",), count=5)
    await _run(engine, spec)
    origin.add(6, 7, 8)
    second, _ = await _run(engine, spec)
    assert (second.stored, second.known) == (5, 0)
    assert sorted(origin.fetched()) == [1, 2, 3, 4, 4, 5, 5, 6, 7, 8]


async def test_count_means_new_files_the_source_pages_further(
    origin: GrowingOrigin, replay: ReplayServer, engine_factory: EngineFactory
) -> None:
    engine = await pexels_engine(engine_factory, replay)
    origin.add(*range(1, 21))
    await _run(engine, JobSpec(query="cats", sources=("pexels",), count=20))
    origin.add(*range(100, 140))  # 40 new at the top: pages of 15 hold 20 known after them
    second, _ = await _run(
        engine, JobSpec(query="cats", sources=("pexels",), count=5, new_only=True)
    )
    assert (second.stored, second.known) == (5, 0)
    # Another run lists past what it stored before and past what is known.
    third, _ = await _run(
        engine, JobSpec(query="cats", sources=("pexels",), count=40, new_only=True)
    )
    assert third.stored == 35
    assert third.known == 25  # the 5 of the last run and the 20 of the first
    assert len(set(origin.fetched())) == 60


async def test_the_same_bytes_under_another_url_are_known_after_fetching_and_not_kept(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    body = png(seed=42)
    replay.add("/a.png", Reply(body, content_type="image/png"))
    replay.add("/b.png", Reply(body, content_type="image/png"))
    replay.add("/c.png", Reply(png(seed=43), content_type="image/png"))
    scripted("fake_a", urls=[replay.url("/a.png")])
    scripted("fake_b", urls=[replay.url("/b.png"), replay.url("/c.png")])
    engine = await engine_factory()
    await _run(engine, JobSpec(query="q", sources=("fake_a",), count=1))
    final, _ = await _run(engine, JobSpec(query="q", sources=("fake_b",), count=5, new_only=True))
    assert (final.stored, final.known) == (1, 1)
    assets = await engine.list_assets(None, job_id=final.id)
    assert [a.url for a in assets] == [replay.url("/c.png")]
    report = await engine.integrity_report()
    assert report["partial_blobs"] == 0 and report["orphan_chunks"] == 0


async def test_a_near_duplicate_picture_is_known_after_fetching(
    replay: ReplayServer, make_settings: MakeSettings, scripted: Scripted
) -> None:
    big = encode(picture(3))  # 800x600
    small = encode(resized(picture(3), 640, 480), quality=60)
    replay.add("/big.jpg", Reply(big, content_type="image/jpeg"))
    replay.add("/small.jpg", Reply(small, content_type="image/jpeg"))
    scripted("fake_a", urls=[replay.url("/big.jpg")])
    scripted("fake_b", urls=[replay.url("/small.jpg")])
    async with Engine(make_settings(near_duplicates=True)) as engine:
        await _run(engine, JobSpec(query="q", sources=("fake_a",), count=1))
        final, _ = await _run(
            engine, JobSpec(query="q", sources=("fake_b",), count=1, new_only=True)
        )
    assert (final.stored, final.known) == (0, 1)
    assert final.state is JobState.DONE


async def test_items_are_known_by_source_a_url_of_another_source_is_new(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    replay.add("/a.png", Reply(png(seed=1), content_type="image/png"))
    scripted("fake_a", urls=[replay.url("/a.png")])
    scripted("fake_b", urls=[replay.url("/a.png")])
    engine = await engine_factory()
    await _run(engine, JobSpec(query="q", sources=("fake_a",), count=1))
    again, _ = await _run(engine, JobSpec(query="q", sources=("fake_a",), count=1, new_only=True))
    assert (again.stored, again.known) == (0, 1)
    assert len(replay.hits("/a.png")) == 1  # known by its URL: not fetched
    other, _ = await _run(engine, JobSpec(query="q", sources=("fake_b",), count=1, new_only=True))
    # Another source's item is fetched; its bytes are then known.
    assert (other.stored, other.known) == (0, 1)
    assert len(replay.hits("/a.png")) == 2


async def test_what_another_owner_holds_is_new(
    replay: ReplayServer, engine_factory: EngineFactory, scripted: Scripted
) -> None:
    replay.add("/a.png", Reply(png(seed=1), content_type="image/png"))
    scripted("fake_a", urls=[replay.url("/a.png")])
    engine = await engine_factory()
    alice, _ = await engine.create_user("alice")
    await _run(engine, JobSpec(query="q", sources=("fake_a",), count=1))
    job = await engine.submit(
        JobSpec(query="q", sources=("fake_a",), count=1, new_only=True), alice.id
    )
    final = await engine.wait(job.id, alice.id)
    assert (final.stored, final.known) == (1, 0)


@pytest.mark.usefixtures("responses_conform")
async def test_the_api_takes_new_only_and_answers_known(
    origin: GrowingOrigin,
    replay: ReplayServer,
    engine_factory: EngineFactory,
    aiohttp_client: AiohttpClient,
) -> None:
    engine = await pexels_engine(engine_factory, replay)
    client = await aiohttp_client(create_app(engine))
    origin.add(1, 2)
    body = {"query": "cats", "sources": ["pexels"], "count": 2, "new_only": True}
    for expected in ((2, 0), (1, 2)):
        resp = await client.post("/api/jobs", json=body)
        assert resp.status == 202, await resp.text()
        job = await wait_until_finished(client, (await resp.json())["href"])
        assert job["new_only"] is True
        assert (job["stored"], job["known"]) == expected
        assert job["sources"][0]["known"] == expected[1]
        origin.add(3)
    resp = await client.post("/api/jobs", json={**body, "new_only": "yes"})
    assert resp.status == 400
    assert "new_only" in (await resp.json())["error"]["message"]


async def test_get_new_only_from_the_command_line_fetches_only_the_new_photos(
    origin: GrowingOrigin, replay: ReplayServer, tmp_path: Path
) -> None:
    from tests.test_cli import _tuiapp

    (tmp_path / "no.env").write_text("")
    env = {
        "TUIAPP_DATA_DIR": str(tmp_path / "data"),
        "TUIAPP_PEXELS_BASE_URL": replay.url(),
        "PEXELS_API_KEY": KEY,
        "TUIAPP_ENV_FILE": str(tmp_path / "no.env"),
        "HOME": str(tmp_path),
    }
    args = ("get", "cats", "-s", "pexels", "-n", "5", "--new-only")
    origin.add(1, 2, 3, 4, 5)
    code, out, err = await _tuiapp(env, *args)
    assert code == 0, err
    assert (json.loads(out)["new"], json.loads(out)["known"]) == (5, 0)
    origin.add(6, 7, 8)
    before = len(replay.requests)
    code, out, err = await _tuiapp(env, *args)
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["new"], summary["known"]) == (3, 5)
    assert summary["job"]["new_only"] is True
    assert sorted(a["url"] for a in summary["assets"]) == [
        replay.url(origin.path(i)) for i in (6, 7, 8)
    ]
    asked = {r.path for r in replay.requests[before:]}
    assert not asked & {origin.path(i) for i in (1, 2, 3, 4, 5)}
    assert "3 new, 5 known" in err
    # Nothing new is an answer, not a failure.
    code, out, err = await _tuiapp(env, *args)
    assert code == 0, err
    assert (json.loads(out)["new"], json.loads(out)["known"]) == (0, 8)
