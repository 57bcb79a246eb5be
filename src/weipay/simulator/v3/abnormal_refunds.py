"""``POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund``: send an ABNORMAL refund again.

WeChat's rules, as its documentation gives them: only a refund that is ABNORMAL can be redirected;
``type`` is ``USER_BANK_CARD`` (the payer's debit card: ``bank_type``, ``bank_account`` and ``real_name``
required, the last two RSA-OAEP encrypted with the WeChat Pay public key or the platform certificate
named by ``Wechatpay-Serial``) or ``MERCHANT_BANK_CARD`` (the merchant's bank account: nothing else
needed). The refund is PROCESSING again and succeeds after ``sim.refund_processing_s``, notified as any.
"""

from __future__ import annotations

import re
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from weipay.sdk.crypto import oaep_decrypt
from weipay.sdk.errors import SignatureError

from ..http_messages import SimRequest, SimResponse
from ..state import SimulatorState
from .errors import V3Error, param_error
from .fields import check_str, read_json
from .refunds import OUT_REFUND_NO, refund_object

__all__ = ["apply_abnormal_refund"]

TYPES = ("USER_BANK_CARD", "MERCHANT_BANK_CARD")
MERCHANT_ACCOUNT = "商户基本账户"
# WeChat's bank codes for debit cards end in _DEBIT (e.g. ICBC_DEBIT); only debit cards are accepted.
_BANK_TYPE = re.compile(r"[A-Z]{2,10}_DEBIT")
_BANK_ACCOUNT = re.compile(r"[0-9]{10,30}")
_SENSITIVE_MAX_BYTES = 1024


def apply_abnormal_refund(sim: SimulatorState, request: SimRequest, params: dict[str, str]) -> SimResponse:
    """Redirect an ABNORMAL refund; answer the refund object (PROCESSING)."""
    body = read_json(request)
    out_refund_no = check_str(body, "out_refund_no", max_bytes=64, pattern=OUT_REFUND_NO)
    kind = check_str(body, "type", max_bytes=32)
    if kind not in TYPES:
        raise param_error("/type", "仅支持USER_BANK_CARD或MERCHANT_BANK_CARD", kind)
    refund = sim.ledger.refund_by_refund_id(params["id"])
    if refund is None or refund.mchid != sim.mchid or refund.out_refund_no != out_refund_no:
        raise V3Error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
    if refund.status != "ABNORMAL":
        raise V3Error(400, "INVALID_REQUEST", "退款单状态不是退款异常，无法发起异常退款")
    account = MERCHANT_ACCOUNT if kind == "MERCHANT_BANK_CARD" else _user_card(sim, request, body)
    redirected = sim.ledger.redirect_refund(refund, user_received_account=account,
                                            due_at=sim.now() + sim.refund_processing_s)
    if redirected is None:  # finished meanwhile by a concurrent application
        raise V3Error(400, "INVALID_REQUEST", "退款单状态不是退款异常，无法发起异常退款")
    return SimResponse.json(200, refund_object(redirected, sim.ledger.order(sim.mchid, redirected.out_trade_no)))


def _user_card(sim: SimulatorState, request: SimRequest, body: dict[str, Any]) -> str:
    """Check the payer's card fields (decrypting them as WeChat would); the account text the refund shows."""
    bank_type = check_str(body, "bank_type", max_bytes=16)
    if _BANK_TYPE.fullmatch(bank_type) is None:
        raise param_error("/bank_type", "仅支持借记卡的银行类型", bank_type)
    key = _decryption_key(sim, request.header("wechatpay-serial"))
    bank_account = _decrypt(key, body, "bank_account")
    if _BANK_ACCOUNT.fullmatch(bank_account) is None:
        raise param_error("/bank_account", "银行卡号格式错误")
    real_name = _decrypt(key, body, "real_name")
    if not real_name.strip() or len(real_name) > 64:
        raise param_error("/real_name", "收款用户姓名格式错误")
    return f"{bank_type.removesuffix('_DEBIT')}借记卡{bank_account[-4:]}"


def _decryption_key(sim: SimulatorState, serial: str) -> RSAPrivateKey:
    """The private half of the key the merchant encrypted with, named by ``Wechatpay-Serial``."""
    if not serial:
        raise V3Error(400, "PARAM_ERROR", "请求中含有敏感信息时，HTTP头Wechatpay-Serial必填")
    if serial == sim.account["wechatpay_public_key_id"]:
        key: RSAPrivateKey = sim.account["wechatpay_private_key"]
        return key
    if serial.upper() == str(sim.account["platform_serial_no"]).upper():
        if sim.account["verification"] == "public_key":
            raise V3Error(400, "PARAM_ERROR", "Wechatpay-Serial无效：请使用微信支付公钥ID")
        platform: RSAPrivateKey = sim.account["platform_private_key"]
        return platform
    raise V3Error(400, "PARAM_ERROR", "Wechatpay-Serial无效：找不到对应的微信支付公钥或平台证书")


def _decrypt(key: RSAPrivateKey, body: dict[str, Any], name: str) -> str:
    ciphertext = check_str(body, name, max_bytes=_SENSITIVE_MAX_BYTES)
    try:
        return oaep_decrypt(key, ciphertext)
    except (SignatureError, ValueError):
        raise param_error(f"/{name}", "敏感字段解密失败，请使用Wechatpay-Serial对应的公钥加密") from None
