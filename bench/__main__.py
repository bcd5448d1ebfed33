"""`make bench`: each benchmark runs in a process of its own and prints one line with its target.

Run one: `python -m bench small|photos|medium|large|large4|startup|fanout|similar|library|zip`.
Figures depend on the machine; the README keeps the last ones and where they came from. The soak
(`python -m bench soak --minutes N [--target serve|postgres|tui]`, memory under a steady load)
runs only when named: it takes minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.corpus import HEIGHT, WIDTH
from bench.origin import Origin
from bench.tools import find_tools, preamble
from tuiapp.cli.common import run_loop  # the loop `tuiapp get` runs on

MB = 1_000_000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _ingest(
    origin_url: str, data_dir: Path, files: int, downloads: int, *, near_duplicates: bool = True
) -> tuple[float, int, int]:
    from tuiapp.config import Settings, sqlite_url
    from tuiapp.engine import Engine
    from tuiapp.jobs import JobSpec, JobState

    settings = Settings(
        data_dir=data_dir,
        database_url=sqlite_url(data_dir / "bench.db"),
        base_urls={"picsum": origin_url},
        downloads_per_source=downloads,
        global_job_timeout=900,
        # The large benchmarks serve 256 MB "photos": let images be as large as any file.
        max_image_size=2 * 1000**3,
        near_duplicates=near_duplicates,
    )
    async with Engine(settings) as engine:
        # What a first job loads and makes (the job runner's modules, the HTTP client) is there
        # before the clock starts: the figure is the ingest's, not the start-up's.
        import tuiapp.engine.runner  # noqa: F401

        await engine.runtime.http()
        started = time.perf_counter()
        job = await engine.submit(JobSpec(query="bench", sources=("picsum",), count=files))
        final = await engine.wait(job.id, None)
        elapsed = time.perf_counter() - started
        if final.state is not JobState.DONE:
            raise SystemExit(f"benchmark job ended {final.state}: {final.sources[0].error}")
        return elapsed, final.stored, final.bytes


def _curl_parallel(origin_url: str, paths: list[str], out: Path, parallel: int) -> float | None:
    """Seconds curl --parallel takes for the same files (to disk), or None without curl."""
    if shutil.which("curl") is None:
        return None
    out.mkdir()
    config = out / "curl.cfg"
    config.write_text(
        "".join(f'url = "{origin_url}{p}"\noutput = "{out}/{i}"\n' for i, p in enumerate(paths))
    )
    started = time.perf_counter()
    subprocess.run(
        [
            "curl",
            "--silent",
            "--no-progress-meter",
            "--parallel",
            "--parallel-max",
            str(parallel),
            "-K",
            str(config),
        ],
        check=True,
    )
    return time.perf_counter() - started


def _aria2c(origin_url: str, paths: list[str], out: Path, parallel: int) -> float | None:
    """Seconds aria2c takes for the same files, written to tmpfs (``/dev/shm``) when there is
    one: the reference pays no disk, as tuiapp's database does."""
    if shutil.which("aria2c") is None:
        return None
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(prefix="tuiapp-aria-", dir=shm if shm.is_dir() else None) as d:
        target = Path(d) / out.name
        target.mkdir()
        listing = target / "urls.txt"
        listing.write_text("".join(f"{origin_url}{p}\n  out={i}\n" for i, p in enumerate(paths)))
        started = time.perf_counter()
        subprocess.run(
            ["aria2c", "-q", "-j", str(parallel), "-x", "1", "-d", str(target), "-i", str(listing)],
            check=True,
        )
        return time.perf_counter() - started


def _ytdlp(url: str, out: Path) -> float | None:
    exe = shutil.which("yt-dlp") or str(Path(sys.executable).with_name("yt-dlp"))
    if not Path(exe).exists():
        return None
    started = time.perf_counter()
    subprocess.run(
        [
            exe,
            "--quiet",
            "--no-warnings",
            "--no-progress",
            "--force-generic-extractor",
            "-o",
            str(out / "v.%(ext)s"),
            url,
        ],
        check=True,
    )
    return time.perf_counter() - started


