"""ApplyAbnormalRefund: the request WeChat documents, its type rules, encrypted card fields, its answer."""

from __future__ import annotations

import json

import httpx
import pytest

from weipay.sdk import Client
from weipay.sdk.crypto import oaep_decrypt
from weipay.sdk.errors import ConfigurationError, WeChatRefused
from weipay.sdk.operation import HttpResponse
from weipay.sdk.v3 import ApplyAbnormalRefund
from weipay.sdk.v3.wechat_side import error_body

PUBLIC_KEY_ID = "PUB_KEY_ID_0000000000000024101100397200000006"  # the credentials fixture's key id

REFUND_ID = "50300908092022012316458181234"
ANSWER = {
    "refund_id": REFUND_ID, "out_refund_no": "R1", "transaction_id": "4200000483202001042069747825",
    "out_trade_no": "ORDER_000001", "channel": "OTHER_BANKCARD", "user_received_account": "ICBC借记卡4567",
    "create_time": "2026-01-04T18:40:00+08:00", "status": "PROCESSING", "funds_account": "UNSETTLED",
    "amount": {"total": 100, "refund": 40, "from": [], "payer_total": 100, "payer_refund": 40,
               "settlement_refund": 40, "settlement_total": 100, "discount_refund": 0, "currency": "CNY"},
}  # fmt: skip


def _card(wechatpay_keys, **changes):
    fields = {
        "refund_id": REFUND_ID, "out_refund_no": "R1", "type": "USER_BANK_CARD", "bank_type": "ICBC_DEBIT",
        "bank_account": "6222020200001234567", "real_name": "张三",
        "encryption_key": wechatpay_keys.private_key.public_key(), "encryption_serial": PUBLIC_KEY_ID, **changes,
    }  # fmt: skip
    return ApplyAbnormalRefund(**fields)


def test_user_bank_card_encrypts_the_account_and_name_and_names_the_key(make_ctx, wechatpay_keys) -> None:
    request = _card(wechatpay_keys).build(make_ctx())
    assert (request.method, request.path) == (
        "POST", f"/v3/refund/domestic/refunds/{REFUND_ID}/apply-abnormal-refund")  # fmt: skip
    assert request.headers["Wechatpay-Serial"] == PUBLIC_KEY_ID
    body = json.loads(request.body)
    assert (body["out_refund_no"], body["type"], body["bank_type"]) == ("R1", "USER_BANK_CARD", "ICBC_DEBIT")
    assert "6222020200001234567" not in request.body.decode() and "张三" not in request.body.decode()
    key = wechatpay_keys.private_key
    assert oaep_decrypt(key, body["bank_account"]) == "6222020200001234567"
    assert oaep_decrypt(key, body["real_name"]) == "张三"
    assert "6222020200001234567" not in repr(_card(wechatpay_keys)) and "张三" not in repr(_card(wechatpay_keys))


def test_merchant_bank_card_sends_only_the_type(make_ctx) -> None:
    request = ApplyAbnormalRefund(refund_id=REFUND_ID, out_refund_no="R1", type="MERCHANT_BANK_CARD").build(make_ctx())
    assert json.loads(request.body) == {"out_refund_no": "R1", "type": "MERCHANT_BANK_CARD"}
    assert "Wechatpay-Serial" not in request.headers


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"type": "BALANCE"}, "type"),
        ({"bank_type": None}, "needs bank_type"),
        ({"real_name": ""}, "needs bank_type"),
        ({"bank_type": "ICBC_DEBIT_CARD_TOO_LONG"}, "bank_type"),
        ({"encryption_key": None}, "encrypt"),
        ({"refund_id": ""}, "refund_id"),
        ({"out_refund_no": "R#1"}, "out_refund_no"),
        ({"type": "MERCHANT_BANK_CARD"}, "takes no"),
    ],
)
def test_type_rules_are_checked_before_anything_is_sent(make_ctx, wechatpay_keys, changes, fragment) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        _card(wechatpay_keys, **changes).build(make_ctx())


def test_the_answer_is_the_refund_and_a_refusal_is_mapped(make_ctx, wechatpay_keys) -> None:
    operation = _card(wechatpay_keys)
    response = HttpResponse(200, {"content-type": "application/json"}, json.dumps(ANSWER).encode())
    refund = operation.parse(response, make_ctx())
    assert (refund.status, refund.refund_id, refund.user_received_account) == (
        "PROCESSING", REFUND_ID, "ICBC借记卡4567")  # fmt: skip
    refused = HttpResponse(400, {"request-id": "REQ-9"}, error_body("INVALID_REQUEST", "退款单状态不是退款异常"))
    with pytest.raises(WeChatRefused) as info:
        operation.parse(refused, make_ctx())
    assert (info.value.code, info.value.request_id) == ("INVALID_REQUEST", "REQ-9")


def test_a_client_sends_it_signed_with_the_serial_header(credentials, wechatpay_keys) -> None:
    seen: list[httpx.Request] = []

    def wechat(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(400, json={"code": "PARAM_ERROR", "message": "x"})

    with Client(credentials, transport=httpx.MockTransport(wechat)) as client, pytest.raises(WeChatRefused):
        client.call(_card(wechatpay_keys))
    (request,) = seen
    assert request.headers["Wechatpay-Serial"] == PUBLIC_KEY_ID
    assert request.headers["Authorization"].startswith("WECHATPAY2-SHA256-RSA2048 ")
