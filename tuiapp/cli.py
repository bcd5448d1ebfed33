"""The `tuiapp` command: the room that builds the process, and sub-commands for scripts.

With no sub-command it starts the engine, the HTTP API on it and the terminal app, and hands the
app both (the app never builds them). Each sub-command is a thin client of the engine: it parses
arguments, calls one engine method and prints, remote text through ``printable``. Heavy modules
(asyncio included) are imported inside the commands so that `tuiapp --help` starts fast.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tuiapp.config import Settings
    from tuiapp.engine import Engine
    from tuiapp.events import Event
    from tuiapp.server import RunningServer

__all__ = ["main"]

T = TypeVar("T")


def _settings() -> Settings:
    """Load settings and send logs to a file: the terminal belongs to the TUI or the output."""
    import logging.handlers

    from tuiapp.config import load_settings
    from tuiapp.text import PrintableFormatter

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        settings.data_dir / "tuiapp.log", maxBytes=5_000_000, backupCount=2, encoding="utf-8"
    )
    # Log lines quote remote URLs and errors: escaped, as on the terminal.
    handler.setFormatter(PrintableFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return settings


def _fail(message: str, code: int = 2) -> NoReturn:
    from tuiapp.text import printable

    # Error messages may quote remote text (a site's reply, a title): never raw to the terminal.
    click.echo(f"tuiapp: error: {printable(message)}", err=True)
    sys.exit(code)


def _run(settings: Settings, body: Callable[[Engine, int | None], Awaitable[T]]) -> T:
    """Start an engine, resolve the acting user (TUIAPP_USER or guest), run ``body``, close."""
    import asyncio

    from tuiapp.engine import Engine

    async def main() -> T:
        async with Engine(settings) as engine:
            owner = None
            if settings.user:
                owner = (await engine.user_named(settings.user)).id
            return await body(engine, owner)

    return asyncio.run(main())


class _Group(click.Group):
    """Turns our errors into one clear line and an exit code instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from tuiapp.errors import SettingsError, TuiappError

        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            _fail(f"bad setting {exc}")
        except TuiappError as exc:
            _fail(str(exc), 1)