def bench_files(name: str, files: int, size: int, downloads: int) -> None:
    with tempfile.TemporaryDirectory(prefix="tuiapp-bench-") as tmp:
        Path(tmp).chmod(0o755)  # nginx's workers run as an unprivileged user
        root = Path(tmp) / "corpus"
        subprocess.run(
            [sys.executable, "-m", "bench.corpus", str(root), str(files), str(size)], check=True
        )
        paths = [f"/id/{i}/{WIDTH}/{HEIGHT}.jpg" for i in range(files)]
        with Origin(root) as origin:
            elapsed, stored, nbytes = run_loop(
                _ingest(origin.url, Path(tmp) / "data", files, downloads)
            )
            rss = peak_rss_mb()
            curl = _curl_parallel(origin.url, paths, Path(tmp) / "curl", downloads)
            aria = _aria2c(origin.url, paths, Path(tmp) / "aria", downloads)
            ytdlp = (
                _ytdlp(origin.url + paths[0], Path(tmp) / "ytdlp")
                if name.startswith("large")
                else None
            )
    rate, mbps = stored / elapsed, nbytes / elapsed / MB
    refs = []
    if curl:
        refs.append(
            f"curl --parallel {files / curl:,.0f} files/s {files * size / curl / MB:,.0f} MB/s"
        )
    if aria:
        refs.append(f"aria2c {files / aria:,.0f} files/s")
    if ytdlp:
        refs.append(f"yt-dlp {size / ytdlp / MB:,.0f} MB/s (one file)")
    refs_text = f" [{'; '.join(refs)}]" if refs else ""
    targets = {
        "small": (f"target >= 1800 files/s{' and >= 0.45x aria2c' if aria else ''}",
                  rate >= 1800 and (aria is None or rate >= 0.45 * files / aria)),
        "medium": ("target >= 130 MB/s, peak RSS <= 100 MB", mbps >= 130 and rss <= 100),
        "large": ("target >= yt-dlp's speed, peak RSS < 64 MB",
                  (ytdlp is None or mbps >= size / ytdlp / MB) and rss < 64),
        "large4": ("target >= yt-dlp's speed, peak RSS < 64 MB",
                   (ytdlp is None or mbps >= size / ytdlp / MB) and rss < 64),
    }  # fmt: skip
    target, ok = targets[name]
    if not ok and origin.kind == "aiohttp":
        target += " (measured against the aiohttp origin: see the warning at the top)"
    print(
        f"{name}: {stored} x {size / MB:g} MB from {origin.kind} in {elapsed:.2f} s:"
        f" {rate:,.0f} files/s, {mbps:,.0f} MB/s, peak RSS {rss:.0f} MB{refs_text}"
        f" | {target}: {'ok' if ok else 'MISSED'}",
        flush=True,
    )


def bench_photos(files: int, downloads: int, rounds: int = 3) -> None:
    """The small benchmark with real ~50 KB JPEGs, fingerprinted (on) or not (off), beside
    aria2c writing the same files to tmpfs.

    Rounds alternate off, on and aria2c against one corpus, each tuiapp round into a fresh
    database; medians are compared. Targets: on at least 0.45x aria2c, off at least 0.55x.
    """
    with tempfile.TemporaryDirectory(prefix="tuiapp-bench-") as tmp:
        Path(tmp).chmod(0o755)
        root = Path(tmp) / "corpus"
        subprocess.run(
            [sys.executable, "-m", "bench.corpus", str(root), str(files), "photos"], check=True
        )
        nbytes = sum(p.stat().st_size for p in root.glob("id/*/*/*.jpg"))
        paths = [f"/id/{i}/{WIDTH}/{HEIGHT}.jpg" for i in range(files)]
        rates: dict[bool, list[float]] = {False: [], True: []}
        arias: list[float] = []
        with Origin(root) as origin:
            for i in range(rounds):
                for hashing in (False, True):
                    elapsed, stored, _ = run_loop(
                        _ingest(
                            origin.url,
                            Path(tmp) / f"data{i}{hashing:d}",
                            files,
                            downloads,
                            near_duplicates=hashing,
                        )
                    )
                    rates[hashing].append(stored / elapsed)
                aria = _aria2c(origin.url, paths, Path(tmp) / f"aria{i}", downloads)
                if aria is not None:
                    arias.append(files / aria)
    off, on = statistics.median(rates[False]), statistics.median(rates[True])
    slower = 1 - on / off
    line = (
        f"photos: {files} real JPEGs of {nbytes / files / 1000:.0f} KB on average from"
        f" {origin.kind}, medians of {rounds} alternating rounds: hashing off {off:,.0f} files/s,"
        f" on {on:,.0f} files/s ({slower:+.0%} slower)"
    )
    if not arias:
        print(f"{line} | no aria2c: the ratios are not checked", flush=True)
        return
    ref = statistics.median(arias)
    on_ok, off_ok = on >= 0.45 * ref, off >= 0.55 * ref
    print(
        f"{line}; aria2c to tmpfs {ref:,.0f} files/s: on {on / ref:.2f}x, off {off / ref:.2f}x"
        f" | target on >= 0.45x aria2c: {'ok' if on_ok else 'MISSED'};"
        f" off >= 0.55x aria2c: {'ok' if off_ok else 'MISSED'}",
        flush=True,
    )


