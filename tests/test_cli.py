"""`tuiapp` as a user runs it: a real process against the local replay server."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from typing import TYPE_CHECKING

import pytest

from tests.images import jpeg
from tests.replay import ReplayServer, Reply, json_reply

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


def _picsum(replay: ReplayServer, n: int = 40) -> dict[str, str]:
    """A picsum catalogue of ``n`` photos; returns image path -> sha256."""
    items = [
        {"id": str(i), "author": f"Author {i}", "width": 1000, "height": 500,
         "url": f"https://unsplash.com/photos/{i}", "download_url": f"https://picsum.photos/id/{i}/1000/500"}
        for i in range(n)
    ]  # fmt: skip

    async def listing(request: object) -> object:
        from aiohttp import web

        assert isinstance(request, web.Request)
        page, limit = int(request.query["page"]), int(request.query["limit"])
        return web.json_response(items[(page - 1) * limit : page * limit])

    replay.add("/v2/list", listing)  # type: ignore[arg-type]
    hashes = {}
    for i in range(n):
        body = jpeg(seed=i)
        replay.add(f"/id/{i}/1000/500.jpg", Reply(body, content_type="image/jpeg"))
        hashes[f"/id/{i}/1000/500.jpg"] = hashlib.sha256(body).hexdigest()
    return hashes


async def _tuiapp(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tuiapp", *args,
        env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def env(tmp_path: Path, replay: ReplayServer) -> dict[str, str]:
    return {
        "TUIAPP_DATA_DIR": str(tmp_path / "data"),
        "TUIAPP_PICSUM_BASE_URL": replay.url(),
        "TUIAPP_ENV_FILE": str(tmp_path / "no.env"),
        "HOME": str(tmp_path),
    }


async def test_get_stores_the_files_and_export_writes_them_byte_identical(
    replay: ReplayServer, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "no.env").write_text("")
    hashes = _picsum(replay)
    code, out, err = await _tuiapp(env, "get", "cats", "-s", "picsum", "-n", "5")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["job"]["state"] == "done"
    assert summary["job"]["stored"] == 5
    assert len(summary["assets"]) == 5
    assert all(a["mime"] == "image/jpeg" for a in summary["assets"])
    assert "picsum: done, 5 stored" in err
    for asset in summary["assets"]:
        path = asset["url"].removeprefix(replay.url())
        assert asset["sha256"] == hashes[path]

    code, out, err = await _tuiapp(env, "export", str(summary["job"]["id"]), str(tmp_path / "out"))
    assert code == 0, err
    files = sorted(f for f in (tmp_path / "out").iterdir() if f.suffix == ".jpg")
    assert len(files) == 5
    assert {f.name for f in (tmp_path / "out").iterdir()} - {f.name for f in files} == {
        "CREDITS.md",
        "credits.json",
    }
    exported = {hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    assert exported == {a["sha256"] for a in summary["assets"]}
    assert all(f.suffix == ".jpg" and "/" not in f.name for f in files)

    code, out, _ = await _tuiapp(env, "jobs", "--json")
    assert code == 0 and [j["stored"] for j in json.loads(out)] == [5]
    code, out, _ = await _tuiapp(env, "jobs", "--json", "CATS", "picsum")
    assert code == 0 and [j["query"] for j in json.loads(out)] == ["cats"]
    code, out, _ = await _tuiapp(env, "jobs", "--json", "dogs")
    assert code == 0 and json.loads(out) == []


async def test_export_unique_writes_one_file_per_picture(
    replay: ReplayServer, env: dict[str, str], tmp_path: Path
) -> None:
    from tests.photos import encode, picture, resized

    (tmp_path / "no.env").write_text("")
    _picsum(replay, 3)
    files = [encode(picture(3)), encode(resized(picture(3), 640, 480), quality=60)]
    files.append(encode(picture(4)))
    for i, body in enumerate(files):  # the catalogue's photos 0..2 become these
        replay.add(f"/id/{i}/1000/500.jpg", Reply(body, content_type="image/jpeg"))
    code, out, err = await _tuiapp(env, "get", "cats", "-s", "picsum", "-n", "3")
    assert code == 0, err
    summary = json.loads(out)
    assert [s["duplicates"] for s in summary["job"]["sources"]] == [0]  # one source: none other's
    assets = {a["sha256"]: a for a in summary["assets"]}
    big, small, other = (assets[hashlib.sha256(f).hexdigest()] for f in files)
    assert (big["duplicate_of"], small["duplicate_of"], other["duplicate_of"]) == (
        None,
        big["id"],
        None,
    )
    job = str(summary["job"]["id"])
    code, _, err = await _tuiapp(env, "export", "--unique", job, str(tmp_path / "out"))
    assert code == 0, err
    pictures = [f for f in (tmp_path / "out").iterdir() if f.suffix == ".jpg"]
    exported = {hashlib.sha256(f.read_bytes()).hexdigest() for f in pictures}
    assert exported == {big["sha256"], other["sha256"]}


async def test_get_exits_1_when_nothing_was_stored(
    replay: ReplayServer, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "no.env").write_text("")
    replay.add(
        "/v2/list", json_reply([{"id": "1", "author": "a", "width": 10, "height": 10, "url": "u"}])
    )
    replay.add("/id/1/10/10.jpg", Reply(b"<html>not an image</html>", content_type="image/jpeg"))
    code, out, err = await _tuiapp(env, "get", "cats", "-s", "picsum", "-n", "1")
    assert code == 1
    assert json.loads(out)["job"]["state"] == "failed"
    assert "expected an image" in err


async def test_a_bad_setting_stops_with_a_message_naming_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "no.env").write_text("")
    code, _, err = await _tuiapp({**env, "REQUEST_TIMEOUT": "soon"}, "jobs")
    assert code == 2
    assert "REQUEST_TIMEOUT" in err and "soon" in err
    assert "Traceback" not in err


async def test_settings_come_from_the_env_file(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "no.env").write_text("PEXELS_API_KEY=abc\nMAX_CONCURRENT_SOURCES=0\n")
    code, _, err = await _tuiapp(env, "jobs")
    assert code == 2 and "MAX_CONCURRENT_SOURCES" in err


async def test_sources_lists_every_source_with_its_key_status(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "no.env").write_text("")
    code, out, _ = await _tuiapp(env, "sources", "--json")
    assert code == 0
    infos = {s["name"]: s for s in json.loads(out)}
    assert {"picsum", "placeholder", "dummyimage", "robohash"} <= set(infos)
    assert infos["picsum"]["base_url"] == env["TUIAPP_PICSUM_BASE_URL"]
    assert all(s["configured"] for s in infos.values() if s["key_setting"] is None)


async def test_an_unknown_source_is_a_clear_error(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "no.env").write_text("")
    code, _, err = await _tuiapp(env, "get", "cats", "-s", "nosuch")
    assert code == 2 and "unknown source 'nosuch'" in err


async def test_users_get_a_token_once_and_see_only_their_jobs(
    replay: ReplayServer, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "no.env").write_text("")
    _picsum(replay)
    code, out, _ = await _tuiapp(env, "user", "add", "alice")
    assert code == 0 and len(out.strip()) >= 40
    code, _, _ = await _tuiapp(
        {**env, "TUIAPP_USER": "alice"}, "get", "dogs", "-s", "picsum", "-n", "1"
    )
    assert code == 0
    _, alice_jobs, _ = await _tuiapp({**env, "TUIAPP_USER": "alice"}, "jobs", "--json")
    _, guest_jobs, _ = await _tuiapp(env, "jobs", "--json")
    assert [j["query"] for j in json.loads(alice_jobs)] == ["dogs"]
    assert json.loads(guest_jobs) == []
    code, _, err = await _tuiapp({**env, "TUIAPP_USER": "mallory"}, "jobs")
    assert code == 1 and "no user named 'mallory'" in err


# --- remote text on the terminal ---------------------------------------------------------------

HOSTILE_ID = "7\x1b]2;pwned\x07\x1b[31m\u202e"
"""A picsum photo id (it becomes the title): sets the terminal's title and colour, flips text."""


