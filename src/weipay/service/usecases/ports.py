"""What the use cases need from the outside world, as Protocols and plain values.

The gateway (``weipay.service.gateway``) implements :class:`Gateway` over ``weipay.sdk``; tests may
drive it with the simulator as an httpx transport. The unit of work is
``weipay.service.db.SqlUnitOfWork``: it implements :class:`UnitOfWork` and its transactions
:class:`Stores` structurally, without this module knowing it exists. A write that loses a unique
constraint to a concurrent twin surfaces here as :class:`DuplicateRecord`, never as a driver error.
Merchant policy arrives as a :class:`MerchantConfig` value built by the web layer from its settings.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from weipay.service.domain import ApiVersion, CallRecord, PaymentAttempt, Refund, Shipment

from .stores import (
    AnomalyStore,
    AttemptStore,
    CallLog,
    DuplicateRecord,
    NotificationStore,
    OrderStore,
    Outbox,
    RefundStore,
    SessionStore,
    Stores,
)

__all__ = [
    "AbnormalRefundApplication",
    "AnomalyStore",
    "AttemptStore",
    "BillEntry",
    "CallLog",
    "Calls",
    "Clock",
    "CloseAnswer",
    "CredentialExpiry",
    "DuplicateRecord",
    "Gateway",
    "LoginAnswer",
    "MerchantConfig",
    "NotificationStore",
    "OrderStore",
    "Outbox",
    "Outcome",
    "PaymentNotification",
    "PaymentStatus",
    "PrepayAnswer",
    "RefundAnswer",
    "RefundNotification",
    "RefundStore",
    "SessionStore",
    "ShippingAnswer",
    "ShippingState",
    "Stores",
    "UnitOfWork",
]

Clock = Callable[[], float]


class Outcome(StrEnum):
    """What a WeChat call established. UNKNOWN is never read as FAILED: it is resolved by a query."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PENDING = "pending"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class PrepayAnswer:
    """Answer to creating a WeChat order: SUCCEEDED (prepay made), FAILED (refused), UNKNOWN."""

    outcome: Outcome
    call: CallRecord
    prepay_id: str | None = None
    code_url: str | None = None
    h5_url: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentStatus:
    """Answer to a query: SUCCEEDED = paid, PENDING = unpaid but open, FAILED = closed/failed/absent."""

    outcome: Outcome
    call: CallRecord
    trade_state: str | None = None
    transaction_id: str | None = None
    amount_fen: int | None = None
    currency: str | None = None
    appid: str | None = None
    mchid: str | None = None
    paid_at: float | None = None
    error_code: str | None = None


@dataclass(frozen=True, slots=True)
class CloseAnswer:
    """Answer to a close: SUCCEEDED = closed at WeChat; FAILED with ``error_code`` (e.g. ORDERPAID); UNKNOWN."""

    outcome: Outcome
    call: CallRecord
    error_code: str | None = None


@dataclass(frozen=True, slots=True)
class RefundAnswer:
    """Answer to a refund submission or query: SUCCEEDED, PENDING (processing), FAILED, UNKNOWN."""

    outcome: Outcome
    call: CallRecord
    refund_id: str | None = None
    status: str | None = None
    refund_fen: int | None = None
    funds_source: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    earlier_calls: tuple[CallRecord, ...] = ()  # e.g. the NOTENOUGH refusal before the fallback


