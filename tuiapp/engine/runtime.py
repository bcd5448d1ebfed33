"""What every running job of one engine shares (:class:`Runtime`), and how a worker holds one.

The bottom room of the runner: the tools (settings, storage, fetcher, ``publish``), the book of
running jobs, and the small vocabulary the rooms above share. It imports none of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from tuiapp import sources as registry
from tuiapp.sources.base import SourceContext

if TYPE_CHECKING:
    import threading
    from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
    from pathlib import Path

    from tuiapp.config import Settings
    from tuiapp.engine.hash_process import HashProcess
    from tuiapp.events import Event
    from tuiapp.fetch import Fetcher
    from tuiapp.jobs import JobInfo, JobSpec, JobState
    from tuiapp.sources.base import Found
    from tuiapp.storage import Storage

__all__ = [
    "PROGRESS_INTERVAL",
    "Claim",
    "RunningJob",
    "Runtime",
    "Speed",
    "close_quietly",
    "is_url",
    "now",
    "source_context",
    "tell_stored",
]

log = logging.getLogger("tuiapp.engine")

PROGRESS_INTERVAL = 0.1
"""Seconds between progress events of one source or one transfer (they are coalesced anyway)."""
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)


def is_url(text: str) -> bool:
    """Whether a query is a URL (then sources that take URLs get it) rather than search words."""
    return _URL.match(text.strip()) is not None


def now() -> datetime:
    return datetime.now(UTC)


class Speed:
    """Bytes per second over the last few seconds."""

    def __init__(self, window: float = 3.0) -> None:
        self._window = window
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, total: int) -> float:
        now = time.monotonic()
        self._samples.append((now, total))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window:
            self._samples.popleft()
        t0, b0 = self._samples[0]
        return (total - b0) / (now - t0) if now > t0 else 0.0


class RunningJob(Protocol):
    """A job running in this process, as the rooms around it see it (a ``JobRun``)."""

    @property
    def id(self) -> int: ...
    @property
    def owner(self) -> int | None: ...
    @property
    def info(self) -> JobInfo: ...
    @property
    def runtime(self) -> Runtime: ...
    @property
    def claimed(self) -> bool: ...
    @property
    def fence(self) -> int | None: ...
    @property
    def lost(self) -> bool: ...
    @property
    def stop_reason(self) -> JobState | None: ...
    @property
    def stopping(self) -> threading.Event: ...
    @property
    def done(self) -> asyncio.Event: ...
    @property
    def resume(self) -> Mapping[str, set[str]]: ...
    @property
    def scratch(self) -> Path: ...

    def stop(self, reason: JobState, message: str) -> None: ...
    def cancel(self, source: str | None) -> None: ...
    def fenced(self, why: str) -> None: ...
    def live_view(self, info: JobInfo) -> JobInfo: ...
    async def save_unfinished(self) -> None: ...


@dataclass(slots=True)
class Runtime:
    """What every run of one engine shares: its tools, its limits and its book of runs."""

    settings: Settings
    storage: Storage
    publish: Callable[[Event], None]
    source_slots: asyncio.Semaphore
    fetcher: Fetcher | None = None
    """The HTTP client, made and started by :meth:`http` when a job or a webhook first needs it:
    a command that only reads (`tuiapp jobs`) never loads it nor aiohttp."""
    runs: dict[int, RunningJob] = field(default_factory=dict)
    """The jobs running in this process, by id."""
    cleanups: set[asyncio.Task[Any]] = field(default_factory=set)
    """Work that ends before the job does: partial files discarded, sites told of stored files."""
    hasher: HashProcess | None = None
    """Fingerprints stored pictures (None: near-duplicates are off)."""

    def spawn_cleanup(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self.cleanups.add(task)
        task.add_done_callback(self.cleanups.discard)

    def base_url(self, name: str) -> str:
        return self.settings.base_urls.get(name, registry.get(name).base_url)

    async def http(self) -> Fetcher:
        """The started HTTP client, made at the first call (see :attr:`fetcher`)."""
        fetcher = self.fetcher
        if fetcher is None:
            from tuiapp.fetch import Fetcher

            fetcher = Fetcher(self.settings)
            await fetcher.start()
            if self.fetcher is None:
                self.fetcher = fetcher
            else:  # another caller made one meanwhile
                await fetcher.close()
                fetcher = self.fetcher
        return fetcher

    @property
    def client(self) -> Fetcher:
        """The HTTP client :meth:`http` started (a source run asks for it first)."""
        assert self.fetcher is not None, "await Runtime.http() first"
        return self.fetcher


@dataclass(frozen=True, slots=True)
class Claim:
    """How a worker holds a job taken from the shared queue."""

    token: int
    """The job's claim count when taken: every write for the job is fenced by it."""
    resume: Mapping[str, set[str]] = field(default_factory=dict)
    """URLs stored under earlier claims, per source."""
    stored_bytes: Mapping[str, int] = field(default_factory=dict)
    """Bytes stored under earlier claims, per source."""


def source_context(
    runtime: Runtime,
    name: str,
    spec: JobSpec,
    api_key: str | None,
    scratch: Path,
    job: RunningJob,
    notice: Callable[[str], None],
) -> SourceContext:
    """What source ``name`` gets for one job: the client, its base URL and settings, the cancel."""
    settings = runtime.settings
    return SourceContext(
        http=runtime.client,
        base_url=runtime.base_url(name),
        api_key=api_key,
        user_agent=settings.user_agent,
        scratch_dir=scratch,
        log=logging.getLogger(f"tuiapp.sources.{name}"),
        cancelled=job.stopping.is_set,
        notice=notice,
        options=dict(spec.options),
        settings=dict(settings.source_settings.get(name, {})),
        cache_dir=settings.data_dir / "cache" / name,
        answers=runtime.storage.answers(name),
    )


async def tell_stored(item: Found, source: str) -> None:
    """Call a find's ``on_stored`` (an API's download tracking); its failure is only logged."""
    assert item.on_stored is not None
    try:
        await item.on_stored()
    except Exception as exc:
        log.warning("%s: telling the site %s was stored failed: %r", source, item.url, exc)


async def close_quietly(items: AsyncIterator[Found]) -> None:
    """Close a source's generator; what it raises on the way out is of no use any more."""
    with contextlib.suppress(Exception):
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()
