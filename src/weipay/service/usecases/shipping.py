"""Mini-program shipping information (小程序发货信息管理): submit, upload through a job, learn of receipt.

Under WeChat's trade-management rules a mini-program payment stays frozen until the merchant uploads how the
goods were delivered and the buyer confirms receipt. The flow here:

1. :func:`submit_shipping` (``POST /v1/orders/{id}/shipping``, or the automatic virtual-goods upload) checks
   the request against WeChat's rules, stores it as ``pending`` and writes the ``upload_shipping`` job in the
   same transaction.
2. :func:`upload_shipping` (the job) sends it with the app's access token. Uploads are not idempotent at
   WeChat, so after a lost answer the next run asks ``get_order`` first and records the upload if it landed.
   A refusal for now (the payment not filed yet, a busy platform) raises :class:`ShippingRetry`: the job
   machinery retries with back-off and raises ``job_dead`` if it never succeeds. A final refusal is ``failed``
   with WeChat's code, and alerts.
3. The platform's ``trade_manage_order_settlement`` message (``/notify/wxa/{mchid}``) only schedules
   :func:`sync_shipping`, which asks ``get_order``: receipt confirmed (order_state 3 or 4) moves the shipment
   to ``confirmed`` and tells the merchant with the webhook ``order.receipt_confirmed``.
4. Each paid mini-program order gets the ``shipping_after_payment`` job in the transaction that records the
   payment (:func:`after_payment`): the automatic upload for virtual goods when the merchant asks for it, and
   the deadline check (:func:`check_shipping_deadline`) that alerts ``shipping_overdue`` while nothing has
   been uploaded shortly before the merchant's deadline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from weipay.sdk.errors import ConfigurationError
from weipay.sdk.shipping import Contact, DeliveryMode, LogisticsType, OrderKey, ShippingItem, UploadShippingInfo
from weipay.service.domain import (
    LOGISTICS_TYPES,
    SHIPPING_TRANSITIONS,
    Channel,
    Conflict,
    InvalidInput,
    NotFound,
    Order,
    OrderStatus,
    Shipment,
    ShippingEvent,
    ShippingStatus,
    sources_of,
    transition,
)

from .alerting import Severity, raise_alert, record_wechat_call
from .ports import Clock, Gateway, MerchantConfig, Outcome, ShippingState, Stores, UnitOfWork
from .webhook_events import emit_webhook

__all__ = [
    "CHECK_SHIPPING_DEADLINE",
    "RECEIPT_CONFIRMED",
    "SHIPPING_AFTER_PAYMENT",
    "SYNC_SHIPPING",
    "UPLOAD_SHIPPING",
    "ShippingRequest",
    "ShippingRetry",
    "after_payment",
    "check_shipping_deadline",
    "receipt_message",
    "submit_shipping",
    "sync_shipping",
    "upload_shipping",
]

UPLOAD_SHIPPING = "upload_shipping"
SYNC_SHIPPING = "sync_shipping"
SHIPPING_AFTER_PAYMENT = "shipping_after_payment"
CHECK_SHIPPING_DEADLINE = "check_shipping_deadline"
RECEIPT_CONFIRMED = "order.receipt_confirmed"  # the webhook event
_DELIVERY_MODES = {"unified": 1, "split": 2}
_SHIPPABLE = (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED)
_CONFIRMED_STATES = (3, 4)  # WeChat's 确认收货, 交易完成
_SETTLED_STATE = 4
_UNKNOWN = "outcome_unknown"


class ShippingRetry(Exception):
    """The upload or query must be tried again later (the job's back-off decides when)."""


@dataclass(frozen=True, slots=True)
class ShippingRequest:
    """What the merchant shipped: ``logistics_type`` (``express``, ``same_city``, ``virtual``, ``pickup``),
    ``delivery_mode`` (``unified`` or ``split``), the ``shipping_list`` entries and, for split delivery,
    ``is_all_delivered``. Entries are dicts with ``item_desc`` and optionally ``tracking_no``,
    ``express_company`` and ``contact`` (``consignor_contact`` / ``receiver_contact``, masked)."""

    logistics_type: str
    shipping_list: Sequence[Mapping[str, Any]]
    delivery_mode: str = "unified"
    is_all_delivered: bool | None = None


def _items(request: ShippingRequest) -> tuple[dict[str, Any], ...]:
    items = []
    for entry in request.shipping_list:
        item = {key: entry[key] for key in ("item_desc", "tracking_no", "express_company") if entry.get(key)}
        contact = entry.get("contact")
        if contact:
            item["contact"] = {key: contact[key] for key in ("consignor_contact", "receiver_contact")
                               if contact.get(key)}  # fmt: skip
        items.append(item)
    return tuple(items)


def _check(request: ShippingRequest, items: tuple[dict[str, Any], ...], payer_openid: str) -> tuple[int, int]:
    """WeChat's rules for the upload, checked by the SDK's own operation: bad input is refused here, with the
    field named, rather than by WeChat minutes later."""
    logistics_type = LOGISTICS_TYPES.get(request.logistics_type)
    delivery_mode = _DELIVERY_MODES.get(request.delivery_mode)
    if logistics_type is None:
        raise InvalidInput("invalid_shipping", f"logistics_type must be one of {', '.join(LOGISTICS_TYPES)}")
    if delivery_mode is None:
        raise InvalidInput("invalid_shipping", "delivery_mode must be unified or split")
    try:
        UploadShippingInfo(
            appid="wx-check", order_key=OrderKey(transaction_id="4" * 28), logistics_type=LogisticsType(logistics_type),
            delivery_mode=DeliveryMode(delivery_mode), payer_openid=payer_openid or "-",
            is_all_delivered=request.is_all_delivered,
            shipping_list=tuple(
                ShippingItem(str(item.get("item_desc", "")), item.get("tracking_no"), item.get("express_company"),
                             Contact(**item["contact"]) if "contact" in item else None)
                for item in items
            ),
        ).check()  # fmt: skip
    except ConfigurationError as error:
        raise InvalidInput("invalid_shipping", str(error.message)) from None
    return logistics_type, delivery_mode


def submit_shipping(
    uow: UnitOfWork, clock: Clock, mchid: str, order_id: str, request: ShippingRequest, *, automatic: bool = False
) -> Shipment:
    """Store the shipping information of a paid mini-program order and queue its upload (see the module docstring).

    The same information again is answered with the stored shipment (no second upload). Refused: an order of
    another merchant or unknown (``order_not_found``), not paid (``order_not_paid``), not paid in a mini program
    (``not_miniprogram``), bad fields (``invalid_shipping``), an upload still in flight with other information
    or receipt already confirmed (``invalid_transition``).
    """
    items = _items(request)
    with uow.write() as tx:
        order, attempt_appid, transaction_id, payer_openid, attempt_id = _paid_miniprogram(tx, mchid, order_id)
        logistics_type, delivery_mode = _check(request, items, payer_openid)
        now = clock()
        fresh = Shipment(
            order_id=order.id, mchid=order.mchid, attempt_id=attempt_id, appid=attempt_appid,
            transaction_id=transaction_id, payer_openid=payer_openid, logistics_type=logistics_type,
            delivery_mode=delivery_mode, items=items, status=ShippingStatus.PENDING, created_at=now, updated_at=now,
            submitted_at=now, is_all_delivered=request.is_all_delivered, automatic=automatic,
        )  # fmt: skip
        stored = tx.shipping.get(order.id)
        if stored is None and tx.shipping.add(fresh):
            _schedule_upload(tx, order.id, now)
            return fresh
        stored = stored or tx.shipping.get(order.id)
        assert stored is not None
        if _same_content(stored, fresh) and stored.status != ShippingStatus.FAILED:
            return stored  # a retried request: already stored, uploaded or queued
        status = transition(SHIPPING_TRANSITIONS, stored.status, ShippingEvent.SUBMIT)
        changes = {"logistics_type": logistics_type, "delivery_mode": delivery_mode, "items": items,
                   "is_all_delivered": request.is_all_delivered, "automatic": automatic, "status": status,
                   "submitted_at": now, "updated_at": now, "last_error_code": None, "last_error_message": None}
        if not tx.shipping.compare_and_set(order.id, [stored.status], **changes):
            raise Conflict("invalid_transition", "the shipping information changed meanwhile; read it and retry")
        _schedule_upload(tx, order.id, now)
        return replace(stored, **{**changes, "status": status})  # type: ignore[arg-type]


def _paid_miniprogram(tx: Stores, mchid: str, order_id: str) -> tuple[Order, str, str, str, str]:
    order = tx.orders.get(order_id, for_update=True)
    if order is None or order.mchid != mchid:
        raise NotFound("order_not_found", f"no order {order_id[:48]!r}")
    if order.status not in _SHIPPABLE or order.paid_attempt_id is None:
        raise Conflict("order_not_paid", "only a paid order has shipping information", status=order.status.value)
    attempt = tx.attempts.get(order.paid_attempt_id)
    if attempt is None or attempt.channel != Channel.MINIPROGRAM or not attempt.transaction_id:
        raise Conflict("not_miniprogram", "shipping information is for orders paid in a mini program")
    openid = attempt.payer_openid or order.payer_openid or ""
    return order, attempt.appid, attempt.transaction_id, openid, attempt.id


def _same_content(stored: Shipment, fresh: Shipment) -> bool:
    fields = ("logistics_type", "delivery_mode", "is_all_delivered")
    return all(getattr(stored, name) == getattr(fresh, name) for name in fields) and [
        dict(item) for item in stored.items] == [dict(item) for item in fresh.items]


def _schedule_upload(tx: Stores, order_id: str, now: float) -> None:
    tx.jobs.enqueue(UPLOAD_SHIPPING, {"order_id": order_id}, due_at=now, now=now,
                    dedupe_key=f"{UPLOAD_SHIPPING}:{order_id}", order_id=order_id, rearm=True)  # fmt: skip


def upload_shipping(uow: UnitOfWork, gateway: Gateway, clock: Clock, order_id: str) -> Shipment | None:
    """The ``upload_shipping`` job: send the pending shipment; the shipment as it ended (None: nothing pending)."""
    with uow.read() as tx:
        shipment = tx.shipping.get(order_id)
    if shipment is None or shipment.status != ShippingStatus.PENDING:
        return shipment
    if shipment.last_error_code == _UNKNOWN:
        # The previous upload's answer was lost: it may have landed, and a second one could spend the re-shipment.
        state = gateway.run(gateway.query_shipping(shipment.mchid, shipment.appid, shipment.transaction_id))
        with uow.write() as tx:
            record_wechat_call(tx, state.call, clock(), order_id=order_id)
            if state.outcome == Outcome.SUCCEEDED and _landed(state, shipment):
                return _uploaded(tx, shipment, clock())
        if state.outcome == Outcome.UNKNOWN:
            raise ShippingRetry("the platform did not answer get_order")
    answer = gateway.run(gateway.upload_shipping(shipment))
    with uow.write() as tx:
        now = clock()
        record_wechat_call(tx, answer.call, now, order_id=order_id)
        if answer.outcome == Outcome.SUCCEEDED:
            return _uploaded(tx, shipment, now)
        error = {"last_error_code": answer.error_code, "last_error_message": answer.error_message, "updated_at": now}
        if answer.outcome == Outcome.FAILED:
            if tx.shipping.compare_and_set(order_id, [ShippingStatus.PENDING],
                                           status=ShippingStatus.FAILED, **error):  # fmt: skip
                raise_alert(
                    tx, f"shipping_refused:{shipment.mchid}:{answer.error_code}", kind="shipping_refused",
                    severity=Severity.ERROR, title=f"微信拒绝了发货信息 ({answer.error_code})", now=now,
                    mchid=shipment.mchid, order_id=order_id,
                    detail={"error_code": answer.error_code, "message": answer.error_message},
                )  # fmt: skip
            return tx.shipping.get(order_id)
        tx.shipping.compare_and_set(order_id, [ShippingStatus.PENDING], **error)
    raise ShippingRetry(f"upload not recorded yet: {answer.error_code}")


def _landed(state: ShippingState, shipment: Shipment) -> bool:
    """Whether what the platform has on record is this shipment (its packages, or its descriptions)."""
    if state.order_state is None or state.order_state < 2 or state.logistics_type != shipment.logistics_type:
        return False
    ours = [str(item.get("tracking_no") or "") for item in shipment.items]
    if any(ours):
        return set(ours) <= set(state.tracking_nos)
    return {str(item.get("item_desc")) for item in shipment.items} <= set(state.goods_descs)


def _uploaded(tx: Stores, shipment: Shipment, now: float) -> Shipment | None:
    tx.shipping.compare_and_set(
        shipment.order_id, [ShippingStatus.PENDING], status=transition(
            SHIPPING_TRANSITIONS, ShippingStatus.PENDING, ShippingEvent.UPLOAD_OK),
        uploaded_at=now, uploads=shipment.uploads + 1, updated_at=now, last_error_code=None, last_error_message=None,
    )  # fmt: skip
    return tx.shipping.get(shipment.order_id)


def receipt_message(uow: UnitOfWork, clock: Clock, mchid: str, merchant_trade_no: str) -> str | None:
    """A ``trade_manage_order_settlement`` message named ``merchant_trade_no``: schedule ``sync_shipping`` for its
    order (the message is a hint; WeChat's ``get_order`` decides). The order id, or None for an unknown number."""
    with uow.write() as tx:
        attempt = tx.attempts.by_out_trade_no(mchid, merchant_trade_no)
        if attempt is None or tx.shipping.get(attempt.order_id) is None:
            return None
        now = clock()
        tx.jobs.enqueue(SYNC_SHIPPING, {"order_id": attempt.order_id}, due_at=now, now=now,
                        dedupe_key=f"{SYNC_SHIPPING}:{attempt.order_id}", order_id=attempt.order_id, rearm=True)
        return attempt.order_id


def sync_shipping(uow: UnitOfWork, gateway: Gateway, clock: Clock, order_id: str) -> Shipment | None:
    """The ``sync_shipping`` job: ask the platform and record receipt confirmed (with its webhook) once."""
    with uow.read() as tx:
        shipment = tx.shipping.get(order_id)
    if shipment is None or shipment.status == ShippingStatus.CONFIRMED:
        return shipment
    state = gateway.run(gateway.query_shipping(shipment.mchid, shipment.appid, shipment.transaction_id))
    with uow.write() as tx:
        now = clock()
        record_wechat_call(tx, state.call, now, order_id=order_id)
        if state.outcome == Outcome.SUCCEEDED and state.order_state in _CONFIRMED_STATES:
            settled = now if state.order_state == _SETTLED_STATE else None
            if tx.shipping.compare_and_set(order_id, sources_of(SHIPPING_TRANSITIONS, ShippingEvent.CONFIRM),
                                           status=ShippingStatus.CONFIRMED, confirmed_at=now, settled_at=settled,
                                           updated_at=now):  # fmt: skip
                order = tx.orders.get(order_id)
                if order is not None:
                    emit_webhook(tx, RECEIPT_CONFIRMED, order, now=now, key=f"{RECEIPT_CONFIRMED}:{order_id}")
            return tx.shipping.get(order_id)
    if state.outcome == Outcome.UNKNOWN:
        raise ShippingRetry("the platform did not answer get_order")
    return shipment


def after_payment(uow: UnitOfWork, clock: Clock, merchant: MerchantConfig, order_id: str) -> Shipment | None:
    """The ``shipping_after_payment`` job: the automatic virtual-goods upload (when the merchant set
    ``shipping_auto_virtual``) and the deadline check, due ``shipping_warn_before_s`` before the deadline."""
    with uow.read() as tx:
        order = tx.orders.get(order_id)
    if order is None or order.paid_at is None:
        return None
    shipment = None
    if merchant.shipping_auto_virtual:
        request = ShippingRequest("virtual", [{"item_desc": order.description[:120]}])
        try:
            shipment = submit_shipping(uow, clock, merchant.mchid, order_id, request, automatic=True)
        except (Conflict, InvalidInput):
            shipment = None  # refunded meanwhile, or the merchant already uploaded: nothing to add
    deadline = order.paid_at + merchant.shipping_deadline_s
    with uow.write() as tx:
        check_at = max(clock(), deadline - merchant.shipping_warn_before_s)
        tx.jobs.enqueue(CHECK_SHIPPING_DEADLINE, {"order_id": order_id}, due_at=check_at, now=clock(),
                        dedupe_key=f"{CHECK_SHIPPING_DEADLINE}:{order_id}", order_id=order_id)  # fmt: skip
    return shipment


def check_shipping_deadline(uow: UnitOfWork, clock: Clock, merchant: MerchantConfig, order_id: str) -> bool:
    """The deadline check: alert ``shipping_overdue`` if the paid order has nothing uploaded; True if alerted."""
    with uow.write() as tx:
        order = tx.orders.get(order_id)
        if order is None or order.status not in _SHIPPABLE or order.paid_at is None:
            return False
        shipment = tx.shipping.get(order_id)
        if shipment is not None and shipment.status in (ShippingStatus.UPLOADED, ShippingStatus.CONFIRMED):
            return False
        now = clock()
        deadline = order.paid_at + merchant.shipping_deadline_s
        hours_left = max(0.0, (deadline - now) / 3600)
        raise_alert(
            tx, f"shipping_overdue:{order.mchid}", kind="shipping_overdue", severity=Severity.WARNING,
            title=f"小程序订单临近发货信息录入期限 (剩 {hours_left:.0f} 小时)", now=now, mchid=order.mchid,
            order_id=order_id,
            detail={"order_id": order_id, "merchant_order_no": order.merchant_order_no,
                    "hours_left": round(hours_left, 1),
                    "shipping_status": shipment.status.value if shipment is not None else None},
        )  # fmt: skip
        return True
