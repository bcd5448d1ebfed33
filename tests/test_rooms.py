"""The engine's rooms on their own: a SourceRun with a scripted source, transfer and export.

No Engine here: a SourceRun is built from storage, fetcher, settings and a ``publish`` list.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

import pytest

from tests.images import png
from tests.replay import Reply
from tuiapp.engine.export import export_job, export_name
from tuiapp.engine.runner import JobRun, Runtime
from tuiapp.engine.transfer import transfer
from tuiapp.errors import (
    ContentRejectedError,
    InvalidRequestError,
    StalledError,
    TooLargeError,
    UnreachableError,
    error_cause,
    error_label,
)
from tuiapp.events import AssetStored, Event, ItemFailed, SourceFinished
from tuiapp.fetch import Fetcher
from tuiapp.jobs import AssetInfo, JobSpec, SourceState
from tuiapp.sources.base import DownloadedFile, Found, TransferContext
from tuiapp.storage import Storage

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    from tests.conftest import MakeSettings
    from tests.fake_sources import Script
    from tests.replay import ReplayServer
    from tuiapp.config import Settings


class ListSink:
    def __init__(self) -> None:
        self.pieces: list[bytes] = []

    async def write(self, data: bytes) -> None:
        self.pieces.append(data)


def _never() -> bool:
    return False


@pytest.fixture
async def runtime(make_settings: MakeSettings) -> AsyncIterator[tuple[Runtime, list[Event]]]:
    settings = make_settings()
    storage = Storage(settings.database_url)
    await storage.open()
    fetcher = Fetcher(settings)
    await fetcher.start()
    events: list[Event] = []
    yield (
        Runtime(
            settings=settings,
            storage=storage,
            fetcher=fetcher,
            publish=events.append,
            source_slots=asyncio.Semaphore(2),
        ),
        events,
    )
    await fetcher.close()
    await storage.close()


async def _job_run(runtime: Runtime, spec: JobSpec) -> JobRun:
    info = await runtime.storage.create_job(spec, owner=None, settings={})
    return JobRun(runtime, info, None)


async def test_a_source_run_stores_what_its_source_finds_and_counts_failures(
    runtime: tuple[Runtime, list[Event]],
    scripted: Callable[..., Script],
    replay: ReplayServer,
) -> None:
    the_runtime, events = runtime
    replay.add("/a.png", Reply(png(seed=1), content_type="image/png"))
    replay.add("/b.png", Reply(png(seed=2), content_type="image/png"))
    replay.add("/page.html", Reply(b"<html>no</html>", content_type="text/html"))
    scripted("fake_a", urls=[replay.url("/a.png"), replay.url("/page.html"), replay.url("/b.png")])
    spec = JobSpec(query="cats", sources=("fake_a",), count=2)
    run = await _job_run(the_runtime, spec)
    src = run.sources["fake_a"]

    await src.run(spec, url_input=False)

    assert (src.state, src.stored, src.failed, src.found) == (SourceState.DONE, 2, 1, 3)
    stored = [e for e in events if isinstance(e, AssetStored)]
    assert sorted(e.url for e in stored) == [replay.url("/a.png"), replay.url("/b.png")]
    assert src.bytes == sum(e.size for e in stored)
    failed = [e for e in events if isinstance(e, ItemFailed)]
    assert [e.url for e in failed] == [replay.url("/page.html")]
    assert isinstance(events[-1], SourceFinished) and events[-1].stored == 2
    assets = await the_runtime.storage.list_assets(None, job_id=run.id)
    assert len(assets) == 2
    saved = await the_runtime.storage.get_job(run.id, None)
    assert saved.sources[0].stored == 2 and saved.sources[0].state is SourceState.DONE


async def test_a_save_begun_before_the_source_ended_never_lands_after_its_last_save(
    runtime: tuple[Runtime, list[Event]],
    scripted: Callable[..., Script],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker's heartbeat saves a source's counters while the source ends and saves its last
    ones; on PostgreSQL the two writes may take two connections. The database must end with
    the last state and counters, not the heartbeat's."""
    the_runtime, _ = runtime
    scripted("fake_a", urls=[])
    spec = JobSpec(query="cats", sources=("fake_a",), count=3)
    run = await _job_run(the_runtime, spec)
    src = run.sources["fake_a"]
    storage = the_runtime.storage
    write = storage.update_job_source
    writing, go_on = asyncio.Event(), asyncio.Event()
    calls = 0

    async def first_write_slow(*args: Any, **values: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:  # the heartbeat's write: its values taken, its commit late
            writing.set()
            await go_on.wait()
        await write(*args, **values)

    monkeypatch.setattr(storage, "update_job_source", first_write_slow)
    src.state, src.stored = SourceState.DOWNLOADING, 2
    heartbeat = asyncio.create_task(src.save())
    await asyncio.wait_for(writing.wait(), 5)
    src.state, src.stored = SourceState.DONE, 3
    last = asyncio.create_task(src.save())
    await asyncio.sleep(0.1)  # the last save's turn, had it not to wait
    go_on.set()
    await asyncio.wait_for(asyncio.gather(heartbeat, last), 5)

    saved = await storage.get_job(run.id, None)
    assert (saved.sources[0].state, saved.sources[0].stored) == (SourceState.DONE, 3)
    assert calls == 2


async def test_a_source_run_whose_every_file_fails_ends_failed_saying_so(
    runtime: tuple[Runtime, list[Event]],
    scripted: Callable[..., Script],
    replay: ReplayServer,
) -> None:
    the_runtime, _ = runtime
    replay.add("/page.html", Reply(b"<html>no</html>", content_type="text/html"))
    scripted("fake_a", urls=[replay.url("/page.html")])
    spec = JobSpec(query="cats", sources=("fake_a",), count=1)
    run = await _job_run(the_runtime, spec)
    src = run.sources["fake_a"]

    await src.run(spec, url_input=False)

    assert src.state is SourceState.FAILED
    assert "none of the 1 files found could be stored" in str(src.error)


async def test_a_source_that_takes_no_urls_refuses_a_url_without_searching(
    runtime: tuple[Runtime, list[Event]],
    scripted: Callable[..., Script],
) -> None:
    the_runtime, _ = runtime
    script = scripted("fake_a", urls=["http://127.0.0.1:9/x.png"])
    spec = JobSpec(query="https://example.org/x", sources=("fake_a",), count=1)
    run = await _job_run(the_runtime, spec)
    src = run.sources["fake_a"]

    await src.run(spec, url_input=True)

    assert src.state is SourceState.FAILED and "does not take URLs" in str(src.error)
    assert script.calls == 0


def _own(
    write: Callable[[TransferContext], DownloadedFile] | None = None,
    *,
    hang: bool = False,
    expect: str = "image",
) -> Found:
    async def download(ctx: TransferContext) -> DownloadedFile:
        if hang:
            for _ in range(1000):  # polls as a downloader's thread would, for 10 s at most
                if ctx.cancelled():
                    break
                await asyncio.sleep(0.01)
            raise asyncio.CancelledError
        assert write is not None
        ctx.report(downloaded=10, total=10)
        return write(ctx)

    return Found(url="http://127.0.0.1:9/v", expect=expect, download=download)  # type: ignore[arg-type]


def _file(tmp_path: Path, data: bytes, mime: str = "image/png") -> Callable[..., DownloadedFile]:
    def write(ctx: TransferContext) -> DownloadedFile:
        path = ctx.scratch_dir / "out.bin"
        path.write_bytes(data)
        return DownloadedFile(path=path, mime=mime, metadata={"k": "v"})

    return write


async def test_transfer_moves_a_downloaders_file_into_the_sink_and_removes_it(
    tmp_path: Path, make_settings: MakeSettings
) -> None:
    data = png(seed=3)
    sink = ListSink()
    seen: list[tuple[int, int | None]] = []
    async with _fetcher(make_settings()) as fetcher:
        moved = await transfer(
            _own(_file(tmp_path, data)),
            sink,
            fetcher=fetcher,
            scratch=tmp_path / "s",
            max_size=1 << 20,
            stall_timeout=5,
            progress=lambda done, total, **_: seen.append((done, total)),
            cancelled=_never,
        )
    assert b"".join(sink.pieces) == data
    assert (moved.mime, moved.metadata) == ("image/png", {"k": "v"})
    assert seen == [(10, 10)]
    assert not (tmp_path / "s" / "out.bin").exists()


@pytest.mark.parametrize(
    ("data", "max_size", "error"),
    [
        (png(seed=4), 100, TooLargeError),
        (b"<html>not an image</html>" * 4, 1 << 20, ContentRejectedError),
    ],
)
async def test_transfer_refuses_a_file_too_large_or_of_the_wrong_kind(
    tmp_path: Path, make_settings: MakeSettings, data: bytes, max_size: int, error: type[Exception]
) -> None:
    sink = ListSink()
    async with _fetcher(make_settings()) as fetcher:
        with pytest.raises(error):
            await transfer(
                _own(_file(tmp_path, data, "text/html")),
                sink,
                fetcher=fetcher,
                scratch=tmp_path / "s",
                max_size=max_size,
                stall_timeout=5,
                progress=lambda done, total, **_: None,
                cancelled=_never,
            )
    assert sink.pieces == []
    assert not (tmp_path / "s" / "out.bin").exists()


async def test_transfer_abandons_a_downloader_that_shows_no_sign_of_life(
    tmp_path: Path, make_settings: MakeSettings
) -> None:
    async with _fetcher(make_settings()) as fetcher:
        with pytest.raises(StalledError, match="no progress"):
            await transfer(
                _own(hang=True),
                ListSink(),
                fetcher=fetcher,
                scratch=tmp_path / "s",
                max_size=1 << 20,
                stall_timeout=0.2,
                progress=lambda done, total, **_: None,
                cancelled=_never,
            )


async def test_transfer_over_http_sniffs_the_bytes(
    tmp_path: Path, make_settings: MakeSettings, replay: ReplayServer
) -> None:
    data = png(seed=5)
    replay.add("/x", Reply(data, content_type="application/octet-stream"))
    sink = ListSink()
    async with _fetcher(make_settings()) as fetcher:
        moved = await transfer(
            Found(url=replay.url("/x")),
            sink,
            fetcher=fetcher,
            scratch=tmp_path / "s",
            max_size=1 << 20,
            stall_timeout=5,
            progress=lambda done, total, **_: None,
            cancelled=_never,
        )
    assert moved.mime == "image/png" and b"".join(sink.pieces) == data


class _fetcher:
    def __init__(self, settings: Settings) -> None:
        self.fetcher = Fetcher(settings)

    async def __aenter__(self) -> Fetcher:
        await self.fetcher.start()
        return self.fetcher

    async def __aexit__(self, *exc: Any) -> None:
        await self.fetcher.close()


async def _stored_job(runtime: Runtime, *blobs: bytes) -> int:
    spec = JobSpec(query="x", sources=("picsum",), count=len(blobs))
    info = await runtime.storage.create_job(spec, owner=None, settings={})
    from tuiapp.storage import NewAsset

    for i, data in enumerate(blobs):
        sink = runtime.storage.new_sink(None)
        await sink.write(data)
        await sink.finish(
            mime="image/png",
            asset=NewAsset(
                job_id=info.id,
                source="picsum",
                kind="image",
                url=f"http://127.0.0.1:9/{i}.png",
                page_url=None,
                title=f"pic {i}",
                author=None,
                author_url=None,
                license=None,
                width=None,
                height=None,
                thumbnail_url=None,
                metadata={},
            ),
        )
    return info.id


async def test_export_never_writes_through_a_symlink_planted_at_a_file_name(
    runtime: tuple[Runtime, list[Event]], tmp_path: Path
) -> None:
    the_runtime, _ = runtime
    data = png(seed=6)
    job_id = await _stored_job(the_runtime, data)
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / "pic-0-1.png").symlink_to(victim)

    written = (await export_job(the_runtime.storage, job_id, None, out)).written

    assert victim.read_text() == "keep me"
    assert written == [out / "pic-0-1 (2).png"]
    assert written[0].read_bytes() == data
    assert sorted(p.name for p in out.iterdir()) == sorted(  # no temporary file left
        ["pic-0-1.png", "pic-0-1 (2).png", "CREDITS.md", "credits.json"]
    )


