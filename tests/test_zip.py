"""Zips over the API: a job's files and a search's, the same names, bytes, sidecars and credits
as `tuiapp export`; a download cut short leaves nothing behind."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import zipfile
from typing import TYPE_CHECKING

import pytest

from tests.serverkit import bearer, photos, run_job, serve_picsum
from tuiapp.jobs import ExportOptions, Selection

if TYPE_CHECKING:
    from pathlib import Path

    from tests.replay import ReplayServer
    from tests.serverkit import Client
    from tuiapp.engine import Engine


pytestmark = pytest.mark.usefixtures("responses_conform")


def _tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path -> sha256)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*"))


def _unzipped(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {n: hashlib.sha256(archive.read(n)).hexdigest() for n in archive.namelist()}


async def test_a_job_zip_unpacks_to_the_bytes_and_names_export_writes(
    client: Client, engine: Engine, replay: ReplayServer, tmp_path: Path
) -> None:
    files = photos(3)
    serve_picsum(replay, files)
    job = await run_job(client, {"query": "red fox", "sources": ["picsum"], "count": 3})
    resp = await client.get(f"/api/jobs/{job['id']}/files.zip?sidecar=true")
    assert resp.status == 200
    assert resp.content_type == "application/zip"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="tuiapp-job-{job["id"]}-red-fox.zip"')
    zipped = _unzipped(await resp.read())

    await engine.export(
        Selection(job_id=job["id"]), None, tmp_path / "out", ExportOptions(sidecar=True)
    )
    assert zipped == _tree(tmp_path / "out")
    stored = {hashlib.sha256(b).hexdigest() for b in files.values()}
    assert stored <= set(zipped.values())
    assert {"CREDITS.md", "credits.json"} <= set(zipped)
    assert len([n for n in zipped if n.endswith(".png")]) == 3
    assert len([n for n in zipped if n.endswith(".png.json")]) == 3


async def test_a_zip_takes_a_name_template_and_refuses_a_bad_one(
    client: Client, replay: ReplayServer
) -> None:
    serve_picsum(replay, photos(2))
    job = await run_job(client, {"query": "owls", "sources": ["picsum"], "count": 2})
    resp = await client.get(
        f"/api/jobs/{job['id']}/files.zip", params={"name": "{source}/{query}/{author}-{id}"}
    )
    assert resp.status == 200
    names = sorted(_unzipped(await resp.read()))
    files = [n for n in names if n.endswith(".png")]
    assert len(files) == 2
    assert all(n.startswith("picsum/owls/Author ") for n in files), names

    for template, word in (("{nope}", "{nope}"), ("/abs/{id}", "absolute"), ("../{id}", "..")):
        resp = await client.get(f"/api/jobs/{job['id']}/files.zip", params={"name": template})
        assert resp.status == 400
        assert word in (await resp.json())["error"]["message"]


async def test_a_zip_of_another_owners_job_is_not_found(
    client: Client, engine: Engine, replay: ReplayServer
) -> None:
    serve_picsum(replay, photos(1))
    _, token = await engine.create_user("alice")
    job = await run_job(
        client, {"query": "x", "sources": ["picsum"], "count": 1}, headers=bearer(token)
    )
    assert (await client.get(f"/api/jobs/{job['id']}/files.zip")).status == 404
    resp = await client.get(f"/api/jobs/{job['id']}/files.zip", headers=bearer(token))
    assert resp.status == 200
    assert len(_unzipped(await resp.read())) == 3  # the file and the two credits
    assert (await client.get("/api/jobs/abc/files.zip")).status == 400


async def test_a_download_cut_short_leaves_nothing_behind_and_the_server_goes_on(
    client: Client, engine: Engine, replay: ReplayServer, tmp_path: Path
) -> None:
    serve_picsum(replay, photos(3))
    job = await run_job(client, {"query": "cut", "sources": ["picsum"], "count": 3})
    before = _names(tmp_path)
    resp = await client.get(f"/api/jobs/{job['id']}/files.zip")
    assert resp.status == 200
    assert (await resp.content.read(100))[:4] == b"PK\x03\x04"
    resp.close()
    await asyncio.sleep(0.1)
    assert _names(tmp_path) == before
    resp = await client.get(f"/api/jobs/{job['id']}/files.zip")
    assert resp.status == 200
    assert len(_unzipped(await resp.read())) == 5


async def test_the_credits_in_a_zip_are_valid_json_and_markdown(
    client: Client, replay: ReplayServer
) -> None:
    serve_picsum(replay, photos(1))
    job = await run_job(client, {"query": "c", "sources": ["picsum"], "count": 1})
    data = await (await client.get(f"/api/jobs/{job['id']}/files.zip")).read()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        listing = json.loads(archive.read("credits.json"))
        markdown = archive.read("CREDITS.md").decode()
    (credit,) = listing["credits"]
    assert credit["author"] == "Author 1"
    assert credit["required"] is False  # picsum's terms ask for none
    assert markdown.startswith("# Credits")
    assert "by Author 1" in markdown


async def test_a_search_zips_what_it_finds_and_an_empty_one_is_not_found(
    client: Client, engine: Engine, replay: ReplayServer, tmp_path: Path
) -> None:
    serve_picsum(replay, photos(3))
    await run_job(client, {"query": "otters", "sources": ["picsum"], "count": 2})
    await run_job(client, {"query": "beavers", "sources": ["picsum"], "count": 1})
    resp = await client.get("/api/assets.zip", params={"text": "otters", "sidecar": "true"})
    assert resp.status == 200
    assert 'filename="tuiapp-files-otters.zip"' in resp.headers["Content-Disposition"]
    zipped = _unzipped(await resp.read())
    await engine.export(
        Selection(text="otters"), None, tmp_path / "out", ExportOptions(sidecar=True)
    )
    assert zipped == _tree(tmp_path / "out")
    assert len([n for n in zipped if n.endswith(".png")]) == 2

    resp = await client.get("/api/assets.zip", params={"text": "walrus"})
    assert resp.status == 404
    assert "nothing to zip" in (await resp.json())["error"]["message"]
    for query, problem in (
        ({"since": "last week"}, "since must be a date"),
        ({"min_width": "0"}, "min_width must be"),
        ({"kind": "poem"}, "kind must be one of"),
        ({"text": "x" * 501}, "text is limited"),
    ):
        resp = await client.get("/api/assets.zip", params=query)
        assert resp.status == 400
        assert problem in (await resp.json())["error"]["message"]


async def test_the_asset_list_takes_the_search_filters_and_documents_them(
    client: Client, replay: ReplayServer
) -> None:
    serve_picsum(replay, photos(2))
    job = await run_job(client, {"query": "kestrel", "sources": ["picsum"], "count": 2})

    async def ids(**query: str) -> list[int]:
        resp = await client.get("/api/assets", params=query)
        assert resp.status == 200, await resp.text()
        return [a["id"] for a in (await resp.json())["assets"]]

    every = await ids()
    assert len(every) == 2
    assert sorted(await ids(text="kestrel")) == every
    assert await ids(text="kestrel", min_width="65") == []
    assert await ids(text="kestrel", min_height="48", kind="image") == every
    assert await ids(since="2000-01-01") == every
    assert await ids(since="2999-01-01T00:00:00+01:00") == []
    assert await ids(job_id=str(job["id"]), source="picsum") == every
    assert await ids(similar_to=str(every[0])) == []  # generated PNGs are no near-duplicates
    assert (await client.get("/api/assets", params={"similar_to": "999"})).status == 404

    document = await (await client.get("/api/openapi.json")).json()
    params = {p["name"] for p in document["paths"]["/api/assets"]["get"]["parameters"]}
    assert {"text", "similar_to", "kind", "min_width", "min_height", "since", "source"} <= params
    zipped = document["paths"]["/api/jobs/{id}/files.zip"]["get"]
    assert "application/zip" in zipped["responses"]["200"]["content"]
    assert "/api/assets.zip" in document["paths"]
