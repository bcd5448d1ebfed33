"""The long-running commands: the bare `tuiapp` (engine, HTTP API and terminal app in one
process) and `tuiapp serve` (the HTTP API alone, optionally a queue worker)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import click

from tuiapp.cli.common import EXIT_FAILED, fail, load, run, run_loop

if TYPE_CHECKING:
    from tuiapp.config import Settings
    from tuiapp.engine import Engine
    from tuiapp.server import RunningServer

__all__ = ["run_tui", "serve"]


def run_tui(settings: Settings) -> None:
    """Build the process: the engine, the terminal app on it, and the HTTP API on the engine,
    started once the app's first screen is drawn (the app shows its address then)."""
    import asyncio
    import importlib
    import threading

    # textual-image asks the terminal which pictures it can show when it is first imported (by
    # the app's picture preview), and waits up to 0.1 s for each answer a terminal may never
    # send (tmux): asked now, in a thread, while the engine loads and starts.
    asking = threading.Thread(target=_ask_terminal, name="tuiapp-terminal", daemon=True)
    asking.start()

    async def body(engine: Engine, owner: int | None) -> None:
        server: RunningServer | None = None

        async def start_api() -> tuple[str | None, str | None]:
            nonlocal server
            # The server's libraries load in a thread: the app keeps answering keys meanwhile.
            await asyncio.to_thread(importlib.import_module, "tuiapp.server")
            server, url, error = await _start_api(
                engine, settings.http_host, settings.http_port, settings.http_allowed_hosts
            )
            return url, error

        await asyncio.to_thread(asking.join)
        from tuiapp.app import TuiApp

        try:
            app = TuiApp(engine, owner=owner, user_name=settings.user, start_api=start_api)
            await app.run_async()
        finally:
            if server is not None:
                await server.close()

    run(settings, body, schedule=True)


def _ask_terminal() -> None:
    # A failure shows when the app imports the module again, as it would have without this.
    with contextlib.suppress(Exception):
        import textual_image.renderable  # noqa: F401  # asks at import


async def _start_api(
    engine: Engine, host: str, port: int, names: tuple[str, ...] = ()
) -> tuple[RunningServer | None, str | None, str | None]:
    """Start the HTTP API beside the TUI; returns (server, url, None) or (None, None, why not).

    A port in use is not fatal: the TUI works without the API and shows why it is off.
    """
    import logging

    from tuiapp.errors import TuiappError
    from tuiapp.server import start_server

    try:
        server = await start_server(engine, host, port, hosts=names)
    except OSError as exc:
        logging.getLogger(__name__).warning("HTTP API not started", exc_info=True)
        return None, None, f"cannot listen on {host}:{port}: {exc}"
    except TuiappError as exc:  # a setting that forbids it (beyond loopback with guests)
        return None, None, str(exc)
    return server, server.url, None


@click.command()
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

    settings = load()
    address = host or settings.http_host
    listen_port = settings.http_port if port is None else port

    async def main() -> None:
        async with Engine(settings, worker=worker, schedule=True) as engine:
            try:
                server = await start_server(
                    engine, address, listen_port, hosts=settings.http_allowed_hosts
                )
            except OSError as exc:
                fail(
                    f"cannot listen on {address}:{listen_port}: {exc.strerror or exc}", EXIT_FAILED
                )
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
        run_loop(main())
