"""Refund operations: create (``POST /v3/refund/domestic/refunds``), query by ``out_refund_no``, and
apply for an abnormal refund (``POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

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
from .sensitive import encrypt_sensitive, sensitive_headers

__all__ = ["AbnormalRefundType", "ApplyAbnormalRefund", "CreateRefund", "QueryRefund"]

AbnormalRefundType = Literal["USER_BANK_CARD", "MERCHANT_BANK_CARD"]
_ABNORMAL_REFUND_TYPES = ("USER_BANK_CARD", "MERCHANT_BANK_CARD")
_REFUND_ID_MAX_CHARS = 32
_BANK_TYPE_MAX_BYTES = 16


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


@dataclass(frozen=True, slots=True)
class ApplyAbnormalRefund:
    """Send an ABNORMAL refund again, to the payer's bank card or to the merchant's bank account.

    WeChat names the refund by its ``refund_id`` in the path and the ``out_refund_no`` in the body.
    ``USER_BANK_CARD`` needs ``bank_type`` (WeChat's bank code, e.g. ``ICBC_DEBIT``), ``bank_account``
    and ``real_name``; those two are RSA-OAEP encrypted with ``encryption_key``, the WeChat Pay public
    key or platform certificate named ``encryption_serial`` (sent as ``Wechatpay-Serial``).
    ``MERCHANT_BANK_CARD`` takes none of them. The answer is the refund, usually PROCESSING again.
    """

    refund_id: str
    out_refund_no: str
    type: AbnormalRefundType
    bank_type: str | None = None
    bank_account: str | None = field(default=None, repr=False)
    real_name: str | None = field(default=None, repr=False)
    encryption_key: RSAPublicKey | None = field(default=None, repr=False)
    encryption_serial: str | None = None

    def _validate(self) -> None:
        if not isinstance(self.refund_id, str) or not 1 <= len(self.refund_id) <= _REFUND_ID_MAX_CHARS:
            raise ConfigurationError("refund_id must be WeChat's refund id (1-32 characters)")
        check_out_refund_no(self.out_refund_no)
        check_choice("type", self.type, _ABNORMAL_REFUND_TYPES)
        bank_fields = (self.bank_type, self.bank_account, self.real_name)
        if self.type == "MERCHANT_BANK_CARD":
            if any(value is not None for value in bank_fields):
                raise ConfigurationError("MERCHANT_BANK_CARD takes no bank_type, bank_account or real_name")
            return
        if any(not value for value in bank_fields):
            raise ConfigurationError("USER_BANK_CARD needs bank_type, bank_account and real_name")
        assert self.bank_type is not None
        if len(self.bank_type.encode()) > _BANK_TYPE_MAX_BYTES or not self.bank_type.isascii():
            raise ConfigurationError(f"bank_type must be WeChat's bank code (at most {_BANK_TYPE_MAX_BYTES} bytes)")
        if self.encryption_key is None or self.encryption_serial is None:
            raise ConfigurationError("USER_BANK_CARD needs the WeChat Pay key to encrypt bank_account and real_name")

    def build(self, ctx: Context) -> HttpRequest:
        """Validate, encrypt the sensitive fields, then ``POST`` the application."""
        self._validate()
        body: dict[str, Any] = {"out_refund_no": self.out_refund_no, "type": self.type}
        headers = dict(JSON_HEADERS)
        if self.type == "USER_BANK_CARD":
            assert self.encryption_key is not None and self.encryption_serial is not None
            assert self.bank_account is not None and self.real_name is not None
            body["bank_type"] = self.bank_type
            body["bank_account"] = encrypt_sensitive(self.encryption_key, self.bank_account)
            body["real_name"] = encrypt_sensitive(self.encryption_key, self.real_name)
            headers.update(sensitive_headers(self.encryption_serial))
        return HttpRequest(
            api=Api.V3,
            method="POST",
            path=f"/v3/refund/domestic/refunds/{path_segment(self.refund_id)}/apply-abnormal-refund",
            body=dump_json(body),
            headers=headers,
        )

    def parse(self, response: HttpResponse, ctx: Context) -> Refund:
        """The refund as WeChat holds it after the application (PROCESSING until the bank answers)."""
        return read_model(Refund.from_json, expect_json(response, "refund"), response)
