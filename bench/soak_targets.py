"""The processes the soak watches: `tuiapp serve`, a worker on PostgreSQL, the app in tmux.

Each is started on loopback with its own data folder and the picsum-shaped origin as picsum's
base URL, and yields its process id and API URL; everything it started is stopped on the way
out (the PostgreSQL server too).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

KINDS = ("serve", "postgres", "tui")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data: Path, origin: str, **extra: str) -> dict[str, str]:
    (data / "soak.env").write_text("")  # no settings from a .env file of the working folder
    return {
        **os.environ,
        "TUIAPP_DATA_DIR": str(data),
        "TUIAPP_ENV_FILE": str(data / "soak.env"),
        "TUIAPP_PICSUM_BASE_URL": origin,
        "TUIAPP_HTTP_HOST": "127.0.0.1",
        **extra,
    }


@contextlib.asynccontextmanager
async def target(kind: str, data: Path, origin: str) -> AsyncIterator[tuple[int, str]]:
    """``async with target(kind, data, origin) as (pid, url)``."""
    if kind == "tui":
        async with _tui(data, origin) as started:
            yield started
        return
    extra: dict[str, str] = {}
    args = ["serve", "--port", "0"]
    with contextlib.ExitStack() as stack:
        if kind == "postgres":
            extra["TUIAPP_DATABASE_URL"] = stack.enter_context(_postgres())
            args.append("--worker")
        async with _serve(args, _env(data, origin, **extra)) as started:
            yield started


@contextlib.asynccontextmanager
async def _serve(args: list[str], env: dict[str, str]) -> AsyncIterator[tuple[int, str]]:
    exe = Path(sys.executable).with_name("tuiapp")
    proc = await asyncio.create_subprocess_exec(
        str(exe), *args, env=env, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        url = line.decode().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise SystemExit(f"tuiapp {args[0]} did not print its URL (got {line!r})")
        yield proc.pid, url
    finally:
        if proc.returncode is None:
            proc.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 15)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@contextlib.asynccontextmanager
async def _tui(data: Path, origin: str) -> AsyncIterator[tuple[int, str]]:
    """The terminal app in a detached tmux session of its own, with the Board open (F3)."""
    if shutil.which("tmux") is None:
        raise SystemExit("soak --target tui needs tmux (apt-get install tmux)")
    port = _free_port()
    env = _env(data, origin, TUIAPP_HTTP_PORT=str(port))
    exe = Path(sys.executable).with_name("tuiapp")
    session = f"tuiapp-soak-{os.getpid()}"
    # A tmux server of its own: a session made on a server already running takes that
    # server's environment, not ours (the app would miss its data folder and port).
    server = ("-L", session)
    _tmux(*server, "new-session", "-d", "-s", session, "-x", "160", "-y", "48", str(exe), env=env)
    try:
        pid = int(_tmux(*server, "list-panes", "-t", session, "-F", "#{pane_pid}").split()[0])
        url = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session_http:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    async with session_http.get(f"{url}/api/health") as resp:
                        if resp.status == 200:
                            break
                if time.monotonic() > deadline:
                    raise SystemExit("the terminal app's API did not come up within 60 s")
                await asyncio.sleep(0.5)
        await asyncio.sleep(1)
        _tmux(*server, "send-keys", "-t", session, "F3")
        yield pid, url
    finally:
        _tmux(*server, "kill-server", check=False)


def _tmux(*args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    done = subprocess.run(
        ["tmux", *args], env=env, check=check, capture_output=True, text=True, timeout=30
    )
    return done.stdout


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the `postgres` system user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def _postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1 (as the tests start one); yields its URL."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise SystemExit("soak --target postgres needs PostgreSQL (apt-get install postgresql)")
    bindir = Path(found[-1]).parent
    tmp = Path(tempfile.mkdtemp(prefix="tuiapp-soak-pg-"))
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
    data, port = tmp / "data", _free_port()
    options = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1"
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(tmp / "log"), "-w"]
    try:
        subprocess.run(
            _as_postgres(
                [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
            ),
            check=True,
            capture_output=True,
        )
        subprocess.run(_as_postgres([*pg_ctl, "start", "-o", options]), check=True)
        subprocess.run(
            [
                str(bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "soak",
            ],
            check=True,
        )
        yield f"postgres://postgres@127.0.0.1:{port}/soak"
    finally:
        subprocess.run(_as_postgres([*pg_ctl, "-m", "fast", "stop"]), check=False)
        shutil.rmtree(tmp, ignore_errors=True)
