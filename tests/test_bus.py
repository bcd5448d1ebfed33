"""The event bus: progress coalesced, lifecycle kept in order, laggards cut off, never blocking."""

from __future__ import annotations

from tuiapp.bus import EventBus
from tuiapp.events import (
    EVENT_TYPES,
    AssetStored,
    JobFinished,
    SourceProgress,
    TransferProgress,
)
from tuiapp.jobs import JobState, SourceState


def _progress(stored: int, source: str = "a", job: int = 1) -> SourceProgress:
    return SourceProgress(
        job_id=job, owner_id=None, source=source, state=SourceState.DOWNLOADING,
        found=stored, stored=stored, failed=0, bytes=stored * 10, speed=1.0,
    )  # fmt: skip


def _stored(asset: int) -> AssetStored:
    return AssetStored(
        job_id=1, owner_id=None, source="a", asset_id=asset, url="u", title=None,
        mime="image/png", size=1, sha256="x", deduplicated=False,
    )  # fmt: skip


def test_progress_is_coalesced_per_key_and_lifecycle_events_all_arrive_in_order() -> None:
    bus = EventBus()
    with bus.subscribe() as sub:
        for i in range(1000):
            bus.publish(_progress(i))
            bus.publish(_progress(i, source="b"))
            if i % 100 == 0:
                bus.publish(_stored(i))
        events = []
        while (e := sub.get_nowait()) is not None:
            events.append(e)
    stored = [e.asset_id for e in events if isinstance(e, AssetStored)]
    assert stored == list(range(0, 1000, 100))
    progress = [e for e in events if isinstance(e, SourceProgress)]
    assert len(progress) == 2  # one pending per key
    assert {p.source: p.stored for p in progress} == {"a": 999, "b": 999}
    assert sub.coalesced == 2 * 999


def test_progress_read_between_publishes_is_not_lost() -> None:
    bus = EventBus()
    with bus.subscribe() as sub:
        bus.publish(_progress(1))
        first = sub.get_nowait()
        bus.publish(_progress(2))
        second = sub.get_nowait()
    assert isinstance(first, SourceProgress) and first.stored == 1
    assert isinstance(second, SourceProgress) and second.stored == 2


def test_a_subscriber_too_far_behind_is_cut_off_not_silently_skipped() -> None:
    bus = EventBus()
    slow = bus.subscribe(max_backlog=3)
    fast = bus.subscribe()
    for i in range(10):
        bus.publish(_stored(i))
    assert slow.overflowed and slow.closed
    assert bus.subscriber_count == 1
    got = []
    while (e := fast.get_nowait()) is not None:
        got.append(e)
    assert len(got) == 10


def test_filters_pick_the_events_a_subscriber_gets() -> None:
    bus = EventBus()
    with bus.subscribe(lambda e: e.job_id == 2) as sub:
        bus.publish(_progress(1, job=1))
        bus.publish(_progress(1, job=2))
        got = sub.get_nowait()
        assert got is not None and got.job_id == 2
        assert sub.get_nowait() is None


async def test_a_closed_subscription_ends_iteration_after_draining() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    bus.publish(
        JobFinished(
            job_id=1, owner_id=None, state=JobState.DONE, stored=0, failed=0, bytes=0, elapsed=1
        )
    )
    bus.close()
    assert [e.kind async for e in sub] == ["job_finished"]


def test_every_event_is_json_able_and_named_once() -> None:
    import json

    assert len(EVENT_TYPES) == len({c.kind for c in EVENT_TYPES.values()})
    event = _stored(5)
    data = json.loads(json.dumps(event.to_dict()))
    assert data["kind"] == "asset_stored" and data["asset_id"] == 5


def _transfer(job: int, item: int) -> TransferProgress:
    return TransferProgress(
        job_id=job, owner_id=None, source="a", item=f"http://127.0.0.1/{item}",
        downloaded=1, total=1,
    )  # fmt: skip


def test_a_subscriber_that_stops_reading_holds_at_most_its_backlog_progress_included() -> None:
    bus = EventBus()
    stuck = bus.subscribe(max_backlog=50)
    with bus.subscribe() as reader:
        for job in range(1, 201):  # every job's files and sources are progress keys of their own
            for item in range(3):
                bus.publish(_transfer(job, item))
            bus.publish(_progress(3, job=job))
            assert len(stuck._queue) <= 50 and len(stuck._pending) <= 50
            while reader.get_nowait() is not None:
                pass
        assert stuck.overflowed and stuck.closed
        assert not reader.overflowed and bus.subscriber_count == 1
        assert not reader._queue and not reader._pending  # a reader keeps nothing once read
