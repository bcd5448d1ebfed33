"""`tuiapp watch`: topics watched across sources, each run a new-only job on a schedule.

`add` prints the new watch's id; `list` shows each one's schedule and finds; `run` runs one now,
waits, and prints the JSON summary `get` prints (with ``new`` and ``known``); `pause`, `resume`,
`rm`. The runs themselves happen in a process that runs jobs (the terminal app, `tuiapp serve`,
a worker); a watch that was due while none ran runs once when one starts.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from tuiapp.cli.common import fail, load, run
from tuiapp.cli.get import _options, exit_code, summary_of

if TYPE_CHECKING:
    from datetime import datetime

    from tuiapp.engine import Engine
    from tuiapp.watches import WatchInfo

__all__ = ["watch"]


@click.group()
def watch() -> None:
    """Watch topics: new finds only, on a schedule (see `tuiapp watch add --help`)."""


def _refused(action: Any) -> Any:
    """Run ``action``; a request the engine refuses is a usage error (exit 2), nothing saved."""
    from tuiapp.errors import InvalidRequestError

    settings = load()
    try:
        return run(settings, action)
    except InvalidRequestError as exc:
        fail(str(exc))


@watch.command("add")
@click.argument("query")
@click.option("-s", "--source", "sources", multiple=True, help="A source to search (repeat).")
@click.option("-n", "--count", type=int, default=10, show_default=True, help="New files per run.")
@click.option("--every", required=True, help="Time between runs: 30m, 6h, 1d, 1w (at least 5m).")
@click.option("-o", "--option", "options", multiple=True, help="Source option KEY=VALUE (repeat).")
@click.option("--webhook", default=None, help="An http(s) URL each run's digest is POSTed to.")
def add(
    query: str,
    sources: tuple[str, ...],
    count: int,
    every: str,
    options: tuple[str, ...],
    webhook: str | None,
) -> None:
    """Watch QUERY; prints the watch's id. Its first run is due at once."""
    opts = _options(options)

    async def body(engine: Engine, owner: int | None) -> WatchInfo:
        return await engine.watches.add(
            owner,
            query=query,
            sources=sources,
            count=count,
            options=opts,
            every=every,
            webhook=webhook,
        )

    made: WatchInfo = _refused(body)
    click.echo(made.id)


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M")


@watch.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
def list_watches(as_json: bool) -> None:
    """Every watch: id, query, sources, interval, last and next run, new last time, new in all."""
    from tuiapp.text import printable
    from tuiapp.watches import describe_every

    async def body(engine: Engine, owner: int | None) -> list[WatchInfo]:
        return await engine.watches.list_watches(owner)

    watches: list[WatchInfo] = _refused(body)
    if as_json:
        click.echo(json.dumps([w.to_dict() for w in watches], indent=2))
        return
    header = ("id", "query", "sources", "every", "last run", "next run", "new", "all", "state")
    rows = [header]
    for w in watches:
        state = "paused" if w.paused else "on"
        if w.failures:
            state = f"failing x{w.failures}: {w.last_error or ''}"
        elif w.webhook_error:
            state += f" (webhook: {w.webhook_error})"
        rows.append(
            (
                str(w.id),
                w.query[:40],
                ",".join(w.sources),
                describe_every(w.every),
                _when(w.last_run_at),
                _when(w.next_run_at),
                "-" if w.last_new is None else str(w.last_new),
                str(w.total_new),
                state[:80],
            )
        )
    widths = [max(len(printable(r[i])) for r in rows) for i in range(len(header) - 1)]
    for r in rows:
        cells = [printable(c).ljust(n) for c, n in zip(r, widths, strict=False)]
        click.echo("  ".join([*cells, printable(r[-1])]).rstrip())


@watch.command("run")
@click.argument("watch_id", type=int)
def run_now(watch_id: int) -> None:
    """Run a watch now, wait for it, print the JSON summary (`new`, `known`, the files)."""

    async def body(engine: Engine, owner: int | None) -> tuple[dict[str, Any], int]:
        job = await engine.watches.run(watch_id, owner)
        final = await engine.wait(job.id, owner)
        await engine.watches.record()  # its watch is updated and its digest sent from here
        assets = await engine.list_assets(owner, job_id=final.id, limit=10_000)
        summary = {"watch": watch_id, **summary_of(final, assets)}
        return summary, exit_code(final)

    summary, code = _refused(body)
    click.echo(json.dumps(summary, indent=2))
    sys.exit(code)


def _change(watch_id: int, what: str) -> None:
    async def body(engine: Engine, owner: int | None) -> None:
        if what == "pause":
            await engine.watches.pause(watch_id, owner)
        elif what == "resume":
            await engine.watches.resume(watch_id, owner)
        else:
            await engine.watches.delete(watch_id, owner)

    _refused(body)


@watch.command("pause")
@click.argument("watch_id", type=int)
def pause(watch_id: int) -> None:
    """Stop running a watch on its schedule (`run` still runs it)."""
    _change(watch_id, "pause")


@watch.command("resume")
@click.argument("watch_id", type=int)
def resume(watch_id: int) -> None:
    """Run a paused watch on its schedule again (once at once if a run was missed)."""
    _change(watch_id, "resume")


@watch.command("rm")
@click.argument("watch_id", type=int)
def remove(watch_id: int) -> None:
    """Delete a watch; the jobs of its runs stay in the history."""
    _change(watch_id, "rm")
