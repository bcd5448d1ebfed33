"""`tuiapp`'s exit codes and conventions, one real process per case, against the replay server.

0 done, 1 nothing stored (or a file-system error), 2 usage or settings error, 3 some files stored
but not all that was asked (partial, timed out), 130 Ctrl-C after the summary.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

import pytest

from tests.images import jpeg
from tests.replay import Reply, json_reply
from tests.test_cli import _picsum, _tuiapp
from tuiapp import sources as registry
from tuiapp.jobs import SourceState

if TYPE_CHECKING:
    from pathlib import Path

    from aiohttp import web

    from tests.replay import ReplayServer


@pytest.fixture
def env(tmp_path: Path, replay: ReplayServer) -> dict[str, str]:
    (tmp_path / "no.env").write_text("")
    return {
        "TUIAPP_DATA_DIR": str(tmp_path / "data"),
        "TUIAPP_PICSUM_BASE_URL": replay.url(),
        "TUIAPP_PEXELS_BASE_URL": replay.url("/pexels"),
        "PEXELS_API_KEY": "",  # blank counts as not set
        "TUIAPP_ENV_FILE": str(tmp_path / "no.env"),
        "HOME": str(tmp_path),
    }


def _slow_picsum(replay: ReplayServer, n: int = 6) -> None:
    """A catalogue whose first photo comes at once and the others never finish."""
    items = [
        {"id": str(i), "author": "a", "width": 10, "height": 10, "url": f"u{i}"} for i in range(n)
    ]
    replay.add("/v2/list", json_reply(items))
    replay.add("/id/0/10/10.jpg", Reply(jpeg(seed=0), content_type="image/jpeg"))

    async def never(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    for i in range(1, n):
        replay.add(f"/id/{i}/10/10.jpg", never)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        # What the engine refuses is in tests/test_front_door.py's table; these are the
        # command line's own syntax.
        (["-s", "picsum", "-n", "many"], "'many' is not a valid integer"),
        (["-s", "picsum", "-o", "size"], "takes KEY=VALUE, not 'size'"),
        (["-s", "picsum", "-o", "=1"], "takes KEY=VALUE, not '=1'"),
        (["-s", "picsum", "-o", "a=1", "-o", "a=2"], "'a' is given twice"),
    ],
)
async def test_a_usage_error_exits_2_before_any_request(
    replay: ReplayServer, env: dict[str, str], args: list[str], says: str
) -> None:
    _picsum(replay, 3)
    code, out, err = await _tuiapp(env, "get", "cats", *args)
    assert code == 2, err
    assert says in err and out == ""
    assert "Traceback" not in err
    assert replay.requests == []


async def test_a_job_with_one_source_working_and_one_without_its_key_ends_partial_exit_3(
    replay: ReplayServer, env: dict[str, str]
) -> None:
    _picsum(replay, 3)
    code, out, err = await _tuiapp(env, "get", "cats", "-s", "picsum", "-s", "pexels", "-n", "2")
    assert code == 3, err
    job = json.loads(out)["job"]
    assert (job["state"], job["stored"]) == ("partial", 2)
    # The run ends with one readable line per failed source, and only for those.
    last = err.rstrip("\n").splitlines()[-1]
    assert last == "pexels: no key — set PEXELS_API_KEY to use this source", err
    assert "picsum: no key" not in err and not err.count("— set PEXELS_API_KEY") > 1


async def test_a_job_cut_by_its_time_budget_with_files_stored_exits_3(
    replay: ReplayServer, env: dict[str, str]
) -> None:
    _slow_picsum(replay)
    code, out, err = await _tuiapp(
        {**env, "GLOBAL_JOB_TIMEOUT": "2"}, "get", "cats", "-s", "picsum", "-n", "6"
    )
    assert code == 3, err
    job = json.loads(out)["job"]
    assert (job["state"], job["stored"]) == ("timed_out", 1)
    assert "picsum: timed out" in err


async def test_ctrl_c_cancels_the_job_prints_the_summary_and_exits_130_while_jobs_sees_it_live(
    replay: ReplayServer, env: dict[str, str]
) -> None:
    """`tuiapp jobs` in another process counts the files of a running job as they are stored."""
    _slow_picsum(replay)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tuiapp", "get", "cats", "-s", "picsum", "-n", "6",
        env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    seen: list[str] = []
    while not any(": stored " in line for line in seen):
        line = await asyncio.wait_for(proc.stderr.readline(), 60)
        assert line, seen
        seen.append(line.decode())

    code, out, _ = await _tuiapp(env, "jobs", "--json")
    assert code == 0
    (running,) = json.loads(out)
    assert (running["state"], running["stored"]) == ("running", 1)
    code, out, _ = await _tuiapp(env, "jobs")
    assert "running        1 stored" in out, out

    proc.send_signal(signal.SIGINT)
    out_b, err_b = await asyncio.wait_for(proc.communicate(), 60)
    err = "".join(seen) + err_b.decode()
    assert proc.returncode == 130, err
    job = json.loads(out_b)["job"]
    assert (job["state"], job["stored"]) == ("cancelled", 1)
    assert "cancelling the job" in err and f"job {job['id']}: cancelled" in err
    assert "Traceback" not in err and "Aborted" not in err


async def test_export_never_overwrites_unless_asked_and_file_system_errors_exit_1(
    replay: ReplayServer, env: dict[str, str], tmp_path: Path
) -> None:
    _picsum(replay, 2)
    code, out, err = await _tuiapp(env, "get", "cats", "-s", "picsum", "-n", "2")
    assert code == 0, err
    job_id = str(json.loads(out)["job"]["id"])
    outdir = tmp_path / "out"

    code, out, _ = await _tuiapp(env, "export", job_id, str(outdir))
    assert code == 0
    names = sorted(p.name for p in outdir.iterdir() if p.suffix == ".jpg")
    assert names == ["picsum-photo-0-1-1000x500.jpg", "picsum-photo-1-2-1000x500.jpg"]
    (outdir / names[0]).write_bytes(b"mine")

    code, out, err = await _tuiapp(env, "export", job_id, str(outdir))
    assert code == 0, err
    assert (outdir / names[0]).read_bytes() == b"mine"
    # The edited file is kept and its picture written beside it; the other is there already.
    assert sorted(p.name for p in outdir.iterdir()) == sorted(
        # The credits are the same bytes too: left as they were, not numbered copies.
        [*names, names[0].replace(".jpg", " (2).jpg"), "CREDITS.md", "credits.json"]
    )
    assert f"1 file written to {outdir}, 1 already there" in err
    code, _, err = await _tuiapp(env, "export", job_id, str(outdir), "--overwrite")
    assert code == 0, err
    assert (outdir / names[0]).read_bytes() != b"mine"

    for where in ("/proc/nope", str(outdir / names[0] / "sub")):
        code, out, err = await _tuiapp(env, "export", job_id, where)
        assert code == 1 and err.startswith("tuiapp: error: cannot make the folder"), err
        assert "Traceback" not in err
    code, _, err = await _tuiapp(env, "export", "999", str(outdir))
    assert code == 1 and "tuiapp: error:" in err


async def test_a_data_folder_that_cannot_be_made_is_one_line_and_exit_1(
    env: dict[str, str], tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = await _tuiapp({**env, "TUIAPP_DATA_DIR": str(blocker / "data")}, "jobs")
    assert code == 1
    assert err.startswith(f"tuiapp: error: cannot use the data folder {blocker / 'data'}"), err
    assert "TUIAPP_DATA_DIR" in err and "Traceback" not in err


async def test_a_bad_setting_exits_2_naming_the_setting_where_it_came_from_and_what_is_expected(
    env: dict[str, str], tmp_path: Path
) -> None:
    code, _, err = await _tuiapp({**env, "MAX_CONCURRENT_SOURCES": "abc"}, "get", "x", "-s", "a")
    assert code == 2
    assert err.startswith("tuiapp: error: bad setting MAX_CONCURRENT_SOURCES: 'abc'"), err
    assert "environment" in err and "whole number" in err
    (tmp_path / "no.env").write_text("MAX_CONCURRENT_SOURCES=abc\n")
    code, _, err = await _tuiapp(env, "jobs")
    assert code == 2 and str(tmp_path / "no.env") in err


# --- doctor ------------------------------------------------------------------------------------


def _rows(out: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The general checks and the source rows of `doctor --json`, by name."""
    report = json.loads(out)
    checks = {c["name"]: c for c in report["checks"]}
    return checks, {row["source"]: row for row in report["sources"]}