async def test_exporting_twice_keeps_the_first_files_and_numbers_the_new_ones(
    runtime: tuple[Runtime, list[Event]], tmp_path: Path
) -> None:
    the_runtime, _ = runtime
    job_id = await _stored_job(the_runtime, png(seed=10))
    out = tmp_path / "out"
    first = (await export_job(the_runtime.storage, job_id, None, out)).written
    first[0].write_bytes(b"edited by the user")
    second = (await export_job(the_runtime.storage, job_id, None, out)).written
    assert first[0].read_bytes() == b"edited by the user"
    assert second[0].name.endswith(" (2).png") and second[0].read_bytes() == png(seed=10)


async def test_exporting_twice_leaves_each_file_once_and_counts_those_already_there(
    runtime: tuple[Runtime, list[Event]], tmp_path: Path
) -> None:
    the_runtime, _ = runtime
    job_id = await _stored_job(the_runtime, png(seed=11))
    out = tmp_path / "out"
    first = await export_job(the_runtime.storage, job_id, None, out)
    assert len(first.written) == 1 and first.already == []
    assert first.summary(out) == f"1 file written to {out}"
    second = await export_job(the_runtime.storage, job_id, None, out)
    assert second.written == [] and second.already == first.written
    assert second.summary(out) == f"0 files written to {out}, 1 already there"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [first.written[0].name, "CREDITS.md", "credits.json"]  # the credits once too
    )
    # A same-bytes copy under a numbered name counts too; a symlink to one never does.
    first.written[0].rename(out / "pic-0-1 (2).png")
    (out / "pic-0-1.png").symlink_to(out / "pic-0-1 (2).png")
    third = await export_job(the_runtime.storage, job_id, None, out)
    assert third.written == [] and third.already == [out / "pic-0-1 (2).png"]


