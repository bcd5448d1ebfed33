"""The one place engine events become Textual messages.

A single long-lived async worker reads the engine's event stream for the acting user and posts a
message to the app for each event. When the stream overflows (the UI fell too far behind) it
subscribes again and posts :class:`~tuiapp.messages.EventsLost` so the app reloads its state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tuiapp import events as ev
from tuiapp import messages as msg

if TYPE_CHECKING:
    from textual.app import App
    from textual.message import Message
    from textual.worker import Worker

    from tuiapp.client import EngineClient

__all__ = ["start_bridge", "to_message"]


def to_message(event: ev.Event) -> Message | None:
    """The Textual message for one engine event (None for events the UI does not show)."""
    match event:
        case ev.JobSubmitted():
            return msg.JobQueued(event.job_id, event.query, tuple(event.sources), event.count)
        case ev.JobStarted():
            return msg.JobRunning(event.job_id, event.ts, event.timeout)
        case ev.SourceStarted():
            return msg.SourceUpdated(
                event.job_id, event.source, event.state, 0, 0, 0, 0, 0.0, final=True
            )
        case ev.SourceProgress():
            return msg.SourceUpdated(
                event.job_id,
                event.source,
                event.state,
                event.found,
                event.stored,
                event.failed,
                event.bytes,
                event.speed,
            )
        case ev.SourceFinished():
            return msg.SourceUpdated(
                event.job_id,
                event.source,
                event.state,
                event.found,
                event.stored,
                event.failed,
                event.bytes,
                0.0,
                error=event.error,
                final=True,
            )
        case ev.TransferProgress():
            return msg.TransferUpdated(
                event.job_id, event.source, event.item, event.downloaded, event.total
            )
        case ev.AssetStored():
            return msg.AssetAdded(
                event.job_id,
                event.source,
                event.asset_id,
                event.title,
                event.size,
                event.deduplicated,
            )
        case ev.ItemFailed():
            return msg.ItemRejected(event.job_id, event.source, event.url, event.error)
        case ev.SourceNotice():
            return msg.SourceNoted(event.job_id, event.source, event.message)
        case ev.JobFinished():
            return msg.JobEnded(
                event.job_id,
                event.state,
                event.stored,
                event.failed,
                event.bytes,
                event.elapsed,
                event.error,
            )
        case ev.JobDeleted():
            return msg.JobRemoved(event.job_id)
    return None


async def _consume(app: App[Any], engine: EngineClient, owner: int | None) -> None:
    while True:
        with engine.subscribe(owner=owner) as stream:
            async for event in stream:
                message = to_message(event)
                if message is not None:
                    app.post_message(message)
            if not stream.overflowed:
                return  # the engine closed the stream: it is shutting down
        app.post_message(msg.EventsLost())


def start_bridge(app: App[Any], engine: EngineClient, owner: int | None) -> Worker[None]:
    """Start the worker that feeds engine events of ``owner`` to ``app`` as messages."""
    return app.run_worker(
        _consume(app, engine, owner),
        name="engine-events",
        group="bridge",
        description="engine events -> messages",
        exclusive=True,
        exit_on_error=False,
    )
