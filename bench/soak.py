"""Soak: `tuiapp serve` under a steady load for N minutes; its memory must stay flat.

``python -m bench soak --minutes N [--target serve|postgres|tui]``. One process runs a
picsum-shaped origin (:mod:`bench.picsum_origin`, new photos at every listing) and the clients;
the process watched runs on its own on loopback, with the origin as picsum's base URL:
`tuiapp serve` on SQLite (the default), `tuiapp serve --worker` on a throwaway PostgreSQL
server, or the terminal app in a tmux session with the Board open (:mod:`bench.soak_targets`).
The clients submit one 3-picture job a second through the HTTP API and keep 5 event-stream
clients reading `/api/events`, each reconnecting (with ``Last-Event-ID``) every few seconds.

Every minute it prints the server's resident memory (RSS, and its anonymous part), its open
descriptors and threads (from ``/proc``), its asyncio tasks (``tasks`` in `/api/health`), and
the jobs that ended that minute. At the end: RSS and tasks after the first 2 minutes and at the
end, and the growth per 1,000 jobs between them (target: within 8 MB, every job done).

Every loop stops by itself: at most one job a second for N minutes, waits bounded in time.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import aiohttp
from aiohttp import web

from bench.picsum_origin import make_app
from bench.soak_targets import target

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

TITLES = {
    "serve": "tuiapp serve",
    "postgres": "tuiapp serve --worker on PostgreSQL",
    "tui": "the terminal app in tmux, Board open",
}

MB = 1024 * 1024
CLIENTS = 5
JOB_EVERY = 1.0
"""Seconds between submitted jobs."""
BASELINE_MINUTE = 2
TARGET_MB = 8


@dataclass
class Tally:
    submitted: int = 0
    ended: dict[str, int] = field(default_factory=dict)
    ended_this_minute: int = 0
    events: int = 0
    reconnects: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def finished(self) -> int:
        return sum(self.ended.values())


class Row(NamedTuple):
    """One minute's reading."""

    minute: int
    finished: int
    rss: int
    tasks: int


def _proc_status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "Threads"):
            out[key] = int(value.split()[0])
    return out


def _descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def _start_origin() -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def _watch_job(session: aiohttp.ClientSession, href: str, tally: Tally, until: float) -> None:
    """Poll one job until it ends (bounded by ``until``)."""
    while time.monotonic() < until:
        await asyncio.sleep(0.5)
        async with session.get(href) as resp:
            job = await resp.json()
        if job["state"] not in ("queued", "running"):
            tally.ended[job["state"]] = tally.ended.get(job["state"], 0) + 1
            tally.ended_this_minute += 1
            if job["state"] != "done":
                tally.errors.append(f"job {job['id']} ended {job['state']}: {job.get('error')}")
            return
    tally.errors.append(f"{href} had not ended when the run stopped")


async def _submit(
    session: aiohttp.ClientSession, url: str, jobs: int, tally: Tally, deadline: float
) -> None:
    watchers: set[asyncio.Task[None]] = set()
    started = time.monotonic()
    for i in range(jobs):
        due = started + i * JOB_EVERY
        if due > deadline:
            break
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        body = {"query": f"soak {i}", "sources": ["picsum"], "count": 3}
        async with session.post(f"{url}/api/jobs", json=body) as resp:
            if resp.status != 202:
                tally.errors.append(f"submit {i}: HTTP {resp.status} {await resp.text():.200}")
                continue
            href = url + (await resp.json())["href"]
        tally.submitted += 1
        task = asyncio.create_task(_watch_job(session, href, tally, deadline + 60))
        watchers.add(task)
        task.add_done_callback(watchers.discard)
    if watchers:
        await asyncio.gather(*watchers)


async def _events_client(
    session: aiohttp.ClientSession, url: str, tally: Tally, deadline: float, seed: int
) -> None:
    """Read `/api/events` for a few seconds at a time, then reconnect, until ``deadline``."""
    rng = random.Random(seed)
    last_id: str | None = None
    while time.monotonic() < deadline:
        headers = {} if last_id is None else {"Last-Event-ID": last_id}
        stay = min(rng.uniform(2.0, 15.0), max(0.1, deadline - time.monotonic()))
        try:
            async with asyncio.timeout(stay):
                async with session.get(f"{url}/api/events", headers=headers) as resp:
                    async for raw in resp.content:
                        line = raw.decode().rstrip("\r\n")
                        if line.startswith("id: "):
                            last_id = line[4:]
                        elif line.startswith("data: "):
                            tally.events += 1
        except TimeoutError:
            pass
        except aiohttp.ClientError as exc:
            tally.errors.append(f"event stream: {exc!r}")
            await asyncio.sleep(1)
        tally.reconnects += 1


