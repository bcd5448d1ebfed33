"""What the benchmarks run against: the origin server and the reference tools found on PATH.

Printed at the top of `make bench` so a run without nginx or aria2c says so plainly, instead of
silently measuring against a slower origin and leaving the comparisons out.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.origin import nginx_binary

INSTALL = "apt-get install nginx aria2"
"""The Debian/Ubuntu packages that provide the fast origin and the aria2c reference."""

Which = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class Tools:
    nginx: str | None
    curl: str | None
    aria2c: str | None
    ytdlp: str | None

    @property
    def origin(self) -> str:
        return "nginx" if self.nginx else "aiohttp"


def find_tools(
    which: Which = shutil.which, nginx: Callable[[], str | None] = nginx_binary
) -> Tools:
    """The tools present on this machine."""
    ytdlp = which("yt-dlp")
    if ytdlp is None:
        beside = Path(sys.executable).with_name("yt-dlp")
        ytdlp = str(beside) if beside.exists() else None
    return Tools(nginx=nginx(), curl=which("curl"), aria2c=which("aria2c"), ytdlp=ytdlp)


def preamble(tools: Tools) -> list[str]:
    """The lines printed before the first benchmark: the origin, and every missing reference."""

    def state(path: str | None) -> str:
        return path or "MISSING"

    lines = [
        f"bench: origin {tools.origin}"
        f" ({tools.nginx or 'nginx not found: a Python aiohttp server stands in'})",
        f"bench: reference tools: curl {state(tools.curl)}, aria2c {state(tools.aria2c)},"
        f" yt-dlp {state(tools.ytdlp)}",
    ]
    if tools.nginx is None:
        lines.append(
            "bench: WARNING no nginx: the aiohttp origin spends ~0.5 ms of CPU per request on the"
            " same cores, so the small and medium figures measure the origin and may miss their"
            " targets"
        )
    if tools.aria2c is None:
        lines.append(
            "bench: WARNING no aria2c: its figures are left out and the small benchmark's"
            " aria2c ratio is not checked"
        )
    if tools.curl is None:
        lines.append("bench: WARNING no curl: its figures are left out")
    if tools.ytdlp is None:
        lines.append(
            "bench: WARNING no yt-dlp: the large benchmarks are not compared with it"
            " (make installs it into .venv)"
        )
    if tools.nginx is None or tools.aria2c is None:
        lines.append(
            f"bench: to install them: `{INSTALL}` (as root; `make bench` does it when it can)"
        )
    return lines
