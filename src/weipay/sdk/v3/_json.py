"""JSON as API v3 wants it: compact UTF-8 without ``null`` going out, objects only coming in."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigurationError, ProtocolError

__all__ = ["dump_json", "load_json_object"]


def _drop_none(value: Any) -> Any:
    # WeChat rejects JSON null, so an absent optional field is left out rather than sent as null.
    if isinstance(value, Mapping):
        return {key: _drop_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_drop_none(item) for item in value if item is not None]
    return value


def dump_json(value: Mapping[str, Any]) -> bytes:
    """Serialise a request body: compact separators, raw UTF-8, ``None`` members omitted."""
    text = json.dumps(_drop_none(value), separators=(",", ":"), ensure_ascii=False)
    if any(ord(char) > 0xFFFF for char in text):
        raise ConfigurationError("API v3 accepts only 1-3 byte UTF-8 characters: remove emoji and other 4-byte ones")
    return text.encode("utf-8")


def load_json_object(body: bytes, what: str) -> dict[str, Any]:
    """Parse a JSON object from WeChat; anything else is a :class:`ProtocolError` naming ``what``."""
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProtocolError(f"{what} is not valid UTF-8 JSON") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"{what} is not a JSON object")
    return value
