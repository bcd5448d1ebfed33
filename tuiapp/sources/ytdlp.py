"""Video sites through yt-dlp: fast flat listings, downloads in a worker thread, clear errors.

:class:`YtDlpSource` is the shared base of the video sources (youtube, dailymotion, vimeo, tiktok,
twitch); it is not registered itself. ``iterate`` lists what a URL (or a search) holds with yt-dlp's
flat extraction and yields one :class:`Found` per video, each carrying its own downloader. The
engine calls that downloader when it wants the file: yt-dlp then resolves the formats and downloads
into the transfer's scratch dir in a worker thread, reporting progress through ``TransferContext``.

yt-dlp's blocking calls cannot be cancelled from asyncio. The progress hook (called for every block
read) and the retry back-off raise as soon as ``TransferContext.cancelled()`` is true, and the
coroutine returns at once when it sees the flag, leaving the thread to end at its next hook call or
socket timeout; the thread removes its own partial files.

yt-dlp is imported only when a listing or a download runs: listing the sources stays cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import mimetypes
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

from tuiapp.errors import (
    BlockedError,
    FetchError,
    GeoBlockedError,
    LoginRequiredError,
    PrivateMediaError,
    RateLimitedError,
    SourceError,
    TooLargeError,
    UnsupportedURLError,
)
from tuiapp.sources.base import (
    DownloadedFile,
    Found,
    Source,
    SourceContext,
    SourceKind,
    SourceQuery,
    TransferContext,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

__all__ = ["VideoOptions", "YtDlpSource", "clean_message", "error_for", "needs_merge"]

REPORT_INTERVAL = 0.25
"""Seconds between progress reports of one download. While bytes move they are reported at
least this often, so the engine's stall detection sees life; a silent transfer reports nothing."""
POLL_INTERVAL = 0.1
"""How often a waiting download coroutine looks at the cancel flag."""
LISTING_SOCKET_TIMEOUT = 20.0
"""yt-dlp's socket timeout while listing (downloads use the transfer's stall timeout)."""
METADATA_KEYS = (
    "id",
    "title",
    "uploader",
    "uploader_id",
    "uploader_url",
    "channel",
    "channel_id",
    "channel_url",
    "duration",
    "webpage_url",
    "thumbnail",
    "extractor",
    "extractor_key",
    "upload_date",
    "timestamp",
    "release_timestamp",
    "view_count",
    "like_count",
    "width",
    "height",
    "fps",
    "ext",
    "format",
    "format_id",
    "vcodec",
    "acodec",
    "filesize",
    "age_limit",
    "tags",
    "categories",
    "description",
)
"""What of yt-dlp's info dict goes into an asset's metadata (the rest is formats and internals)."""
DESCRIPTION_LIMIT = 2000

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_REPORT_BOILERPLATE = re.compile(
    r";?\s*please report this issue on\b.*$", re.IGNORECASE | re.DOTALL
)
_CLI_COOKIE_ADVICE = re.compile(r"\s*(?:Use|Try|Pass) --(?:cookies|username|netrc).*$", re.I | re.S)
_BRACKETS = re.compile(r"\[[^\]]*\]")

# Ordered: the first rule that matches decides. "Private video. Sign in if you've been granted
# access" is private, not a login problem, so privacy is checked before logins.
_RULES: tuple[tuple[re.Pattern[str], type[SourceError]], ...] = (
    (
        re.compile(r"unsupported url|no suitable extractor|is not a valid url", re.I),
        UnsupportedURLError,
    ),
    (
        re.compile(
            r"geo[- ]?restrict|geo[- ]?block|not (?:be )?available (?:in|from) your "
            r"(?:country|location|region)|blocked it in your country|in your country",
            re.I,
        ),
        GeoBlockedError,
    ),
    (re.compile(r"not a bot|captcha|unusual traffic|cloudflare anti-bot", re.I), BlockedError),
    (re.compile(r"http error 429|too many requests|rate[- ]limit", re.I), RateLimitedError),
    (
        re.compile(
            r"private|has been removed|been deleted|no longer available|video unavailable"
            r"|does not exist|account .*terminated|taken down|http error 404|http error 410",
            re.I,
        ),
        PrivateMediaError,
    ),
    (
        re.compile(
            r"sign in|log ?in\b|logged[- ]in|login|authenticat|--cookies|--username|cookies"
            r"|registered users|members[- ]only|subscri|premium|confirm your age"
            r"|age[- ]restricted|oauth token|http error 401",
            re.I,
        ),
        LoginRequiredError,
    ),
)
_NEEDS_COOKIES = (LoginRequiredError, BlockedError)