async def test_doctor_offline_shows_one_row_per_source_and_exits_0_when_only_keys_are_missing(
    env: dict[str, str],
) -> None:
    code, out, err = await _tuiapp(env, "doctor", "--offline", "--json")
    checks, rows = _rows(out)
    assert code == 0, err
    assert json.loads(out)["ok"] is True and json.loads(out)["offline"] is True
    assert checks["data folder"]["ok"] and checks["database"]["ok"]
    assert list(rows) == list(registry.names())
    assert rows["pexels"]["ready"] is False
    assert rows["pexels"]["needs"] == [
        {
            "name": "key",
            "ok": False,
            "detail": "PEXELS_API_KEY is not set",
            "advice": "set PEXELS_API_KEY to use pexels",
            "optional": True,
        }
    ]
    assert rows["picsum"] == {"source": "picsum", "ready": True, "needs": []}, "offline: no reach"
    vimeo = {n["name"]: n for n in rows["vimeo"]["needs"]}
    assert set(vimeo) == {"cookies", "ffmpeg", "impersonation"}
    assert (
        not vimeo["cookies"]["ok"] and "TUIAPP_SOURCE_VIMEO__COOKIES" in vimeo["cookies"]["detail"]
    )
    assert {n["name"] for n in rows["youtube"]["needs"]} == {"ffmpeg", "JavaScript runtime"}
    assert rows["youtube"]["ready"], "the installation bundles ffmpeg and deno"

    code, out, err = await _tuiapp(env, "doctor", "--offline")
    assert code == 0
    row = next(line for line in out.splitlines() if " pexels " in line)
    assert row.split()[0] == "optional"
    assert "key not set" in row
    assert row.rstrip().endswith("set PEXELS_API_KEY")
    youtube = next(line for line in out.splitlines() if " youtube " in line)
    assert youtube.split()[0] == "ok" and "ffmpeg ok; JavaScript runtime ok" in youtube
    assert "but those needing your own key or login: unsplash, pexels, pixabay, vimeo" in err
    assert "(offline: sites not tried)" in err

    # A cookies file that is named but not there is a mistake to mend, not an optional login.
    code, out, err = await _tuiapp(
        {**env, "TUIAPP_SOURCE_VIMEO__COOKIES": "/nowhere/cookies.txt"}, "doctor", "--offline"
    )
    assert code == 1 and "1 of 18 sources not ready" in err
    assert next(line for line in out.splitlines() if " vimeo " in line).split()[0] == "MISSING"


