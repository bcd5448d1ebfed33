"""A picsum-shaped origin for long runs: `/v2/list?page=N` and `/id/<id>/<w>/<h>.jpg`.

Unlike picsum's fixed catalogue, every listing names photos never listed before (ids count up
across requests), so a steady stream of jobs stores new files rather than finding the same ones
again. Each photo is a small JPEG of random pixels (about 10 KB, distinct bytes and a distinct
perceptual hash per id), made on request: nothing is kept between requests.

Run as ``python -m bench.picsum_origin PORT`` (loopback only) or build it with :func:`make_app`.
"""

from __future__ import annotations

import io
import itertools
import random
import sys
from typing import TYPE_CHECKING

from aiohttp import web
from PIL import Image

if TYPE_CHECKING:
    from collections.abc import Iterable

PAGE_SIZE = 30
CATALOGUE_PAGES = 30
SIDE = 96
"""Width and height of every photo, in pixels."""


def photo(photo_id: int) -> bytes:
    """A JPEG of blocks of random colours: the same id gives the same bytes."""
    rng = random.Random(photo_id)
    small = Image.frombytes("RGB", (12, 12), rng.randbytes(12 * 12 * 3))
    img = small.resize((SIDE, SIDE), Image.Resampling.NEAREST)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=85)
    return out.getvalue()


def make_app(*, fixed: bool = False) -> web.Application:
    """``fixed``: picsum's own behaviour, the same photos on a page at every listing."""
    ids = itertools.count(1)

    async def listing(request: web.Request) -> web.StreamResponse:
        base = f"{request.scheme}://{request.host}"
        if fixed:
            raw = request.query.get("page", "1")
            page = int(raw) if raw.isdigit() else 1
            if not 1 <= page <= CATALOGUE_PAGES:
                return web.json_response([])
            first = (page - 1) * PAGE_SIZE + 1
            pids: Iterable[int] = range(first, first + PAGE_SIZE)
        else:
            pids = itertools.islice(ids, PAGE_SIZE)
        items = [
            {
                "id": str(pid),
                "width": SIDE,
                "height": SIDE,
                "url": f"{base}/photos/{pid}",
                "author": f"Author {pid}",
            }
            for pid in pids
        ]
        return web.json_response(items)

    async def image(request: web.Request) -> web.StreamResponse:
        try:
            pid = int(request.match_info["id"])
        except ValueError:
            return web.Response(status=404, text="no such photo")
        return web.Response(body=photo(pid), content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/v2/list", listing)
    app.router.add_get("/id/{id}/{w}/{name}", image)
    return app


if __name__ == "__main__":
    web.run_app(
        make_app(fixed="--fixed" in sys.argv[2:]),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        print=None,
        access_log=None,
    )
