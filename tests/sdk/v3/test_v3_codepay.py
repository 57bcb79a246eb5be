"""付款码 over API v3: the codepay body (payer.auth_code, scene_info.store_info), its answers, the reverse.

The body follows WeChat's published field list (payer.auth_code, amount, scene_info.device_id/device_ip/
store_info); the answer is the order itself, whose trade_state decides paid / pending / failed.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from weipay.sdk.errors import ConfigurationError, PaymentPending, WeChatRefused
from weipay.sdk.operation import Api, HttpResponse
from weipay.sdk.v3 import CodepayOrder, ReverseOrder, StoreInfo, Transaction

AUTH_CODE = "130061098828009406"
CHARGE = CodepayOrder(appid="wxd678efh567hg6787", description="Image形象店-深圳腾大-QQ公仔",
                      out_trade_no="1217752501201407033233368018", amount_fen=100, auth_code=AUTH_CODE,
                      attach="till=3", device_id="013467007045764", device_ip="128.0.0.1",
                      store_info=StoreInfo(id="0001", out_id="A1111"))  # fmt: skip


def _json(status: int, value: Any) -> HttpResponse:
    return HttpResponse(status, {"request-id": "REQ-9"}, json.dumps(value).encode())


def _transaction(state: str, **extra: Any) -> dict[str, Any]:
    return {"appid": "wxd678efh567hg6787", "mchid": "1230000109", "out_trade_no": "1217752501201407033233368018",
            "trade_type": "MICROPAY", "trade_state": state, "trade_state_desc": state,
            "amount": {"total": 100, "currency": "CNY"}, **extra}  # fmt: skip


def test_the_charge_body(make_ctx) -> None:
    request = CHARGE.build(make_ctx())
    body = json.loads(request.body)
    assert (request.api, request.method, request.path, request.idempotent) == (
        Api.V3, "POST", "/v3/pay/transactions/codepay", False)  # fmt: skip
    assert body == {
        "appid": "wxd678efh567hg6787", "mchid": "1230000109", "description": "Image形象店-深圳腾大-QQ公仔",
        "out_trade_no": "1217752501201407033233368018", "attach": "till=3", "payer": {"auth_code": AUTH_CODE},
        "amount": {"total": 100, "currency": "CNY"},
        "scene_info": {"device_id": "013467007045764", "device_ip": "128.0.0.1",
                       "store_info": {"id": "0001", "out_id": "A1111"}},
    }  # fmt: skip
    assert AUTH_CODE not in repr(CHARGE)
    minimal = CodepayOrder(appid="wx1", description="d", out_trade_no="POS0000001", amount_fen=1, auth_code=AUTH_CODE)
    assert "scene_info" not in json.loads(minimal.build(make_ctx()).body)


@pytest.mark.parametrize("changes", [{"auth_code": "28"}, {"amount_fen": 0}, {"device_ip": "not-an-ip"},
                                     {"out_trade_no": "x"}])  # fmt: skip
def test_the_charge_is_checked_before_sending(make_ctx, changes: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        dataclasses.replace(CHARGE, **changes).build(make_ctx())


def test_a_paid_answer(make_ctx) -> None:
    paid = CHARGE.parse(_json(200, _transaction("SUCCESS", transaction_id="4200000483202012052069747825",
                                               payer={"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
                                               success_time="2026-12-05T10:11:12+08:00")), make_ctx())  # fmt: skip
    assert isinstance(paid, Transaction) and paid.trade_state == "SUCCESS" and paid.transaction_id


@pytest.mark.parametrize(("response", "code"), [
    (_json(200, _transaction("USERPAYING")), "USERPAYING"),
    (_json(202, {}), "USERPAYING"),
    (_json(500, {"code": "SYSTEM_ERROR", "message": "系统繁忙,请稍后重试"}), "SYSTEM_ERROR"),
    (_json(500, {"code": "BANK_ERROR", "message": "银行系统异常"}), "BANK_ERROR"),
    (_json(403, {"code": "USERPAYING", "message": "用户支付中"}), "USERPAYING"),
    (HttpResponse(502, {}, b"<html>bad gateway</html>"), "HTTP_502"),
])  # fmt: skip
def test_an_open_outcome_is_pending(make_ctx, response: HttpResponse, code: str) -> None:
    with pytest.raises(PaymentPending) as caught:
        CHARGE.parse(response, make_ctx())
    assert caught.value.code == code


@pytest.mark.parametrize(("response", "code"), [
    (_json(403, {"code": "AUTHCODEEXPIRE", "message": "二维码已过期"}), "AUTHCODEEXPIRE"),
    (_json(403, {"code": "NOT_ENOUGH", "message": "余额不足"}), "NOT_ENOUGH"),
    (_json(400, {"code": "PARAM_ERROR", "message": "参数错误"}), "PARAM_ERROR"),
    (_json(200, _transaction("PAYERROR")), "PAYERROR"),
])  # fmt: skip
def test_a_definite_no(make_ctx, response: HttpResponse, code: str) -> None:
    with pytest.raises(WeChatRefused) as caught:
        CHARGE.parse(response, make_ctx())
    assert (caught.value.code, caught.value.retryable) == (code, False)


def test_reverse(make_ctx) -> None:
    operation = ReverseOrder(appid="wxd678efh567hg6787", out_trade_no="1217752501201407033233368018")
    request = operation.build(make_ctx())
    assert request.path == "/v3/pay/transactions/out-trade-no/1217752501201407033233368018/reverse"
    assert json.loads(request.body) == {"appid": "wxd678efh567hg6787", "mchid": "1230000109"}
    assert request.idempotent
    assert operation.parse(HttpResponse(204, {}, b""), make_ctx()) is None
    assert operation.parse(_json(200, {"out_trade_no": "1217752501201407033233368018"}), make_ctx()) is None
    with pytest.raises(WeChatRefused) as caught:
        operation.parse(_json(500, {"code": "SYSTEM_ERROR", "message": "系统繁忙"}), make_ctx())
    assert caught.value.retryable
