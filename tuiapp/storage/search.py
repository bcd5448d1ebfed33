"""Searching the library: an owner's stored files by words and filters, best matches first.

Filters (job, source, kind, smallest size, stored since, near-duplicates left out) are plain
column conditions. Words go through the database's full-text index (added by migration 0006,
kept in step by triggers as rows are inserted and deleted):

- SQLite: an FTS5 table ``asset_fts`` (rowid = the asset's id) over title, author, source, the
  job's query, the page URL and the licence, tokenized ``porter unicode61 remove_diacritics 2``:
  unicode61 splits on anything that is not a letter or digit in every script (so a URL's
  ``dogs-in-snow`` gives three words and ``example.com`` two), folds case and accents (``cafe``
  finds ``Café``), and the Porter stemmer lets ``dog`` find ``Dogs``; stemming is English-only
  but leaves other words whole, so they still match exactly. ``prefix='2 3'`` keeps prefix
  indexes so the word being typed (the last one matches as a prefix) is looked up, not scanned.
  The trigram tokenizer would find inner substrings too, at three times the index size and with
  no stemming; people search photos by words, not fragments.
- PostgreSQL: a ``tsvector`` column ``asset.words`` with the ``english`` configuration (stems
  and folds case like the SQLite side), filled by a trigger, under a GIN index; ranked with
  ``ts_rank``.

Both rank by relevance then newest first; exports walk results by id (:meth:`find` with
``after``), so files stored meanwhile neither repeat nor go missing.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC
from typing import TYPE_CHECKING, Any, Final

from tortoise.transactions import in_transaction

from tuiapp.storage.records import owner_q

if TYPE_CHECKING:
    from tuiapp.jobs import Selection
    from tuiapp.storage.database import Database

__all__ = ["SearchStore", "match_words"]

log = logging.getLogger("tuiapp.storage")

_WORD: Final = re.compile(r"\w+", re.UNICODE)
MAX_WORDS: Final = 12


def match_words(text: str | None) -> list[str]:
    """The words of a search, lower case, at most :data:`MAX_WORDS` (punctuation is a space,
    as the index sees it)."""
    if not text:
        return []
    return [w.lower() for w in _WORD.findall(text)][:MAX_WORDS]


def _prefix(words: list[str]) -> bool:
    """Whether the last word is taken as the start of one: it is being typed (a number or a
    single character is taken whole: ``1`` would find every ``12...`` and ``2026``)."""
    return bool(words) and len(words[-1]) >= 2 and not words[-1].isdigit()


def fts_query(words: list[str], *, prefix_last: bool = True) -> str:
    """An FTS5 MATCH expression: every word, each quoted (no operator can be smuggled in), the
    last one also as a prefix."""
    terms = [f'"{w}"' for w in words]
    if prefix_last and _prefix(words):
        terms[-1] += "*"
    return " AND ".join(terms)


def ts_query(words: list[str], *, prefix_last: bool = True) -> str:
    """A PostgreSQL ``to_tsquery`` expression of the same meaning."""
    terms = [f"'{w}'" for w in words]  # \\w+ words hold no quote
    if prefix_last and _prefix(words):
        terms[-1] += ":*"
    return " & ".join(terms)


class SearchStore:
    """Finds an owner's assets; ids come back, the asset room reads the rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def find_ids(
        self,
        owner: int | None,
        selection: Selection,
        *,
        limit: int,
        offset: int = 0,
        after: int | None = None,
        only: list[int] | None = None,
        oldest_first: bool = False,
    ) -> list[int]:
        """Ids of ``owner``'s assets that ``selection`` takes.

        Args:
            after: walk in id order from just after this id (exports); None: best first.
            only: among these ids alone (at most a few hundred: near-duplicates).
        """
        if only is not None and not only:
            return []
        sql = self._db.sql
        where: list[str] = []
        args: list[Any] = []
        owner_cond = owner_q(owner)
        if "owner_id" in owner_cond:
            where.append("a.owner_id = ?")
            args.append(owner)
        else:
            where.append("a.owner_id IS NULL")
        for column, value, op in (
            ("a.job_id", selection.job_id, "="),
            ("a.source", selection.source, "="),
            ("a.kind", selection.kind, "="),
            ("a.width", selection.min_width, ">="),
            ("a.height", selection.min_height, ">="),
            ("a.created_at", selection.since and selection.since.astimezone(UTC), ">="),
        ):
            if value is not None:
                where.append(f"{column} {op} ?")
                args.append(value)
        if selection.unique:
            where.append("a.duplicate_of IS NULL")
        if only is not None:
            where.append(f"a.id IN ({','.join('?' * len(only))})")
            args += only
        if after is not None:
            where.append("a.id > ?")
            args.append(after)
        words = match_words(selection.text)
        rank = ""
        joins = ""
        if words and sql.postgres:
            where.append("a.words @@ to_tsquery('english', ?)")
            args.append(ts_query(words))
            rank = "ts_rank(a.words, to_tsquery('english', ?)) DESC, "
        elif words:
            joins = " JOIN asset_fts f ON f.rowid = a.id"
            where.append("asset_fts MATCH ?")
            args.append(fts_query(words))
            rank = "f.rank, "
        newest = "a.id" if oldest_first else "a.id DESC"
        order = "a.id" if after is not None else f"{rank}{newest}"
        query = f"SELECT a.id FROM asset a{joins} WHERE {' AND '.join(where)} ORDER BY {order}"
        query += " LIMIT ? OFFSET ?"
        if rank and after is None and sql.postgres:
            args.append(ts_query(words))
        args += [limit, offset]
        rows = await sql.rows(self._db.conn(), query, args)
        return [r["id"] for r in rows]

    async def fill(self, *, batch: int = 2000, pause: float = 0.05) -> int:
        """Index the rows stored before the index existed (see migration 0006), newest first,
        ``batch`` rows per transaction, logging progress; returns how many were indexed.

        Rows stored since are indexed by the database's triggers; ``search_fill.upto`` is the
        highest id still to index, 0 once done, so a finished fill costs one read.
        """
        sql = self._db.sql
        conn = self._db.conn()
        rows = await sql.rows(conn, "SELECT upto FROM search_fill WHERE id = 1", [])
        upto = int(rows[0]["upto"]) if rows else 0
        if upto <= 0:
            return 0
        total = upto
        done = 0
        log.info("search index: indexing files stored before it, %d ids to go", upto)
        while upto > 0:
            low = max(upto - batch, 0)
            async with in_transaction() as tx:
                if sql.postgres:
                    await sql.run(tx, _PG_FILL, [low, upto])
                else:
                    await sql.run(tx, _SQLITE_FILL, [low, upto])
                await sql.run(tx, "UPDATE search_fill SET upto = ? WHERE id = 1", [low])
            done += upto - low
            upto = low
            if done % (batch * 10) == 0 or upto == 0:
                log.info("search index: %d of %d ids indexed", done, total)
            await asyncio.sleep(pause)  # let the writer and searches in between
        return done


_SQLITE_FILL: Final = (
    "INSERT INTO asset_fts (rowid, title, author, source, query, page, license)"
    " SELECT a.id, a.title, a.author, a.source, j.query, a.page_url, a.license"
    " FROM asset a JOIN job j ON j.id = a.job_id WHERE a.id > ? AND a.id <= ?"
    " AND NOT EXISTS (SELECT 1 FROM asset_fts f WHERE f.rowid = a.id)"
)
_PG_FILL: Final = (
    "UPDATE asset a SET words = to_tsvector('english', concat_ws(' ', a.title, a.author,"
    " a.source, j.query, regexp_replace(coalesce(a.page_url, ''), '[^[:alnum:]]+', ' ', 'g'),"
    " a.license)) FROM job j WHERE j.id = a.job_id AND a.id > ? AND a.id <= ?"
    " AND a.words IS NULL"
)
