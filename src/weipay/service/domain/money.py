"""Money is integer fen end to end; yuan appears only for display and when parsing WeChat's bills."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .errors import InvalidInput

__all__ = ["CURRENCY", "MAX_AMOUNT_FEN", "check_currency", "check_fen", "fen_to_yuan", "yuan_to_fen"]

CURRENCY = "CNY"
# WeChat caps one payment far below this; the bound only keeps absurd values out of the database.
MAX_AMOUNT_FEN = 100_000_000_00


def check_fen(value: object, *, field: str = "amount_fen", maximum_fen: int = MAX_AMOUNT_FEN) -> int:
    """Return ``value`` if it is a positive integer number of fen not above ``maximum_fen``.

    Floats, strings, booleans, zero and negatives are refused: a float amount is always a bug.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("invalid_amount", f"{field} must be an integer number of fen")
    if value <= 0:
        raise InvalidInput("invalid_amount", f"{field} must be at least 1 fen")
    if value > maximum_fen:
        raise InvalidInput("invalid_amount", f"{field} must not exceed {maximum_fen} fen")
    return value


def check_currency(value: str) -> str:
    """Only CNY is supported by WeChat Pay for domestic merchants."""
    if value != CURRENCY:
        raise InvalidInput("invalid_currency", f"currency must be {CURRENCY}")
    return value


def fen_to_yuan(amount_fen: int) -> str:
    """Display form: ``1234 -> "12.34"`` (never used for arithmetic)."""
    sign = "-" if amount_fen < 0 else ""
    whole, cents = divmod(abs(amount_fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def yuan_to_fen(text: str) -> int:
    """Parse a yuan amount as WeChat's bills print it (``"0.01"``, `` `12.30``) into fen, exactly."""
    cleaned = text.strip().lstrip("`").strip()
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidInput("invalid_amount", "not a yuan amount") from None
    fen = amount * 100
    if not amount.is_finite() or fen != fen.to_integral_value():
        raise InvalidInput("invalid_amount", "yuan amount has more than two decimals")
    return int(fen)
