"""WeChat bill files (对账单): a header line, rows whose every field starts with a backtick, then a
summary header and one summary row. Money is yuan text; we turn it into integer fen exactly.

Every column is kept by its header name; money columns (names ending in 金额 or (元), except fees,
which WeChat writes with five decimals) are also converted to fen.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from ..errors import ProtocolError

__all__ = ["BillFile", "BillRow", "is_money_column", "parse_bill", "yuan_to_fen"]

_YUAN = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,2})?")
_MONEY_SUFFIXES = ("金额", "(元)", "（元）")


def yuan_to_fen(text: str) -> int:
    """``"12.34"`` → ``1234``. More than two decimals (a fraction of a fen) is a :class:`ProtocolError`."""
    if _YUAN.fullmatch(text) is None:
        raise ProtocolError(f"bill amount {text[:20]!r} is not yuan with at most 2 decimals")
    return int(Decimal(text) * 100)


def is_money_column(name: str) -> bool:
    """True for columns holding yuan amounts that must be whole fen."""
    return name.endswith(_MONEY_SUFFIXES) and "手续费" not in name


@dataclass(frozen=True, slots=True)
class BillRow:
    """One bill line: every column by header name, and the money columns in fen."""

    fields: Mapping[str, str]
    amounts_fen: Mapping[str, int] = field(default_factory=dict)

    def __getitem__(self, column: str) -> str:
        return self.fields[column]

    def get(self, column: str) -> str | None:
        """The column's text, or ``None`` when this bill has no such column."""
        return self.fields.get(column)

    def fen(self, column: str) -> int:
        """A money column in fen; a :class:`ProtocolError` if the bill has no such money column."""
        try:
            return self.amounts_fen[column]
        except KeyError:
            raise ProtocolError(f"bill row has no amount in column {column!r}") from None

    @property
    def out_trade_no(self) -> str | None:
        """商户订单号."""
        return self.fields.get("商户订单号")

    @property
    def transaction_id(self) -> str | None:
        """微信订单号."""
        return self.fields.get("微信订单号")

    @property
    def trade_state(self) -> str | None:
        """交易状态 (SUCCESS, REFUND, …)."""
        return self.fields.get("交易状态")

    @property
    def out_refund_no(self) -> str | None:
        """商户退款单号 (``"0"`` on payment rows)."""
        return self.fields.get("商户退款单号")

    @property
    def refund_id(self) -> str | None:
        """微信退款单号 (``"0"`` on payment rows)."""
        return self.fields.get("微信退款单号")


@dataclass(frozen=True, slots=True)
class BillFile:
    """A parsed bill: its column names, rows, summary and the exact bytes it came from."""

    header: tuple[str, ...]
    rows: tuple[BillRow, ...]
    summary: BillRow
    raw: bytes


def _values(line: str, line_no: int) -> list[str]:
    if not line.startswith("`"):
        raise ProtocolError(f"bill line {line_no} is not a backtick-quoted row")
    # Splitting on ",`" rather than "," keeps commas inside product names intact.
    return line[1:].split(",`")


def _row(names: tuple[str, ...], line: str, line_no: int) -> BillRow:
    values = _values(line, line_no)
    if len(values) != len(names):
        raise ProtocolError(f"bill line {line_no} has {len(values)} fields, header has {len(names)}")
    fields = dict(zip(names, values, strict=True))
    amounts: dict[str, int] = {}
    for name, value in fields.items():
        if value and is_money_column(name):
            try:
                amounts[name] = yuan_to_fen(value)
            except ProtocolError as exc:
                raise ProtocolError(f"bill line {line_no}, column {name}: {exc.message}") from None
    return BillRow(fields, amounts)


def _header(line: str, line_no: int) -> tuple[str, ...]:
    names = tuple(name.strip() for name in line.split(","))
    if not all(names) or len(set(names)) != len(names):
        raise ProtocolError(f"bill line {line_no} is not a header of distinct column names")
    return names


def parse_bill(raw: bytes) -> BillFile:
    """Parse a bill's uncompressed bytes; any deviation from the layout is a :class:`ProtocolError`."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProtocolError("bill is not UTF-8 text") from None
    lines = [line.rstrip("\r") for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) < 3:
        raise ProtocolError("bill needs a header, a summary header and a summary row")
    header = _header(lines[0], 1)
    index = 1
    rows: list[BillRow] = []
    while index < len(lines) and lines[index].startswith("`"):
        rows.append(_row(header, lines[index], index + 1))
        index += 1
    if index != len(lines) - 2:
        raise ProtocolError("bill must end with exactly one summary header and one summary row")
    summary = _row(_header(lines[index], index + 1), lines[index + 1], index + 2)
    return BillFile(header, tuple(rows), summary, raw)
