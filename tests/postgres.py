"""A throwaway PostgreSQL server for the tests that need one (skipped where none can run).

The server runs from Debian's postgresql package on 127.0.0.1 with a data directory in a
temporary folder; each test gets a database of its own.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return Path(found[-1]).parent if found else None


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the `postgres` system user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_RUNNING: dict[str, str] = {}
"""The session's server: its data directory and log file."""


@pytest.fixture
def restart_postgres(postgres_server: str) -> Callable[[], None]:
    """Restart the session's server (a fast shutdown: every connection is cut), and wait
    until it answers again."""
    bindir = _binaries()
    assert bindir is not None

    def restart() -> None:
        subprocess.run(
            # -l: without a log file the server would keep the captured stdout open for good.
            _as_postgres([str(bindir / "pg_ctl"), "-D", _RUNNING["data"], "-l", _RUNNING["log"],
                          "-m", "fast", "-w", "restart"]),
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    return restart


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """``postgres://postgres@127.0.0.1:PORT`` of a server that lives for the test session."""
    bindir = _binaries()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL")
    tmp = Path(tempfile.mkdtemp(prefix="tuiapp-pg-"))
    data = tmp / "data"
    port = _free_port()
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
    try:
        subprocess.run(
            _as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]),
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            _as_postgres([
                str(bindir / "pg_ctl"), "-D", str(data), "-l", str(tmp / "log"), "-w", "start",
                "-o", f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off",
            ]),
            check=True, capture_output=True,
        )  # fmt: skip
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.skip(f"PostgreSQL could not start here: {exc}")
    _RUNNING["data"] = str(data)
    _RUNNING["log"] = str(tmp / "log")
    yield f"postgres://postgres@127.0.0.1:{port}"
    _RUNNING.clear()
    subprocess.run(
        _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
        check=False, capture_output=True,
    )  # fmt: skip
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the session's server."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    port = postgres_server.rsplit(":", 1)[1]
    bindir = _binaries()
    assert bindir is not None
    subprocess.run(
        [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", port, "-U", "postgres", name],
        check=True, capture_output=True,
    )  # fmt: skip
    return f"{postgres_server}/{name}"
