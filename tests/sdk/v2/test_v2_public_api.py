"""The public door of weipay.sdk.v2: a pinned, sorted ``__all__`` whose every name is documented."""

from __future__ import annotations

import importlib
import inspect

import pytest
from v2vectors import V2_KEY
from wechatpy.pay.utils import _check_signature

import weipay.sdk.v2 as v2
from weipay.sdk.v2 import from_xml
from weipay.sdk.v2.wechat_side import fail_response, sign_response, signed_fields

PINNED = [
    "BEIJING",
    "CloseOrder",
    "DownloadBill",
    "Micropay",
    "OrderQuery",
    "Refund",
    "RefundQuery",
    "Reverse",
    "SignType",
    "UnifiedOrder",
    "V2Bill",
    "V2BillRow",
    "V2BillSummary",
    "V2Coupon",
    "V2MicropayResult",
    "V2Order",
    "V2PaymentNotification",
    "V2PrepayResult",
    "V2RefundAccepted",
    "V2RefundNotification",
    "V2RefundQueryResult",
    "V2RefundRecord",
    "V2ReverseResult",
    "app_params",
    "failure_reply",
    "from_xml",
    "jsapi_params",
    "parse_bill",
    "parse_payment_notification",
    "parse_refund_notification",
    "sign",
    "signing_string",
    "success_reply",
    "to_xml",
    "verify",
    "yuan_to_fen",
]
MODULES = [
    "bill",
    "envelope",
    "micropay",
    "models",
    "notify",
    "operations",
    "orders",
    "payparams",
    "refunds",
    "signing",
    "wechat_side",
    "xmlcodec",
]


def test_all_is_pinned_and_sorted() -> None:
    assert v2.__all__ == PINNED == sorted(PINNED)


@pytest.mark.parametrize("name", PINNED)
def test_every_public_name_is_documented(name: str) -> None:
    value = getattr(v2, name)
    if inspect.isclass(value) or inspect.isfunction(value):
        assert inspect.getdoc(value), name


@pytest.mark.parametrize("module_name", MODULES)
def test_module_all_is_sorted_and_resolves(module_name: str) -> None:
    module = importlib.import_module(f"weipay.sdk.v2.{module_name}")
    assert module.__doc__
    # ruff's RUF022 order: constants first, then the rest, each alphabetical.
    assert module.__all__ == sorted(module.__all__, key=lambda name: (not name.isupper(), name))
    for name in module.__all__:
        assert hasattr(module, name), name


def test_operations_are_frozen() -> None:
    operation = v2.CloseOrder(appid="wxd930ea5d5a258f4f", out_trade_no="1217752501201407033233368018")
    with pytest.raises(AttributeError):
        operation.out_trade_no = "other"  # type: ignore[misc]


def test_signed_answers_pass_wechatpy_check() -> None:
    fields = {"return_code": "SUCCESS", "appid": "wxd930ea5d5a258f4f", "mch_id": "1230000109", "prepay_id": "wx1"}
    assert _check_signature(from_xml(sign_response(fields, V2_KEY)), V2_KEY)
    assert (
        signed_fields({**fields, "sign": "stale", "none": None}, V2_KEY)["sign"]
        == from_xml(sign_response(fields, V2_KEY))["sign"]
    )
    assert from_xml(fail_response("签名错误")) == {"return_code": "FAIL", "return_msg": "签名错误"}
