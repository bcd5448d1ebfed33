"""What a user may choose for a video job (format, quality, size, cookies, programs) and its checks.

Read once per job from the job's options over the source's settings. Choosing a format is
decided here too, because it depends on whether ffmpeg is there to merge separate streams.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from tuiapp.errors import SourceError
from tuiapp.sources.base import Option
from tuiapp.sources.ytdlp import tools

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DECLARED",
    "LISTING_SOCKET_TIMEOUT",
    "VideoOptions",
    "as_float",
    "as_int",
    "needs_merge",
]

LISTING_SOCKET_TIMEOUT = 20.0
"""yt-dlp's socket timeout while listing (downloads use the transfer's stall timeout)."""
_BRACKETS = re.compile(r"\[[^\]]*\]")

DECLARED: tuple[Option, ...] = (
    Option(
        "format",
        "str",
        "a yt-dlp format selector; default `bv*+ba/b` with ffmpeg, `b` (one file) without",
    ),
    Option(
        "quality",
        "str",
        "highest video height",
        pattern=r"[1-9][0-9]{0,4}[pP]?",
        shape="a video height such as 720 or 720p",
    ),
    Option("audio_only", "bool", "true: the best audio-only format"),
    Option("max_size", "int", "bytes; never above `TUIAPP_MAX_FILE_SIZE`", minimum=1),
    Option("cookies", "str", "a cookies.txt file (Vimeo needs one; YouTube's bot check asks)"),
    Option("cookies_from_browser", "str", "take the cookies of a browser, e.g. firefox"),
    Option("ffmpeg", "str", "where ffmpeg is, when it is not on `PATH`"),
    Option("deno", "str", "where deno is, when it is not on `PATH`"),
    Option(
        "socket_timeout",
        "float",
        f"seconds to wait on a connection while listing (default {LISTING_SOCKET_TIMEOUT:g})",
        minimum=0.1,
    ),
)
"""The job options every video source takes (each may also be a ``TUIAPP_SOURCE_<NAME>__<KEY>``
setting, which a job's option overrides)."""


def needs_merge(fmt: str) -> bool:
    """True when a yt-dlp format selector joins separate streams (``bv+ba``): that needs ffmpeg."""
    return "+" in _BRACKETS.sub("", fmt)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def as_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def as_float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoOptions:
    """What a user may choose for a video job, read from job options over source settings.

    Keys (job option or ``TUIAPP_SOURCE_<NAME>__<KEY>``): ``format`` (a yt-dlp format selector),
    ``quality`` (highest video height, e.g. 720), ``audio_only``, ``max_size`` (bytes),
    ``cookies`` (a cookies.txt file), ``cookies_from_browser`` (e.g. ``firefox``), ``ffmpeg``
    and ``deno`` (a program to use instead of the one on PATH or the bundled one),
    ``socket_timeout`` (seconds, while listing).
    """

    format: str
    ffmpeg: str | None
    """Where ffmpeg is (see :func:`tools.find_ffmpeg`); None: only single-file formats."""
    deno: str | None = None
    """Where the JavaScript runtime is (see :func:`tools.find_deno`), for YouTube's challenges."""
    cookies: Path | None = None
    cookies_from_browser: str | None = None
    max_size: int | None = None
    socket_timeout: float = LISTING_SOCKET_TIMEOUT
    impersonate: str | None = None
    """The browser yt-dlp impersonates on every request (``chrome-133:macos-15``): set for the
    sites that answer only to a browser's TLS fingerprint, when curl_cffi offers a target."""
    proxy: str | None = None
    """The proxy every yt-dlp request goes through (its ``proxy`` option): the one the engine's
    client would take for the site (``TUIAPP_PROXY``, the source's own, the standard
    variables); None: direct, whatever yt-dlp would read from the environment."""

    @classmethod
    def read(cls, source: str, options: Mapping[str, Any], settings: Mapping[str, Any]) -> Self:
        """Resolve the options once per job.

        Raises:
            SourceError: a format that needs ffmpeg when there is none, a missing cookies file,
                a value that is not a number.
        """

        def get(key: str) -> Any:
            value = options.get(key)
            return settings.get(key) if value is None or value == "" else value

        try:
            ffmpeg = tools.find_ffmpeg(_text(get("ffmpeg")))
            deno = tools.find_deno(_text(get("deno")))
        except FileNotFoundError as exc:
            raise SourceError(str(exc)) from None
        try:
            wanted = get("quality")
            if isinstance(wanted, str):
                wanted = wanted.strip().lower().removesuffix("p")  # "720p" means 720
            quality = _positive(wanted, "quality")
            max_size = _positive(get("max_size"), "max_size")
            timeout = _positive(get("socket_timeout"), "socket_timeout")
        except ValueError as exc:
            raise SourceError(str(exc)) from None
        height = None if quality is None else int(quality)
        chosen = get("format")
        if chosen:
            fmt = str(chosen).strip()
            if needs_merge(fmt) and ffmpeg is None:
                raise SourceError(
                    f"format {fmt!r} joins separate video and audio streams, which needs ffmpeg,"
                    " and ffmpeg is not installed: install it (or the imageio-ffmpeg package),"
                    " or choose a single-file format such as 'b'"
                )
        elif _flag(get("audio_only")):
            fmt = "ba/b"
        elif ffmpeg is not None:
            fmt = f"bv*[height<={height}]+ba/b[height<={height}]/w" if height else "bv*+ba/b"
        else:
            # No ffmpeg: only formats that already hold video and audio in one file.
            fmt = f"b[height<={height}]/w" if height else "b"
        cookies = get("cookies")
        cookie_path = Path(str(cookies)).expanduser() if cookies else None
        if cookie_path is not None and not cookie_path.is_file():
            raise SourceError(
                f"cookies file {cookie_path} does not exist"
                f" (TUIAPP_SOURCE_{source.upper()}__COOKIES or the job's cookies option)"
            )
        browser = get("cookies_from_browser")
        return cls(
            format=fmt,
            ffmpeg=ffmpeg,
            deno=deno,
            cookies=cookie_path,
            cookies_from_browser=str(browser) if browser else None,
            max_size=int(max_size) if max_size else None,
            socket_timeout=float(timeout) if timeout else LISTING_SOCKET_TIMEOUT,
            impersonate=tools.impersonate_target() if source in tools.IMPERSONATION_SITES else None,
        )


def _text(value: Any) -> str | None:
    return None if value is None else (str(value).strip() or None)


def _positive(value: Any, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {value!r}") from None
    if not number > 0:
        raise ValueError(f"{name} must be above 0, not {value!r}")
    return number
