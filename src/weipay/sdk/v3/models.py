"""Typed answers of API v3: frozen values built from WeChat's JSON with ``from_json``.

Unknown fields are ignored (WeChat adds fields without notice); a missing required field or a field
of the wrong type is a :class:`~weipay.sdk.errors.ProtocolError`. Amounts are integer fen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import ProtocolError
from ._time import parse_rfc3339

__all__ = [
    "BillLocation",
    "PrepayResult",
    "Refund",
    "RefundAmount",
    "RefundNotification",
    "RefundResult",
    "Transaction",
    "TransactionAmount",
    "TransactionNotification",
    "read_envelope",
]


class _Reader:
    """Typed access to one JSON object, with errors that name the object and the field."""

    def __init__(self, data: object, what: str) -> None:
        if not isinstance(data, Mapping):
            raise ProtocolError(f"{what} is not a JSON object")
        self._data: Mapping[str, Any] = data
        self._what = what

    def _get(self, name: str, kind: type, required: bool) -> Any:
        value = self._data.get(name)
        if type(value) is kind:  # what JSON decoding yields; bool never passes for int here
            return value
        if value is None:
            if required:
                raise ProtocolError(f"{self._what} lacks required field {name!r}")
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ProtocolError(f"{self._what}.{name} should be a {kind.__name__}")
        return value

    def text(self, name: str) -> str:
        value: str = self._get(name, str, True)
        return value

    def text_or_none(self, name: str) -> str | None:
        value: str | None = self._get(name, str, False)
        return value

    def integer(self, name: str) -> int:
        value: int = self._get(name, int, True)
        return value

    def integer_or_none(self, name: str) -> int | None:
        value: int | None = self._get(name, int, False)
        return value

    def time(self, name: str) -> datetime:
        return parse_rfc3339(self.text(name), f"{self._what}.{name}")

    def time_or_none(self, name: str) -> datetime | None:
        text = self.text_or_none(name)
        return None if not text else parse_rfc3339(text, f"{self._what}.{name}")

    def mapping(self, name: str, required: bool = True) -> Mapping[str, Any]:
        value: Mapping[str, Any] | None = self._get(name, dict, required)
        return value if value is not None else {}


@dataclass(frozen=True, slots=True)
class PrepayResult:
    """The answer of a prepay call: one of the three is set, depending on the channel."""

    prepay_id: str | None = None
    code_url: str | None = None
    h5_url: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PrepayResult:
        """Read ``{"prepay_id"}`` (jsapi/app), ``{"code_url"}`` (native) or ``{"h5_url"}`` (h5)."""
        reader = _Reader(data, "prepay answer")
        result = cls(reader.text_or_none("prepay_id"), reader.text_or_none("code_url"), reader.text_or_none("h5_url"))
        if not (result.prepay_id or result.code_url or result.h5_url):
            raise ProtocolError("prepay answer has none of prepay_id, code_url, h5_url")
        return result


@dataclass(frozen=True, slots=True)
class TransactionAmount:
    """``amount`` of a transaction; ``payer_*`` appear once the payer has paid."""

    total_fen: int
    payer_total_fen: int | None = None
    currency: str = "CNY"
    payer_currency: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TransactionAmount:
        """Read WeChat's ``amount`` object."""
        reader = _Reader(data, "amount")
        return cls(
            total_fen=reader.integer("total"),
            payer_total_fen=reader.integer_or_none("payer_total"),
            currency=reader.text_or_none("currency") or "CNY",
            payer_currency=reader.text_or_none("payer_currency"),
        )


@dataclass(frozen=True, slots=True)
class Transaction:
    """A payment order as WeChat sees it (query answer and decrypted ``TRANSACTION.*`` resource)."""

    appid: str
    mchid: str
    out_trade_no: str
    trade_state: str
    amount: TransactionAmount
    transaction_id: str | None = None
    trade_type: str | None = None
    trade_state_desc: str = ""
    bank_type: str | None = None
    attach: str | None = None
    success_time: datetime | None = None
    payer_openid: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Transaction:
        """Read a Transaction; unpaid orders lack transaction_id, payer, bank_type and success_time."""
        reader = _Reader(data, "transaction")
        return cls(
            appid=reader.text("appid"),
            mchid=reader.text("mchid"),
            out_trade_no=reader.text("out_trade_no"),
            trade_state=reader.text("trade_state"),
            amount=TransactionAmount.from_json(reader.mapping("amount")),
            transaction_id=reader.text_or_none("transaction_id") or None,
            trade_type=reader.text_or_none("trade_type") or None,
            trade_state_desc=reader.text_or_none("trade_state_desc") or "",
            bank_type=reader.text_or_none("bank_type") or None,
            attach=reader.text_or_none("attach"),
            success_time=reader.time_or_none("success_time"),
            payer_openid=_Reader(reader.mapping("payer", required=False), "transaction.payer").text_or_none("openid"),
        )


