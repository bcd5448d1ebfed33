"""`tuiapp get` over a keyless search source and two key APIs, all on the replay server.

Runs the real command in a subprocess, configured only through environment variables
(``TUIAPP_<SOURCE>_BASE_URL``, the API keys, ``TUIAPP_DATA_DIR``), and reads its JSON summary.
Each source gets its own path prefix on the server, as a mirror or proxy would give it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.replay import FROM_CLIENT_TESTS, json_reply
from tests.sourcekit import fixture_text, rebased, serve_images

if TYPE_CHECKING:
    from pathlib import Path

    from tests.replay import ReplayServer

PEXELS_KEY = "cli-pexels-key"
UNSPLASH_KEY = "cli-unsplash-key"


def bing(replay: ReplayServer) -> None:
    pages = {
        "1": fixture_text("handwritten", "bing_images", "async_page1_handwritten.html"),
        "36": fixture_text("handwritten", "bing_images", "async_page2_handwritten.html"),
    }

    async def handler(request: web.Request) -> web.Response:
        body = pages.get(request.query.get("first", ""), pages["36"])
        return web.Response(text=rebased(body, replay.url()), content_type="text/html")

    replay.add("/bing/images/async", handler)
    serve_images(replay, [f"/img/lake-{n}.jpg" for n in (1, 3, 4)], jpeg=True, first_seed=100)
    serve_images(replay, ["/img/lake-2.png"], first_seed=110)


def pexels(replay: ReplayServer) -> None:
    def page(name: str) -> dict[str, Any]:
        text = (FROM_CLIENT_TESTS / "pexels" / f"{name}.json").read_text()
        data: dict[str, Any] = json.loads(rebased(text, replay.url(), hosts=("images.pexels.com",)))
        return data

    pages = {
        "1": page("search_photos"),
        "2": page("search_photos_second_page"),
        "3": page("search_photos_last_page"),
    }
    quota = {"X-Ratelimit-Remaining": "199", "X-Ratelimit-Limit": "200"}

    async def handler(request: web.Request) -> web.Response:
        return web.json_response(pages[request.query.get("page", "1")], headers=quota)

    replay.add("/pexels/v1/search", handler)
    serve_images(
        replay,
        ["/photos/3573351/pexels-photo-3573351.png", "/photos/1547813/pexels-photo-1547813.jpeg"],
        first_seed=200,
    )


def unsplash(replay: ReplayServer) -> list[str]:
    """Two recorded pages; returns the ids of the photos in them."""

    def page(name: str) -> dict[str, Any]:
        text = (FROM_CLIENT_TESTS / "unsplash" / f"{name}.json").read_text()
        data: dict[str, Any] = json.loads(
            rebased(text, replay.url(), hosts=("images.unsplash.com",))
        )
        return data

    first, second = page("search_photos_dog_p1_pp3"), page("search_photos_dog_portrait_pp3")
    second["total_pages"] = 2

    async def handler(request: web.Request) -> web.Response:
        return web.json_response(second if request.query.get("page") == "2" else first)

    replay.add("/unsplash/search/photos", handler)
    replay.add("/unsplash/photos/*", json_reply({"url": "tracked"}))
    paths = sorted(
        {
            "/" + photo["urls"]["full"].removeprefix(replay.url() + "/").split("?", 1)[0]
            for data in (first, second)
            for photo in data["results"]
        }
    )
    serve_images(replay, paths, jpeg=True, first_seed=300)
    return paths


async def test_tuiapp_get_runs_three_sources_against_the_replay_server(
    replay: ReplayServer, tmp_path: Path
) -> None:
    bing(replay)
    pexels(replay)
    unsplash(replay)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TUIAPP_") and not k.endswith(("_API_KEY", "_ACCESS_KEY"))
    }
    env.update(
        TUIAPP_DATA_DIR=str(tmp_path / "data"),
        TUIAPP_BING_IMAGES_BASE_URL=replay.url("/bing"),
        TUIAPP_PEXELS_BASE_URL=replay.url("/pexels"),
        TUIAPP_UNSPLASH_BASE_URL=replay.url("/unsplash"),
        PEXELS_API_KEY=PEXELS_KEY,
        UNSPLASH_ACCESS_KEY=UNSPLASH_KEY,
        TUIAPP_RETRY_BASE_DELAY="0.01",
    )
    args = ["get", "mountain lake", "-s", "bing_images", "-s", "pexels", "-s", "unsplash"]
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tuiapp",
        *args,
        "-n",
        "10",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode()
    assert time.monotonic() - started < 120
    summary = json.loads(out)

    job = summary["job"]
    assert job["query"] == "mountain lake"
    assert job["state"] == "done"
    sources = {s["source"]: s for s in job["sources"]}
    # Every source ran out of results before 10 and stored all it found.
    assert {name: (s["state"], s["stored"]) for name, s in sources.items()} == {
        "bing_images": ("done", 4),
        "pexels": ("done", 2),
        "unsplash": ("done", 5),
    }
    assert job["stored"] == 11
    assets = summary["assets"]
    assert len(assets) == 11
    by_source: dict[str, set[str | None]] = {}
    for asset in assets:
        by_source.setdefault(asset["source"], set()).add(asset["title"])
        assert asset["url"].startswith(replay.url())  # every download stayed local
        assert asset["mime"] in {"image/jpeg", "image/png"}
    assert "Mountain lake at dawn" in by_source["bing_images"]
    assert by_source["pexels"] == {"Brown Rocks During Golden Hour", "Red Trees"}
    assert "black pug with gray knit scarf" in by_source["unsplash"]
    # Progress went to stderr, not into the JSON on stdout.
    assert "bing_images: done, 4 stored" in err.decode()
    # The quota notice of the key API reached the terminal as it came, once named.
    assert "\npexels: 199 of 200 requests left\n" in err.decode()
    assert "pexels: pexels:" not in err.decode()
    # Each keyed API got its own key, in its own way.
    (pexels_hit,) = {r.headers["Authorization"] for r in replay.hits("/pexels/v1/search")}
    assert pexels_hit == PEXELS_KEY
    unsplash_auth = {r.headers["Authorization"] for r in replay.hits("/unsplash/search/photos")}
    assert unsplash_auth == {f"Client-ID {UNSPLASH_KEY}"}
