"""`tuiapp get` as a person and as a script sees it: a few lines on a terminal, JSON to a pipe
or with --json, -d writing each file as it is stored, "only N found", -h and completion."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import TYPE_CHECKING

import pytest

from tests.test_cli import _picsum, _tuiapp

if TYPE_CHECKING:
    from pathlib import Path

    from tests.replay import ReplayServer


@pytest.fixture
def env(tmp_path: Path, replay: ReplayServer) -> dict[str, str]:
    (tmp_path / "no.env").write_text("")
    return {
        "TUIAPP_DATA_DIR": str(tmp_path / "data"),
        "TUIAPP_PICSUM_BASE_URL": replay.url(),
        "TUIAPP_ENV_FILE": str(tmp_path / "no.env"),
        "HOME": str(tmp_path),
    }


async def _on_a_terminal(
    env: dict[str, str], *args: str, columns: int = 100
) -> tuple[int, str, str]:
    """Run ``tuiapp args`` with stdout a terminal (a pty) and stderr a pipe."""
    import pty

    leader, follower = pty.openpty()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tuiapp", *args,
        env={**os.environ, **env, "COLUMNS": str(columns)}, stdout=follower,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    os.close(follower)
    _, err = await asyncio.wait_for(proc.communicate(), 120)
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
    assert proc.returncode is not None
    return proc.returncode, screen.decode(errors="replace").replace("\r\n", "\n"), err.decode()


async def test_on_a_terminal_get_prints_a_few_lines_and_json_only_when_asked(
    replay: ReplayServer, env: dict[str, str]
) -> None:
    _picsum(replay, 10)
    code, out, err = await _on_a_terminal(env, "get", "cats", "-s", "picsum", "-n", "3")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert 2 <= len(lines) <= 5, out
    assert lines[0] == "Job 1 done: 3 files (" + lines[0].split("(", 1)[1]
    assert "stored for 'cats' from picsum." in lines[0]
    assert "Next: tuiapp export 1 DIR" in out
    assert not out.lstrip().startswith("{")

    code, out, err = await _on_a_terminal(env, "get", "cats", "-s", "Picsum", "-n", "3", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["job"]["stored"] == 3 and len(summary["assets"]) == 3
    assert [s["source"] for s in summary["job"]["sources"]] == ["picsum"]


async def test_dest_gets_each_file_as_stored_under_export_names(
    replay: ReplayServer, env: dict[str, str], tmp_path: Path
) -> None:
    _picsum(replay, 10)
    out_dir = tmp_path / "out"
    code, out, err = await _tuiapp(
        env, "get", "cats", "-s", "picsum", "-n", "3", "-d", str(out_dir)
    )
    assert code == 0, err
    summary = json.loads(out)  # a pipe: the JSON summary, as before
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == [f"picsum-photo-{i}-{i + 1}-1000x500.jpg" for i in range(3)]
    assert f"3 files written to {out_dir}" in err
    # The same files exported again: each already there once.
    code, _, err = await _tuiapp(env, "export", str(summary["job"]["id"]), str(out_dir))
    assert code == 0, err
    assert f"0 files written to {out_dir}, 3 already there" in err
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        [*names, "CREDITS.md", "credits.json"]
    )


async def test_a_source_that_runs_out_says_only_n_found(
    replay: ReplayServer, env: dict[str, str]
) -> None:
    _picsum(replay, 3)
    code, out, err = await _tuiapp(env, "get", "cats", "-s", "picsum", "-n", "30")
    assert code == 0, err
    assert json.loads(out)["job"]["stored"] == 3
    assert "picsum: done, 3 stored, 0 failed (only 3 found)" in err
    code, out, err = await _on_a_terminal(env, "get", "dogs", "-s", "picsum", "-n", "30")
    assert code == 0, err
    assert "picsum: only 3 found (asked for 30)" in out


async def test_h_help_with_examples_and_a_completion_script(env: dict[str, str]) -> None:
    code, out, _ = await _tuiapp(env, "-h")
    assert code == 0 and "Usage: tuiapp" in out and "Examples:" in out
    code, out, _ = await _tuiapp(env, "get", "-h")
    assert code == 0 and "--dest" in out and "tuiapp get cats -d" in out
    code, out, _ = await _tuiapp(env, "completion", "bash")
    assert code == 0 and "_TUIAPP_COMPLETE=bash_complete" in out
    code, out, _ = await _tuiapp(
        {**env, "_TUIAPP_COMPLETE": "bash_complete", "COMP_WORDS": "tuiapp get x -s pic",
         "COMP_CWORD": "4"},
    )  # fmt: skip
    assert code == 0 and "plain,picsum" in out.split()


async def test_doctor_at_80_columns_wraps_words_whole(env: dict[str, str]) -> None:
    import re

    code, out, err = await _on_a_terminal(env, "doctor", "--offline", columns=80)
    assert code == 0, err  # only the optional keys are missing
    out = re.sub(r"\x1b\[[0-9;]*m", "", out)  # colours
    lines = out.splitlines()
    assert lines and all(len(line) <= 80 for line in lines), max(lines, key=len)
    for name in ("TUIAPP_SOURCE_VIMEO__COOKIES", "UNSPLASH_ACCESS_KEY", "PIXABAY_API_KEY"):
        assert name in out, name
    assert next(line for line in lines if " unsplash " in line).split()[0] == "optional"