@click.group(cls=_Group, invoke_without_command=True)
@click.version_option(package_name="tuiapp")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Search many media sources at once and keep everything in a database.

    With no command, opens the full-screen terminal app (with the HTTP API inside).
    """
    if ctx.invoked_subcommand is None:
        _run_tui(_settings())


def _run_tui(settings: Settings) -> None:
    """Build the process: the engine, the HTTP API on it, and the terminal app on both."""
    from tuiapp.app import TuiApp

    async def body(engine: Engine, owner: int | None) -> None:
        server, url, error = await _start_api(engine, settings.http_host, settings.http_port)
        try:
            app = TuiApp(engine, owner=owner, user_name=settings.user, api_url=url, api_error=error)
            await app.run_async()
        finally:
            if server is not None:
                await server.close()

    _run(settings, body)


async def _start_api(
    engine: Engine, host: str, port: int
) -> tuple[RunningServer | None, str | None, str | None]:
    """Start the HTTP API beside the TUI; returns (server, url, None) or (None, None, why not).

    A port in use is not fatal: the TUI works without the API and shows why it is off.
    """
    import logging

    from tuiapp.server import start_server

    try:
        server = await start_server(engine, host, port)
    except OSError as exc:
        logging.getLogger(__name__).warning("HTTP API not started", exc_info=True)
        return None, None, f"cannot listen on {host}:{port}: {exc}"
    return server, server.url, None


@cli.command()
@click.argument("query")
@click.option("-s", "--source", "sources", multiple=True, help="A source to use (repeat).")
@click.option("-n", "--count", default=10, show_default=True, help="Files per source.")
@click.option("-o", "--option", "options", multiple=True, help="Source option KEY=VALUE (repeat).")
def get(query: str, sources: tuple[str, ...], count: int, options: tuple[str, ...]) -> None:
    """Run one job headless: progress on stderr, a JSON summary on stdout.

    QUERY is search words, or a URL (the source is then picked from the URL when -s is not
    given). Exits 1 when nothing was stored.
    """
    from tuiapp.errors import InvalidRequestError
    from tuiapp.jobs import JobSpec

    settings = _settings()
    opts: dict[str, Any] = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key:
            _fail(f"--option takes KEY=VALUE, not {item!r}")
        opts[key.strip()] = value

    async def body(engine: Engine, owner: int | None) -> dict[str, Any]:
        import asyncio

        try:
            picked = engine.route(query, sources)
        except InvalidRequestError as exc:
            _fail(str(exc))  # a usage error (exit 2), not a failed job
        spec = JobSpec(query=query, sources=picked, count=count, options=opts)
        with engine.subscribe(owner=owner) as sub:
            job = await engine.submit(spec, owner)
            printer = asyncio.create_task(_print_progress(sub, job.id))
            final = await engine.wait(job.id, owner)
            await asyncio.sleep(0)  # let the printer see the last events
            printer.cancel()
        assets = await engine.list_assets(owner, job_id=job.id, limit=10_000)
        return {
            "job": final.to_dict(),
            "assets": [
                {
                    k: a.to_dict()[k]
                    for k in ("id", "source", "url", "title", "mime", "size", "sha256")
                }
                for a in assets
            ],
        }

    summary = _run(settings, body)
    click.echo(json.dumps(summary, indent=2))
    if summary["job"]["stored"] == 0:
        sys.exit(1)


async def _print_progress(sub: Any, job_id: int) -> None:
    from tuiapp.events import (
        AssetStored,
        ItemFailed,
        JobFinished,
        SourceFinished,
        SourceProgress,
        SourceStarted,
    )
    from tuiapp.text import printable as p

    # Titles, URLs and errors come from remote sites: each goes through printable() (p).
    tty = sys.stderr.isatty()

    def line(text: str) -> None:
        click.echo(("\r\x1b[2K" if tty else "") + text, err=True)

    event: Event
    async for event in sub:
        if event.job_id != job_id:
            continue
        if isinstance(event, SourceStarted):
            line(f"{event.source}: searching")
        elif isinstance(event, AssetStored):
            note = " (already stored)" if event.deduplicated else ""
            what = p(event.title or event.url)
            line(f"{event.source}: stored {what} [{_size(event.size)}]{note}")
        elif isinstance(event, ItemFailed):
            line(f"{event.source}: failed {p(event.url)}: {p(event.error)}")
        elif isinstance(event, SourceProgress) and tty:
            click.echo(
                f"\r\x1b[2K{event.source}: {event.state} {event.stored} stored,"
                f" {_size(event.bytes)} at {_size(int(event.speed))}/s",
                err=True,
                nl=False,
            )
        elif isinstance(event, SourceFinished):
            why = f": {p(event.error)}" if event.error else ""
            line(
                f"{event.source}: {event.state}, {event.stored} stored, {event.failed} failed{why}"
            )
        elif isinstance(event, JobFinished):
            line(f"job {event.job_id}: {event.state} in {event.elapsed:.1f} s")
            return


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def sources(as_json: bool) -> None:
    """List the sources: name, kind, whether they need a key and whether it is set."""
    from tuiapp.engine import Engine

    engine = Engine(_settings())  # no start(): listing sources needs no database
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


@cli.command()
@click.option("--state", "states", multiple=True, help="Only jobs in this state (repeat).")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.argument("words", nargs=-1)
def jobs(states: tuple[str, ...], limit: int, as_json: bool, words: tuple[str, ...]) -> None:
    """List jobs, newest first; WORDS keep those with each word in the query, state or a source."""
    from tuiapp.jobs import JobState

    try:
        wanted = tuple(JobState(s) for s in states)
    except ValueError:
        _fail(f"--state takes one of {', '.join(s.value for s in JobState)}")

    async def body(engine: Engine, owner: int | None) -> list[Any]:
        return await engine.list_jobs(
            owner, states=wanted, text=" ".join(words) or None, limit=limit
        )

    infos = _run(_settings(), body)
    if as_json:
        click.echo(json.dumps([i.to_dict() for i in infos], indent=2))
        return
    for info in infos:
        names = ",".join(s.source for s in info.sources)
        when = info.created_at.strftime("%Y-%m-%d %H:%M")
        click.echo(
            f"{info.id:>5}  {when}  {info.state.value:<11} {info.stored:>4} stored"
            f"  {_size(info.bytes):>9}  {info.query!r} [{names}]"  # repr: controls escaped
        )


@cli.command()
@click.argument("job_id", type=int)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export(job_id: int, directory: Path) -> None:
    """Write a job's files into DIRECTORY under safe names."""

    async def body(engine: Engine, owner: int | None) -> list[Path]:
        return await engine.export_job(job_id, owner, directory)

    from tuiapp.text import printable

    paths = _run(_settings(), body)
    for path in paths:
        click.echo(printable(str(path)))  # file names are made from remote titles
    click.echo(f"{len(paths)} files written to {directory}", err=True)


