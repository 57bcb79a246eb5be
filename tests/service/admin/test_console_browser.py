"""The console in Debian's Chromium (Playwright), with the demo stack on loopback sockets and the worker running.

An operator logs in, finds an order paid through the simulator, refunds part of it, approves the refund, sees it
succeed (the simulator's refund notification or the worker's query settles it) and sees the webhooks delivered to
the merchant's business system (a local receiver). Chinese must render as Chinese (fonts-noto-cjk), not as boxes.

Screenshots (desktop and phone width) go to ``test-artifacts/console/`` (git-ignored; ``WEIPAY_TEST_ARTIFACTS``
moves it); ``docs/images/console-*.png`` are copies of the SQLite run's.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from weipay.cli._service_demo import DemoStack, ThreadedServer, free_port

CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() == "true"

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.skipif(not os.path.exists(CHROMIUM) and not IN_CI,
                       reason="needs Debian's chromium and CJK fonts: apt-get install -y chromium fonts-noto-cjk "
                              "(CI installs them and never skips)"),
]  # fmt: skip

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
WAIT_S = 60.0


class Receiver:
    """The merchant's business system: an ASGI app that keeps every webhook and answers 200."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[Any], Any]) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        with self._lock:
            self.events.append(json.loads(body or b"{}"))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    def types(self) -> list[str]:
        with self._lock:
            return [str(event.get("type") or event.get("event")) for event in self.events]


def artefacts() -> Path:
    root = Path(os.environ.get("WEIPAY_TEST_ARTIFACTS") or Path(__file__).parents[3] / "test-artifacts")
    directory = root / "console"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    app = Receiver()
    port = free_port("127.0.0.1")
    server = ThreadedServer(app, "127.0.0.1", port)
    server.start()
    try:
        yield app, f"http://127.0.0.1:{port}/hooks/weipay"
    finally:
        server.stop()


@pytest.fixture
def stack(tmp_path: Path, database_url: str, receiver: tuple[Receiver, str]) -> Iterator[DemoStack]:
    # Ten times real time: the refund's 30 s query and the simulator's 2 s processing pass in a few real seconds.
    running = DemoStack(tmp_path / "demo", "127.0.0.1", 0, 0, 0, 10.0, database_url=database_url, merchant={
        "refund_approval_required": True, "webhook_url": receiver[1],
        "webhook_secret": "whsec-console-browser-test-0123456789",
    })  # fmt: skip
    running.start()
    try:
        yield running
    finally:
        running.stop()


def paid_order(stack: DemoStack) -> dict[str, Any]:
    """An order paid by Native through the simulator, as a web shop's would be."""
    merchant = {"Authorization": f"Bearer {stack.api_key}"}
    with httpx.Client(base_url=stack.service_url, headers=merchant, timeout=30) as api:
        order = api.post("/v1/orders", json={"merchant_order_no": "WEB-20261205-0042", "amount": 12800,
                                             "description": "手冲咖啡豆 礼盒装 ×2"}).json()  # fmt: skip
        payment = api.post(f"/v1/orders/{order['id']}/payments", json={"channel": "native"}).json()
        paid = httpx.post(f"{stack.simulator_url}/simulator/payments", timeout=30,
                          json={"code_url": payment["code_url"], "outcome": "success"})  # fmt: skip
        assert paid.status_code == 200, paid.text
        deadline = time.monotonic() + WAIT_S
        while api.get(f"/v1/orders/{order['id']}").json()["status"] != "paid":
            assert time.monotonic() < deadline, "the payment notification never arrived"
            time.sleep(0.2)
        return dict(order)


def glyphs_render(page: Any) -> bool:
    """Whether two different Chinese characters draw differently: without a CJK font both are the same empty box."""
    page.evaluate("""() => {
        for (const [id, text, left] of [['glyph-a', '订', 0], ['glyph-b', '款', 100]]) {
            const span = document.createElement('span');
            span.id = id; span.textContent = text;
            span.style.cssText = `font-size:48px;position:fixed;top:0;left:${left}px;background:#fff;color:#000`;
            document.body.appendChild(span);
        }
    }""")
    first, second = page.locator("#glyph-a").screenshot(), page.locator("#glyph-b").screenshot()
    page.evaluate("for (const id of ['glyph-a', 'glyph-b']) document.getElementById(id).remove()")
    return bool(first != second)


