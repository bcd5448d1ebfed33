"""The response bodies of the HTTP API that are not engine types: lists, links, errors.

Each is a frozen dataclass, so the OpenAPI document describes it the way it describes the
engine's own types (:mod:`tuiapp.jobs`, :mod:`tuiapp.events`); the views below build the JSON of
a job and an asset from the engine's ``to_dict()`` plus their links.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

# Run-time imports: the OpenAPI document reads these annotations.
from tuiapp.jobs import AssetInfo, JobInfo, SourceInfo, UserInfo  # noqa: TC001
from tuiapp.watches import WatchInfo  # noqa: TC001

__all__ = [
    "AssetLinks",
    "AssetList",
    "Error",
    "ErrorDetail",
    "Health",
    "JobLinks",
    "JobList",
    "Me",
    "SourceList",
    "WatchLinks",
    "WatchList",
    "asset_view",
    "error_body",
    "job_view",
    "watch_view",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorDetail:
    code: str
    """A stable slug."""
    message: str
    """For people."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Error:
    """Every failure's body."""

    error: ErrorDetail


@dataclass(frozen=True, slots=True, kw_only=True)
class Health:
    status: Literal["ok"]
    version: str
    tasks: int
    """asyncio tasks alive in this process now: they follow what runs, not how many jobs ran
    (the soak benchmark reads it every minute)."""
    cross_worker_events: bool | None = None
    """With a shared queue on PostgreSQL: whether other workers' events reach this process now
    (false while its message channel is being remade after a loss). Null without a shared queue."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Me:
    guest: bool
    user: UserInfo | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceList:
    sources: tuple[SourceInfo, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class JobList:
    jobs: tuple[JobInfo, ...]
    limit: int
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetList:
    assets: tuple[AssetInfo, ...]
    limit: int
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchList:
    watches: tuple[WatchInfo, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchLinks:
    href: str
    last_job_href: str | None
    """The job of its latest run."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobLinks:
    """Where a job and its live events are; added to every job the API sends."""

    href: str
    events_href: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetLinks:
    """Where a stored file and its bytes are; added to every asset the API sends."""

    href: str
    content_href: str


def job_view(info: JobInfo) -> dict[str, Any]:
    href = f"/api/jobs/{info.id}"
    return {**info.to_dict(), **asdict(JobLinks(href=href, events_href=f"{href}/events"))}


def asset_view(info: AssetInfo) -> dict[str, Any]:
    href = f"/api/assets/{info.id}"
    return {**info.to_dict(), **asdict(AssetLinks(href=href, content_href=f"{href}/content"))}


def watch_view(info: WatchInfo) -> dict[str, Any]:
    last = None if info.last_job_id is None else f"/api/jobs/{info.last_job_id}"
    links = WatchLinks(href=f"/api/watches/{info.id}", last_job_href=last)
    return {**info.to_dict(), **asdict(links)}


def error_body(code: str, message: str) -> dict[str, Any]:
    return asdict(Error(error=ErrorDetail(code=code, message=message)))
