"""`tuiapp find` and `tuiapp export`: search the library, and write a job, a search or a source's
files out with names from a template, sidecars and credits. Thin clients of the engine."""

from __future__ import annotations

import functools
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tuiapp.cli.common import EXIT_FAILED, fail, human_bytes, load, run

if TYPE_CHECKING:
    from collections.abc import Callable

    from tuiapp.engine import Engine
    from tuiapp.jobs import AssetInfo, Exported, Selection

__all__ = ["export", "find"]

KINDS = ("image", "video", "audio", "file")


def _since(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        when = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (2026-12-01) nor an ISO 8601 time"
        ) from None
    return when if when.tzinfo is not None else when.astimezone()


def _filters(command: Callable[..., Any]) -> Callable[..., Any]:
    """The search filters `find` and `export` share."""
    options = [
        click.option("-s", "--source", help="Only files of this source."),
        click.option("--kind", type=click.Choice(KINDS), help="Only files of this kind."),
        click.option("--min-width", type=click.IntRange(min=1), help="At least this wide."),
        click.option("--min-height", type=click.IntRange(min=1), help="At least this high."),
        click.option(
            "--since",
            callback=_since,
            metavar="DATE",
            help="Stored on or after DATE (2026-12-01, or an ISO 8601 time).",
        ),
        click.option("--job", "job_id", type=click.IntRange(min=1), help="Only this job's files."),
        click.option(
            "--similar",
            "similar_to",
            type=click.IntRange(min=1),
            metavar="ASSET_ID",
            help="Pictures that are near-duplicates of this one, nearest first.",
        ),
        click.option("--unique", is_flag=True, help="Leave out near-duplicates of a better copy."),
    ]
    return functools.reduce(lambda f, option: option(f), reversed(options), command)


def _selection(words: str | None, **filters: Any) -> Selection:
    from tuiapp.jobs import Selection

    return Selection(text=words or None, **filters)


async def _check_source(engine: Engine, source: str | None) -> None:
    from tuiapp.errors import InvalidRequestError

    known = [s.name for s in engine.sources()]
    if source is not None and source not in known:
        raise InvalidRequestError(f"unknown source {source!r}; known: {', '.join(known)}")


@click.command()
@click.argument("words", nargs=-1)
@_filters
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the API's asset fields).")
def find(words: tuple[str, ...], limit: int, as_json: bool, **filters: Any) -> None:
    """List stored files of every job (yours; a guest's: the guests'), best matches first.

    WORDS must all appear in the title, author, source, the job's query, the page's URL or the
    licence (any case or accents; "dog" finds "Dogs"; the last word may be the start of one).
    Exits 1 when nothing matches.
    """
    from tuiapp.text import printable

    selection = _selection(" ".join(words), **filters)

    async def body(engine: Engine, owner: int | None) -> tuple[list[AssetInfo], int]:
        await _check_source(engine, selection.source)
        found = await engine.find(owner, selection, limit=limit)
        return found, await engine.search_pending()

    found, pending = run(load(), body)
    if pending and selection.text:
        click.echo(
            f"tuiapp: the search index is still being built: files up to id {pending} are not"
            " searched by words yet (the app fills it in the background)",
            err=True,
        )
    if as_json:
        click.echo(json.dumps([a.to_dict() for a in found], indent=2))
    else:
        for a in found:
            size = f"{a.width}x{a.height}" if a.width and a.height else "-"
            title = printable(a.title or a.url)[:60]
            author = f"  by {printable(a.author)[:30]}" if a.author else ""
            click.echo(
                f"{a.id:>7}  {a.created_at:%Y-%m-%d}  {a.source:<12} {size:>11}"
                f" {human_bytes(a.size):>9}  job {a.job_id:<5} {title}{author}"
            )
    if not found:
        fail("no stored file matches", EXIT_FAILED)


@click.command()
@click.argument("target", nargs=-1, required=True, metavar="[JOB_ID] DIR")
@click.option("--find", "words", metavar="WORDS", help="The files a search finds (see `find`).")
@_filters
@click.option(
    "--name",
    "template",
    metavar="TEMPLATE",
    help="Name files by a template, e.g. '{source}/{author}/{title}-{id}.{ext}'; fields:"
    " {source} {query} {title} {author} {id} {width} {height} {ext} {date} {job} {sha8}.",
)
@click.option("--sidecar", is_flag=True, help="Write NAME.json with each file's metadata.")
@click.option("--overwrite", is_flag=True, help="Replace files of the same name in DIR.")
def export(
    target: tuple[str, ...],
    words: str | None,
    template: str | None,
    sidecar: bool,
    overwrite: bool,
    **filters: Any,
) -> None:
    """Write files into DIR under safe names (never through a symlink), with CREDITS.md.

    What: a job (`export JOB_ID DIR`), a search (`export --find WORDS [filters] DIR`), or
    everything of a source (`export --source NAME DIR`). A name already taken gets " (2)",
    " (3)"... unless --overwrite. CREDITS.md and credits.json list the attribution each
    file's source asks for. An empty selection writes nothing and exits 1.
    """
    from tuiapp.engine import check_template
    from tuiapp.errors import InvalidRequestError
    from tuiapp.jobs import ExportOptions
    from tuiapp.text import printable

    if len(target) > 2:
        fail("give at most a job id and a folder")
    directory = Path(target[-1])
    if len(target) == 2:
        if not target[0].isdigit() or int(target[0]) < 1:
            fail(f"{target[0]!r} is not a job id (a whole number)")
        if filters["job_id"] is not None:
            fail("give the job either as JOB_ID or as --job, not both")
        filters["job_id"] = int(target[0])
    selection = _selection(words, **filters)
    if selection == _selection(None, unique=selection.unique):
        fail("say what to export: a JOB_ID, --find WORDS, --source NAME or another filter")
    options = ExportOptions(template=template, sidecar=sidecar, overwrite=overwrite)
    try:
        check_template(template)
    except InvalidRequestError as exc:
        fail(str(exc))

    async def body(engine: Engine, owner: int | None) -> Exported | None:
        await _check_source(engine, selection.source)
        if selection.job_id is None and not await engine.find(owner, selection, limit=1):
            return None  # an empty search: nothing written, not even the credits
        return await engine.export(selection, owner, directory, options)

    done = run(load(), body)
    if done is None:
        fail("nothing to export: no stored file matches", EXIT_FAILED)
    for path in done.written:
        click.echo(printable(str(path)))  # file names are made from remote titles
    # "3 files written to out, 30 already there": exporting twice writes each file once.
    click.echo(f"{printable(done.summary(directory))} (credits in CREDITS.md)", err=True)
