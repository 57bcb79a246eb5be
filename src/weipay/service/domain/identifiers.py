"""Identifiers: our public ids and the numbers we send to WeChat.

Each payment attempt gets its own ``out_trade_no`` derived from its order (the seeds' "virtual
order number"): ``<order key>-<seq>``. Refunds get ``<order key>R<seq>``; the automatic refund of a
duplicate payment gets ``<order key>D<attempt seq>``, so a retried job can never refund twice.
WeChat allows 6–32 characters of ``[0-9A-Za-z_-|*]`` and never accepts a number twice once it was
paid or closed; sequence numbers only grow, so no number is ever reused.
"""

from __future__ import annotations

import re
import secrets

from .errors import InvalidInput

__all__ = [
    "OUT_TRADE_NO_PATTERN",
    "check_out_trade_no",
    "duplicate_refund_no",
    "new_attempt_id",
    "new_order_id",
    "new_refund_id",
    "order_key",
    "out_refund_no",
    "out_trade_no",
]

OUT_TRADE_NO_PATTERN = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")
_KEY_HEX_CHARS = 24  # 96 random bits: collisions are not a practical concern
_MAX_SEQ = 9999


def _new_key() -> str:
    return secrets.token_hex(_KEY_HEX_CHARS // 2)


def new_order_id() -> str:
    """A fresh public order id: ``ord_`` + 24 hex characters."""
    return f"ord_{_new_key()}"


def new_attempt_id() -> str:
    """A fresh payment attempt id."""
    return f"pay_{_new_key()}"


def new_refund_id() -> str:
    """A fresh refund id."""
    return f"rfd_{_new_key()}"


def order_key(order_id: str) -> str:
    """The random part of an order id, the stem of every WeChat number made for it."""
    key = order_id.removeprefix("ord_")
    if not re.fullmatch(r"[0-9a-f]{24}", key):
        raise InvalidInput("invalid_identifier", "not an order id")
    return key


def _seq(seq: int) -> int:
    if not 1 <= seq <= _MAX_SEQ:
        raise InvalidInput("invalid_identifier", f"sequence must be within 1..{_MAX_SEQ}")
    return seq


def out_trade_no(order_id: str, seq: int) -> str:
    """The WeChat ``out_trade_no`` of attempt ``seq`` (1-based) of an order: 26–29 characters."""
    return check_out_trade_no(f"{order_key(order_id)}-{_seq(seq)}")


def out_refund_no(order_id: str, seq: int) -> str:
    """The ``out_refund_no`` of refund ``seq`` (1-based) of an order."""
    return check_out_trade_no(f"{order_key(order_id)}R{_seq(seq)}")


def duplicate_refund_no(order_id: str, attempt_seq: int) -> str:
    """The ``out_refund_no`` refunding attempt ``attempt_seq`` after a double payment (one per attempt)."""
    return check_out_trade_no(f"{order_key(order_id)}D{_seq(attempt_seq)}")


def check_out_trade_no(value: str) -> str:
    """Return ``value`` if WeChat accepts it as an ``out_trade_no`` / ``out_refund_no``."""
    if not OUT_TRADE_NO_PATTERN.fullmatch(value):
        raise InvalidInput("invalid_identifier", "WeChat numbers are 6-32 characters of [0-9A-Za-z_-|*]")
    return value