async def test_get_prints_remote_titles_with_control_codes_neutralised(
    replay: ReplayServer, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "no.env").write_text("")
    replay.add(
        "/v2/list",
        json_reply([{"id": HOSTILE_ID, "author": "a", "width": 10, "height": 10, "url": "u"}]),
    )
    replay.add("/id/*", Reply(jpeg(seed=1), content_type="image/jpeg"))
    code, out, err = await _tuiapp(env, "get", "cats", "-s", "picsum", "-n", "1")
    for text in (out, err):
        for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
            assert raw not in text, (raw, text)
    # The title reaches the user, escaped character by character, on the progress line.
    assert "Picsum photo 7\\x1b]2;pwned\\x07\\x1b[31m\\u202e" in err, err
    assert code == 0, err
    assert json.loads(out)["assets"][0]["title"] == f"Picsum photo {HOSTILE_ID}"


async def test_a_refused_job_is_a_usage_error_whose_echo_is_printable(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "no.env").write_text("")
    code, out, err = await _tuiapp(env, "get", "cats", "-s", "picsum\x1b[2J")
    assert code == 2 and out == ""
    assert "unknown source 'picsum\\x1b[2J'" in err
    assert "\x1b" not in err


def test_printable_escapes_controls_and_bidi_and_keeps_other_text() -> None:
    from tuiapp.text import printable

    assert printable("Fjällräven 山 café — ok") == "Fjällräven 山 café — ok"
    assert printable("a\x1b[31mb") == "a\\x1b[31mb"
    assert printable("t\x1b]2;pwned\x07") == "t\\x1b]2;pwned\\x07"
    assert printable("csi\x9b1m del\x7f nul\x00") == "csi\\x9b1m del\\x7f nul\\x00"
    assert printable("line\nbreak\r\ttab") == "line\\x0abreak\\x0d\\x09tab"
    assert printable("abc\u202edef\u2066x\u2069") == "abc\\u202edef\\u2066x\\u2069"
    assert printable("lone \ud800") == "lone \\ud800"
    assert printable("") == ""


