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

Both rank by relevance then newest first (on SQLite when the words match at most
:data:`RANKED` files; past that newest first, which the index answers without ranking).
Exports walk results by id (``after``), so files stored meanwhile neither repeat nor go
missing.
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
RANKED: Final = 5000
"""Matches ranked by relevance at most (SQLite). Words found in more files than this (a common
word, the first letters of one being typed) list newest first: ranking tens of thousands of
alike titles costs hundreds of milliseconds and tells little; another word narrows them."""


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

    async def _few(self, match: str) -> bool:
        """Whether at most :data:`RANKED` files match (counted without ranking, whoever owns
        them): they are ranked by relevance; beyond, newest first."""
        rows = await self._db.sql.rows(
            self._db.conn(),
            "SELECT count(*) AS n FROM (SELECT rowid FROM asset_fts WHERE asset_fts MATCH ?"
            " LIMIT ?)",
            [match, RANKED + 1],
        )
        return int(rows[0]["n"]) <= RANKED

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
        words = match_words(selection.text)
        fts = bool(words) and not sql.postgres
        # With words on SQLite the index drives the query: a unary + keeps SQLite from starting
        # at a column's index instead and probing the index once per row (100x slower), and
        # ordering by the index's rowid lets it stop after the first page.
        col = "+a." if fts else "a."
        ident = "f.rowid" if fts else "a.id"
        where: list[str] = []
        args: list[Any] = []
        if "owner_id" in owner_q(owner):
            where.append(f"{col}owner_id = ?")
            args.append(owner)
        else:
            where.append(f"{col}owner_id IS NULL")
        for column, value, op in (
            ("job_id", selection.job_id, "="),
            ("source", selection.source, "="),
            ("kind", selection.kind, "="),
            ("width", selection.min_width, ">="),
            ("height", selection.min_height, ">="),
            ("created_at", selection.since and selection.since.astimezone(UTC), ">="),
        ):
            if value is not None:
                where.append(f"{col}{column} {op} ?")
                args.append(value)
        if selection.unique:
            where.append(f"{col}duplicate_of IS NULL")
        if only is not None:
            where.append(f"{ident} IN ({','.join('?' * len(only))})")
            args += only
        if after is not None:
            where.append(f"{ident} > ?")
            args.append(after)
        rank = ""
        joins = ""
        if words and sql.postgres:
            where.append("a.words @@ to_tsquery('english', ?)")
            args.append(ts_query(words))
            if after is None:
                rank = "ts_rank(a.words, to_tsquery('english', ?)) DESC, "
        elif words:
            joins = " JOIN asset_fts f ON f.rowid = a.id"
            where.append("asset_fts MATCH ?")
            match = fts_query(words)
            args.append(match)
            if after is None and only is None and await self._few(match):
                rank = "f.rank, "
        newest = ident if oldest_first else f"{ident} DESC"
        order = ident if after is not None else f"{rank}{newest}"
        query = f"SELECT a.id FROM asset a{joins} WHERE {' AND '.join(where)} ORDER BY {order}"
        query += " LIMIT ? OFFSET ?"
        if rank and sql.postgres:
            args.append(ts_query(words))
        args += [limit, offset]
        rows = await sql.rows(self._db.conn(), query, args)
        return [r["id"] for r in rows]

    async def pending(self) -> int:
        """The highest id of the files stored before the index that are not indexed yet (0:
        every file is searchable)."""
        rows = await self._db.sql.rows(
            self._db.conn(), "SELECT upto FROM search_fill WHERE id = 1", []
        )
        return int(rows[0]["upto"]) if rows else 0

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
