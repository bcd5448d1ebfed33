"""`tuiapp sources`, `jobs`, `doctor` and `user`: short commands that read or write
what the engine keeps, each a thin client calling one engine method and printing."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import click

from tuiapp.cli.common import EXIT_FAILED, human_bytes, load, run

if TYPE_CHECKING:
    from tuiapp.engine import DoctorReport, Engine
    from tuiapp.jobs import JobInfo

__all__ = ["doctor", "jobs", "sources", "user"]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def sources(as_json: bool) -> None:
    """List the sources: name, kind, whether they need a key and whether it is set."""
    from tuiapp.engine import Engine

    engine = Engine(load())  # no start(): listing sources needs no database
    infos = engine.sources()
    if as_json:
        click.echo(json.dumps([i.to_dict() for i in infos], indent=2))
        return
    click.echo(f"{'NAME':<20} {'KIND':<16} {'INPUT':<12} KEY")
    for info in infos:
        takes = "+".join(
            t for t, ok in (("words", info.takes_query), ("URL", info.takes_url)) if ok
        )
        if info.key_setting is None:
            key = "not needed"
        else:
            key = f"{info.key_setting} {'set' if info.configured else 'NOT SET'}"
        click.echo(f"{info.name:<20} {info.kind:<16} {takes:<12} {key}")


async def _live(engine: Engine, owner: int | None, info: JobInfo) -> JobInfo:
    """A running job with its stored counts read from the assets it has so far.

    A job run by another process (the app, `tuiapp get`, a worker) writes its counters to the
    database only when a source starts or ends; its assets are written as they are stored.
    """
    if info.state.finished:
        return info
    stored: dict[str, int] = {}
    size: dict[str, int] = {}
    offset = 0
    while True:
        page = await engine.list_assets(owner, job_id=info.id, limit=1000, offset=offset)
        if not page:
            break
        offset += len(page)
        for asset in page:
            stored[asset.source] = stored.get(asset.source, 0) + 1
            size[asset.source] = size.get(asset.source, 0) + asset.size
    parts = tuple(
        replace(
            s,
            stored=max(s.stored, stored.get(s.source, 0)),
            bytes=max(s.bytes, size.get(s.source, 0)),
        )
        for s in info.sources
    )
    return replace(info, sources=parts)


@click.command()
@click.option("--state", "states", multiple=True, help="Only jobs in this state (repeat).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.argument("words", nargs=-1)
def jobs(states: tuple[str, ...], limit: int, as_json: bool, words: tuple[str, ...]) -> None:
    """List jobs, newest first; WORDS keep those with each word in the query, state or a source.

    States: queued, running, done (every source succeeded), partial (files stored, some source
    failed or was cut), failed (nothing stored), cancelled, timed_out, interrupted.
    """
    from tuiapp.jobs import JobState

    try:
        wanted = tuple(JobState(s) for s in states)
    except ValueError:
        raise click.BadParameter(
            f"takes one of {', '.join(s.value for s in JobState)}", param_hint="'--state'"
        ) from None

    async def body(engine: Engine, owner: int | None) -> list[JobInfo]:
        infos = await engine.list_jobs(
            owner, states=wanted, text=" ".join(words) or None, limit=limit
        )
        return [await _live(engine, owner, i) for i in infos]

    infos = run(load(), body)
    if as_json:
        click.echo(json.dumps([i.to_dict() for i in infos], indent=2))
        return
    for info in infos:
        names = ",".join(s.source for s in info.sources)
        failing = sum(1 for s in info.sources if s.error or s.state.failed)
        failed = f" {failing}/{len(info.sources)} sources failed" if failing else ""
        when = info.created_at.strftime("%Y-%m-%d %H:%M")
        click.echo(
            f"{info.id:>5}  {when}  {info.state.value:<11} {info.stored:>4} stored"
            f"  {human_bytes(info.bytes):>9}  {info.query!r} [{names}]{failed}"
            # repr: controls in the query are escaped
        )


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--offline", is_flag=True, help="Skip the reach tests of the sites' hosts.")
def doctor(as_json: bool, offline: bool) -> None:
    """Check what this installation can do: data folder, database, then one row per source.

    Each source's row says what it needs (API key, cookies, ffmpeg, JavaScript runtime, TLS
    impersonation) and whether it is there, and whether its site answers (name, connection and
    TLS within 3 seconds; skipped with --offline). Exits 0 when every source is ready, else 1.
    """
    import asyncio
    import contextlib

    from tuiapp.engine import Engine

    settings = load(log=False)  # a data folder that cannot be made is a finding, not a stop

    async def main() -> DoctorReport:
        engine = Engine(settings)
        try:
            # A database that cannot be opened is reported by the database check.
            with contextlib.suppress(Exception):
                await engine.start()
            return await engine.doctor(offline=offline)
        finally:
            with contextlib.suppress(Exception):
                await engine.close()

    report = asyncio.run(main())
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report(report)
    if not report.ok:
        sys.exit(EXIT_FAILED)


def _print_report(report: DoctorReport) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from tuiapp.text import printable

    def mark(ok: bool) -> Text:
        return Text("ok", style="green") if ok else Text("MISSING", style="bold red")

    # Piped into a file or a pager, rows stay whole lines instead of folding at 80 columns.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 1000)
    general = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("", "CHECK", "FOUND", "TO DO"):
        general.add_column(column, overflow="fold")
    for c in report.checks:
        # A detail may quote a path or an error: shown as text, controls escaped.
        general.add_row(mark(c.ok), Text(c.name), Text(printable(c.detail)), Text(c.advice or ""))
    console.print(general)
    console.print()
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("", "SOURCE", "NEEDS", "TO DO"):
        table.add_column(column, overflow="fold")
    for row in report.sources:
        needs = Text()
        for n in row.needs:
            if needs:
                needs.append("; ")
            needs.append(f"{n.name} ")
            needs.append("ok" if n.ok else "MISSING", style="green" if n.ok else "bold red")
            if not n.ok or n.name == "reach":  # paths of programs found: see --json
                needs.append(f" ({printable(n.detail)})")
        advice = "; ".join(dict.fromkeys(n.advice for n in row.needs if not n.ok and n.advice))
        table.add_row(
            mark(row.ready), Text(row.source), needs or Text("nothing to install"), Text(advice)
        )
    console.print(table)
    bad = [s.source for s in report.sources if not s.ready]
    failed = sum(1 for c in report.checks if not c.ok)
    parts = [f"{len(bad)} of {len(report.sources)} sources not ready"] if bad else []
    parts += [f"{failed} of {len(report.checks)} checks failed"] if failed else []
    summary = "; ".join(parts) if parts else "every source is ready"
    if report.offline:
        summary += " (offline: sites not tried)"
    click.echo(summary, err=True)


@click.group()
def user() -> None:
    """Manage users (each sees only their own jobs and files)."""


@user.command("add")
@click.argument("name")
def user_add(name: str) -> None:
    """Create a user and print its API token (shown only this once)."""

    async def body(engine: Engine, owner: int | None) -> tuple[Any, str]:
        return await engine.create_user(name)

    # Creating a user needs no acting user: ignore TUIAPP_USER here.
    info, token = run(replace(load(), user=None), body)
    click.echo(token)
    click.echo(f"user {info.name!r} created; keep the token above, it is not shown again", err=True)


@user.command("list")
def user_list() -> None:
    """List users."""

    async def body(engine: Engine, owner: int | None) -> list[Any]:
        return await engine.list_users()

    for info in run(replace(load(), user=None), body):
        click.echo(f"{info.id:>4}  {info.name}")
