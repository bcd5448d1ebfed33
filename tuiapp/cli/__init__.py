"""The `tuiapp` command: the room that builds the process, and sub-commands for scripts.

With no sub-command it starts the engine, the HTTP API on it and the terminal app, and hands the
app both (the app never builds them). Each sub-command is a thin client of the engine: it parses
arguments, calls one engine method and prints, remote text through ``printable``. Heavy modules
(asyncio included) are imported inside the commands so that `tuiapp --help` starts fast.

Exit codes: 0 success, 1 failure (nothing stored, a file-system error, no such job), 2 usage or
settings error, 3 `get` stored some files but not all it was asked for, 130 Ctrl-C.
"""

from __future__ import annotations

import click

from tuiapp.cli.common import Group, load
from tuiapp.cli.find import export, find
from tuiapp.cli.get import get
from tuiapp.cli.library import doctor, jobs, sources, user
from tuiapp.cli.serve import _start_api as _start_api  # the TUI's tests start the API with it
from tuiapp.cli.serve import run_tui, serve
from tuiapp.cli.watch import watch

__all__ = ["cli", "main"]


EXAMPLES = """\b
Examples:
  tuiapp                          the terminal app
  tuiapp get cats -n 5            five pictures of cats from the default sources
  tuiapp get cats -s picsum -d out   and write them into ./out as they come
  tuiapp jobs                     the jobs so far
  tuiapp export 3 ~/Pictures      a job's files into a folder
  tuiapp doctor                   what each source needs here
  tuiapp completion bash >> ~/.bashrc   Tab completion (bash, zsh or fish)
"""


@click.group(
    cls=Group,
    invoke_without_command=True,
    epilog=EXAMPLES,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="tuiapp")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Search many media sources at once and keep everything in a database.

    With no command, opens the full-screen terminal app (with the HTTP API inside).
    """
    if ctx.invoked_subcommand is None:
        run_tui(load())


@click.command(epilog='\b\nExample:\n  eval "$(tuiapp completion bash)"   (in ~/.bashrc)')
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the Tab-completion script of SHELL (click's own completion, for commands,
    options and sources' names)."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None  # the three choices are click's own
    click.echo(cls(cli, {}, "tuiapp", "_TUIAPP_COMPLETE").source())


for _command in (get, sources, jobs, find, export, doctor, serve, user, completion, watch):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="tuiapp")