def clean_message(text: str) -> str:
    """yt-dlp's message without colours, its ``ERROR:`` prefix and its bug-report boilerplate."""
    text = _ANSI.sub("", text)
    text = _REPORT_BOILERPLATE.sub("", text)
    text = re.sub(r"^\s*ERROR:\s*", "", text)
    return " ".join(text.split()).rstrip(";, ")


def error_for(exc: BaseException, source: str) -> SourceError:
    """The tuiapp error a yt-dlp failure means, with a message a user can act on.

    Args:
        exc: what yt-dlp raised (a ``DownloadError`` usually wraps the extractor's error).
        source: the source's name, to name its cookies setting in the advice.
    """
    from yt_dlp.utils import GeoRestrictedError, UnsupportedError

    original = getattr(exc, "exc_info", None)
    cause = original[1] if isinstance(original, tuple) and len(original) > 1 else None
    message = clean_message(str(exc)) or type(exc).__name__
    cls: type[SourceError] | None = None
    if isinstance(exc, GeoRestrictedError) or isinstance(cause, GeoRestrictedError):
        cls = GeoBlockedError
    elif isinstance(exc, UnsupportedError) or isinstance(cause, UnsupportedError):
        cls = UnsupportedURLError
    else:
        cls = next((c for rule, c in _RULES if rule.search(message)), None)
    if re.search(r"ffmpeg", message, re.I):
        return SourceError(
            f"{message} (install ffmpeg, or choose a single-file format such as 'b')"
        )
    if re.search(r"requested format is not available", message, re.I):
        return SourceError(f"{message} (choose another format or quality option)")
    # yt-dlp's advice names its command-line flags; name the setting that does it here.
    advised = _CLI_COOKIE_ADVICE.search(message) is not None
    message = _CLI_COOKIE_ADVICE.sub("", message).strip()
    if advised or cls in _NEEDS_COOKIES:
        setting = f"TUIAPP_SOURCE_{source.upper()}__COOKIES"
        message = (
            f"{message} (set {setting} to a cookies.txt file exported from a logged-in browser)"
        )
    return (cls or SourceError)(message)