def bench_startup() -> None:
    exe = Path(sys.executable).with_name("tuiapp")
    times = []
    for _ in range(7):
        started = time.perf_counter()
        subprocess.run([str(exe), "--help"], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    verdict = "ok" if median < 0.3 else "MISSED"
    print(f"startup: `tuiapp --help` median {median:.3f} s of 7 | target < 0.3 s: {verdict}")


BENCHMARKS = {
    "small": lambda d: bench_files("small", 2000, 50_000, d),
    "medium": lambda d: bench_files("medium", 200, 1_000_000, d),
    "large": lambda d: bench_files("large", 1, 256 * MB, d),
    "large4": lambda d: bench_files("large4", 4, 256 * MB, d),
    "photos": lambda d: bench_photos(2000, d),
    "startup": lambda d: bench_startup(),
    "fanout": lambda d: _fanout(),
    "similar": lambda d: _similar(),
    "library": lambda d: _library(),
    "zip": lambda d: _zip(),
}


def _fanout() -> None:
    from bench.fanout import run

    asyncio.run(run())


def _soak(minutes: int, kind: str) -> None:
    from bench.soak import run

    asyncio.run(run(minutes, kind))


def _similar() -> None:
    from bench.similar import run

    run()


def _library() -> None:
    from bench.library import run

    run()


def _zip() -> None:
    from bench.zipping import run

    with tempfile.TemporaryDirectory(prefix="tuiapp-bench-") as tmp:
        run(Path(tmp))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "names",
        nargs="*",
        choices=[*BENCHMARKS, "soak", []],
        help="benchmarks to run (default: all but the soak)",
    )
    parser.add_argument("--minutes", type=int, default=15, help="how long the soak runs")
    parser.add_argument(
        "--target",
        choices=["serve", "postgres", "tui"],
        default="serve",
        help="what the soak watches: tuiapp serve on SQLite, a worker on PostgreSQL, the app",
    )
    parser.add_argument(
        "--downloads", type=int, default=int(os.environ.get("BENCH_DOWNLOADS", "8"))
    )
    args = parser.parse_args()
    names = args.names or list(BENCHMARKS)
    if os.environ.get("BENCH_CHILD") != "1":
        print("\n".join(preamble(find_tools())), flush=True)
    if names == ["soak"]:
        _soak(args.minutes, args.target)
        return
    if len(names) == 1:
        BENCHMARKS[names[0]](args.downloads)
        return
    for name in names:  # each in a fresh process: peak RSS is per benchmark
        subprocess.run(
            [*(sys.executable, "-m", "bench", name), "--downloads", str(args.downloads)]
            + ["--minutes", str(args.minutes)] * (name == "soak"),
            check=False,
            env={**os.environ, "BENCH_CHILD": "1"},
        )


if __name__ == "__main__":
    main()
