"""Small pieces every v3 operation shares: headers, path escaping, model reading."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

from ..errors import ProtocolError
from ..operation import HttpResponse

__all__ = ["ACCEPT_JSON", "JSON_HEADERS", "path_segment", "read_model"]

JSON_HEADERS: Mapping[str, str] = {"Content-Type": "application/json", "Accept": "application/json"}
ACCEPT_JSON: Mapping[str, str] = {"Accept": "application/json"}
_T = TypeVar("_T")


def path_segment(value: str) -> str:
    """Percent-encode one path segment the way Go's ``url.PathEscape`` does for WeChat's ids."""
    return quote(value, safe="")


def read_model(parse: Callable[[Mapping[str, Any]], _T], data: Mapping[str, Any], response: HttpResponse) -> _T:
    """Run a model's ``from_json``, tagging a failure with WeChat's request id."""
    try:
        return parse(data)
    except ProtocolError as exc:
        raise ProtocolError(exc.message, request_id=response.request_id) from None
