"""A process killed with SIGKILL mid-job: the next start finds the job interrupted, nothing corrupt."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import TYPE_CHECKING

from aiohttp import web

from tests.images import jpeg
from tests.replay import ReplayServer, Reply, stream
from tuiapp.jobs import JobState, SourceState

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from tuiapp.engine import Engine


async def test_kill_9_during_a_job_leaves_it_interrupted_and_the_database_whole(
    replay: ReplayServer, engine_factory: Callable[..., Awaitable[Engine]], tmp_path: Path
) -> None:
    items = [
        {"id": str(i), "author": "a", "width": 1000, "height": 500, "url": "u"} for i in range(30)
    ]

    async def listing(request: web.Request) -> web.StreamResponse:
        return web.json_response(items if request.query.get("page") == "1" else [])

    replay.add("/v2/list", listing)
    for i in range(30):
        if i % 3 == 0:  # quick small files: some are stored before the kill
            replay.add(f"/id/{i}/1000/500.jpg", Reply(jpeg(seed=i), content_type="image/jpeg"))
        else:  # large slow files: in flight, partly written, when the kill comes
            chunk = b"\xff\xd8\xff\xe0" + os.urandom(256 * 1024 - 4)
            replay.add(f"/id/{i}/1000/500.jpg", stream(40, chunk, "image/jpeg", delay=0.05))
    env = {
        **os.environ,
        "TUIAPP_DATA_DIR": str(tmp_path / "data"),
        "TUIAPP_PICSUM_BASE_URL": replay.url(),
        "TUIAPP_ENV_FILE": str(tmp_path / ".env"),
    }
    (tmp_path / ".env").write_text("")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tuiapp", "get", "cats", "-s", "picsum", "-n", "30",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    stored_lines = 0
    while stored_lines < 3:
        line = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert line, "tuiapp get ended before storing 3 files"
        stored_lines += line.startswith(b"picsum: stored")
    await asyncio.sleep(0.5)  # large files are mid-transfer now
    proc.send_signal(signal.SIGKILL)
    await proc.wait()

    import sqlite3

    db = sqlite3.connect(tmp_path / "data" / "tuiapp.db")
    (partial,) = db.execute("SELECT count(*) FROM media_blob WHERE complete = 0").fetchone()
    db.close()
    assert partial > 0, "the kill should have caught files mid-write"

    from tuiapp.config import sqlite_url

    engine = await engine_factory(
        data_dir=tmp_path / "data", database_url=sqlite_url(tmp_path / "data" / "tuiapp.db")
    )
    assert len(engine.interrupted) == 1
    info = await engine.get_job(engine.interrupted[0], None)
    assert info.state is JobState.INTERRUPTED
    assert info.sources[0].state is SourceState.INTERRUPTED
    assets = await engine.list_assets(None, job_id=info.id)
    assert info.stored == len(assets) >= 3
    report = await engine.integrity_report()
    assert report == {
        "bad_blobs": [],
        "orphan_chunks": 0,
        "partial_blobs": 0,
        "integrity_check": "ok",
    }
    for asset in assets:
        _, chunks = await engine.read_asset(asset.id, None)
        assert sum([len(c) async for c in chunks]) == asset.size
