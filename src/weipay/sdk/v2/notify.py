"""Receiving API v2 notifications: payment results (signed) and refund results (encrypted ``req_info``).

Payment notifications are verified over *every* field received, unknown ones included, because
WeChat adds fields without notice and a whitelist would let an attacker's extra field ride along
unsigned. Refund notifications carry no signature; their integrity is the AES-256-ECB encryption
under the APIv2 key, so every way ``req_info`` can be wrong raises the same error (no oracle).
"""

from __future__ import annotations

from ..crypto import aes_ecb_decrypt
from ..errors import ProtocolError, SignatureError
from ._fields import (
    coupons,
    optional,
    optional_compact_time,
    optional_dashed_time,
    optional_fen,
    required,
    required_fen,
)
from .models import V2PaymentNotification, V2RefundNotification
from .signing import SignType, verify
from .xmlcodec import from_xml, to_xml

__all__ = [
    "failure_reply",
    "parse_payment_notification",
    "parse_refund_notification",
    "success_reply",
]

_SUCCESS_REPLY = b"<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"
_BAD_REQ_INFO = "refund notification req_info is invalid"


def _envelope(body: bytes) -> dict[str, str]:
    fields = from_xml(body, root="xml")
    return_code = fields.get("return_code")
    if return_code != "SUCCESS":
        raise ProtocolError(f"notification return_code is {return_code or 'missing'}, not SUCCESS")
    return fields


def parse_payment_notification(
    api_v2_key: str,
    body: bytes,
    sign_type: SignType | str | None = None,
    *,
    mchid: str | None = None,
    appid: str | None = None,
) -> V2PaymentNotification:
    """Verify and read a payment result notification.

    ``sign_type`` should be the one the order was created with; ``None`` trusts the message's own
    ``sign_type`` field, then MD5. ``mchid`` / ``appid``, when given, must match the message.
    Raises ``ProtocolError`` (malformed, FAIL) or ``SignatureError`` (unsigned, forged, not ours).
    """
    fields = _envelope(body)
    if not fields.get("sign"):
        raise SignatureError("payment notification carries no sign")
    if not verify(fields, api_v2_key, sign_type):
        raise SignatureError("payment notification signature did not verify")
    if (mchid is not None and fields.get("mch_id") != mchid) or (appid is not None and fields.get("appid") != appid):
        raise SignatureError("payment notification is addressed to another merchant")
    return V2PaymentNotification(
        appid=required(fields, "appid"),
        mch_id=required(fields, "mch_id"),
        out_trade_no=required(fields, "out_trade_no"),
        transaction_id=required(fields, "transaction_id"),
        total_fee_fen=required_fen(fields, "total_fee"),
        cash_fee_fen=optional_fen(fields, "cash_fee"),
        fee_type=optional(fields, "fee_type"),
        result_code=required(fields, "result_code"),
        openid=optional(fields, "openid"),
        trade_type=optional(fields, "trade_type"),
        time_end=optional_compact_time(fields, "time_end"),
        attach=optional(fields, "attach"),
        raw=dict(fields),
        **coupons(fields),
    )


def parse_refund_notification(
    api_v2_key: str, body: bytes, *, mchid: str, appid: str | None = None
) -> V2RefundNotification:
    """Decrypt and read a refund result notification addressed to ``mchid`` (and ``appid`` if given).

    Every failure after the envelope (decryption, padding, XML, missing or malformed fields) is one
    ``SignatureError`` with one message, so an attacker learns nothing from the error.
    """
    fields = _envelope(body)
    if fields.get("mch_id") != mchid or (appid is not None and fields.get("appid") != appid):
        raise SignatureError("refund notification is addressed to another merchant")
    req_info = fields.get("req_info")
    if not req_info:
        raise SignatureError(_BAD_REQ_INFO)
    try:
        inner = from_xml(aes_ecb_decrypt(api_v2_key, req_info), root="root")
        return V2RefundNotification(
            appid=fields.get("appid", ""),
            mch_id=mchid,
            transaction_id=required(inner, "transaction_id"),
            out_trade_no=required(inner, "out_trade_no"),
            refund_id=required(inner, "refund_id"),
            out_refund_no=required(inner, "out_refund_no"),
            total_fee_fen=required_fen(inner, "total_fee"),
            refund_fee_fen=required_fen(inner, "refund_fee"),
            settlement_refund_fee_fen=optional_fen(inner, "settlement_refund_fee"),
            refund_status=required(inner, "refund_status"),
            success_time=optional_dashed_time(inner, "success_time"),
            refund_recv_accout=optional(inner, "refund_recv_accout"),
            refund_account=optional(inner, "refund_account"),
            refund_request_source=optional(inner, "refund_request_source"),
            raw=inner,
        )
    except (SignatureError, ProtocolError):
        # `from None`: the cause (padding vs XML vs field) is exactly what must not leak.
        raise SignatureError(_BAD_REQ_INFO) from None


def success_reply() -> bytes:
    """The exact acknowledgement WeChat expects; anything else makes it retry."""
    return _SUCCESS_REPLY


def failure_reply(message: str) -> bytes:
    """A FAIL acknowledgement (WeChat will retry). ``message`` is escaped, never wrapped raw in CDATA."""
    printable = "".join(ch if ch.isprintable() else " " for ch in message)[:128]
    return to_xml({"return_code": "FAIL", "return_msg": printable})