async def test_doctor_says_once_that_the_machine_seems_offline_when_no_site_answers(
    env: dict[str, str],
) -> None:
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    dead = {
        f"TUIAPP_{name.upper()}_BASE_URL": f"http://127.0.0.1:{closed}" for name in registry.names()
    }
    code, out, err = await _tuiapp({**env, **dead}, "doctor")
    assert code == 1, err
    assert "cannot connect" not in out  # not a row per site
    assert err.count("this machine seems to be offline") == 1
    code, out, _ = await _tuiapp({**env, **dead}, "doctor", "--json")
    assert json.loads(out)["seems_offline"] is True


async def test_doctor_exits_0_once_every_source_has_what_it_needs(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Every missing need of the first run is mended (keys, a cookies file), then doctor passes."""
    code, out, _ = await _tuiapp(env, "doctor", "--offline", "--json")
    assert code == 0
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n")
    mended = dict(env)
    for row in _rows(out)[1].values():
        for need in row["needs"]:
            if not need["ok"]:
                setting = need["detail"].removesuffix(" is not set")
                mended[setting] = str(cookies) if need["name"] == "cookies" else "a-key"
    code, out, err = await _tuiapp(mended, "doctor", "--offline", "--json")
    assert code == 0, out
    assert all(row["ready"] for row in _rows(out)[1].values())
    code, _, err = await _tuiapp(mended, "doctor", "--offline")
    assert code == 0 and "every source is ready (offline: sites not tried)" in err


async def test_doctor_tries_each_sites_host_and_names_the_one_that_does_not_answer(
    env: dict[str, str], replay: ReplayServer
) -> None:
    """Every base URL points at the local server but pexels', which points at a closed port."""
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    local = {f"TUIAPP_{name.upper()}_BASE_URL": replay.url() for name in registry.names()}
    local["TUIAPP_PEXELS_BASE_URL"] = f"http://127.0.0.1:{closed}"
    code, out, err = await _tuiapp({**env, **local, "PEXELS_API_KEY": "k"}, "doctor", "--json")
    _, rows = _rows(out)
    reach = {
        name: next((n for n in row["needs"] if n["name"] == "reach"), None)
        for name, row in rows.items()
    }
    assert reach.pop("direct") is None, "a direct link names its own host"
    assert not reach["pexels"]["ok"]  # type: ignore[index]
    assert reach["pexels"]["detail"].startswith(f"cannot reach 127.0.0.1:{closed}: cannot connect")  # type: ignore[index]
    assert not rows["pexels"]["ready"]
    port = replay.url().rsplit(":", 1)[1].rstrip("/")
    for name, found in reach.items():
        if name != "pexels":
            assert found is not None and found["ok"], (name, found)
            assert found["detail"].startswith(f"127.0.0.1:{port} answers (")
    assert code == 1, err


async def test_doctor_reports_a_data_folder_that_cannot_be_made_without_a_traceback(
    env: dict[str, str], tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out, err = await _tuiapp(
        {**env, "TUIAPP_DATA_DIR": str(blocker / "data")}, "doctor", "--offline", "--json"
    )
    assert code == 1 and "Traceback" not in err
    checks, _ = _rows(out)
    assert not checks["data folder"]["ok"]
    assert checks["data folder"]["advice"] == "set TUIAPP_DATA_DIR to a folder you can write"
    assert not checks["database"]["ok"]


# --- progress on a terminal ---------------------------------------------------------------------


def test_the_terminal_display_counts_each_file_once_when_progress_overtakes_the_files() -> None:
    """The bus coalesces progress in place, so a SourceProgress saying 3 stored can arrive
    before the AssetStored events of files 2 and 3: the display shows 3, never 5."""
    import io

    from rich.console import Console

    from tuiapp.cli.progress import RichReporter
    from tuiapp.events import AssetStored, SourceFinished, SourceProgress, SourceStarted

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    reporter = RichReporter(3, console=console)

    def stored(n: int, title: str) -> AssetStored:
        return AssetStored(
            job_id=1, owner_id=None, source="picsum", asset_id=n, url="u", title=title,
            mime="image/png", size=1000, sha256="0", deduplicated=False,
        )  # fmt: skip

    reporter.show(
        SourceStarted(job_id=1, owner_id=None, source="picsum", state=SourceState.SEARCHING)
    )
    reporter.show(stored(1, "one"))
    reporter.show(
        SourceProgress(
            job_id=1,
            owner_id=None,
            source="picsum",
            state=SourceState.DOWNLOADING,
            found=3,
            stored=3,
            failed=0,
            bytes=3000,
            speed=5,
        )
    )
    reporter.show(stored(2, "[bold]two[/bold] \x1b[31m"))
    reporter.show(stored(3, "three"))
    frame = reporter.progress.get_renderable()
    rendered = io.StringIO()
    Console(file=rendered, width=120, color_system=None).print(frame)
    assert "picsum: downloading 3/3" in rendered.getvalue()
    assert "3.0 kB" in rendered.getvalue() and "5 B/s" in rendered.getvalue()
    reporter.show(
        SourceFinished(
            job_id=1, owner_id=None, source="picsum", state=SourceState.DONE, found=3, stored=3,
            failed=0, bytes=3000, error=None, error_code=None,
        )
    )  # fmt: skip
    reporter.stop()
    out = screen.getvalue()
    # Remote titles are shown as text: neither Rich markup nor a control code takes effect.
    assert "picsum: stored [bold]two[/bold] \\x1b[31m [1.0 kB]" in out
    assert "\x1b[31m" not in out.replace("\\x1b[31m", "")


async def test_get_on_a_terminal_shows_a_live_line_per_source_and_ends_with_the_failures(
    replay: ReplayServer, env: dict[str, str]
) -> None:
    import pty

    _picsum(replay, 3)
    leader, follower = pty.openpty()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tuiapp", "get", "cats", "-s", "picsum", "-s", "pexels", "-n", "2",
        env={**os.environ, **env, "COLUMNS": "100"}, stdout=asyncio.subprocess.PIPE,
        stderr=follower,
    )  # fmt: skip
    os.close(follower)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other end is closed: all read
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    text = screen.decode(errors="replace")
    assert proc.returncode == 3, text
    assert json.loads(out)["job"]["state"] == "partial"
    assert "picsum: done" in text and "2/2" in text and "ETA" in text
    assert "pexels: no key — set PEXELS_API_KEY to use this source" in text