@dataclass(frozen=True, slots=True)
class RefundAmount:
    """``amount`` of a refund, in fen. Notifications carry only the first four."""

    total_fen: int
    refund_fen: int
    payer_total_fen: int | None = None
    payer_refund_fen: int | None = None
    settlement_total_fen: int | None = None
    settlement_refund_fen: int | None = None
    discount_refund_fen: int | None = None
    currency: str = "CNY"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RefundAmount:
        """Read WeChat's refund ``amount`` object."""
        reader = _Reader(data, "refund amount")
        return cls(
            total_fen=reader.integer("total"),
            refund_fen=reader.integer("refund"),
            payer_total_fen=reader.integer_or_none("payer_total"),
            payer_refund_fen=reader.integer_or_none("payer_refund"),
            settlement_total_fen=reader.integer_or_none("settlement_total"),
            settlement_refund_fen=reader.integer_or_none("settlement_refund"),
            discount_refund_fen=reader.integer_or_none("discount_refund"),
            currency=reader.text_or_none("currency") or "CNY",
        )


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund as answered by create/query (``status``: SUCCESS, CLOSED, PROCESSING, ABNORMAL)."""

    refund_id: str
    out_refund_no: str
    transaction_id: str
    out_trade_no: str
    status: str
    create_time: datetime
    amount: RefundAmount
    channel: str | None = None
    user_received_account: str | None = None
    success_time: datetime | None = None
    funds_account: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Refund:
        """Read a Refund object."""
        reader = _Reader(data, "refund")
        return cls(
            refund_id=reader.text("refund_id"),
            out_refund_no=reader.text("out_refund_no"),
            transaction_id=reader.text("transaction_id"),
            out_trade_no=reader.text("out_trade_no"),
            status=reader.text("status"),
            create_time=reader.time("create_time"),
            amount=RefundAmount.from_json(reader.mapping("amount")),
            channel=reader.text_or_none("channel"),
            user_received_account=reader.text_or_none("user_received_account"),
            success_time=reader.time_or_none("success_time"),
            funds_account=reader.text_or_none("funds_account"),
        )


@dataclass(frozen=True, slots=True)
class BillLocation:
    """Where to fetch a bill, and the digest of its uncompressed bytes."""

    hash_type: str
    hash_value: str
    download_url: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BillLocation:
        """Read the tradebill / fundflowbill answer."""
        reader = _Reader(data, "bill answer")
        return cls(reader.text("hash_type"), reader.text("hash_value"), reader.text("download_url"))


@dataclass(frozen=True, slots=True)
class RefundResult:
    """The decrypted resource of a ``REFUND.*`` notification (note ``refund_status``, not ``status``)."""

    mchid: str
    out_trade_no: str
    transaction_id: str
    out_refund_no: str
    refund_id: str
    refund_status: str
    amount: RefundAmount
    success_time: datetime | None = None
    user_received_account: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RefundResult:
        """Read a decrypted refund notification resource."""
        reader = _Reader(data, "refund resource")
        return cls(
            mchid=reader.text("mchid"),
            out_trade_no=reader.text("out_trade_no"),
            transaction_id=reader.text("transaction_id"),
            out_refund_no=reader.text("out_refund_no"),
            refund_id=reader.text("refund_id"),
            refund_status=reader.text("refund_status"),
            amount=RefundAmount.from_json(reader.mapping("amount")),
            success_time=reader.time_or_none("success_time"),
            user_received_account=reader.text_or_none("user_received_account"),
        )


@dataclass(frozen=True, slots=True)
class TransactionNotification:
    """A verified, decrypted ``TRANSACTION.*`` notification."""

    id: str
    event_type: str
    create_time: datetime
    summary: str
    transaction: Transaction


@dataclass(frozen=True, slots=True)
class RefundNotification:
    """A verified, decrypted ``REFUND.*`` notification."""

    id: str
    event_type: str
    create_time: datetime
    summary: str
    refund: RefundResult


def read_envelope(data: Mapping[str, Any]) -> tuple[str, str, datetime, str]:
    """``(id, event_type, create_time, summary)`` of a notification envelope."""
    if type(data) is dict:
        get = data.get
        notification_id, event_type, summary = get("id"), get("event_type"), get("summary")
        create_text = get("create_time")
        if (
            type(notification_id) is str
            and type(event_type) is str
            and type(create_text) is str
            and (summary is None or type(summary) is str)
        ):
            try:
                create_time = datetime.fromisoformat(create_text)
            except ValueError:
                create_time = None  # the reader below words the error
            if create_time is not None and create_time.tzinfo is not None:
                return notification_id, event_type, create_time, summary or ""
    reader = _Reader(data, "notification")
    summary = reader.text_or_none("summary") or ""
    return reader.text("id"), reader.text("event_type"), reader.time("create_time"), summary
