"""The built book opens in headless Chromium: no console errors, images loaded, math typeset, offline."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import BUILT_HTML

pytestmark = pytest.mark.book

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
SKIP_PAGES = {"genindex.html", "search.html"}
MATHJAX_TIMEOUT_MS = 15_000


def built_pages() -> list[Path]:
    """Return every content page of the built book."""
    if not BUILT_HTML.exists():
        return []
    return sorted(p for p in BUILT_HTML.rglob("*.html")
                  if p.name not in SKIP_PAGES and "_static" not in p.parts and "_sources" not in p.parts)


def test_book_was_built_with_every_chapter() -> None:
    """make test builds the book first: every page of the table of contents exists as HTML."""
    import yaml

    toc = yaml.safe_load((BUILT_HTML.parent.parent / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    missing = [f for f in files if not (BUILT_HTML / f"{f}.html").exists()]
    assert not missing, f"pages missing from {BUILT_HTML}: {missing} (run `make book`)"


def test_the_root_has_the_favicon_browsers_ask_for() -> None:
    """The root index.html is a bare redirect: a browser may request /favicon.ico, which must exist."""
    assert (BUILT_HTML / "favicon.ico").read_bytes() == (BUILT_HTML.parent.parent / "book" / "_static" /
                                                          "favicon.png").read_bytes()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """Serve the built book on a loopback port for the browser."""
    handler = functools.partial(QuietHandler, directory=str(BUILT_HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """A static file handler that does not log each request."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Discard the request log."""


@pytest.fixture(scope="module")
def browser():
    """Start headless Debian Chromium through Playwright (no browser download)."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium): browser checks skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.mark.parametrize("page_path", built_pages(), ids=lambda p: str(p.relative_to(BUILT_HTML)))
def test_page_renders_cleanly(page_path: Path, server: str, browser) -> None:
    """A page loads without console errors or outside requests, its images load and its math is typeset."""
    page = browser.new_page()
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda req: errors.append(f"failed: {req.url}"))
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith((server, "data:")) else None)
    page.goto(f"{server}/{page_path.relative_to(BUILT_HTML).as_posix()}", wait_until="networkidle")

    broken = page.evaluate("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    math_count = page.locator(".math").count()
    if math_count:
        page.wait_for_function(
            f"document.querySelectorAll('mjx-container').length >= {math_count}", timeout=MATHJAX_TIMEOUT_MS)
    page.close()
    assert not errors, f"console errors: {errors}"
    assert not outside, f"requests leaving the machine: {outside}"
    assert not broken, f"images that did not load: {broken}"
