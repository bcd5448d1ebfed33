"""`tuiapp get`: one job run headless, progress on stderr, a summary on stdout.

On a terminal the summary is a few lines for people (what was stored, where, what to run next);
to a pipe or a file, or with ``--json``, it is the JSON summary scripts read. ``-d DIR`` writes
each file into DIR as it is stored, named as `tuiapp export` names it (the engine writes them).
The engine's front door checks and routes the job (what it refuses exits 2, with the sentence the
HTTP API answers 400 with); the exit code says how the job ended (see ``exit_code``). Ctrl-C
cancels the job, prints the summary and exits 130.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tuiapp.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, fail, load, run
from tuiapp.jobs import MAX_COUNT

if TYPE_CHECKING:
    from collections.abc import Iterable

    from click.shell_completion import CompletionItem

    from tuiapp.cli.progress import Reporter
    from tuiapp.engine import Engine, Subscription
    from tuiapp.jobs import Exported, JobInfo

__all__ = ["EXIT_PARTIAL", "exit_code", "get"]

EXIT_PARTIAL = 3
"""Some files were stored, but not everything the job asked for (partial, cancelled, timed out)."""


def exit_code(job: JobInfo) -> int:
    """0 when the job is ``done`` with files stored, 1 when nothing was stored, 3 otherwise.

    A cancelled, timed-out or interrupted job that stored files exits 3, like ``partial``.
    """
    if job.stored == 0:
        return EXIT_FAILED
    return 0 if job.state.value == "done" else EXIT_PARTIAL


def _options(values: tuple[str, ...]) -> dict[str, str]:
    opts: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or not key.replace("_", "a").replace("-", "a").isalnum():
            raise click.BadParameter(f"takes KEY=VALUE, not {item!r}", param_hint="'-o'")
        if key in opts:
            raise click.BadParameter(f"{key!r} is given twice", param_hint="'-o'")
        opts[key] = value
    return opts


def _complete_sources(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Tab completion of -s: the registry's names (after a comma too: ``-s picsum,bi<Tab>``)."""
    from click.shell_completion import CompletionItem

    from tuiapp.engine import source_infos

    head, _, last = incomplete.rpartition(",")
    prefix = f"{head}," if head else ""
    names = [info.name for info in source_infos(load(log=False))]
    return [CompletionItem(prefix + name) for name in names if name.startswith(last.lower())]


EXAMPLES = """\b
Examples:
  tuiapp get cats                      the default sources, 10 files each
  tuiapp get "red cars" -s bing_images,picsum -n 30
  tuiapp get cats -d ~/Pictures/cats   also write each file into a folder
  tuiapp get https://www.youtube.com/watch?v=...   the source is picked from the URL
  tuiapp get cats --json | jq '.assets[].url'
"""


