"""``POST /v1/orders/{id}/payments {"channel": "codepay", "auth_code"}`` over HTTP, SQLite and PostgreSQL.

The till gets ``paid``, ``failed`` (WeChat's code) or ``pending``; a pending charge is settled by reading the
order (a query once the notification delay passed) or by the worker (query every 5 s, reverse at 30 s). The
code is a payment credential: it appears in no table, no log line and no answer.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sqlalchemy as sa

from ..web_harness import Harness


def _code(harness: Harness, **behaviour: Any) -> str:
    answer = harness.wechat.post("/simulator/payment-codes", json=behaviour)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["auth_code"])


def _charge(harness: Harness, order: dict[str, Any], code: str, **extra: Any) -> Any:
    return harness.api.post(f"/v1/orders/{order['id']}/payments", headers=extra.pop("headers", harness.merchant),
                            json={"channel": "codepay", "auth_code": code, **extra})  # fmt: skip


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_paid_failed_and_pending(harness: Harness, api: str) -> None:
    order = harness.create_order(1800)
    paid = _charge(harness, order, _code(harness, confirm="none"), api=api)
    assert paid.status_code == 201, paid.text
    assert (paid.json()["status"], paid.json()["channel"], paid.json()["error_code"]) == ("paid", "codepay", None)
    assert harness.order(order["id"])["status"] == "paid"

    other = harness.create_order(900)
    stale = _code(harness)
    harness.clock.advance(61)
    failed = _charge(harness, other, stale, api=api).json()
    assert (failed["status"], failed["error_code"]) == ("failed", "AUTHCODEEXPIRE")

    pending = _charge(harness, other, _code(harness, confirm_s=12), api=api).json()
    assert pending["status"] == "pending"
    assert harness.order(other["id"])["status"] == "pending"
    harness.clock.advance(15)
    assert harness.order(other["id"])["status"] == "paid"  # reading the order queried WeChat


def test_the_worker_reverses_a_charge_that_does_not_complete(harness: Harness) -> None:
    order = harness.create_order(1800)
    pending = _charge(harness, order, _code(harness, outcome="wait")).json()
    assert pending["status"] == "pending"
    for _ in range(6):
        harness.clock.advance(5)
        harness.run_jobs()
    body = harness.order(order["id"])
    assert body["status"] == "pending"
    assert [a["status"] for a in body["attempts"]] == ["reversed"]
    wechat = harness.wechat.get("/simulator/orders", params={"out_trade_no": pending["out_trade_no"]}).json()
    assert wechat["orders"][0]["state"] == "REVOKED"


def test_bad_requests(harness: Harness) -> None:
    order = harness.create_order()
    missing = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "codepay"})  # fmt: skip
    assert (missing.status_code, missing.json()["error"]["code"]) == (422, "invalid_auth_code")
    alipay = _charge(harness, order, "284567890123456789")
    assert alipay.status_code == 422 and "284567890123456789" not in alipay.text
    stray = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                             json={"channel": "native", "auth_code": "134567890123456789"})  # fmt: skip
    assert (stray.status_code, stray.json()["error"]["code"]) == (422, "auth_code_not_allowed")
    openid, user = harness.login()
    mine = harness.create_order(payer_openid=openid)
    assert _charge(harness, mine, _code(harness), headers=user).status_code == 403  # tills are merchants


def test_the_code_is_stored_nowhere_and_logged_nowhere(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    codes = [_code(harness, confirm="none"), _code(harness, outcome="wait"), _code(harness)]
    _charge(harness, harness.create_order(), codes[0])
    _charge(harness, harness.create_order(), codes[1])
    harness.clock.advance(61)
    _charge(harness, harness.create_order(), codes[2])  # refused: expired
    for _ in range(7):
        harness.clock.advance(5)
        harness.run_jobs()
    engine = sa.create_engine(harness.settings.database_url)
    try:
        with engine.connect() as conn:
            tables = sa.MetaData()
            tables.reflect(conn)
            dump = "\n".join(str(row) for table in tables.sorted_tables for row in conn.execute(table.select()))
    finally:
        engine.dispose()
    assert "codepay" in dump  # the rows are there …
    for code in codes:
        assert code not in dump  # … the codes are not
        assert code not in caplog.text
