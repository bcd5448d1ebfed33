"""The library's full-text index (see tuiapp/storage/search.py for how it is searched).

SQLite: an FTS5 table ``asset_fts`` (rowid = asset id) kept in step by triggers on ``asset``.
PostgreSQL: a ``tsvector`` column ``asset.words`` set by a trigger, under a GIN index.
Rows stored before this migration are indexed here when there are few of them; past
``FILL_NOW`` rows, ``search_fill.upto`` records the highest id still to index and the running
app fills the index in the background, newest first, with its progress in the log.

The SQL is written out here, not imported: a migration must keep doing what it did.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

FILL_NOW = 20_000

SQLITE = [
    "CREATE VIRTUAL TABLE asset_fts USING fts5(title, author, source, query, page, license,"
    " tokenize='porter unicode61 remove_diacritics 2', prefix='2 3')",
    "CREATE TRIGGER asset_fts_insert AFTER INSERT ON asset BEGIN"
    " INSERT INTO asset_fts (rowid, title, author, source, query, page, license)"
    " VALUES (new.id, new.title, new.author, new.source,"
    " (SELECT query FROM job WHERE id = new.job_id), new.page_url, new.license); END",
    "CREATE TRIGGER asset_fts_delete AFTER DELETE ON asset BEGIN"
    " DELETE FROM asset_fts WHERE rowid = old.id; END",
]
SQLITE_FILL = (
    "INSERT INTO asset_fts (rowid, title, author, source, query, page, license)"
    " SELECT a.id, a.title, a.author, a.source, j.query, a.page_url, a.license"
    " FROM asset a JOIN job j ON j.id = a.job_id WHERE a.id <= ?"
)

POSTGRES_WORDS = (
    "to_tsvector('english', concat_ws(' ', {a}.title, {a}.author, {a}.source, {query},"
    " regexp_replace(coalesce({a}.page_url, ''), '[^[:alnum:]]+', ' ', 'g'), {a}.license))"
)
POSTGRES = [
    "ALTER TABLE asset ADD COLUMN words tsvector",
    "CREATE INDEX idx_asset_words ON asset USING GIN (words)",
    "CREATE FUNCTION asset_words() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " NEW.words := "
    + POSTGRES_WORDS.format(a="NEW", query="(SELECT query FROM job WHERE id = NEW.job_id)")
    + "; RETURN NEW; END $$",
    "CREATE TRIGGER asset_words BEFORE INSERT ON asset FOR EACH ROW EXECUTE FUNCTION asset_words()",
]
POSTGRES_FILL = (
    "UPDATE asset a SET words = "
    + POSTGRES_WORDS.format(a="a", query="j.query")
    + " FROM job j WHERE j.id = a.job_id AND a.id <= $1"
)


async def forward(apps, editor) -> None:
    client = editor.client
    postgres = client.capabilities.dialect == "postgres"
    for sql in POSTGRES if postgres else SQLITE:
        await client.execute_script(sql)
    await client.execute_script(
        "CREATE TABLE search_fill (id INTEGER PRIMARY KEY, upto BIGINT NOT NULL)"
    )
    rows = await client.execute_query_dict(
        "SELECT count(*) AS n, coalesce(max(id), 0) AS top FROM asset"
    )
    count, top = int(rows[0]["n"]), int(rows[0]["top"])
    if 0 < count <= FILL_NOW:
        await client.execute_query(POSTGRES_FILL if postgres else SQLITE_FILL, [top])
        top = 0
    mark = "$1" if postgres else "?"
    await client.execute_query(f"INSERT INTO search_fill (id, upto) VALUES (1, {mark})", [top])


async def backward(apps, editor) -> None:
    client = editor.client
    if client.capabilities.dialect == "postgres":
        for sql in (
            "DROP TRIGGER asset_words ON asset",
            "DROP FUNCTION asset_words()",
            "ALTER TABLE asset DROP COLUMN words",
        ):
            await client.execute_script(sql)
    else:
        for sql in ("DROP TRIGGER asset_fts_insert", "DROP TRIGGER asset_fts_delete"):
            await client.execute_script(sql)
        await client.execute_script("DROP TABLE asset_fts")
    await client.execute_script("DROP TABLE search_fill")


class Migration(migrations.Migration):
    dependencies = [("models", "0005_similar_images")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
