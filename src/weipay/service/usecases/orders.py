"""Orders: create (idempotent) and load; reads for lists and details are in ``queries``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from weipay.sdk.clock import system_clock
from weipay.service.domain import (
    CURRENCY,
    Conflict,
    InvalidInput,
    NotFound,
    Order,
    OrderOptions,
    OrderStatus,
    check_currency,
    check_fen,
    check_openid,
    check_text,
    new_order_id,
)

from .outbox import schedule_expiry
from .ports import Clock, DuplicateRecord, MerchantConfig, Stores, UnitOfWork

__all__ = ["CreateOrder", "create_order", "create_order_idempotently", "load_order", "order_in"]

# WeChat's shortest order life: v2 refuses a time_expire less than five minutes away (production rule, the
# simulator's --strict) and the SDK refuses a v3 create with under 60 s left. The attempt's time_expire is the
# order's expiry, so a shorter order could not be paid on v2 at all: refuse it (422) rather than extend it
# silently, which would let WeChat take a payment after the merchant's deadline.
_MIN_TTL_S = 300
_MAX_TTL_S = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class CreateOrder:
    """What a merchant backend asks for. ``expire_after_s`` defaults to the merchant's order TTL."""

    merchant_order_no: str
    amount_fen: int
    description: str
    currency: str = CURRENCY
    attach: str | None = None
    expire_after_s: int | None = None
    payer_openid: str | None = None
    options: OrderOptions | None = None

    def fingerprint(self) -> str:
        """A digest of the request body: the same body twice is a retry, a different one a conflict."""
        fields: list[object] = [self.merchant_order_no, self.amount_fen, self.description, self.currency,
                                self.attach, self.expire_after_s, self.payer_openid]
        if self.stored_options is not None:  # orders without options keep the digests they always had
            fields.append(self.stored_options)
        return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()

    @property
    def stored_options(self) -> str | None:
        """The options as the order stores them (``None`` when nothing is asked for)."""
        return None if self.options is None or self.options.is_empty else self.options.to_json()


def _check(request: CreateOrder, merchant: MerchantConfig) -> int:
    check_fen(request.amount_fen)
    check_currency(request.currency)
    check_text("merchant_order_no", request.merchant_order_no, max_chars=64, required=True)
    check_text("description", request.description, max_bytes=127, required=True)  # v3: 127 bytes, v2: 128
    check_text("attach", request.attach, max_bytes=127)  # v2: 127 bytes, v3: 128
    check_openid("payer_openid", request.payer_openid)
    if request.options is not None:
        request.options.check()
    ttl_s = merchant.order_ttl_s if request.expire_after_s is None else request.expire_after_s
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int) or not _MIN_TTL_S <= ttl_s <= _MAX_TTL_S:
        raise InvalidInput(
            "invalid_expiry",
            f"expire_after_s must be {_MIN_TTL_S}-{_MAX_TTL_S} seconds (WeChat keeps an order open at least"
            " five minutes)",
            min_s=_MIN_TTL_S,
            max_s=_MAX_TTL_S,
        )
    return ttl_s


def _existing(uow: UnitOfWork, mchid: str, request: CreateOrder, idempotency_key: str | None) -> Order | None:
    with uow.read() as tx:
        found = tx.orders.by_idempotency_key(mchid, idempotency_key) if idempotency_key else None
        found = found or tx.orders.by_merchant_order_no(mchid, request.merchant_order_no)
    if found is None:
        return None
    if found.request_hash != request.fingerprint() or (
        idempotency_key and found.idempotency_key and found.idempotency_key != idempotency_key
    ):
        raise Conflict(
            "idempotency_conflict",
            "an order with this merchant_order_no or Idempotency-Key exists with a different body",
            order_id=found.id,
        )
    return found


def create_order(
    uow: UnitOfWork,
    merchant: MerchantConfig,
    request: CreateOrder,
    idempotency_key: str | None = None,
    *,
    clock: Clock = system_clock,
) -> Order:
    """Create an order, or return the one this same request already created.

    Idempotent on ``merchant_order_no`` and on ``idempotency_key``: the same body returns the same
    order; a different body raises ``idempotency_conflict``.
    """
    return create_order_idempotently(uow, merchant, request, idempotency_key, clock=clock)[0]


def create_order_idempotently(
    uow: UnitOfWork,
    merchant: MerchantConfig,
    request: CreateOrder,
    idempotency_key: str | None = None,
    *,
    clock: Clock = system_clock,
) -> tuple[Order, bool]:
    """:func:`create_order`, also saying whether THIS call created the order (the API's 201 vs 200).

    Decided by who wins the unique constraint, not by a read before it: of concurrent twins exactly one is told
    it created the order.
    """
    ttl_s = _check(request, merchant)
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
        raise InvalidInput("invalid_idempotency_key", "Idempotency-Key must be 1-255 characters")
    existing = _existing(uow, merchant.mchid, request, idempotency_key)
    if existing is not None:
        return existing, False
    now = clock()
    order = Order(
        id=new_order_id(), mchid=merchant.mchid, merchant_order_no=request.merchant_order_no,
        amount_fen=request.amount_fen, currency=request.currency, description=request.description,
        attach=request.attach, payer_openid=request.payer_openid, status=OrderStatus.PENDING, paid_fen=0,
        refunded_fen=0, reserved_fen=0, paid_attempt_id=None, created_at=now, updated_at=now,
        expires_at=now + ttl_s, idempotency_key=idempotency_key, request_hash=request.fingerprint(),
        options=request.stored_options,
    )  # fmt: skip
    try:
        with uow.write() as tx:
            tx.orders.add(order)
            schedule_expiry(tx, order.id, due_at=order.expires_at, now=now)
    except DuplicateRecord:
        # A concurrent twin won the unique constraint: answer as its retry would.
        existing = _existing(uow, merchant.mchid, request, idempotency_key)
        if existing is None:
            raise
        return existing, False
    return order, True


def load_order(uow: UnitOfWork, order_id: str, mchid: str | None = None) -> Order:
    """The order, or ``order_not_found`` (also when it belongs to another merchant)."""
    with uow.read() as tx:
        return order_in(tx, order_id, mchid)


def order_in(tx: Stores, order_id: str, mchid: str | None = None) -> Order:
    """:func:`load_order` within an open transaction."""
    order = tx.orders.get(order_id)
    if order is None or (mchid is not None and order.mchid != mchid):
        raise NotFound("order_not_found", f"no order {order_id[:48]!r}")
    return order