@click.command(epilog=EXAMPLES)
@click.argument("query")
@click.option(
    "-s",
    "--source",
    "sources",
    multiple=True,
    shell_complete=_complete_sources,
    help="A source: -s picsum, -s bing_images,picsum or -s a -s b (see `tuiapp sources`).",
)
@click.option(
    "-n",
    "--count",
    type=int,
    default=10,
    show_default=True,
    help=f"Files per source (1-{MAX_COUNT}).",
)
@click.option("-o", "--option", "options", multiple=True, help="Source option KEY=VALUE (repeat).")
@click.option(
    "-d",
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write each file into DIR as it is stored (names as `tuiapp export` gives).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the JSON summary (the default when stdout is not a terminal).",
)
def get(
    query: str,
    sources: tuple[str, ...],
    count: int,
    options: tuple[str, ...],
    dest: Path | None,
    as_json: bool,
) -> None:
    """Run one job: progress on stderr, then what was stored.

    QUERY is search words, or a URL (the source is then picked from the URL when -s is not
    given). On a terminal the summary is a few lines; piped, or with --json, it is JSON. Exit
    codes: 0 done, 1 nothing stored, 2 usage error, 3 some files stored but a source failed or
    the job was cut (partial, cancelled, timed out), 130 Ctrl-C.
    """
    opts = _options(options)  # an empty query, like every refused job: the engine's sentence
    settings = load()

    from tuiapp.errors import InvalidRequestError

    interrupted = False
    human: list[str] = []
    saved: list[Exported] = []
    if dest is not None:
        try:
            dest.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            fail(f"cannot make the folder {dest}: {exc.strerror or exc}", EXIT_FAILED)

    async def body(engine: Engine, owner: int | None) -> tuple[dict[str, Any], int]:
        nonlocal interrupted
        from tuiapp.cli.progress import (
            duplicate_lines,
            failure_lines,
            make_reporter,
            summary_lines,
        )
        from tuiapp.jobs import JobSpec

        # As the user gave it (-s a,b and -s Picsum too): the engine checks and routes it.
        spec = JobSpec(query=query, sources=sources, count=count, options=opts)
        saver = _Saver(engine, owner, dest)
        with engine.subscribe(owner=owner) as sub:
            job = await engine.submit(spec, owner)  # refused: a usage error, exit 2 (below)
            reporter = make_reporter(count)
            try:
                final, interrupted = await _follow(engine, owner, job.id, sub, reporter, saver)
            finally:
                reporter.stop()
        for line in [*duplicate_lines(final), *failure_lines(final)]:
            click.echo(line, err=True)
        assets = await engine.list_assets(owner, job_id=job.id, limit=MAX_COUNT * len(job.sources))
        await saver.catch_up(a.id for a in assets)  # any a full event queue left out
        human.extend(summary_lines(final, settings.data_dir, dest, saver.done))
        saved.append(saver.done)
        keys = ("id", "source", "url", "title", "mime", "size", "sha256", "duplicate_of")
        summary = {
            "job": final.to_dict(),
            "assets": [{k: a.to_dict()[k] for k in keys} for a in assets],
        }
        return summary, exit_code(final)

    try:
        summary, code = run(settings, body)  # a second Ctrl-C: KeyboardInterrupt, exit 130 (Group)
    except InvalidRequestError as exc:
        fail(str(exc))  # the engine refused the job as given: a usage error, exit 2
    from tuiapp.text import printable

    if as_json or not sys.stdout.isatty():
        click.echo(json.dumps(summary, indent=2))
        if dest is not None:
            click.echo(printable(saved[0].summary(dest)), err=True)
    else:
        for line in human:
            click.echo(printable(line))
    sys.exit(EXIT_INTERRUPTED if interrupted else code)


class _Saver:
    """Writes each stored file of the job into ``dest`` through the engine, once."""

    def __init__(self, engine: Engine, owner: int | None, dest: Path | None) -> None:
        from tuiapp.jobs import Exported

        self.engine = engine
        self.owner = owner
        self.dest = dest
        self.seen: set[int] = set()
        self.done = Exported()

    async def save(self, asset_id: int) -> None:
        if self.dest is None or asset_id in self.seen:
            return
        one = await self.engine.export_asset(asset_id, self.owner, self.dest)
        self.seen.add(asset_id)  # after: one cut short by the end is written by catch_up
        self.done.written.extend(one.written)
        self.done.already.extend(one.already)

    async def catch_up(self, asset_ids: Iterable[int]) -> None:
        for asset_id in asset_ids:
            await self.save(asset_id)


async def _follow(
    engine: Engine,
    owner: int | None,
    job_id: int,
    sub: Subscription,
    reporter: Reporter,
    saver: _Saver,
) -> tuple[JobInfo, bool]:
    """Show the job's events until it ends; returns its final view and whether Ctrl-C ended it.

    The first Ctrl-C cancels the job and waits for it to end (what was stored stays); a second
    one stops at once.
    """
    import asyncio
    import contextlib
    import signal

    from tuiapp.events import AssetStored, JobFinished

    loop = asyncio.get_running_loop()
    cancelled = asyncio.Event()

    def on_interrupt() -> None:
        loop.remove_signal_handler(signal.SIGINT)  # a second Ctrl-C: KeyboardInterrupt
        cancelled.set()
        reporter.say("cancelling the job (Ctrl-C again to quit at once)")

    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, on_interrupt)

    async def printer() -> None:
        async for event in sub:
            if event.job_id == job_id:
                reporter.show(event)
                if isinstance(event, AssetStored):
                    await saver.save(event.asset_id)
                if isinstance(event, JobFinished):
                    return

    async def canceller() -> None:
        await cancelled.wait()
        await engine.cancel(job_id, owner)

    printing = asyncio.create_task(printer())
    cancelling = asyncio.create_task(canceller())
    try:
        final = await engine.wait(job_id, owner)
        # The job's last events are already queued for this subscriber: show them all.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(printing), 2)
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
        printing.cancel()
        cancelling.cancel()
    return final, cancelled.is_set()
