"""P7 (T11): a database error never carries SQL parameters (session_key, openids, order text) into logs or answers.

The errors are real: the table the request writes to is dropped before the request, so the INSERT fails inside
the driver and SQLAlchemy builds its exception text, which names the parameters unless the engine hides them.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from ..web_harness import Harness


def _drop(harness: Harness, table: str) -> None:
    engine = sa.create_engine(harness.settings.database_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {table}" + (" CASCADE" if conn.dialect.name == "postgresql" else "")))
    engine.dispose()


def _openid_of(harness: Harness, user: str) -> str:
    """The simulator gives one user the same openid for every code."""
    code = harness.wechat.post("/simulator/login-codes", json={"appid": harness.appid(), "user": user}).json()
    return str(code["openid"])


def _forms(canary: str) -> list[str]:
    raw = canary.encode()
    return [canary, hashlib.md5(raw).hexdigest(), base64.b64encode(raw).decode().rstrip("=")]


def _login(harness: Harness, canary: str, secret: list[str]) -> None:
    _drop(harness, "user_sessions")
    code = harness.wechat.post("/simulator/login-codes", json={"appid": harness.appid(), "user": canary}).json()
    secret.append(str(code["openid"]))
    harness.api.post("/v1/login", json={"appid": harness.appid(), "code": code["code"]})


def _create_order(harness: Harness, canary: str, secret: list[str]) -> None:
    _drop(harness, "orders")
    secret.append(canary)
    harness.api.post(
        "/v1/orders", headers=harness.merchant,
        json={"merchant_order_no": "CANARY-1", "amount": 100, "description": "goods", "attach": canary,
              "payer_openid": f"o{canary}"},
    )  # fmt: skip


def _start_payment(harness: Harness, canary: str, secret: list[str]) -> None:
    order = harness.create_order()
    _drop(harness, "payment_attempts")
    secret.append(f"o{canary}")
    harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                     json={"channel": "miniprogram", "payer_openid": f"o{canary}"})  # fmt: skip


def _paid(harness: Harness) -> dict[str, Any]:
    order = harness.create_order(3000)
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "native"}).json()  # fmt: skip
    harness.pay(payment)
    harness.deliver()
    return order


def _refund_reason(harness: Harness, canary: str, secret: list[str]) -> None:
    order = _paid(harness)
    _drop(harness, "refunds")
    secret.append(canary)
    harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                     json={"merchant_refund_no": "CANARY-R", "amount": 100, "reason": canary})  # fmt: skip


def _abnormal_refund_card(harness: Harness, canary: str, secret: list[str]) -> None:
    """The payer's card number and name go to WeChat encrypted; the write after the call fails here."""
    order = _paid(harness)
    refund = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                              json={"merchant_refund_no": "CANARY-AB", "amount": 100}).json()  # fmt: skip
    harness.wechat.post("/simulator/refunds", json={"out_refund_no": refund["out_refund_no"], "status": "ABNORMAL"})
    harness.deliver()
    card = "6222" + str(int(canary[4:], 16))[:15].rjust(15, "7")
    _drop(harness, "call_log")
    secret.append(card)
    harness.api.post(f"/v1/refunds/{refund['id']}/abnormal-refund", headers=harness.merchant,
                     json={"type": "user_bank_card", "bank_type": "ICBC_DEBIT", "bank_account": card,
                           "real_name": "张三"})  # fmt: skip


@pytest.mark.parametrize(
    ("path", "table"),
    [(_login, "user_sessions"), (_create_order, "orders"), (_start_payment, "payment_attempts"),
     (_refund_reason, "refunds"), (_abnormal_refund_card, "call_log")],
    ids=["login", "create_order", "start_payment", "refund_reason", "abnormal_refund_card"],
)  # fmt: skip
def test_database_errors_leak_no_parameters(
    harness: Harness, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str],
    path: Callable[[Harness, str, list[str]], None], table: str,
) -> None:  # fmt: skip
    canary = "cnry" + secrets.token_hex(8)
    # The test transport re-raises what the app raised: that exception is what a server logs with its traceback.
    with caplog.at_level(logging.DEBUG), pytest.raises(sa.exc.DBAPIError) as raised:
        path(harness, canary, secret := [])
    out, err = capfd.readouterr()
    seen = "\n".join([str(raised.value), repr(raised.value), caplog.text, out, err])
    assert table in seen  # the real failure is there to be read
    assert len(secret) == 1  # the path reached its failing request
    for form in _forms(secret[0]):
        assert form not in seen, f"{form!r} reached the logs or the answer"
    assert "[parameters:" not in seen  # no parameter of any statement, secret or not
