"""The one door from the engine's event stream into the Textual app.

A single long-lived async worker reads the engine's events for the acting user and posts each
one, unchanged, as :class:`~tuiapp.messages.EngineEvent`. When the stream overflows (the UI fell
too far behind) it subscribes again and posts :class:`~tuiapp.messages.EventsLost` so the app
reloads its state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tuiapp.messages import EngineEvent, EventsLost

if TYPE_CHECKING:
    from textual.app import App
    from textual.worker import Worker

    from tuiapp.client import EngineClient

__all__ = ["start_bridge"]


async def _consume(app: App[Any], engine: EngineClient, owner: int | None) -> None:
    while True:
        with engine.subscribe(owner=owner) as stream:
            async for event in stream:
                app.post_message(EngineEvent(event))
            if not stream.overflowed:
                return  # the engine closed the stream: it is shutting down
        app.post_message(EventsLost())


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
