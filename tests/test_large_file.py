"""A 300 MB file goes into the database and back out with flat memory."""

from __future__ import annotations

import hashlib
import random
from typing import TYPE_CHECKING

from aiohttp import web

from tests.memory import PeakRSS
from tuiapp.jobs import JobSpec, JobState

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from tests.fake_sources import Script
    from tests.replay import ReplayServer
    from tuiapp.engine import Engine

MiB = 1 << 20
SIZE_MIB = 300


async def test_a_300_mb_file_is_stored_and_exported_byte_identical_with_flat_memory(
    replay: ReplayServer,
    engine_factory: Callable[..., Awaitable[Engine]],
    scripted: Callable[..., Script],
    tmp_path: Path,
) -> None:
    digest = hashlib.sha256()

    async def big(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(
            headers={"Content-Type": "video/mp4", "Content-Length": str(SIZE_MIB * MiB)}
        )
        await resp.prepare(request)
        head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
        for i in range(SIZE_MIB):
            chunk = random.Random(i).randbytes(MiB)
            if i == 0:
                chunk = head + chunk[len(head) :]
            digest.update(chunk)
            await resp.write(chunk)
        await resp.write_eof()
        return resp

    replay.add("/big.mp4", big)
    scripted("fake_video", urls=[replay.url("/big.mp4")], expect="video")
    engine = await engine_factory(global_job_timeout=120.0)

    with PeakRSS() as ingest:
        job = await engine.submit(JobSpec(query="q", sources=("fake_video",), count=1))
        final = await engine.wait(job.id, None)
    assert final.state is JobState.DONE, final.sources[0].error
    (asset,) = await engine.list_assets(None, job_id=job.id)
    assert asset.size == SIZE_MIB * MiB
    assert asset.sha256 == digest.hexdigest()
    assert asset.mime == "video/mp4"

    with PeakRSS() as export:
        (path,) = (await engine.export_job(job.id, None, tmp_path / "out")).written
    exported = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(8 * MiB):
            exported.update(block)
    assert exported.hexdigest() == digest.hexdigest()
    # The file is 300 MB; memory may grow by buffers and SQLite's cache, never by the file.
    print(f"growth ingest={ingest.growth / MiB:.1f} MiB export={export.growth / MiB:.1f} MiB")
    assert ingest.growth < 80 * MiB, f"ingest grew RSS by {ingest.growth / MiB:.0f} MiB"
    assert export.growth < 80 * MiB, f"export grew RSS by {export.growth / MiB:.0f} MiB"
