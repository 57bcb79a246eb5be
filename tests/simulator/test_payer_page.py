"""The payer page, driven through the simulator's ASGI app with httpx: listing, escaping, and its buttons' calls."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from weipay.sdk.v2 import signing, xmlcodec
from weipay.simulator.asgi import create_app
from weipay.simulator.bundle import init_bundle
from weipay.simulator.clock import ManualClock
from weipay.simulator.core import SimRequest, Simulator

START_S = 1_700_000_000.0
HOSTILE = "<script>alert('x')</script>\"'&<img src=x onerror=alert(1)>"
SCENE = json.dumps({"h5_info": {"type": "Wap", "wap_url": "https://m.example.com", "wap_name": "shop"}})


@pytest.fixture(scope="module")
def bundle_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("payer-bundle")
    init_bundle(directory)
    return directory


class Page:
    """The simulator behind its real ASGI app, plus a merchant creating v2 orders."""

    def __init__(self, sim: Simulator, clock: ManualClock, received: list[httpx.Request]) -> None:
        self.sim = sim
        self.clock = clock
        self.received = received
        self.app = create_app(sim, mtls=False, run_ticks=False)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://simulator.test") as client:
                return await client.request(method, url, **kwargs)

        return asyncio.run(send())

    def order(self, out_trade_no: str, trade_type: str, **extra: str) -> dict[str, str]:
        fields = {
            "appid": self.sim.account["appids"]["official_account"], "mch_id": self.sim.mchid, "nonce_str": "n",
            "body": "商品", "out_trade_no": out_trade_no, "total_fee": "1234", "spbill_create_ip": "127.0.0.1",
            "notify_url": "http://merchant.test/notify", "trade_type": trade_type, **extra,
        }
        fields["sign"] = signing.sign(fields, self.sim.account["apiv2_key"])
        answer = xmlcodec.from_xml(self.sim.handle(SimRequest("POST", "/pay/unifiedorder",
                                                              body=xmlcodec.to_xml(fields))).body)
        assert answer["result_code"] == "SUCCESS", answer
        return answer


@pytest.fixture
def page(bundle_template: Path, tmp_path: Path) -> Iterator[Page]:
    shutil.copytree(bundle_template, tmp_path / "sim")
    received: list[httpx.Request] = []

    def merchant(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200, content=b"<xml><return_code>SUCCESS</return_code><return_msg>OK</return_msg></xml>")

    clock = ManualClock(START_S)
    sim = Simulator(tmp_path / "sim", clock=clock, notify_transport=httpx.MockTransport(merchant))
    yield Page(sim, clock, received)
    sim.close()


class OrderCards(HTMLParser):
    """Collects the data-* attributes of every ``.order`` card, the way the page's script reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "div" and "order" in attributes.get("class", "").split():
            self.cards.append(attributes)


def cards(html: str) -> list[dict[str, str]]:
    parser = OrderCards()
    parser.feed(html)
    return parser.cards


def button_payload(card: dict[str, str], outcome: str) -> dict[str, str]:
    """What the page's script posts for a card (prepay_id first, then code_url, then mchid + out_trade_no)."""
    if card["data-prepay-id"]:
        return {"outcome": outcome, "prepay_id": card["data-prepay-id"]}
    if card["data-code-url"]:
        return {"outcome": outcome, "code_url": card["data-code-url"]}
    return {"outcome": outcome, "mchid": card["data-mchid"], "out_trade_no": card["data-out-trade-no"]}


