"""Benchmark corpora laid out like picsum (`/v2/list` pages and `/id/<id>/<w>/<h>.jpg` files).

Two kinds of files: random bytes behind a JPEG header (no picture in them, cheap to make at any
size), and real photo-like JPEGs of about 50 KB, each its own picture, which decode.
"""

from __future__ import annotations

import io
import json
import os
import random
from pathlib import Path

JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
WIDTH, HEIGHT = 1200, 600
PER_PAGE = 30


def photo(seed: int, width: int = 640, height: int = 480) -> bytes:
    """A photo-like JPEG (a gradient, shapes, grain) of ~50 KB at 640x480; one picture per seed."""
    from PIL import Image, ImageDraw, ImageOps

    rng = random.Random(seed)

    def colour() -> tuple[int, int, int]:
        return rng.randrange(256), rng.randrange(256), rng.randrange(256)

    gradient = Image.linear_gradient("L").resize((width, height))
    img = ImageOps.colorize(gradient, colour(), colour())
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randrange(4, 9)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        w, h = rng.randrange(width // 10, width // 2), rng.randrange(height // 10, height // 2)
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([x0, y0, x0 + w, y0 + h], fill=colour())
    grain = Image.effect_noise((width, height), 40).convert("RGB")
    out = io.BytesIO()
    Image.blend(img, grain, 0.12).save(out, format="JPEG", quality=85)
    return out.getvalue()


def _write_photos(root: Path, first: int, last: int) -> None:
    for i in range(first, last):
        folder = root / "id" / str(i) / str(WIDTH)
        folder.mkdir(parents=True)
        (folder / f"{HEIGHT}.jpg").write_bytes(photo(i))


def make_photo_corpus(root: Path, files: int) -> list[str]:
    """``files`` distinct photo-like JPEGs (made on every core); returns their URL paths."""
    # Imported here: the benchmarks' own process imports this module for its sizes, and
    # multiprocessing would count in their peak RSS (about 1.4 MB) for nothing of tuiapp's.
    from concurrent.futures import ProcessPoolExecutor

    (root / "list").mkdir(parents=True)
    workers = os.cpu_count() or 1
    step = -(-files // workers)
    with ProcessPoolExecutor(workers) as pool:
        for done in pool.map(
            _write_photos,
            [root] * workers,
            range(0, files, step),
            [min(files, i + step) for i in range(0, files, step)],
        ):
            del done
    _write_listing(root, files)
    return [f"/id/{i}/{WIDTH}/{HEIGHT}.jpg" for i in range(files)]


def _write_listing(root: Path, files: int) -> None:
    items = [
        {"id": str(i), "author": "bench", "width": WIDTH, "height": HEIGHT, "url": "u"}
        for i in range(files)
    ]
    (root / "list" / "empty.json").write_text("[]")
    for page in range(1, files // PER_PAGE + 3):
        chunk = items[(page - 1) * PER_PAGE : page * PER_PAGE]
        (root / "list" / f"page-{page}.json").write_text(json.dumps(chunk))


def make_picsum_corpus(root: Path, files: int, size: int) -> list[str]:
    """``files`` distinct files of ``size`` bytes; returns their URL paths."""
    rng = random.Random(1)
    (root / "list").mkdir(parents=True)
    paths = []
    block = 1 << 20
    for i in range(files):
        folder = root / "id" / str(i) / str(WIDTH)
        folder.mkdir(parents=True)
        with (folder / f"{HEIGHT}.jpg").open("wb") as fh:
            fh.write(JPEG_HEAD)
            left = size - len(JPEG_HEAD)
            while left > 0:
                n = min(block, left)
                # Large files: repeat one random block with a varying prefix (cheap to make).
                fh.write(
                    rng.randbytes(n) if size <= 4 * block else os.urandom(16) + b"\0" * (n - 16)
                )
                left -= n
        paths.append(f"/id/{i}/{WIDTH}/{HEIGHT}.jpg")
    _write_listing(root, files)
    return paths


if __name__ == "__main__":
    # Run as a child process by the benchmarks, so making the corpus does not count in their
    # peak memory.
    import sys

    if sys.argv[3] == "photos":
        make_photo_corpus(Path(sys.argv[1]), int(sys.argv[2]))
    else:
        make_picsum_corpus(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
