"""`make bench`: ingest benchmarks, each printing one line of figures next to its target."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import tempfile
import time
from pathlib import Path

from bench.origin import Origin
from tuiapp.config import Settings, sqlite_url
from tuiapp.engine import Engine
from tuiapp.jobs import JobSpec, JobState

JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"


def make_picsum_corpus(
    root: Path, files: int, size: int, width: int = 1200, height: int = 600
) -> None:
    """A picsum-shaped catalogue of ``files`` distinct files of ``size`` bytes each."""
    rng = random.Random(1)
    per_page = 30
    (root / "list").mkdir(parents=True)
    items = []
    for i in range(files):
        folder = root / "id" / str(i) / str(width)
        folder.mkdir(parents=True)
        (folder / f"{height}.jpg").write_bytes(JPEG_HEAD + rng.randbytes(size - len(JPEG_HEAD)))
        items.append(
            {"id": str(i), "author": "bench", "width": width, "height": height, "url": "u"}
        )
    for page in range(1, files // per_page + 3):
        chunk = items[(page - 1) * per_page : page * per_page]
        (root / "list" / f"page-{page}.json").write_text(json.dumps(chunk))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def ingest(origin_url: str, data_dir: Path, files: int, downloads: int) -> tuple[float, int]:
    settings = Settings(
        data_dir=data_dir,
        database_url=sqlite_url(data_dir / "bench.db"),
        base_urls={"picsum": origin_url},
        downloads_per_source=downloads,
        connections_per_host=downloads,
        global_job_timeout=600,
    )
    async with Engine(settings) as engine:
        started = time.perf_counter()
        job = await engine.submit(JobSpec(query="bench", sources=("picsum",), count=files))
        final = await engine.wait(job.id, None)
        elapsed = time.perf_counter() - started
        if final.state is not JobState.DONE:
            raise SystemExit(f"benchmark job ended {final.state}: {final.sources[0].error}")
        return elapsed, final.stored


def bench_small_files(files: int, size: int, downloads: int, prefer_nginx: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="tuiapp-bench-") as tmp:
        Path(tmp).chmod(0o755)  # nginx's workers run as an unprivileged user
        root = Path(tmp) / "corpus"
        make_picsum_corpus(root, files, size)
        with Origin(root, prefer_nginx=prefer_nginx) as origin:
            elapsed, stored = asyncio.run(ingest(origin.url, Path(tmp) / "data", files, downloads))
    rate = stored / elapsed
    verdict = "ok" if rate >= 1800 else "BELOW TARGET"
    print(
        f"ingest {stored} x {size // 1000} KB from {origin.kind}: {rate:,.0f} files/s"
        f" ({stored * size / elapsed / 1e6:.1f} MB/s), peak RSS {peak_rss_mb():.0f} MB"
        f" | target >= 1800 files/s: {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument(
        "--downloads", type=int, default=int(os.environ.get("BENCH_DOWNLOADS", "8"))
    )
    parser.add_argument("--aiohttp-origin", action="store_true", help="do not use nginx")
    args = parser.parse_args()
    bench_small_files(args.files, args.size, args.downloads, not args.aiohttp_origin)


if __name__ == "__main__":
    main()