@dataclass(frozen=True, slots=True)
class AbnormalRefundApplication:
    """Where an ABNORMAL refund's money should go instead: WeChat's ``USER_BANK_CARD`` (with the payer's
    ``bank_type``, ``bank_account`` and ``real_name``) or ``MERCHANT_BANK_CARD`` (nothing else)."""

    type: str
    bank_type: str | None = None
    bank_account: str | None = field(default=None, repr=False)
    real_name: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class LoginAnswer:
    """A login: a mini-program's carries a ``session_key``, which must stay on the server; an OAuth one
    (official account, app) has none (its web access token is not kept: the service needs only the openid)."""

    openid: str
    call: CallRecord
    session_key: str = field(default="", repr=False)
    unionid: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentNotification:
    """A verified, decrypted payment notification, in one shape for v2 and v3.

    ``event_id`` is WeChat's notification id (v3) or a digest of the body (v2, which has no id).
    ``body`` is the raw body as received, kept with the stored notification. ``trade_type`` (JSAPI/NATIVE/APP/MWEB) and,
    for v3, the envelope's ``event_type`` are carried so the use case can check them against the attempt.
    ``payer_amount_fen`` is what the payer paid (v3 ``payer_total``, v2 ``cash_fee``): coupons make it smaller.
    """

    event_id: str
    api: ApiVersion
    mchid: str
    appid: str
    out_trade_no: str
    trade_state: str
    amount_fen: int
    currency: str
    body: str
    transaction_id: str | None = None
    payer_amount_fen: int | None = None
    paid_at: float | None = None
    trade_type: str | None = None
    event_type: str | None = None
    payer_openid: str | None = field(default=None, repr=False)
    bank_type: str | None = None


@dataclass(frozen=True, slots=True)
class RefundNotification:
    """A verified, decrypted refund notification (``refund_status``: SUCCESS, CLOSED, ABNORMAL)."""

    event_id: str
    api: ApiVersion
    mchid: str
    out_trade_no: str
    out_refund_no: str
    refund_status: str
    refund_fen: int
    total_fen: int
    body: str
    refund_id: str | None = None
    succeeded_at: float | None = None


@dataclass(frozen=True, slots=True)
class BillEntry:
    """One line of WeChat's trade bill: a payment (``trade_state`` SUCCESS) or a refund (REFUND)."""

    out_trade_no: str
    transaction_id: str
    trade_state: str
    amount_fen: int | None
    out_refund_no: str | None = None
    refund_fen: int | None = None
    refund_status: str | None = None


@dataclass(frozen=True, slots=True)
class ShippingAnswer:
    """Answer to a shipping upload: SUCCEEDED (recorded, or already on record), PENDING (refused for now: the
    payment is not filed yet, the platform is busy, the token was refused twice), FAILED (refused for good:
    ``error_code`` says why) or UNKNOWN (no answer: ask ``query_shipping`` before sending it again)."""

    outcome: Outcome
    call: CallRecord
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class ShippingState:
    """A payment as the mini-program platform's shipping management sees it (SUCCEEDED), or why it could not
    tell (FAILED: no such managed payment; UNKNOWN). ``order_state`` is WeChat's 1 待发货 … 5 已退款;
    ``tracking_nos`` and ``goods_descs`` are what is on record."""

    outcome: Outcome
    call: CallRecord
    order_state: int | None = None
    logistics_type: int | None = None
    tracking_nos: tuple[str, ...] = ()
    goods_descs: tuple[str, ...] = ()
    error_code: str | None = None


@dataclass(frozen=True, slots=True)
class CredentialExpiry:
    """When one of a merchant's certificates stops working.

    ``what`` is ``merchant_certificate`` (the API certificate, apiclient_cert: the merchant renews it in the
    merchant platform) or ``platform_certificate`` (WeChat's, normally replaced by the SDK's download).
    """

    what: str
    serial: str
    not_after: float


@dataclass(frozen=True, slots=True)
class MerchantConfig:
    """A merchant's identity and policies, as the use cases need them.

    ``appids`` maps kinds (``miniprogram``, ``app``, ``official_account``) to appids; ``more_appids`` holds
    further appids of a kind (several mini-programs or apps paying into one mchid), which payments may name.
    ``shipping_*`` is the mini-program shipping policy: upload virtual goods automatically once paid, the upload
    deadline after payment, and how long before it an order with nothing uploaded raises ``shipping_overdue``.
    """

    mchid: str
    appids: Mapping[str, str]
    default_api: ApiVersion = ApiVersion.V3
    refund_approval_required: bool = False
    order_ttl_s: int = 7200
    notify_expected_after_s: int = 10
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    more_appids: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    shipping_auto_virtual: bool = False
    shipping_deadline_s: float = 48 * 3600.0
    shipping_warn_before_s: float = 6 * 3600.0

    def appids_of(self, kind: str) -> tuple[str, ...]:
        """Every appid of ``kind``: the main one first, then ``more_appids``."""
        main = self.appids.get(kind)
        return (*([main] if main else []), *(appid for appid in self.more_appids.get(kind, ()) if appid != main))


