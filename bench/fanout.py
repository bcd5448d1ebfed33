"""Event fan-out: 17 busy sources' progress reaches the TUI and 20 SSE clients without loss.

One process holds the engine, the TUI (headless, on its dashboard) and the HTTP API with 20 SSE
clients reading `/api/events`. A publisher plays 17 sources sending 10,000 progress events a second
in all, with a lifecycle event (a stored file) every 100. Every client must get every lifecycle
event, in order, and each source's last progress; progress in between may be coalesced.
"""

from __future__ import annotations

import asyncio
import json
import resource
import tempfile
import time
from pathlib import Path

import aiohttp

from tuiapp.config import Settings, sqlite_url
from tuiapp.engine import Engine
from tuiapp.events import AssetStored, JobStarted, JobSubmitted, SourceProgress, SourceStarted
from tuiapp.jobs import JobSpec, JobState, SourceState

SOURCES = 17
RATE = 10_000
SECONDS = float(__import__("os").environ.get("FANOUT_SECONDS", "5"))
CLIENTS = int(__import__("os").environ.get("FANOUT_CLIENTS", "20"))


async def _sse_client(
    url: str, ready: asyncio.Event, got: dict[str, int], last: dict[str, int]
) -> None:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        ready.set()
        event = ""
        async for raw in resp.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                got[event] = got.get(event, 0) + 1
                if event == "source_progress":
                    data = json.loads(line[6:])
                    last[data["source"]] = data["stored"]
                elif event == "job_finished":
                    return


async def run() -> None:
    from tuiapp.app import TuiApp
    from tuiapp.events import JobFinished
    from tuiapp.server import start_server

    with tempfile.TemporaryDirectory(prefix="tuiapp-fanout-") as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=sqlite_url(Path(tmp) / "db.sqlite"))
        async with Engine(settings) as engine:
            names = tuple(s.name for s in engine.sources())[:SOURCES]
            job = await engine.storage.create_job(
                JobSpec(query="fan-out", sources=names, count=1000), owner=None, settings={}
            )
            server = await start_server(engine, "127.0.0.1", 0)
            app = TuiApp(engine)
            async with app.run_test(size=(120, 40)) as pilot:
                await pilot.press("f3")
                got = [dict[str, int]() for _ in range(CLIENTS)]
                last = [dict[str, int]() for _ in range(CLIENTS)]
                ready = [asyncio.Event() for _ in range(CLIENTS)]
                clients = [
                    asyncio.create_task(
                        _sse_client(f"{server.url}/api/events", ready[i], got[i], last[i])
                    )
                    for i in range(CLIENTS)
                ]
                await asyncio.gather(*(r.wait() for r in ready))
                publish = engine.bus.publish
                publish(
                    JobSubmitted(
                        job_id=job.id, owner_id=None, query="fan-out", sources=names, count=1000
                    )
                )
                publish(JobStarted(job_id=job.id, owner_id=None, timeout=300))
                for name in names:
                    publish(
                        SourceStarted(
                            job_id=job.id, owner_id=None, source=name, state=SourceState.DOWNLOADING
                        )
                    )
                cpu0 = resource.getrusage(resource.RUSAGE_SELF)
                started = time.perf_counter()
                sent = lifecycle = 0
                lags = []
                stored = dict.fromkeys(names, 0)
                while (elapsed := time.perf_counter() - started) < SECONDS:
                    due = int(elapsed * RATE)
                    while sent < due:
                        name = names[sent % SOURCES]
                        stored[name] += 1
                        publish(
                            SourceProgress(
                                job_id=job.id, owner_id=None, source=name,
                                state=SourceState.DOWNLOADING, found=stored[name],
                                stored=stored[name], failed=0,
                                bytes=stored[name] * 1000, speed=1e6,
                            )
                        )  # fmt: skip
                        sent += 1
                        if sent % 100 == 0:
                            lifecycle += 1
                            publish(
                                AssetStored(
                                    job_id=job.id, owner_id=None, source=name, asset_id=sent,
                                    url="u", title=None, mime="image/png", size=1, sha256="x",
                                    deduplicated=False,
                                )
                            )  # fmt: skip
                    tick = time.perf_counter()
                    await asyncio.sleep(0.005)
                    lags.append(time.perf_counter() - tick - 0.005)
                wall = time.perf_counter() - started
                publish(
                    JobFinished(
                        job_id=job.id,
                        owner_id=None,
                        state=JobState.DONE,
                        stored=sent,
                        failed=0,
                        bytes=0,
                        elapsed=wall,
                    )
                )
                await asyncio.wait_for(asyncio.gather(*clients), 60)
                cpu1 = resource.getrusage(resource.RUSAGE_SELF)
                await pilot.pause()
                board_stored = {n: s.stored for n, s in app.board.jobs[job.id].sources.items()}
            await server.close()
    cpu = (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) / wall
    received = min(g.get("asset_stored", 0) for g in got)
    lifecycle_ok = all(g.get("asset_stored", 0) == lifecycle for g in got)
    final_ok = all(lst == stored for lst in last) and board_stored == stored
    progress = [g.get("source_progress", 0) for g in got]
    ok = lifecycle_ok and final_ok
    print(
        f"fanout: {sent / wall:,.0f} progress events/s from {SOURCES} sources to the TUI and"
        f" {CLIENTS} SSE clients: each client got {min(progress):,}-{max(progress):,} progress"
        f" ({1 - max(progress) / sent:.0%}+ coalesced), {received} of {lifecycle} lifecycle"
        " events,"
        f" last values {'exact' if final_ok else 'WRONG'}; loop lag max {max(lags) * 1000:.0f} ms;"
        f" CPU {cpu:.2f} s per second | target: no lifecycle event lost, final values exact:"
        f" {'ok' if ok else 'MISSED'}",
        flush=True,
    )
    if not ok:
        raise SystemExit(1)
