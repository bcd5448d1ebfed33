"""The engine's vocabulary: job specs, states and the read-only views clients get back."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, fields

# Imported at run time, not under TYPE_CHECKING: the HTTP API reads these annotations to build
# its JSON schemas (tuiapp.api_types), and datetime is loaded by the engine anyway.
from datetime import datetime  # noqa: TC003
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "MEDIA_FACTS",
    "TERMINAL_JOB_STATES",
    "TERMINAL_SOURCE_STATES",
    "AssetInfo",
    "ExportOptions",
    "Exported",
    "Fingerprint",
    "JobInfo",
    "JobSourceInfo",
    "JobSpec",
    "JobState",
    "MediaFacts",
    "Selection",
    "SourceInfo",
    "SourceOption",
    "SourceState",
    "UserInfo",
    "files",
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

    @property
    def finished(self) -> bool:
        """The job has ended (any state but queued and running)."""
        return self in TERMINAL_JOB_STATES

    @property
    def failed(self) -> bool:
        """Nothing was stored, and at least one source had an error."""
        return self is JobState.FAILED

    @property
    def partial(self) -> bool:
        """The job ended short of what it asked for (a source failed, or it was cut): files it
        stored stay (``tuiapp get`` exits 3 when there are some)."""
        return self in _CUT_SHORT


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
_CUT_SHORT = frozenset(
    {JobState.PARTIAL, JobState.CANCELLED, JobState.TIMED_OUT, JobState.INTERRUPTED}
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

    @property
    def finished(self) -> bool:
        """The source has ended, well or not."""
        return self in TERMINAL_SOURCE_STATES

    @property
    def failed(self) -> bool:
        """The source ended on a problem: an error, a block, or its time ran out."""
        return self in _WENT_WRONG

    @property
    def active(self) -> bool:
        """Searching or downloading."""
        return self in (SourceState.SEARCHING, SourceState.DOWNLOADING)


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
_WENT_WRONG = frozenset({SourceState.FAILED, SourceState.BLOCKED, SourceState.TIMED_OUT})


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
class SourceOption:
    """A job option a source declares, for forms and pickers."""

    name: str
    kind: str
    """``int``, ``float``, ``bool``, ``choice`` or ``str``."""
    help: str
    expects: str
    """What a value must be, in words ("a whole number from 1 to 5000")."""
    choices: tuple[str, ...] = ()


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
    options: tuple[SourceOption, ...] = ()
    """The job options it reads."""

    def to_dict(self) -> dict[str, Any]:
        options = [asdict(o) | {"choices": list(o.choices)} for o in self.options]
        return asdict(self) | {"missing": list(self.missing), "options": options}


@dataclass(frozen=True, slots=True, kw_only=True)
class UserInfo:
    id: int
    name: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "created_at": _iso(self.created_at)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """Which of an owner's stored files a search, a listing or an export takes.

    Every field left at None takes everything; the fields given combine (all must hold).
    """

    job_id: int | None = None
    text: str | None = None
    """Words that must all appear in the title, author, source, the job's query, the page's URL
    or the licence (the last word may be the start of one)."""
    source: str | None = None
    kind: str | None = None
    min_width: int | None = None
    min_height: int | None = None
    since: datetime | None = None
    """Stored at or after this time."""
    similar_to: int | None = None
    """Only pictures within the near-duplicate distance of this asset's, nearest first."""
    unique: bool = False
    """Leave out near-duplicates of a better copy."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportOptions:
    """How an export writes files out (to a folder or a zip).

    Attributes:
        template: a ``--name`` template such as ``{source}/{author}/{title}-{id}.{ext}`` (the
            engine checks it); None: the default name.
        sidecar: write ``NAME.json`` beside each file.
        overwrite: replace files already in the folder (a folder export only).
    """

    template: str | None = None
    sidecar: bool = False
    overwrite: bool = False


@dataclass(frozen=True, slots=True)
class Exported:
    """What an export did: the files it wrote, and those it found already there."""

    written: list[Path] = field(default_factory=list)
    already: list[Path] = field(default_factory=list)
    """Files of the job already in the folder with the same bytes (left as they were)."""

    def summary(self, directory: Path | str) -> str:
        """``3 files written to out, 30 already there``; singular and plural right."""
        text = f"{files(len(self.written))} written to {directory}"
        return f"{text}, {len(self.already)} already there" if self.already else text


def files(n: int) -> str:
    """``1 file``, ``2 files``."""
    return f"{n} file" if n == 1 else f"{n} files"
