"""The API v2 wire as WeChat speaks it: request parsing, signature checks and the two-level envelope.

Every v2 answer is HTTP 200 with an ``<xml>`` body. A protocol failure (unreadable XML, bad signature,
unknown merchant) is ``return_code=FAIL`` and carries no ``sign``; everything past that point is
``return_code=SUCCESS`` with a ``result_code`` and is signed with the sign type the request used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from weipay.sdk.clock import new_nonce
from weipay.sdk.errors import ProtocolError
from weipay.sdk.v2 import signing, xmlcodec
from weipay.sdk.v2.wechat_side import fail_response, sign_response

__all__ = [
    "BEIJING",
    "SIGN_ERROR_MSG",
    "XML_CONTENT_TYPE",
    "BusinessError",
    "ProtocolFailure",
    "V2Call",
    "business_failure_body",
    "compact_time",
    "dashed_time",
    "fail_body",
    "parse_call",
    "success_body",
]

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
XML_CONTENT_TYPE = "text/xml; charset=utf-8"
SIGN_ERROR_MSG = "签名错误，请检查后再试"


class ProtocolFailure(Exception):
    """The request never reached business logic: answer ``return_code=FAIL`` with ``return_msg``."""

    def __init__(self, return_msg: str) -> None:
        super().__init__(return_msg)
        self.return_msg = return_msg


class BusinessError(Exception):
    """WeChat understood the request and said no: ``result_code=FAIL`` with ``err_code`` (and ``extra`` fields
    some APIs add to a failure, such as reverse's ``recall``)."""

    def __init__(self, err_code: str, err_code_des: str, extra: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{err_code}: {err_code_des}")
        self.err_code = err_code
        self.err_code_des = err_code_des
        self.extra = dict(extra or {})


@dataclass(frozen=True, slots=True)
class V2Call:
    """A parsed, signature-checked v2 request."""

    fields: Mapping[str, str]
    sign_type: signing.SignType

    def get(self, name: str) -> str:
        """The field's value, with absent meaning the empty string (WeChat drops empty fields)."""
        return self.fields.get(name, "")


def parse_call(body: bytes, *, mchid: str, api_v2_key: str) -> V2Call:
    """Parse the XML body and check ``mch_id`` and ``sign``; raise :class:`ProtocolFailure` otherwise."""
    if not body:
        raise ProtocolFailure("post数据为空")
    try:
        fields = xmlcodec.from_xml(body, root="xml")
    except ProtocolError as exc:
        raise ProtocolFailure(f"XML格式错误: {exc.message}") from exc
    if not fields.get("mch_id"):
        raise ProtocolFailure("缺少参数mch_id")
    if fields["mch_id"] != mchid:
        raise ProtocolFailure("商户号mch_id不存在")
    if not fields.get("sign"):
        raise ProtocolFailure("缺少参数sign")
    if not fields.get("nonce_str"):
        raise ProtocolFailure("缺少参数nonce_str")
    if len(fields["nonce_str"]) > 32:
        raise ProtocolFailure("nonce_str参数长度有误")
    try:
        sign_type = signing.SignType(fields.get("sign_type") or signing.SignType.MD5)
    except ValueError as exc:
        raise ProtocolFailure("sign_type参数错误") from exc
    if not signing.verify(fields, api_v2_key, sign_type):
        raise ProtocolFailure(SIGN_ERROR_MSG)
    return V2Call(fields=fields, sign_type=sign_type)


def fail_body(return_msg: str, **extra: str) -> bytes:
    """A protocol-level failure: unsigned, as WeChat sends it (``extra``: downloadbill's ``error_code``)."""
    if not extra:
        return fail_response(return_msg)
    return xmlcodec.to_xml({"return_code": "FAIL", "return_msg": return_msg, **extra})


def success_body(call: V2Call, appid: str, api_v2_key: str, fields: Mapping[str, object]) -> bytes:
    """``return_code=result_code=SUCCESS`` plus ``fields``, signed with the request's sign type."""
    envelope: dict[str, object] = {
        "return_code": "SUCCESS",
        "return_msg": "OK",
        "appid": appid,
        "mch_id": call.get("mch_id"),
        "nonce_str": new_nonce(),
        "result_code": "SUCCESS",
    }
    envelope.update({name: value for name, value in fields.items() if value is not None and value != ""})
    return _signed(envelope, api_v2_key, call.sign_type)


def business_failure_body(call: V2Call, appid: str, api_v2_key: str, error: BusinessError) -> bytes:
    """``return_code=SUCCESS``, ``result_code=FAIL`` with WeChat's ``err_code``; signed."""
    envelope: dict[str, object] = {
        "return_code": "SUCCESS",
        "return_msg": "OK",
        "appid": appid,
        "mch_id": call.get("mch_id"),
        "nonce_str": new_nonce(),
        "result_code": "FAIL",
        "err_code": error.err_code,
        "err_code_des": error.err_code_des,
        **error.extra,
    }
    return _signed(envelope, api_v2_key, call.sign_type)


def _signed(fields: dict[str, object], api_v2_key: str, sign_type: signing.SignType) -> bytes:
    return sign_response(fields, api_v2_key, sign_type)


def compact_time(unix_s: float) -> str:
    """Beijing ``yyyyMMddHHmmss`` (``time_end``)."""
    return dt.datetime.fromtimestamp(unix_s, BEIJING).strftime("%Y%m%d%H%M%S")


def dashed_time(unix_s: float) -> str:
    """Beijing ``yyyy-MM-dd HH:mm:ss`` (refund ``success_time``, bill rows)."""
    return dt.datetime.fromtimestamp(unix_s, BEIJING).strftime("%Y-%m-%d %H:%M:%S")
