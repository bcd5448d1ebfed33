"""A 2 GB job downloaded as a zip through the API: peak memory of the serving process (target:
under 100 MB) and throughput.

The job's eight 256 MiB files are stored by a child process first, so the peak measured here is
the serving alone: the engine, the HTTP server and the zip stream, with the client (aiohttp,
reading and discarding) in the same process.
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

FILES = 8
FILE_SIZE = 256 * 1024 * 1024
PIECE = 1024 * 1024


def _store(db: Path) -> None:
    from tuiapp.config import sqlite_url
    from tuiapp.jobs import JobSpec
    from tuiapp.storage import NewAsset, Storage

    async def main() -> None:
        storage = Storage(sqlite_url(db))
        await storage.open()
        try:
            spec = JobSpec(query="big", sources=("picsum",), count=FILES)
            job = await storage.create_job(spec, owner=None, settings={})
            for n in range(FILES):
                sink = storage.new_sink(None)
                piece = os.urandom(PIECE)
                for i in range(FILE_SIZE // PIECE):
                    await sink.write(piece[:8] + i.to_bytes(8, "big") + piece[16:])
                asset = NewAsset(
                    job_id=job.id, source="picsum", kind="image", url=f"u{n}", title=f"big {n}"
                )
                await sink.finish(mime="image/jpeg", asset=asset)
        finally:
            await storage.close()

    asyncio.run(main())


async def _download(data_dir: Path) -> tuple[int, float, float, float]:
    import aiohttp

    from tuiapp.config import Settings, sqlite_url
    from tuiapp.engine import Engine
    from tuiapp.server import start_server

    settings = Settings(data_dir=data_dir, database_url=sqlite_url(data_dir / "bench.db"))
    async with Engine(settings) as engine:
        server = await start_server(engine, port=0)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        received = 0
        started = time.perf_counter()
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{server.url}/api/jobs/1/files.zip") as resp,
            ):
                resp.raise_for_status()
                async for piece in resp.content.iter_chunked(PIECE):
                    received += len(piece)
        finally:
            await server.close()
        elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return received, elapsed, before, peak


def run(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    db = data_dir / "bench.db"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", f"from bench.zipping import _store; _store({str(db)!r})"],
        check=True,
    )
    stored_in = time.perf_counter() - started
    received, elapsed, before, peak = asyncio.run(_download(data_dir))
    verdict = "ok" if peak < 100 and received > FILES * FILE_SIZE else "MISSED"
    print(
        f"zip: a job of {FILES} x 256 MiB (stored in {stored_in:.0f} s) downloaded as a zip of"
        f" {received / 1e9:.2f} GB in {elapsed:.1f} s ({received / 1e6 / elapsed:.0f} MB/s);"
        f" peak RSS {peak:.0f} MB ({before:.0f} MB before the download)"
        f" | target peak < 100 MB: {verdict}"
    )