async def _tasks(session: aiohttp.ClientSession, url: str, tally: Tally) -> int:
    """The server's asyncio tasks now (-1 when its health could not be read)."""
    try:
        async with asyncio.timeout(10), session.get(f"{url}/api/health") as resp:
            return int((await resp.json())["tasks"])
    except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
        tally.errors.append(f"health: {exc!r}")
        return -1


async def _sample(
    pid: int,
    tally: Tally,
    minutes: int,
    rows: list[Row],
    deadline: float,
    health: Callable[[], Awaitable[int]],
) -> None:
    start = time.monotonic()
    for minute in range(minutes + 1):
        await asyncio.sleep(max(0.0, start + minute * 60 - time.monotonic()))
        status, fds, tasks = _proc_status(pid), _descriptors(pid), await health()
        rows.append(Row(minute, tally.finished, status["VmRSS"] * 1024, tasks))
        print(
            f"  minute {minute:3d}: RSS {status['VmRSS'] / 1024:6.1f} MB"
            f" (anonymous {status['RssAnon'] / 1024:5.1f}), descriptors {fds:3d},"
            f" threads {status['Threads']:2d}, tasks {tasks:3d},"
            f" jobs ended {tally.ended_this_minute:3d}"
            f" (total {tally.finished}), events read {tally.events:,},"
            f" reconnects {tally.reconnects}",
            flush=True,
        )
        tally.ended_this_minute = 0
        if time.monotonic() >= deadline:
            return


async def run(minutes: int, kind: str = "serve") -> None:
    if minutes < BASELINE_MINUTE + 1:
        raise SystemExit(f"soak: run at least {BASELINE_MINUTE + 1} minutes")
    tally = Tally()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="tuiapp-soak-") as tmp:
        origin, origin_url = await _start_origin()
        try:
            async with target(kind, Path(tmp), origin_url) as (pid, url):
                print(
                    f"soak: {TITLES[kind]} (pid {pid}) at {url}, picsum-shaped origin at"
                    f" {origin_url}; one 3-picture job every {JOB_EVERY:g} s and {CLIENTS}"
                    f" reconnecting event-stream clients for {minutes} minutes",
                    flush=True,
                )
                await _load(pid, url, minutes, tally, rows)
        finally:
            await origin.cleanup()
    _report(TITLES[kind], minutes, rows, tally)


async def _load(pid: int, url: str, minutes: int, tally: Tally, rows: list[Row]) -> None:
    deadline = time.monotonic() + minutes * 60
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(
            _sample(pid, tally, minutes, rows, deadline + 1, lambda: _tasks(session, url, tally)),
            _submit(session, url, int(minutes * 60 / JOB_EVERY), tally, deadline),
            *(_events_client(session, url, tally, deadline, seed) for seed in range(CLIENTS)),
        )


def _report(title: str, minutes: int, rows: list[Row], tally: Tally) -> None:
    base = next(r for r in rows if r.minute == BASELINE_MINUTE)
    end = rows[-1]
    grown = (end.rss - base.rss) / MB
    jobs = end.finished - base.finished
    per_1000 = grown / jobs * 1000 if jobs else float("nan")
    all_done = tally.ended.get("done", 0) == tally.submitted and tally.submitted > 0
    ok = all_done and abs(grown) <= TARGET_MB
    for error in tally.errors[:10]:
        print(f"  ! {error}", flush=True)
    print(
        f"soak, {title}: {tally.submitted} jobs in {minutes} min, ended {json.dumps(tally.ended)};"
        f" RSS {base.rss / MB:.1f} MB after {BASELINE_MINUTE} min, {end.rss / MB:.1f} MB at the end"
        f" ({grown:+.1f} MB, {per_1000:+.1f} MB per 1,000 jobs);"
        f" tasks {base.tasks} after {BASELINE_MINUTE} min, {end.tasks} at the end"
        f" | target every job done, end within {TARGET_MB} MB of minute {BASELINE_MINUTE}:"
        f" {'ok' if ok else 'MISSED'}",
        flush=True,
    )
