"""Export names, sidecars and credits: templates write exactly the expected paths, every field
made safe; bad templates are refused before anything is written; a sidecar holds the API's view
of its file; CREDITS.md gives each keyed source's wording and links; `tuiapp find` and
`tuiapp export --find` as a user runs them."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from tuiapp.engine.export.naming import MAX_PART, Names, Template, safe_part
from tuiapp.errors import InvalidRequestError
from tuiapp.jobs import AssetInfo, ExportOptions, JobInfo, JobSpec, JobState, Selection
from tuiapp.server.shapes import asset_view
from tuiapp.storage import NewAsset, Storage

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from tuiapp.engine import Engine

    EngineFactory = Callable[..., Awaitable[Engine]]

WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def _asset(**facts: Any) -> AssetInfo:
    values: dict[str, Any] = {
        "id": 12,
        "job_id": 3,
        "source": "unsplash",
        "kind": "image",
        "url": "https://images.test/photo-1.jpg?w=10",
        "title": "Red Fox",
        "author": "Ann Lee",
        "width": 640,
        "height": 480,
        "metadata": {},
        "mime": "image/jpeg",
        "size": 10,
        "sha256": "abcdef0123456789" * 4,
        "owner_id": None,
        "created_at": WHEN,
    }
    values.update(facts)
    return AssetInfo(**values)


def _job(query: str = "fox den") -> JobInfo:
    return JobInfo(
        id=3,
        query=query,
        sources=(),
        count=1,
        options={},
        state=JobState.DONE,
        owner_id=None,
        created_at=WHEN,
    )


@pytest.mark.parametrize(
    ("template", "facts", "path"),
    [
        ("{title}-{id}", {}, "Red Fox-12.jpg"),
        ("{source}/{author}/{title}.{ext}", {}, "unsplash/Ann Lee/Red Fox.jpg"),
        ("{query}/{date}_{width}x{height}_{sha8}", {}, "fox den/2026-12-01_640x480_abcdef01.jpg"),
        ("{job}-{id}", {}, "3-12.jpg"),
        ("{author}/{title}", {"author": None, "width": None}, "NA/Red Fox.jpg"),
        ("{title}", {"title": "a/b\\c: d?*"}, "a-b-c- d-.jpg"),
        ("{title}", {"title": "../../etc/passwd"}, "-..-etc-passwd.jpg"),
        ("{author}/{id}", {"author": ".."}, "_/12.jpg"),
        ("{title}", {"title": "CON"}, "_CON.jpg"),
        ("{title}", {"title": "nul.txt"}, "_nul.txt.jpg"),
        (
            "{title}",
            {"title": "bell\x07 and \x1b]2;x\x07 \u202eevil"},
            "bell- and -]2;x- -evil.jpg",
        ),
        ("{title}", {"title": "  .hidden.  "}, "hidden.jpg"),
        ("{title}", {"title": None}, "photo-1.jpg"),
        ("{title}", {"title": "e\u0301te\u0301"}, "\u00e9t\u00e9.jpg"),
        ("{title}.{ext}", {"mime": "video/mp4"}, "Red Fox.mp4"),
        ("{{{id}}}", {}, "{12}.jpg"),
    ],
)
def test_a_template_renders_safe_paths(template: str, facts: dict[str, Any], path: str) -> None:
    assert Template(template).render(_asset(**facts), _job()) == path


def test_long_values_are_cut_to_what_every_file_system_takes() -> None:
    path = Template("{author}/{title}").render(_asset(author="é" * 300, title="t" * 400), _job())
    folder, name = path.split("/")
    assert len(folder.encode()) <= MAX_PART
    assert len(name.encode()) <= MAX_PART
    assert name.endswith("t.jpg")
    assert safe_part("x" * 1000, limit=20) == "x" * 20


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{nope}", "unknown field {nope}"),
        ("{title:>10}", "takes no format"),
        ("{title!r}", "takes no format"),
        ("/tmp/{id}", "absolute path"),
        ("C:/x/{id}", "absolute path"),
        ("a\\{id}", "absolute path"),
        ("../{id}", "climbs out"),
        ("a/../../{id}", "climbs out"),
        ("", "empty"),
        ("{title", "not well formed"),
    ],
)
def test_bad_templates_are_refused_with_a_sentence(template: str, message: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        Template(template)
    assert message in str(caught.value)
    if "unknown field" in message:
        assert "{source}, {query}, {title}" in str(caught.value), "the fields are listed"


def test_collisions_are_numbered_ignoring_case() -> None:
    names = Names.of(Template("{title}"))
    assert names.name(_asset(), _job()) == "Red Fox.jpg"
    assert names.name(_asset(title="red fox"), _job()) == "red fox (2).jpg"
    assert names.name(_asset(), _job()) == "Red Fox (3).jpg"
    names.reserve("CREDITS.md")
    assert names.claim("credits.md") == "credits (2).md"


# --- exports through the engine ---------------------------------------------------------------

KEYED: list[dict[str, Any]] = [
    {
        "source": "unsplash",
        "title": "Harbour",
        "author": "Ann Lee",
        "author_url": "https://unsplash.com/@ann?utm_source=tuiapp&utm_medium=referral",
        "page_url": "https://unsplash.com/photos/abc?utm_source=tuiapp&utm_medium=referral",
        "license": "Unsplash License",
    },
    {
        "source": "pexels",
        "title": "Dunes",
        "author": "Bo Chen",
        "author_url": "https://www.pexels.com/@bo",
        "page_url": "https://www.pexels.com/photo/dunes-1/",
        "license": "Pexels License",
    },
    {
        "source": "pixabay",
        "title": "Tulips",
        "author": "Cy_Ray [x](javascript:alert)",
        "author_url": "https://pixabay.com/users/cy-7/",
        "page_url": "https://pixabay.com/photos/tulips-9/",
        "license": "Pixabay Content License",
    },
    {"source": "picsum", "title": "Plain", "author": None},
]


async def _stored(storage: Storage, query: str = "coast") -> tuple[int, list[int]]:
    spec = JobSpec(query=query, sources=("unsplash", "pexels", "pixabay", "picsum"), count=4)
    job = await storage.create_job(spec, owner=None, settings={})
    ids = []
    for n, facts in enumerate(KEYED):
        sink = storage.new_sink(None)
        await sink.write(f"bytes of {facts['title']}".encode())
        asset = NewAsset(
            job_id=job.id, kind="image", url=f"https://i.test/{n}.jpg", width=10, height=20, **facts
        )
        ids.append((await sink.finish(mime="image/jpeg", asset=asset)).asset_id)
    return job.id, ids


def _tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


async def test_export_with_a_template_writes_exactly_the_expected_paths(
    engine_factory: EngineFactory, tmp_path: Path
) -> None:
    engine = await engine_factory()
    job_id, ids = await _stored(engine.storage)
    out = tmp_path / "out"
    options = ExportOptions(template="{source}/{author}/{title}-{id}", sidecar=True)
    written = (await engine.export(Selection(job_id=job_id), None, out, options)).written
    expected = [
        f"unsplash/Ann Lee/Harbour-{ids[0]}.jpg",
        f"pexels/Bo Chen/Dunes-{ids[1]}.jpg",
        f"pixabay/Cy_Ray [x](javascript-alert)/Tulips-{ids[2]}.jpg",
        f"picsum/NA/Plain-{ids[3]}.jpg",
    ]
    assert [p.relative_to(out).as_posix() for p in written] == expected
    assert _tree(out) == sorted(
        [*expected, *(p + ".json" for p in expected), "CREDITS.md", "credits.json"]
    )
    assert (out / expected[0]).read_bytes() == b"bytes of Harbour"


async def test_a_sidecar_holds_the_apis_view_of_its_file_and_the_job(
    engine_factory: EngineFactory, tmp_path: Path
) -> None:
    engine = await engine_factory()
    job_id, ids = await _stored(engine.storage, "coast at dawn")
    out = tmp_path / "out"
    options = ExportOptions(sidecar=True)
    written = (await engine.export(Selection(job_id=job_id), None, out, options)).written
    for path, asset_id in zip(written, ids, strict=True):
        side = json.loads(path.with_name(path.name + ".json").read_text())
        view = asset_view(await engine.get_asset(asset_id, None))
        for key in set(view) - {"href", "content_href"}:
            assert side[key] == view[key], key
        assert side["job"]["id"] == job_id
        assert side["job"]["query"] == "coast at dawn"
        assert side["stored_at"] == view["created_at"]
        assert {"page_url", "url", "author_url", "license", "sha256", "width", "height"} <= set(
            side
        )


async def test_credits_name_each_keyed_sources_author_with_its_wording_and_links(
    engine_factory: EngineFactory, tmp_path: Path
) -> None:
    engine = await engine_factory()
    job_id, _ = await _stored(engine.storage)
    out = tmp_path / "out"
    await engine.export(Selection(job_id=job_id), None, out, ExportOptions())
    markdown = (out / "CREDITS.md").read_text()
    assert (
        "Photo by [Ann Lee](<https://unsplash.com/@ann?utm_source=tuiapp&utm_medium=referral>)"
        " on [Unsplash](<https://unsplash.com/?utm_source=tuiapp&utm_medium=referral>)"
    ) in markdown
    assert (
        "Photo by [Bo Chen](<https://www.pexels.com/@bo>) on [Pexels](<https://www.pexels.com/>)"
    ) in markdown
    assert (
        "Image by [Cy\\_Ray \\[x\\]\\(javascript:alert\\)](<https://pixabay.com/users/cy-7/>)"
        in (markdown)
    ), "remote text cannot make links of its own"
    assert "from [Pixabay](<https://pixabay.com/>)" in markdown
    assert "Plain" not in markdown, "picsum gave no author here: nothing to credit"
    listed = json.loads((out / "credits.json").read_text())["credits"]
    assert [c["text"] for c in listed] == [
        "Photo by Ann Lee on Unsplash",
        "Photo by Bo Chen on Pexels",
        "Image by Cy_Ray [x](javascript:alert) from Pixabay",
    ]
    assert all(c["required"] for c in listed)


# --- the commands -----------------------------------------------------------------------------


async def _tuiapp(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tuiapp", *args,
        env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
async def env(tmp_path: Path) -> dict[str, str]:
    data = tmp_path / "data"
    data.mkdir()
    storage = Storage(f"sqlite://{data / 'tuiapp.db'}")
    await storage.open()
    await _stored(storage, "coast")
    await storage.close()
    (tmp_path / "no.env").write_text("")
    return {
        "TUIAPP_DATA_DIR": str(data),
        "TUIAPP_ENV_FILE": str(tmp_path / "no.env"),
        "HOME": str(tmp_path),
    }


async def test_find_lists_matches_and_exits_1_on_none(env: dict[str, str]) -> None:
    code, out, err = await _tuiapp(env, "find", "harbour")
    assert code == 0, err
    assert "Harbour" in out and "Ann Lee" in out
    assert len(out.splitlines()) == 1
    code, out, _ = await _tuiapp(env, "find", "coast", "-s", "pexels", "--json")
    assert code == 0
    assert [a["title"] for a in json.loads(out)] == ["Dunes"]
    code, out, err = await _tuiapp(env, "find", "volcano")
    assert (code, out) == (1, "")
    assert "no stored file matches" in err
    code, _, err = await _tuiapp(env, "find", "x", "--since", "yesterday")
    assert code == 2 and "not a date" in err
    code, _, err = await _tuiapp(env, "find", "x", "-s", "nope")
    assert code == 1 and "unknown source 'nope'" in err


async def test_export_find_writes_the_search_and_refuses_bad_input(
    env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, _stdout, err = await _tuiapp(
        env, "export", "--find", "coast", "--min-width", "5", "--name", "{source}/{title}", str(out)
    )
    assert code == 0, err
    assert _tree(out) == [
        "CREDITS.md",
        "credits.json",
        "pexels/Dunes.jpg",
        "picsum/Plain.jpg",
        "pixabay/Tulips.jpg",
        "unsplash/Harbour.jpg",
    ]
    assert "4 files written" in err

    empty = tmp_path / "empty"
    code, _, err = await _tuiapp(env, "export", "--find", "volcano", str(empty))
    assert code == 1 and "nothing to export" in err
    assert not empty.exists(), "an empty search writes nothing"
    for template, message in (
        ("{nope}", "unknown field {nope}"),
        ("/etc/{id}", "absolute path"),
        ("../{id}", "climbs out"),
    ):
        code, _, err = await _tuiapp(env, "export", "1", str(empty), "--name", template)
        assert code == 2, err
        assert message in err
    assert not empty.exists()
    code, _, err = await _tuiapp(env, "export", str(empty))
    assert code == 2 and "say what to export" in err
    code, _, _ = await _tuiapp(env, "export", "--source", "pexels", str(tmp_path / "px"))
    assert code == 0
    assert _tree(tmp_path / "px") == ["CREDITS.md", "credits.json", "dunes-2-10x20.jpg"]


async def test_on_postgresql_a_search_exports_and_zips_the_same_files(
    postgres_url: str, engine_factory: EngineFactory, tmp_path: Path
) -> None:
    import hashlib
    import io
    import zipfile

    engine = await engine_factory(database_url=postgres_url)
    _, ids = await _stored(engine.storage, "harbour at dawn")
    selection = Selection(text="dawn", source="pexels")
    options = ExportOptions(template="{source}/{author}-{id}", sidecar=True)
    out = tmp_path / "out"
    written = (await engine.export(selection, None, out, options)).written
    assert [p.relative_to(out).as_posix() for p in written] == [f"pexels/Bo Chen-{ids[1]}.jpg"]
    data = b"".join([piece async for piece in await engine.zip(selection, None, options)])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        zipped = {n: hashlib.sha256(archive.read(n)).hexdigest() for n in archive.namelist()}
    on_disk = {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in out.rglob("*")
        if p.is_file()
    }
    assert zipped == on_disk
    assert "Photo by [Bo Chen]" in (out / "CREDITS.md").read_text()
