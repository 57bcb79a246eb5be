"""The notification models, built fast from freshly decoded JSON (the hot path of ``parse_notification``).

Each ``plain_*`` function applies the same rules as the model's ``from_json`` to a plain ``dict`` of
JSON values, checking each value's exact type inline instead of through ``_Reader``'s per-field
dispatch. It returns ``None`` for anything unusual (a missing field, a wrong type, a bad time, a
``Mapping`` that is not a dict); the caller then runs ``from_json``, which alone words the error.
``tests/sdk/v3/test_v3_hot_paths.py`` holds the two paths to the same results.

The frozen dataclasses are filled through a *draft*: a plain class with the same slots. A frozen
``__init__`` stores every field through ``object.__setattr__``, which cost more than all the checks
of a resource; plain stores on the draft and one ``__class__`` assignment (allowed between classes
of identical layout) give the identical frozen object at a fraction of that.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast

from .models import (
    RefundAmount,
    RefundNotification,
    RefundResult,
    Transaction,
    TransactionAmount,
    TransactionNotification,
)

__all__ = ["plain_refund_result", "plain_transaction", "refund_notification", "transaction_notification"]

_Model = TypeVar("_Model")


def _draft_of(model: type) -> Callable[[], Any]:
    """A mutable class with ``model``'s exact slot layout, to fill in and then :func:`_seal`."""
    return type(f"_{model.__name__}Draft", (), {"__slots__": vars(model)["__slots__"]})


def _seal(draft: Any, model: type[_Model]) -> _Model:
    """Turn a fully filled draft into the frozen ``model`` (same layout, so CPython allows it)."""
    draft.__class__ = model
    return cast(_Model, draft)


def _time_or_none(text: str) -> datetime | None:
    """A zone-aware time, or None for anything ``parse_rfc3339`` would refuse."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


_TransactionDraft = _draft_of(Transaction)
_TransactionAmountDraft = _draft_of(TransactionAmount)
_RefundResultDraft = _draft_of(RefundResult)
_RefundAmountDraft = _draft_of(RefundAmount)
_TransactionNotificationDraft = _draft_of(TransactionNotification)
_RefundNotificationDraft = _draft_of(RefundNotification)


def plain_transaction(data: object) -> Transaction | None:
    """:meth:`Transaction.from_json` for a plain dict, or None to let it word the error."""
    if type(data) is not dict:
        return None
    get = data.get
    appid, mchid, out_trade_no, trade_state = get("appid"), get("mchid"), get("out_trade_no"), get("trade_state")
    amount, payer = get("amount"), get("payer")
    if not (
        type(appid) is str
        and type(mchid) is str
        and type(out_trade_no) is str
        and type(trade_state) is str
        and type(amount) is dict
        and (payer is None or type(payer) is dict)
    ):
        return None
    transaction_id, trade_type, trade_state_desc = get("transaction_id"), get("trade_type"), get("trade_state_desc")
    bank_type, attach, success_text = get("bank_type"), get("attach"), get("success_time")
    payer_openid = None if payer is None else payer.get("openid")
    if not (
        (transaction_id is None or type(transaction_id) is str)
        and (trade_type is None or type(trade_type) is str)
        and (trade_state_desc is None or type(trade_state_desc) is str)
        and (bank_type is None or type(bank_type) is str)
        and (attach is None or type(attach) is str)
        and (success_text is None or type(success_text) is str)
        and (payer_openid is None or type(payer_openid) is str)
    ):
        return None
    success_time = None
    if success_text:
        success_time = _time_or_none(success_text)
        if success_time is None:
            return None
    total, payer_total = amount.get("total"), amount.get("payer_total")
    currency, payer_currency = amount.get("currency"), amount.get("payer_currency")
    if not (
        type(total) is int  # JSON true/false are bool, never int, so this also refuses them
        and (payer_total is None or type(payer_total) is int)
        and (currency is None or type(currency) is str)
        and (payer_currency is None or type(payer_currency) is str)
    ):
        return None
    money = _TransactionAmountDraft()
    money.total_fen, money.payer_total_fen = total, payer_total
    money.currency, money.payer_currency = currency or "CNY", payer_currency
    draft = _TransactionDraft()
    draft.appid, draft.mchid, draft.out_trade_no, draft.trade_state = appid, mchid, out_trade_no, trade_state
    draft.amount = _seal(money, TransactionAmount)
    draft.transaction_id, draft.trade_type = transaction_id or None, trade_type or None
    draft.trade_state_desc, draft.bank_type, draft.attach = trade_state_desc or "", bank_type or None, attach
    draft.success_time, draft.payer_openid = success_time, payer_openid
    return _seal(draft, Transaction)


def _plain_refund_amount(data: object) -> RefundAmount | None:
    if type(data) is not dict:
        return None
    get = data.get
    total, refund, currency = get("total"), get("refund"), get("currency")
    optional = (
        get("payer_total"),
        get("payer_refund"),
        get("settlement_total"),
        get("settlement_refund"),
        get("discount_refund"),
    )
    if not (type(total) is int and type(refund) is int and (currency is None or type(currency) is str)):
        return None
    for value in optional:
        if value is not None and type(value) is not int:
            return None
    draft = _RefundAmountDraft()
    draft.total_fen, draft.refund_fen, draft.currency = total, refund, currency or "CNY"
    (
        draft.payer_total_fen,
        draft.payer_refund_fen,
        draft.settlement_total_fen,
        draft.settlement_refund_fen,
        draft.discount_refund_fen,
    ) = optional
    return _seal(draft, RefundAmount)


def plain_refund_result(data: object) -> RefundResult | None:
    """:meth:`RefundResult.from_json` for a plain dict, or None to let it word the error."""
    if type(data) is not dict:
        return None
    get = data.get
    required = (
        get("mchid"),
        get("out_trade_no"),
        get("transaction_id"),
        get("out_refund_no"),
        get("refund_id"),
        get("refund_status"),
    )
    success_text, account = get("success_time"), get("user_received_account")
    for value in required:
        if type(value) is not str:
            return None
    if not ((success_text is None or type(success_text) is str) and (account is None or type(account) is str)):
        return None
    success_time = None
    if success_text:
        success_time = _time_or_none(success_text)
        if success_time is None:
            return None
    amount = _plain_refund_amount(get("amount"))
    if amount is None:
        return None
    draft = _RefundResultDraft()
    (
        draft.mchid,
        draft.out_trade_no,
        draft.transaction_id,
        draft.out_refund_no,
        draft.refund_id,
        draft.refund_status,
    ) = required
    draft.amount, draft.success_time, draft.user_received_account = amount, success_time, account
    return _seal(draft, RefundResult)


def transaction_notification(
    notification_id: str, event_type: str, create_time: datetime, summary: str, transaction: Transaction
) -> TransactionNotification:
    """``TransactionNotification(...)`` through a draft."""
    draft = _TransactionNotificationDraft()
    draft.id, draft.event_type, draft.create_time, draft.summary = notification_id, event_type, create_time, summary
    draft.transaction = transaction
    return _seal(draft, TransactionNotification)


def refund_notification(
    notification_id: str, event_type: str, create_time: datetime, summary: str, refund: RefundResult
) -> RefundNotification:
    """``RefundNotification(...)`` through a draft."""
    draft = _RefundNotificationDraft()
    draft.id, draft.event_type, draft.create_time, draft.summary = notification_id, event_type, create_time, summary
    draft.refund = refund
    return _seal(draft, RefundNotification)
