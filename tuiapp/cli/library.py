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
    from collections.abc import Sequence

    from tuiapp.engine import Check, DoctorReport, Engine, SourceCheck
    from tuiapp.jobs import JobInfo

__all__ = ["doctor", "jobs", "sources", "user"]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def sources(as_json: bool) -> None:
    """List the sources: name, kind, whether they need a key and whether it is set."""
    from tuiapp.engine import source_infos

    infos = source_infos(load())  # no engine: listing sources needs no database nor downloader
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
    TLS within 3 seconds; skipped with --offline). When no site answers, says once that this
    machine seems to be offline. Exits 0 when every source is ready or lacks only your own API
    key or login (optional), else 1.

    \b
    Examples:
      tuiapp doctor
      tuiapp doctor --offline --json
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


def _longest_word(cells: list[str]) -> int:
    return max((len(w) for cell in cells for w in cell.split()), default=0)


def _print_report(report: DoctorReport) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from tuiapp.text import printable

    def mark(ok: bool, optional: bool = False) -> Text:
        if ok:
            return Text("ok", style="green")
        return Text("optional", style="yellow") if optional else Text("MISSING", style="bold red")

    def table(columns: tuple[str, ...], rows: Sequence[tuple[Text, ...]]) -> Table:
        # The first columns (a mark, a name) keep their width; the last two share the rest,
        # never narrower than their longest word (a setting's name): words wrap whole.
        cells = [[column, *(row[i].plain for row in rows)] for i, column in enumerate(columns)]
        natural = [max(len(c) for c in col) for col in cells]
        widths: list[int | None] = [None] * len(columns)
        room = console.width - sum(natural[:-2]) - 2 * (len(columns) - 1)
        if room < natural[-2] + natural[-1]:
            last = max(_longest_word(cells[-1]), room // 2)
            widths[-1] = last
            widths[-2] = max(_longest_word(cells[-2]), room - last)
        grid = Table(box=None, pad_edge=False, show_edge=False)
        for i, column in enumerate(columns):
            grid.add_column(column, overflow="fold", no_wrap=i < len(columns) - 2, width=widths[i])
        for row in rows:
            grid.add_row(*row)
        return grid

    # Piped into a file or a pager, rows stay whole lines instead of folding at 80 columns.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 1000)
    # A detail may quote a path or an error: shown as text, controls escaped.
    general = [
        (mark(c.ok), Text(c.name), Text(printable(c.detail)), Text(c.advice or ""))
        for c in report.checks
    ]
    console.print(table(("", "CHECK", "FOUND", "TO DO"), general))
    console.print()
    offline = report.seems_offline
    rows = []
    for row in report.sources:
        needs = Text()
        for n in row.needs:
            if n.name == "reach" and offline:
                continue  # said once, below
            if needs:
                needs.append("; ")
            needs.append(f"{n.name} ")
            if n.ok:
                needs.append("ok", style="green")
            elif n.optional:
                needs.append("not set", style="yellow")
            else:
                needs.append("MISSING", style="bold red")
            if (not n.ok and not n.optional) or (n.name == "reach" and n.ok):
                needs.append(f" ({printable(n.detail)})")  # programs' paths: see --json
        advice = "; ".join(
            dict.fromkeys(
                # "set X to use <this source>": the row names the source already.
                n.advice.removesuffix(f" to use {row.source}")
                for n in row.needs
                if not n.ok and n.advice and not (n.name == "reach" and offline)
            )
        )
        lacks = _lacks(row, offline)
        rows.append(
            (
                mark(not lacks, all(n.optional for n in lacks)),
                Text(row.source),
                needs or Text("nothing to install"),
                Text(advice),
            )
        )
    console.print(table(("", "SOURCE", "NEEDS", "TO DO"), rows))
    summary = _doctor_summary(report)
    if sys.stderr.isatty():
        import shutil
        import textwrap

        summary = textwrap.fill(summary, width=shutil.get_terminal_size().columns)
    click.echo(summary, err=True)


def _lacks(row: SourceCheck, offline: bool) -> list[Check]:
    """What a source lacks; when the machine seems offline, its reach test is said once."""
    return [n for n in row.needs if not n.ok and not (offline and n.name == "reach")]


def _doctor_summary(report: DoctorReport) -> str:
    offline = report.seems_offline
    lacking = [(s.source, _lacks(s, offline)) for s in report.sources]
    optional = [name for name, lacks in lacking if lacks and all(n.optional for n in lacks)]
    bad = [name for name, lacks in lacking if any(not n.optional for n in lacks)]
    failed = sum(1 for c in report.checks if not c.ok)
    parts = []
    if offline:
        parts.append(
            "this machine seems to be offline: no site answered"
            " (check the network, a proxy or a firewall)"
        )
    if bad:
        parts.append(f"{len(bad)} of {len(report.sources)} sources not ready")
    if failed:
        parts.append(f"{failed} of {len(report.checks)} checks failed")
    if optional:
        parts.append(
            f"optional, for your own key or login: {', '.join(optional)}"
            if bad or failed or report.seems_offline
            else f"every source is ready but those needing your own key or login:"
            f" {', '.join(optional)}"
        )
    summary = "; ".join(parts) if parts else "every source is ready"
    if report.offline:
        summary += " (offline: sites not tried)"
    return summary


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
