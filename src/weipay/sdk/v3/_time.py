"""RFC 3339 times as WeChat writes them (``2018-06-08T10:34:56+08:00``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ..errors import ProtocolError

__all__ = ["BEIJING", "format_rfc3339", "parse_rfc3339"]

BEIJING = timezone(timedelta(hours=8))


def format_rfc3339(value: datetime) -> str:
    """Beijing-time RFC 3339 with seconds, the form every WeChat example uses."""
    return value.astimezone(BEIJING).isoformat(timespec="seconds")


def parse_rfc3339(text: str, what: str) -> datetime:
    """An aware datetime; a malformed or offset-less time is a :class:`ProtocolError`."""
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ProtocolError(f"{what} is not an RFC 3339 time") from None
    if value.tzinfo is None:
        raise ProtocolError(f"{what} has no UTC offset")
    return value
