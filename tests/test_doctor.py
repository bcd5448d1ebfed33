"""The doctor's room: general checks, what each source needs, and the reach test of a host.

Reach tests go to 127.0.0.1 only (the replay server, a closed port, a server that never answers)
or to a stub resolver: nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING

import pytest

from tuiapp import sources as registry
from tuiapp.engine.doctor import reach, run_checks, source_checks, source_needs
from tuiapp.sources.ytdlp import tools
from tuiapp.storage import Storage

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence
    from pathlib import Path

    from tests.conftest import MakeSettings
    from tests.replay import ReplayServer


async def test_general_checks_name_what_is_missing_and_what_to_do(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    settings = make_settings()
    storage = Storage(settings.database_url)
    await storage.open()
    try:
        checks = {c.name: c for c in await run_checks(settings, storage)}
        (tmp_path / "a-file").write_text("not a folder")
        blocked = make_settings(data_dir=tmp_path / "a-file" / "data")
        no_dir = {c.name: c for c in await run_checks(blocked, storage)}
    finally:
        await storage.close()
    assert set(checks) == {"data folder", "database", "proxy"}
    assert checks["proxy"].ok and checks["proxy"].detail == "none (direct connections)"
    assert checks["data folder"].ok and checks["database"].ok
    assert not no_dir["data folder"].ok
    assert "TUIAPP_DATA_DIR" in (no_dir["data folder"].advice or "")


def test_each_source_needs_what_its_site_demands(make_settings: MakeSettings) -> None:
    settings = make_settings(api_keys={"PIXABAY_API_KEY": "k"})
    needs = {
        cls.name: {c.name: c for c in source_needs(cls, settings)} for cls in registry.all_sources()
    }
    assert needs["picsum"] == {} and needs["direct"] == {}
    for scraped, target in (
        ("google_images", "chrome99_android"),
        ("duckduckgo_images", "chrome152"),
        ("yandex_images", "chrome152"),
        ("yahoo_images", "chrome152"),
        ("bing_images", "chrome152"),
    ):
        assert set(needs[scraped]) == {"handshake"}
        assert needs[scraped]["handshake"].ok  # curl_cffi 0.17 is installed with tuiapp
        assert needs[scraped]["handshake"].detail == f"pages asked with {target}'s TLS handshake"
    assert needs["pixabay"]["key"].ok and needs["pixabay"]["key"].detail == "PIXABAY_API_KEY is set"
    assert not needs["pexels"]["key"].ok
    assert needs["pexels"]["key"].advice == "set PEXELS_API_KEY to use pexels"
    assert set(needs["youtube"]) == {"ffmpeg", "JavaScript runtime"}
    assert set(needs["vimeo"]) == {"cookies", "ffmpeg", "impersonation"}
    assert set(needs["tiktok"]) == {"ffmpeg", "impersonation"}
    assert set(needs["dailymotion"]) == {"ffmpeg", "impersonation"}
    assert set(needs["twitch"]) == {"ffmpeg"}
    assert needs["tiktok"]["impersonation"].ok == (tools.impersonate_target() is not None)
    assert not needs["vimeo"]["cookies"].ok


def test_a_missing_program_or_cookies_file_is_named_with_what_to_do(
    make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no ffmpeg or deno of the user's
    monkeypatch.setattr(tools, "bundled_ffmpeg", lambda: None)
    cookies = tmp_path / "cookies.txt"
    settings = make_settings(
        source_settings={
            "youtube": {"deno": "/nowhere/deno"},
            "vimeo": {"cookies": str(tmp_path / "gone.txt")},
        }
    )
    youtube = {c.name: c for c in source_needs(registry.get("youtube"), settings)}
    assert not youtube["ffmpeg"].ok and youtube["ffmpeg"].detail == "ffmpeg not found"
    assert (
        youtube["ffmpeg"].advice
        == "install ffmpeg, or reinstall tuiapp (the imageio-ffmpeg package)"
    )
    assert not youtube["JavaScript runtime"].ok
    assert youtube["JavaScript runtime"].detail == "deno option '/nowhere/deno': no such program"
    vimeo = {c.name: c for c in source_needs(registry.get("vimeo"), settings)}
    assert vimeo["cookies"].detail == f"cookies file {tmp_path / 'gone.txt'} does not exist"
    cookies.write_text("# Netscape HTTP Cookie File\n")
    mended = make_settings(source_settings={"vimeo": {"cookies": str(cookies)}})
    vimeo = {c.name: c for c in source_needs(registry.get("vimeo"), mended)}
    assert vimeo["cookies"].ok and vimeo["cookies"].detail == str(cookies)
    by_browser = make_settings(source_settings={"vimeo": {"cookies_from_browser": "firefox"}})
    assert {c.name: c for c in source_needs(registry.get("vimeo"), by_browser)}["cookies"].ok


# --- reach ------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:  # free a moment ago: nothing listens there now
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_host_that_answers_is_reached(replay: ReplayServer) -> None:
    found = await reach(replay.url("/some/path"))
    assert found.ok and found.name == "reach"
    assert found.detail.startswith(f"{replay.url().removeprefix('http://').rstrip('/')} answers (")


async def test_a_closed_port_cannot_be_reached() -> None:
    port = _closed_port()
    found = await reach(f"http://127.0.0.1:{port}")
    assert not found.ok
    assert found.detail.startswith(f"cannot reach 127.0.0.1:{port}: cannot connect (")
    assert "base URL" in (found.advice or "")


async def test_a_name_that_does_not_resolve_is_said_so() -> None:
    asked: list[tuple[str, int]] = []

    async def resolver(host: str, port: int) -> Sequence[str]:
        asked.append((host, port))
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    found = await reach("https://images.example.test/x", resolver=resolver)
    assert asked == [("images.example.test", 443)]
    assert not found.ok
    assert found.detail == (
        "cannot reach images.example.test:443: name not resolved (Name or service not known)"
    )


async def test_a_tls_handshake_that_fails_is_said_so(replay: ReplayServer) -> None:
    """https:// to a server that speaks plain HTTP: TCP connects, the handshake fails."""
    port = int(replay.url().rstrip("/").rsplit(":", 1)[1])

    async def resolver(host: str, port: int) -> Sequence[str]:
        assert host == "site.example.test"
        return ["127.0.0.1"]

    found = await reach(f"https://site.example.test:{port}/", resolver=resolver)
    assert not found.ok
    assert found.detail.startswith(f"cannot reach site.example.test:{port}: TLS failed (")


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A server that accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_handshake_that_never_ends_runs_out_of_time(silent_server: int) -> None:
    async def resolver(host: str, port: int) -> Sequence[str]:
        return ["127.0.0.1"]

    found = await reach(f"https://mute.example.test:{silent_server}", within=0.3, resolver=resolver)
    assert not found.ok
    assert found.detail == (
        f"cannot reach mute.example.test:{silent_server}: no answer within 0.3 s (TLS handshake)"
    )


