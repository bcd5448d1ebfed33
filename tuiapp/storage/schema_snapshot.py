# ruff: noqa: E501
"""The SQLite schema the migrations make, for new databases (see tuiapp.storage.schema).

Written by `python -m tuiapp.storage.schema`; do not edit.
"""

STATEMENTS: tuple[str, ...] = (
    'CREATE TABLE "tortoise_migrations" (\n    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,\n    "app" VARCHAR(255) NOT NULL,\n    "name" VARCHAR(255) NOT NULL,\n    "applied_at" TIMESTAMP NOT NULL,\n    CONSTRAINT "uid_tortoise_mi_app_3803a5" UNIQUE ("app", "name")\n)',
    'CREATE TABLE "user" (\n    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,\n    "name" VARCHAR(64) NOT NULL UNIQUE,\n    "token_hash" VARCHAR(64) NOT NULL UNIQUE,\n    "created_at" TIMESTAMP NOT NULL\n)',
    'CREATE TABLE "job" (\n    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,\n    "query" TEXT NOT NULL,\n    "count" INT NOT NULL,\n    "options" JSON NOT NULL,\n    "settings" JSON NOT NULL,\n    "state" VARCHAR(16) NOT NULL,\n    "error" TEXT,\n    "rerun_of" INT,\n    "runner" VARCHAR(128),\n    "created_at" TIMESTAMP NOT NULL,\n    "started_at" TIMESTAMP,\n    "finished_at" TIMESTAMP,\n    "owner_id" INT REFERENCES "user" ("id") ON DELETE CASCADE\n, "cancel_requested" INT NOT NULL, "claims" INT NOT NULL, "lease_until" TIMESTAMP, "new_only" INT, "watch_id" INT)',
    'CREATE INDEX "idx_job_state_c9e4ce" ON "job" ("state")',
    'CREATE TABLE "job_source" (\n    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,\n    "position" INT NOT NULL,\n    "source" VARCHAR(64) NOT NULL,\n    "state" VARCHAR(16) NOT NULL,\n    "found" INT NOT NULL,\n    "stored" INT NOT NULL,\n    "failed" INT NOT NULL,\n    "bytes" BIGINT NOT NULL,\n    "error" TEXT,\n    "error_code" VARCHAR(32),\n    "job_id" INT NOT NULL REFERENCES "job" ("id") ON DELETE CASCADE, "cancel_requested" INT NOT NULL, "known" INT,\n    CONSTRAINT "uid_job_source_job_id_6cf5c4" UNIQUE ("job_id", "source")\n)',
    'CREATE TABLE "media_blob" (\n    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,\n    "owner_key" INT NOT NULL,\n    "sha256" VARCHAR(64),\n    "size" BIGINT NOT NULL,\n    "mime" VARCHAR(128) NOT NULL,\n    "complete" INT NOT NULL,\n    "runner" VARCHAR(128),\n    "created_at" TIMESTAMP NOT NULL,\n    "owner_id" INT REFERENCES "user" ("id") ON DELETE CASCADE,\n    CONSTRAINT "uid_media_blob_owner_k_e5d385" UNIQUE ("owner_key", "sha256")\n)',
    'CREATE TABLE "asset" (\n    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,\n    "source" VARCHAR(64) NOT NULL,\n    "kind" VARCHAR(16) NOT NULL,\n    "url" TEXT NOT NULL,\n    "page_url" TEXT,\n    "title" TEXT,\n    "author" TEXT,\n    "author_url" TEXT,\n    "license" TEXT,\n    "width" INT,\n    "height" INT,\n    "thumbnail_url" TEXT,\n    "metadata" JSON NOT NULL,\n    "created_at" TIMESTAMP NOT NULL,\n    "blob_id" INT NOT NULL REFERENCES "media_blob" ("id") ON DELETE RESTRICT,\n    "job_id" INT NOT NULL REFERENCES "job" ("id") ON DELETE CASCADE,\n    "owner_id" INT REFERENCES "user" ("id") ON DELETE CASCADE\n, "phash" BIGINT, "q0" INT, "q1" INT, "q2" INT, "q3" INT, "duplicate_of" INT, "hashed" INT, "item_key" VARCHAR(520))',
    'CREATE INDEX "idx_asset_source_eabab2" ON "asset" ("source")',
    'CREATE TABLE "blob_chunk" (\n    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,\n    "seq" INT NOT NULL,\n    "data" BLOB NOT NULL,\n    "blob_id" INT NOT NULL REFERENCES "media_blob" ("id") ON DELETE CASCADE,\n    CONSTRAINT "uid_blob_chunk_blob_id_6f66ea" UNIQUE ("blob_id", "seq")\n)',
    'CREATE TABLE "cached_answer" (\n    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,\n    "source" VARCHAR(64) NOT NULL,\n    "key" VARCHAR(64) NOT NULL,\n    "value" TEXT NOT NULL,\n    "stored_at" TIMESTAMP NOT NULL,\n    CONSTRAINT "uid_cached_answ_source_73aa02" UNIQUE ("source", "key")\n)',
    'CREATE INDEX "idx_cached_answ_stored__179a06" ON "cached_answer" ("stored_at")',
    'CREATE INDEX "idx_asset_q0" ON "asset" ("q0")',
    'CREATE INDEX "idx_asset_q1" ON "asset" ("q1")',
    'CREATE INDEX "idx_asset_q2" ON "asset" ("q2")',
    'CREATE INDEX "idx_asset_q3" ON "asset" ("q3")',
    'CREATE INDEX "idx_asset_hashed" ON "asset" ("hashed")',
    'CREATE INDEX "idx_asset_duplicate_of" ON "asset" ("duplicate_of")',
    "CREATE VIRTUAL TABLE asset_fts USING fts5(title, author, source, query, page, license, tokenize='porter unicode61 remove_diacritics 2', prefix='2 3')",
    "CREATE TABLE search_fill (id INTEGER PRIMARY KEY, upto BIGINT NOT NULL)",
    'CREATE TABLE "thumbnail" (\n    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,\n    "mime" VARCHAR(32) NOT NULL,\n    "width" INT NOT NULL,\n    "height" INT NOT NULL,\n    "data" BLOB NOT NULL,\n    "blob_id" INT NOT NULL UNIQUE REFERENCES "media_blob" ("id") ON DELETE CASCADE\n)',
    'CREATE TABLE "web_session" (\n    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,\n    "key_hash" VARCHAR(64) NOT NULL UNIQUE,\n    "created_at" TIMESTAMP NOT NULL,\n    "expires_at" TIMESTAMP NOT NULL,\n    "user_id" INT NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE\n)',
    'CREATE INDEX "idx_web_session_expires_a50fc4" ON "web_session" ("expires_at")',
    'CREATE TABLE "watch" (\n    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,\n    "query" TEXT NOT NULL,\n    "sources" JSON NOT NULL,\n    "count" INT NOT NULL,\n    "options" JSON NOT NULL,\n    "every" INT NOT NULL,\n    "webhook" TEXT,\n    "paused" INT NOT NULL,\n    "next_run_at" TIMESTAMP NOT NULL,\n    "last_run_at" TIMESTAMP,\n    "last_job_id" INT,\n    "reported_job_id" INT,\n    "last_new" INT,\n    "last_known" INT,\n    "total_new" INT NOT NULL,\n    "runs" INT NOT NULL,\n    "failures" INT NOT NULL,\n    "last_error" TEXT,\n    "webhook_error" TEXT,\n    "created_at" TIMESTAMP NOT NULL,\n    "owner_id" INT REFERENCES "user" ("id") ON DELETE CASCADE\n)',
    'CREATE INDEX "idx_watch_due" ON "watch" ("paused", "next_run_at")',
    'CREATE INDEX "idx_asset_source_item_key" ON "asset" ("source", "item_key")',
    'CREATE INDEX "idx_job_watch_id" ON "job" ("watch_id")',
    "CREATE TRIGGER asset_fts_insert AFTER INSERT ON asset BEGIN INSERT INTO asset_fts (rowid, title, author, source, query, page, license) VALUES (new.id, new.title, new.author, new.source, (SELECT query FROM job WHERE id = new.job_id), new.page_url, new.license); END",
    "CREATE TRIGGER asset_fts_delete AFTER DELETE ON asset BEGIN DELETE FROM asset_fts WHERE rowid = old.id; END",
    'INSERT INTO "search_fill" VALUES (1,0)',
)
MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("models", "0001_initial"),
    ("models", "0002_job_queue"),
    ("models", "0003_source_cancel"),
    ("models", "0004_cached_answer"),
    ("models", "0005_similar_images"),
    ("models", "0006_library_search"),
    ("models", "0007_web"),
    ("models", "0008_watches"),
)
