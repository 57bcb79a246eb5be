"""apply-abnormal-refund at the simulator: only for ABNORMAL refunds, WeChat's type rules, decrypted card fields,
then PROCESSING and SUCCESS with a notification, in both verification modes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from weipay.sdk.v3 import encrypt_sensitive
from weipay.simulator.clock import ManualClock
from weipay.simulator.core import Simulator

from .conftest import BASE_URL, V3Merchant
from .test_v3_lifecycle import order_body

pytestmark = pytest.mark.parametrize("verification", ["public_key", "platform_certificate"], indirect=True)
ACCOUNT = "6222020200001234567"


def _abnormal_refund(sim: Simulator, merchant: V3Merchant, number: str = "AB-1") -> dict[str, Any]:
    body = order_body(sim, "native", f"T-{number}")
    assert merchant.request("POST", "/v3/pay/transactions/native", body).status_code == 200
    paid = merchant.client.post(f"{BASE_URL}/simulator/payments", json={"mchid": sim.mchid,
                                                                         "out_trade_no": f"T-{number}"})  # fmt: skip
    assert paid.status_code == 200
    refund = merchant.request("POST", "/v3/refund/domestic/refunds", {
        "out_trade_no": f"T-{number}", "out_refund_no": number, "amount": {"refund": 60, "total": 100,
                                                                           "currency": "CNY"}})  # fmt: skip
    assert refund.status_code == 200, refund.text
    ended = merchant.client.post(f"{BASE_URL}/simulator/refunds", json={"out_refund_no": number, "status": "ABNORMAL"})
    assert ended.json()["status"] == "ABNORMAL"
    return dict(refund.json())


def _key(sim: Simulator, verification: str) -> tuple[str, Any]:
    if verification == "public_key":
        return sim.account["wechatpay_public_key_id"], sim.account["wechatpay_public_key"]
    return sim.account["platform_serial_no"], sim.account["platform_certificate"].public_key()


def _card(sim: Simulator, merchant: V3Merchant, verification: str, **changes: Any) -> dict[str, Any]:
    serial, key = _key(sim, verification)
    merchant.send_serial = serial
    return {"out_refund_no": "AB-1", "type": "USER_BANK_CARD", "bank_type": "CMB_DEBIT",
            "bank_account": encrypt_sensitive(key, ACCOUNT), "real_name": encrypt_sensitive(key, "李四"), **changes}


def _apply(merchant: V3Merchant, refund_id: str, body: dict[str, Any]) -> httpx.Response:
    return merchant.request("POST", f"/v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund", body)


def test_an_abnormal_refund_redirected_to_the_payer_card_succeeds_and_is_notified(
    sim: Simulator, merchant: V3Merchant, clock: ManualClock, notify_handler: dict[str, Any], verification: str
) -> None:
    notify_handler["handler"] = lambda request: httpx.Response(204)
    refund = _abnormal_refund(sim, merchant)
    answer = _apply(merchant, refund["refund_id"], _card(sim, merchant, verification))
    assert answer.status_code == 200, answer.text
    merchant.verify(answer)
    assert (answer.json()["status"], answer.json()["user_received_account"]) == ("PROCESSING", "CMB借记卡4567")
    again = _apply(merchant, refund["refund_id"], _card(sim, merchant, verification))
    assert again.status_code == 400 and again.json()["code"] == "INVALID_REQUEST"  # no longer ABNORMAL
    clock.advance(10)
    sim.tick()
    assert sim.ledger.refund(sim.mchid, "AB-1").status == "SUCCESS"
    kinds = [(n["kind"], n["state"]) for n in merchant.client.get(f"{BASE_URL}/simulator/notifications").json()[
        "notifications"] if n["subject"] == "AB-1"]  # fmt: skip
    assert kinds == [("refund", "delivered"), ("refund", "delivered")]  # ABNORMAL, then SUCCESS


def test_merchant_bank_card_needs_no_card(sim: Simulator, merchant: V3Merchant, verification: str) -> None:
    refund = _abnormal_refund(sim, merchant)
    answer = _apply(merchant, refund["refund_id"], {"out_refund_no": "AB-1", "type": "MERCHANT_BANK_CARD"})
    assert answer.status_code == 200 and answer.json()["user_received_account"] == "商户基本账户"


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"type": "BALANCE"}, 400, "PARAM_ERROR"),
        ({"bank_type": None}, 400, "PARAM_ERROR"),
        ({"bank_type": "CMB_CREDIT"}, 400, "PARAM_ERROR"),  # debit cards only
        ({"real_name": None}, 400, "PARAM_ERROR"),
        ({"bank_account": "not-encrypted"}, 400, "PARAM_ERROR"),  # cannot be decrypted
        ({"out_refund_no": "AB-2"}, 404, "RESOURCE_NOT_EXISTS"),  # not this refund's number
    ],
)
def test_wechat_rules(sim: Simulator, merchant: V3Merchant, verification: str, changes: dict[str, Any],
                      status: int, code: str) -> None:  # fmt: skip
    refund = _abnormal_refund(sim, merchant)
    body = {k: v for k, v in _card(sim, merchant, verification, **changes).items() if v is not None}
    answer = _apply(merchant, refund["refund_id"], body)
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert sim.ledger.refund(sim.mchid, "AB-1").status == "ABNORMAL"


def test_card_fields_need_the_key_named_in_wechatpay_serial(
    sim: Simulator, merchant: V3Merchant, verification: str
) -> None:
    refund = _abnormal_refund(sim, merchant)
    body = _card(sim, merchant, verification)
    merchant.send_serial = None
    missing = _apply(merchant, refund["refund_id"], body)
    assert missing.status_code == 400 and "Wechatpay-Serial" in missing.json()["message"]
    merchant.send_serial = "PUB_KEY_ID_0000000000000000000000000000000000"
    assert _apply(merchant, refund["refund_id"], body).status_code == 400


def test_only_an_abnormal_refund_can_be_redirected(sim: Simulator, merchant: V3Merchant, verification: str) -> None:
    refund = _abnormal_refund(sim, merchant)
    body = order_body(sim, "native", "T-OK-1")
    merchant.request("POST", "/v3/pay/transactions/native", body)
    merchant.client.post(f"{BASE_URL}/simulator/payments", json={"mchid": sim.mchid, "out_trade_no": "T-OK-1"})
    processing = merchant.request("POST", "/v3/refund/domestic/refunds", {
        "out_trade_no": "T-OK-1", "out_refund_no": "OK-1", "amount": {"refund": 10, "total": 100,
                                                                     "currency": "CNY"}}).json()  # fmt: skip
    answer = _apply(merchant, processing["refund_id"], {"out_refund_no": "OK-1", "type": "MERCHANT_BANK_CARD"})
    assert answer.status_code == 400 and answer.json()["code"] == "INVALID_REQUEST"
    unknown = _apply(merchant, "50300000000000000000000000000", {"out_refund_no": "AB-1", "type": "MERCHANT_BANK_CARD"})
    assert unknown.status_code == 404
    assert refund["status"] == "PROCESSING"
