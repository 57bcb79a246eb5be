"""WeChat's half of API v2, for the simulator and for tests: signed answers and notifications.

Pure functions, the mirror images of :mod:`.envelope` and :mod:`.notify`. Kept in the SDK so both
sides share one signing and one XML codec, and interop tests can check them against peer SDKs.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..crypto import aes_ecb_encrypt
from .signing import SignType, sign
from .xmlcodec import to_xml

__all__ = [
    "build_payment_notification",
    "build_refund_notification",
    "fail_response",
    "sign_response",
    "signed_fields",
]


def signed_fields(
    fields: Mapping[str, object], api_v2_key: str, sign_type: SignType | str = SignType.MD5
) -> dict[str, str]:
    """``fields`` as strings (``None`` dropped) plus their ``sign``."""
    message = {name: str(value) for name, value in fields.items() if value is not None and name != "sign"}
    message["sign"] = sign(message, api_v2_key, sign_type)
    return message


def sign_response(fields: Mapping[str, object], api_v2_key: str, sign_type: SignType | str = SignType.MD5) -> bytes:
    """A signed SUCCESS-envelope answer as XML. ``fields`` must hold return_code, appid, mch_id, …"""
    return to_xml(signed_fields(fields, api_v2_key, sign_type))


def fail_response(return_msg: str) -> bytes:
    """An unsigned ``return_code=FAIL`` answer (protocol-level refusal such as a bad signature)."""
    return to_xml({"return_code": "FAIL", "return_msg": return_msg})


def build_payment_notification(
    api_v2_key: str, fields: Mapping[str, object], sign_type: SignType | str = SignType.MD5
) -> bytes:
    """A payment result notification body, signed over every field.

    MD5 by default because wechatpy's ``parse_payment_result`` only knows MD5. With HMAC-SHA256 the
    ``sign_type`` field is written so receivers that read it pick the right algorithm.
    """
    message: dict[str, object] = {"return_code": "SUCCESS", **fields}
    if SignType(sign_type) is SignType.HMAC_SHA256:
        message["sign_type"] = SignType.HMAC_SHA256.value
    return sign_response(message, api_v2_key, sign_type)


def build_refund_notification(
    api_v2_key: str, appid: str, mch_id: str, refund_fields: Mapping[str, object], nonce: str
) -> bytes:
    """A refund result notification: ``refund_fields`` as ``<root>`` XML, AES-256-ECB encrypted in ``req_info``."""
    inner = to_xml({name: str(value) for name, value in refund_fields.items() if value is not None}, root="root")
    return to_xml(
        {
            "return_code": "SUCCESS",
            "appid": appid,
            "mch_id": mch_id,
            "nonce_str": nonce,
            "req_info": aes_ecb_encrypt(api_v2_key, inner),
        }
    )
