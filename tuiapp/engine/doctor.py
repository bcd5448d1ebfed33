"""`tuiapp doctor`: what this installation can and cannot do, source by source.

Three general checks (the data folder, the database, the proxy in use with its password masked),
then one row per source: what it needs (an API key, cookies where the site wants a login, ffmpeg,
a JavaScript runtime, TLS impersonation, a browser's handshake for scraped pages) and whether each
is there, plus, unless offline, a reach test of the site's host (name resolved, TCP connected,
TLS handshake done, within 3 seconds, all sources side by side), made through the proxy the
source's requests take. Each finding says what it looked at and, when something is missing,
what to do about it.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuiapp import sources as registry
from tuiapp.engine.reach import REACH_TIMEOUT, Check, reach
from tuiapp.proxies import proxy_plan
from tuiapp.sources.handshakes import handshake_available
from tuiapp.sources.ytdlp import YtDlpSource, tools

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from tuiapp.config import Settings
    from tuiapp.engine.reach import Resolver
    from tuiapp.jobs import SourceInfo
    from tuiapp.sources.base import Source
    from tuiapp.storage import Storage

__all__ = [
    "REACH_TIMEOUT",
    "Check",
    "DoctorReport",
    "SourceCheck",
    "reach",
    "run_checks",
    "source_checks",
    "source_infos",
    "source_needs",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceCheck:
    """One source: each thing it needs (named ``key``, ``cookies``, ``ffmpeg``, ...) checked."""

    source: str
    needs: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(c.ok for c in self.needs)

    @property
    def missing(self) -> tuple[str, ...]:
        """Why the source is not ready, one short sentence per missing thing."""
        return tuple(c.detail for c in self.needs if not c.ok)

    @property
    def only_optional_missing(self) -> bool:
        """Not ready only for want of the user's own key or login (see ``Check.optional``)."""
        return not self.ready and all(c.ok or c.optional for c in self.needs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "ready": self.ready,
            "needs": [c.to_dict() for c in self.needs],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DoctorReport:
    """The general checks and one row per source; ``ok`` when all of them are."""

    checks: tuple[Check, ...]
    sources: tuple[SourceCheck, ...]
    offline: bool

    @property
    def ok(self) -> bool:
        """Every check passed and every source is ready, or lacks only an optional key."""
        return all(c.ok for c in self.checks) and all(
            s.ready or s.only_optional_missing for s in self.sources
        )

    @property
    def seems_offline(self) -> bool:
        """Sites were tried and none answered: the machine, not each site, is the likely cause."""
        reached = [c.ok for s in self.sources for c in s.needs if c.name == "reach"]
        return not self.offline and bool(reached) and not any(reached)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "offline": self.offline,
            "seems_offline": self.seems_offline,
            "checks": [c.to_dict() for c in self.checks],
            "sources": [s.to_dict() for s in self.sources],
        }


async def run_checks(settings: Settings, storage: Storage) -> list[Check]:
    """Check the data folder, the database and the proxy settings."""
    return [
        await asyncio.to_thread(_data_dir, settings),
        await _database(storage),
        _proxy_setting(settings),
    ]


def _proxy_setting(settings: Settings) -> Check:
    """The proxy requests take (password masked), and standard variables that were ignored."""
    plan = proxy_plan(settings)
    detail = plan.describe()
    own = sorted(plan.per_source)
    if own:
        detail += "; own proxy: " + ", ".join(f"{n} {plan.per_source[n].shown()}" for n in own)
    if plan.proxy is None and plan.no_proxy.strip():
        detail += f"; no_proxy {plan.no_proxy.strip()[:80]}"
    if plan.problems:
        return Check(
            name="proxy",
            ok=False,
            detail=f"{detail}; " + "; ".join(plan.problems),
            advice="fix the proxy variable, or set TUIAPP_PROXY",
        )
    return Check(name="proxy", ok=True, detail=detail)


async def source_checks(
    settings: Settings,
    base_url: Callable[[str], str],
    *,
    offline: bool = False,
    names: Sequence[str] | None = None,
    resolver: Resolver | None = None,
    within: float = REACH_TIMEOUT,
) -> list[SourceCheck]:
    """One row per source (``names``, else all): its needs, then its host's reach test.

    The reach tests run side by side, each within :data:`REACH_TIMEOUT`; ``offline`` skips them.
    """
    classes = [registry.get(n) for n in names] if names is not None else registry.all_sources()
    needs = await asyncio.to_thread(lambda: [source_needs(cls, settings) for cls in classes])
    if offline:
        return [
            SourceCheck(source=cls.name, needs=n) for cls, n in zip(classes, needs, strict=True)
        ]

    plan = proxy_plan(settings)

    async def row(cls: type[Source], found: tuple[Check, ...]) -> SourceCheck:
        if cls.kind == "direct_link":  # a direct link names its own host
            return SourceCheck(source=cls.name, needs=found)
        url = base_url(cls.name)
        proxy = plan.for_url(url, cls.name)
        reached = await reach(url, within=within, resolver=resolver, proxy=proxy)
        return SourceCheck(source=cls.name, needs=(*found, reached))

    return list(await asyncio.gather(*(row(cls, n) for cls, n in zip(classes, needs, strict=True))))


