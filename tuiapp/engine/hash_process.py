"""Fingerprinting pictures in a process of its own (``python -m tuiapp.phash``).

The engine's event loop only writes each file into a pipe and reads a 21-byte answer back; the
decoding runs beside it on another core. The same process makes thumbnails
(:meth:`HashProcess.thumbnail`). Measured with 2,000 real 50 KB JPEGs: in a thread (one
or six) the Python parts of decoding held the GIL often enough to halve the loop's rate; in a
process the loop kept its pace (README, "Near-duplicate pictures").

The process starts with the first picture and is started again after it dies; a file it does not
answer for within ``timeout`` kills it. Only the files sent to the process that died fail (with
:class:`HashProcessError`); their pictures stay stored, unhashed, for the backfill.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
import time
from typing import TYPE_CHECKING, Any

from tuiapp.jobs import Fingerprint
from tuiapp.phash import ANSWER, ASK, LOOK, MAX_DISTANCE, MAX_HASH_BYTES, MAX_THUMB_BYTES, THUMB

if TYPE_CHECKING:
    from asyncio import StreamWriter
    from asyncio.subprocess import Process
    from collections.abc import AsyncIterator, Awaitable, Callable

__all__ = ["HashProcess", "HashProcessError"]

log = logging.getLogger(__name__)


class HashProcessError(Exception):
    """The hashing process died or stopped answering; the picture was not looked at."""


class HashProcess:
    """One hashing process and the files waiting for it."""

    def __init__(self, *, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._writing = asyncio.Lock()

        self._proc: Process | None = None
        self._starting: asyncio.Lock | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: dict[int, tuple[Process, asyncio.Future[Any]]] = {}
        """The files asked about, each with the process it went to."""
        self._asked: dict[int, tuple[Process, float]] = {}
        """When each file still unanswered was handed over (monotonic clock)."""
        self._watchdog: asyncio.Task[None] | None = None
        self._numbers = itertools.count()
        self._closed = False

    async def fingerprint(self, data: bytes) -> Fingerprint | None:
        """The fingerprint of a picture; None when it is no picture (or too large to decode).

        Raises:
            HashProcessError: the hashing process could not answer.
        """
        if not data or len(data) > MAX_HASH_BYTES:
            return None

        async def send(pipe: StreamWriter) -> None:
            pipe.write(data)  # written whole before any await: a cut cannot leave half of it

        found: Fingerprint | None = await self._ask(len(data), send)
        return found

    async def fingerprint_stream(
        self, size: int, chunks: AsyncIterator[bytes]
    ) -> Fingerprint | None:
        """:meth:`fingerprint` for a file read piece by piece (a stored one), never whole here.

        A file cut off on its way (cancelled, or shorter than ``size``) stops the process, whose
        input would otherwise be out of step; the next file starts a new one.
        """
        if not 0 < size <= MAX_HASH_BYTES:
            return None
        found: Fingerprint | None = await self._ask(size, _streamer(size, chunks))
        return found

    async def thumbnail(
        self, size: int, chunks: AsyncIterator[bytes]
    ) -> tuple[bytes, int, int] | None:
        """A stored picture's thumbnail (WebP bytes, width, height), read piece by piece as in
        :meth:`fingerprint_stream`; None when it is no picture (or too large to decode).

        Raises:
            HashProcessError: the process could not answer.
        """
        if not 0 < size <= MAX_HASH_BYTES:
            return None
        small: tuple[bytes, int, int] | None = await self._ask(size, _streamer(size, chunks), THUMB)
        return small

    async def _ask(
        self, size: int, send: Callable[[StreamWriter], Awaitable[None]], kind: int = LOOK
    ) -> Any:
        number = next(self._numbers) & 0xFFFFFFFF
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            # One file at a time into the pipe: a transport holding many would move its whole
            # buffer at every partial write (quadratic; it was a fifth of the loop's time).
            async with self._writing:
                proc = await self._started()  # after the lock: never a process that just died
                pipe = proc.stdin
                assert pipe is not None
                self._waiting[number] = (proc, answer)
                try:
                    pipe.write(ASK.pack(number, kind, size))
                    await send(pipe)
                    await pipe.drain()
                except (ConnectionError, BrokenPipeError) as exc:
                    self._lost(proc, repr(exc), kill=False)  # it is gone already
                    raise HashProcessError("the hashing process is gone") from None
                except BaseException as exc:
                    # Cut off half-way: the process would read the next file as this one's end.
                    quiet = isinstance(exc, asyncio.CancelledError)
                    self._lost(proc, f"a file was cut off on its way: {exc!r}", quiet=quiet)
                    raise
                self._asked[number] = (proc, time.monotonic())
            return await answer
        finally:
            self._waiting.pop(number, None)
            self._asked.pop(number, None)
            if answer.done() and not answer.cancelled():
                answer.exception()  # seen: a failed answer nobody awaits warns of nothing

    async def _started(self) -> Process:
        if self._closed:
            raise HashProcessError("the engine is closing")
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._proc is None or self._proc.returncode is not None:
                self._proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-P",  # the working folder is not searched: no tuiapp/ there is imported
                    "-m",
                    "tuiapp.phash",
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                self._reader = asyncio.create_task(self._read(self._proc), name="tuiapp-hasher")
                if self._watchdog is None or self._watchdog.done():
                    self._watchdog = asyncio.create_task(self._watch(), name="tuiapp-hasher-watch")
            return self._proc

    async def _watch(self) -> None:
        """Stop a process that keeps a file longer than ``timeout`` (one timer for all files)."""
        while not self._closed:
            await asyncio.sleep(min(1.0, self.timeout / 4))
            proc = self._proc
            asked = [at for owner, at in self._asked.values() if owner is proc]
            if proc is not None and asked and time.monotonic() - asked[0] > self.timeout:
                self._lost(proc, f"no answer within {self.timeout:g} s")  # asked in order

    async def _read(self, proc: Process) -> None:
        assert proc.stdout is not None
        try:
            while True:
                number, ok, value, width, height = ANSWER.unpack(
                    await proc.stdout.readexactly(ANSWER.size)
                )
                result: Any = None
                if ok == 1:
                    result = Fingerprint(value, width, height, MAX_DISTANCE)
                elif ok == 2:  # a thumbnail of ``value`` bytes follows
                    if value > MAX_THUMB_BYTES:
                        self._lost(proc, f"a thumbnail of {value} bytes was announced")
                        return
                    result = (await proc.stdout.readexactly(value), width, height)
                waiting = self._waiting.get(number)
                if waiting is not None and waiting[0] is proc and not waiting[1].done():
                    waiting[1].set_result(result)
        except (asyncio.IncompleteReadError, ConnectionError):
            # It closed its output: it is ending. No kill: killing polls the process, which
            # would reap it before asyncio's own watcher does (a warning each time).
            self._lost(proc, f"it ended (exit status {proc.returncode})", kill=False)

    def _lost(self, proc: Process, why: str, *, kill: bool = True, quiet: bool = False) -> None:
        """The process is of no more use: the files sent to it fail; the next file starts anew."""
        if proc is self._proc:
            self._proc = None
            if not (self._closed or quiet):
                log.warning("the picture hashing process was stopped: %s", why)
        if kill and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        for owner, answer in self._waiting.values():
            if owner is proc and not answer.done():
                answer.set_exception(HashProcessError(f"the hashing process stopped: {why}"))

    async def close(self) -> None:
        """End the process (it exits when its input closes; killed if it does not)."""
        self._closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            await asyncio.gather(self._watchdog, return_exceptions=True)
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 2)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


def _streamer(size: int, chunks: AsyncIterator[bytes]) -> Callable[[StreamWriter], Awaitable[None]]:
    """What writes a file of ``size`` bytes read from ``chunks`` into the process's input."""

    async def send(pipe: StreamWriter) -> None:
        sent = 0
        async for chunk in chunks:
            piece = chunk[: size - sent]
            pipe.write(piece)
            sent += len(piece)
            await pipe.drain()
        if sent != size:
            raise HashProcessError(f"the file ended after {sent} of {size} bytes")

    return send
