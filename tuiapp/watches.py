"""The vocabulary of watches: a topic run as a new-only job every so often, and how it went.

Intervals and webhooks are checked here, for every client alike (the engine's front door for
watches, :mod:`tuiapp.engine.watches`, calls these).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

# Run-time imports, as in tuiapp.jobs: the HTTP API reads these annotations for its schemas.
from datetime import datetime  # noqa: TC003
from typing import Any

from tuiapp.jobs import JobSpec


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


__all__ = [
    "MAX_EVERY",
    "MIN_EVERY",
    "WatchInfo",
    "WatchSpec",
    "check_webhook",
    "describe_every",
    "parse_every",
]


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
