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
    from collections.abc import Iterator


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
"""The session's server: its data directory, log file and options."""


class PostgresControl:
    """Stops, starts and restarts the session's server (a fast shutdown cuts every connection);
    each waits until the server has done it."""

    def __init__(self, bindir: Path) -> None:
        self._bindir = bindir

    def _pg_ctl(self, *args: str) -> None:
        # -l: without a log file the server would keep the captured stdout open for good.
        subprocess.run(
            _as_postgres([str(self._bindir / "pg_ctl"), "-D", _RUNNING["data"], "-l",
                          _RUNNING["log"], "-w", *args]),
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "stop")

    def start(self) -> None:
        self._pg_ctl("start", "-o", _RUNNING["options"])

    def restart(self) -> None:
        self._pg_ctl("-m", "fast", "restart")


@pytest.fixture
def postgres_control(postgres_server: str) -> Iterator[PostgresControl]:
    bindir = _binaries()
    assert bindir is not None
    control = PostgresControl(bindir)
    yield control
    if subprocess.run(  # a test that failed half-way leaves the server running for the others
        _as_postgres([str(bindir / "pg_ctl"), "-D", _RUNNING["data"], "status"]),
        capture_output=True, check=False,
    ).returncode != 0:  # fmt: skip
        control.start()


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
    options = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off"
    try:
        subprocess.run(
            _as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]),
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            _as_postgres([
                str(bindir / "pg_ctl"), "-D", str(data), "-l", str(tmp / "log"), "-w", "start",
                "-o", options,
            ]),
            check=True, capture_output=True,
        )  # fmt: skip
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.skip(f"PostgreSQL could not start here: {exc}")
    _RUNNING["data"] = str(data)
    _RUNNING["log"] = str(tmp / "log")
    _RUNNING["options"] = options
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
