"""App-wide Textual messages: engine events as they are, and the UI's own few.

The engine's vocabulary is :mod:`tuiapp.events`; the UI speaks it too. :class:`EngineEvent`
carries one event unchanged and handlers match on its class (``match message.event: case
JobFinished(): ...``): there is no second set of names to keep in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from tuiapp.events import Event

__all__ = ["EngineEvent", "EventsLost"]


@dataclass
class EngineEvent(Message):
    """One engine event, posted by the bridge."""

    event: Event

    def can_replace(self, message: Message) -> bool:
        """Whether ``message`` (queued right after this one) makes this one stale.

        Progress events with the same coalesce key replace each other here as in the bus
        (latest wins); lifecycle events have no key and are never replaced.
        """
        key = self.event.coalesce_key
        return (
            key is not None
            and isinstance(message, EngineEvent)
            and message.event.coalesce_key == key
        )


@dataclass
class EventsLost(Message):
    """The UI fell so far behind that events were dropped: reload state from the engine."""