def needs_merge(fmt: str) -> bool:
    """True when a yt-dlp format selector joins separate streams (``bv+ba``): that needs ffmpeg."""
    return "+" in _BRACKETS.sub("", fmt)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
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
    (where ffmpeg is, when it is not on PATH), ``socket_timeout`` (seconds, while listing).
    """

    format: str
    ffmpeg: str | None
    cookies: Path | None = None
    cookies_from_browser: str | None = None
    max_size: int | None = None
    socket_timeout: float = LISTING_SOCKET_TIMEOUT

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

        ffmpeg_setting = get("ffmpeg")
        ffmpeg = shutil.which(str(ffmpeg_setting)) if ffmpeg_setting else shutil.which("ffmpeg")
        if ffmpeg_setting and ffmpeg is None:
            raise SourceError(f"ffmpeg option {ffmpeg_setting!r}: no such program")
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
                    " and ffmpeg is not installed: install it, or choose a single-file format"
                    " such as 'b'"
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
            cookies=cookie_path,
            cookies_from_browser=str(browser) if browser else None,
            max_size=int(max_size) if max_size else None,
            socket_timeout=float(timeout) if timeout else LISTING_SOCKET_TIMEOUT,
        )


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


class _Abort(Exception):
    """Raised inside yt-dlp (from a hook) to stop a download; carries what to tell the user.

    It derives from yt-dlp's ``DownloadCancelled`` at runtime (see :func:`_abort`), which yt-dlp
    lets through its error handling untouched.
    """

    error: SourceError


@functools.cache
def _abort_class() -> type[_Abort]:
    from yt_dlp.utils import DownloadCancelled

    class Abort(DownloadCancelled, _Abort):  # type: ignore[misc]
        pass

    return Abort


@functools.cache
def _ydl_class() -> type[Any]:
    """yt-dlp's ``YoutubeDL`` that closes, when it closes, every response it opened.

    Extractors leave responses open (the generic extractor reads only the headers of a video
    file; an error status is raised with its response unread) and the HTTP downloader does not
    close its response when a hook aborts it; those stay open until the garbage collector finds
    them, and the server keeps sending meanwhile.

    The responses are held strongly: one instance serves one listing or one download, and a
    response dropped into a reference cycle would otherwise be collected, socket unclosed,
    before :meth:`close` could reach it.
    """
    from yt_dlp import YoutubeDL
    from yt_dlp.networking.exceptions import HTTPError

    class ClosingYoutubeDL(YoutubeDL):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._open_responses: list[Any] = []
            super().__init__(*args, **kwargs)

        def urlopen(self, req: Any) -> Any:
            try:
                response = super().urlopen(req)
            except HTTPError as exc:  # an error status: its response is open too
                self._open_responses.append(exc.response)
                raise
            self._open_responses.append(response)
            return response

        def close_responses(self) -> None:
            """Close what was opened so far (the extractor's pages, before the download)."""
            responses, self._open_responses = self._open_responses, []
            for response in responses:
                with contextlib.suppress(Exception):
                    response.close()

        def close(self) -> None:
            self.close_responses()
            super().close()

    return ClosingYoutubeDL


def _abort(error: SourceError) -> _Abort:
    exc = _abort_class()(error.message)
    exc.error = error
    return exc


class _Log:
    """yt-dlp's logger: forwards to the source's log and remembers refusals yt-dlp only prints."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self.too_large: int | None = None
        """The size yt-dlp announced when it refused a file over ``max_filesize``."""

    def debug(self, msg: str) -> None:
        if "larger than max-filesize" in msg:
            match = re.search(r"\((\d+) bytes >", msg)
            self.too_large = int(match[1]) if match else -1
        self._log.debug("%s", _ANSI.sub("", msg))

    def info(self, msg: str) -> None:
        self._log.debug("%s", _ANSI.sub("", msg))

    def warning(self, msg: str) -> None:
        self._log.warning("%s", clean_message(msg))

    def error(self, msg: str) -> None:
        # Errors are raised as DownloadError and reported by the engine.
        self._log.debug("%s", clean_message(msg))


class _Progress:
    """yt-dlp's progress hook, and the throttled reports made from what it saw.

    The hook runs in the worker thread for every block: it checks the cancel flag and the size
    limit and keeps the latest numbers. The download coroutine passes them on a few times a
    second (:meth:`flush`), so a burst's last numbers are reported even when no block follows,
    and a silent transfer reports nothing (which is how the engine sees a stall).

    Hook dicts may carry unknown ``status`` values and None totals. Bytes of files that already
    finished (video, then audio) are added to the count of the one in flight.
    """

    def __init__(self, tctx: TransferContext, max_size: int) -> None:
        self._tctx = tctx
        self._max_size = max_size
        self._finished: dict[str, int] = {}
        self._latest: dict[str, Any] | None = None
        self._reported: dict[str, Any] | None = None
        self._last = 0.0

    def __call__(self, status: Mapping[str, Any]) -> None:
        if self._tctx.cancelled():
            raise _abort(FetchError("the download was stopped"))
        state = status.get("status")
        if state not in ("downloading", "finished"):
            return
        name = str(status.get("filename"))
        done = _int(status.get("downloaded_bytes")) or 0
        total = _int(status.get("total_bytes"))
        estimate = total if total is not None else _int(status.get("total_bytes_estimate"))
        before = sum(n for f, n in self._finished.items() if f != name)
        if state == "finished":
            self._finished[name] = done
        if before + max(done, total or 0) > self._max_size:
            raise _abort(
                TooLargeError(
                    f"the video is {before + max(done, total or 0):,} bytes or more,"
                    f" more than the limit {self._max_size:,}"
                )
            )
        # One assignment: the reading side sees the old dict or the new one, never half of one.
        self._latest = {
            "downloaded": before + done,
            "total": None if estimate is None else before + estimate,
            "speed": _float(status.get("speed")),
            "eta": _float(status.get("eta")),
            "fragment_index": _int(status.get("fragment_index")),
            "fragment_count": _int(status.get("fragment_count")),
        }

    def flush(self, *, force: bool = False) -> None:
        """Report the latest numbers if they changed, at most every ``REPORT_INTERVAL``."""
        latest = self._latest
        now = time.monotonic()
        if latest is None or latest is self._reported:
            return
        if force or now - self._last >= REPORT_INTERVAL:
            self._last = now
            self._reported = latest
            self._tctx.report(**latest)

    def retry_wait(self, n: int) -> float:
        """yt-dlp's back-off before retry ``n``; the one place a stalled download looks up."""
        if self._tctx.cancelled():
            raise _abort(FetchError("the download was stopped"))
        return min(0.5 * (n + 1), 2.0)


class YtDlpSource(Source):
    """A video site yt-dlp can list and download. Subclasses give the site's class attributes.

    Not registered itself: it defines no ``name``.
    """

    kind: ClassVar[SourceKind] = "video"
    takes_query = False
    search_key: ClassVar[str | None] = None
    """yt-dlp's search prefix (``ytsearch``) when the site is searched through yt-dlp."""
    max_listing: ClassVar[int] = 200
    """Most entries listed from one playlist or channel."""
    login_notice: ClassVar[str | None] = None
    """Said to the user when the site needs a login and no cookies are set."""

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        opts = VideoOptions.read(self.name, query.options, ctx.settings)
        if self.login_notice and opts.cookies is None and not opts.cookies_from_browser:
            ctx.notice(self.login_notice)
        if query.is_url:
            target = self.listing_url(query.text)
        elif self.search_key is not None:
            target = f"{self.search_key}{listing_limit(query.count)}:{query.text}"
        else:
            async for found in self.search(query, opts, ctx):
                yield found
            return
        async for found in self.list_url(target, query.count, opts, ctx):
            yield found

    def listing_url(self, url: str) -> str:
        """What to list for a URL the user typed (a channel URL may become its videos page)."""
        return url

    async def search(
        self, query: SourceQuery, opts: VideoOptions, ctx: SourceContext
    ) -> AsyncIterator[Found]:
        """Search the site without yt-dlp (subclasses with a search API override this)."""
        raise UnsupportedURLError(f"{self.name} takes only URLs, not search words")
        yield  # pragma: no cover - makes this an async generator

    async def list_url(
        self, target: str, count: int, opts: VideoOptions, ctx: SourceContext
    ) -> AsyncIterator[Found]:
        """Yield a Found per video ``target`` holds (one video, a playlist, a channel, a search)."""
        limit = min(listing_limit(count), self.max_listing)
        info = await asyncio.to_thread(self._list_blocking, target, limit, opts, ctx)
        if info is None:
            return
        if info.get("_type") in ("playlist", "multi_video"):
            for entry in info.get("entries") or ():
                if isinstance(entry, dict):
                    found = self._entry_found(entry, opts)
                    if found is not None:
                        yield found
            return
        if info.get("is_live") or info.get("live_status") in ("is_live", "is_upcoming"):
            raise SourceError(f"{target} is a live stream; tuiapp downloads only finished videos")
        url = str(info.get("webpage_url") or target)
        yield self.found(url, info, opts)

    def found(self, url: str, info: Mapping[str, Any], opts: VideoOptions) -> Found:
        """A Found for one video whose page is ``url``; ``info`` is whatever is known of it yet."""
        thumbnail = info.get("thumbnail")
        if not thumbnail:
            thumbs = [
                t for t in info.get("thumbnails") or () if isinstance(t, dict) and t.get("url")
            ]
            thumbnail = thumbs[-1]["url"] if thumbs else None
        page = info.get("webpage_url") or url
        return Found(
            url=url,
            expect="video",
            page_url=str(page),
            title=info.get("title") or None,
            author=info.get("uploader") or info.get("channel") or None,
            author_url=info.get("uploader_url") or info.get("channel_url") or None,
            width=_int(info.get("width")),
            height=_int(info.get("height")),
            thumbnail_url=str(thumbnail) if thumbnail else None,
            metadata={
                k: info[k]
                for k in ("id", "duration", "extractor", "ie_key")
                if info.get(k) is not None
            },
            download=functools.partial(self.download, url, opts),
        )

    def _entry_found(self, entry: Mapping[str, Any], opts: VideoOptions) -> Found | None:
        if entry.get("live_status") in ("is_live", "is_upcoming"):
            return None  # a channel's live stream or a scheduled one: nothing to download yet
        url = entry.get("url") or entry.get("webpage_url")
        return self.found(str(url), entry, opts) if url else None

    def _params(self, opts: VideoOptions, log: _Log, workdir: Path) -> dict[str, Any]:
        params: dict[str, Any] = {
            "format": opts.format,
            "quiet": True,
            "no_warnings": False,
            "noprogress": True,
            "logger": log,
            "color": {"stdout": "no_color", "stderr": "no_color"},
            "noplaylist": True,
            "retries": 3,
            "fragment_retries": 3,
            "extractor_retries": 2,
            "socket_timeout": opts.socket_timeout,
            "paths": {"home": str(workdir), "temp": str(workdir)},
            "outtmpl": {"default": "%(id).80B.%(ext)s"},
            "restrictfilenames": True,
            "overwrites": True,
        }
        if opts.ffmpeg is not None:
            params["ffmpeg_location"] = opts.ffmpeg
        if opts.cookies is not None:
            # yt-dlp writes refreshed cookies back on close: give it a private copy, so
            # downloads side by side never write the user's file at the same time.
            copy = workdir / "cookies.txt"
            shutil.copyfile(opts.cookies, copy)
            params["cookiefile"] = str(copy)
        if opts.cookies_from_browser:
            params["cookiesfrombrowser"] = (opts.cookies_from_browser,)
        return params

    def _list_blocking(
        self, target: str, limit: int, opts: VideoOptions, ctx: SourceContext
    ) -> dict[str, Any] | None:
        from yt_dlp.utils import YoutubeDLError

        ctx.scratch_dir.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="list-", dir=ctx.scratch_dir))
        try:
            params = self._params(opts, _Log(ctx.log), workdir)
            params.update(
                {
                    "extract_flat": "in_playlist",
                    "noplaylist": False,
                    "playlist_items": f"1:{limit}",
                    "lazy_playlist": False,
                    "skip_download": True,
                    # The format is chosen when downloading; listing must not fail over it.
                    "format": "b/bv*/ba/w",
                }
            )
            with _ydl_class()(params) as ydl:
                try:
                    info = ydl.extract_info(target, download=False)
                except YoutubeDLError as exc:
                    raise error_for(exc, self.name) from None
                return None if info is None else dict(ydl.sanitize_info(info))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    async def download(self, url: str, opts: VideoOptions, tctx: TransferContext) -> DownloadedFile:
        """Download one video into ``tctx.scratch_dir`` (the ``Found.download`` of this source).

        Returns as soon as ``tctx.cancelled()`` turns true, without waiting for the thread.

        Raises:
            SourceError: what yt-dlp ran into, mapped (see :func:`error_for`).
        """
        max_size = min(tctx.max_size, opts.max_size or tctx.max_size)
        progress = _Progress(tctx, max_size)
        work = asyncio.ensure_future(
            asyncio.to_thread(self._download_blocking, url, opts, tctx, progress, max_size)
        )
        work.add_done_callback(_consume)
        while not work.done():
            await asyncio.wait({work}, timeout=POLL_INTERVAL)
            if work.done():
                break
            if tctx.cancelled():
                raise FetchError(f"{url}: the download was stopped")
            progress.flush()
        result = work.result()
        progress.flush(force=True)
        return result

    def _download_blocking(
        self,
        url: str,
        opts: VideoOptions,
        tctx: TransferContext,
        hook: _Progress,
        max_size: int,
    ) -> DownloadedFile:
        from yt_dlp.utils import DownloadCancelled, YoutubeDLError

        tctx.scratch_dir.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="dl-", dir=tctx.scratch_dir))
        try:
            log = _Log(logging.getLogger(f"tuiapp.sources.{self.name}"))
            params = self._params(opts, log, workdir)
            params.update(
                {
                    "max_filesize": max_size,
                    "progress_hooks": [hook],
                    "retry_sleep_functions": {
                        "http": hook.retry_wait,
                        "fragment": hook.retry_wait,
                    },
                    # A silent socket fails a little after the engine's stall detection fires,
                    # so the engine decides, and the thread never outlives it by much.
                    "socket_timeout": tctx.stall_timeout + 1.0,
                    "playlist_items": "1",
                }
            )
            with _ydl_class()(params) as ydl:
                try:
                    info = ydl.extract_info(url, download=False)
                    ydl.close_responses()
                    info = _single(info, url)
                    _check_before_download(info, url, max_size)
                    info = ydl.process_ie_result(info, download=True)
                except _Abort as exc:
                    raise exc.error from None
                except DownloadCancelled:
                    raise FetchError(f"{url}: the download was stopped") from None
                except YoutubeDLError as exc:
                    raise error_for(exc, self.name) from None
                if tctx.cancelled():
                    raise FetchError(f"{url}: the download was stopped")
                path = _output_file(info, workdir)
                if path is None:
                    if log.too_large is not None:
                        size = f"{log.too_large:,} bytes" if log.too_large > 0 else "too large"
                        raise TooLargeError(f"{url} is {size}, more than the limit {max_size:,}")
                    raise SourceError(f"{url}: yt-dlp finished without writing a file")
                metadata = _metadata(ydl.sanitize_info(info))
            final = tctx.scratch_dir / f"{workdir.name}-{path.name}"
            path.replace(final)
            mime, _ = mimetypes.guess_type(final.name)
            return DownloadedFile(final, mime, metadata)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def listing_limit(count: int) -> int:
    """How many entries to list when ``count`` files are wanted: some spare for failures."""
    return count + min(count, 10)


