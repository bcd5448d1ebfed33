"""The part of the engine the terminal UI calls, as a Protocol (tests drive the UI with a fake)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping, Sequence
    from pathlib import Path
    from types import TracebackType

    from tuiapp.config import Settings
    from tuiapp.events import Event
    from tuiapp.jobs import (
        AssetInfo,
        Exported,
        ExportOptions,
        JobInfo,
        JobSpec,
        Selection,
        SourceInfo,
    )
    from tuiapp.watches import WatchInfo

__all__ = ["EngineClient", "EventStream", "WatchesClient"]


class EventStream(Protocol):
    """A subscription to engine events (``tuiapp.bus.Subscription`` satisfies it)."""

    @property
    def overflowed(self) -> bool: ...

    def __enter__(self) -> EventStream: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def __aiter__(self) -> AsyncIterator[Event]: ...

    def close(self) -> None: ...


class WatchesClient(Protocol):
    """``engine.watches``: saved topics run as new-only jobs (every call owner-scoped)."""

    async def add(
        self,
        owner: int | None,
        *,
        query: str,
        sources: Sequence[str] = (),
        count: int = 10,
        options: Mapping[str, Any] | None = None,
        every: str | int,
        webhook: str | None = None,
    ) -> WatchInfo: ...

    async def list_watches(self, owner: int | None) -> list[WatchInfo]: ...

    async def pause(self, watch_id: int, owner: int | None) -> WatchInfo: ...

    async def resume(self, watch_id: int, owner: int | None) -> WatchInfo: ...

    async def delete(self, watch_id: int, owner: int | None) -> None: ...

    async def run(self, watch_id: int, owner: int | None) -> JobInfo: ...

    async def runs(self, watch_id: int, owner: int | None, limit: int = 20) -> list[int]: ...


class EngineClient(Protocol):
    """What the TUI needs of :class:`tuiapp.engine.Engine`; every call is owner-scoped."""

    @property
    def settings(self) -> Settings: ...

    @property
    def watches(self) -> WatchesClient: ...

    def sources(self) -> list[SourceInfo]: ...

    def default_sources(self) -> tuple[str, ...]:
        """The sources search words go to when none is picked (pre-ticked at first start)."""
        ...

    def source_for_url(self, url: str) -> str | None: ...

    def subscribe(self, *, owner: int | None = None) -> EventStream: ...

    async def submit(self, spec: JobSpec, owner: int | None = None) -> JobInfo:
        """The front door: ``spec`` as the user gave it; refused with an ``InvalidRequestError``
        whose sentence the UI shows."""
        ...

    async def cancel(
        self, job_id: int, owner: int | None, source: str | None = None
    ) -> JobInfo: ...

    async def rerun(self, job_id: int, owner: int | None) -> JobInfo: ...

    async def get_job(self, job_id: int, owner: int | None) -> JobInfo: ...

    async def list_jobs(
        self, owner: int | None, *, text: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[JobInfo]: ...

    async def delete_job(self, job_id: int, owner: int | None) -> None: ...

    async def list_assets(
        self,
        owner: int | None,
        *,
        job_id: int | None = None,
        unique: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AssetInfo]: ...

    async def get_asset(self, asset_id: int, owner: int | None) -> AssetInfo: ...

    async def read_asset(
        self, asset_id: int, owner: int | None
    ) -> tuple[AssetInfo, AsyncIterator[bytes]]: ...

    async def export_job(
        self, job_id: int, owner: int | None, directory: Path, *, unique: bool = False
    ) -> Exported: ...

    async def find(
        self, owner: int | None, selection: Selection, *, limit: int = 100, offset: int = 0
    ) -> list[AssetInfo]: ...

    async def export(
        self, selection: Selection, owner: int | None, directory: Path, options: ExportOptions
    ) -> Exported: ...
