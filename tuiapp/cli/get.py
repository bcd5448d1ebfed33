"""`tuiapp get`: one job run headless, progress on stderr, a JSON summary on stdout.

The engine's front door checks and routes the job (what it refuses exits 2, with the sentence the
HTTP API answers 400 with); the exit code says how the job ended (see ``exit_code``). Ctrl-C
cancels the job, prints the summary and exits 130.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from tuiapp.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, fail, load, run
from tuiapp.jobs import MAX_COUNT

if TYPE_CHECKING:
    from tuiapp.cli.progress import Reporter
    from tuiapp.engine import Engine, Subscription
    from tuiapp.jobs import JobInfo

__all__ = ["EXIT_PARTIAL", "exit_code", "get", "summary_of"]

EXIT_PARTIAL = 3
"""Some files were stored, but not everything the job asked for (partial, cancelled, timed out)."""


def exit_code(job: JobInfo) -> int:
    """0 when the job is ``done`` with files stored, 1 when nothing was stored, 3 otherwise.

    A cancelled, timed-out or interrupted job that stored files exits 3, like ``partial``. A
    new-only job that ended ``done`` finding nothing new exits 0: nothing new is an answer.
    """
    if job.stored == 0:
        return 0 if job.new_only and job.state.value == "done" else EXIT_FAILED
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


@click.command()
@click.argument("query")
@click.option("-s", "--source", "sources", multiple=True, help="A source to use (repeat).")
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
    "--new-only",
    is_flag=True,
    help="Skip what the library holds (same item, same bytes, or a near-duplicate picture);"
    " -n then counts new files.",
)
def get(
    query: str, sources: tuple[str, ...], count: int, options: tuple[str, ...], new_only: bool
) -> None:
    """Run one job headless: progress on stderr, a JSON summary on stdout.

    QUERY is search words, or a URL (the source is then picked from the URL when -s is not
    given). Exit codes: 0 done, 1 nothing stored, 2 usage error, 3 some files stored but a
    source failed or the job was cut (partial, cancelled, timed out), 130 Ctrl-C.
    """
    opts = _options(options)
    settings = load()

    from tuiapp.errors import InvalidRequestError

    interrupted = False

    async def body(engine: Engine, owner: int | None) -> tuple[dict[str, Any], int]:
        nonlocal interrupted
        from tuiapp.cli.progress import duplicate_lines, failure_lines, make_reporter
        from tuiapp.jobs import JobSpec

        spec = JobSpec(query=query, sources=sources, count=count, options=opts, new_only=new_only)
        with engine.subscribe(owner=owner) as sub:
            job = await engine.submit(spec, owner)  # refused: a usage error, exit 2 (below)
            reporter = make_reporter(count)
            try:
                final, interrupted = await _follow(engine, owner, job.id, sub, reporter)
            finally:
                reporter.stop()
        for line in [*duplicate_lines(final), *failure_lines(final)]:
            click.echo(line, err=True)
        if final.new_only:
            click.echo(
                f"{final.stored} new, {final.known} known (in the library already)", err=True
            )
        return await summary_of(engine, owner, final), exit_code(final)

    try:
        summary, code = run(settings, body)  # a second Ctrl-C: KeyboardInterrupt, exit 130 (Group)
    except InvalidRequestError as exc:
        fail(str(exc))  # the engine refused the job as given: a usage error, exit 2
    click.echo(json.dumps(summary, indent=2))
    sys.exit(EXIT_INTERRUPTED if interrupted else code)


async def summary_of(engine: Engine, owner: int | None, final: JobInfo) -> dict[str, Any]:
    """The JSON summary of a finished job: the job, its ``new`` and ``known`` counts (``new``
    is ``stored``) and its files."""
    limit = MAX_COUNT * len(final.sources)
    assets = await engine.list_assets(owner, job_id=final.id, limit=limit)
    keys = ("id", "source", "url", "title", "mime", "size", "sha256", "duplicate_of")
    return {
        "job": final.to_dict(),
        "new": final.stored,
        "known": final.known,
        "assets": [{k: a.to_dict()[k] for k in keys} for a in assets],
    }


async def _follow(
    engine: Engine, owner: int | None, job_id: int, sub: Subscription, reporter: Reporter
) -> tuple[JobInfo, bool]:
    """Show the job's events until it ends; returns its final view and whether Ctrl-C ended it.

    The first Ctrl-C cancels the job and waits for it to end (what was stored stays); a second
    one stops at once.
    """
    import asyncio
    import contextlib
    import signal

    from tuiapp.events import JobFinished

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