async def test_export_overwrites_only_when_asked_and_then_replaces_the_link_not_its_target(
    runtime: tuple[Runtime, list[Event]], tmp_path: Path
) -> None:
    the_runtime, _ = runtime
    data = png(seed=7)
    job_id = await _stored_job(the_runtime, data)
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    name = out / "pic-0-1.png"
    name.symlink_to(victim)

    written = (await export_job(the_runtime.storage, job_id, None, out, overwrite=True)).written

    assert written == [name]
    assert not name.is_symlink() and name.read_bytes() == data
    assert victim.read_text() == "keep me"
    assert os.stat(name).st_mode & 0o777 == 0o666 & ~_umask()


async def test_export_ignores_a_symlink_planted_where_a_temporary_file_used_to_go(
    runtime: tuple[Runtime, list[Event]], tmp_path: Path
) -> None:
    the_runtime, _ = runtime
    data = png(seed=9)
    job_id = await _stored_job(the_runtime, data)
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    name = "pic-0-1.png"
    (out / f".{name}.part").symlink_to(victim)

    await export_job(the_runtime.storage, job_id, None, out)

    assert victim.read_text() == "keep me"
    assert (out / name).read_bytes() == data


async def test_export_into_a_folder_that_cannot_be_made_is_a_clear_error(
    runtime: tuple[Runtime, list[Event]], tmp_path: Path
) -> None:
    the_runtime, _ = runtime
    job_id = await _stored_job(the_runtime, png(seed=8))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InvalidRequestError, match="cannot make the folder"):
        await export_job(the_runtime.storage, job_id, None, blocker / "sub")


