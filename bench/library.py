"""Library search at 100,000 stored files: time per search (target: median < 50 ms, p99 < 200 ms
on SQLite).

The library holds 100,000 assets of one owner over 200 jobs, titled with 3 to 7 words drawn
from a 3,000-word vocabulary with a Zipf-like skew (a few words in tens of thousands of titles,
most in a handful), 1,000 authors, page URLs with words of their own. Rows go in through the
same triggers that index them in use. Timed: 600 searches through ``Storage.find_assets`` (the
first page of 50, best first): one common word, one rare word, two words, a word being typed
(prefix), a word with filters (source, size, since), and a whole empty-words listing.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from tuiapp.config import sqlite_url
from tuiapp.jobs import JobSpec, Selection
from tuiapp.models import Asset
from tuiapp.storage import NewAsset, Storage

if TYPE_CHECKING:
    from collections.abc import Callable

STORED = 100_000
SEARCHES = 600
VOCABULARY = 3000


def _words(rng: random.Random) -> list[str]:
    syllables = ["ka", "lo", "mi", "ra", "tu", "ne", "so", "vi", "da", "pe", "gor", "lin", "mar"]
    seen: set[str] = set()
    while len(seen) < VOCABULARY:
        seen.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(seen)


async def _run(data_dir: Path) -> None:
    rng = random.Random(7)
    words = _words(rng)
    weights = [1 / (rank + 1) for rank in range(len(words))]  # Zipf: word i ~ 1/(i+1)
    storage = Storage(sqlite_url(data_dir / "bench.db"))
    await storage.open()
    try:
        jobs = []
        for _ in range(200):
            query = " ".join(rng.choices(words[:500], k=2))
            spec = JobSpec(query=query, sources=("picsum",), count=500)
            jobs.append((await storage.create_job(spec, owner=None, settings={})).id)
        sink = storage.new_sink(None)
        await sink.write(b"x")
        blob = (
            await sink.finish(
                mime="image/jpeg",
                asset=NewAsset(job_id=jobs[0], source="picsum", kind="image", url="u"),
            )
        ).blob_id
        authors = [f"{rng.choice(words).title()} {rng.choice(words).title()}" for _ in range(1000)]
        sources = ["picsum", "unsplash", "pexels", "pixabay", "bing_images"]
        start = datetime.now(UTC) - timedelta(days=365)
        rows = []
        for i in range(STORED):
            title = " ".join(rng.choices(words, weights, k=rng.randint(3, 7))).capitalize()
            rows.append(
                [
                    jobs[i * len(jobs) // STORED],
                    blob,
                    rng.choice(sources),
                    "image",
                    f"https://img.test/{i}.jpg",
                    f"https://site.test/photos/{'-'.join(rng.choices(words, k=3))}-{i}",
                    title,
                    rng.choice(authors),
                    rng.choice([640, 1280, 1920, 4000]),
                    rng.choice([480, 720, 1080, 3000]),
                    "{}",
                    start + timedelta(seconds=i * 300),
                ]
            )
        conn = Asset._meta.db
        started = time.perf_counter()
        for part in range(0, STORED, 5000):
            await conn.execute_many(
                "INSERT INTO asset (job_id, blob_id, source, kind, url, page_url, title, author,"
                " width, height, metadata, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                rows[part : part + 5000],
            )
        stored_in = time.perf_counter() - started
        common, rare = words[:20], words[1000:]
        since = start + timedelta(days=200)
        kinds: list[tuple[str, Callable[[], Selection]]] = [
            ("one common word", lambda: Selection(text=rng.choice(common))),
            ("one rare word", lambda: Selection(text=rng.choice(rare))),
            ("two words", lambda: Selection(text=" ".join(rng.choices(words[:300], k=2)))),
            ("a word being typed", lambda: Selection(text=rng.choice(words[:300])[:3])),
            (
                "a word and filters",
                lambda: Selection(
                    text=rng.choice(words[:100]), source="pexels", min_width=1920, since=since
                ),
            ),
            ("no words (newest first)", lambda: Selection()),
        ]
        times: list[float] = []
        per_kind: dict[str, list[float]] = {}
        found = 0
        for n in range(SEARCHES):
            name, make = kinds[n % len(kinds)]
            selection = make()
            t = time.perf_counter()
            page = await storage.find_assets(None, selection, limit=50)
            spent = time.perf_counter() - t
            found += len(page)
            times.append(spent)
            per_kind.setdefault(name, []).append(spent)
    finally:
        await storage.close()
    ms = 1000
    median = statistics.median(times) * ms
    p99 = statistics.quantiles(times, n=100)[-1] * ms
    verdict = "ok" if median < 50 and p99 < 200 else "MISSED"
    detail = ", ".join(
        f"{name} {statistics.median(t) * ms:.1f}/{max(t) * ms:.1f}" for name, t in per_kind.items()
    )
    print(
        f"library: {STORED:,} stored files indexed in {stored_in:.0f} s; {SEARCHES} searches"
        f" (first page of 50, {found / SEARCHES:.0f} rows each): median {median:.1f} ms,"
        f" p99 {p99:.1f} ms; median/max ms by kind: {detail}"
        f" | target median < 50 ms, p99 < 200 ms: {verdict}"
    )


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_run(Path(tmp)))
