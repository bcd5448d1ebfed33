"""Near-duplicate lookup at 100,000 stored picture hashes: time per new picture (target < 1 ms).

The library holds the hashes of 100,000 generated photo-like pictures (gradients, shapes, noise:
the skew of real hashes, not uniform random bits) of one owner. Then 500 pictures arrive: half
copies of stored ones (a resized, recompressed copy), half new. Timed: the candidate lookup (the
four indexed quarters, then the distance in Python), and ``Storage.set_fingerprint`` whole
(lookup, regrouping, commit).
"""

from __future__ import annotations

import asyncio
import io
import random
import statistics
import tempfile
import time
from pathlib import Path

from tests.photos import encode, picture, resized
from tuiapp.config import sqlite_url
from tuiapp.jobs import Fingerprint, JobSpec
from tuiapp.models import Asset
from tuiapp.phash import MAX_DISTANCE, fingerprint
from tuiapp.storage import NewAsset, Storage
from tuiapp.storage.similar import quarters, signed

STORED = 100_000
ARRIVING = 500


def _hash(seed: int) -> int:
    out = io.BytesIO()
    picture(seed, 64, 48).save(out, format="BMP")
    found = fingerprint(out.getvalue())
    return found.phash if found is not None else 0


async def _run(data_dir: Path) -> None:
    storage = Storage(sqlite_url(data_dir / "bench.db"))
    await storage.open()
    try:
        job = await storage.create_job(
            JobSpec(query="q", sources=("picsum",), count=1), owner=None, settings={}
        )
        sink = storage.new_sink(None)
        await sink.write(b"x")
        stored = await sink.finish(
            mime="image/jpeg",
            asset=NewAsset(job_id=job.id, source="picsum", kind="image", url="u"),
        )
        blob = stored.blob_id
        started = time.perf_counter()
        hashes = [_hash(seed) for seed in range(STORED)]
        made = time.perf_counter() - started
        rows = [
            [job.id, blob, "picsum", "image", "u", "{}", signed(h), *quarters(h), 1] for h in hashes
        ]
        conn = Asset._meta.db
        await conn.execute_many(
            "INSERT INTO asset (job_id, blob_id, source, kind, url, metadata, created_at, phash,"
            " q0, q1, q2, q3, hashed) VALUES (?,?,?,?,?,?,CURRENT_TIMESTAMP,?,?,?,?,?,?)",
            rows,
        )
        rng = random.Random(1)
        arriving: list[tuple[int, bool]] = []
        for i in range(ARRIVING):
            if i % 2:  # the same picture (same seed, same noise), smaller and recompressed
                copy = encode(resized(picture(rng.randrange(STORED), 64, 48), 48, 36), quality=60)
                found = fingerprint(copy)
                arriving.append((found.phash if found else 0, True))
            else:
                arriving.append((_hash(STORED + i), False))
        lookups, whole = [], []
        matched = {True: 0, False: 0}
        for h, is_copy in arriving:
            t = time.perf_counter()
            matched[is_copy] += bool(await storage.near_duplicates(None, h, MAX_DISTANCE))
            lookups.append(time.perf_counter() - t)
        for h, _copy in arriving:
            sink = storage.new_sink(None)
            await sink.write(h.to_bytes(8, "big"))
            new = await sink.finish(
                mime="image/jpeg",
                asset=NewAsset(job_id=job.id, source="picsum", kind="image", url="u"),
            )
            t = time.perf_counter()
            await storage.set_fingerprint(new.asset_id, None, Fingerprint(h, 64, 48, MAX_DISTANCE))
            whole.append(time.perf_counter() - t)
    finally:
        await storage.close()
    ms = 1000
    median, p95 = statistics.median(lookups) * ms, statistics.quantiles(lookups, n=20)[-1] * ms
    verdict = "ok" if median < 1 else "MISSED"
    print(
        f"similar: {STORED:,} stored hashes (made in {made:.0f} s); lookup median {median:.2f} ms,"
        f" p95 {p95:.2f} ms; set_fingerprint with commit median"
        f" {statistics.median(whole) * ms:.2f} ms;"
        f" copies matched {matched[True]}/{ARRIVING // 2}, new pictures matched (false)"
        f" {matched[False]}/{ARRIVING // 2}"
        f" | target < 1 ms per picture: {verdict}"
    )


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_run(Path(tmp)))
