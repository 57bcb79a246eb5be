"""WeChat's bill file (对账单), one parser for v2 ``downloadbill`` and v3 trade / fund-flow bills.

Layout: a header line of column names; detail rows whose every field starts with a backtick; a summary
header; one backticked summary row. Optionally gzip, optionally with a UTF-8 BOM, CRLF or LF.

Columns are kept as text by header name; some are also read by kind, judged from the name alone:

- money (ends with 金额, (元) or （元）, and is not a fee): yuan converted to integer fen, exactly;
- fee (contains 手续费): yuan with up to six decimals, kept as ``Decimal`` yuan, because WeChat writes
  handling fees with five decimals and they are often fractions of a fen;
- count (ends with 单数 or 笔数): a whole number, which WeChat writes as ``45.0``.

Any deviation from the layout is a :class:`~weipay.sdk.errors.ProtocolError`.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from .errors import ProtocolError

__all__ = [
    "MAX_BILL_BYTES",
    "BillFile",
    "BillRow",
    "inflate",
    "is_count_column",
    "is_fee_column",
    "is_money_column",
    "parse_bill",
    "parse_yuan",
    "yuan_to_fen",
]

MAX_BILL_BYTES = 64 * 1024 * 1024
"""Bound on a bill's uncompressed size: the parser holds every row in memory, and a gzip bomb stops here."""

# Up to six decimals: WeChat pads some amounts ("0.01000"); exactness is checked on the value, not the text.
_YUAN = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,6})?")
_COUNT = re.compile(r"[0-9]{1,12}(\.0{1,6})?")
_MONEY_SUFFIXES = ("金额", "(元)", "（元）")
_COUNT_SUFFIXES = ("单数", "笔数")
_FEE_MARK = "手续费"
_GZIP_MAGIC = b"\x1f\x8b"


def is_fee_column(name: str) -> bool:
    """True for handling-fee columns (手续费, 手续费总金额), which are yuan and may hold fractions of a fen."""
    return _FEE_MARK in name


def is_money_column(name: str) -> bool:
    """True for columns holding yuan amounts that must be whole fen."""
    return name.endswith(_MONEY_SUFFIXES) and not is_fee_column(name)


def is_count_column(name: str) -> bool:
    """True for summary counts such as 总交易单数 or 收入笔数."""
    return name.endswith(_COUNT_SUFFIXES)


def parse_yuan(text: str, column: str = "amount") -> Decimal:
    """``"0.00600"`` → ``Decimal("0.00600")``; malformed text is a :class:`ProtocolError`."""
    if _YUAN.fullmatch(text) is None:
        raise ProtocolError(f"bill column {column} is not an amount in yuan: {text[:20]!r}")
    return Decimal(text)


def yuan_to_fen(text: str, column: str = "amount") -> int:
    """``"12.34"`` → ``1234``, exactly; a fraction of a fen or malformed text is a :class:`ProtocolError`."""
    fen = parse_yuan(text, column) * 100
    if fen != fen.to_integral_value():
        raise ProtocolError(f"bill column {column} is not a whole number of fen: {text}")
    return int(fen)


def _count(text: str, column: str) -> int:
    if _COUNT.fullmatch(text) is None:
        raise ProtocolError(f"bill column {column} is not a count: {text[:20]!r}")
    return int(Decimal(text))


