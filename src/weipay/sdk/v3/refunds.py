"""Refund operations: create (``POST /v3/refund/domestic/refunds``) and query by ``out_refund_no``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError
from ..operation import Api, Context, HttpRequest, HttpResponse
from ._json import dump_json
from ._request import ACCEPT_JSON, JSON_HEADERS, path_segment, read_model
from ._validate import (
    check_amount_fen,
    check_choice,
    check_notify_url,
    check_out_refund_no,
    check_out_trade_no,
    check_text,
    check_transaction_id,
)
from .models import Refund
from .responses import expect_json

__all__ = ["CreateRefund", "QueryRefund"]


@dataclass(frozen=True, slots=True)
class CreateRefund:
    """Refund ``refund_fen`` of an order paid ``total_fen``, named by exactly one of its two ids.

    Re-sending the same ``out_refund_no`` with the same amounts is how a lost answer is recovered;
    WeChat refuses the same ``out_refund_no`` with different amounts.
    """

    out_refund_no: str
    refund_fen: int
    total_fen: int
    out_trade_no: str | None = None
    transaction_id: str | None = None
    reason: str | None = None
    notify_url: str | None = None
    funds_account: str | None = None

    def _validate(self) -> None:
        check_out_refund_no(self.out_refund_no)
        if (self.out_trade_no is None) == (self.transaction_id is None):
            raise ConfigurationError("CreateRefund needs exactly one of out_trade_no or transaction_id")
        if self.out_trade_no is not None:
            check_out_trade_no(self.out_trade_no)
        if self.transaction_id is not None:
            check_transaction_id(self.transaction_id)
        check_amount_fen("refund_fen", self.refund_fen)
        check_amount_fen("total_fen", self.total_fen)
        if self.refund_fen > self.total_fen:
            raise ConfigurationError(f"refund_fen ({self.refund_fen}) must not exceed total_fen ({self.total_fen})")
        if self.reason is not None:
            check_text("reason", self.reason, max_chars=80, required=False)
        if self.notify_url is not None:
            check_notify_url(self.notify_url)
        if self.funds_account is not None:
            check_choice("funds_account", self.funds_account, ("AVAILABLE",))

    def body(self) -> dict[str, Any]:
        """The request object (``None`` members are dropped when serialised)."""
        return {
            "transaction_id": self.transaction_id,
            "out_trade_no": self.out_trade_no,
            "out_refund_no": self.out_refund_no,
            "reason": self.reason,
            "notify_url": self.notify_url,
            "funds_account": self.funds_account,
            "amount": {"refund": self.refund_fen, "total": self.total_fen, "currency": "CNY"},
        }

    def build(self, ctx: Context) -> HttpRequest:
        """Validate, then ``POST`` the refund."""
        self._validate()
        return HttpRequest(
            api=Api.V3,
            method="POST",
            path="/v3/refund/domestic/refunds",
            body=dump_json(self.body()),
            headers=JSON_HEADERS,
        )

    def parse(self, response: HttpResponse, ctx: Context) -> Refund:
        """The refund, usually still ``PROCESSING``."""
        return read_model(Refund.from_json, expect_json(response, "refund"), response)


@dataclass(frozen=True, slots=True)
class QueryRefund:
    """``GET /v3/refund/domestic/refunds/{out_refund_no}``."""

    out_refund_no: str

    def build(self, ctx: Context) -> HttpRequest:
        """The query request."""
        segment = path_segment(check_out_refund_no(self.out_refund_no))
        return HttpRequest(
            api=Api.V3,
            method="GET",
            path=f"/v3/refund/domestic/refunds/{segment}",
            headers=ACCEPT_JSON,
            idempotent=True,
        )

    def parse(self, response: HttpResponse, ctx: Context) -> Refund:
        """The refund as WeChat sees it now."""
        return read_model(Refund.from_json, expect_json(response, "refund"), response)
