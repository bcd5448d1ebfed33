"""What a source is and what it gets: the base class, the context, and the items it yields.

A source only produces. It gets a :class:`SourceContext` (HTTP client, base URL, key, options,
cancel check) and yields :class:`Found` items. It never writes to the database, never picks file
paths and never touches a user interface; the engine does all of that.
"""

from __future__ import annotations

import abc
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from tuiapp.errors import FormatChangedError, MissingKeyError

if TYPE_CHECKING:
    import logging
    from pathlib import Path

__all__ = [
    "AnswerStore",
    "DownloadedFile",
    "Downloader",
    "Found",
    "HttpClient",
    "HttpResponse",
    "MediaKind",
    "Source",
    "SourceContext",
    "SourceKind",
    "SourceQuery",
    "TransferContext",
]

MediaKind = Literal["image", "video", "audio", "any"]
SourceKind = Literal["image_search", "image_api", "image_generator", "video", "direct_link"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A fully read HTTP response (API pages and search pages, never media files)."""

    status: int
    url: str
    headers: Mapping[str, str]
    """Header names are lower-case."""
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON means the service changed its format."""
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise FormatChangedError(
                f"expected JSON from {self.url} (HTTP {self.status}), got {self.preview()!r}"
            ) from exc

    def preview(self, size: int = 120) -> str:
        """The first bytes of the body, for error messages and logs."""
        return self.body[:size].decode("utf-8", errors="replace")


class HttpClient(Protocol):
    """The engine's HTTP client as sources see it.

    Retries 429/5xx/connection errors with backoff (honouring Retry-After). A status in
    ``allow_status`` is returned as-is; any other non-2xx raises ``HTTPStatusError`` (429 after the
    retries: ``RateLimitedError``).
    """

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        allow_status: Collection[int] = (),
    ) -> HttpResponse: ...


class AnswerStore(Protocol):
    """Where a source keeps the API answers a service asks to be cached (the engine's database).

    Text by key; the source decides what the text holds and how old it may be.
    """

    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str, keep_for: float) -> None:
        """Keep ``value``; this source's entries older than ``keep_for`` seconds may go."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceQuery:
    """What a source is asked for."""

    text: str
    """Search words, or a URL when ``is_url``."""
    count: int
    """How many files the job wants from this source; yield more when some may fail."""
    is_url: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DownloadedFile:
    """A file a source downloaded itself into the scratch dir (yt-dlp); the engine stores it."""

    path: Path
    mime: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Merged into the asset's metadata (title, uploader, duration, ...)."""


@dataclass(slots=True, kw_only=True)
class TransferContext:
    """Given to a source's own downloader (see ``Found.download``)."""

    scratch_dir: Path
    max_size: int
    stall_timeout: float
    report: Callable[..., None]
    """Thread-safe: ``report(downloaded=, total=, speed=, eta=, fragment_index=, fragment_count=)``.
    Every call counts as a sign of life for stall detection."""
    cancelled: Callable[[], bool]
    """Thread-safe: True once the download must stop (cancel, job budget, stall)."""


Downloader = Callable[[TransferContext], Awaitable[DownloadedFile]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Found:
    """One file a source found.

    The engine downloads ``url`` itself and checks that the bytes are of kind ``expect``, unless
    ``download`` is given: then the source downloads the file (into ``TransferContext.scratch_dir``)
    when the engine asks, and the engine stores the result.
    """

    url: str
    expect: MediaKind = "image"
    page_url: str | None = None
    title: str | None = None
    author: str | None = None
    author_url: str | None = None
    license: str | None = None
    width: int | None = None
    height: int | None = None
    thumbnail_url: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    """Extra request headers for the download (a Referer, an Authorization)."""
    download: Downloader | None = None
    on_stored: Callable[[], Awaitable[None]] | None = None
    """Called by the engine once the file is stored (e.g. an API's download tracking).
    Its failure is logged and changes nothing about the stored file."""


@dataclass(slots=True, kw_only=True)
class SourceContext:
    """Everything a source may use. Built by the engine for one source of one job."""

    http: HttpClient
    base_url: str
    """The site's base URL, no trailing slash (a setting, so tests and mirrors can move it)."""
    api_key: str | None
    user_agent: str
    scratch_dir: Path
    log: logging.Logger
    cancelled: Callable[[], bool]
    notice: Callable[[str], None]
    """Tell the user something about this source (rate-limit status, a fallback taken)."""
    options: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    """Source-specific settings (cookies file, format), read from the environment by the engine."""
    cache_dir: Path | None = None
    """A directory of this source's own that outlives jobs."""
    answers: AnswerStore | None = None
    """Where API answers a service asks to be cached are kept (None: nothing is kept)."""


class Source(abc.ABC):
    """A site tuiapp can search or download from. One subclass per module in ``tuiapp.sources``.

    Class attributes say what the source is; constructing one does no I/O. ``iterate`` is the
    only behaviour: an async generator of :class:`Found` items, lazily paginating, so the engine
    can stop pulling once it has stored enough.
    """

    name: ClassVar[str]
    kind: ClassVar[SourceKind]
    description: ClassVar[str]
    base_url: ClassVar[str]
    """Default base URL; the user may override it with ``TUIAPP_<NAME>_BASE_URL``."""
    example: ClassVar[str]
    """A query or URL this source takes (tested against ``pattern`` when it is a URL)."""
    pattern: ClassVar[re.Pattern[str] | None] = None
    """URLs this source takes; a URL typed into a job goes to the first source that matches."""
    takes_query: ClassVar[bool] = True
    key_setting: ClassVar[str | None] = None
    """Environment variable holding the API key, when the source needs one."""

    def require_key(self, ctx: SourceContext) -> str:
        """The user's API key. The engine refuses a job without it first; a source never
        searches without it (and never substitutes another service).

        Raises:
            MissingKeyError: no key is set.
        """
        if not ctx.api_key:
            raise MissingKeyError(self.key_setting or f"the API key of {self.name}")
        return ctx.api_key

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "__abstractmethods__", None) or "name" not in cls.__dict__:
            return  # an intermediate base class (ytdlp.YtDlpSource)
        for attr in ("kind", "description", "base_url", "example"):
            if not hasattr(cls, attr):
                raise TypeError(f"source {cls.__name__} lacks {attr}")
        if not _NAME.match(cls.name):
            raise TypeError(f"source name {cls.name!r} must be lower_snake_case")
        if cls.base_url.endswith("/"):
            raise TypeError(f"source {cls.name}: base_url must not end with '/'")
        if not cls.takes_query and cls.pattern is None:
            raise TypeError(f"source {cls.name} takes neither a query nor URLs")

    @classmethod
    def takes_url(cls) -> bool:
        return cls.pattern is not None

    @classmethod
    def matches(cls, url: str) -> bool:
        return cls.pattern is not None and cls.pattern.match(url) is not None

    @abc.abstractmethod
    def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        """Yield what the source finds for ``query``, lazily, as many as it can.

        Raises:
            SourceError: a subclass saying what went wrong (missing key, blocked, format changed).
        """
