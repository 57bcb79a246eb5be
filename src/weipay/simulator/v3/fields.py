"""Field checks of v3 request bodies, raising WeChat's ``400 PARAM_ERROR`` with the field's JSON path."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from ..http_messages import SimRequest
from .errors import V3Error, param_error

__all__ = ["check_int", "check_notify_url", "check_object", "check_str", "optional_str", "read_json"]


def read_json(request: SimRequest) -> dict[str, Any]:
    """The request body as a JSON object, or ``400 PARAM_ERROR``."""
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise V3Error(400, "PARAM_ERROR", "请求体不是合法的JSON") from None
    if not isinstance(data, dict):
        raise V3Error(400, "PARAM_ERROR", "请求体应为JSON对象")
    return data


def check_object(container: dict[str, Any], name: str, path: str, *, required: bool = True) -> dict[str, Any] | None:
    """A nested JSON object field."""
    value = container.get(name)
    if value is None:
        if required:
            raise param_error(f"{path}{name}", "缺少必填字段")
        return None
    if not isinstance(value, dict):
        raise param_error(f"{path}{name}", "应为JSON对象")
    return value


def check_str(
    container: dict[str, Any], name: str, path: str = "/", *, max_bytes: int, min_bytes: int = 1,
    pattern: re.Pattern[str] | None = None,
) -> str:
    """A required string field with WeChat's byte-length limits and an optional character set."""
    value = container.get(name)
    field = f"{path}{name}"
    if value is None:
        raise param_error(field, "缺少必填字段")
    if not isinstance(value, str):
        raise param_error(field, "应为字符串", value)
    size = len(value.encode())
    if size < min_bytes:
        raise param_error(field, f"字节数 {size}，小于最小值 {min_bytes}", value)
    if size > max_bytes:
        raise param_error(field, f"字节数 {size}，大于最大值 {max_bytes}", value)
    if pattern is not None and pattern.fullmatch(value) is None:
        raise param_error(field, "包含不允许的字符", value)
    if any(ord(ch) > 0xFFFF for ch in value):
        raise param_error(field, "不支持4字节UTF-8字符（如emoji）", value)
    return value


def optional_str(container: dict[str, Any], name: str, path: str = "/", *, max_bytes: int) -> str | None:
    """An optional string field."""
    if container.get(name) is None:
        return None
    return check_str(container, name, path, max_bytes=max_bytes)


def check_int(container: dict[str, Any], name: str, path: str, *, minimum: int = 1) -> int:
    """A required integer (JSON booleans are not integers)."""
    value = container.get(name)
    field = f"{path}{name}"
    if value is None:
        raise param_error(field, "缺少必填字段")
    if isinstance(value, bool) or not isinstance(value, int):
        raise param_error(field, "应为整数", value)
    if value < minimum:
        raise param_error(field, f"应大于等于{minimum}", value)
    return value


def check_notify_url(url: str, field: str, *, strict: bool) -> None:
    """Lenient: http(s) with a host. Strict: WeChat's production rule (https, no port, no query)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise param_error(field, "应为http(s)开头的完整URL", url)
    if strict:
        if parts.scheme != "https":
            raise param_error(field, "必须以https://开头", url)
        if parts.port is not None:
            raise param_error(field, "不能携带端口", url)
        if parts.query:
            raise param_error(field, "不能携带参数", url)
