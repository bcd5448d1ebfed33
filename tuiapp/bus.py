"""Fan-out of engine events to any number of subscribers without ever blocking the engine.

Each subscriber has its own queue. Progress events are coalesced in place (the newest replaces a
pending one with the same key), so a subscriber's queue holds at most one progress event per key.
Lifecycle events are never dropped; a subscriber so far behind that its backlog (lifecycle events
and pending progress) passes ``max_backlog`` is closed with ``overflowed`` set, and must
resynchronise (read the current state, subscribe again) instead of silently missing events. So a
subscriber that stops reading holds at most ``max_backlog`` events, however many jobs run.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tuiapp.events import Event

__all__ = ["EventBus", "Subscription"]

EventFilter = Callable[["Event"], bool]


class _Slot:
    """A queue entry that a newer progress event can overwrite while it waits."""

    __slots__ = ("event",)

    def __init__(self, event: Event) -> None:
        self.event = event


class Subscription:
    """One subscriber's view of the bus: an async iterator of events.

    Use as ``with bus.subscribe() as sub: async for event in sub: ...``.
    """

    def __init__(self, bus: EventBus, flt: EventFilter | None, max_backlog: int) -> None:
        self._bus = bus
        self._filter = flt
        self._max_backlog = max_backlog
        self._queue: deque[_Slot] = deque()
        self._pending: dict[tuple[Any, ...], _Slot] = {}
        self._wakeup = asyncio.Event()
        self.closed = False
        self.overflowed = False
        """True when the subscription was cut off and events may be missing: the subscriber
        fell too far behind, or events of other processes were lost in transit. Read the
        current state, then subscribe again."""
        self.cut_reason: str | None = None
        """Why it was cut off, in words for people."""
        self.coalesced = 0
        """How many progress events were merged into a newer one (for benchmarks)."""

    def _offer(self, event: Event) -> None:
        if self.closed or (self._filter is not None and not self._filter(event)):
            return
        key = event.coalesce_key
        if key is not None:
            slot = self._pending.get(key)
            if slot is not None:
                slot.event = event
                self.coalesced += 1
                return
        # Every new entry counts, progress too: each job brings progress keys of its own, so a
        # subscriber that stopped reading would otherwise hold one per file of every job.
        if len(self._queue) >= self._max_backlog:
            self.cut_off("this stream fell too far behind; reconnect for a fresh snapshot")
            return
        slot = _Slot(event)
        if key is not None:
            self._pending[key] = slot
        self._queue.append(slot)
        self._wakeup.set()

    def get_nowait(self) -> Event | None:
        """The next event, or None when none is waiting."""
        if not self._queue:
            return None
        slot = self._queue.popleft()
        key = slot.event.coalesce_key
        if key is not None and self._pending.get(key) is slot:
            del self._pending[key]
        return slot.event

    async def get(self) -> Event | None:
        """Wait for the next event; None once the subscription is closed and drained."""
        while True:
            event = self.get_nowait()
            if event is not None:
                return event
            if self.closed:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()

    def cut_off(self, reason: str) -> None:
        """Close, saying that events may be missing and why."""
        if not self.closed:
            self.overflowed = True
            self.cut_reason = reason
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._bus._remove(self)
            self._wakeup.set()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while (event := await self.get()) is not None:
            yield event

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    """Publishes events to subscribers; ``publish`` is synchronous and never waits."""

    def __init__(self) -> None:
        self._subscribers: list[Subscription] = []

    def subscribe(
        self, flt: EventFilter | None = None, *, max_backlog: int = 10_000
    ) -> Subscription:
        sub = Subscription(self, flt, max_backlog)
        self._subscribers.append(sub)
        return sub

    def publish(self, event: Event) -> None:
        for sub in tuple(self._subscribers):
            sub._offer(event)

    def close(self) -> None:
        for sub in tuple(self._subscribers):
            sub.close()

    def resync(self, reason: str) -> None:
        """Cut every subscription off: events were lost on the way (a message channel was
        down), so each subscriber reads the state again and subscribes anew."""
        for sub in tuple(self._subscribers):
            sub.cut_off(reason)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)