def _consume(task: asyncio.Future[Any]) -> None:
    # A download abandoned on cancel still ends with an exception; read it so it is not logged.
    if not task.cancelled():
        task.exception()


def _single(info: Any, url: str) -> dict[str, Any]:
    if not isinstance(info, dict):
        raise SourceError(f"{url}: yt-dlp found nothing to download")
    if info.get("_type") in ("playlist", "multi_video"):
        entries = [e for e in info.get("entries") or () if isinstance(e, dict)]
        if not entries:
            raise SourceError(f"{url}: the playlist is empty")
        return entries[0]
    return info


def _check_before_download(info: Mapping[str, Any], url: str, max_size: int) -> None:
    if info.get("is_live") or info.get("live_status") in ("is_live", "is_upcoming"):
        raise SourceError(f"{url} is a live stream; tuiapp downloads only finished videos")
    size = _int(info.get("filesize"))
    if size is None:
        parts = info.get("requested_formats") or ()
        sizes = [_int(f.get("filesize")) for f in parts if isinstance(f, dict)]
        size = sum(s for s in sizes if s) if sizes and all(sizes) else None
    if size is not None and size > max_size:
        raise TooLargeError(f"{url} is {size:,} bytes, more than the limit {max_size:,}")


def _output_file(info: Any, workdir: Path) -> Path | None:
    """The file yt-dlp wrote, if it wrote one."""
    if isinstance(info, dict):
        for item in info.get("requested_downloads") or ():
            path = item.get("filepath") if isinstance(item, dict) else None
            if path and Path(path).is_file():
                return Path(path)
    files = [
        p
        for p in workdir.iterdir()
        if p.is_file() and p.suffix not in {".part", ".ytdl", ".txt"} and ".part-" not in p.name
    ]
    return max(files, key=lambda p: p.stat().st_size) if files else None


def _metadata(info: Mapping[str, Any] | None) -> dict[str, Any]:
    if not info:
        return {}
    data = {k: info[k] for k in METADATA_KEYS if info.get(k) is not None}
    if isinstance(data.get("description"), str):
        data["description"] = data["description"][:DESCRIPTION_LIMIT]
    return data
