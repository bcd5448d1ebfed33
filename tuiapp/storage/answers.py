"""Answers an API asked to be kept (Pixabay: 24 hours), one store per source.

What a value holds and how old it may be is the source's business; this room keeps the text by
(source, key), replaces it when asked again, and drops a source's entries past their keeping time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError

from tuiapp.models import CachedAnswer

__all__ = ["SourceAnswers"]


class SourceAnswers:
    """The kept answers of one source (the ``AnswerStore`` a source's context carries)."""

    def __init__(self, source: str) -> None:
        self.source = source

    async def get(self, key: str) -> str | None:
        row = await CachedAnswer.get_or_none(source=self.source, key=key)
        return None if row is None else row.value

    async def put(self, key: str, value: str, keep_for: float) -> None:
        """Keep ``value`` under ``key``; entries of this source older than ``keep_for`` seconds
        go at the same time."""
        now = datetime.now(UTC)
        mine = CachedAnswer.filter(source=self.source, key=key)
        if not await mine.update(value=value, stored_at=now):
            try:
                await CachedAnswer.create(source=self.source, key=key, value=value, stored_at=now)
            except IntegrityError:  # another job kept the same answer a moment ago
                await mine.update(value=value, stored_at=now)
        stale = now - timedelta(seconds=keep_for)
        await CachedAnswer.filter(source=self.source, stored_at__lt=stale).delete()
