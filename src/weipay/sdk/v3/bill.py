"""Bill files of API v3 (trade and fund-flow bills): the same format as v2 ``downloadbill``.

One parser serves both APIs; it lives in :mod:`weipay.sdk._bill` and these names are its v3 door.
Every column is kept by its header name; money columns are also converted to integer fen exactly, fee
columns (five decimals) are kept as ``Decimal`` yuan, and summary counts as integers.
"""

from __future__ import annotations

from .._bill import BillFile, BillRow, is_money_column, parse_bill, yuan_to_fen

__all__ = ["BillFile", "BillRow", "is_money_column", "parse_bill", "yuan_to_fen"]
