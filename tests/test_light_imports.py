"""Heavy libraries load only for the jobs that need them: yt-dlp for video, curl_cffi for an
impersonating client, Pillow in the hashing process. Naming, routing and checking a job reads the
sources' declarations alone."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import TYPE_CHECKING

from tests.serverkit import photos, serve_picsum

if TYPE_CHECKING:
    from pathlib import Path

    from tests.replay import ReplayServer

HEAVY = ("yt_dlp", "curl_cffi", "PIL")
DOWNLOADERS = (
    # The engine's rooms that run jobs, and the HTTP client under them.
    "tuiapp.engine.runner",
    "tuiapp.engine.source_run",
    "tuiapp.engine.transfer",
    "tuiapp.engine.cluster",
    "tuiapp.fetch",
    "aiohttp",
)

_REPORT = """
import atexit, runpy, sys
atexit.register(lambda: print("LOADED", *sorted(sys.modules), file=sys.stderr))
sys.argv = ["tuiapp", *sys.argv[1:]]
runpy.run_module("tuiapp", run_name="__main__")
"""


async def _run(env: dict[str, str], *args: str) -> tuple[int, set[str], str, str]:
    """Run ``tuiapp *args``: its exit code, every module it loaded, its stdout and stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _REPORT, *args,
        env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    lines = err.decode().splitlines()
    loaded = next(line for line in lines if line.startswith("LOADED")).split()[1:]
    assert proc.returncode is not None
    return proc.returncode, set(loaded), out.decode(), err.decode()


async def _loaded_by(env: dict[str, str], *args: str) -> tuple[int, set[str], str]:
    """As :func:`_run`, with the top-level packages loaded."""
    code, loaded, _, err = await _run(env, *args)
    return code, {m.split(".")[0] for m in loaded}, err


def _env(tmp_path: Path, replay: ReplayServer) -> dict[str, str]:
    """A data folder of the test's own, no .env file, picsum at the replay server."""
    (tmp_path / "no.env").write_text("")
    return {
        "TUIAPP_DATA_DIR": str(tmp_path / "data"),
        "TUIAPP_PICSUM_BASE_URL": replay.url(),
        "TUIAPP_ENV_FILE": str(tmp_path / "no.env"),
        "HOME": str(tmp_path),
    }


def _among(loaded: set[str], names: tuple[str, ...]) -> set[str]:
    """Which of ``names`` (modules or packages) ``loaded`` holds, or a module under them."""
    return {n for n in names if any(m == n or m.startswith(n + ".") for m in loaded)}


async def test_get_three_pictures_loads_no_heavy_library(
    replay: ReplayServer, tmp_path: Path
) -> None:
    serve_picsum(replay, photos(3))
    env = _env(tmp_path, replay)
    code, loaded, err = await _loaded_by(env, "get", "cats", "-s", "picsum", "-n", "3")
    assert code == 0, err
    assert sum(r.path.startswith("/id/") for r in replay.requests) == 3  # the job ran
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)
    # Refused at the front door: no heavy library to check a name or a URL-only source.
    code, loaded, err = await _loaded_by(env, "get", "cats", "-s", "vimeo")
    assert code == 2 and "vimeo takes a URL" in err
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)


async def test_the_registry_answers_from_declarations_without_heavy_libraries() -> None:
    """Every source module loads light: what a source is, which take URLs, its options and its
    key come from its class attributes; yt-dlp sources import yt-dlp when they run."""
    code = (
        "import sys\n"
        "from tuiapp import sources as registry\n"
        "for cls in registry.all_sources():\n"
        "    cls.takes_url(), cls.options, cls.key_setting, cls.takes_query, cls.kind\n"
        "assert registry.find('https://vimeo.com/76979871').name == 'vimeo'\n"
        f"print(*[m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    assert out.decode().split() == []


async def test_one_shot_commands_load_no_downloader(replay: ReplayServer, tmp_path: Path) -> None:
    """`tuiapp sources`, `jobs` and `doctor --offline` answer from the sources' declarations and
    the database: no job runner, no HTTP client, no yt-dlp, curl_cffi nor Pillow."""
    serve_picsum(replay, photos(2))
    env = {**_env(tmp_path, replay), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    code, loaded, _, err = await _run(env, "get", "cats", "-s", "picsum", "-n", "2", "--json")
    assert code == 0, err
    # A job that runs loads them (the shared queue's room only with a shared queue).
    assert _among(loaded, DOWNLOADERS) == set(DOWNLOADERS) - {"tuiapp.engine.cluster"}
    # Which browser yt-dlp can impersonate here is asked of yt-dlp once for the installed
    # versions of yt-dlp and curl_cffi, then kept: the first look may load both.
    code, _, _, err = await _run(env, "doctor", "--offline")
    assert code == 0, err
    assert (tmp_path / "cache" / "tuiapp" / "impersonation.json").is_file()

    code, loaded, out, err = await _run(env, "sources")
    assert code == 0, err
    assert "picsum" in out and "vimeo" in out
    assert not _among(loaded, HEAVY + DOWNLOADERS), _among(loaded, HEAVY + DOWNLOADERS)

    code, loaded, out, err = await _run(env, "jobs")
    assert code == 0, err
    assert "'cats' [picsum]" in out and "2 stored" in out
    assert not _among(loaded, HEAVY + DOWNLOADERS), _among(loaded, HEAVY + DOWNLOADERS)

    code, loaded, out, err = await _run(env, "doctor", "--offline", "--json")
    assert code == 0, err
    assert '"offline": true' in out and '"source": "vimeo"' in out
    assert not _among(loaded, HEAVY + DOWNLOADERS), _among(loaded, HEAVY + DOWNLOADERS)