def test_page_lists_pending_payments_of_every_channel(page: Page) -> None:
    page.order("JSAPI00001", "JSAPI", openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    native = page.order("NATIVE0001", "NATIVE", product_id="sku")
    page.order("APP0000001", "APP")
    h5 = page.order("MWEB000001", "MWEB", scene_info=SCENE)
    page.order("PAID000001", "APP")
    paid = page.sim.ledger.order(page.sim.mchid, "PAID000001")
    assert paid is not None
    page.sim.pay(paid)
    page.order("SHORT00001", "APP", time_expire="20231115061500")  # expires 100 s after START_S
    page.clock.advance(120)

    response = page.request("GET", "/simulator/payer")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    listed = {card["data-out-trade-no"] for card in cards(response.text)}
    assert listed == {"JSAPI00001", "NATIVE0001", "APP0000001", "MWEB000001"}
    assert "¥12.34" in response.text
    assert native["code_url"] in response.text
    assert response.text.count("<svg") == 1, "the Native order's code_url is drawn as an inline QR code"
    assert h5["mweb_url"].replace("&", "&amp;") in response.text
    assert "<script src" not in response.text and "http://" not in response.text.split("<script>")[1]


def test_page_escapes_merchant_text(page: Page) -> None:
    page.order("EVIL000001", "APP", body=HOSTILE[:128], attach="x")
    html = page.request("GET", "/simulator/payer").text
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(" in html
    evil = page.request("GET", "/simulator/payer", params={"redirect_url": "javascript:alert(1)"}).text
    assert "javascript:alert" not in evil
    back = page.request("GET", "/simulator/payer", params={"redirect_url": "https://shop.example.com/done?a=1&b=2"})
    assert 'href="https://shop.example.com/done?a=1&amp;b=2"' in back.text


def test_pay_button_pays_the_order_and_the_notification_is_listed(page: Page) -> None:
    page.order("JSAPI00001", "JSAPI", openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    page.order("APP0000001", "APP")
    card = next(c for c in cards(page.request("GET", "/simulator/payer").text)
                if c["data-out-trade-no"] == "JSAPI00001")
    answer = page.request("POST", "/simulator/payments", json=button_payload(card, "success"))
    assert answer.status_code == 200
    assert answer.json()["trade_state"] == "SUCCESS"
    order = page.sim.ledger.order(page.sim.mchid, "JSAPI00001")
    assert order is not None and order.state == "SUCCESS"
    assert answer.json()["transaction_id"] == order.transaction_id

    page.sim.tick()
    assert len(page.received) == 1
    html = page.request("GET", "/simulator/payer").text
    assert [c["data-out-trade-no"] for c in cards(html)] == ["APP0000001"]
    deliveries = html.split('id="deliveries"')[1]
    assert "http://merchant.test/notify" in deliveries
    assert "<td>payment</td><td>v2</td>" in deliveries
    assert "<td>200</td>" in deliveries


def test_cancel_and_insufficient_balance_leave_the_order_pending(page: Page) -> None:
    page.order("APP0000001", "APP")
    card = cards(page.request("GET", "/simulator/payer").text)[0]
    for outcome in ("cancel", "insufficient_balance"):
        answer = page.request("POST", "/simulator/payments", json=button_payload(card, outcome))
        assert answer.json()["trade_state"] == "NOTPAY"
    order = page.sim.ledger.order(page.sim.mchid, "APP0000001")
    assert order is not None and order.state == "NOTPAY"
    assert [c["data-out-trade-no"] for c in cards(page.request("GET", "/simulator/payer").text)] == ["APP0000001"]
    paid_twice = page.request("POST", "/simulator/payments", json=button_payload(card, "success"))
    assert paid_twice.json()["trade_state"] == "SUCCESS"
    again = page.request("POST", "/simulator/payments", json=button_payload(card, "success"))
    assert again.status_code == 409


def test_pasted_code_url_pays_the_native_order(page: Page) -> None:
    native = page.order("NATIVE0001", "NATIVE", product_id="sku")
    focused = page.request("GET", "/simulator/payer", params={"code_url": native["code_url"]}).text
    assert f'value="{native["code_url"]}"' in focused
    answer = page.request("POST", "/simulator/payments", json={"code_url": native["code_url"], "outcome": "success"})
    assert answer.json()["trade_state"] == "SUCCESS"


def test_h5_url_lands_on_the_page_focused_on_its_order(page: Page) -> None:
    page.order("APP0000001", "APP")
    h5 = page.order("MWEB000001", "MWEB", scene_info=SCENE)
    landing = page.request("GET", h5["mweb_url"].removeprefix(page.sim.base_url))
    assert landing.status_code == 200
    listed = cards(landing.text)
    assert listed[0]["data-out-trade-no"] == "MWEB000001"
    assert "focused" in listed[0]["class"].split()
    assert "focused" not in listed[1]["class"].split()
    page.request("POST", "/simulator/payments", json=button_payload(listed[0], "success"))
    after = page.request("GET", h5["mweb_url"].removeprefix(page.sim.base_url)).text
    assert "no longer pending (trade_state SUCCESS)" in after
    unknown = page.request("GET", "/simulator/payer", params={"prepay_id": "wx000"}).text
    assert "No such payment" in unknown


@pytest.mark.skipif(
    not os.path.exists("/usr/bin/chromium") and os.environ.get("CI", "").lower() != "true",
    reason="needs Debian's chromium: apt-get install chromium (CI installs it and never skips)",
)
def test_pay_button_in_a_real_browser(page: Page) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    from weipay.simulator.server import start_in_thread

    page.order("APP0000001", "APP")
    with start_in_thread(page.sim, https_port=None) as running, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        tab = browser.new_page()
        tab.goto(running.base_url + "/simulator/payer")
        tab.click("#order-" + page.sim.ledger.order(page.sim.mchid, "APP0000001").prepay_id + " button.pay")
        tab.wait_for_selector("text=trade_state SUCCESS")
        browser.close()
    order = page.sim.ledger.order(page.sim.mchid, "APP0000001")
    assert order is not None and order.state == "SUCCESS"
