"""The programs yt-dlp calls out to (ffmpeg, a JavaScript runtime) and its impersonation support.

Each program is looked for in order: the path a setting names, then the user's own on PATH, then
the copy a Python package ships (``imageio-ffmpeg`` bundles ffmpeg, ``deno`` bundles deno), so a
fresh install has all of them and a user's own installation wins. Lookups of the bundled copies
are cached: they do not change while the process runs. Nothing here imports yt-dlp at module level.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "IMPERSONATION_SITES",
    "JS_RUNTIME_SITES",
    "bundled_deno",
    "bundled_ffmpeg",
    "find_deno",
    "find_ffmpeg",
    "impersonate_target",
]

JS_RUNTIME_SITES = frozenset({"youtube"})
"""Video sources whose site sets JavaScript challenges (without a runtime yt-dlp falls back to a
client with split streams only)."""
IMPERSONATION_SITES = frozenset({"vimeo", "tiktok", "dailymotion"})
"""Video sources whose site answers only to a browser's TLS fingerprint."""


@functools.cache
def bundled_ffmpeg() -> str | None:
    """The ffmpeg binary the ``imageio-ffmpeg`` wheel ships, or None without that package."""
    try:
        import imageio_ffmpeg  # type: ignore[import-untyped]  # ships no type information
    except ImportError:
        return None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError:  # a platform the wheel has no binary for, and no other ffmpeg
        return None


@functools.cache
def bundled_deno() -> str | None:
    """The deno binary the ``deno`` wheel ships, or None without that package."""
    try:
        import deno  # type: ignore[import-untyped]  # ships no type information
    except ImportError:
        return None
    try:
        return str(deno.find_deno_bin())
    except FileNotFoundError:
        return None


def find_ffmpeg(setting: str | None = None) -> str | None:
    """Where ffmpeg is: ``setting`` (a program name or path), else PATH's, else the bundled one.

    Raises:
        FileNotFoundError: ``setting`` names no program.
    """
    return _find("ffmpeg", setting, bundled_ffmpeg)


def find_deno(setting: str | None = None) -> str | None:
    """Where deno (the JavaScript runtime yt-dlp solves YouTube's challenges with) is.

    Raises:
        FileNotFoundError: ``setting`` names no program.
    """
    return _find("deno", setting, bundled_deno)


def _find(program: str, setting: str | None, bundled: Callable[[], str | None]) -> str | None:
    if setting:
        found = shutil.which(setting)
        if found is None:
            raise FileNotFoundError(f"{program} option {setting!r}: no such program")
        return found
    return shutil.which(program) or bundled()


@functools.cache
def impersonate_target() -> str | None:
    """A browser yt-dlp can impersonate here (``chrome-133:macos-15``), or None without curl_cffi.

    Vimeo, TikTok's pages and Dailymotion's HLS answer only to a browser's TLS fingerprint: the
    sources in :data:`IMPERSONATION_SITES` hand this target to yt-dlp for all their requests;
    the others do not (yt-dlp warns that impersonating costs speed and stability). yt-dlp loads
    its curl_cffi handler only for a curl_cffi version it supports.

    Asking yt-dlp means importing it and curl_cffi (most of a second): the answer is kept in
    ``$XDG_CACHE_HOME/tuiapp/impersonation.json`` for the installed versions of both, so that
    `tuiapp sources` and `tuiapp doctor` need neither.
    """
    versions = _versions()
    if versions is None:
        return None
    cache = _cache_path()
    try:
        kept = json.loads(cache.read_text(encoding="utf-8"))
        if isinstance(kept, dict) and kept.get("versions") == versions:
            target = kept.get("target")
            if target is None or isinstance(target, str):
                return target
    except (OSError, ValueError):
        pass
    target = _ask_ytdlp()
    with contextlib.suppress(OSError):  # a cache that cannot be written costs time, no more
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"versions": versions, "target": target}), encoding="utf-8")
        tmp.replace(cache)
    return target


def _versions() -> str | None:
    """yt-dlp's and curl_cffi's installed versions, or None without curl_cffi."""
    from importlib import metadata

    try:
        return f"yt-dlp {metadata.version('yt-dlp')}; curl_cffi {metadata.version('curl_cffi')}"
    except metadata.PackageNotFoundError:
        return None


def _cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "tuiapp" / "impersonation.json"


def _ask_ytdlp() -> str | None:
    from yt_dlp import YoutubeDL

    with YoutubeDL({"quiet": True, "no_warnings": True}) as ydl:
        # The list behind yt-dlp's own --list-impersonate-targets.
        targets = ydl._get_available_impersonate_targets()
    return str(targets[0][0]) if targets else None
