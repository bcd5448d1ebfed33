"""The web page in a real browser: Debian's chromium driven by Playwright.

Against a local picsum-shaped origin: a job started from the page by its labels reaches done on
the Board, its files show their thumbnails, hostile titles and authors stay text, no request
leaves 127.0.0.1, signing in with a token works when guests are off, and a page of another
origin cannot start a job. Skipped, saying why, without chromium or Playwright
(``make test`` installs chromium with apt when it runs as root).
"""

from __future__ import annotations

import contextlib
import shutil
import zipfile
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web

from tests import images
from tests.serverkit import serve_picsum
from tuiapp import sources as registry
from tuiapp.jobs import JobSpec
from tuiapp.server import start_server

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from playwright.async_api import Browser, Page
    from pytest_aiohttp import AiohttpServer

    from tests.replay import ReplayServer
    from tuiapp.engine import Engine

    EngineFactory = Callable[..., Awaitable[Engine]]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
async_api = pytest.importorskip(
    "playwright.async_api", reason="Playwright is not installed (pip install -e '.[test]')"
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed: `make test` installs it as root (apt-get install chromium)",
)

HOSTILE_AUTHOR = "<script>window.pwned = 'author'</script>"
HOSTILE_ID = "<img src=x onerror=window.pwned='title'>"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_api.async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            await launched.close()