class UnitOfWork(Protocol):
    """Opens transactions (implemented by ``weipay.service.db.SqlUnitOfWork``)."""

    def write(self) -> AbstractContextManager[Stores]:
        """A write transaction (BEGIN IMMEDIATE on SQLite); commits on success."""
        ...

    def read(self) -> AbstractContextManager[Stores]:
        """A read transaction."""
        ...


T = TypeVar("T")

#: A flow of WeChat calls ending with a ``T``: what it yields and is sent back belongs to the gateway.
Calls = Generator[Any, Any, T]


class Gateway(Protocol):
    """WeChat Pay as the use cases see it. Every method answers; none raises for WeChat's own refusals.

    The methods that ask WeChat are flows (``Calls``): a use case ``yield from``s them (see ``flows``).
    """

    def run(self, calls: Calls[T]) -> T:
        """Drive a flow to its end with blocking calls."""
        ...

    def notify_url(self, mchid: str, api: ApiVersion) -> str:
        """Where WeChat must send this merchant's notifications for ``api``."""
        ...

    def create_payment(self, attempt: PaymentAttempt) -> Calls[PrepayAnswer]:
        """Create (or re-create with identical parameters) the WeChat order of ``attempt``."""
        ...

    def client_params(self, attempt: PaymentAttempt) -> dict[str, str]:
        """The object the client needs: ``wx.requestPayment`` / APP ``PayReq`` / ``code_url`` / ``h5_url``."""
        ...

    def query_payment(self, attempt: PaymentAttempt) -> Calls[PaymentStatus]:
        """Ask WeChat for the state of ``attempt``."""
        ...

    def close_payment(self, attempt: PaymentAttempt) -> Calls[CloseAnswer]:
        """Close ``attempt`` at WeChat."""
        ...

    def create_refund(self, refund: Refund) -> Calls[RefundAnswer]:
        """Submit (or resubmit, same ``out_refund_no``) ``refund``."""
        ...

    def query_refund(self, refund: Refund) -> Calls[RefundAnswer]:
        """Ask WeChat for the state of ``refund``."""
        ...

    def apply_abnormal_refund(self, refund: Refund, application: AbnormalRefundApplication) -> Calls[RefundAnswer]:
        """Send an ABNORMAL (v3) refund again as ``application`` says (SUCCEEDED: WeChat took it)."""
        ...

    def trade_bill(self, mchid: str, api: ApiVersion, day: date) -> Calls[list[BillEntry]]:
        """WeChat's trade bill of ``day`` (Beijing time); raises ``DomainError`` ``bill_unavailable``."""
        ...

    def code2session(self, mchid: str, appid: str, code: str) -> Calls[LoginAnswer]:
        """Exchange a mini-program login code (raises ``DomainError`` ``login_failed`` when refused)."""
        ...

    def oauth_login(self, mchid: str, appid: str, code: str) -> Calls[LoginAnswer]:
        """Exchange an official account's (or app's) OAuth code (raises ``DomainError`` ``login_failed``)."""
        ...

    def credential_expiries(self, mchid: str) -> list[CredentialExpiry]:
        """The expiry of each certificate the merchant's client holds (local: no call to WeChat)."""
        ...

    def upload_shipping(self, shipment: Shipment) -> Calls[ShippingAnswer]:
        """Upload ``shipment`` to the mini-program platform (upload_shipping_info, with the app's access token)."""
        ...

    def query_shipping(self, mchid: str, appid: str, transaction_id: str) -> Calls[ShippingState]:
        """The platform's shipping state of one payment (get_order)."""
        ...
