"""The one reducer: events folded into a job's live view, the same for every client."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tests.serverkit import photos, serve_picsum
from tuiapp import events as ev
from tuiapp.events import Event, JobView, fold
from tuiapp.jobs import JobSpec, JobState, SourceState

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tests.replay import ReplayServer
    from tuiapp.engine import Engine


def _stored(n: int, size: int = 100) -> ev.AssetStored:
    return ev.AssetStored(
        job_id=1, owner_id=None, source="a", asset_id=n, url=f"u{n}", title=None,
        mime="image/png", size=size, sha256="0", deduplicated=False,
    )  # fmt: skip


def _progress(stored: int, nbytes: int) -> ev.SourceProgress:
    return ev.SourceProgress(
        job_id=1, owner_id=None, source="a", state=SourceState.DOWNLOADING, found=9,
        stored=stored, failed=0, bytes=nbytes, speed=1.0,
    )  # fmt: skip


def test_stored_files_are_the_larger_of_the_report_and_the_files_announced_never_the_sum() -> None:
    view = fold(None, ev.JobSubmitted(job_id=1, owner_id=None, query="q", sources=("a",), count=9))
    assert view is not None
    for n in range(3):
        view = fold(view, _stored(n))
    view = fold(view, _progress(1, 50))  # an older report, delivered late
    assert view is not None
    assert (view.sources["a"].stored, view.sources["a"].bytes) == (3, 300)
    view = fold(view, _progress(5, 520))  # a newer one
    assert view is not None
    assert (view.sources["a"].stored, view.sources["a"].bytes) == (5, 520)
    view = fold(view, _stored(3))  # its file was already in that report
    assert view is not None
    assert view.sources["a"].stored == 5


def test_folding_leaves_the_view_it_was_given_and_deletion_ends_it() -> None:
    start = fold(None, ev.JobSubmitted(job_id=1, owner_id=None, query="q", sources=("a",), count=2))
    assert start is not None
    after = fold(start, _stored(1))
    assert start.sources["a"].stored == 0 and after is not None and after.sources["a"].stored == 1
    assert fold(after, ev.JobDeleted(job_id=1, owner_id=None)) is None
    assert fold(None, _stored(2)) is None  # an event of a job not known is no view


def test_events_read_back_from_json_carry_their_states_as_enums() -> None:
    sent = ev.JobFinished(
        job_id=1, owner_id=None, state=JobState.TIMED_OUT, stored=1, failed=0, bytes=1, elapsed=2
    )
    wire = json.loads(json.dumps(sent.to_dict()))
    assert wire["state"] == "timed_out"
    back = Event.from_dict(wire)
    assert isinstance(back, ev.JobFinished)
    assert back == sent and back.state is JobState.TIMED_OUT


def test_what_counts_as_failed_finished_and_partial_is_defined_on_the_states() -> None:
    went_wrong = {s for s in SourceState if s.failed}
    assert went_wrong == {SourceState.FAILED, SourceState.BLOCKED, SourceState.TIMED_OUT}
    assert {s for s in JobState if not s.finished} == {JobState.QUEUED, JobState.RUNNING}
    assert {s for s in JobState if s.partial} == {
        JobState.PARTIAL,
        JobState.CANCELLED,
        JobState.TIMED_OUT,
        JobState.INTERRUPTED,
    }


async def test_a_client_folding_a_jobs_events_sees_what_the_engine_answers(
    engine_factory: Callable[..., Awaitable[Engine]], replay: ReplayServer
) -> None:
    """The events on the wire (JSON), folded from submission, end where the engine's view ends."""
    serve_picsum(replay, photos(4))
    engine = await engine_factory(base_urls={"picsum": replay.url()})
    view: JobView | None = None
    with engine.subscribe() as sub:
        job = await engine.submit(JobSpec(query="cats", sources=("picsum",), count=4))
        async for event in sub:
            wire = json.loads(json.dumps(event.to_dict()))
            view = fold(view, Event.from_dict(wire))
            if isinstance(event, ev.JobFinished):
                break
    final = await engine.get_job(job.id, None)
    assert view is not None and view.state is JobState.DONE
    assert view.onto(final) == final
    assert view.totals() == (final.stored, final.failed, final.bytes) == (4, 0, final.bytes)
