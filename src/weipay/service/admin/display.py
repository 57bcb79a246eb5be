"""How the console shows money and time: yuan from integer fen, and local times in each merchant's time zone.

Amounts are stored in fen and never pass through a float here: ``¥12.34`` is built from ``divmod``. A refund
typed in yuan comes back through :func:`parse_yuan`, which refuses anything but a plain decimal with at most two
places. Times are unix seconds; each merchant's ``time_zone`` (Asia/Shanghai by default) says how to show them,
and the same zone reads the time range of the order filter.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..domain import InvalidInput

__all__ = ["DEFAULT_TIME_ZONE", "Clocks", "event_details", "parse_local", "parse_yuan", "yuan"]

DEFAULT_TIME_ZONE = "Asia/Shanghai"
_YUAN = re.compile(r"^([0-9]{1,9})(?:\.([0-9]{1,2}))?$")
_LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends


def yuan(fen: int | None) -> str:
    """``1234 -> "¥12.34"``, ``-5 -> "-¥0.05"``; empty for no amount."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def parse_yuan(text: str) -> int:
    """``"12.3" -> 1230`` fen; ``invalid_amount`` (422) for anything else (no sign, no exponent, at most 2 places).

    Full-width digits from a Chinese input method (``１２．３４``) are read as the digits they are (NFKC).
    """
    match = _YUAN.match(unicodedata.normalize("NFKC", text).strip().removeprefix("¥"))
    if match is None:
        raise InvalidInput("invalid_amount", "give an amount in yuan such as 12.34")
    fen = int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0"))
    if fen <= 0:
        raise InvalidInput("invalid_amount", "the amount must be above zero")
    return fen


def parse_local(text: str | None, zone: ZoneInfo) -> float | None:
    """Unix seconds of a ``datetime-local`` value read in ``zone``; None when empty, ``invalid_time`` if malformed."""
    if not text:
        return None
    try:
        moment = datetime.strptime(text[:16], _LOCAL_INPUT)
    except ValueError:
        raise InvalidInput("invalid_time", "give a time as YYYY-MM-DDTHH:MM") from None
    return moment.replace(tzinfo=zone).timestamp()


class Clocks:
    """Each merchant's zone, and how a time looks in it (``at``) or in a ``datetime-local`` input (``input``)."""

    def __init__(self, zones: Mapping[str, str]) -> None:
        self._zones = {mchid: ZoneInfo(name) for mchid, name in zones.items()}
        self._default = ZoneInfo(DEFAULT_TIME_ZONE)

    def zone(self, mchid: str | None) -> ZoneInfo:
        """The merchant's zone; the default for no merchant or an unconfigured one."""
        return self._zones.get(mchid or "", self._default)

    def at(self, unix_s: float | None, mchid: str | None = None) -> str:
        """``"2026-11-23 09:19:00"`` in the merchant's zone; empty for no time."""
        if unix_s is None:
            return ""
        return datetime.fromtimestamp(unix_s, UTC).astimezone(self.zone(mchid)).strftime("%Y-%m-%d %H:%M:%S")

    def input(self, unix_s: float | None, mchid: str | None = None) -> str:
        """The value of a ``datetime-local`` input showing ``unix_s`` in the merchant's zone."""
        if unix_s is None:
            return ""
        return datetime.fromtimestamp(unix_s, UTC).astimezone(self.zone(mchid)).strftime(_LOCAL_INPUT)


def event_details(fields: Mapping[str, Any], when: Callable[[float], str] = str) -> list[tuple[str, str]]:
    """A timeline event's fields as ``(name, text)`` pairs: amounts in yuan, times through ``when`` (the merchant's
    local time), nested facts flattened, blanks left out."""
    shown: list[tuple[str, str]] = []
    for name, value in fields.items():
        if value is None or value == "" or value == {}:
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if isinstance(value, Mapping):
            shown.extend(event_details({f"{name}.{key}": inner for key, inner in value.items()}, when))
        elif number and name.endswith(("amount", "_fen")) and isinstance(value, int):
            shown.append((name, yuan(value)))
        elif number and name.endswith(("_time", "_at")):
            shown.append((name, when(float(value))))
        else:
            shown.append((name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)))
    return shown
