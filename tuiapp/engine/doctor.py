"""`tuiapp doctor`: what this installation can and cannot do, checked without the network.

Each check says what it looked at and, when something is missing, what to do about it.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from tuiapp import sources as registry
from tuiapp.sources.ytdlp import tools

if TYPE_CHECKING:
    from tuiapp.config import Settings
    from tuiapp.storage import Storage

__all__ = ["Check", "run_checks"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One thing checked: ``ok`` False with ``advice`` when something needs doing."""

    name: str
    ok: bool
    detail: str
    advice: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def run_checks(settings: Settings, storage: Storage) -> list[Check]:
    """Check the data folder, the database, the video tools and the API keys."""
    checks = [await asyncio.to_thread(_data_dir, settings), await _database(storage)]
    checks += await asyncio.to_thread(_video_tools, settings)
    checks += _keys(settings)
    return checks


def _data_dir(settings: Settings) -> Check:
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        return Check(
            name="data folder",
            ok=False,
            detail=f"{path}: {exc.strerror or exc}",
            advice="set TUIAPP_DATA_DIR to a folder you can write",
        )
    return Check(name="data folder", ok=True, detail=str(path))


async def _database(storage: Storage) -> Check:
    try:
        report = await storage.integrity_report()
    except Exception as exc:
        return Check(name="database", ok=False, detail=f"{type(exc).__name__}: {exc}")
    problems = [
        f"{key}: {value}"
        for key, value in report.items()
        if value not in (0, [], "ok") and value is not None
    ]
    if problems:
        return Check(name="database", ok=False, detail="; ".join(problems))
    return Check(name="database", ok=True, detail="reachable, integrity ok")


def _video_tools(settings: Settings) -> list[Check]:
    youtube = settings.source_settings.get("youtube", {})
    ffmpeg = tools.find_ffmpeg(_text(youtube.get("ffmpeg")))
    deno = tools.find_deno(_text(youtube.get("deno")))
    target = tools.impersonate_target()
    return [
        Check(
            name="ffmpeg",
            ok=ffmpeg is not None,
            detail=ffmpeg or "not found",
            advice=None if ffmpeg else "install ffmpeg, or reinstall tuiapp (imageio-ffmpeg)",
        ),
        Check(
            name="JavaScript runtime (YouTube)",
            ok=deno is not None,
            detail=deno or "not found",
            advice=None if deno else "install deno, or reinstall tuiapp (the deno package)",
        ),
        Check(
            name="TLS impersonation (Vimeo, TikTok, Dailymotion)",
            ok=target is not None,
            detail=target or "no target available",
            advice=None if target else "reinstall tuiapp (yt-dlp[curl-cffi])",
        ),
    ]


def _keys(settings: Settings) -> list[Check]:
    checks = []
    for cls in registry.all_sources():
        if cls.key_setting is None:
            continue
        present = settings.api_key(cls.key_setting) is not None
        checks.append(
            Check(
                name=f"{cls.name} key",
                ok=present,
                detail="set" if present else f"{cls.key_setting} is not set",
                advice=None if present else f"set {cls.key_setting} to use {cls.name}",
            )
        )
    return checks


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
