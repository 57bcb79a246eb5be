"""The checkout page in Debian's Chromium (Playwright), with the demo stack on loopback sockets: the simulator's
payer pays on the simulator's own payer page, and the checkout page turns to paid by itself.

Screenshots (desktop and phone width, before and after paying) go to ``test-artifacts/checkout/`` (git-ignored;
``WEIPAY_TEST_ARTIFACTS`` moves it); ``docs/images/checkout-*.png`` are copies of them.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from weipay.cli._service_demo import DemoStack

CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() == "true"

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.skipif(not os.path.exists(CHROMIUM) and not IN_CI,
                       reason="needs Debian's chromium and CJK fonts: apt-get install -y chromium fonts-noto-cjk "
                              "(CI installs them and never skips)"),
]  # fmt: skip

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def artefacts() -> Path:
    root = Path(os.environ.get("WEIPAY_TEST_ARTIFACTS") or Path(__file__).parents[3] / "test-artifacts")
    directory = root / "checkout"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def stack(tmp_path: Path, database_url: str) -> Iterator[DemoStack]:
    running = DemoStack(tmp_path / "demo", "127.0.0.1", 0, 0, 0, 1.0, database_url=database_url)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def checkout_link(stack: DemoStack) -> tuple[str, str]:
    """A new order's id and its signed checkout URL."""
    merchant = {"Authorization": f"Bearer {stack.api_key}"}
    with httpx.Client(base_url=stack.service_url, headers=merchant, timeout=30) as api:
        order = api.post("/v1/orders", json={"merchant_order_no": "WEB-20261205-0042", "amount": 1234,
                                             "description": "手冲咖啡豆 250g"})  # fmt: skip
        assert order.status_code == 201, order.text
        order_id = order.json()["id"]
        answer = api.post(f"/v1/orders/{order_id}/checkout-link")
        assert answer.status_code == 200, answer.text
        return order_id, str(answer.json()["url"])


def test_the_page_turns_paid_by_itself_when_the_payer_pays(stack: DemoStack, database_url: str) -> None:
    # Playwright is a test dependency: missing in CI is a failure, elsewhere a skip that says what to install.
    sync_api = importlib.import_module("playwright.sync_api") if IN_CI else pytest.importorskip("playwright.sync_api")
    order_id, url = checkout_link(stack)
    blocked: list[str] = []
    shots = artefacts()
    suffix = "" if database_url.startswith("sqlite") else "-postgresql"

    def only_loopback(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            desktop = browser.new_page(viewport=DESKTOP, locale="zh-CN")
            desktop.route("**/*", only_loopback)
            desktop.goto(url)
            qr = desktop.locator("#qr")
            qr.wait_for(timeout=20_000)
            assert desktop.evaluate("document.getElementById('qr').naturalWidth") > 0  # the SVG loaded
            assert desktop.locator("#amount").inner_text().replace("\n", "") == "¥12.34"
            assert desktop.locator("#paid").is_hidden()
            desktop.wait_for_function("document.getElementById('countdown').textContent.includes(':')")
            desktop.screenshot(path=shots / f"desktop-pending{suffix}.png", full_page=True)

            phone_context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                                has_touch=True, locale="zh-CN")  # fmt: skip
            phone = phone_context.new_page()
            phone.route("**/*", only_loopback)
            phone.goto(url)
            phone.locator("#qr").wait_for(timeout=20_000)
            phone.wait_for_function("document.getElementById('countdown').textContent.includes(':')")
            phone.screenshot(path=shots / f"phone-pending{suffix}.png", full_page=True)
            # Nothing reloads from here on: a marker set now must survive until the page shows paid.
            desktop.evaluate("window.stillTheSamePage = true")

            payer = browser.new_page(viewport=DESKTOP)
            payer.goto(f"{stack.simulator_url}/simulator/payer")
            card = payer.locator(".order", has_text="手冲咖啡豆 250g")
            card.locator("button.pay").click()
            payer.locator(".result", has_text="trade_state SUCCESS").first.wait_for(timeout=20_000)

            desktop.locator("#paid").wait_for(state="visible", timeout=30_000)
            assert desktop.evaluate("window.stillTheSamePage") is True
            assert desktop.locator("#pending").is_hidden()
            assert "支付成功" in desktop.locator("#paid").inner_text()
            desktop.screenshot(path=shots / f"desktop-paid{suffix}.png", full_page=True)
            phone.locator("#paid").wait_for(state="visible", timeout=30_000)
            phone.screenshot(path=shots / f"phone-paid{suffix}.png", full_page=True)
            phone_context.close()
        finally:
            browser.close()
    assert blocked == []  # the page fetched nothing from outside the service
    with httpx.Client(base_url=stack.service_url, timeout=30) as api:
        order = api.get(f"/v1/orders/{order_id}", headers={"Authorization": f"Bearer {stack.api_key}"}).json()
    assert order["status"] == "paid"
