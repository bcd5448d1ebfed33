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

_REPORT = """
import atexit, runpy, sys
atexit.register(lambda: print("LOADED", *sorted({m.split(".")[0] for m in sys.modules}),
                              file=sys.stderr))
sys.argv = ["tuiapp", *sys.argv[1:]]
runpy.run_module("tuiapp", run_name="__main__")
"""


async def _loaded_by(env: dict[str, str], *args: str) -> tuple[int, set[str], str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _REPORT, *args,
        env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    lines = err.decode().splitlines()
    loaded = next(line for line in lines if line.startswith("LOADED")).split()[1:]
    assert proc.returncode is not None
    return proc.returncode, set(loaded), err.decode()


async def test_get_three_pictures_loads_no_heavy_library(
    replay: ReplayServer, tmp_path: Path
) -> None:
    serve_picsum(replay, photos(3))
    (tmp_path / "no.env").write_text("")
    env = {
        "TUIAPP_DATA_DIR": str(tmp_path / "data"),
        "TUIAPP_PICSUM_BASE_URL": replay.url(),
        "TUIAPP_ENV_FILE": str(tmp_path / "no.env"),
        "HOME": str(tmp_path),
    }
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
