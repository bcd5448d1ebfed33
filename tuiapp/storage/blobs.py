"""Writing one file: :class:`BlobSink` takes its bytes in order, hashes and chunks them.

A file of at most one chunk is written blob, chunk and asset in a single transaction. A larger
file is written as a *partial* blob whose chunks stream in as they arrive; it becomes visible
(complete, with its sha256, and with its asset) in one final transaction, or is deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from tuiapp.errors import UnavailableError
from tuiapp.storage.database import OUTAGE_PATIENCE, retry_through_outage, unavailable
from tuiapp.storage.records import CHUNK_SIZE
from tuiapp.storage.rows import NOT_FINGERPRINTED, Fingerprinting

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tuiapp.jobs import Fingerprint
    from tuiapp.storage.rows import NewAsset
    from tuiapp.storage.writer import BlobWriter, StoredAsset

__all__ = ["BlobSink"]

log = logging.getLogger(__name__)

_HASH_IN_THREAD = 256 * 1024
"""Bytes from which a sink hashes in a worker thread rather than on the event loop."""


class BlobSink:
    """Takes one file's bytes in order and stores them; memory stays at a few chunks.

    Use ``write`` for every piece, then ``finish`` (returns the stored asset) or ``abort``.
    Pieces are kept as they came (no growing buffer) and joined once per chunk.
    """

    def __init__(self, writer: BlobWriter, owner: int | None) -> None:
        self._writer = writer
        self._owner = owner
        self._hash = hashlib.sha256()
        self._pieces: deque[bytes] = deque()
        self._buffered = 0
        self._size = 0
        self._blob_id: int | None = None
        self._begun: asyncio.Future[Any] | None = None
        """The id of the partial blob being made (set before it is known)."""
        self._seq = 0
        self._in_flight: deque[asyncio.Future[Any]] = deque()
        self._done = False
        self._fingerprinting = NOT_FINGERPRINTED

    @property
    def size(self) -> int:
        return self._size

    @property
    def fingerprint(self) -> Fingerprint | None:
        """What :meth:`fingerprint_with` found (None: not looked at, or no picture)."""
        return self._fingerprinting.found

    async def digest(self) -> str:
        """The sha256 of every byte written so far, before :meth:`finish` (which it leaves as
        it is): a new-only job asks whether the library holds these bytes before keeping them."""
        hasher = self._hash.copy()
        if self._buffered < _HASH_IN_THREAD:
            _update(hasher, list(self._pieces))
        else:
            await asyncio.to_thread(_update, hasher, list(self._pieces))
        return hasher.hexdigest()

    async def write(self, data: bytes) -> None:
        self._size += len(data)
        self._pieces.append(data)
        self._buffered += len(data)
        while self._buffered > CHUNK_SIZE:
            # Strictly more than a chunk: a file of exactly one chunk still takes the fast path.
            pieces = self._take(CHUNK_SIZE)
            await self._digest(pieces)
            await self._reserve()
            self._queue_chunk(b"".join(pieces))

    def _take(self, size: int) -> list[bytes]:
        out: list[bytes] = []
        need = size
        while need and self._pieces:
            piece = self._pieces[0]
            if len(piece) <= need:
                out.append(self._pieces.popleft())
                need -= len(piece)
            else:
                out.append(piece[:need])
                self._pieces[0] = piece[need:]
                need = 0
        self._buffered -= size - need
        return out

    async def _digest(self, pieces: list[bytes]) -> None:
        """Add ``pieces`` to the file's sha256, in a worker thread when there is much of it.

        hashlib lets go of the GIL while it hashes, so the event loop goes on reading sockets
        meanwhile: hashing on the loop was a sixth of its time while a large file came in.
        """
        if sum(map(len, pieces)) < _HASH_IN_THREAD:
            _update(self._hash, pieces)
        else:
            await asyncio.to_thread(_update, self._hash, pieces)

    async def _reserve(self) -> None:
        """Wait until a chunk may be queued; only then is it joined (so none waits joined)."""
        if self._blob_id is None:
            if self._begun is None:
                self._begun = await self._writer.begin(self._owner)
            self._blob_id = await asyncio.shield(self._begun)
        while self._in_flight and self._in_flight[0].done():
            self._in_flight.popleft().result()  # a chunk that failed to store fails the file now
        await self._writer.chunk_slot()

    def _queue_chunk(self, chunk: bytes) -> None:
        """Queue a chunk for the writer; call right after :meth:`_reserve`."""
        assert self._blob_id is not None
        self._in_flight.append(self._writer.queue_chunk(self._blob_id, self._seq, chunk))
        self._seq += 1

    async def fingerprint_with(
        self, fingerprinter: Callable[[bytes], Awaitable[Fingerprint | None]] | None
    ) -> None:
        """Fingerprint a picture of at most one chunk, all written, before :meth:`finish`
        (``fingerprinter`` None: near-duplicates are off, or this is no picture: nothing to do).

        Its fingerprint and group are then written with it (``StoredAsset.fingerprinted``). A larger
        file is not looked at here (the engine looks at it once stored, from the database). A
        fingerprint that fails leaves the file without one, never unstored; a cut cuts both.
        """
        if fingerprinter is None or self._done:
            return
        if self._blob_id is not None or self._begun is not None:
            return
        data = b"".join(self._pieces)
        self._pieces = deque([data])  # joined once: finish takes it as it is
        try:
            self._fingerprinting = Fingerprinting(
                fingerprinted=True, found=await fingerprinter(data)
            )
        except Exception as exc:
            log.warning("fingerprinting a picture of %d bytes failed: %r", len(data), exc)

    async def finish(self, *, mime: str, asset: NewAsset) -> StoredAsset:
        """Store the file and its asset (and the fingerprint :meth:`fingerprint_with` took)."""
        if self._done:
            raise RuntimeError("sink already finished")
        self._done = True
        if self._blob_id is None:
            pieces = self._take(self._buffered)
            await self._digest(pieces)
            data = b"".join(pieces)
            del pieces  # the file is queued joined: not twice
            # The bytes are in hand: while the database is away, the commit waits for it.
            return await retry_through_outage(
                lambda: self._writer.store_small(
                    owner=self._owner,
                    sha256=self._hash.hexdigest(),
                    data=data,
                    mime=mime,
                    asset=asset,
                    fingerprinting=self._fingerprinting,
                ),
                gave_up=f"the database was away for over {OUTAGE_PATIENCE:g} s;"
                " the file was not kept",
            )
        try:
            if self._buffered:
                pieces = self._take(self._buffered)
                await self._digest(pieces)
                await self._reserve()
                self._queue_chunk(b"".join(pieces))
                del pieces
            while self._in_flight:
                await self._in_flight.popleft()
            result = await self._writer.finish(
                blob_id=self._blob_id,
                owner=self._owner,
                sha256=self._hash.hexdigest(),
                size=self._size,
                mime=mime,
                asset=asset,
            )
        except Exception as exc:
            if not unavailable(exc):
                await self._writer.discard(self._blob_id)
                raise
            # Its chunks may be lost: the file is not kept. Its partial blob goes when the
            # database is back (swept as an orphan, or at the next start).
            with contextlib.suppress(Exception):
                await self._writer.discard(self._blob_id)
            raise UnavailableError("the database went away while this file was written") from exc
        except BaseException:
            await self._writer.discard(self._blob_id)
            raise
        return result

    async def abort(self) -> None:
        """Drop what was written. Safe to call more than once and after ``finish``."""
        if self._done:
            return
        self._done = True
        self._pieces.clear()
        self._buffered = 0
        if self._blob_id is None and self._begun is not None:
            # Cut while the blob was being made: it is made all the same; find it to drop it.
            with contextlib.suppress(Exception):
                self._blob_id = await self._begun
        while self._in_flight:
            with contextlib.suppress(Exception):
                await self._in_flight.popleft()
        if self._blob_id is not None:
            await self._writer.discard(self._blob_id)


def _update(hasher: Any, pieces: list[bytes]) -> None:
    for piece in pieces:
        hasher.update(piece)