def test_an_operator_refunds_and_approves_an_order_in_the_browser(
    stack: DemoStack, receiver: tuple[Receiver, str], database_url: str
) -> None:
    # Playwright is a test dependency: missing in CI is a failure, elsewhere a skip that says what to install.
    sync_api = importlib.import_module("playwright.sync_api") if IN_CI else pytest.importorskip("playwright.sync_api")
    hooks, _ = receiver
    order = paid_order(stack)
    shots = artefacts()
    suffix = "" if database_url.startswith("sqlite") else "-postgresql"
    blocked: list[str] = []

    def only_loopback(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
            page = context.new_page()
            page.route("**/*", only_loopback)

            page.goto(f"{stack.service_url}/console/")
            assert page.url.endswith("/console/login")
            assert page.locator("h1").inner_text() == "登录"
            assert glyphs_render(page), "Chinese renders as boxes: install fonts-noto-cjk"
            page.fill("input[name=api_key]", stack.admin_key)
            page.get_by_role("button", name="登录").click()
            page.wait_for_url("**/console/")

            page.fill("#filters input[name=q]", order["merchant_order_no"])
            page.get_by_role("button", name="查询").click()
            page.wait_for_url("**q=WEB-20261205-0042**")
            rows = page.locator("#orders tr:not(.head)")
            assert rows.count() == 1 and "¥128.00" in rows.first.inner_text() and "已支付" in rows.first.inner_text()
            page.screenshot(path=shots / f"orders-desktop{suffix}.png", full_page=True)
            page.get_by_role("link", name=order["id"]).click()

            page.wait_for_url(f"**/console/orders/{order['id']}")
            assert page.locator("#order-status").inner_text() == "已支付"
            assert page.locator("#amount").inner_text() == "¥128.00"
            assert page.locator("#timeline tr[data-type='payment.succeeded']").count() == 1
            page.fill("#refund-form input[name=amount]", "38.50")
            page.fill("#refund-form input[name=reason]", "顾客退回一盒")
            page.locator("#refund-form button").click()
            assert page.locator(".notice").inner_text() == "已提交退款。"
            refund_row = page.locator("#refunds tr:not(.head)").first
            assert "待审批" in refund_row.inner_text() and "¥38.50" in refund_row.inner_text()
            page.screenshot(path=shots / f"order-requested-desktop{suffix}.png", full_page=True)

            page.get_by_role("link", name="退款审批").click()
            page.wait_for_url("**/console/refunds")
            assert "¥38.50" in page.locator("#waiting").inner_text()
            page.screenshot(path=shots / f"refunds-desktop{suffix}.png", full_page=True)
            page.locator("#waiting button.approve").click()
            assert page.locator(".notice").inner_text() == "已批准退款，正在提交到微信支付。"

            page.goto(f"{stack.service_url}/console/orders/{order['id']}")
            deadline = time.monotonic() + WAIT_S
            while "退款成功" not in page.locator("#refunds").inner_text():
                assert time.monotonic() < deadline, "the refund never succeeded"
                time.sleep(0.5)
                page.reload()
            while "refund.succeeded" not in hooks.types() or not _delivered_shown(page):
                assert time.monotonic() < deadline, f"webhooks not delivered/shown: {hooks.types()}"
                time.sleep(0.5)
                page.reload()
            assert page.locator("#order-status").inner_text() == "部分退款"
            assert page.locator("#refunded").inner_text() == "¥38.50"
            assert page.locator("#webhooks tr.delivered", has_text="order.paid").count() == 1
            page.screenshot(path=shots / f"order-desktop{suffix}.png", full_page=True)

            sent_before = len(hooks.events)
            paid_row = page.locator("#webhooks tr.delivered", has_text="order.paid")
            paid_row.get_by_role("button", name="重新投递").click()
            assert page.locator(".notice").inner_text() == "已安排重新投递。"
            deadline = time.monotonic() + WAIT_S
            # The attempts are folded (<details>): their text is in the page, not on screen.
            while len(hooks.events) == sent_before or "手动重投" not in str(page.locator("#webhooks").text_content()):
                assert time.monotonic() < deadline, "the redelivery never arrived"
                time.sleep(0.5)
                page.reload()
            again = hooks.events[-1]
            assert again.get("type") == "order.paid"
            assert [e.get("id") for e in hooks.events].count(again.get("id")) == 2  # the same event, sent again

            phone = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                        locale="zh-CN", storage_state=context.storage_state())  # fmt: skip
            small = phone.new_page()
            small.route("**/*", only_loopback)
            small.goto(f"{stack.service_url}/console/orders/{order['id']}")
            assert small.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1  # no sideways scroll
            small.screenshot(path=shots / f"order-phone{suffix}.png", full_page=False)
            small.goto(f"{stack.service_url}/console/")
            assert small.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
            small.screenshot(path=shots / f"orders-phone{suffix}.png", full_page=True)
            phone.close()

            page.get_by_role("link", name="English").click()
            page.wait_for_url(f"**/console/orders/{order['id']}?done=webhook_redelivered")
            assert page.locator("#order-status").inner_text() == "partially refunded"
            page.screenshot(path=shots / f"order-english{suffix}.png", full_page=False)

            page.get_by_role("button", name="Log out").click()
            page.wait_for_url("**/console/login")
            page.goto(f"{stack.service_url}/console/orders/{order['id']}")
            assert page.url.endswith("/console/login")  # the session ended on the server
            context.close()
        finally:
            browser.close()
    assert blocked == []  # the console fetched nothing from outside the service
    assert {"order.paid", "refund.succeeded"} <= set(hooks.types())


def _delivered_shown(page: Any) -> bool:
    """Whether the order page's deliveries table shows the refund's webhook delivered."""
    return bool(page.locator("#webhooks tr.delivered", has_text="order.partially_refunded").count()
                or page.locator("#webhooks tr.delivered", has_text="refund.succeeded").count())
