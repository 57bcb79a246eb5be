"""The two v2 notifications WeChat POSTs to merchants (PROTOCOL.md §2.5, §2.6).

The payment result is a signed ``<xml>``: MD5 by default, because that is all wechatpy verifies and what
WeChat has been seen to send even for HMAC-SHA256 orders; the account setting ``v2_notify_sign_type`` =
``"order"`` signs with the order's own sign type instead. The refund result carries no ``sign``: its
``req_info`` is a ``<root>`` document encrypted with AES-256-ECB under md5(APIv2 key).
"""

from __future__ import annotations

from weipay.sdk.clock import new_nonce
from weipay.sdk.v2 import signing
from weipay.sdk.v2.wechat_side import build_payment_notification, build_refund_notification

from ..ledger import Order, Refund
from ..state import SimulatorState
from .wire import XML_CONTENT_TYPE, compact_time, dashed_time

__all__ = [
    "REFUND_STATUS",
    "USER_RECEIVED_ACCOUNT",
    "payment_fields",
    "payment_notification",
    "payment_notification_message",
    "refund_notification",
    "refund_notification_message",
    "refund_plaintext_fields",
    "v2_refund_account",
]

# The ledger's refund states, spelled as v2 spells them.
REFUND_STATUS = {"SUCCESS": "SUCCESS", "CLOSED": "REFUNDCLOSE", "ABNORMAL": "CHANGE", "PROCESSING": "PROCESSING"}
USER_RECEIVED_ACCOUNT = "支付用户的零钱"
_HEADERS = {"content-type": XML_CONTENT_TYPE}


def payment_fields(order: Order, *, mchid: str) -> dict[str, str]:
    """The business fields of a paid order as v2 reports them (notification and orderquery share them)."""
    fields = {
        "appid": order.appid,
        "mch_id": mchid,
        "device_info": str(order.extra_fields.get("device_info", "")),
        "openid": order.payer_openid or order.openid or "",
        "is_subscribe": "N",
        "trade_type": order.trade_type,
        "bank_type": order.bank_type or "OTHERS",
        "total_fee": str(order.amount_fen),
        "fee_type": "CNY",
        "cash_fee": str(order.amount_fen),
        "transaction_id": order.transaction_id or "",
        "out_trade_no": order.out_trade_no,
        "attach": order.attach or "",
        "time_end": compact_time(order.success_time) if order.success_time else "",
    }
    return {name: value for name, value in fields.items() if value != ""}


def payment_notification_message(
    order: Order, *, mchid: str, api_v2_key: str, sign_with_order_type: bool = False
) -> tuple[dict[str, str], bytes]:
    """``(headers, body)`` of the v2 payment result notification for a paid order."""
    sign_type = signing.SignType(order.sign_type or "MD5") if sign_with_order_type else signing.SignType.MD5
    fields: dict[str, str] = {
        "return_msg": "OK",
        "nonce_str": new_nonce(),
        "result_code": "SUCCESS",
        **payment_fields(order, mchid=mchid),
    }
    return dict(_HEADERS), build_payment_notification(api_v2_key, fields, sign_type)


def refund_plaintext_fields(refund: Refund, order: Order) -> dict[str, str]:
    """The decrypted ``req_info`` fields of a refund result."""
    status = REFUND_STATUS.get(refund.status, refund.status)
    fields = {
        "transaction_id": order.transaction_id or "",
        "out_trade_no": order.out_trade_no,
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "total_fee": str(order.amount_fen),
        "settlement_total_fee": str(order.amount_fen),
        "refund_fee": str(refund.amount_fen),
        "settlement_refund_fee": str(refund.amount_fen),
        "refund_status": status,
        "success_time": dashed_time(refund.success_time) if refund.success_time and status == "SUCCESS" else "",
        "refund_recv_accout": refund.user_received_account or USER_RECEIVED_ACCOUNT,
        "refund_account": v2_refund_account(refund),
        "refund_request_source": "API",
    }
    return {name: value for name, value in fields.items() if value != ""}


def v2_refund_account(refund: Refund) -> str:
    """The v2 ``refund_account`` of a refund recorded by either API."""
    # The ledger keeps v3's funds_account names: AVAILABLE is v2's recharge funds, anything else unsettled.
    if refund.funds_account == "AVAILABLE":
        return "REFUND_SOURCE_RECHARGE_FUNDS"
    return "REFUND_SOURCE_UNSETTLED_FUNDS"


def refund_notification_message(
    refund: Refund, order: Order, *, mchid: str, api_v2_key: str
) -> tuple[dict[str, str], bytes]:
    """``(headers, body)`` of the v2 refund result notification: unsigned, with encrypted ``req_info``."""
    body = build_refund_notification(
        api_v2_key, order.appid, mchid, refund_plaintext_fields(refund, order), new_nonce()
    )
    return dict(_HEADERS), body


def payment_notification(state: SimulatorState, order: Order) -> tuple[dict[str, str], bytes]:
    """The v2 payment result notification of a paid order: ``(headers, body)``."""
    by_order = state.account.get("v2_notify_sign_type") == "order"
    return payment_notification_message(
        order, mchid=state.mchid, api_v2_key=state.account["apiv2_key"], sign_with_order_type=by_order
    )


def refund_notification(state: SimulatorState, refund: Refund, order: Order) -> tuple[dict[str, str], bytes]:
    """The v2 refund result notification: ``(headers, body)`` with encrypted ``req_info``."""
    return refund_notification_message(refund, order, mchid=state.mchid, api_v2_key=state.account["apiv2_key"])