def source_infos(settings: Settings) -> list[SourceInfo]:
    """Every source, with whether it is ready to run here (checked without the network).

    Reads the registry's declarations and this machine's settings and programs only: `tuiapp
    sources` calls it without an :class:`~tuiapp.engine.Engine` (no database, no downloaders).
    """
    from tuiapp.jobs import SourceInfo, SourceOption

    infos = []
    for cls in registry.all_sources():
        needs = source_needs(cls, settings)
        infos.append(
            SourceInfo(
                name=cls.name,
                kind=cls.kind,
                description=cls.description,
                takes_query=cls.takes_query,
                takes_url=cls.takes_url(),
                key_setting=cls.key_setting,
                configured=cls.key_setting is None or settings.api_key(cls.key_setting) is not None,
                base_url=settings.base_urls.get(cls.name, cls.base_url),
                ready=all(n.ok for n in needs),
                missing=tuple(n.detail for n in needs if not n.ok),
                options=tuple(
                    SourceOption(
                        name=o.name,
                        kind=o.kind,
                        help=o.help,
                        expects=o.expects(),
                        choices=o.choices,
                    )
                    for o in cls.options
                ),
                handshake=cls.browser.target if cls.browser is not None else None,
                handshake_available=None
                if cls.browser is None
                else handshake_available(cls.browser.target),
            )
        )
    return infos


def source_needs(cls: type[Source], settings: Settings) -> tuple[Check, ...]:
    """What ``cls`` needs that this installation may lack, each checked (no network)."""
    found: list[Check] = []
    if cls.browser is not None:
        browser = cls.browser.target
        known = handshake_available(browser)
        found.append(
            Check(
                name="handshake",
                ok=known,
                detail=f"pages asked with {browser}'s TLS handshake"
                if known
                else f"curl_cffi is missing or does not know {browser}",
                advice=None if known else "reinstall tuiapp (it brings curl_cffi)",
            )
        )
    if cls.key_setting is not None:
        present = settings.api_key(cls.key_setting) is not None
        found.append(
            Check(
                name="key",
                ok=present,
                detail=f"{cls.key_setting} is set" if present else f"{cls.key_setting} is not set",
                advice=None if present else f"set {cls.key_setting} to use {cls.name}",
                optional=True,
            )
        )
    if not issubclass(cls, YtDlpSource):
        return tuple(found)
    own = settings.source_settings.get(cls.name, {})
    if cls.login_notice is not None:
        found.append(_cookies(cls.name, own))
    found.append(
        _program("ffmpeg", tools.find_ffmpeg, own.get("ffmpeg"), "ffmpeg", "imageio-ffmpeg")
    )
    if cls.name in tools.JS_RUNTIME_SITES:
        found.append(
            _program("JavaScript runtime", tools.find_deno, own.get("deno"), "deno", "deno")
        )
    if cls.name in tools.IMPERSONATION_SITES:
        target = tools.impersonate_target()
        found.append(
            Check(
                name="impersonation",
                ok=target is not None,
                detail=f"impersonating {target}" if target else "no browser to impersonate",
                advice=None if target else "reinstall tuiapp (yt-dlp[curl-cffi])",
            )
        )
    return tuple(found)


def _cookies(name: str, own: Mapping[str, str]) -> Check:
    setting = f"TUIAPP_SOURCE_{name.upper()}__COOKIES"
    browser = (own.get("cookies_from_browser") or "").strip()
    path_text = (own.get("cookies") or "").strip()
    if browser:
        return Check(name="cookies", ok=True, detail=f"cookies from {browser}")
    if not path_text:
        return Check(
            name="cookies",
            ok=False,
            detail=f"{setting} is not set",
            advice=f"set {setting} to the cookies.txt of a logged-in browser",
            optional=True,
        )
    from pathlib import Path

    path = Path(path_text).expanduser()
    if not path.is_file():
        return Check(
            name="cookies",
            ok=False,
            detail=f"cookies file {path} does not exist",
            advice=f"set {setting} to the cookies.txt of a logged-in browser",
        )
    return Check(name="cookies", ok=True, detail=str(path))


def _program(
    name: str, find: Callable[[str | None], str | None], setting: Any, program: str, wheel: str
) -> Check:
    try:
        where = find(setting.strip() if isinstance(setting, str) and setting.strip() else None)
    except FileNotFoundError as exc:
        return Check(name=name, ok=False, detail=str(exc), advice=f"fix the {program} setting")
    if where is None:
        return Check(
            name=name,
            ok=False,
            detail=f"{program} not found",
            advice=f"install {program}, or reinstall tuiapp (the {wheel} package)",
        )
    return Check(name=name, ok=True, detail=where)


def _data_dir(settings: Settings) -> Check:
    path: Path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        return Check(
            name="data folder",
            ok=False,
            detail=f"{path}: {exc.strerror or exc}",
            advice="set TUIAPP_DATA_DIR to a folder you can write",
        )
    return Check(name="data folder", ok=True, detail=str(path))


async def _database(storage: Storage) -> Check:
    try:
        report = await storage.integrity_report()
    except Exception as exc:
        return Check(name="database", ok=False, detail=f"{type(exc).__name__}: {exc}")
    problems = [
        f"{key}: {value}"
        for key, value in report.items()
        if value not in (0, [], "ok") and value is not None
    ]
    if problems:
        return Check(name="database", ok=False, detail="; ".join(problems))
    return Check(name="database", ok=True, detail="reachable, integrity ok")