@cli.command()
@click.option(
    "--host", default=None, help="Address to listen on [default: TUIAPP_HTTP_HOST, 127.0.0.1]."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port [default: TUIAPP_HTTP_PORT, 8765]; 0 picks a free one.",
)
@click.option(
    "--worker",
    is_flag=True,
    help="Also claim and run jobs from the shared queue (see README: PostgreSQL and workers).",
)
def serve(host: str | None, port: int | None, worker: bool) -> None:
    """Run the HTTP API without the terminal app, until Ctrl-C. Prints its URL on stdout.

    With --worker the process also runs queued jobs, and on Ctrl-C hands its running jobs back to
    the queue for another worker.
    """
    import asyncio
    import signal

    from tuiapp.engine import Engine
    from tuiapp.server import start_server

    settings = _settings()
    address = host or settings.http_host
    listen_port = settings.http_port if port is None else port

    async def main() -> None:
        async with Engine(settings, worker=worker) as engine:
            try:
                server = await start_server(engine, address, listen_port)
            except OSError as exc:
                _fail(f"cannot listen on {address}:{listen_port}: {exc.strerror or exc}", 1)
                return
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            # Ctrl-C arrives as KeyboardInterrupt through asyncio.run; a service manager's
            # SIGTERM should stop as cleanly.
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signal.SIGTERM, stop.set)
            click.echo(server.url)
            role = "API and queue worker" if worker else "API"
            click.echo(f"tuiapp {role} running; Ctrl-C stops it", err=True)
            try:
                await stop.wait()
            finally:
                await server.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@cli.group()
def user() -> None:
    """Manage users (each sees only their own jobs and files)."""


@user.command("add")
@click.argument("name")
def user_add(name: str) -> None:
    """Create a user and print its API token (shown only this once)."""

    async def body(engine: Engine, owner: int | None) -> tuple[Any, str]:
        return await engine.create_user(name)

    settings = _settings()
    # Creating a user needs no acting user: ignore TUIAPP_USER here.
    from dataclasses import replace

    info, token = _run(replace(settings, user=None), body)
    click.echo(token)
    click.echo(f"user {info.name!r} created; keep the token above, it is not shown again", err=True)


@user.command("list")
def user_list() -> None:
    """List users."""
    from dataclasses import replace

    async def body(engine: Engine, owner: int | None) -> list[Any]:
        return await engine.list_users()

    for info in _run(replace(_settings(), user=None), body):
        click.echo(f"{info.id:>4}  {info.name}")


def main() -> None:
    cli(prog_name="tuiapp")
