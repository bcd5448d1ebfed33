"""Searching the library, on SQLite and PostgreSQL: words of the title, author, the job's query;
filters that combine; owners kept apart; near-duplicates of a picture; the index kept in step on
insert and delete, and filled for rows stored before it (the migration, the background fill)."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.photos import encode, picture, resized
from tuiapp.jobs import JobSpec, Selection
from tuiapp.phash import MAX_DISTANCE, fingerprint
from tuiapp.storage import NewAsset, Storage
from tuiapp.storage.database import Database

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


@pytest.fixture(params=["sqlite", "postgres"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite://{tmp_path / 'library.sqlite3'}"
    store = Storage(url)
    await store.open()
    yield store
    await store.close()


_N = iter(range(1, 1_000_000))


async def _job(storage: Storage, query: str, owner: int | None = None) -> int:
    spec = JobSpec(query=query, sources=("picsum",), count=10)
    return (await storage.create_job(spec, owner=owner, settings={})).id


async def _store(
    storage: Storage,
    job_id: int,
    owner: int | None = None,
    *,
    data: bytes | None = None,
    **facts: Any,
) -> int:
    n = next(_N)
    body = data if data is not None else f"file {n}".encode()
    values: dict[str, Any] = {"source": "picsum", "kind": "image", "url": f"https://x.test/{n}"}
    values.update(facts)
    sink = storage.new_sink(owner)
    await sink.write(body)
    stored = await sink.finish(mime="image/jpeg", asset=NewAsset(job_id=job_id, **values))
    return stored.asset_id


async def _ids(storage: Storage, owner: int | None = None, **selection: Any) -> list[int]:
    found = await storage.find_assets(
        owner, Selection(**selection), limit=100, max_distance=MAX_DISTANCE
    )
    return [a.id for a in found]


async def test_a_file_is_found_by_a_word_of_its_title_author_query_page_or_licence(
    storage: Storage,
) -> None:
    dogs = await _job(storage, "husky puppies")
    cats = await _job(storage, "tabby")
    title = await _store(storage, dogs, title="Two Dogs in the Snow", author="Ann Lee")
    author = await _store(storage, cats, title="Sleeping", author="Bertrand Okafor")
    page = await _store(storage, cats, page_url="https://example.test/photos/lighthouse-at-dusk")
    licence = await _store(storage, cats, title="Bridge", license="CC0 Public Domain")

    assert await _ids(storage, text="snow") == [title]
    assert await _ids(storage, text="dog") == [title], "a stem finds the plural"
    assert await _ids(storage, text="DOGS snow") == [title]
    assert await _ids(storage, text="okafor") == [author]
    assert await _ids(storage, text="husky") == [title], "the job's query"
    assert sorted(await _ids(storage, text="tabby")) == sorted([author, page, licence])
    assert await _ids(storage, text="lighthouse") == [page]
    assert await _ids(storage, text="public domain") == [licence]
    assert await _ids(storage, text="lightho") == [page], "the word being typed is a prefix"
    assert await _ids(storage, text="snow okafor") == [], "every word must match"
    assert await _ids(storage, text="zebra") == []
    # Punctuation and FTS syntax are words' edges, never operators.
    assert await _ids(storage, text='"snow" OR NEAR(x) -dog*:') == []
    assert await _ids(storage, text="snow!") == [title]
    cafe = await _store(storage, cats, title="Café Müller at noon")
    assert await _ids(storage, text="café") == [cafe]
    if not storage._db.sql.postgres:  # PostgreSQL folds accents only with `unaccent`
        assert await _ids(storage, text="cafe muller") == [cafe]


async def test_filters_combine_with_words(storage: Storage) -> None:
    job = await _job(storage, "red fox")
    other = await _job(storage, "red fox")
    big = await _store(storage, job, title="fox", width=4000, height=3000)
    small = await _store(storage, job, title="fox", width=640, height=480)
    video = await _store(storage, job, title="fox", kind="video", width=1920, height=1080)
    elsewhere = await _store(storage, other, title="fox", source="pexels", width=5000, height=4000)

    assert sorted(await _ids(storage, text="fox")) == sorted([big, small, video, elsewhere])
    assert sorted(await _ids(storage, text="fox", min_width=1900)) == sorted(
        [big, video, elsewhere]
    )
    assert await _ids(storage, text="fox", min_width=1900, kind="image", job_id=job) == [big]
    assert await _ids(storage, text="fox", source="pexels") == [elsewhere]
    assert await _ids(storage, min_height=1000, kind="video") == [video]
    assert await _ids(storage, text="fox", source="pexels", job_id=job) == []
    later = datetime.now(UTC) + timedelta(hours=1)
    assert await _ids(storage, text="fox", since=later) == []
    earlier = datetime.now(UTC) - timedelta(hours=1)
    assert len(await _ids(storage, since=earlier)) == 4
    # Without words: newest first; exports walk in id order from a given id.
    assert await _ids(storage, job_id=job) == [video, small, big]
    page = await storage.find_assets(None, Selection(job_id=job), limit=10, after=big)
    assert [a.id for a in page] == [small, video]


async def test_a_guest_never_finds_a_users_file_nor_a_user_anothers(storage: Storage) -> None:
    alice, _ = await storage.create_user("alice")
    bob, _ = await storage.create_user("bob")
    mine = await _store(storage, await _job(storage, "secret", alice.id), alice.id, title="moon")
    guests = await _store(storage, await _job(storage, "moon"), None, title="moon")
    bobs = await _store(storage, await _job(storage, "moon", bob.id), bob.id, title="moon")

    assert await _ids(storage, None, text="moon") == [guests]
    assert await _ids(storage, None, text="secret") == []
    assert await _ids(storage, alice.id, text="moon") == [mine]
    assert await _ids(storage, bob.id, text="moon") == [bobs]
    assert await _ids(storage, None) == [guests]


async def test_similar_finds_the_resized_copy_and_not_the_unrelated_picture(
    storage: Storage,
) -> None:
    job = await _job(storage, "harbour")
    big_data = encode(picture(3))
    small_data = encode(resized(picture(3), 400, 300), quality=60)
    other_data = encode(picture(4))
    ids = {}
    for name, data in (("big", big_data), ("small", small_data), ("other", other_data)):
        ids[name] = await _store(storage, job, data=data, title=name)
        await storage.set_fingerprint(ids[name], None, fingerprint(data))
    flat = await _store(storage, job, title="no picture")

    assert await _ids(storage, similar_to=ids["big"]) == [ids["small"]]
    assert await _ids(storage, similar_to=ids["small"]) == [ids["big"]]
    assert await _ids(storage, similar_to=ids["other"]) == []
    assert await _ids(storage, similar_to=flat) == []
    assert await _ids(storage, similar_to=ids["big"], text="small") == [ids["small"]]
    assert await _ids(storage, similar_to=ids["big"], text="other") == []
    from tuiapp.errors import NotFoundError

    alice, _ = await storage.create_user("alice")
    with pytest.raises(NotFoundError):
        await _ids(storage, alice.id, similar_to=ids["big"])


async def test_deleted_files_and_jobs_leave_the_index(storage: Storage) -> None:
    job = await _job(storage, "lanterns")
    first = await _store(storage, job, title="paper lantern")
    second = await _store(storage, job, title="paper lantern")
    await storage.delete_asset(first, None)
    assert await _ids(storage, text="lantern") == [second]
    await storage.delete_job(job, None)
    assert await _ids(storage, text="lantern") == []
    assert await _ids(storage, text="paper") == []
    again = await _store(storage, await _job(storage, "lanterns"), title="paper lantern")
    assert await _ids(storage, text="lantern") == [again]


async def test_rows_stored_before_the_index_are_filled_in_the_background(
    storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    """The migration leaves a large database's older rows to the background fill (recorded
    as ``search_fill.upto``); here the rows are taken out of the index to stand for them."""
    job = await _job(storage, "meadow")
    ids = [await _store(storage, job, title=f"flower {i}") for i in range(7)]
    db: Database = storage._db  # the test reaches below the facade to make an old database
    conn = db.conn()
    if db.sql.postgres:
        await conn.execute_query("UPDATE asset SET words = NULL")
    else:
        await conn.execute_query("DELETE FROM asset_fts")
    # A new SQLite file is made from a schema snapshot, whose search_fill has no row (nothing
    # pending); the migration of an old database writes one.
    await db.sql.run(
        conn,
        "INSERT INTO search_fill (id, upto) VALUES (1, ?)"
        " ON CONFLICT (id) DO UPDATE SET upto = excluded.upto",
        [max(ids)],
    )
    assert await _ids(storage, text="flower") == []
    newer = await _store(storage, job, title="flower new")
    assert await _ids(storage, text="flower") == [newer], "new rows are indexed at once"

    assert await storage.search_pending() == max(ids)
    with caplog.at_level(logging.INFO, logger="tuiapp.storage"):
        assert await storage._search.fill(batch=3, pause=0) == max(ids)
    assert sorted(await _ids(storage, text="flower")) == sorted([*ids, newer])
    assert any("search index: 7 of 7" in r.getMessage() for r in caplog.records)
    assert await storage.fill_search() == 0, "a finished fill does nothing"
    assert await storage.search_pending() == 0


async def test_the_migration_indexes_a_database_made_before_it(tmp_path: Path) -> None:
    from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

    url = f"sqlite://{tmp_path / 'old.sqlite3'}"
    old = Database(url)
    old._migrate = lambda: MigrationExecutor(  # type: ignore[method-assign]
        old.conn(), {"models": old.config["apps"]["models"]}
    ).migrate([MigrationTarget(app_label="models", name="0005_similar_images")])
    await old.open()
    conn, at = old.conn(), datetime.now(UTC)
    await conn.execute_query(
        "INSERT INTO job (query, count, options, settings, state, claims, cancel_requested,"
        " created_at) VALUES ('old harbour', 2, '{}', '{}', 'done', 0, 0, ?)",
        [at],
    )
    data = b"old bytes"
    await conn.execute_query(
        "INSERT INTO media_blob (id, owner_key, sha256, size, mime, complete, created_at)"
        " VALUES (1, 0, ?, ?, 'image/jpeg', 1, ?)",
        [hashlib.sha256(data).hexdigest(), len(data), at],
    )
    await conn.execute_query("INSERT INTO blob_chunk (blob_id, seq, data) VALUES (1, 0, ?)", [data])
    await conn.execute_query(
        "INSERT INTO asset (id, job_id, blob_id, source, kind, url, title, metadata, created_at)"
        " VALUES (1, 1, 1, 'picsum', 'image', 'u', 'Boats at Dawn', '{}', ?)",
        [at],
    )
    await old.close()

    storage = Storage(url)
    await storage.open()
    try:
        assert await _ids(storage, text="boats") == [1]
        assert await _ids(storage, text="harbour") == [1]
        assert await storage.fill_search() == 0, "a small database is indexed by the migration"
    finally:
        await storage.close()


# --- the terminal app's Library screen ----------------------------------------------------------


def test_the_search_box_reads_words_and_filters() -> None:
    from tuiapp.screens.library import parse_search

    selection, problems = parse_search(
        "red fox source:pexels kind:VIDEO min:1920x1080 since:2026-12-01 job:4 min:x kind:poem"
    )
    assert selection == Selection(
        text="red fox",
        source="pexels",
        kind="video",
        min_width=1920,
        min_height=1080,
        since=datetime(2026, 12, 1, tzinfo=UTC),
        job_id=4,
    )
    assert problems == ["min:x", "kind:poem"]
    assert parse_search("") == (Selection(), [])
    assert parse_search("min:640")[0] == Selection(min_width=640)


def _shown(widget: Any) -> str:
    from textual.geometry import Region

    width, height = widget.size
    return "\n".join(s.text for s in widget.render_lines(Region(0, 0, width, height)))


async def test_f5_searches_the_library_live_previews_and_opens_a_file(tmp_path: Path) -> None:
    from textual.widgets import DataTable, Input, Static

    from tests.images import png
    from tests.tui_helpers import fake_engine, make_app, wait_until
    from tuiapp.screens import AssetViewScreen, LibraryScreen

    engine = fake_engine(tmp_path)
    engine.add_job("pets", ("picsum",), announce=False)
    engine.store(1, "picsum", png(40, 30, seed=1), title="Cat on a sofa", author="Ann")
    engine.store(1, "picsum", png(40, 30, seed=2), title="Dog in the snow", author="Bo")
    engine.store(1, "picsum", png(40, 30, seed=3), title="Cat \x1b[31m[b]red[/b]", author="Cy")
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, LibraryScreen), what="library")
        screen = app.screen
        assert isinstance(screen, LibraryScreen)
        table = screen.query_one("#library-results", DataTable)
        await wait_until(pilot, lambda: table.row_count == 3, what="every file")
        await pilot.press(*"cat")
        await wait_until(pilot, lambda: table.row_count == 2, what="the cats")
        assert screen.query_one("#library-search", Input).value == "cat"
        status = str(screen.query_one("#library-status", Static).render())
        assert "2 files found" in status
        titles = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert "Cat \\x1b[31m[b]red[/b]" in titles, "remote text shown as itself, escaped"
        info = screen.query_one("#library-info", Static)
        await wait_until(pilot, lambda: "Cy" in _shown(info), what="the first file's facts")
        await pilot.press("tab")  # to the results
        await pilot.press("down")
        await wait_until(pilot, lambda: "Ann" in _shown(info), what="the next file's facts")
        await pilot.press("slash")
        await pilot.press("backspace", "backspace", "backspace", *"zebra")
        await wait_until(pilot, lambda: table.row_count == 0, what="nothing")
        assert "Nothing matches" in str(screen.query_one("#library-status", Static).render())
        for _ in range(5):
            await pilot.press("backspace")
        await pilot.press(*"dog", "enter")
        await wait_until(pilot, lambda: table.row_count == 1 and table.has_focus, what="dog")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, AssetViewScreen), what="file")
        viewer = app.screen
        assert isinstance(viewer, AssetViewScreen)
        assert viewer.asset_ids == [2]


async def test_the_library_exports_what_the_search_found(tmp_path: Path) -> None:
    from textual.widgets import Checkbox, DataTable, Input

    from tests.images import png
    from tests.tui_helpers import fake_engine, make_app, wait_until
    from tuiapp.screens import ExportModal, LibraryScreen

    engine = fake_engine(tmp_path)
    engine.add_job("pets", ("picsum",), announce=False)
    engine.store(1, "picsum", png(40, 30, seed=1), title="Cat one")
    engine.store(1, "picsum", png(40, 30, seed=2), title="Dog")
    engine.store(1, "picsum", png(40, 30, seed=3), title="Cat two")
    app = make_app(engine)
    target = tmp_path / "cats"
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, LibraryScreen), what="library")
        table = app.screen.query_one("#library-results", DataTable)
        await pilot.press(*"cat", "enter")
        await wait_until(pilot, lambda: table.row_count == 2 and table.has_focus, what="cats")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportModal), what="dialog")
        dialog = app.screen
        dialog.query_one("#sidecar", Checkbox).value = True
        dialog.query_one(Input).value = str(target)
        dialog.query_one(Input).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: target.exists() and len(list(target.iterdir())) == 2)
        (call,) = [c for c in engine.calls if c[0] == "export_search"]
        _, selection, directory, options = call
        assert (selection.text, directory, options.sidecar) == ("cat", target, True)


async def test_f5_reaches_the_library_from_the_board_whose_footer_leaves_it_out(
    tmp_path: Path,
) -> None:
    from textual.widgets._footer import FooterKey

    from tests.tui_helpers import fake_engine, make_app, wait_until
    from tuiapp.screens import BoardScreen, LibraryScreen

    engine = fake_engine(tmp_path)
    engine.add_job("pets", ("picsum",), announce=False)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        app.follow_job(1)
        await wait_until(pilot, lambda: isinstance(app.screen, BoardScreen), what="board")
        await pilot.pause(0.2)
        assert not any(k.description == "Library" for k in app.screen.query(FooterKey))
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, LibraryScreen), what="library")
        await pilot.press("f4")
        await pilot.pause(0.2)
        assert any(k.description == "Library" for k in app.screen.query(FooterKey))
