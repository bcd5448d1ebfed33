"""The engine's vocabulary: job specs, states and the read-only views clients get back."""

from __future__ import annotations

import enum
import re
from dataclasses import asdict, dataclass, field, fields

# Imported at run time, not under TYPE_CHECKING: the HTTP API reads these annotations to build
# its JSON schemas (tuiapp.api_types), and datetime is loaded by the engine anyway.
from datetime import datetime  # noqa: TC003
from typing import Any

__all__ = [
    "MEDIA_FACTS",
    "TERMINAL_JOB_STATES",
    "TERMINAL_SOURCE_STATES",
    "AssetInfo",
    "Fingerprint",
    "JobInfo",
    "JobSourceInfo",
    "JobSpec",
    "JobState",
    "MediaFacts",
    "SourceInfo",
    "SourceState",
    "UserInfo",
    "WatchInfo",
    "WatchSpec",
    "check_webhook",
    "describe_every",
    "parse_every",
]

MAX_COUNT = 10_000


class JobState(enum.StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    """Every source succeeded (files were stored, or none was found and nothing went wrong)."""
    PARTIAL = "partial"
    """Files were stored, but some source failed or was cut short."""
    FAILED = "failed"
    """Nothing was stored, and at least one source had an error."""
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    """GLOBAL_JOB_TIMEOUT ran out; what was stored stays."""
    INTERRUPTED = "interrupted"
    """The process died while the job ran; found at the next start."""


TERMINAL_JOB_STATES = frozenset(
    {
        JobState.DONE,
        JobState.PARTIAL,
        JobState.FAILED,
        JobState.CANCELLED,
        JobState.TIMED_OUT,
        JobState.INTERRUPTED,
    }
)


class SourceState(enum.StrEnum):
    """Where one source of a job is."""

    QUEUED = "queued"
    SEARCHING = "searching"
    DOWNLOADING = "downloading"
    DONE = "done"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


TERMINAL_SOURCE_STATES = frozenset(
    {
        SourceState.DONE,
        SourceState.FAILED,
        SourceState.TIMED_OUT,
        SourceState.BLOCKED,
        SourceState.CANCELLED,
        SourceState.INTERRUPTED,
    }
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSpec:
    """What a user asks for: one query (or URL) over some sources.

    Clients build it from what the user gave, unchecked; the engine's front door
    (``Engine.submit``) checks it and returns the spec the job runs (sources named and ordered,
    options typed), which is what :attr:`JobInfo.spec` gives back.

    Attributes:
        query: search words, or a URL for sources that take URLs.
        sources: source names, in the order the user picked them; empty lets the engine pick
            (the source that claims a URL, the default sources for search words).
        count: how many files to store per source.
        options: per-job options (format, audio_only, ...) passed through to the sources.
        new_only: skip what the owner's library holds already (the same item of the same
            source, the same bytes, or a near-duplicate picture), counted as ``known``; the
            count is then of new files.
    """

    query: str
    sources: tuple[str, ...] = ()
    count: int = 10
    options: dict[str, Any] = field(default_factory=dict)
    new_only: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "sources": list(self.sources),
            "count": self.count,
            "options": dict(self.options),
            "new_only": self.new_only,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSourceInfo:
    """One source's part of a job."""

    source: str
    state: SourceState
    found: int = 0
    stored: int = 0
    failed: int = 0
    bytes: int = 0
    error: str | None = None
    error_code: str | None = None
    duplicates: int = 0
    """Files of this source that are near-duplicates of another source's picture."""
    known: int = 0
    """Items a new-only job skipped: the owner's library held them already."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class JobInfo:
    """A job as clients see it."""

    id: int
    query: str
    sources: tuple[JobSourceInfo, ...]
    count: int
    options: dict[str, Any]
    state: JobState
    owner_id: int | None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    rerun_of: int | None = None
    timeout: float | None = None
    """The GLOBAL_JOB_TIMEOUT the job ran (or will run) with, in seconds."""
    new_only: bool = False
    watch_id: int | None = None
    """The watch this job is a run of."""

    @property
    def stored(self) -> int:
        return sum(s.stored for s in self.sources)

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.sources)

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self.sources)

    @property
    def known(self) -> int:
        return sum(s.known for s in self.sources)

    @property
    def spec(self) -> JobSpec:
        return JobSpec(
            query=self.query,
            sources=tuple(s.source for s in self.sources),
            count=self.count,
            options=dict(self.options),
            new_only=self.new_only,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "query": self.query,
            "count": self.count,
            "options": dict(self.options),
            "state": self.state.value,
            "owner_id": self.owner_id,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "error": self.error,
            "rerun_of": self.rerun_of,
            "timeout": self.timeout,
            "new_only": self.new_only,
            "watch_id": self.watch_id,
            "stored": self.stored,
            "failed": self.failed,
            "known": self.known,
            "bytes": self.bytes,
            "sources": [s.to_dict() for s in self.sources],
        }


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What looking at a picture's pixels learned: its perceptual hash and its own size.

    Two pictures whose hashes differ in at most ``near`` bits are one picture (resized,
    recompressed or slightly cropped copies); the engine makes fingerprints, storage groups them.
    """

    phash: int
    """64 bits."""
    width: int
    height: int
    near: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaFacts:
    """What a site tells about a file: its URL, its page, who made it, its licence and size.

    Written once, here: a source's find (``sources.base.Found``), the asset storage writes
    (``storage.NewAsset``) and the asset clients see (:class:`AssetInfo`) all carry these.
    """

    url: str
    page_url: str | None = None
    title: str | None = None
    author: str | None = None
    author_url: str | None = None
    license: str | None = None
    width: int | None = None
    height: int | None = None
    thumbnail_url: str | None = None


MEDIA_FACTS = tuple(f.name for f in fields(MediaFacts))
"""The names of :class:`MediaFacts`' fields, to copy them from one shape to the next."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetInfo(MediaFacts):
    """One stored file and where it came from."""

    id: int
    job_id: int
    source: str
    kind: str
    metadata: dict[str, Any]
    mime: str
    size: int
    sha256: str
    owner_id: int | None
    created_at: datetime
    duplicate_of: int | None = None
    """The best copy of the same picture in the owner's library, when this file is not it."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = _iso(self.created_at)
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceInfo:
    """What the engine knows about one source, for pickers and `tuiapp sources`."""

    name: str
    kind: str
    description: str
    takes_query: bool
    takes_url: bool
    key_setting: str | None
    configured: bool
    base_url: str
    ready: bool = True
    """Everything the source needs is here (key, cookies, programs); the network is not tested."""
    missing: tuple[str, ...] = ()
    """Why it is not ready, one short sentence per missing thing."""
    handshake: str | None = None
    """The browser whose TLS handshake the source's pages are asked with (curl_cffi's target,
    e.g. ``chrome152``); None for a source that asks with the plain client."""
    handshake_available: bool | None = None
    """Whether that handshake can be made here (curl_cffi installed and knowing the target);
    None when the source needs none."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"missing": list(self.missing)}


@dataclass(frozen=True, slots=True, kw_only=True)
class UserInfo:
    id: int
    name: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "created_at": _iso(self.created_at)}


MIN_EVERY = 5 * 60
"""The shortest interval between a watch's runs, in seconds."""
MAX_EVERY = 52 * 7 * 24 * 3600
"""The longest: a year."""
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_EVERY = re.compile(r"(\d{1,6})\s*([smhdw])")


def parse_every(text: str | int) -> int:
    """An interval (``6h``, ``90m``, ``1w``, ``1d12h``, or whole seconds) in seconds.

    Raises:
        InvalidRequestError: unreadable, under 5 minutes or over a year; the message names
            ``every``.
    """
    from tuiapp.errors import InvalidRequestError

    if isinstance(text, bool):
        raise InvalidRequestError("every: give an interval such as 6h, 30m, 2d or 1w")
    if isinstance(text, int):
        seconds = text
    else:
        spec = text.strip().lower().replace(" ", "")
        if spec.isdigit() and len(spec) <= 9:
            seconds = int(spec)
        elif spec and _EVERY.sub("", spec) == "" and len(spec) <= 40:
            seconds = sum(int(n) * _UNITS[u] for n, u in _EVERY.findall(spec))
        else:
            raise InvalidRequestError(
                f"every: {text[:40]!r} is no interval; give one such as 6h, 30m, 2d or 1w"
            )
    if seconds < MIN_EVERY:
        raise InvalidRequestError(f"every: at least 5 minutes (5m), not {seconds} s")
    if seconds > MAX_EVERY:
        raise InvalidRequestError(f"every: at most a year (52w), not {seconds} s")
    return seconds


def describe_every(seconds: int) -> str:
    """An interval as people write it: ``6h``, ``1d12h``, ``90m`` becomes ``1h30m``."""
    parts = []
    for unit in ("w", "d", "h", "m", "s"):
        n, seconds = divmod(seconds, _UNITS[unit])
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts) or "0s"


def check_webhook(url: str | None) -> str | None:
    """A watch's webhook: an http(s) URL with a host, at most 2000 characters (None: none).

    Raises:
        InvalidRequestError: naming ``webhook``.
    """
    from urllib.parse import urlsplit

    from tuiapp.errors import InvalidRequestError

    if url is None or not url.strip():
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and len(url) <= 2000
    except ValueError:
        ok = False
    if not ok or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidRequestError(f"webhook: must be an http(s) URL, not {url[:80]!r}")
    return url


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchSpec:
    """A topic to watch: a new-only job run every ``every`` seconds.

    Attributes:
        job: the job each run is (its ``new_only`` is set by the run).
        every: seconds between runs (see :func:`parse_every`).
        webhook: where each run's digest is POSTed, if anywhere.
    """

    job: JobSpec
    every: int
    webhook: str | None = None

    def __post_init__(self) -> None:
        parse_every(self.every)
        check_webhook(self.webhook)


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchInfo:
    """A watch as clients see it, with how its runs went."""

    id: int
    owner_id: int | None
    query: str
    sources: tuple[str, ...]
    count: int
    options: dict[str, Any]
    every: int
    """Seconds between runs."""
    webhook: str | None
    paused: bool
    created_at: datetime
    next_run_at: datetime
    """When it is due (a watch whose runs keep failing is due later: it backs off)."""
    last_run_at: datetime | None = None
    last_job_id: int | None = None
    """The job of the latest run (a new-only job marked with this watch)."""
    last_new: int | None = None
    """New files the latest finished run stored."""
    last_known: int | None = None
    total_new: int = 0
    runs: int = 0
    failures: int = 0
    """Failed runs in a row."""
    last_error: str | None = None
    """Why the latest run failed (and the schedule backs off)."""
    webhook_error: str | None = None
    """Why the latest digest could not be delivered."""

    @property
    def spec(self) -> JobSpec:
        """The job a run of this watch is."""
        return JobSpec(
            query=self.query,
            sources=self.sources,
            count=self.count,
            options=dict(self.options),
            new_only=True,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sources"] = list(self.sources)
        for key in ("created_at", "next_run_at", "last_run_at"):
            data[key] = _iso(data[key])
        return data