class Outside:
    """Every request the page makes; those to anywhere but 127.0.0.1 are aborted and kept."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.refused: list[str] = []

    async def attach(self, page: Page) -> None:
        async def check(route: Any) -> None:
            url = route.request.url
            self.seen.append(url)
            if urlsplit(url).hostname != "127.0.0.1":
                self.refused.append(url)
                await route.abort()
            else:
                await route.continue_()

        await page.route("**/*", check)


def hostile_photos(count: int) -> dict[str, bytes]:
    """Picsum photos, the first with a hostile id (it lands in the title), 64x48 each."""
    ids = [HOSTILE_ID, *(str(i) for i in range(2, count + 1))]
    return {pid: images.png(64, 48, seed=n) for n, pid in enumerate(ids)}


def serve_hostile_picsum(replay: ReplayServer, count: int) -> None:
    serve_picsum(replay, hostile_photos(count))
    listing = replay.routes["/v2/list"]

    async def with_hostile_authors(request: web.Request) -> web.StreamResponse:
        resp = await listing(request)
        assert isinstance(resp, web.Response) and resp.text is not None
        return web.Response(
            text=resp.text.replace('"Author ', '"' + HOSTILE_AUTHOR.replace('"', '\\"') + " "),
            content_type="application/json",
        )

    replay.add("/v2/list", with_hostile_authors)


@contextlib.asynccontextmanager
async def api_origin(engine: Engine) -> AsyncIterator[str]:
    """The API (and its page) served for ``engine`` on a free port of 127.0.0.1."""
    server = await start_server(engine, "127.0.0.1", 0)
    try:
        yield server.url
    finally:
        await server.close()


@pytest.fixture
async def guests_engine(engine_factory: EngineFactory, replay: ReplayServer) -> Engine:
    return await engine_factory(base_urls={name: replay.url() for name in registry.names()})


@pytest.fixture
async def url(guests_engine: Engine) -> AsyncIterator[str]:
    async with api_origin(guests_engine) as served:
        yield served


async def new_page(browser: Browser, outside: Outside, **options: Any) -> Page:
    context = await browser.new_context(**options)
    page = await context.new_page()
    await outside.attach(page)
    return page


async def test_a_job_started_by_its_labels_reaches_done_and_shows_its_thumbnails(
    browser: Browser, url: str, replay: ReplayServer, guests_engine: Engine
) -> None:
    serve_hostile_picsum(replay, 5)
    outside = Outside()
    page = await new_page(
        browser, outside, viewport={"width": 1440, "height": 900}, accept_downloads=True
    )
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    await page.goto(url + "/")
    await page.get_by_label("Query").fill("anything")
    await page.get_by_label("picsum", exact=True).check()
    await page.get_by_label("Count").fill("5")
    await page.get_by_label("width", exact=True).fill("64")  # an option picsum declares
    await page.get_by_role("button", name="Start").click()

    await page.get_by_role("heading", name="Board").wait_for()
    card = page.locator("section.job").first
    await card.locator(".badge.state-done").first.wait_for(timeout=20_000)
    assert await card.locator(".source-row .count").inner_text() == "5/5"
    (job,) = await guests_engine.list_jobs(None)
    assert (job.query, job.count, job.options) == ("anything", 5, {"width": 64})

    await card.get_by_role("link").first.click()
    await page.get_by_role("heading", name="Files").wait_for()
    thumbs = page.locator(".grid img")
    await page.wait_for_function(
        "() => { const i = [...document.querySelectorAll('.grid img')];"
        " return i.length === 5 && i.every((x) => x.complete && x.naturalWidth > 0); }",
        timeout=15_000,
    )
    assert await thumbs.count() == 5
    widths = await thumbs.evaluate_all("(imgs) => imgs.map((i) => i.naturalWidth)")
    assert widths == [64] * 5  # small pictures stay their size (WebP thumbnails)

    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download all (zip)").click()
    download = await download_info.value
    saved = await download.path()
    with zipfile.ZipFile(saved) as archive:
        pictures = [n for n in archive.namelist() if n.endswith(".png")]
    assert len(pictures) == 5, archive.namelist()

    # The hostile id is in a title: shown as text, no element made of it, no script run.
    caption = page.locator(".tile .caption", has_text="onerror")
    assert await caption.inner_text() == f"Picsum photo {HOSTILE_ID}"
    await caption.click()
    await page.locator("dl.facts").wait_for()
    author = page.locator("dd", has_text="<script>")
    assert (await author.inner_text()).startswith(HOSTILE_AUTHOR)
    assert await page.evaluate("() => window.pwned === undefined")
    assert await page.locator("main script, main img[src='x']").count() == 0
    assert (
        await page.locator(".viewer img").evaluate("(i) => i.decode().then(() => i.naturalWidth)")
        == 64
    )

    assert outside.refused == [], outside.refused
    assert all(urlsplit(u).hostname == "127.0.0.1" for u in outside.seen)
    assert errors == []


async def test_the_page_asks_for_a_token_when_guests_are_off_and_signs_out_on_the_server(
    browser: Browser, engine_factory: EngineFactory, replay: ReplayServer
) -> None:
    engine = await engine_factory(
        allow_guests=False, base_urls={name: replay.url() for name in registry.names()}
    )
    user, token = await engine.create_user("ada")
    async with api_origin(engine) as url:
        outside = Outside()
        page = await new_page(browser, outside, viewport={"width": 390, "height": 844})
        await page.goto(url + "/")
        await page.get_by_role("heading", name="Sign in").wait_for()
        await page.get_by_label("Token").fill("not-the-token")
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_text("that API token is not valid").wait_for()

        await page.get_by_label("Token").fill(token)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("heading", name="New job").wait_for()
        await page.get_by_text("ada").wait_for()
        (cookie,) = await page.context.cookies()
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert await page.evaluate("() => document.cookie") == ""

        await page.get_by_role("button", name="Sign out").click()
        await page.get_by_role("heading", name="Sign in").wait_for()
        assert await engine.session_user(cookie["value"]) is None  # ended on the server
        assert user.id > 0 and outside.refused == []


EVIL_PAGE = """<!doctype html><title>elsewhere</title><body>
<form id="f" method="post" action="{api}/api/jobs" enctype="text/plain">
<input name='{{"query":"x","sources":["picsum"],"count":1,"x":"' value='"}}'></form>
<script>
(async () => {{
  const body = JSON.stringify({{query: "x", sources: ["picsum"], count: 1}});
  const tries = [
    fetch("{api}/api/jobs", {{method: "POST", credentials: "include", body,
      headers: {{"Content-Type": "application/json"}}}}).then(r => r.status, e => "refused"),
    fetch("{api}/api/jobs", {{method: "POST", mode: "no-cors", credentials: "include", body,
      headers: {{"Content-Type": "text/plain"}}}}).then(r => r.type, e => "refused"),
  ];
  document.title = (await Promise.all(tries)).join(",");
}})();
</script></body>"""


async def test_a_page_of_another_origin_cannot_start_a_job(
    browser: Browser,
    engine_factory: EngineFactory,
    replay: ReplayServer,
    aiohttp_server: AiohttpServer,
) -> None:
    serve_picsum(replay, {"1": images.png(64, 48, seed=1)})
    engine = await engine_factory(
        allow_guests=False, base_urls={name: replay.url() for name in registry.names()}
    )
    _, token = await engine.create_user("ada")
    async with api_origin(engine) as url:
        evil = web.Application()

        async def evil_page(request: web.Request) -> web.Response:
            return web.Response(text=EVIL_PAGE.format(api=url), content_type="text/html")

        evil.router.add_get("/", evil_page)
        elsewhere = await aiohttp_server(evil, host="127.0.0.1")
        outside = Outside()
        page = await new_page(browser, outside)
        # Signed in on the real page first: the session cookie is in this browser.
        await page.goto(url + "/")
        await page.get_by_label("Token").fill(token)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("heading", name="New job").wait_for()

        answers: list[tuple[str, int]] = []
        page.on("response", lambda r: answers.append((r.url, r.status)))
        await page.goto(str(elsewhere.make_url("/")))
        await page.wait_for_function("() => document.title.includes(',')")
        # A JSON POST needs a preflight the API never consents to; a no-cors one is refused its
        # answer too (Cross-Origin-Resource-Policy: same-origin), after the API refused it.
        assert await page.title() == "refused,refused"
        await page.evaluate("() => document.getElementById('f').submit()")
        await page.wait_for_url(url + "/api/jobs")  # the form went, with the cookie
        assert (url + "/api/jobs", 403) in answers
        user = await engine.user_named("ada")
        assert await engine.list_jobs(user.id) == []
        assert outside.refused == []


async def test_a_refused_job_shows_the_apis_sentence_next_to_its_field(
    browser: Browser, url: str
) -> None:
    outside = Outside()
    page = await new_page(browser, outside, viewport={"width": 390, "height": 844})
    await page.goto(url + "/")
    await page.get_by_label("Query").fill("x")
    await page.get_by_label("picsum", exact=True).check()
    await page.get_by_label("Count").fill("0")
    await page.get_by_role("button", name="Start").click()
    count_error = page.locator("#count-error")
    await count_error.wait_for()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url + "/api/jobs", json={"query": "x", "sources": ["picsum"], "count": 0}
        ) as resp,
    ):
        assert resp.status == 400
        said = (await resp.json())["error"]["message"]
    assert await count_error.inner_text() == said
    assert await page.evaluate("() => document.activeElement.id") == "count"

    await page.get_by_label("Count").fill("3")
    await page.get_by_label("Query").fill("")
    await page.get_by_role("button", name="Start").click()
    await page.locator("#query-error").wait_for()
    assert await page.locator("#count-error").is_hidden()
    assert outside.refused == []


async def test_the_page_is_usable_by_keyboard_alone(browser: Browser, url: str) -> None:
    page = await new_page(browser, Outside())
    await page.goto(url + "/")
    await page.get_by_role("heading", name="New job").wait_for()
    blur = "() => document.activeElement.blur()"  # out of the query box: keys are shortcuts
    for key, title in (("h", "History"), ("b", "Board"), ("n", "New job")):
        await page.evaluate(blur)
        await page.keyboard.press(key)
        await page.get_by_role("heading", name=title, exact=True).wait_for()
    await page.evaluate(blur)
    await page.keyboard.press("?")
    help_box = page.get_by_role("dialog", name="Keyboard shortcuts")
    await help_box.wait_for()
    await page.keyboard.press("Escape")
    await help_box.wait_for(state="hidden")
    # Tab reaches the nav links, and focus is drawn (an outline).
    await page.evaluate(blur)
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    outline = await page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"


async def test_history_reruns_and_deletes_a_job_after_asking(
    browser: Browser, url: str, replay: ReplayServer, guests_engine: Engine
) -> None:
    serve_picsum(replay, {"1": images.png(64, 48, seed=1)})
    first = await guests_engine.submit(JobSpec(query="cats", sources=("picsum",), count=1))
    await guests_engine.wait(first.id, None)
    page = await new_page(browser, Outside())
    await page.goto(url + "/#/history")
    row = page.locator(".job-list li", has_text="cats")
    await row.wait_for()

    await row.get_by_role("button", name="Re-run").click()
    await page.get_by_role("heading", name="Board").wait_for()
    await page.locator("section.job", has_text="#2").wait_for()
    await guests_engine.wait(2, None)

    await page.keyboard.press("h")
    await page.locator(".job-list li").nth(1).wait_for()
    await page.locator(".job-list li", has_text="#1").get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_text("Delete job 1 and its files?").wait_for()
    await dialog.get_by_role("button", name="Keep it").click()
    assert len(await guests_engine.list_jobs(None)) == 2

    await page.locator(".job-list li", has_text="#1").get_by_role("button", name="Delete").click()
    await dialog.get_by_role("button", name="Delete").click()
    await page.locator(".job-list li", has_text="#1").wait_for(state="detached")
    assert [j.id for j in await guests_engine.list_jobs(None)] == [2]
