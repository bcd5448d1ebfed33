"""Scripted sources for engine tests: they yield what a test tells them, when it tells them."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from tuiapp import sources as registry
from tuiapp.sources.base import Found, Source, SourceContext, SourceKind, SourceQuery

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence


@dataclass
class Script:
    """What a scripted source does: yield ``urls`` with ``delay`` before each, then maybe hang."""

    urls: Sequence[str] = ()
    delay: float = 0.0
    hang_after: bool = False
    """After the last URL, wait forever (a search that never ends)."""
    error: Exception | None = None
    """Raised after the URLs."""
    expect: str = "image"
    repeat_forever: bool = False
    """After the URLs, yield the first one again and again without ever awaiting."""
    notice: str | None = None
    """Told to the user through ``ctx.notice`` before searching."""
    active: int = 0
    max_active: int = 0
    calls: int = 0
    contexts: list[SourceContext] = field(default_factory=list)


class ScriptedSource(Source):
    """Base of the scripted sources; each test names its own via :func:`scripted`."""

    kind: ClassVar[SourceKind] = "image_search"
    description = "scripted test source"
    base_url = "http://127.0.0.1:9"
    example = "anything"
    script: ClassVar[Script]

    async def iterate(self, query: SourceQuery, ctx: SourceContext) -> AsyncIterator[Found]:
        script = self.script
        script.calls += 1
        script.contexts.append(ctx)
        if script.notice:
            ctx.notice(script.notice)
        script.active += 1
        script.max_active = max(script.max_active, _total_active())
        try:
            for i, url in enumerate(script.urls):
                if script.delay:
                    await asyncio.sleep(script.delay)
                yield Found(url=url, title=f"item {i}", expect=script.expect)  # type: ignore[arg-type]
            while script.repeat_forever:
                yield Found(url=script.urls[0], title="again", expect=script.expect)  # type: ignore[arg-type]
            if script.error is not None:
                raise script.error
            if script.hang_after:
                await asyncio.Event().wait()
        finally:
            script.active -= 1


_SCRIPTS: dict[str, Script] = {}


def _total_active() -> int:
    return sum(s.active for s in _SCRIPTS.values())


def make_source(name: str, script: Script, **attrs: Any) -> type[Source]:
    cls_name = "".join(p.title() for p in name.split("_")) + "Source"
    body: dict[str, Any] = {"name": name, "script": script, **attrs}
    if "pattern" in attrs and isinstance(attrs["pattern"], str):
        body["pattern"] = re.compile(attrs["pattern"])
    return type(cls_name, (ScriptedSource,), body)


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Script]:
    """``scripted("fake_a", urls=[...])`` registers a scripted source for this test."""
    real_get = registry.get
    extra: dict[str, type[Source]] = {}

    def get(name: str) -> type[Source]:
        return extra[name] if name in extra else real_get(name)

    monkeypatch.setattr(registry, "get", get)
    _SCRIPTS.clear()

    def make(name: str, **kwargs: Any) -> Script:
        attrs = {k: kwargs.pop(k) for k in ("key_setting", "pattern", "takes_query") if k in kwargs}
        script = Script(**kwargs)
        _SCRIPTS[name] = script
        extra[name] = make_source(name, script, **attrs)
        return script

    return make
