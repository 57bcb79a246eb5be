"""``GET /v1/orders`` and ``GET /v1/refunds`` over HTTP, on SQLite and PostgreSQL: filters, any order number,
keyset pages that stay stable while orders are created, tenant scoping, and 422 codes for bad filters."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ..web_harness import OTHER_API_KEY, Harness

OTHER = {"Authorization": f"Bearer {OTHER_API_KEY}"}


def _list(harness: Harness, path: str, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    answer = harness.api.get(path, params=params, headers=headers or harness.merchant)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _all_pages(harness: Harness, path: str, between_pages: Any = None, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    page = _list(harness, path, **params)
    while True:
        rows += page["data"]
        if between_pages is not None:
            between_pages()
        if not page["has_more"]:
            assert page["next_cursor"] is None
            return rows
        page = _list(harness, path, **params, cursor=page["next_cursor"])


def _iso(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, UTC).isoformat()


def _paid(harness: Harness, amount: int = 1500, channel: str = "native", **order: Any) -> dict[str, Any]:
    created = harness.create_order(amount, **order)
    payment = harness.api.post(f"/v1/orders/{created['id']}/payments", headers=harness.merchant,
                               json={"channel": channel, **({"client_ip": "203.0.113.9"} if channel == "h5" else {})})
    assert payment.status_code == 201, payment.text
    harness.pay(payment.json())
    harness.deliver()
    paid = harness.order(created["id"])
    assert paid["status"] == "paid"
    return paid


def test_pages_are_newest_first_and_stable_while_orders_are_created(harness: Harness) -> None:
    before: list[str] = []
    for index in range(7):
        before.append(harness.create_order(100 + index, number=f"BEFORE-{index}")["id"])
        if index % 3 == 0:
            harness.clock.advance(1)  # some share a created_at: the id breaks the tie
    stop, created_meanwhile = threading.Event(), list[str]()

    def keep_creating() -> None:
        while not stop.is_set() and len(created_meanwhile) < 30:
            created_meanwhile.append(harness.create_order(900, number=f"DURING-{len(created_meanwhile)}")["id"])

    creator = threading.Thread(target=keep_creating)
    creator.start()
    try:
        def one_more() -> None:  # and one between every two pages, for certain
            created_meanwhile.append(harness.create_order(901, number=f"BETWEEN-{len(created_meanwhile)}")["id"])

        rows = _all_pages(harness, "/v1/orders", between_pages=one_more, limit=2)
    finally:
        stop.set()
        creator.join()
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)), "a row appeared on two pages"
    assert set(before) <= set(ids), "an order that existed before the first page was skipped"
    assert set(ids) <= set(before) | set(created_meanwhile)
    keys = [(row["created_at"], row["id"]) for row in rows]  # the clock moves in whole seconds here
    assert keys == sorted(keys, reverse=True), "not newest first (ties: the greater id first)"
    assert ids[-1] == before[0]


def test_a_merchant_sees_only_its_own_orders_and_refunds(harness: Harness) -> None:
    mine = _paid(harness, number="SHARED-NO")
    refund = harness.api.post(f"/v1/orders/{mine['id']}/refunds", headers=harness.merchant,
                              json={"merchant_refund_no": "RF-SHARED", "amount": 100})  # fmt: skip
    assert refund.status_code == 201, refund.text
    theirs = harness.api.post("/v1/orders", headers=OTHER,
                              json={"merchant_order_no": "SHARED-NO", "amount": 700, "description": "tea"})
    assert theirs.status_code == 201, theirs.text
    assert [row["id"] for row in _list(harness, "/v1/orders")["data"]] == [mine["id"]]
    assert [row["id"] for row in _list(harness, "/v1/orders", OTHER)["data"]] == [theirs.json()["id"]]
    for number in (mine["id"], mine["attempts"][0]["out_trade_no"], mine["attempts"][0]["transaction_id"],
                   "RF-SHARED", refund.json()["out_refund_no"]):  # fmt: skip
        assert _list(harness, "/v1/orders", OTHER, q=number)["data"] == [], number
    # The same merchant_order_no at both merchants: each finds its own.
    assert [row["id"] for row in _list(harness, "/v1/orders", OTHER, q="SHARED-NO")["data"]] == [theirs.json()["id"]]
    assert [row["id"] for row in _list(harness, "/v1/orders", q="SHARED-NO")["data"]] == [mine["id"]]
    assert _list(harness, "/v1/orders", q=theirs.json()["id"])["data"] == []
    assert _list(harness, "/v1/refunds", OTHER)["data"] == []
    assert _list(harness, "/v1/refunds", OTHER, q="RF-SHARED")["data"] == []
    assert [row["order_id"] for row in _list(harness, "/v1/refunds")["data"]] == [mine["id"]]


def test_any_number_finds_the_order_and_its_refunds(harness: Harness) -> None:
    paid = _paid(harness, 2000, number="SO-FIND-ME")
    harness.create_order(300, number="SO-NOISE")
    refund = harness.api.post(f"/v1/orders/{paid['id']}/refunds", headers=harness.merchant,
                              json={"merchant_refund_no": "RF-FIND", "amount": 500}).json()  # fmt: skip
    harness.deliver(60)  # the simulator settles the refund and notifies
    refund = harness.api.get(f"/v1/refunds/{refund['id']}", headers=harness.merchant).json()
    assert refund["status"] == "succeeded" and refund["refund_id"]
    attempt = paid["attempts"][0]
    order_numbers = [paid["id"], "SO-FIND-ME", attempt["out_trade_no"], attempt["transaction_id"]]
    refund_numbers = [refund["id"], refund["out_refund_no"], "RF-FIND", refund["refund_id"]]
    for number in order_numbers + refund_numbers[1:]:
        found = _list(harness, "/v1/orders", q=number)["data"]
        assert [row["id"] for row in found] == [paid["id"]], number
        assert found[0]["refunds"][0]["id"] == refund["id"] and found[0]["attempts"][0]["seq"] == 1
    for number in order_numbers + refund_numbers:
        assert [row["id"] for row in _list(harness, "/v1/refunds", q=number)["data"]] == [refund["id"]], number
    assert _list(harness, "/v1/orders", q="no-such-number")["data"] == []


def test_status_channel_and_time_filters(harness: Harness) -> None:
    start = harness.clock()
    native = _paid(harness, 1000, channel="native")
    harness.clock.advance(3600)
    h5 = _paid(harness, 1100, channel="h5")
    harness.clock.advance(3600)
    pending = harness.create_order(1200)

    def ids(path: str = "/v1/orders", **params: Any) -> list[str]:
        return [row["id"] for row in _list(harness, path, **params)["data"]]

    assert ids() == [pending["id"], h5["id"], native["id"]]
    assert ids(status="paid") == [h5["id"], native["id"]]
    assert ids(status="pending,closed") == [pending["id"]]
    assert ids(channel="native") == [native["id"]]
    assert ids(channel="h5,native", status="paid") == [h5["id"], native["id"]]
    assert ids(created_from=_iso(start + 1800)) == [pending["id"], h5["id"]]
    assert ids(created_to=_iso(start + 1800)) == [native["id"]]
    beijing = datetime.fromtimestamp(start + 1800, UTC).astimezone(timezone_beijing()).isoformat()
    assert "+08:00" in beijing and ids(created_from=beijing, created_to=_iso(start + 5400)) == [h5["id"]]
    for order in (native, h5):
        answer = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                                  json={"merchant_refund_no": f"RF-{order['id'][-6:]}", "amount": 100})
        assert answer.status_code == 201, answer.text
        harness.clock.advance(1)
    refunds = _list(harness, "/v1/refunds", channel="h5")["data"]
    assert [row["order_id"] for row in refunds] == [h5["id"]]
    every = _list(harness, "/v1/refunds")["data"]
    assert [row["order_id"] for row in every] == [h5["id"], native["id"]]
    statuses = ",".join({row["status"] for row in every})
    by_status = _list(harness, "/v1/refunds", status=statuses)["data"]
    assert [row["order_id"] for row in by_status] == [h5["id"], native["id"]]
    assert _list(harness, "/v1/refunds", status="rejected")["data"] == []


def timezone_beijing() -> Any:
    from datetime import timezone

    return timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/v1/orders", {"status": "paid,bogus"}, "invalid_status"),
        ("/v1/refunds", {"status": "paid"}, "invalid_status"),  # an order status, not a refund one
        ("/v1/orders", {"channel": "wechat"}, "invalid_channel"),
        ("/v1/orders", {"created_from": "yesterday"}, "invalid_created_from"),
        ("/v1/orders", {"created_from": "2026-11-23T00:00:00"}, "invalid_created_from"),  # no offset
        ("/v1/orders", {"created_to": "2026-11-23T00:00:00 08:00"}, "invalid_created_to"),  # an unencoded +
        ("/v1/refunds", {"created_from": "2026-11-24T00:00:00Z", "created_to": "2026-11-23T00:00:00Z"},
         "invalid_time_range"),
        ("/v1/orders", {"q": ""}, "invalid_q"),
        ("/v1/orders", {"q": "x" * 65}, "invalid_q"),
        ("/v1/orders", {"q": "a\x00b"}, "invalid_q"),
        ("/v1/orders", {"cursor": "not-a-cursor"}, "invalid_cursor"),
        ("/v1/orders", {"cursor": "eyJrIjoicmVmdW5kcyIsInQiOjEuMCwiaWQiOiJ4In0"}, "invalid_cursor"),  # a refunds one
        ("/v1/orders", {"cursor": "W10"}, "invalid_cursor"),  # "[]"
        ("/v1/orders", {"limit": "0"}, "invalid_limit"),
        ("/v1/refunds", {"limit": "101"}, "invalid_limit"),
        ("/v1/orders", {"limit": "ten"}, "invalid_limit"),
    ],
)  # fmt: skip
def test_bad_filters_are_422_with_a_code(harness: Harness, path: str, params: dict[str, str], code: str) -> None:
    answer = harness.api.get(path, params=params, headers=harness.merchant)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == code


def test_lists_need_a_merchant_key(harness: Harness) -> None:
    _, user = harness.login()
    for path in ("/v1/orders", "/v1/refunds"):
        assert harness.api.get(path).status_code == 401
        refused = harness.api.get(path, headers=user)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "merchant_only"


def test_a_cursor_keeps_working_with_the_limit_at_its_maximum(harness: Harness) -> None:
    for index in range(3):
        harness.create_order(100, number=f"MAX-{index}")
    first = _list(harness, "/v1/orders", limit=100)
    assert (len(first["data"]), first["has_more"], first["next_cursor"]) == (3, False, None)
    second = _list(harness, "/v1/orders", limit=2)
    rest = _list(harness, "/v1/orders", limit=2, cursor=second["next_cursor"])
    assert [row["id"] for row in second["data"] + rest["data"]] == [row["id"] for row in first["data"]]
