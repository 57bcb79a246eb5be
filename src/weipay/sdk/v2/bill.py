"""Trade bills (对账单) of API v2: the ``/pay/downloadbill`` operation and the bill text parser.

A bill is not XML: a header line of Chinese column names, detail rows whose every field starts with a
backtick, then a summary header and a backticked summary row; the same file as v3's trade bill, so both
APIs share one parser (:mod:`weipay.sdk._bill`). Amounts are yuan; we convert them to fen with ``Decimal``
and refuse anything inexact; handling fees (five decimals) stay ``Decimal`` yuan.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .. import _bill
from .._bill import BillRow, yuan_to_fen
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
MAX_BILL_BYTES = _bill.MAX_BILL_BYTES
"""Bound on a decompressed bill (and so on a gzip bomb); shared with the v3 bill parser."""

_TRADE_TIME = "交易时间"
_SUMMARY_HEADER_START = "总交易单数"


def _row(row: BillRow, line_no: int) -> V2BillRow:
    columns = row.fields

    def text(name: str) -> str | None:
        return columns.get(name) or None

    def refund_reference(name: str) -> str | None:
        # Payment rows write "0" in the refund id columns rather than leaving them empty.
        value = text(name)
        return None if value == "0" else value

    trade_time = columns.get(_TRADE_TIME)
    if not trade_time:
        raise ProtocolError(f"bill line {line_no} has no {_TRADE_TIME}")
    try:
        parsed_time = parse_dashed_time(trade_time, _TRADE_TIME)
    except ProtocolError as exc:
        raise ProtocolError(f"bill line {line_no}: {exc.message}") from None
    amounts = row.amounts_fen
    return V2BillRow(
        trade_time=parsed_time,
        appid=columns.get("公众账号ID", ""),
        mch_id=columns.get("商户号", ""),
        transaction_id=columns.get("微信订单号", ""),
        out_trade_no=columns.get("商户订单号", ""),
        openid=text("用户标识"),
        trade_type=text("交易类型"),
        trade_state=text("交易状态"),
        settlement_total_fee_fen=amounts.get("应结订单金额"),
        coupon_fee_fen=amounts.get("代金券金额"),
        refund_id=refund_reference("微信退款单号"),
        out_refund_no=refund_reference("商户退款单号"),
        refund_fee_fen=amounts.get("退款金额"),
        refund_status=text("退款状态"),
        body=text("商品名称"),
        attach=text("商户数据包"),
        fee_yuan=row.fees_yuan.get("手续费"),
        rate=text("费率"),
        total_fee_fen=amounts.get("订单金额"),
        applied_refund_fee_fen=amounts.get("申请退款金额"),
        columns=dict(columns),
    )


def _summary(summary: BillRow) -> V2BillSummary:
    def fen(name: str) -> int:
        if name not in summary.amounts_fen:
            raise ProtocolError(f"bill summary lacks {name}")
        return summary.amounts_fen[name]

    # The fee total is a fee column (kept in yuan by the shared parser) but WeChat rounds it to the fen.
    fee_total = summary.fees_yuan.get("手续费总金额")
    if fee_total is None:
        raise ProtocolError("bill summary lacks 手续费总金额")
    return V2BillSummary(
        trade_count=summary.count(_SUMMARY_HEADER_START),
        settlement_total_fee_fen=fen("应结订单总金额"),
        refund_fee_fen=fen("退款总金额"),
        coupon_refund_fee_fen=fen("充值券退款总金额"),
        fee_fen=yuan_to_fen(str(fee_total), "手续费总金额"),
        total_fee_fen=summary.amounts_fen.get("订单总金额"),
        applied_refund_fee_fen=summary.amounts_fen.get("申请退款总金额"),
    )


def parse_bill(data: bytes | str) -> V2Bill:
    """Parse a downloadbill body (text or gzip bytes) into typed rows and totals.

    The layout, amounts and gzip handling are :func:`weipay.sdk.v3.parse_bill`'s (one parser); this adds
    the trade-bill columns as typed fields.
    """
    bill = _bill.parse_bill(data, max_bytes=MAX_BILL_BYTES)
    if _TRADE_TIME not in bill.header or bill.summary_header[0] != _SUMMARY_HEADER_START:
        raise ProtocolError("bill is missing its trade header or trade summary")
    rows = tuple(_row(row, line_no) for line_no, row in enumerate(bill.rows, start=2))
    return V2Bill(header=bill.header, rows=rows, summary=_summary(bill.summary))


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
