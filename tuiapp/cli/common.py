"""What every `tuiapp` sub-command shares: settings, errors as one line, running an engine.

Nothing here imports the engine at module level: `tuiapp --help` must start fast.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from tuiapp.text import LOG_NAME, human_bytes

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    from tuiapp.config import Settings
    from tuiapp.engine import Engine

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "Group",
    "fail",
    "human_bytes",
    "load",
    "run",
    "run_loop",
]

T = TypeVar("T")

EXIT_FAILED = 1
"""Something could not be done (nothing stored, a file system error, no such job)."""
EXIT_USAGE = 2
"""The command line or a setting is wrong; nothing was tried."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT), the shells' convention."""


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``tuiapp: error: message`` on stderr and exit with ``code``."""
    from tuiapp.text import printable

    # Error messages may quote remote text (a site's reply, a title): never raw to the terminal.
    click.echo(f"tuiapp: error: {printable(message)}", err=True)
    sys.exit(code)


def load(*, log: bool = True) -> Settings:
    """Load settings and send logs to ``tuiapp.log`` in the data folder (the terminal belongs to
    the TUI or the output). A data folder that cannot be made stops with a message, exit 1.

    Args:
        log: open the log file; ``False`` for commands that must work even when the data folder
            does not (``doctor`` reports it instead).
    """
    import logging.handlers

    from tuiapp.config import load_settings
    from tuiapp.text import PrintableFormatter

    settings = load_settings()
    if not log:
        return settings
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            settings.data_dir / LOG_NAME, maxBytes=5_000_000, backupCount=2, encoding="utf-8"
        )
    except OSError as exc:
        fail(
            f"cannot use the data folder {settings.data_dir}: {exc.strerror or exc}"
            " (set TUIAPP_DATA_DIR to a folder you can write)",
            EXIT_FAILED,
        )
    # Log lines quote remote URLs and errors: escaped, as on the terminal.
    handler.setFormatter(PrintableFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return settings


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to its end on asyncio's own loop.

    uvloop was tried for the headless commands and left: one loop for every front end, 2 MB less
    memory, and no clear gain. Medians of nine alternating runs on the idle 2-core VM, asyncio
    against uvloop: 2,000 x 50 KB of random bytes with near-duplicates on 1,728 against 1,588
    files/s and with them off 1,729 against 1,816, four 256 MB files 267 against 248 MB/s, and
    2,000 real photos with near-duplicates on 1,068 against 1,175 files/s.
    """
    import asyncio

    with asyncio.Runner() as runner:
        return runner.run(main)


def run(
    settings: Settings,
    body: Callable[[Engine, int | None], Awaitable[T]],
    *,
    schedule: bool = False,
) -> T:
    """Start an engine, resolve the acting user (TUIAPP_USER or guest), run ``body``, close.

    ``schedule``: the engine runs due watches (a process that stays up: the terminal app).
    """
    from tuiapp.engine import Engine

    async def main() -> T:
        async with Engine(settings, schedule=schedule) as engine:
            owner = None
            if settings.user:
                owner = (await engine.user_named(settings.user)).id
            return await body(engine, owner)

    return run_loop(main())


class Group(click.Group):
    """Turns our errors into one clear line and an exit code instead of a traceback.

    Settings errors exit 2 (nothing was tried; the message names the setting, its value and
    where it was set); other errors of ours and file-system errors exit 1; Ctrl-C exits 130
    (click's own handling would print "Aborted!" and exit 1).
    """

    def invoke(self, ctx: click.Context) -> Any:
        from tuiapp.errors import SettingsError, TuiappError

        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            fail(f"bad setting {exc}", EXIT_USAGE)
        except TuiappError as exc:
            fail(str(exc), EXIT_FAILED)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            fail(f"{where}{exc.strerror or exc}", EXIT_FAILED)
        except KeyboardInterrupt:
            click.echo("tuiapp: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
