"""robohash.org: a robot (or monster, head, cat, avatar) drawn from the hash of any text."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote

from tuiapp.sources.base import Found, Option, Source, SourceContext, SourceKind, SourceQuery

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

SETS = ("set1", "set2", "set3", "set4", "set5")
SET_NAMES = {
    "set1": "robot",
    "set2": "monster",
    "set3": "robot head",
    "set4": "cat",
    "set5": "human",
}


class RobohashSource(Source):
    name = "robohash"
    kind: ClassVar[SourceKind] = "image_generator"
    description = "Robots, monsters and cats drawn from your words by robohash.org"
    base_url = "https://robohash.org"
    example = "https://robohash.org/tuiapp.png?set=set4"
    pattern = re.compile(r"^https?://robohash\.org/(?P<path>\S+)$")
    options = (
        Option(
            "size",
            "str",
            "image size in pixels (default 300x300)",
            pattern=r"\d{1,4}x\d{1,4}",
            shape="WIDTHxHEIGHT such as 300x300",
        ),
        Option(
            "set",
            "choice",
            "one kind only: "
            + ", ".join(f"{s} {n}s" for s, n in SET_NAMES.items())
            + " (default: each in turn)",
            choices=SETS,
        ),
    )

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        opts = self.read_options(query)
        size: str = opts.get("size", "300x300")
        if query.is_url:
            match = self.pattern.match(query.text) if self.pattern else None
            if match:
                yield Found(url=f"{ctx.base_url}/{match['path']}", title="robohash")
            return
        sets = [opts["set"]] if "set" in opts else list(SETS)
        index = 0
        while True:
            robot_set = sets[index % len(sets)]
            text = query.text if index < len(sets) else f"{query.text}-{index // len(sets)}"
            yield Found(
                url=f"{ctx.base_url}/{quote(text, safe='')}.png?set={robot_set}&size={size}",
                title=f"{text} ({SET_NAMES[robot_set]})",
                width=int(size.split("x")[0]),
                height=int(size.split("x")[1]),
                license="CC-BY-3.0 (robohash.org artwork)",
                metadata={"set": robot_set, "text": text},
            )
            index += 1
