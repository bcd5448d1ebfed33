"""Benchmark corpora laid out like picsum (`/v2/list` pages and `/id/<id>/<w>/<h>.jpg` files)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
WIDTH, HEIGHT = 1200, 600
PER_PAGE = 30


def make_picsum_corpus(root: Path, files: int, size: int) -> list[str]:
    """``files`` distinct files of ``size`` bytes; returns their URL paths."""
    rng = random.Random(1)
    (root / "list").mkdir(parents=True)
    items, paths = [], []
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
        items.append(
            {"id": str(i), "author": "bench", "width": WIDTH, "height": HEIGHT, "url": "u"}
        )
        paths.append(f"/id/{i}/{WIDTH}/{HEIGHT}.jpg")
    (root / "list" / "empty.json").write_text("[]")
    for page in range(1, files // PER_PAGE + 3):
        chunk = items[(page - 1) * PER_PAGE : page * PER_PAGE]
        (root / "list" / f"page-{page}.json").write_text(json.dumps(chunk))
    return paths


if __name__ == "__main__":
    # Run as a child process by the benchmarks, so making the corpus does not count in their
    # peak memory.
    import sys

    make_picsum_corpus(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
