"""What a source is and what it gets: the base class, the context, the items it yields, its options.

A source only produces. It gets a :class:`SourceContext` (HTTP client, base URL, key, options,
cancel check) and yields :class:`Found` items. It never writes to the database, never picks file
paths and never touches a user interface; the engine does all of that. It declares the job options
it reads (:class:`Option`) and reads them typed (:meth:`Source.read_options`); the engine checks a
job's options against those declarations when the job is submitted.
"""

from __future__ import annotations

import abc
import json
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from tuiapp.errors import FormatChangedError, InvalidRequestError, MissingKeyError
from tuiapp.jobs import MediaFacts

if TYPE_CHECKING:
    import logging
    from pathlib import Path

__all__ = [
    "MAX_TEXT",
    "AnswerStore",
    "Browser",
    "DownloadedFile",
    "Downloader",
    "Found",
    "HttpClient",
    "HttpResponse",
    "MediaKind",
    "Option",
    "OptionKind",
    "Source",
    "SourceContext",
    "SourceKind",
    "SourceQuery",
    "TransferContext",
    "convert_options",
    "is_set",
    "item_id",
]

MediaKind = Literal["image", "video", "audio", "any"]
SourceKind = Literal["image_search", "image_api", "image_generator", "video", "direct_link"]
OptionKind = Literal["int", "float", "bool", "str", "choice"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_WHOLE = re.compile(r"[+-]?\d+")
MAX_TEXT = 1000
"""The longest text an option of kind ``str`` takes."""


@dataclass(frozen=True, slots=True)
class Option:
    """One job option a source reads (``tuiapp get -o NAME=VALUE``, the API's ``options``).

    Values arrive as text from the command line and as JSON scalars from the API;
    :func:`convert_options` checks them and hands the source typed values.
    """

    name: str
    kind: OptionKind
    help: str
    """What the option does, for the README and error messages."""
    choices: tuple[str, ...] = ()
    """For ``choice``: the values taken (lower case; a value is matched ignoring case)."""
    minimum: float | None = None
    """For ``int`` and ``float``: the smallest value taken (inclusive)."""
    maximum: float | None = None
    """For ``int`` and ``float``: the largest value taken (inclusive)."""
    pattern: str | None = None
    """For ``str``: a regular expression the whole value must match."""
    shape: str | None = None
    """For ``str`` with a pattern: what a value looks like, in words ("WIDTHxHEIGHT")."""

    def expects(self) -> str:
        """What a value must be, in words: "a whole number from 1 to 5000"."""
        if self.kind in ("int", "float"):
            what = "a whole number" if self.kind == "int" else "a number"
            low, high = self.minimum, self.maximum
            if low is not None and high is not None:
                return f"{what} from {low:g} to {high:g}"
            if low is not None:
                return f"{what} of at least {low:g}"
            return f"{what} of at most {high:g}" if high is not None else what
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        return self.shape or "text"

    def problems(self) -> list[str]:
        """What is wrong with this declaration (empty when it is well-formed)."""
        found: list[str] = []
        if not _NAME.match(self.name):
            found.append(f"option name {self.name!r} must be lower_snake_case")
        if self.kind not in ("int", "float", "bool", "str", "choice"):
            found.append(f"option {self.name!r} has an unknown kind {self.kind!r}")
        if not self.help.strip():
            found.append(f"option {self.name!r} needs a help text")
        if (self.kind == "choice") != bool(self.choices):
            found.append(f"option {self.name!r}: choices go with kind 'choice', and only there")
        if any(c != c.strip().lower() or not c for c in self.choices):
            found.append(f"option {self.name!r}: choices must be lower case words")
        if len(set(self.choices)) != len(self.choices):
            found.append(f"option {self.name!r} lists a choice twice")
        bounded = self.minimum is not None or self.maximum is not None
        if bounded and self.kind not in ("int", "float"):
            found.append(f"option {self.name!r}: a minimum or maximum needs a number kind")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            found.append(f"option {self.name!r}: minimum above maximum")
        if (self.pattern is not None or self.shape is not None) and self.kind != "str":
            found.append(f"option {self.name!r}: a pattern or shape needs kind 'str'")
        if (self.pattern is None) != (self.shape is None):
            found.append(f"option {self.name!r}: a pattern needs a shape saying it in words")
        return found

    def convert(self, source: str, value: Any) -> Any:
        """``value`` as this option's type (int, float, bool or str).

        Raises:
            InvalidRequestError: naming the source, the option and what it expects.
        """
        result = self._convert(value)
        if result is None:
            expects = self.expects()
            if self.kind == "str" and isinstance(value, str) and len(value) > MAX_TEXT:
                expects = f"at most {MAX_TEXT} characters long"
            shown = repr(value) if isinstance(value, str) else json.dumps(value)
            if len(shown) > 60:
                shown = shown[:57] + "..."
            raise InvalidRequestError(
                f"{source}: option {self.name!r} must be {expects}, not {shown}"
            )
        return result

    def _convert(self, value: Any) -> Any:
        """The converted value, or None when ``value`` is not one this option takes."""
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            word = value.strip().lower() if isinstance(value, str) else None
            return True if word in _TRUE else False if word in _FALSE else None
        if isinstance(value, bool):
            return None  # true is no number, nor a word a user typed
        if self.kind in ("int", "float"):
            number = _number(value, whole=self.kind == "int")
            if number is None:
                return None
            if self.minimum is not None and number < self.minimum:
                return None
            if self.maximum is not None and number > self.maximum:
                return None
            return number
        if isinstance(value, int | float):
            value = str(value)
        if not isinstance(value, str):
            return None
        if self.kind == "choice":
            word = value.strip().lower()
            return word if word in self.choices else None
        if len(value) > MAX_TEXT:
            return None
        if self.pattern is not None and not re.fullmatch(self.pattern, value.strip()):
            return None
        return value.strip() if self.pattern is not None else value


def _number(value: Any, *, whole: bool) -> int | float | None:
    if isinstance(value, str):
        text = value.strip()
        if whole:
            # int() refuses over 4300 digits with its own error; no option needs 30.
            return int(text) if len(text) <= 30 and _WHOLE.fullmatch(text) else None
        try:
            value = float(text)
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if whole:
        return value if isinstance(value, int) else int(value) if value.is_integer() else None
    return float(value)


def is_set(value: Any) -> bool:
    """False for an option left empty (``-o size=``, JSON null): the source's default applies."""
    return value is not None and not (isinstance(value, str) and not value.strip())


def item_id(value: Any) -> str | None:
    """A site's id of an item as ``Found.item_id`` takes it: text of at most 200 characters
    (a number or a string; anything else, or nothing, is no id)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value).strip()
    return text if text and len(text) <= 200 else None


def convert_options(source: type[Source], raw: Mapping[str, Any]) -> dict[str, Any]:
    """The options ``source`` declares, taken from ``raw`` and converted to their types.

    Keys ``source`` does not declare are left out (a job's options serve all its sources); so
    are options left empty, so the source's default applies.

    Raises:
        InvalidRequestError: a value the option does not take, e.g. "picsum: option 'width'
            must be a whole number from 1 to 5000, not 'abc'".
    """
    return {
        option.name: option.convert(source.name, raw[option.name])
        for option in source.options
        if is_set(raw.get(option.name))
    }


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
        except (ValueError, RecursionError) as exc:
            raise FormatChangedError(
                f"expected JSON from {self.url} (HTTP {self.status}), got {self.preview()!r}"
            ) from exc

    def preview(self, size: int = 120) -> str:
        """The first bytes of the body, for error messages and logs."""
        return self.body[:size].decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class Browser:
    """The browser a source's page requests are made as: its TLS handshake, HTTP/2 and headers.

    The engine's client sends a request made with ``browser=`` through curl_cffi impersonating
    ``target``, with that browser's own User-Agent and headers (the source's headers are added;
    one given an empty value is not sent; a User-Agent among them is dropped, since it could
    only disagree with the handshake).
    """

    target: str
    """curl_cffi's impersonation target, e.g. ``chrome142`` or ``chrome99_android``."""
    request: Literal["page", "script"] = "page"
    """``page``: a navigation (``Sec-Fetch-Mode: navigate``...); ``script``: what the page's own
    script sends with ``fetch()`` (``Sec-Fetch-Mode: cors``, no navigation headers)."""

    def script(self) -> Browser:
        """The same browser, asking as the page's script does."""
        return Browser(self.target, "script")


class HttpClient(Protocol):
    """The engine's HTTP client as sources see it.

    Retries 429/5xx/connection errors with backoff (honouring Retry-After). A status in
    ``allow_status`` is returned as-is; any other non-2xx raises ``HTTPStatusError`` (429 after the
    retries: ``RateLimitedError``). With ``browser``, the request is made as that browser makes
    it (see :class:`Browser`); without, through the engine's fast client.
    """

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        allow_status: Collection[int] = (),
        browser: Browser | None = None,
    ) -> HttpResponse: ...

    def proxy_for(self, url: str) -> str | None:
        """The proxy (its URL, credentials included) a request to ``url`` goes through; None:
        direct. For a source that hands requests to another library (yt-dlp)."""
        ...


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
class Found(MediaFacts):
    """One file a source found.

    The engine downloads ``url`` itself and checks that the bytes are of kind ``expect``, unless
    ``download`` is given: then the source downloads the file (into ``TransferContext.scratch_dir``)
    when the engine asks, and the engine stores the result.
    """

    expect: MediaKind = "image"
    item_id: str | None = None
    """The site's own id of this item (a photo's, a video's), where it has one: a new-only job
    knows an item by it (else by ``url``), so another size or a changed link of a file the user
    has is not fetched again. Make it with :func:`item_id`."""
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
    browser: ClassVar[Browser | None] = None
    """The browser whose handshake the source's page requests wear (scraped search pages);
    None: the engine's fast client."""
    options: ClassVar[tuple[Option, ...]] = ()
    """The job options this source reads (and only those); checked when a job is submitted."""

    @classmethod
    def option(cls, name: str) -> Option | None:
        """The declaration of option ``name``, if this source takes it."""
        return next((o for o in cls.options if o.name == name), None)

    @classmethod
    def read_options(cls, query: SourceQuery) -> dict[str, Any]:
        """The query's options this source takes, typed (see :func:`convert_options`)."""
        return convert_options(cls, query.options)

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
        problems = [p for o in cls.options for p in o.problems()]
        if len({o.name for o in cls.options}) != len(cls.options):
            problems.append("an option is declared twice")
        if problems:
            raise TypeError(f"source {cls.name}: {'; '.join(problems)}")

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