# --- the process the bare `tuiapp` command builds ---------------------------------------------


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Settings for running the command in this process; the log file it opens is closed after.

    Returns the data directory.
    """
    import logging

    (tmp_path / "no.env").write_text("")
    monkeypatch.setenv("TUIAPP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TUIAPP_ENV_FILE", str(tmp_path / "no.env"))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield tmp_path / "data"
    for handler in set(root.handlers) - set(handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


def _run_bare_tuiapp(monkeypatch: pytest.MonkeyPatch, port: int) -> tuple[int, dict[str, object]]:
    """Run `tuiapp` in-process with the app's main loop replaced by a probe of what it got."""
    import aiohttp
    from click.testing import CliRunner

    from tuiapp.app import TuiApp
    from tuiapp.cli import cli

    seen: dict[str, object] = {}

    async def probe(self: TuiApp) -> None:
        # The app starts the API once its first screen is drawn, as this does.
        assert self.start_api is not None
        url, error = await self.start_api()
        seen.update(engine=self.engine, url=url, error=error)
        if url:  # the API answers while the app runs
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{url}/api/health") as resp,
            ):
                seen["health"] = resp.status

    monkeypatch.setattr(TuiApp, "run_async", probe)
    monkeypatch.setenv("TUIAPP_HTTP_PORT", str(port))
    result = CliRunner().invoke(cli, [])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, seen


@pytest.mark.usefixtures("in_process")
def test_bare_tuiapp_builds_the_engine_and_api_and_hands_both_to_the_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tuiapp.engine import Engine

    code, seen = _run_bare_tuiapp(monkeypatch, 0)
    assert code == 0
    assert isinstance(seen["engine"], Engine)
    assert str(seen["url"]).startswith("http://127.0.0.1:") and seen["error"] is None
    assert seen["health"] == 200


@pytest.mark.usefixtures("in_process")
def test_bare_tuiapp_runs_without_the_api_when_its_port_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, seen = _run_bare_tuiapp(monkeypatch, port)
    assert code == 0
    assert seen["url"] is None
    assert f"cannot listen on 127.0.0.1:{port}" in str(seen["error"])


def test_the_log_file_gets_remote_text_escaped_line_by_line(in_process: Path) -> None:
    import logging

    from tuiapp.cli.common import load

    load()
    log = logging.getLogger("tuiapp.test")
    log.warning("item failed: %s", "http://x.test/\x1b]2;pwned\x07.png")
    try:
        raise ValueError("bad reply \x1b[31m")
    except ValueError:
        log.exception("source crashed")
    text = (in_process / "tuiapp.log").read_text(encoding="utf-8")
    assert "\x1b" not in text and "\x07" not in text
    assert "item failed: http://x.test/\\x1b]2;pwned\\x07.png" in text
    assert "source crashed\nTraceback (most recent call last):\n" in text, "lines are kept"
    assert "ValueError: bad reply \\x1b[31m" in text
