"""Trade bills (对账单) of API v2: the ``/pay/downloadbill`` operation and the bill text parser.

A bill is not XML: a header line of Chinese column names, detail rows whose every field starts with a
backtick, then a summary header and a backticked summary row. Amounts are yuan with two decimals
(the handling fee has five); we convert them to fen with ``Decimal`` and refuse anything inexact.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ..errors import ConfigurationError, ProtocolError, WeChatRefused
from ..operation import Context, HttpRequest, HttpResponse
from . import _checks as check
from ._fields import parse_dashed_time
from .envelope import check_http, signed_request
from .models import V2Bill, V2BillRow, V2BillSummary
from .signing import SignType
from .xmlcodec import from_xml

__all__ = ["BILL_TYPES", "MAX_BILL_BYTES", "DownloadBill", "parse_bill", "yuan_to_fen"]

BILL_TYPES = ("ALL", "SUCCESS", "REFUND", "RECHARGE_REFUND")
# Bounds a decompressed bill (and so a gzip bomb); a very busy merchant should use the v3 bill API.
MAX_BILL_BYTES = 64 * 1024 * 1024
_YUAN = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,6})?")
_GZIP_MAGIC = b"\x1f\x8b"

_SUMMARY_HEADER_START = "总交易单数"


def yuan_to_fen(text: str, column: str = "amount") -> int:
    """``"0.47"`` → ``47``, exactly; sub-fen or malformed amounts are a ProtocolError."""
    if not _YUAN.fullmatch(text):
        raise ProtocolError(f"bill column {column} is not an amount in yuan: {text[:20]!r}")
    try:
        fen = Decimal(text) * 100
    except InvalidOperation as exc:  # pragma: no cover - the pattern already excludes this
        raise ProtocolError(f"bill column {column} is not an amount") from exc
    if fen != fen.to_integral_value():
        raise ProtocolError(f"bill column {column} is not a whole number of fen: {text}")
    return int(fen)


def _split_row(line: str, width: int, line_no: int) -> list[str]:
    # Splitting on ",`" (not ",") keeps commas inside product names intact.
    if not line.startswith("`"):
        raise ProtocolError(f"bill line {line_no} is not a backticked row")
    values = line[1:].split(",`")
    if len(values) != width:
        raise ProtocolError(f"bill line {line_no} has {len(values)} fields, the header has {width}")
    return values


def _row(columns: Mapping[str, str], line_no: int) -> V2BillRow:
    def text(name: str) -> str | None:
        return columns.get(name) or None

    def refund_reference(name: str) -> str | None:
        # Payment rows write "0" in the refund id columns rather than leaving them empty.
        value = text(name)
        return None if value == "0" else value

    def fen(name: str) -> int | None:
        value = columns.get(name)
        return None if value is None or value == "" else yuan_to_fen(value, name)

    fee = columns.get("手续费") or None
    if fee is not None and not _YUAN.fullmatch(fee):
        raise ProtocolError(f"bill line {line_no}: 手续费 is not an amount")
    fee_yuan = None if fee is None else Decimal(fee)
    trade_time = columns.get("交易时间")
    if not trade_time:
        raise ProtocolError(f"bill line {line_no} has no 交易时间")
    return V2BillRow(
        trade_time=parse_dashed_time(trade_time, "交易时间"),
        appid=columns.get("公众账号ID", ""),
        mch_id=columns.get("商户号", ""),
        transaction_id=columns.get("微信订单号", ""),
        out_trade_no=columns.get("商户订单号", ""),
        openid=text("用户标识"),
        trade_type=text("交易类型"),
        trade_state=text("交易状态"),
        settlement_total_fee_fen=fen("应结订单金额"),
        coupon_fee_fen=fen("代金券金额"),
        refund_id=refund_reference("微信退款单号"),
        out_refund_no=refund_reference("商户退款单号"),
        refund_fee_fen=fen("退款金额"),
        refund_status=text("退款状态"),
        body=text("商品名称"),
        attach=text("商户数据包"),
        fee_yuan=fee_yuan,
        rate=text("费率"),
        total_fee_fen=fen("订单金额"),
        applied_refund_fee_fen=fen("申请退款金额"),
        columns=dict(columns),
    )


def _summary(header_line: str, value_line: str, line_no: int) -> V2BillSummary:
    names = header_line.split(",")
    values = dict(zip(names, _split_row(value_line, len(names), line_no), strict=True))

    def fen(name: str, *, required: bool = True) -> int | None:
        value = values.get(name)
        if value is None:
            if required:
                raise ProtocolError(f"bill summary lacks {name}")
            return None
        return yuan_to_fen(value, name)

    count_text = values.get(_SUMMARY_HEADER_START, "")
    if not re.fullmatch(r"[0-9]{1,12}(\.0+)?", count_text):
        raise ProtocolError("bill summary 总交易单数 is not a count")
    return V2BillSummary(
        trade_count=int(Decimal(count_text)),
        settlement_total_fee_fen=fen("应结订单总金额") or 0,
        refund_fee_fen=fen("退款总金额") or 0,
        coupon_refund_fee_fen=fen("充值券退款总金额") or 0,
        fee_fen=fen("手续费总金额") or 0,
        total_fee_fen=fen("订单总金额", required=False),
        applied_refund_fee_fen=fen("申请退款总金额", required=False),
    )


def _decode(data: bytes) -> str:
    if data.startswith(_GZIP_MAGIC):
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(data, MAX_BILL_BYTES)
        except zlib.error as exc:
            raise ProtocolError("bill is not valid gzip") from exc
        if inflater.unconsumed_tail:
            raise ProtocolError("bill is larger than MAX_BILL_BYTES once decompressed")
        if not inflater.eof:
            # A cut-off download still inflates to a plausible prefix; only the gzip trailer proves it whole.
            raise ProtocolError("bill gzip stream is truncated")
    elif len(data) > MAX_BILL_BYTES:
        raise ProtocolError("bill is larger than MAX_BILL_BYTES")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ProtocolError("bill is not UTF-8") from exc


def parse_bill(data: bytes | str) -> V2Bill:
    """Parse a downloadbill body (text or gzip bytes) into rows and totals."""
    text = _decode(data) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    lines = [line.rstrip("\r") for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) < 3:
        raise ProtocolError("bill needs a header, a summary header and a summary row")
    header = tuple(lines[0].split(","))
    if lines[-2].split(",")[0] != _SUMMARY_HEADER_START or "交易时间" not in header:
        raise ProtocolError("bill is missing its header or summary")
    rows = tuple(
        _row(dict(zip(header, _split_row(line, len(header), n + 2), strict=True)), n + 2)
        for n, line in enumerate(lines[1:-2])
    )
    return V2Bill(header=header, rows=rows, summary=_summary(lines[-2], lines[-1], len(lines)))


def _bill_refusal(fields: Mapping[str, str], response: HttpResponse) -> WeChatRefused:
    # Bill failures carry return_msg ("No Bill Exist", "Bill Creating"…) and error_code, no err_code.
    message = fields.get("return_msg") or "downloadbill FAIL"
    code = re.sub(r"[^A-Z0-9]+", "_", message.upper()).strip("_") or "FAIL"
    if code == "SIGN_ERROR":
        code = "SIGNERROR"
    detail = dict(fields)
    return WeChatRefused(code, message, status=response.status, detail=detail, request_id=response.request_id)


@dataclass(frozen=True, slots=True)
class DownloadBill:
    """``POST /pay/downloadbill`` for one day → :class:`V2Bill` (idempotent).

    Failures: ``NO_BILL_EXIST`` (no trades that day), ``BILL_CREATING`` (retry after 10:00 Beijing).
    """

    appid: str
    bill_date: dt.date
    bill_type: str = "ALL"
    gzip: bool = False
    sign_type: SignType = SignType.MD5

    def __post_init__(self) -> None:
        check.sign_type(self.sign_type)
        self._fields()

    def _fields(self) -> dict[str, str | None]:
        if not isinstance(self.bill_date, dt.date) or isinstance(self.bill_date, dt.datetime):
            raise ConfigurationError("bill_date must be a datetime.date (Beijing calendar day)")
        return {
            "appid": check.token(self.appid, "appid"),
            "bill_date": self.bill_date.strftime("%Y%m%d"),
            "bill_type": check.one_of(self.bill_type, "bill_type", BILL_TYPES),
            "tar_type": "GZIP" if self.gzip else None,
        }

    def build(self, ctx: Context) -> HttpRequest:
        """The signed request."""
        sign_type = check.sign_type(self.sign_type)
        return signed_request(ctx, "/pay/downloadbill", self._fields(), sign_type=sign_type, idempotent=True)

    def parse(self, response: HttpResponse, ctx: Context) -> V2Bill:
        """The parsed bill; a FAIL envelope becomes ``WeChatRefused``. The bill itself is unsigned."""
        check_http(response)
        if response.body.lstrip()[:5] == b"<xml>":
            fields = from_xml(response.body, root="xml")
            if fields.get("return_code") != "FAIL":
                raise ProtocolError("downloadbill answered XML without FAIL", request_id=response.request_id)
            raise _bill_refusal(fields, response)
        try:
            return parse_bill(response.body)
        except ProtocolError as exc:
            raise ProtocolError(exc.message, request_id=response.request_id) from exc
