"""The hosted checkout page over HTTP (SQLite and PostgreSQL), with the simulator as WeChat: the signed link, the
states a payer sees, the status endpoint that never asks WeChat, the language and the page's own headers."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from weipay.service.api.checkout_link import CheckoutLinks
from weipay.service.api.checkout_text import choose_language

from ..web_harness import OTHER_API_KEY, SERVICE_URL, Harness


def link(harness: Harness, order_id: str, **options: Any) -> str:
    """The signed page path (relative) the merchant's link names."""
    answer = harness.api.post(f"/v1/orders/{order_id}/checkout-link", headers=harness.merchant, json=options or None)
    assert answer.status_code == 200, answer.text
    url = answer.json()["url"]
    assert url.startswith(f"{SERVICE_URL}/pay/{order_id}?sig=")
    return str(url.removeprefix(SERVICE_URL))


def status_path(page_path: str) -> str:
    path, _, query = page_path.partition("?")
    return f"{path}/status?{query}"


def calls(harness: Harness, order_id: str) -> list[dict[str, Any]]:
    """The order's call log (every WeChat call the service made for it)."""
    answer = harness.api.get(f"/v1/orders/{order_id}/calls", headers=harness.merchant)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["calls"])


class Visible(HTMLParser):
    """The ids of the page's sections that are not ``hidden``, and every URL the page makes the browser fetch."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.fetched: list[str] = []
        self.links: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "section" and "hidden" not in attributes:
            self.sections.append(attributes.get("id") or "")
        if tag in ("img", "script", "link") and (attributes.get("src") or attributes.get("href")):
            self.fetched.append(attributes.get("src") or attributes.get("href") or "")
        if tag == "a" and attributes.get("id"):
            self.links[attributes["id"] or ""] = attributes.get("href") or ""


def parse(html: str) -> Visible:
    parser = Visible()
    parser.feed(html)
    return parser


def test_a_pending_order_shows_amount_payee_and_a_qr_code_it_starts_itself(harness_factory: Any) -> None:
    harness = harness_factory(display_name="Weipay 咖啡馆")
    order = harness.create_order(1234, description="拿铁 <大杯>")
    page = harness.api.get(link(harness, order["id"]))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "¥</small>12.34" in html and "拿铁 &lt;大杯&gt;" in html and "Weipay 咖啡馆" in html
    assert order["merchant_order_no"] in html and "微信支付收银台" in html
    view = parse(html)
    assert view.sections == ["pending"]
    (qr_src,) = view.fetched  # the QR image, from the service itself; nothing else is fetched (no CDN)
    assert qr_src.startswith(f"/v1/orders/{order['id']}/payments/1/qr.svg?sig=")
    image = harness.api.get(qr_src.replace("&amp;", "&"))
    assert image.status_code == 200 and image.headers["content-type"] == "image/svg+xml"
    attempts = harness.order(order["id"])["attempts"]
    assert [(a["channel"], a["status"]) for a in attempts] == [("native", "pending")]
    # A second visit shows the same attempt and asks WeChat nothing.
    before = len(calls(harness, order["id"]))
    again = parse(harness.api.get(link(harness, order["id"])).text)
    assert again.fetched == [qr_src]
    assert len(calls(harness, order["id"])) == before


def test_status_turns_paid_when_the_payer_pays_and_polling_never_calls_wechat(harness: Harness) -> None:
    order = harness.create_order(1999)
    path = link(harness, order["id"])
    harness.api.get(path)
    first = harness.api.get(status_path(path))
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    assert first.json() == {"order_id": order["id"], "status": "pending", "payment": "qr:1",
                            "expires_in_s": pytest.approx(7200, abs=5)}
    logged = len(calls(harness, order["id"]))
    # Long past the notification's due time, a poll still only reads: the worker's query job asks WeChat.
    harness.clock.advance(120)
    for _ in range(20):
        assert harness.api.get(status_path(path)).json()["status"] == "pending"
    assert len(calls(harness, order["id"])) == logged

    harness.pay({"out_trade_no": harness.order(order["id"])["attempts"][0]["out_trade_no"]})
    harness.deliver()
    assert harness.api.get(status_path(path)).json() == {"order_id": order["id"], "status": "paid"}
    assert parse(harness.api.get(path).text).sections == ["paid"]


def test_status_names_a_newer_attempt_so_the_page_reloads_onto_it(harness: Harness) -> None:
    order = harness.create_order()
    path = link(harness, order["id"])
    harness.api.get(path)
    assert harness.api.get(status_path(path)).json()["payment"] == "qr:1"
    # The buyer moved to the phone: the merchant starts H5, which closes the Native attempt at WeChat first.
    started = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "h5", "client_ip": "198.51.100.7"})  # fmt: skip
    assert started.status_code == 201, started.text
    assert harness.api.get(status_path(path)).json()["payment"] == "h5:2"
    view = parse(harness.api.get(path).text)
    assert view.fetched == [] and "h5" in view.links


def test_expired_and_closed_orders_say_so_and_start_nothing(harness: Harness) -> None:
    expiring = harness.create_order(expire_in_s=300)
    path = link(harness, expiring["id"])
    harness.clock.advance(301)  # before the expiry job has run: the page already knows
    page = harness.api.get(path)
    assert parse(page.text).sections == ["expired"] and "订单已过期" in page.text
    assert harness.api.get(status_path(path)).json() == {"order_id": expiring["id"], "status": "expired"}
    assert harness.order(expiring["id"])["attempts"] == [] and calls(harness, expiring["id"]) == []

    closing = harness.create_order()
    assert harness.api.post(f"/v1/orders/{closing['id']}/close", headers=harness.merchant).status_code == 200
    path = link(harness, closing["id"])
    assert parse(harness.api.get(path).text).sections == ["closed"]
    assert harness.api.get(status_path(path)).json()["status"] == "closed"
    assert harness.order(closing["id"])["attempts"] == []


def test_an_h5_attempt_shows_a_button_to_wechat_that_comes_back_here(harness: Harness) -> None:
    order = harness.create_order()
    started = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "h5", "client_ip": "198.51.100.7"})  # fmt: skip
    assert started.status_code == 201, started.text
    path = link(harness, order["id"], lang="en")
    view = parse(harness.api.get(path).text)
    assert view.fetched == []  # no QR code: the page did not start a Native attempt over the H5 one
    href = view.links["h5"].replace("&amp;", "&")
    assert href.startswith(started.json()["h5_url"] + "&redirect_url=")
    assert parse_qs(urlsplit(href).query)["redirect_url"] == [f"{SERVICE_URL}{path.split('&')[0]}&lang=en"]
    assert [a["channel"] for a in harness.order(order["id"])["attempts"]] == ["h5"]
    assert harness.api.get(status_path(path)).json()["payment"] == "h5:1"


def test_an_attempt_in_an_app_is_left_to_finish_there(harness: Harness) -> None:
    openid, user = harness.login()
    order = harness.create_order(payer_openid=openid)
    started = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=user, json={"channel": "miniprogram"})
    assert started.status_code == 201, started.text
    path = link(harness, order["id"])
    page = harness.api.get(path)
    assert "请在发起支付的应用内完成支付" in page.text and parse(page.text).fetched == []
    assert harness.api.get(status_path(path)).json()["payment"] == "elsewhere:1"
    harness.pay(started.json(), openid=openid)
    harness.deliver()
    assert harness.api.get(status_path(path)).json()["status"] == "paid"
    assert [a["channel"] for a in harness.order(order["id"])["attempts"]] == ["miniprogram"]


def test_bad_missing_foreign_and_expired_signatures_are_404(harness: Harness) -> None:
    order, other = harness.create_order(), harness.create_order()
    path = link(harness, order["id"], expires_in_s=60)
    sig = parse_qs(urlsplit(path).query)["sig"][0]
    expires_at, mac = sig.split(".")
    forged = {
        "missing": f"/pay/{order['id']}",
        "garbage": f"/pay/{order['id']}?sig=nonsense",
        "other order": f"/pay/{other['id']}?sig={sig}",
        "longer life": f"/pay/{order['id']}?sig={int(expires_at) + 3600}.{mac}",
        "non-ascii": f"/pay/{order['id']}?sig=１２.{mac}",
        "no such order": f"/pay/01NOSUCHORDER?sig={sig}",
    }
    for name, bad in forged.items():
        page = harness.api.get(bad)
        assert page.status_code == 404, name
        assert "链接无效或已过期" in page.text and order["description"] not in page.text, name
        assert harness.api.get(status_path(bad) if "?" in bad else bad + "/status").status_code == 404, name
    assert harness.api.get(path).status_code == 200
    harness.clock.advance(61)
    assert harness.api.get(path).status_code == 404
    status = harness.api.get(status_path(path))
    assert status.status_code == 404 and status.json()["error"]["code"] == "checkout_not_found"
    assert [a["status"] for a in harness.order(order["id"])["attempts"]] == ["pending"]  # from the one good visit


def test_only_the_orders_merchant_gets_a_link(harness: Harness) -> None:
    order = harness.create_order()
    assert harness.api.post(f"/v1/orders/{order['id']}/checkout-link").status_code == 401
    foreign = harness.api.post(f"/v1/orders/{order['id']}/checkout-link",
                               headers={"Authorization": f"Bearer {OTHER_API_KEY}"})  # fmt: skip
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "order_not_found"
    _, user = harness.login()
    assert harness.api.post(f"/v1/orders/{order['id']}/checkout-link", headers=user).status_code == 403
    too_long = harness.api.post(f"/v1/orders/{order['id']}/checkout-link", headers=harness.merchant,
                                json={"expires_in_s": 31 * 86_400})  # fmt: skip
    assert too_long.status_code == 422
    answer = harness.api.post(f"/v1/orders/{order['id']}/checkout-link", headers=harness.merchant).json()
    # Default: the link outlives the order by a day, so a payer who comes back still sees the outcome.
    order_expires = harness.order(order["id"])["expires_at"]
    assert answer["expires_at"] > order_expires and answer["order_id"] == order["id"]


def test_language_chinese_by_default_english_on_request(harness: Harness) -> None:
    order = harness.create_order()
    path = link(harness, order["id"])
    assert '<html lang="zh-CN">' in harness.api.get(path).text
    assert '<html lang="en">' in harness.api.get(path + "&lang=en").text
    english = harness.api.get(path, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in english.text and "Amount due" in english.text
    assert english.headers["vary"] == "Accept-Language"
    pinned = harness.api.get(link(harness, order["id"], lang="en"), headers={"Accept-Language": "zh-CN"})
    assert "WeChat Pay checkout" in pinned.text
    switch = parse(harness.api.get(path).text).links["language"]
    assert switch.endswith("lang=en") and "English" in harness.api.get(path).text


@pytest.mark.parametrize(("asked", "header", "chosen"), [
    (None, None, "zh"),
    (None, "", "zh"),
    (None, "en", "en"),
    (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),
    (None, "en-GB;q=0.5, zh-TW;q=0.9", "zh"),
    (None, "fr-FR, en;q=0.3", "en"),
    (None, "en;q=0, zh;q=0", "zh"),
    (None, "en;q=abc", "zh"),
    ("en", "zh-CN", "en"),
    ("zh", "en", "zh"),
    ("de", "en", "en"),
])  # fmt: skip
def test_choose_language(asked: str | None, header: str | None, chosen: str) -> None:
    assert choose_language(asked, header) == chosen


def test_links_sign_order_and_expiry() -> None:
    links = CheckoutLinks(b"s" * 32)
    sig = links.signature("O1", 2_000)
    assert links.check("O1", sig, 1_999.0)
    assert not links.check("O1", sig, 2_000.0)
    assert not links.check("O2", sig, 1_000.0)
    assert not CheckoutLinks(b"t" * 32).check("O1", sig, 1_000.0)
    assert not links.check("O1", sig.replace("2000", "2001"), 1_000.0)
    # The QR links sign "qr:…" with the same secret: a QR signature never opens a page.
    assert not links.check("O1", "2000." + sig.split(".")[1][:-1] + "0", 1_000.0)


def test_the_page_allows_only_its_own_inline_code(harness: Harness) -> None:
    order = harness.create_order()
    page = harness.api.get(link(harness, order["id"]))
    csp = page.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce is not None and f'<script nonce="{nonce[1]}">' in page.text
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
    assert nonce[1] not in harness.api.get(link(harness, order["id"])).text  # a fresh nonce per answer