def _asset(title: str | None, url: str, size: tuple[int, int] | None, mime: str) -> AssetInfo:
    from datetime import UTC, datetime

    width, height = size or (None, None)
    return AssetInfo(
        id=12, job_id=5, source="s", url=url, page_url=None, title=title, author=None,
        author_url=None, license=None, width=width, height=height, thumbnail_url=None,
        kind="image", metadata={}, mime=mime, size=1, sha256="0", owner_id=None,
        created_at=datetime.now(UTC),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("title", "url", "size", "mime", "name"),
    [
        (
            "dogs (640x480, #e74c3c)",
            "https://p.test/640x480/png",
            (640, 480),
            "image/png",
            "dogs-12-640x480.png",
        ),
        (None, "https://i.test/a/800.jpg?w=1#x", None, "image/jpeg", "800-12.jpg"),
        (
            "Picsum photo 7\x1b]2;pwned\x07",
            "u",
            (10, 20),
            "image/jpeg",
            "picsum-photo-7-2-pwned-12-10x20.jpg",
        ),
        ("../../etc/passwd", "u", None, "image/png", "etc-passwd-12.png"),
        ("Fjällräven  café_été", "u", None, "video/mp4", "fjällräven-café-été-12.mp4"),
        ("...", "https://x.test/", None, "application/x-nope", "file-12.bin"),
        ("Sunset (Hawaii)", "u", (1, 2), "image/png", "sunset-hawaii-12-1x2.png"),
        ("a" * 200, "u", None, "image/png", "a" * 60 + "-12.png"),
        ("pic.jpg", "u", (800, 600), "image/jpeg", "pic-12-800x600.jpg"),
        ("Holiday.PNG", "u", None, "image/png", "holiday-12.png"),
        ("v1.2 release", "u", None, "image/png", "v1.2-release-12.png"),
    ],
)
def test_export_names_read_like_title_id_and_size_and_stay_safe(
    title: str | None, url: str, size: tuple[int, int] | None, mime: str, name: str
) -> None:
    assert export_name(_asset(title, url, size, mime)) == name


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class _DeadHosts:
    """A fetcher for which some hosts cannot be reached and other files are refused."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def download(self, url: str, **_: Any) -> Any:
        self.calls.append(url)
        await asyncio.sleep(0)
        if "dead" in url:
            raise UnreachableError("dead.invalid", "name not resolved")
        raise ContentRejectedError(f"expected image from {url}, got an HTML page")


async def test_a_source_whose_host_cannot_be_reached_goes_offline_after_three_tries(
    runtime: tuple[Runtime, list[Event]], scripted: Callable[..., Script]
) -> None:
    the_runtime, _ = runtime
    dead = _DeadHosts()
    the_runtime.fetcher = dead  # type: ignore[assignment]
    scripted("fake_a", urls=[f"http://dead.invalid/{i}.png" for i in range(100)])
    spec = JobSpec(query="cats", sources=("fake_a",), count=5)
    run = await _job_run(the_runtime, spec)
    src = run.sources["fake_a"]

    await src.run(spec, url_input=False)

    assert src.state is SourceState.FAILED
    assert src.error is not None and src.error.code == "offline"
    assert str(src.error) == "cannot reach dead.invalid (name not resolved)"
    # Three in a row are enough; at most the downloads already under way add to them.
    assert 3 <= len(dead.calls) <= 3 + the_runtime.settings.downloads_per_source


async def test_a_source_gives_up_after_its_count_plus_ten_failed_files(
    runtime: tuple[Runtime, list[Event]], scripted: Callable[..., Script]
) -> None:
    the_runtime, _ = runtime
    refused = _DeadHosts()
    the_runtime.fetcher = refused  # type: ignore[assignment]
    scripted("fake_a", urls=[f"http://127.0.0.1:9/{i}.png" for i in range(500)])
    spec = JobSpec(query="cats", sources=("fake_a",), count=2)
    run = await _job_run(the_runtime, spec)
    src = run.sources["fake_a"]

    await src.run(spec, url_input=False)

    assert src.state is SourceState.FAILED
    assert str(src.error).startswith("gave up after 12 files failed")
    assert 12 <= len(refused.calls) <= 12 + the_runtime.settings.downloads_per_source


@pytest.mark.parametrize(
    ("code", "state", "label"),
    [
        ("offline", "failed", "offline"),
        ("network", "failed", "offline"),
        ("missing_key", "failed", "no key"),
        ("rate_limited", "failed", "rate limited"),
        ("format_changed", "failed", "format changed"),
        ("blocked", "blocked", "blocked"),
        ("content_rejected", "failed", "refused"),
        ("source_error", "timed_out", "timed out"),
        ("private", "failed", "not found"),
        ("source_error", "failed", "failed"),
        (None, "failed", "failed"),
    ],
)
def test_every_error_code_has_a_short_label(code: str | None, state: str, label: str) -> None:
    assert error_label(code, state) == label


def test_an_error_cause_is_its_first_non_empty_line() -> None:
    assert error_cause("\n  query 'kittens' page 1: Unable to extract\nTraceback...\n") == (
        "query 'kittens' page 1: Unable to extract"
    )
    assert error_cause(None) == ""


async def test_an_image_over_max_image_size_is_refused_while_the_file_limit_is_higher(
    make_settings: MakeSettings,
    scripted: Callable[..., Script],
    replay: ReplayServer,
) -> None:
    settings = make_settings(max_image_size=2_000, max_file_size=10_000_000)
    storage = Storage(settings.database_url)
    await storage.open()
    fetcher = Fetcher(settings)
    await fetcher.start()
    events: list[Event] = []
    the_runtime = Runtime(
        settings=settings,
        storage=storage,
        fetcher=fetcher,
        publish=events.append,
        source_slots=asyncio.Semaphore(1),
    )
    try:
        big = png(200, 200, seed=11)
        assert len(big) > 2_000
        replay.add("/big.png", Reply(big, content_type="image/png"))
        scripted("fake_a", urls=[replay.url("/big.png")])
        spec = JobSpec(query="cats", sources=("fake_a",), count=1)
        run = await _job_run(the_runtime, spec)
        await run.sources["fake_a"].run(spec, url_input=False)
    finally:
        await fetcher.close()
        await storage.close()
    failed = [e for e in events if isinstance(e, ItemFailed)]
    assert [e.error_code for e in failed] == ["too_large"]
