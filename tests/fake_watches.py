"""``engine.watches`` for the terminal app's tests: watches and their runs kept in memory."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tuiapp.errors import InvalidRequestError, NotFoundError
from tuiapp.watches import WatchInfo, parse_every

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from tests.fakes import FakeEngine
    from tuiapp.jobs import JobInfo

__all__ = ["FakeWatches"]


class FakeWatches:
    """``engine.watches`` over in-memory data: runs are jobs added to the fake engine."""

    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.items: dict[int, WatchInfo] = {}
        self.run_ids: dict[int, list[int]] = {}

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
    ) -> WatchInfo:
        self.engine.calls.append(("add_watch", query, tuple(sources), count, every))
        if not query.strip():
            raise InvalidRequestError("type a query")
        watch_id = max(self.items, default=0) + 1
        info = WatchInfo(
            id=watch_id,
            owner_id=owner,
            query=query,
            sources=tuple(sources),
            count=count,
            options=dict(options or {}),
            every=parse_every(every),
            webhook=webhook,
            paused=False,
            created_at=_epoch(),
            next_run_at=_epoch(),
        )
        self.items[watch_id] = info
        return info

    def _get(self, watch_id: int, owner: int | None) -> WatchInfo:
        info = self.items.get(watch_id)
        if info is None or info.owner_id != owner:
            raise NotFoundError(f"no watch {watch_id}")
        return info

    async def list_watches(self, owner: int | None) -> list[WatchInfo]:
        return [w for w in self.items.values() if w.owner_id == owner]

    async def pause(self, watch_id: int, owner: int | None) -> WatchInfo:
        self.engine.calls.append(("pause_watch", watch_id))
        self.items[watch_id] = replace(self._get(watch_id, owner), paused=True)
        return self.items[watch_id]

    async def resume(self, watch_id: int, owner: int | None) -> WatchInfo:
        self.engine.calls.append(("resume_watch", watch_id))
        self.items[watch_id] = replace(self._get(watch_id, owner), paused=False)
        return self.items[watch_id]

    async def delete(self, watch_id: int, owner: int | None) -> None:
        self.engine.calls.append(("delete_watch", watch_id))
        self._get(watch_id, owner)
        del self.items[watch_id]

    async def run(self, watch_id: int, owner: int | None) -> JobInfo:
        self.engine.calls.append(("run_watch", watch_id))
        watch = self._get(watch_id, owner)
        job = self.engine.add_job(watch.query, watch.sources, count=watch.count, owner=owner)
        self.run_ids.setdefault(watch_id, []).insert(0, job.id)
        self.items[watch_id] = replace(watch, runs=watch.runs + 1, last_job_id=job.id)
        return job

    async def runs(self, watch_id: int, owner: int | None, limit: int = 20) -> list[int]:
        self._get(watch_id, owner)
        return self.run_ids.get(watch_id, [])[:limit]


def _epoch() -> datetime:
    from tests.fakes import EPOCH

    return EPOCH
