"""/docs and /redoc work with no internet: their pages load Swagger UI and ReDoc from the service itself."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
import pytest

from weipay.cli._service_demo import ThreadedServer, free_port
from weipay.service.api import create_app

from ..web_harness import Harness

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class AssetLinks(HTMLParser):
    """Every URL a page makes the browser fetch by itself: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src"}.get(tag)
        self.urls += [value for name, value in attrs if name == wanted and value]


def asset_urls(html: str) -> list[str]:
    parser = AssetLinks()
    parser.feed(html)
    # Swagger UI's page also names its assets inside the inline script (SwaggerUIBundle({url: ...})).
    return parser.urls + re.findall(r"""url:\s*['"]([^'"]+)['"]""", html)


@pytest.fixture
def served(harness: Harness) -> Iterator[str]:
    """The service on a real loopback port (a browser needs one); its WeChat side is never called here."""
    app = create_app(harness.settings)
    server = ThreadedServer(app, "127.0.0.1", free_port("127.0.0.1"))
    server.start()
    yield f"http://127.0.0.1:{server.port}"
    server.stop()
    app.state.api.close()


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_doc_pages_name_only_the_services_own_assets(served: str, page: str) -> None:
    html = httpx.get(served + page, timeout=60).text
    urls = asset_urls(html)
    assert len(urls) >= 2, html  # the UI's JavaScript and the OpenAPI document, at least
    assert [url for url in urls if urlsplit(url).scheme or url.startswith("//")] == []
    for url in urls:
        assert httpx.get(served + url, timeout=60).status_code == 200, url


@pytest.mark.skipif(
    not os.path.exists("/usr/bin/chromium") and os.environ.get("CI", "").lower() != "true",
    reason="needs Debian's chromium: apt-get install chromium (CI installs it and never skips)",
)
def test_docs_render_every_operation_in_a_browser_cut_off_from_the_internet(served: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    operations = sum(len(item) for item in httpx.get(served + "/openapi.json", timeout=60).json()["paths"].values())
    blocked: list[str] = []

    def only_loopback(route: object) -> None:
        request = route.request  # type: ignore[attr-defined]
        if urlsplit(request.url).hostname == "127.0.0.1":
            route.continue_()  # type: ignore[attr-defined]
        else:
            blocked.append(request.url)
            route.abort()  # type: ignore[attr-defined]

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        try:
            tab = browser.new_page()
            tab.route("**/*", only_loopback)
            tab.goto(served + "/docs")
            tab.wait_for_selector(".opblock-summary-path[data-path='/v1/orders']", timeout=20_000)
            assert tab.locator(".opblock").count() == operations
            tab.goto(served + "/redoc")
            tab.wait_for_selector("h2:has-text('Create an order')", timeout=20_000)
            assert tab.locator("[data-section-id^='tag/']").count() >= 5
        finally:
            browser.close()
    # ReDoc's side menu shows a "by Redocly" badge whose image it links from its CDN; offline it is a broken
    # image in the corner, and nothing the page needs. Anything else fetched from outside fails the test.
    assert set(blocked) <= {"https://cdn.redoc.ly/redoc/logo-mini.svg"}