async def test_sources_are_tried_side_by_side_and_offline_tries_none(
    make_settings: MakeSettings, silent_server: int
) -> None:
    """Three hosts that never finish their handshake take one timeout together, not three."""
    asked: list[str] = []

    async def resolver(host: str, port: int) -> Sequence[str]:
        asked.append(host)
        return ["127.0.0.1"]

    names = ["picsum", "bing_images", "yahoo_images", "direct"]
    settings = make_settings()
    loop = asyncio.get_running_loop()
    started = loop.time()
    rows = await source_checks(
        settings,
        lambda name: f"https://{name}.example.test:{silent_server}",
        names=names,
        resolver=resolver,
        within=0.5,
    )
    took = loop.time() - started
    assert [r.source for r in rows] == names
    assert sorted(asked) == [
        "bing_images.example.test",
        "picsum.example.test",
        "yahoo_images.example.test",
    ]
    assert took < 1.2, f"one timeout, not three: {took:.2f} s"
    for row in rows[:3]:
        assert not row.ready and row.missing == (
            f"cannot reach {row.source}.example.test:{silent_server}:"
            " no answer within 0.5 s (TLS handshake)",
        )
    assert rows[3].ready and rows[3].needs == ()
    asked.clear()
    offline = await source_checks(
        settings,
        lambda name: "https://x.example.test",
        names=names,
        offline=True,
        resolver=resolver,
    )
    assert asked == [] and all(r.ready for r in offline)
