"""The fallback benchmark origin: serves a corpus directory like bench/origin.py's nginx."""

from __future__ import annotations

import sys
from pathlib import Path

from aiohttp import web


def make_app(root: Path) -> web.Application:
    async def listing(request: web.Request) -> web.StreamResponse:
        page = root / "list" / f"page-{request.query.get('page', '1')}.json"
        if not page.is_file():
            page = root / "list" / "empty.json"
        return web.Response(body=page.read_bytes(), content_type="application/json")

    app = web.Application()
    app.router.add_get("/v2/list", listing)
    app.router.add_static("/id", root / "id")
    return app


if __name__ == "__main__":
    web.run_app(
        make_app(Path(sys.argv[1])),
        host="127.0.0.1",
        port=int(sys.argv[2]),
        print=None,
        access_log=None,
    )