@dataclass(frozen=True, slots=True)
class BillRow:
    """One bill line: every column by header name, plus the money (fen), fee (yuan) and count columns read."""

    fields: Mapping[str, str]
    amounts_fen: Mapping[str, int] = field(default_factory=dict)
    fees_yuan: Mapping[str, Decimal] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)

    def __getitem__(self, column: str) -> str:
        return self.fields[column]

    def get(self, column: str) -> str | None:
        """The column's text, or ``None`` when this bill has no such column."""
        return self.fields.get(column)

    def fen(self, column: str) -> int:
        """A money column in fen; a :class:`ProtocolError` if the row has no amount in that column."""
        try:
            return self.amounts_fen[column]
        except KeyError:
            raise ProtocolError(f"bill row has no amount in column {column!r}") from None

    def fee_yuan(self, column: str = _FEE_MARK) -> Decimal:
        """A fee column in yuan, exact; a :class:`ProtocolError` if the row has no fee in that column."""
        try:
            return self.fees_yuan[column]
        except KeyError:
            raise ProtocolError(f"bill row has no fee in column {column!r}") from None

    def count(self, column: str) -> int:
        """A count column (总交易单数, 收入笔数, …); a :class:`ProtocolError` if absent."""
        try:
            return self.counts[column]
        except KeyError:
            raise ProtocolError(f"bill row has no count in column {column!r}") from None

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
    """A parsed bill: its column names, rows, summary and the exact uncompressed bytes it came from."""

    header: tuple[str, ...]
    rows: tuple[BillRow, ...]
    summary: BillRow
    raw: bytes

    @property
    def summary_header(self) -> tuple[str, ...]:
        """The summary's column names, in file order."""
        return tuple(self.summary.fields)


def inflate(data: bytes, max_bytes: int = MAX_BILL_BYTES) -> bytes:
    """Gunzip ``data`` completely, refusing output beyond ``max_bytes`` and cut-off streams."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, max_bytes)
    except zlib.error:
        raise ProtocolError("bill is not valid gzip") from None
    if inflater.unconsumed_tail:
        raise ProtocolError(f"bill is larger than {max_bytes} bytes once decompressed")
    if not inflater.eof:
        # A cut-off download still inflates to a plausible prefix; only the gzip trailer proves it whole.
        raise ProtocolError("bill gzip stream is truncated")
    return out


def _raw_bytes(data: bytes | str, max_bytes: int) -> bytes:
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError:
            raise ProtocolError("bill text is not encodable as UTF-8") from None
    elif data.startswith(_GZIP_MAGIC):
        return inflate(data, max_bytes)
    if len(data) > max_bytes:
        raise ProtocolError(f"bill is larger than {max_bytes} bytes")
    return data


def _header(line: str, line_no: int) -> tuple[str, ...]:
    names = tuple(name.strip() for name in line.split(","))
    if not all(names) or len(set(names)) != len(names):
        raise ProtocolError(f"bill line {line_no} is not a header of distinct column names")
    return names


def _row(names: tuple[str, ...], line: str, line_no: int) -> BillRow:
    # Splitting on ",`" (not ",") keeps commas inside product names intact.
    values = line[1:].split(",`")
    if len(values) != len(names):
        raise ProtocolError(f"bill line {line_no} has {len(values)} fields, the header has {len(names)}")
    fields = dict(zip(names, values, strict=True))
    amounts: dict[str, int] = {}
    fees: dict[str, Decimal] = {}
    counts: dict[str, int] = {}
    try:
        for name, value in fields.items():
            if not value:
                continue
            if is_fee_column(name):
                fees[name] = parse_yuan(value, name)
            elif is_money_column(name):
                amounts[name] = yuan_to_fen(value, name)
            elif is_count_column(name):
                counts[name] = _count(value, name)
    except ProtocolError as exc:
        raise ProtocolError(f"bill line {line_no}: {exc.message}") from None
    return BillRow(fields, amounts, fees, counts)


def parse_bill(data: bytes | str, *, max_bytes: int = MAX_BILL_BYTES) -> BillFile:
    """Parse a bill (text, UTF-8 bytes or gzip bytes) into header, rows and summary."""
    raw = _raw_bytes(data, max_bytes)
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
        raise ProtocolError(
            f"bill line {index + 1} is not a backticked row, yet the bill must end with exactly one summary header"
            " and one summary row"
        )
    if not lines[index + 1].startswith("`"):
        raise ProtocolError(f"bill line {index + 2} is not a backticked summary row")
    summary = _row(_header(lines[index], index + 1), lines[index + 1], index + 2)
    return BillFile(header, tuple(rows), summary, raw)
