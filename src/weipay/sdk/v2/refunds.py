"""Refund operations of API v2: apply for a refund (mutual TLS) and query refunds."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigurationError, ProtocolError
from ..operation import Context, HttpRequest, HttpResponse
from . import _checks as check
from ._fields import optional, optional_dashed_time, optional_fen, required, required_fen
from .envelope import check_response, signed_request
from .models import V2RefundAccepted, V2RefundQueryResult, V2RefundRecord
from .signing import SignType

__all__ = ["REFUND_ACCOUNTS", "Refund", "RefundQuery"]

REFUND_ACCOUNTS = ("REFUND_SOURCE_UNSETTLED_FUNDS", "REFUND_SOURCE_RECHARGE_FUNDS")
# WeChat pages refund queries; a page never holds more than a few dozen refunds (≤ 50 per order).
_MAX_REFUNDS_PER_PAGE = 100


def _order_reference(out_trade_no: str | None, transaction_id: str | None) -> dict[str, str | None]:
    name, value = check.exactly_one({"out_trade_no": out_trade_no, "transaction_id": transaction_id})
    return {name: check.out_trade_no(value) if name == "out_trade_no" else check.token(value, name)}


@dataclass(frozen=True, slots=True)
class Refund:
    """``POST /secapi/pay/refund`` (mutual TLS) → :class:`V2RefundAccepted`.

    Safe to re-send with the same ``out_refund_no`` and amounts: WeChat refunds once per out_refund_no.
    """

    appid: str
    out_refund_no: str
    total_fee_fen: int
    refund_fee_fen: int
    out_trade_no: str | None = None
    transaction_id: str | None = None
    refund_desc: str | None = None
    refund_account: str | None = None
    notify_url: str | None = None
    sign_type: SignType = SignType.MD5

    def __post_init__(self) -> None:
        check.sign_type(self.sign_type)
        self._fields()

    def _fields(self) -> dict[str, str | None]:
        total_fee_fen = check.fen(self.total_fee_fen, "total_fee_fen")
        refund_fee_fen = check.fen(self.refund_fee_fen, "refund_fee_fen")
        if refund_fee_fen > total_fee_fen:
            raise ConfigurationError(f"refund_fee_fen {refund_fee_fen} exceeds total_fee_fen {total_fee_fen}")
        fields: dict[str, str | None] = {
            "appid": check.token(self.appid, "appid"),
            **_order_reference(self.out_trade_no, self.transaction_id),
            "out_refund_no": check.out_refund_no(self.out_refund_no),
            "total_fee": str(total_fee_fen),
            "refund_fee": str(refund_fee_fen),
            "refund_desc": check.text(self.refund_desc, "refund_desc", 80, required=False),
        }
        if self.refund_account is not None:
            fields["refund_account"] = check.one_of(self.refund_account, "refund_account", REFUND_ACCOUNTS)
        if self.notify_url is not None:
            fields["notify_url"] = check.notify_url(self.notify_url)
        return fields

    def build(self, ctx: Context) -> HttpRequest:
        """The signed request; the client must present the merchant certificate."""
        sign_type = check.sign_type(self.sign_type)
        return signed_request(ctx, "/secapi/pay/refund", self._fields(), sign_type=sign_type, mtls=True)

    def parse(self, response: HttpResponse, ctx: Context) -> V2RefundAccepted:
        """The accepted refund; ``NOTENOUGH``, ``SYSTEMERROR``… arrive as ``WeChatRefused``."""
        fields = check_response(response, ctx, appid=self.appid, sign_type=check.sign_type(self.sign_type))
        return V2RefundAccepted(
            out_refund_no=required(fields, "out_refund_no"),
            refund_id=required(fields, "refund_id"),
            refund_fee_fen=required_fen(fields, "refund_fee"),
            total_fee_fen=required_fen(fields, "total_fee"),
            out_trade_no=optional(fields, "out_trade_no"),
            transaction_id=optional(fields, "transaction_id"),
            settlement_refund_fee_fen=optional_fen(fields, "settlement_refund_fee"),
            cash_fee_fen=optional_fen(fields, "cash_fee"),
            raw=dict(fields),
        )


@dataclass(frozen=True, slots=True)
class RefundQuery:
    """``POST /pay/refundquery`` by exactly one identifier → :class:`V2RefundQueryResult` (idempotent).

    Orders with more than 10 refunds are paged: pass ``offset`` to read further.
    """

    appid: str
    out_refund_no: str | None = None
    refund_id: str | None = None
    out_trade_no: str | None = None
    transaction_id: str | None = None
    offset: int | None = None
    sign_type: SignType = SignType.MD5

    def __post_init__(self) -> None:
        check.sign_type(self.sign_type)
        self._fields()

    def _fields(self) -> dict[str, str | None]:
        if self.offset is not None and (
            isinstance(self.offset, bool) or not isinstance(self.offset, int) or self.offset < 0
        ):
            raise ConfigurationError("offset must be a non-negative int (the first refund index of the page)")
        name, value = check.exactly_one(
            {
                "out_refund_no": self.out_refund_no,
                "refund_id": self.refund_id,
                "out_trade_no": self.out_trade_no,
                "transaction_id": self.transaction_id,
            }
        )
        if name == "out_refund_no":
            value = check.out_refund_no(value)
        elif name == "out_trade_no":
            value = check.out_trade_no(value)
        else:
            value = check.token(value, name)
        offset = None if self.offset is None else str(self.offset)
        return {"appid": check.token(self.appid, "appid"), name: value, "offset": offset}

    def build(self, ctx: Context) -> HttpRequest:
        """The signed request."""
        sign_type = check.sign_type(self.sign_type)
        return signed_request(ctx, "/pay/refundquery", self._fields(), sign_type=sign_type, idempotent=True)

    def parse(self, response: HttpResponse, ctx: Context) -> V2RefundQueryResult:
        """The order's refunds; ``REFUNDNOTEXIST`` arrives as ``WeChatRefused``."""
        fields = check_response(response, ctx, appid=self.appid, sign_type=check.sign_type(self.sign_type))
        return refund_query_from_fields(fields)


def _refund_record(fields: dict[str, str], n: int) -> V2RefundRecord:
    return V2RefundRecord(
        out_refund_no=required(fields, f"out_refund_no_{n}"),
        refund_id=required(fields, f"refund_id_{n}"),
        refund_fee_fen=required_fen(fields, f"refund_fee_{n}"),
        refund_status=required(fields, f"refund_status_{n}"),
        refund_account=optional(fields, f"refund_account_{n}"),
        success_time=optional_dashed_time(fields, f"refund_success_time_{n}"),
        recv_account=optional(fields, f"refund_recv_accout_{n}"),
    )


def refund_query_from_fields(fields: dict[str, str]) -> V2RefundQueryResult:
    """A :class:`V2RefundQueryResult` from verified refundquery fields (``_$n`` numbered from 0)."""
    count = required_fen(fields, "refund_count")
    if count > _MAX_REFUNDS_PER_PAGE:
        raise ProtocolError(f"refund_count {count} is implausible")
    return V2RefundQueryResult(
        out_trade_no=required(fields, "out_trade_no"),
        transaction_id=optional(fields, "transaction_id"),
        total_fee_fen=optional_fen(fields, "total_fee"),
        refunds=tuple(_refund_record(fields, n) for n in range(count)),
        raw=dict(fields),
    )
