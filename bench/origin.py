"""A local origin for benchmarks: nginx when installed (fast), else an aiohttp server.

It serves a corpus directory laid out like picsum: `/v2/list?page=N` -> `list/page-N.json`
(past the end: `[]`, as picsum answers), and image files under `/id/...`. aiohttp costs ~0.5 ms
of CPU a request, so below ~1 MB a file it is the bottleneck, not the client being measured;
nginx is not.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import TracebackType

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    types {{ image/jpeg jpg; application/json json; video/mp4 mp4; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location = /v2/list {{
            default_type application/json;
            try_files /list/page-$arg_page.json /list/empty.json;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"the origin did not start on port {port}")


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None
    )


class Origin:
    """``with Origin(root) as origin: origin.url``; ``origin.kind`` is "nginx" or "aiohttp"."""

    def __init__(self, root: Path, prefer_nginx: bool = True) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.kind = "nginx" if prefer_nginx and nginx_binary() else "aiohttp"
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="tuiapp-origin-")

    def __enter__(self) -> Origin:
        if self.kind == "nginx":
            conf = Path(self._tmp.name) / "nginx.conf"
            conf.write_text(NGINX_CONF.format(tmp=self._tmp.name, port=self.port, root=self.root))
            cmd = [str(nginx_binary()), "-c", str(conf), "-e", f"{self._tmp.name}/error.log"]
        else:
            cmd = [sys.executable, "-m", "bench.aiohttp_origin", str(self.root), str(self.port)]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(self.port)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._tmp.cleanup()
